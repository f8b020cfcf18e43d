// Room: one call. Owns the signaling client and the two peer connections.
// No DOM, no UI.

import { Emitter } from './events.js';
import { SignalClient, HotlineError, describeErrorCode, describeCloseCode, FATAL_CLOSE_CODES } from './signal.js';
import { RemoteParticipant, RemoteTrack, LocalParticipant, LocalTrackPublication } from './participant.js';
import { E2eeSession, MAX_ENCRYPTED_CHAT_CHARS } from './e2ee/session.js';
import { isEncryptedText } from './e2ee/text.js';

/**
 * @typedef {import('./signal.js').ServerMessage} ServerMessage
 * @typedef {import('./signal.js').WelcomeMsg} WelcomeMsg
 * @typedef {import('./signal.js').ResumedMsg} ResumedMsg
 * @typedef {import('./signal.js').SubscriberOfferMsg} SubscriberOfferMsg
 * @typedef {import('./signal.js').SubscribedTrack} SubscribedTrack
 * @typedef {import('./signal.js').ParticipantInfo} ParticipantInfo
 * @typedef {import('./signal.js').TrackSource} TrackSource
 * @typedef {import('./signal.js').PublishedTrack} PublishedTrack
 * @typedef {import('./signal.js').CloseInfo} CloseInfo
 * @typedef {import('./signal.js').ConnectionQuality} ConnectionQuality
 * @typedef {import('./signal.js').ParticipantQuality} ParticipantQuality
 * @typedef {import('./signal.js').VideoLayerMsg} VideoLayerMsg
 * @typedef {import('./signal.js').PublishLayersMsg} PublishLayersMsg
 * @typedef {import('./participant.js').VideoLayer} VideoLayer
 */

/**
 * @typedef {{from: string, name: string, text: string, sentAt: number, local: boolean, encrypted?: boolean, undecryptable?: boolean}} ChatMessage
 *   `encrypted`: in an end-to-end encrypted call, decrypted here; `undecryptable`: it could not be
 *   (`text` is then UNDECRYPTABLE_CHAT_TEXT)
 * @typedef {import('./e2ee/session.js').E2eeParticipant} E2eeParticipant
 * @typedef {{e2ee: E2eeSession, keyChanged: E2eeParticipant[]}} E2eeChange
 *   the state of end-to-end encryption changed (`room.e2ee`); `keyChanged`: participants whose identity
 *   key just changed during the call (warn loudly: someone may sit in the middle)
 * @typedef {{code: number, reason: string, message: string}} DisconnectInfo
 * @typedef {{resumed: boolean}} ReconnectedInfo
 *   `resumed`: the same session was taken back (same participant id, peer connections and
 *   tracks); otherwise the room joined again as a new participant and published its tracks again.
 * @typedef {{deadlineMs: number}} ShuttingDownInfo   the server stops at `deadlineMs` (Unix ms)
 * @typedef {{
 *   resolve: (sdp: string) => void,
 *   reject: (err: Error) => void,
 *   sdp: string,
 *   tracks: PublishedTrack[],
 *   timer: ReturnType<typeof setTimeout> | null,
 * }} PendingPublish
 * @typedef {'new' | 'connecting' | 'waiting' | 'connected' | 'reconnecting' | 'disconnected'} RoomState
 *   `waiting`: in the room's lobby until a host lets this client in (see `room.waiting`)
 * @typedef {'publisher' | 'subscriber'} PcRole
 * @typedef {'disconnected' | 'failed' | 'stale'} IceRestartReason
 *   `stale`: right after a resume, the media path had received nothing for a while
 * @typedef {{pc: PcRole, reason: IceRestartReason, count: number}} IceRestartInfo
 *   an ICE restart was started for one peer connection (`count`: restarts of that connection so far)
 * @typedef {'udp' | 'tcp' | 'relay-udp' | 'relay-tcp' | 'relay-tls' | null} MediaPath
 *   transport of the selected ICE candidate pair (local candidate's protocol); null while unknown
 * @typedef {{brokenSince: number, lastRestart: number}} IceWatch
 * @typedef {RemoteParticipant | LocalParticipant} AnyParticipant
 * @typedef {{ids: string[], participants: AnyParticipant[]}} ActiveSpeakersInfo
 *   who is speaking, loudest first (`ids[0]` is the active speaker; empty when nobody is);
 *   `participants` are the ones this room knows (the local participant included), in that order
 * @typedef {{participant: AnyParticipant, quality: ConnectionQuality | undefined}} QualityChange
 *   a participant's new connection quality (undefined: no longer known, e.g. after leaving)
 * @typedef {{participant: RemoteParticipant | null, track: RemoteTrack, layer: VideoLayer}} VideoLayerChange
 *   the server changed which layer of a received video track it forwards (`track.layer` holds it);
 *   `participant` is null while the sender is not announced yet
 * @typedef {{width: number, height: number}} VideoSize   device pixels; 0x0: not visible
 * @typedef {{locked: boolean, by: AnyParticipant | null}} LockChange
 *   the room was locked or unlocked (`by`: the host who did it; null when only learned on joining)
 * @typedef {{publication: LocalTrackPublication, source: TrackSource, by: AnyParticipant | null}} MutedByHostInfo
 *   a host muted one of this client's tracks; the room already muted it locally (as `setMuted` does)
 * @typedef {{participantId: string, name: string, room: string, hostsPresent: boolean}} WaitingInfo
 *   this client waits in the lobby (`hostsPresent`: a host is in the call to let it in)
 * @typedef {{participantId: string, identity: string, name: string, sinceMs: number}} LobbyEntry
 *   someone waiting in the lobby, as hosts see them (`sinceMs`: Unix ms when they started waiting)
 * @typedef {{enabled: boolean, waiting: LobbyEntry[]}} LobbyState
 *   hosts only: whether the lobby is on, and who waits in it, longest waiting first
 * @typedef {{enabled: boolean, waiting: LobbyEntry[], added: LobbyEntry[]}} LobbyChange
 *   the lobby changed (`added`: who started waiting since the last change)
 * @typedef {{language: string, live: string | null, interpreters: string[]}} InterpretationChannel
 *   one language's channel: the participant id of its live interpreter (null: the channel is silent)
 *   and every interpreter on it (the booth: the live one and those on standby)
 * @typedef {{languages: string[], channels: InterpretationChannel[]}} InterpretationState
 *   the room's interpretation as the server last told it
 * @typedef {{interpretation: InterpretationState | null, listening: string | null}} InterpretationChange
 *   the room's interpretation changed (who is live where, who is in which booth), or this client chose
 *   another channel (`listening`: its language; null: the floor alone)
 * @typedef {{
 *   participant_joined: RemoteParticipant,
 *   participant_left: {participant: RemoteParticipant, reason: string},
 *   participant_updated: RemoteParticipant,
 *   track_subscribed: {participant: RemoteParticipant, track: RemoteTrack},
 *   track_unsubscribed: {participant: RemoteParticipant, track: RemoteTrack},
 *   local_tracks_changed: LocalParticipant,
 *   chat: ChatMessage,
 *   error: HotlineError,
 *   state_changed: RoomState,
 *   reconnecting: DisconnectInfo,
 *   reconnected: ReconnectedInfo,
 *   disconnected: DisconnectInfo,
 *   shutting_down: ShuttingDownInfo,
 *   ice_restart: IceRestartInfo,
 *   media_path_changed: MediaPath,
 *   active_speakers: ActiveSpeakersInfo,
 *   connection_quality: QualityChange[],
 *   video_layer: VideoLayerChange,
 *   locked_changed: LockChange,
 *   muted_by_host: MutedByHostInfo,
 *   waiting: WaitingInfo,
 *   lobby_changed: LobbyChange,
 *   interpretation_changed: InterpretationChange,
 *   e2ee_changed: E2eeChange,
 * }} RoomEvents
 */

/**
 * @typedef {object} RoomOptions
 * @property {string} [url]       WebSocket URL of `/ws`; defaults to the page's origin.
 * @property {string} token       access token (JWT)
 * @property {string} roomName    the room to join
 * @property {RTCConfiguration} [rtcConfig]
 * @property {boolean} [autoReconnect]  resume (or rejoin) after a lost connection (default true)
 * @property {number} [negotiationTimeoutMs]
 */

/**
 * 'udp' or 'tcp': the protocol of the local candidate of the selected ICE candidate pair.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<MediaPath>}
 */
export async function selectedTransport(pc) {
  const stats = await pc.getStats();
  /** @type {any} */
  let pair = null;
  stats.forEach((/** @type {any} */ s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    stats.forEach((/** @type {any} */ s) => {
      if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  const local = pair ? stats.get(pair.localCandidateId) : null;
  if (local?.candidateType === 'relay') {
    // How the browser reaches the relay (the relay itself forwards over UDP).
    const via = local.relayProtocol;
    return via === 'udp' || via === 'tcp' || via === 'tls' ? /** @type {MediaPath} */ (`relay-${via}`) : 'relay-udp';
  }
  const proto = local?.protocol;
  return proto === 'udp' || proto === 'tcp' ? proto : null;
}

/**
 * How long (ms) the selected candidate pair of `pc` has received nothing; 0 when unknown.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<number>}
 */
export async function selectedPairIdleMs(pc) {
  const stats = await pc.getStats();
  /** @type {any} */
  let pair = null;
  stats.forEach((/** @type {any} */ s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair || typeof pair.lastPacketReceivedTimestamp !== 'number' || !pair.lastPacketReceivedTimestamp) return 0;
  return Math.max(0, pair.timestamp - pair.lastPacketReceivedTimestamp);
}

/**
 * A send-only transceiver sending `track` in the simulcast encodings, with temporal layers where the
 * browser takes them, without where it refuses them; a single encoding if it refuses simulcast.
 * `layers`: the rids really configured, lowest quality first (null for a single encoding).
 * @param {RTCPeerConnection} pc
 * @param {MediaStreamTrack} track
 * @param {MediaStream} stream
 * @returns {{transceiver: RTCRtpTransceiver, layers: string[] | null}}
 */
export function addSimulcastTransceiver(pc, track, stream) {
  const tries = [
    CAMERA_SIMULCAST_ENCODINGS.map((e) => ({ ...e, scalabilityMode: SIMULCAST_SCALABILITY_MODE })),
    CAMERA_SIMULCAST_ENCODINGS.map((e) => ({ ...e })),
  ];
  for (const sendEncodings of tries) {
    let transceiver;
    try {
      transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings });
    } catch (e) {
      console.info('hotline: simulcast encodings refused, trying without temporal layers', e);
      continue;
    }
    // What the browser really kept (it may keep fewer encodings than asked for).
    const kept = transceiver.sender.getParameters().encodings ?? [];
    const rids = CAMERA_SIMULCAST_ENCODINGS.map((e) => /** @type {string} */ (e.rid)).filter((rid) => kept.some((k) => k.rid === rid));
    return { transceiver, layers: rids.length > 1 ? rids : null };
  }
  return { transceiver: pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] }), layers: null };
}

/**
 * Asks for redundant audio (RED, RFC 2198: each packet also carries the previous frame, so a lost
 * packet is filled in from the next) on an audio transceiver, where the browser has it: RED first
 * in the codec list is what makes Chromium send it. The server forwards it to those that have it
 * and the plain frames to the rest. Returns whether RED was asked for.
 * @param {RTCRtpTransceiver} transceiver
 * @returns {boolean}
 */
export function preferRedundantAudio(transceiver) {
  const codecs = typeof RTCRtpSender.getCapabilities === 'function' ? RTCRtpSender.getCapabilities('audio')?.codecs ?? [] : [];
  const red = codecs.filter((c) => c.mimeType.toLowerCase() === 'audio/red');
  if (red.length === 0 || typeof transceiver.setCodecPreferences !== 'function') return false;
  try {
    transceiver.setCodecPreferences([...red, ...codecs.filter((c) => c.mimeType.toLowerCase() !== 'audio/red')]);
    return true;
  } catch (e) {
    console.info('hotline: redundant audio refused', e);
    return false;
  }
}

/** What an encrypted chat message that cannot be decrypted shows instead. */
export const UNDECRYPTABLE_CHAT_TEXT = '(a message that could not be decrypted)';

/** @returns {string} */
export function defaultSignalUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

/**
 * Waits between reconnection attempts: the first attempt is immediate, then these (the last one
 * repeats) until RECONNECT_GIVE_UP_MS have passed since the connection was lost.
 */
export const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
export const RECONNECT_GIVE_UP_MS = 120000;

/** ICE `disconnected` for this long (or `failed` at once) restarts ICE on that peer connection. */
export const ICE_DISCONNECTED_RESTART_MS = 2000;
/**
 * For this long after a resume (the signaling connection was lost: the network may have changed
 * under the call), ICE `disconnected` restarts ICE at once instead of after ICE_DISCONNECTED_RESTART_MS.
 */
export const ICE_SUSPECT_AFTER_RESUME_MS = 15000;
/** After a resume, a selected ICE path that received nothing for this long is restarted at once. */
export const STALE_PATH_MS = 1500;
/** At most one ICE restart per peer connection this often while it stays broken. */
export const ICE_RESTART_MIN_INTERVAL_MS = 5000;
/** How often the peer connections' ICE states are checked. */
const ICE_CHECK_MS = 250;
/** How often the media path (UDP or TCP) is read from getStats. */
export const MEDIA_PATH_REFRESH_MS = 3000;
/**
 * Camera video is sent in three encodings (simulcast), lowest quality first as `layers` says; the
 * server forwards to each subscriber the one its download and the size it shows the video at allow.
 * Browsers drop the upper layers of a small input, so cameras are asked for 1280x720.
 * @type {readonly RTCRtpEncodingParameters[]}
 */
export const CAMERA_SIMULCAST_ENCODINGS = Object.freeze([
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
]);
/** Temporal layers within each simulcast encoding, where the browser takes it. */
export const SIMULCAST_SCALABILITY_MODE = 'L1T3';

/** The connection qualities the server reports, best first. */
export const CONNECTION_QUALITIES = /** @type {readonly ConnectionQuality[]} */ (['excellent', 'good', 'poor']);

/**
 * @extends {Emitter<RoomEvents>}
 */
export class Room extends Emitter {
  /** @param {RoomOptions} opts */
  constructor(opts) {
    super();
    this.url = opts.url ?? defaultSignalUrl();
    this.token = opts.token;
    this.roomName = opts.roomName;
    this.rtcConfig = opts.rtcConfig ?? { iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    this.autoReconnect = opts.autoReconnect ?? true;
    this.negotiationTimeoutMs = opts.negotiationTimeoutMs ?? 15000;

    /** @type {RoomState} */
    this.state = 'new';
    this.localParticipant = new LocalParticipant();
    /** Everyone else, by participant id. @type {Map<string, RemoteParticipant>} */
    this.participants = new Map();
    /** @type {SignalClient | null} */
    this.signal = null;
    /** @type {RTCPeerConnection | null} */
    this.publisherPc = null;
    /** @type {RTCPeerConnection | null} */
    this.subscriberPc = null;
    /** @type {RTCDataChannel | null} */
    this.dataChannel = null;
    /** The latest `welcome`, without its resume token. @type {Omit<WelcomeMsg, 'resume_token'> | null} */
    this.welcome = null;
    /** Disconnect timeout announced by the server. */
    this.disconnectTimeoutMs = 20000;
    /** A host locked the room: nobody new may join (from `welcome`, then `room_locked`). */
    this.locked = false;
    /** While in the lobby (state `waiting`): what the server said; null otherwise. @type {WaitingInfo | null} */
    this.waiting = null;
    /** Hosts only: the lobby as the server last told (null until it does, and for everyone else). @type {LobbyState | null} */
    this.lobby = null;
    /** The signaling connection being opened (its `join` not answered with `welcome` yet). @type {SignalClient | null} */
    this._opening = null;
    /**
     * The room's interpretation channels (the server's `interpretation`): null in a room without
     * languages, and until the server tells. @type {InterpretationState | null}
     */
    this.interpretation = null;
    /** The channel this client chose to hear besides the floor (`listen`); null: the floor alone. @type {string | null} */
    this._listening = null;
    /** The signaling connection the choice was last sent on: it is sent again on a new one. @type {SignalClient | null} */
    this._listenSentOn = null;

    /** Subscriber m-lines of the latest applied offer: mid -> track. @type {Map<string, SubscribedTrack>} */
    this._activeSubTracks = new Map();
    /** Current subscriptions by mid. @type {Map<string, RemoteTrack>} */
    this._subsByMid = new Map();
    /** @type {Promise<void>} */
    this._subQueue = Promise.resolve();
    /** Mapping of the subscriber offer being applied. @type {Map<string, SubscribedTrack> | null} */
    this._pendingSubTracks = null;
    this._pubNeeded = false;
    /** @type {Promise<void> | null} */
    this._pubLoop = null;
    /** Our publish_offer waiting for its answer. @type {PendingPublish | null} */
    this._pendingPublish = null;
    /** Publications whose mute change could not be sent (socket down): sent after a resume. @type {Set<LocalTrackPublication>} */
    this._unsentMutes = new Set();
    this._leaving = false;
    /** Ends the current wait between reconnection attempts. @type {(() => void) | null} */
    this._wakeBackoff = null;

    /** ICE restarts started, per peer connection (over the life of the room). */
    this.iceRestarts = { publisher: 0, subscriber: 0 };
    /** Transport of the media: 'udp', 'tcp' (UDP blocked on the network), 'relay-*' (through the server's TURN relay, reached over UDP, TCP or TLS), or null while unknown. @type {MediaPath} */
    this.mediaPath = null;
    /** ICE watchdog state per peer connection. @type {Record<PcRole, IceWatch>} */
    this._iceWatch = { publisher: { brokenSince: 0, lastRestart: 0 }, subscriber: { brokenSince: 0, lastRestart: 0 } };
    /** Until then (Date.now()), ICE `disconnected` restarts ICE at once (see ICE_SUSPECT_AFTER_RESUME_MS). */
    this._iceSuspectUntil = 0;
    /** The next publisher offer restarts ICE. */
    this._pubIceRestart = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this._iceTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this._pathTimer = null;
    /**
     * Who is speaking, by participant id, loudest first, as the server last said (the local
     * participant included when it speaks): `activeSpeakers[0]` is the active speaker. @type {string[]}
     */
    this.activeSpeakers = [];
    /** Latest connection quality by participant id, also for ids not announced yet. @type {Map<string, ConnectionQuality>} */
    this._qualityById = new Map();
    /** Size at which the app shows each received video, by track id (`setVideoSize`). @type {Map<string, VideoSize>} */
    this._videoSizes = new Map();
    /** What the server was told on this socket ("WxH"), by track id. @type {Map<string, string>} */
    this._sentVideoSizes = new Map();
    /** `video_layer` news for a track not subscribed here yet, by track id. @type {Map<string, VideoLayer>} */
    this._pendingLayers = new Map();
    /**
     * End-to-end encryption (docs/security.md): `enabled` once a `welcome` says the call is
     * encrypted; its state (`status`, `safetyCode`, `participants`...) changes with `e2ee_changed`.
     */
    this.e2ee = new E2eeSession({
      send: (m) => !!this.signal?.send(m),
      onChange: (keyChanged) => this.emit('e2ee_changed', { e2ee: this.e2ee, keyChanged }),
    });
    /** Chat messages being encrypted (sent in order). @type {Promise<void>} */
    this._chatOut = Promise.resolve();
    /** Chat messages being decrypted (shown in order). @type {Promise<void>} */
    this._chatIn = Promise.resolve();
  }

  /** The participant speaking loudest (possibly the local one), or null when nobody speaks. @returns {AnyParticipant | null} */
  get activeSpeaker() {
    const id = this.activeSpeakers[0];
    return id == null ? null : this._participantById(id) ?? null;
  }

  /**
   * The local participant or a remote one, by participant id.
   * @param {string} id
   * @returns {AnyParticipant | undefined}
   */
  _participantById(id) {
    if (id && id === this.localParticipant.id) return this.localParticipant;
    return this.participants.get(id);
  }

  /** Secret of this session for `resume`: memory only, never stored or logged. */
  #resumeToken = '';

  /** @param {RoomState} s */
  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state_changed', s);
  }

  /**
   * Join the room. Resolves once the server welcomed us.
   * Rejects with a HotlineError (human-readable message) if joining failed.
   * @returns {Promise<void>}
   */
  async connect() {
    if (this.state !== 'new' && this.state !== 'disconnected') throw new Error('Room.connect: already connecting or connected');
    this._leaving = false;
    this._setState('connecting');
    try {
      await this._open();
    } catch (err) {
      this._setState('disconnected');
      throw err;
    }
    this._setState('connected');
  }

  async _open() {
    const signal = new SignalClient(this.url);
    signal.on('waiting', (m) => this._onWaiting(signal, m));
    this._opening = signal;
    /** @type {WelcomeMsg} */
    let welcome;
    try {
      welcome = await signal.connect({ token: this.token, room: this.roomName });
    } catch (err) {
      // Left the lobby (`leave()`): say so rather than how the socket closed.
      if (this._leaving) throw new HotlineError('left', 'You left the call.', { closeCode: 1000 });
      throw err;
    } finally {
      if (this._opening === signal) this._opening = null;
      this.waiting = null;
    }
    if (this._leaving) {
      signal.leave();
      throw new HotlineError('left', 'You left the call.');
    }
    if (this.e2ee.enabled && welcome.e2ee !== true) {
      // Joining again (e.g. after a server restart) into a room that is no longer end-to-end
      // encrypted: a call that was encrypted never goes on in the clear. Tried again later.
      signal.leave();
      throw new HotlineError('e2ee_downgrade', describeErrorCode('e2ee_downgrade'));
    }
    this.signal = signal;
    const { resume_token: resumeToken, ...welcomeInfo } = welcome;
    this.#resumeToken = resumeToken ?? '';
    this.welcome = welcomeInfo;
    this.disconnectTimeoutMs = welcome.disconnect_timeout_ms ?? 20000;
    const lp = this.localParticipant;
    lp.id = welcome.participant_id;
    lp.identity = welcome.identity;
    lp.name = welcome.name;
    lp.grants = welcome.grants;
    this._setLocked(welcome.locked === true, null);
    // Before the peer connections: they may need to be made for encoded streams.
    if (welcome.e2ee === true) this.e2ee.enable();

    this._sentVideoSizes.clear();
    this._createPeerConnections();
    this.e2ee.start(lp.id);
    signal.on('message', (m) => this._onMessage(signal, m));
    signal.on('close', (info) => this._onSignalClose(signal, info));

    for (const info of welcome.participants ?? []) this._addParticipant(info);
    return welcomeInfo;
  }

  /**
   * The server put us in the lobby (or says again whether a host is there to let us in).
   * @param {SignalClient} signal
   * @param {import('./signal.js').WaitingMsg} msg
   */
  _onWaiting(signal, msg) {
    if (signal !== this._opening || this._leaving) return;
    this.waiting = {
      participantId: String(msg.participant_id ?? ''),
      name: String(msg.name ?? ''),
      room: String(msg.room ?? this.roomName),
      hostsPresent: msg.hosts_present === true,
    };
    this._setState('waiting');
    this.emit('waiting', { ...this.waiting });
  }

  /**
   * Take this session back on a new signaling connection (`resume`). Keeps both peer
   * connections and every track; reconciles the participant list. Rejects with a HotlineError
   * (closeCode 4015 when the server no longer has the session).
   * @returns {Promise<ResumedMsg>}
   */
  async _resumeSession() {
    const signal = new SignalClient(this.url);
    const resumed = await signal.resume({ room: this.roomName, participantId: this.localParticipant.id, resumeToken: this.#resumeToken });
    if (this._leaving) {
      signal.leave();
      throw new HotlineError('left', 'You left the call.');
    }
    // No await from here until the listeners are on: the messages right after `resumed`
    // (a subscriber offer sent again) must reach them.
    this.signal = signal;
    signal.on('message', (m) => this._onMessage(signal, m));
    signal.on('close', (info) => this._onSignalClose(signal, info));
    this._reconcileParticipants(resumed.participants ?? []);
    this._setLocked(resumed.locked === true, null);
    // A publish_offer of ours that was in flight without an answer: send it again.
    const pending = this._pendingPublish;
    if (pending) {
      signal.send({ type: 'publish_offer', sdp: pending.sdp, tracks: pending.tracks, ...(this.e2ee.enabled ? { e2ee: true } : {}) });
      this._armPublishTimer(pending);
    }
    // Mute changes made while the socket was down.
    for (const pub of this._unsentMutes) {
      const mid = pub.transceiver.mid;
      if (this.localParticipant.publications.includes(pub) && mid != null && pub.transceiver.currentDirection != null) {
        signal.send({ type: 'update_track', mid, muted: pub.muted });
      }
    }
    this._unsentMutes.clear();
    // The server keeps the video sizes over a resume, but one sent while the socket was dying may
    // have been lost: send them all again.
    this._sentVideoSizes.clear();
    for (const t of this._subsByMid.values()) this._sendVideoSize(t.trackId);
    this.e2ee.resumed();
    return resumed;
  }

  /**
   * Make the participant list match the server's after a resume; events only for real changes.
   * @param {ParticipantInfo[]} infos
   */
  _reconcileParticipants(infos) {
    /** @param {import('./signal.js').TrackInfo[]} tracks */
    const key = (tracks) =>
      JSON.stringify([...tracks].sort((a, b) => (a.track_id < b.track_id ? -1 : a.track_id > b.track_id ? 1 : 0)).map((t) => [t.track_id, t.kind, t.source, t.muted, t.language ?? null]));
    const seen = new Set();
    for (const info of infos) {
      seen.add(info.participant_id);
      const p = this.participants.get(info.participant_id);
      if (!p) {
        this._addParticipant(info);
      } else if (p.identity !== info.identity || p.name !== info.name || p.connection !== info.connection || key(p.tracks) !== key(info.tracks ?? []) || p.identityKey !== (info.identity_key ?? null)) {
        p.update(info);
        this.e2ee.participantSeen(p);
        this.emit('participant_updated', p);
      }
    }
    for (const id of [...this.participants.keys()]) {
      if (!seen.has(id)) this._removeParticipant(id, 'disconnected');
    }
  }

  /** The configuration for peer connections: the app's, plus the server's relays for this session. */
  _rtcConfiguration() {
    const relays = this.signal?.iceServers ?? [];
    return { ...this.rtcConfig, iceServers: [...(this.rtcConfig.iceServers ?? []), ...relays] };
  }

  _createPeerConnections() {
    const config = this._rtcConfiguration();
    // Where frames can only be encrypted through encoded streams, they must be asked for here.
    if (this.e2ee.needsInsertableStreams) /** @type {any} */ (config).encodedInsertableStreams = true;
    const sub = new RTCPeerConnection(config);
    const pub = new RTCPeerConnection(config);
    sub.ondatachannel = (ev) => {
      this.dataChannel = ev.channel;
    };
    sub.ontrack = (ev) => {
      // The mapping of this m-line to a participant's track comes from the
      // `tracks` of the subscriber offer being applied, by transceiver mid.
      // Subscriptions are finalised once the answer is applied (see _reconcileSubscriptions).
      const mid = ev.transceiver?.mid;
      // End-to-end encryption: frames are decrypted before the decoder, by the sender the track
      // map gives this mid (at once: encoded streams must be taken here).
      if (this.e2ee.supported && ev.receiver) this.e2ee.attachReceiver(ev.receiver, /** @type {'audio' | 'video'} */ (ev.track.kind), mid ?? '');
      if (mid == null) return;
      const st = this._pendingSubTracks?.get(mid);
      if (!st) console.debug('hotline: track on unmapped mid', mid);
    };
    this.subscriberPc = sub;
    this.publisherPc = pub;
    this._subsByMid = new Map();
    this._activeSubTracks = new Map();
    this._pendingSubTracks = null;
    // Fresh negotiation queues: an operation of a closed peer connection never settles (WebRTC
    // leaves its promise pending), so whatever was in flight on the old ones must not hold these up.
    this._subQueue = Promise.resolve();
    this._pubLoop = null;
    this._pubNeeded = false;
    this._pubIceRestart = false;
    this._startMediaWatch();
  }

  // ---------------------------------------------------------------- ICE restart and media path

  _startMediaWatch() {
    this._stopMediaWatch();
    const now = Date.now();
    for (const w of Object.values(this._iceWatch)) {
      w.brokenSince = 0;
      w.lastRestart = now - ICE_RESTART_MIN_INTERVAL_MS; // a first restart may come at once
    }
    this._iceTimer = setInterval(() => this._checkIce(), ICE_CHECK_MS);
    this._pathTimer = setInterval(() => void this._refreshMediaPath(), MEDIA_PATH_REFRESH_MS);
    const onChange = () => {
      this._checkIce();
      void this._refreshMediaPath();
    };
    for (const pc of [this.publisherPc, this.subscriberPc]) {
      pc?.addEventListener('iceconnectionstatechange', onChange);
      pc?.addEventListener('connectionstatechange', onChange);
    }
  }

  _stopMediaWatch() {
    if (this._iceTimer) clearInterval(this._iceTimer);
    if (this._pathTimer) clearInterval(this._pathTimer);
    this._iceTimer = null;
    this._pathTimer = null;
  }

  /**
   * Restart ICE on a peer connection whose media path broke: `failed`, or `disconnected` for
   * ICE_DISCONNECTED_RESTART_MS; at most once per ICE_RESTART_MIN_INTERVAL_MS while it stays broken.
   * Only with the signaling connection up (after a resume the next check restarts what is still broken).
   */
  _checkIce() {
    const now = Date.now();
    /** @type {[PcRole, RTCPeerConnection | null][]} */
    const pcs = [['publisher', this.publisherPc], ['subscriber', this.subscriberPc]];
    for (const [role, pc] of pcs) {
      const w = this._iceWatch[role];
      if (!pc || pc.signalingState === 'closed') continue;
      const ice = pc.iceConnectionState;
      const conn = pc.connectionState;
      const failed = ice === 'failed' || conn === 'failed';
      const broken = failed || ice === 'disconnected' || conn === 'disconnected';
      if (!broken) {
        w.brokenSince = 0;
        continue;
      }
      if (!w.brokenSince) w.brokenSince = now;
      const grace = now < this._iceSuspectUntil ? 0 : ICE_DISCONNECTED_RESTART_MS;
      if (!failed && now - w.brokenSince < grace) continue;
      if (now - w.lastRestart < ICE_RESTART_MIN_INTERVAL_MS) continue;
      if (this.state !== 'connected' || !this.signal?.isOpen) continue;
      // The publisher connection is restarted only once it was negotiated (something is published).
      if (role === 'publisher' && !pc.remoteDescription) continue;
      w.lastRestart = now;
      this._restartIce(role, failed ? 'failed' : 'disconnected');
    }
  }

  /**
   * @param {PcRole} role
   * @param {IceRestartReason} reason
   */
  _restartIce(role, reason) {
    const count = ++this.iceRestarts[role];
    console.info(`hotline: ICE ${reason} on the ${role} connection: restarting ICE (#${count})`);
    if (role === 'subscriber') {
      this.signal?.send({ type: 'restart_ice' });
    } else {
      this._pubIceRestart = true;
      this._renegotiate().catch((e) => console.warn('hotline: publisher ICE restart failed', e));
    }
    this.emit('ice_restart', { pc: role, reason, count });
  }

  /**
   * Right after a resume: a peer connection whose selected path has received nothing for
   * STALE_PATH_MS is restarted at once, before ICE itself notices (that takes seconds, e.g. after
   * an address change). A path that still carries media is left alone.
   */
  async _restartStalePaths() {
    /** @type {[PcRole, RTCPeerConnection | null][]} */
    const pcs = [['subscriber', this.subscriberPc], ['publisher', this.publisherPc]];
    for (const [role, pc] of pcs) {
      if (!pc || pc.signalingState === 'closed' || (role === 'publisher' && !pc.remoteDescription)) continue;
      let idleMs = 0;
      try {
        idleMs = await selectedPairIdleMs(pc);
      } catch {
        continue;
      }
      const w = this._iceWatch[role];
      const now = Date.now();
      if (idleMs < STALE_PATH_MS || this.state !== 'connected' || !this.signal?.isOpen || now - w.lastRestart < ICE_RESTART_MIN_INTERVAL_MS) continue;
      if (pc !== this.publisherPc && pc !== this.subscriberPc) continue;
      w.lastRestart = now;
      this._restartIce(role, 'stale');
    }
  }

  /** Read the transport of the selected candidate pair (subscriber connection first). */
  async _refreshMediaPath() {
    const sub = this.subscriberPc;
    /** @type {MediaPath} */
    let path = null;
    for (const pc of [this.subscriberPc, this.publisherPc]) {
      if (!pc || pc.signalingState === 'closed') continue;
      try {
        path = await selectedTransport(pc);
      } catch {
        path = null;
      }
      if (path) break;
    }
    if (sub !== this.subscriberPc) return; // torn down or replaced meanwhile
    if (path !== this.mediaPath) {
      this.mediaPath = path;
      this.emit('media_path_changed', path);
    }
  }

  _closePeerConnections() {
    this._stopMediaWatch();
    if (this.mediaPath !== null) {
      this.mediaPath = null;
      this.emit('media_path_changed', null);
    }
    for (const pc of [this.publisherPc, this.subscriberPc]) {
      if (pc) {
        try { pc.close(); } catch { /* ignore */ }
      }
    }
    this.dataChannel = null;
    this._takePendingPublish()?.reject(new HotlineError('disconnected', 'The connection to the server was lost.'));
  }

  /**
   * @param {SignalClient} signal
   * @param {ServerMessage} msg
   */
  _onMessage(signal, msg) {
    if (signal !== this.signal) return;
    switch (msg.type) {
      case 'subscriber_offer': {
        const pc = this.subscriberPc;
        this._subQueue = this._subQueue
          .then(() => this._applySubscriberOffer(pc, msg))
          .catch((err) => {
            console.error('hotline: subscriber offer failed', err);
            this.emit('error', new HotlineError('subscriber_failed', 'Receiving audio and video from the others failed.'));
          });
        break;
      }
      case 'publish_answer': {
        const p = this._takePendingPublish();
        if (p) p.resolve(msg.sdp);
        else console.warn('hotline: publish_answer without a pending offer');
        break;
      }
      case 'participant_joined':
        this._addParticipant(msg.participant);
        break;
      case 'participant_updated': {
        const p = this.participants.get(msg.participant.participant_id);
        if (!p) {
          this._addParticipant(msg.participant);
        } else {
          p.update(msg.participant);
          this.e2ee.participantSeen(p);
          this.emit('participant_updated', p);
        }
        break;
      }
      case 'participant_left':
        this._removeParticipant(msg.participant_id, msg.reason);
        break;
      case 'chat':
        this._onChat(msg);
        break;
      case 'e2ee_keys':
        this.e2ee.receiveKeys(msg.from, msg.data);
        break;
      case 'error': {
        const err = new HotlineError(msg.code, describeErrorCode(msg.code, msg.message), { serverMessage: msg.message });
        if (this._pendingPublish && (msg.code === 'publish_not_allowed' || msg.code === 'invalid_sdp' || msg.code === 'encryption_required')) {
          this._takePendingPublish()?.reject(err);
        }
        this.emit('error', err);
        break;
      }
      case 'shutting_down':
        this.emit('shutting_down', { deadlineMs: msg.deadline_ms });
        break;
      case 'active_speakers':
        this._setActiveSpeakers(Array.isArray(msg.participant_ids) ? msg.participant_ids : []);
        break;
      case 'connection_quality':
        this._applyQualities(Array.isArray(msg.participants) ? msg.participants : []);
        break;
      case 'video_layer':
        this._applyVideoLayer(msg);
        break;
      case 'publish_layers':
        this._applyPublishLayers(msg);
        break;
      case 'ice_servers':
        // Fresh relay credentials: used at the next ICE gathering (a restart).
        for (const pc of [this.publisherPc, this.subscriberPc]) {
          if (pc && pc.signalingState !== 'closed') {
            try {
              pc.setConfiguration(this._rtcConfiguration());
            } catch (e) {
              console.warn('hotline: could not update relay credentials', e);
            }
          }
        }
        break;
      case 'muted_by_host':
        this._onMutedByHost(msg);
        break;
      case 'room_locked':
        this._setLocked(msg.locked === true, typeof msg.by === 'string' ? this._participantById(msg.by) ?? null : null);
        break;
      case 'lobby':
        this._applyLobby(msg);
        break;
      case 'interpretation':
        this._applyInterpretation(msg);
        break;
      case 'pong':
      case 'welcome':
      case 'resumed':
        break;
      default:
        console.debug('hotline: unknown message', msg);
    }
  }

  /**
   * Take the server's list of speakers (loudest first): sets each participant's `speaking`, emits
   * `active_speakers` when the list changed.
   * @param {unknown[]} ids
   */
  _setActiveSpeakers(ids) {
    /** @type {string[]} */
    const list = [];
    for (const id of ids) if (typeof id === 'string' && id && !list.includes(id)) list.push(id);
    const prev = this.activeSpeakers;
    this.activeSpeakers = list;
    const lp = this.localParticipant;
    lp.speaking = !!lp.id && list.includes(lp.id);
    for (const p of this.participants.values()) p.speaking = list.includes(p.id);
    if (prev.length === list.length && prev.every((id, i) => id === list[i])) return;
    /** @type {AnyParticipant[]} */
    const participants = [];
    for (const id of list) {
      const p = this._participantById(id);
      if (p) participants.push(p);
    }
    this.emit('active_speakers', { ids: [...list], participants });
  }

  /**
   * Take connection qualities from the server; emits `connection_quality` with those that changed.
   * @param {ParticipantQuality[]} entries
   */
  _applyQualities(entries) {
    /** @type {QualityChange[]} */
    const changes = [];
    for (const e of entries) {
      if (!e || typeof e.participant_id !== 'string' || !CONNECTION_QUALITIES.includes(e.quality)) continue;
      this._qualityById.set(e.participant_id, e.quality);
      const p = this._participantById(e.participant_id);
      if (p && p.quality !== e.quality) {
        p.quality = e.quality;
        changes.push({ participant: p, quality: e.quality });
      }
    }
    if (changes.length) this.emit('connection_quality', changes);
  }

  /**
   * Keep the server's choice of layer on the received track (`track.layer`) and emit `video_layer`;
   * kept aside for a track whose subscription is not open here yet.
   * @param {VideoLayerMsg} msg
   */
  _applyVideoLayer(msg) {
    if (typeof msg.track_id !== 'string') return;
    const num = (/** @type {unknown} */ v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    /** @type {VideoLayer} */
    const layer = {
      paused: !!msg.paused,
      rid: typeof msg.rid === 'string' ? msg.rid : undefined,
      width: num(msg.width),
      height: num(msg.height),
      reason: msg.reason,
      baseFrameRate: msg.base_frame_rate === true,
      estimateKbps: num(msg.estimate_kbps),
    };
    const track = this._subscriptionOf(msg.track_id);
    if (!track) {
      this._pendingLayers.set(msg.track_id, layer);
      return;
    }
    track.layer = layer;
    this.emit('video_layer', { participant: this.participants.get(track.participantId) ?? null, track, layer });
  }

  /**
   * Dynacast: send only the simulcast encodings the server says anyone receives (the others are
   * paused with `active: false`; a resumed one starts with a keyframe).
   * @param {PublishLayersMsg} msg
   */
  _applyPublishLayers(msg) {
    if (typeof msg.mid !== 'string' || !Array.isArray(msg.active)) return;
    const pub = this.localParticipant.publications.find((p) => p.layers && p.transceiver.mid === msg.mid);
    if (!pub) return;
    const active = msg.active.filter((rid) => typeof rid === 'string');
    pub.activeLayers = active;
    const sender = pub.transceiver.sender;
    pub._parametersQueue = pub._parametersQueue.then(async () => {
      const params = sender.getParameters();
      if (!params.encodings?.length) return;
      let changed = false;
      for (const enc of params.encodings) {
        const on = enc.rid ? active.includes(enc.rid) : true;
        if (enc.active !== on) {
          enc.active = on;
          changed = true;
        }
      }
      if (changed) await sender.setParameters(params);
    }).catch((e) => console.warn('hotline: could not pause or resume simulcast layers', e));
  }

  /**
   * The open subscription of a track, if any.
   * @param {string} trackId
   * @returns {RemoteTrack | undefined}
   */
  _subscriptionOf(trackId) {
    for (const t of this._subsByMid.values()) if (t.trackId === trackId) return t;
    return undefined;
  }

  /**
   * Tell the server at what size the app shows a received video, in device pixels (CSS pixels
   * times `devicePixelRatio`); 0x0 when it is not visible at all (the server then pauses it, so
   * only when it really is not seen). The server forwards no larger layer than that needs. Sent
   * only when it changed, and sent again after a resume and when the track is subscribed again.
   * `VideoSizeObserver` calls this for a `<video>` element.
   * @param {RemoteTrack} track
   * @param {number} width
   * @param {number} height
   */
  setVideoSize(track, width, height) {
    if (track.kind !== 'video') return;
    const w = Math.max(0, Math.round(width) || 0);
    const h = Math.max(0, Math.round(height) || 0);
    // One of them 0 is not visible either: the server takes 0x0 as the signal.
    this._videoSizes.set(track.trackId, w && h ? { width: w, height: h } : { width: 0, height: 0 });
    this._sendVideoSize(track.trackId);
  }

  /**
   * Send the app's size of a received video if the server does not have it yet. Only for an open
   * subscription: the server knows no other track.
   * @param {string} trackId
   */
  _sendVideoSize(trackId) {
    const size = this._videoSizes.get(trackId);
    const track = this._subscriptionOf(trackId);
    if (!size || !track || track.kind !== 'video') return;
    const key = `${size.width}x${size.height}`;
    if (this._sentVideoSizes.get(trackId) === key) return;
    if (this.signal?.send({ type: 'video_size', track_id: trackId, width: size.width, height: size.height })) {
      this._sentVideoSizes.set(trackId, key);
    }
  }

  /** @param {ParticipantInfo} info */
  _addParticipant(info) {
    const existing = this.participants.get(info.participant_id);
    if (existing) {
      existing.update(info);
      this.e2ee.participantSeen(existing);
      this.emit('participant_updated', existing);
      return;
    }
    const p = new RemoteParticipant(info);
    // Speaking or quality news may come before the participant is announced.
    p.speaking = this.activeSpeakers.includes(p.id);
    p.quality = this._qualityById.get(p.id);
    this.participants.set(p.id, p);
    this.e2ee.participantSeen(p);
    this.emit('participant_joined', p);
    // Tracks that arrived before the participant was announced.
    for (const t of this._subsByMid.values()) {
      if (t.participantId === p.id && !p.subscribedTracks.has(t.trackId)) {
        p.syncTrack(t);
        p.subscribedTracks.set(t.trackId, t);
        this.emit('track_subscribed', { participant: p, track: t });
      }
    }
  }

  /**
   * @param {string} id
   * @param {string} reason
   */
  _removeParticipant(id, reason) {
    const p = this.participants.get(id);
    if (!p) return;
    for (const t of [...p.subscribedTracks.values()]) {
      p.subscribedTracks.delete(t.trackId);
      this.emit('track_unsubscribed', { participant: p, track: t });
    }
    this.participants.delete(id);
    this.e2ee.participantLeft(id);
    this._qualityById.delete(id);
    for (const t of p.tracks) {
      this._videoSizes.delete(t.track_id);
      this._sentVideoSizes.delete(t.track_id);
      this._pendingLayers.delete(t.track_id);
    }
    p.speaking = false;
    this.emit('participant_left', { participant: p, reason });
    // Someone gone speaks no more (the server says so too; this keeps the list right meanwhile).
    if (this.activeSpeakers.includes(id)) this._setActiveSpeakers(this.activeSpeakers.filter((x) => x !== id));
  }

  /**
   * @param {RTCPeerConnection | null} pc
   * @param {SubscriberOfferMsg} msg
   */
  async _applySubscriberOffer(pc, msg) {
    if (!pc || pc !== this.subscriberPc || pc.signalingState === 'closed') return;
    const tracks = new Map((msg.tracks ?? []).map((t) => [t.mid, t]));
    this._pendingSubTracks = tracks;
    // Whose frames each receiver carries from now on: the key to decrypt them with is theirs.
    if (this.e2ee.supported) this.e2ee.setReceivers(tracks.values());
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc !== this.subscriberPc) return;
    this.signal?.send({ type: 'subscriber_answer', sdp: pc.localDescription?.sdp ?? answer.sdp ?? '' });
    this._activeSubTracks = tracks;
    this._pendingSubTracks = null;
    this._reconcileSubscriptions();
  }

  _reconcileSubscriptions() {
    const pc = this.subscriberPc;
    if (!pc) return;
    /** @type {Map<string, RTCRtpTransceiver>} */
    const byMid = new Map();
    for (const tr of pc.getTransceivers()) if (tr.mid != null) byMid.set(tr.mid, tr);
    /** @param {RTCRtpTransceiver | undefined} tr */
    const isDead = (tr) => !tr || tr.currentDirection === 'stopped' || tr.currentDirection === 'inactive' || tr.direction === 'stopped';

    for (const [mid, sub] of [...this._subsByMid]) {
      const want = this._activeSubTracks.get(mid);
      const tr = byMid.get(mid);
      if (!want || want.track_id !== sub.trackId || want.participant_id !== sub.participantId || isDead(tr) || tr?.receiver.track !== sub.mediaStreamTrack) {
        this._unsubscribe(mid);
      }
    }
    for (const [mid, st] of this._activeSubTracks) {
      if (this._subsByMid.has(mid)) continue;
      const tr = byMid.get(mid);
      if (!tr || isDead(tr)) continue;
      const mst = tr.receiver.track;
      if (mst.kind !== st.kind) {
        console.warn('hotline: kind mismatch on mid', mid, mst.kind, st.kind);
        continue;
      }
      const rt = new RemoteTrack({
        trackId: st.track_id,
        mid,
        kind: st.kind,
        source: st.source,
        participantId: st.participant_id,
        mediaStreamTrack: mst,
        transceiver: tr,
      });
      this._subsByMid.set(mid, rt);
      const early = this._pendingLayers.get(rt.trackId);
      if (early) {
        rt.layer = early;
        this._pendingLayers.delete(rt.trackId);
      }
      // A new subscription on the server: it has no size for this track yet.
      this._sentVideoSizes.delete(rt.trackId);
      this._sendVideoSize(rt.trackId);
      const p = this.participants.get(st.participant_id);
      if (p) {
        p.syncTrack(rt);
        p.subscribedTracks.set(rt.trackId, rt);
        this.emit('track_subscribed', { participant: p, track: rt });
      }
    }
  }

  /** @param {string} mid */
  _unsubscribe(mid) {
    const sub = this._subsByMid.get(mid);
    if (!sub) return;
    this._subsByMid.delete(mid);
    const p = this.participants.get(sub.participantId);
    if (p && p.subscribedTracks.get(sub.trackId) === sub) {
      p.subscribedTracks.delete(sub.trackId);
      this.emit('track_unsubscribed', { participant: p, track: sub });
    }
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Publish a local track. Resolves once the server accepted the offer.
   * Rejects with a HotlineError (code `publish_not_allowed` when the token lacks the grant).
   * `simulcast` (default: true for a camera) sends the video in the three encodings of
   * CAMERA_SIMULCAST_ENCODINGS; a screen share is one encoding.
   * An interpreter (the `interpret` grant) publishes its microphone as `source: 'interpretation'` with
   * `language`, the channel it speaks on (a language of its pair the room has), and nothing else.
   * @param {MediaStreamTrack} track
   * @param {{source: TrackSource, stream?: MediaStream, muted?: boolean, simulcast?: boolean, language?: string | null}} opts
   * @returns {Promise<LocalTrackPublication>}
   */
  async publishTrack(track, opts) {
    const pc = this.publisherPc;
    if (!pc || this.state !== 'connected') throw new HotlineError('not_connected', 'You are not connected to the call.');
    // An encrypted call takes only encrypted media: a browser that cannot encrypt sends nothing.
    if (this.e2ee.enabled && !this.e2ee.supported) throw new HotlineError('e2ee_unsupported', describeErrorCode('e2ee_unsupported'));
    const stream = opts.stream ?? new MediaStream([track]);
    const simulcast = track.kind === 'video' && (opts.simulcast ?? opts.source === 'camera');
    const { transceiver, layers } = simulcast ? addSimulcastTransceiver(pc, track, stream) : { transceiver: pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] }), layers: null };
    if (this.e2ee.enabled) {
      // Every frame encrypted before it leaves (all encodings of a simulcast track). No RED: it
      // would wrap encrypted frames in a format the receiver must parse before decrypting.
      this.e2ee.attachSender(transceiver.sender, /** @type {'audio' | 'video'} */ (track.kind));
    } else if (track.kind === 'audio') {
      preferRedundantAudio(transceiver);
    }
    const pub = new LocalTrackPublication({ track, source: opts.source, transceiver, stream, layers, language: opts.language });
    if (opts.muted) {
      pub.muted = true;
      track.enabled = false;
    }
    this.localParticipant.publications.push(pub);
    this.emit('local_tracks_changed', this.localParticipant);
    await this._renegotiate();
    if (!this.localParticipant.publications.includes(pub)) {
      throw new HotlineError('publish_failed', 'Publishing the track failed.');
    }
    return pub;
  }

  /**
   * Stop publishing a track. The track itself is not stopped.
   * @param {MediaStreamTrack} track
   * @returns {Promise<void>}
   */
  async unpublishTrack(track) {
    const pub = this.localParticipant.publicationOf(track);
    if (!pub) return;
    this.localParticipant.publications = this.localParticipant.publications.filter((p) => p !== pub);
    this.emit('local_tracks_changed', this.localParticipant);
    const wasNegotiated = pub.transceiver.mid != null;
    try { pub.transceiver.stop(); } catch { /* already stopped */ }
    if (wasNegotiated && this.state === 'connected') await this._renegotiate();
  }

  /**
   * Mute or unmute a published track: sets `track.enabled` and tells the others.
   * @param {MediaStreamTrack} track
   * @param {boolean} muted
   */
  setMuted(track, muted) {
    const pub = this.localParticipant.publicationOf(track);
    track.enabled = !muted;
    if (!pub) return;
    pub.muted = muted;
    const mid = pub.transceiver.mid;
    if (mid != null && pub.transceiver.currentDirection != null) {
      if (this.signal?.send({ type: 'update_track', mid, muted })) this._unsentMutes.delete(pub);
      else this._unsentMutes.add(pub); // sent after a resume
    }
    // Otherwise the mute state travels with the pending publish_offer.
    this.emit('local_tracks_changed', this.localParticipant);
  }

  /**
   * Replace the track sent for a publication (device switching). No renegotiation.
   * @param {MediaStreamTrack} oldTrack
   * @param {MediaStreamTrack} newTrack
   */
  async replaceTrack(oldTrack, newTrack) {
    const pub = this.localParticipant.publicationOf(oldTrack);
    if (!pub) throw new Error('replaceTrack: that track is not published');
    if (oldTrack.kind !== newTrack.kind) throw new Error('replaceTrack: kinds differ');
    newTrack.enabled = !pub.muted;
    await pub.transceiver.sender.replaceTrack(newTrack);
    pub.stream.removeTrack(oldTrack);
    pub.stream.addTrack(newTrack);
    pub.track = newTrack;
    this.emit('local_tracks_changed', this.localParticipant);
  }

  /** Queue a publisher renegotiation; coalesces changes. @returns {Promise<void>} */
  _renegotiate() {
    this._pubNeeded = true;
    if (!this._pubLoop) {
      /** @type {Promise<void> | null} */
      let loop = null;
      loop = (async () => {
        try {
          while (this._pubNeeded) {
            this._pubNeeded = false;
            await this._negotiatePublisherOnce();
          }
        } finally {
          if (this._pubLoop === loop) this._pubLoop = null;
        }
      })();
      this._pubLoop = loop;
    }
    return this._pubLoop;
  }

  async _negotiatePublisherOnce() {
    const pc = this.publisherPc;
    if (!pc || pc.signalingState === 'closed' || (!this.signal && this.state !== 'reconnecting')) {
      throw new HotlineError('not_connected', 'You are not connected to the call.');
    }
    const iceRestart = this._pubIceRestart;
    this._pubIceRestart = false;
    const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
    await pc.setLocalDescription(offer);
    if (pc !== this.publisherPc) throw new HotlineError('not_connected', 'You are not connected to the call.');
    /** @type {PublishedTrack[]} */
    const tracks = [];
    for (const p of this.localParticipant.publications) {
      const mid = p.transceiver.mid;
      if (mid == null) continue;
      /** @type {PublishedTrack} */
      const t = { mid, kind: p.kind, source: p.source, muted: p.muted };
      if (p.layers) t.layers = [...p.layers];
      if (p.language) t.language = p.language;
      tracks.push(t);
    }
    const sdp = pc.localDescription?.sdp ?? offer.sdp ?? '';
    /** @type {PendingPublish | null} */
    let pending = null;
    /** @type {Promise<string>} */
    const answer = new Promise((resolve, reject) => {
      pending = { resolve, reject, sdp, tracks, timer: null };
    });
    const p = /** @type {PendingPublish} */ (/** @type {unknown} */ (pending));
    this._pendingPublish = p;
    this._armPublishTimer(p);
    // With the socket down, the offer stays pending: it is sent after a resume, or rejected
    // when the room rejoins from scratch or gives up.
    if (!this.signal?.send({ type: 'publish_offer', sdp, tracks, ...(this.e2ee.enabled ? { e2ee: true } : {}) }) && this.state !== 'reconnecting' && this.state !== 'connected') {
      this._takePendingPublish()?.reject(new HotlineError('not_connected', 'You are not connected to the call.'));
    }
    let answerSdp;
    try {
      answerSdp = await answer;
    } catch (err) {
      await this._publishFailed(pc);
      throw err;
    }
    if (/** @type {string} */ (pc.signalingState) === 'closed') return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
  }

  /**
   * (Re)start the answer timeout of a pending publish. It does not run out while reconnecting.
   * @param {PendingPublish} p
   */
  _armPublishTimer(p) {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (this._pendingPublish !== p) return;
      if (this.state === 'reconnecting') {
        this._armPublishTimer(p);
        return;
      }
      this._takePendingPublish()?.reject(new HotlineError('timeout', 'The server did not answer in time.'));
    }, this.negotiationTimeoutMs);
  }

  /** The pending publish, now no longer pending. @returns {PendingPublish | null} */
  _takePendingPublish() {
    const p = this._pendingPublish;
    this._pendingPublish = null;
    if (p?.timer) clearTimeout(p.timer);
    return p;
  }

  /**
   * The server refused our offer: roll back and drop publications that were never accepted.
   * @param {RTCPeerConnection} pc
   */
  async _publishFailed(pc) {
    if (pc !== this.publisherPc) return; // torn down meanwhile: nothing of it is kept
    if (pc.signalingState === 'have-local-offer') {
      try { await pc.setLocalDescription({ type: 'rollback' }); } catch (e) { console.warn('hotline: rollback failed', e); }
    }
    const keep = [];
    for (const p of this.localParticipant.publications) {
      if (p.transceiver.currentDirection == null) {
        try { p.transceiver.stop(); } catch { /* ignore */ }
      } else {
        keep.push(p);
      }
    }
    this.localParticipant.publications = keep;
    this._pubNeeded = false;
    this.emit('local_tracks_changed', this.localParticipant);
  }

  // ---------------------------------------------------------------- host controls

  /** This client may mute or remove others and lock the room (the token's `host` grant). */
  get isHost() {
    return this.localParticipant.grants?.host === true;
  }

  /**
   * Host only: mute another participant's track (they may unmute it again). The others see it
   * muted through `participant_updated`. A non-host gets an `error` event (`host_only`).
   * @param {string} participantId
   * @param {string} trackId
   * @returns {boolean} false if not sent (not connected)
   */
  muteParticipant(participantId, trackId) {
    return !!this.signal?.send({ type: 'mute_participant', participant_id: participantId, track_id: trackId });
  }

  /**
   * Host only: remove a participant from the call. They cannot rejoin while the room exists.
   * @param {string} participantId
   * @returns {boolean} false if not sent (not connected)
   */
  removeParticipant(participantId) {
    return !!this.signal?.send({ type: 'remove_participant', participant_id: participantId });
  }

  /**
   * Host only: lock (nobody new may join) or unlock the room. `locked_changed` follows for everyone.
   * @param {boolean} locked
   * @returns {boolean} false if not sent (not connected)
   */
  lockRoom(locked) {
    return !!this.signal?.send({ type: 'lock_room', locked: !!locked });
  }

  /**
   * Host only: let someone waiting in the lobby in (`lobby_changed` follows; they join as usual).
   * Errors come as `error` events: `unknown_participant` (nobody with that id waits), `room_full`.
   * @param {string} participantId
   * @returns {boolean} false if not sent (not connected)
   */
  admitParticipant(participantId) {
    return !!this.signal?.send({ type: 'admit_participant', participant_id: participantId });
  }

  /**
   * Host only: turn someone waiting in the lobby away (their connection is closed with 4019; they
   * may only knock again by joining again).
   * @param {string} participantId
   * @returns {boolean} false if not sent (not connected)
   */
  refuseParticipant(participantId) {
    return !!this.signal?.send({ type: 'refuse_participant', participant_id: participantId });
  }

  /**
   * Host only: turn the lobby on (whoever joins without the host grant waits until a host admits
   * them) or off (everyone waiting is let in). `lobby_changed` follows.
   * @param {boolean} enabled
   * @returns {boolean} false if not sent (not connected)
   */
  setLobby(enabled) {
    return !!this.signal?.send({ type: 'set_lobby', enabled: !!enabled });
  }

  /**
   * The server's `lobby` (hosts only): keep it as `room.lobby` and emit `lobby_changed`.
   * @param {import('./signal.js').LobbyMsg} msg
   */
  _applyLobby(msg) {
    const before = new Set((this.lobby?.waiting ?? []).map((w) => w.participantId));
    /** @type {LobbyEntry[]} */
    const waiting = [];
    for (const w of Array.isArray(msg.waiting) ? msg.waiting : []) {
      if (!w || typeof w.participant_id !== 'string') continue;
      waiting.push({
        participantId: w.participant_id,
        identity: typeof w.identity === 'string' ? w.identity : '',
        name: typeof w.name === 'string' ? w.name : '',
        sinceMs: typeof w.since_ms === 'number' ? w.since_ms : 0,
      });
    }
    const enabled = msg.enabled === true;
    this.lobby = { enabled, waiting };
    this.emit('lobby_changed', { enabled, waiting: [...waiting], added: waiting.filter((w) => !before.has(w.participantId)) });
  }

  /**
   * @param {boolean} locked
   * @param {AnyParticipant | null} by
   */
  _setLocked(locked, by) {
    if (this.locked === locked) return;
    this.locked = locked;
    this.emit('locked_changed', { locked, by });
  }

  /**
   * A host muted one of our tracks: mute it here exactly as `setMuted` does (track disabled,
   * `update_track` sent), then tell the app.
   * @param {import('./signal.js').MutedByHostMsg} msg
   */
  _onMutedByHost(msg) {
    const lp = this.localParticipant;
    // The server names the track by its track id, `<participant id>-<mid>` (a `mid` may come too).
    const pub = lp.publications.find((p) => {
      const mid = p.transceiver.mid;
      if (mid == null) return false;
      if (typeof msg.mid === 'string') return msg.mid === mid;
      return msg.track_id === `${lp.id}-${mid}`;
    });
    if (!pub) {
      console.warn('hotline: a host muted a track this client does not publish', msg.track_id);
      return;
    }
    const by = typeof msg.by === 'string' ? this._participantById(msg.by) ?? null : null;
    if (!pub.muted) this.setMuted(pub.track, true);
    this.emit('muted_by_host', { publication: pub, source: pub.source, by });
  }

  // ---------------------------------------------------------------- interpretation

  /** This client is an interpreter (the token's `interpret` grant): its language pair, or null. @returns {[string, string] | null} */
  get interpretPair() {
    const pair = this.localParticipant.grants?.interpret;
    return Array.isArray(pair) && pair.length === 2 ? pair : null;
  }

  /** The channel this client hears besides the floor (null: the floor alone). @returns {string | null} */
  get listening() {
    return this._listening;
  }

  /**
   * A language's channel as the server last told it, if the room has that language.
   * @param {string | null | undefined} language
   * @returns {InterpretationChannel | undefined}
   */
  channel(language) {
    if (!language) return undefined;
    return this.interpretation?.channels.find((c) => c.language === language);
  }

  /**
   * Choose what to hear: a language's channel besides the floor, or (null) the floor alone. The
   * choice is kept, sent again after a resume or a rejoin, and may change at any time; the server
   * applies it at the next packet. `interpretation_changed` follows at once. An unknown language is
   * refused by the server (`error` `unknown_language`).
   * @param {string | null} language
   * @returns {boolean} false if not sent now (not connected: it is sent once connected again)
   */
  listen(language) {
    const choice = typeof language === 'string' && language ? language : null;
    const changed = choice !== this._listening;
    this._listening = choice;
    this._listenSentOn = null;
    const sent = this._sendListen();
    if (changed) this.emit('interpretation_changed', { interpretation: this.interpretation, listening: choice });
    return sent;
  }

  /** Send the choice of channel on the current connection if it was not sent there yet. */
  _sendListen() {
    const signal = this.signal;
    if (!signal || this._listenSentOn === signal) return this._listenSentOn === signal;
    if (!signal.send({ type: 'listen', language: this._listening })) return false;
    this._listenSentOn = signal;
    return true;
  }

  /**
   * Interpreter only: go on air on a channel of the pair with the published interpretation track
   * (moving it there when it is on the other language); whoever was live there goes on standby at
   * the next packet. `interpretation_changed` follows. Errors come as `error` events
   * (`not_an_interpreter`, `unknown_language`).
   * @param {string} language
   * @returns {boolean} false if not sent (not connected)
   */
  takeChannel(language) {
    return !!this.signal?.send({ type: 'take_channel', language });
  }

  /**
   * Interpreter only: go off the air (the channel falls silent until someone takes it).
   * @returns {boolean} false if not sent (not connected)
   */
  releaseChannel() {
    return !!this.signal?.send({ type: 'release_channel' });
  }

  /**
   * The server's `interpretation`: keep it as `room.interpretation`, follow where our own
   * interpretation track now is, send our choice of channel if this connection has not had it, and
   * emit `interpretation_changed`.
   * @param {import('./signal.js').InterpretationMsg} msg
   */
  _applyInterpretation(msg) {
    const strings = (/** @type {unknown} */ v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);
    const languages = strings(msg.languages);
    /** @type {InterpretationChannel[]} */
    const channels = [];
    for (const c of Array.isArray(msg.channels) ? msg.channels : []) {
      if (!c || typeof c.language !== 'string') continue;
      channels.push({ language: c.language, live: typeof c.live === 'string' ? c.live : null, interpreters: strings(c.interpreters) });
    }
    this.interpretation = languages.length ? { languages, channels } : null;
    const me = this.localParticipant;
    const pub = me.publication('interpretation');
    if (pub && me.id) {
      const mine = channels.find((c) => c.interpreters.includes(me.id));
      if (mine) pub.language = mine.language;
    }
    if (this._listening && !languages.includes(this._listening)) {
      // A room that no longer has that language (a new room after a server restart): the floor.
      this._listening = null;
      this._listenSentOn = null;
    }
    // After a resume or a rejoin (a new connection), the server hears the choice again: it may
    // have missed a change made while the connection was down.
    if (this.interpretation) this._sendListen();
    this.emit('interpretation_changed', { interpretation: this.interpretation, listening: this._listening });
  }

  // ---------------------------------------------------------------- chat

  /**
   * Send a chat message to everyone (echoed back to us as a `chat` event).
   * @param {string} text
   * @returns {boolean} false if not sent
   */
  sendChat(text) {
    const t = text.trim();
    if (t.length === 0 || t.length > 4000) {
      this.emit('error', new HotlineError('invalid_chat', describeErrorCode('invalid_chat')));
      return false;
    }
    if (!this.e2ee.enabled) return !!this.signal?.send({ type: 'chat', text: t });
    // Encrypted with our media key; the server relays ciphertext only.
    /** @param {string} code */
    const refuse = (code) => {
      this.emit('error', new HotlineError(code, describeErrorCode(code)));
      return false;
    };
    if (!this.e2ee.supported) return refuse('e2ee_unsupported');
    if (t.length > MAX_ENCRYPTED_CHAT_CHARS) return refuse('chat_too_long');
    if (!this.signal?.isOpen) return false;
    if (this.e2ee.sendKeyId < 0) return refuse('e2ee_not_ready');
    this._chatOut = this._chatOut.then(async () => {
      const sealed = await this.e2ee.encryptChat(t);
      if (!sealed) refuse('e2ee_not_ready');
      else if (!this.signal?.send({ type: 'chat', text: sealed })) console.warn('hotline: a chat message could not be sent');
    }).catch((e) => console.warn('hotline: encrypting a chat message failed', e));
    return true;
  }

  /**
   * A chat message from the server: as it is in a plain call; decrypted (in order) in an encrypted
   * one, where anything that cannot be decrypted (plaintext included: the server could have made
   * it) shows as UNDECRYPTABLE_CHAT_TEXT.
   * @param {import('./signal.js').ChatInMsg} msg
   */
  _onChat(msg) {
    const base = { from: msg.from, name: msg.name, sentAt: msg.sent_at_ms, local: msg.from === this.localParticipant.id };
    if (!this.e2ee.enabled) {
      this.emit('chat', { ...base, text: msg.text });
      return;
    }
    const text = typeof msg.text === 'string' ? msg.text : '';
    this._chatIn = this._chatIn.then(async () => {
      const plain = isEncryptedText(text) ? await this.e2ee.decryptChat(msg.from, text) : null;
      this.emit('chat', { ...base, text: plain ?? UNDECRYPTABLE_CHAT_TEXT, encrypted: true, undecryptable: plain === null });
    }).catch((e) => console.warn('hotline: decrypting a chat message failed', e));
  }

  // ---------------------------------------------------------------- leaving / reconnecting

  /** Leave the call. Local tracks are not stopped (the app owns them). */
  leave() {
    if (this._leaving) return;
    this._leaving = true;
    this.signal?.leave();
    this.signal = null;
    this.e2ee.close();
    // Still joining, or waiting in the lobby: leave that too (`connect` then rejects).
    this._opening?.leave();
    this._opening = null;
    this.waiting = null;
    this._wakeBackoff?.();
    this._setState('disconnected');
    this._teardown();
    this.emit('disconnected', { code: 1000, reason: 'left', message: describeCloseCode(1000) });
  }

  _teardown() {
    // No new media key for those leaving with us.
    this.e2ee.reset();
    this._closePeerConnections();
    this.localParticipant.publications = [];
    this._unsentMutes.clear();
    for (const id of [...this.participants.keys()]) this._removeParticipant(id, 'disconnected');
    this._subsByMid.clear();
    this._activeSubTracks.clear();
    // Out of the call: nobody speaks, and our own quality is no longer known.
    this._setActiveSpeakers([]);
    this._qualityById.clear();
    this._videoSizes.clear();
    this._sentVideoSizes.clear();
    this._pendingLayers.clear();
    // The server tells a host the lobby again after joining or resuming.
    this.lobby = null;
    // And everyone the interpretation (the choice of channel is kept, and sent again).
    if (this.interpretation) {
      this.interpretation = null;
      this.emit('interpretation_changed', { interpretation: null, listening: this._listening });
    }
    const lp = this.localParticipant;
    if (lp.quality !== undefined) {
      lp.quality = undefined;
      this.emit('connection_quality', [{ participant: lp, quality: undefined }]);
    }
  }

  /**
   * @param {SignalClient} signal
   * @param {CloseInfo} info
   */
  async _onSignalClose(signal, info) {
    if (signal !== this.signal || this._leaving) return;
    this.signal = null;
    if (info.fatal || !this.autoReconnect) {
      signal.close();
      this.#resumeToken = '';
      this._setState('disconnected');
      this._teardown();
      this.emit('disconnected', { code: info.code, reason: info.reason, message: info.message });
      return;
    }
    try {
      await this._reconnect(info);
    } finally {
      // A socket given up on for silence is closed only now: a close frame reaching the server
      // before the resume would end the session. The server ignores it from a replaced connection.
      signal.close();
    }
  }

  /**
   * After the signaling connection was lost: resume the session (same participant, peer
   * connections and tracks) or, when the server no longer has it (4015, restart 4010, the room
   * ended on a server fault 4016), join again
   * with the token and publish the same tracks. Attempts at once, then after RECONNECT_DELAYS_MS.
   * @param {CloseInfo} info
   */
  async _reconnect(info) {
    this._setState('reconnecting');
    this.emit('reconnecting', { code: info.code, reason: info.reason, message: info.message });
    /** @type {{track: MediaStreamTrack, source: TrackSource, stream: MediaStream, muted: boolean, language: string | null}[]} */
    let republish = [];
    let resume = !!this.#resumeToken && !!this.publisherPc && info.code !== 4010 && info.code !== 4015 && info.code !== 4016;
    const giveUpResume = () => {
      resume = false;
      this.#resumeToken = '';
      republish = this.localParticipant.publications.map((p) => ({ track: p.track, source: p.source, stream: p.stream, muted: p.muted, language: p.language }));
      this._teardown();
    };
    if (!resume) giveUpResume();
    const lostAt = Date.now();
    /** @type {unknown} */
    let lastErr = null;
    for (let attempt = 0; !this._leaving; attempt++) {
      if (attempt > 0) {
        if (Date.now() - lostAt > RECONNECT_GIVE_UP_MS) break;
        await this._backoff(RECONNECT_DELAYS_MS[Math.min(attempt - 1, RECONNECT_DELAYS_MS.length - 1)]);
        if (this._leaving) return;
      }
      try {
        if (resume) {
          await this._resumeSession();
          this._iceSuspectUntil = Date.now() + ICE_SUSPECT_AFTER_RESUME_MS;
          this._setState('connected');
          this.emit('reconnected', { resumed: true });
          void this._restartStalePaths();
          return;
        }
        await this._open();
        this._setState('connected');
        this.emit('reconnected', { resumed: false });
        const live = republish.filter((r) => r.track.readyState === 'live');
        await Promise.all(
          live.map((r) => this.publishTrack(r.track, { source: r.source, stream: r.stream, muted: r.muted, language: r.language }).catch((e) => this.emit('error', e))),
        );
        return;
      } catch (err) {
        lastErr = err;
        const code = err instanceof HotlineError ? err.closeCode : undefined;
        if (this._leaving) return;
        // Said at once (the attempts go on, in case the room comes back encrypted).
        if (err instanceof HotlineError && err.code === 'e2ee_downgrade') this.emit('error', err);
        // Joined again into the lobby, and it failed there: reconnecting again.
        if (this.state === 'waiting') this._setState('reconnecting');
        if (resume && (code === 4015 || code === 4010)) {
          // The session is gone (timed out, server restarted) or going: join as a new participant.
          giveUpResume();
          if (code === 4015) attempt = -1; // at once
          continue;
        }
        if (code != null && FATAL_CLOSE_CODES.has(code)) break;
      }
    }
    if (this._leaving) return;
    if (resume) giveUpResume();
    this._setState('disconnected');
    const message = lastErr instanceof HotlineError ? lastErr.message : info.message;
    const code = lastErr instanceof HotlineError && lastErr.closeCode ? lastErr.closeCode : info.code;
    this.emit('disconnected', { code, reason: 'reconnect_failed', message });
  }

  /**
   * Wait `ms`, or less if the browser comes back online or the room is left.
   * @param {number} ms
   * @returns {Promise<void>}
   */
  _backoff(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        globalThis.removeEventListener?.('online', done);
        if (this._wakeBackoff === done) this._wakeBackoff = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      globalThis.addEventListener?.('online', done);
      this._wakeBackoff = done;
    });
  }
}
