// WebSocket signaling client for the Hotline protocol (version 1).
// See docs/protocol.md. No DOM, no UI.

import { Emitter } from './events.js';

export const PROTOCOL_VERSION = 1;

/** How often a `ping` is sent (docs/protocol.md: every second). */
export const HEARTBEAT_INTERVAL_MS = 1000;
/**
 * If nothing at all arrives from the server for this long, the socket is considered dead.
 * The server answers every ping, so a healthy connection hears from it every second.
 */
export const SERVER_SILENCE_TIMEOUT_MS = 4000;
/** How often the silence is checked. */
const SILENCE_CHECK_MS = 250;

/**
 * @typedef {'camera' | 'microphone' | 'screen' | 'screen_audio' | 'interpretation'} TrackSource
 *   `interpretation`: an interpreter's voice on one language's channel (heard only by the listeners of
 *   that channel, never on the floor)
 * @typedef {'audio' | 'video'} TrackKind
 * @typedef {{publish: boolean, subscribe: boolean, publish_data: boolean, inspect?: boolean, host?: boolean, organize?: boolean, interpret?: [string, string]}} Grants
 *   `host`: may mute or remove others and lock the room; `interpret`: an interpreter's language pair
 *   (e.g. `["ru", "en"]`): publishes interpretation audio only, on the channel of either language
 * @typedef {{track_id: string, kind: TrackKind, source: TrackSource, muted: boolean, language?: string}} TrackInfo
 *   `language`: an interpretation track's channel now (it changes when its interpreter moves channel)
 * @typedef {{participant_id: string, identity: string, name: string, connection: 'connected' | 'reconnecting', tracks: TrackInfo[], identity_key?: string}} ParticipantInfo
 *   `identity_key`: in an end-to-end encrypted call, the identity key it announced (`e2ee_identity`)
 * @typedef {{mid: string, kind: TrackKind, source: TrackSource, muted: boolean, layers?: string[], language?: string}} PublishedTrack
 *   `layers`: the rids of a simulcast video track's encodings, lowest quality first; omitted for one encoding.
 *   `language`: an interpretation track's channel (only interpreters publish one, and nothing else)
 * @typedef {{mid: string, track_id: string, participant_id: string, kind: TrackKind, source: TrackSource}} SubscribedTrack
 */

/**
 * Messages the client sends.
 * @typedef {{type: 'join', protocol_version: number, token: string, room: string}} JoinMsg
 * @typedef {{type: 'resume', protocol_version: number, room: string, participant_id: string, resume_token: string}} ResumeMsg
 * @typedef {{type: 'publish_offer', sdp: string, tracks: PublishedTrack[], e2ee?: boolean}} PublishOfferMsg
 *   `e2ee`: every frame of these tracks is end-to-end encrypted (required in an encrypted call)
 * @typedef {{type: 'subscriber_answer', sdp: string}} SubscriberAnswerMsg
 * @typedef {{type: 'update_track', mid: string, muted: boolean}} UpdateTrackMsg
 * @typedef {{type: 'chat', text: string}} ChatOutMsg
 * @typedef {{type: 'ping'}} PingMsg
 * @typedef {{type: 'leave'}} LeaveMsg
 * @typedef {{type: 'restart_ice'}} RestartIceMsg
 * @typedef {{type: 'video_size', track_id: string, width: number, height: number}} VideoSizeMsg
 *   the size (device pixels) at which a received video track is shown; 0x0 when not visible
 * @typedef {{type: 'mute_participant', participant_id: string, track_id: string}} MuteParticipantMsg
 *   host only: mute another participant's track (its owner may unmute it again)
 * @typedef {{type: 'remove_participant', participant_id: string}} RemoveParticipantMsg
 *   host only: close the participant's connection (4017); it may not rejoin while the room exists
 * @typedef {{type: 'lock_room', locked: boolean}} LockRoomMsg
 *   host only: while locked, nobody new may join (4018)
 * @typedef {{type: 'admit_participant', participant_id: string}} AdmitParticipantMsg
 *   host only: let someone waiting in the lobby in (`error` `unknown_participant` if nobody with that id waits, `room_full` if the room is full)
 * @typedef {{type: 'refuse_participant', participant_id: string}} RefuseParticipantMsg
 *   host only: turn someone waiting in the lobby away (their socket is closed with 4019)
 * @typedef {{type: 'set_lobby', enabled: boolean}} SetLobbyMsg
 *   host only: with the lobby on, whoever joins without the host grant waits until a host admits them; turning it off admits everyone waiting
 * @typedef {{type: 'listen', language: string | null}} ListenMsg
 *   which interpretation channel to hear besides the floor (null: the floor alone); applied at the next packet
 * @typedef {{type: 'take_channel', language: string}} TakeChannelMsg
 *   interpreter only: go live on this channel (a language of the pair) with the published interpretation
 *   track, moving the track there if it was on the other; whoever was live there goes on standby
 * @typedef {{type: 'release_channel'}} ReleaseChannelMsg
 *   interpreter only: stop being live (the channel falls silent)
 * @typedef {{type: 'e2ee_identity', key: string}} E2eeIdentityMsg
 *   encrypted calls: this participant's identity public key (base64url), shown to everyone
 * @typedef {{type: 'e2ee_keys', to: string, data: string}} E2eeKeysOutMsg
 *   encrypted calls: an opaque message for one participant (our media key, sealed for it)
 * @typedef {JoinMsg | ResumeMsg | PublishOfferMsg | SubscriberAnswerMsg | UpdateTrackMsg | ChatOutMsg | PingMsg | LeaveMsg | RestartIceMsg | VideoSizeMsg | MuteParticipantMsg | RemoveParticipantMsg | LockRoomMsg | AdmitParticipantMsg | RefuseParticipantMsg | SetLobbyMsg | ListenMsg | TakeChannelMsg | ReleaseChannelMsg | E2eeIdentityMsg | E2eeKeysOutMsg} ClientMessage
 */

/**
 * Messages the server sends.
 * @typedef {{type: 'welcome', protocol_version: number, participant_id: string, room: string, identity: string, name: string, grants: Grants, participants: ParticipantInfo[], disconnect_timeout_ms: number, resume_token: string, locked?: boolean, e2ee?: boolean}} WelcomeMsg
 *   `locked`: a host locked the room (absent: false); `e2ee`: the call is end-to-end encrypted
 * @typedef {{type: 'resumed', participant_id: string, participants: ParticipantInfo[], locked?: boolean}} ResumedMsg
 * @typedef {{type: 'waiting', participant_id: string, room: string, name: string, hosts_present: boolean}} WaitingMsg
 *   instead of `welcome`: the room has its lobby on, and this client waits there until a host admits
 *   it (`welcome` follows, same participant id) or refuses it (close 4019); sent again when
 *   `hosts_present` (a host is in the call to let it in) changes. Only `ping` and `leave` may be sent meanwhile.
 * @typedef {{participant_id: string, identity: string, name: string, since_ms: number}} WaitingParticipantInfo
 *   someone waiting in the lobby (`since_ms`: Unix ms when they started waiting)
 * @typedef {{type: 'lobby', enabled: boolean, waiting: WaitingParticipantInfo[]}} LobbyMsg
 *   to hosts: whether the lobby is on and who waits in it, longest waiting first; after
 *   `welcome` and `resumed`, and on every change
 * @typedef {{type: 'shutting_down', deadline_ms: number}} ShuttingDownMsg
 * @typedef {{type: 'publish_answer', sdp: string}} PublishAnswerMsg
 * @typedef {{type: 'subscriber_offer', sdp: string, tracks: SubscribedTrack[]}} SubscriberOfferMsg
 * @typedef {{type: 'participant_joined', participant: ParticipantInfo}} ParticipantJoinedMsg
 * @typedef {{type: 'participant_updated', participant: ParticipantInfo}} ParticipantUpdatedMsg
 * @typedef {{type: 'participant_left', participant_id: string, reason: 'left' | 'disconnected' | 'timed_out' | 'replaced' | 'server_shutdown' | string}} ParticipantLeftMsg
 * @typedef {{type: 'chat', from: string, name: string, text: string, sent_at_ms: number}} ChatInMsg
 * @typedef {{type: 'error', code: string, message: string}} ErrorMsg
 * @typedef {{type: 'pong'}} PongMsg
 * @typedef {{urls: string[], username: string, credential: string}} IceServerInfo
 * @typedef {{type: 'ice_servers', ice_servers: IceServerInfo[]}} IceServersMsg
 * @typedef {{type: 'active_speakers', participant_ids: string[]}} ActiveSpeakersMsg
 *   who is speaking, loudest first (the first is the active speaker); `[]` when nobody is
 * @typedef {'excellent' | 'good' | 'poor'} ConnectionQuality
 * @typedef {{participant_id: string, quality: ConnectionQuality}} ParticipantQuality
 * @typedef {{type: 'connection_quality', participants: ParticipantQuality[]}} ConnectionQualityMsg
 *   the participants whose connection quality changed (this client's own included)
 * @typedef {'best' | 'bandwidth' | 'size' | 'hidden'} LayerReason
 *   why the server forwards the layer it does: the best one sent, no room in the download estimate,
 *   the video is shown small, or not shown at all
 * @typedef {{type: 'publish_layers', mid: string, active: string[]}} PublishLayersMsg
 *   which simulcast encodings of one of this client's published tracks anyone receives: send only these
 * @typedef {{type: 'video_layer', track_id: string, paused: boolean, rid?: string, width?: number, height?: number, reason: LayerReason, base_frame_rate?: boolean, estimate_kbps?: number}} VideoLayerMsg
 *   which layer of a received video track the server forwards to this client; sent when it changes
 * @typedef {{type: 'muted_by_host', track_id: string, by: string, mid?: string}} MutedByHostMsg
 *   a host muted one of this client's tracks (`by`: the host's participant id): mute it locally too
 * @typedef {{type: 'room_locked', locked: boolean, by: string}} RoomLockedMsg
 *   a host (`by`) locked or unlocked the room
 * @typedef {{language: string, live: string | null, interpreters: string[]}} ChannelInfo
 *   one language's interpretation channel: the participant id of its live interpreter (null: silent) and
 *   every interpreter whose interpretation track is on it (the booth: live or on standby)
 * @typedef {{type: 'interpretation', languages: string[], channels: ChannelInfo[]}} InterpretationMsg
 *   the room's interpretation; after `welcome` and `resumed` in a room with languages, and on every change
 * @typedef {{type: 'e2ee_keys', from: string, data: string}} E2eeKeysInMsg
 *   encrypted calls: an opaque message from another participant (its media key, sealed for us)
 * @typedef {WelcomeMsg | ResumedMsg | WaitingMsg | LobbyMsg | IceServersMsg | PublishAnswerMsg | SubscriberOfferMsg | ParticipantJoinedMsg | ParticipantUpdatedMsg | ParticipantLeftMsg | ChatInMsg | ErrorMsg | PongMsg | ShuttingDownMsg | ActiveSpeakersMsg | ConnectionQualityMsg | PublishLayersMsg | VideoLayerMsg | MutedByHostMsg | RoomLockedMsg | InterpretationMsg | E2eeKeysInMsg} ServerMessage
 */

/** Close codes -> sentences a user understands. */
export const CLOSE_CODE_MESSAGES = /** @type {Record<number, string>} */ ({
  1000: 'You left the call.',
  1009: 'The connection was closed because a message was too large.',
  4000: 'This app is out of date for this server. Reload the page and try again.',
  4001: 'This invitation link is not valid.',
  4002: 'This invitation has expired. Ask the organizer for a new link.',
  4003: 'This invitation is not valid yet. Try again a little later.',
  4004: 'This invitation is for a different room.',
  4005: 'This room does not exist.',
  4006: 'You joined this call from another window.',
  4007: 'You were disconnected because the connection was lost for too long.',
  4008: 'Joining took too long. Check your connection and try again.',
  4009: 'The app sent an unexpected message. Reload the page and try again.',
  4010: 'The server is restarting. Try again in a moment.',
  4011: 'This call is full.',
  4012: 'The audio and video connection failed. Your network or a firewall may be blocking it.',
  4013: 'The server is hosting too many calls right now. Try again later.',
  4014: 'The app sent too many messages and was disconnected. Reload the page to join again.',
  4015: 'Your previous connection to the call had already ended.',
  4016: 'The call was restarted after a server error. Joining again…',
  4017: 'A host removed you from this call.',
  4018: 'This call is locked. A host must unlock it before you can join.',
  4019: 'A host did not let you into this call.',
});

/** Error codes (from `error` messages) -> sentences a user understands. */
export const ERROR_CODE_MESSAGES = /** @type {Record<string, string>} */ ({
  publish_not_allowed: 'You can watch this call, but you are not allowed to send audio or video.',
  data_not_allowed: 'You are not allowed to send chat messages in this call.',
  invalid_chat: 'A chat message must be between 1 and 4000 characters.',
  invalid_sdp: 'Your browser and the server could not agree on how to send media.',
  malformed_message: 'The server did not understand a message from this app.',
  unexpected_message: 'The server received a message it did not expect.',
  unknown_track: 'The server does not know this track.',
  host_only: 'Only a host can do that.',
  unknown_participant: 'That person is no longer in the call.',
  room_full: 'The call is full: nobody more can be let in.',
  unknown_language: 'This call has no interpretation into that language.',
  not_an_interpreter: 'Only an interpreter sending interpretation can go on air.',
  encryption_required: 'This call is end-to-end encrypted: audio and video must be encrypted before they are sent.',
  invalid_e2ee: 'The server did not accept an encryption message from this app.',
  e2ee_unsupported: 'Your browser cannot take part in an end-to-end encrypted call.',
  chat_too_long: 'In an end-to-end encrypted call, a chat message can have at most 900 characters.',
  e2ee_not_ready: 'The encryption of this call is still being set up. Try again in a moment.',
  e2ee_downgrade: 'The call was end-to-end encrypted, and the server offered to go on without encryption: this app did not join it again.',
});

/**
 * A human-readable sentence for a WebSocket close code.
 * @param {number} code
 * @returns {string}
 */
export function describeCloseCode(code) {
  return CLOSE_CODE_MESSAGES[code] ?? 'The connection to the server was lost.';
}

/**
 * A human-readable sentence for an `error` message code.
 * @param {string} code
 * @param {string} [fallback]
 * @returns {string}
 */
export function describeErrorCode(code, fallback) {
  return ERROR_CODE_MESSAGES[code] ?? fallback ?? 'Something went wrong.';
}

/**
 * Close codes meaning the participant was removed or refused: the room never rejoins by itself
 * after them. Every other close (a lost connection, 4007, 4010 restart, 4012, 4015, ...) is
 * followed by a resume or a fresh join.
 */
export const FATAL_CLOSE_CODES = new Set([1000, 4000, 4001, 4002, 4003, 4004, 4005, 4006, 4009, 4011, 4013, 4014, 4017, 4018, 4019]);

/** An error with a machine-readable code and a human-readable message. */
export class HotlineError extends Error {
  /**
   * @param {string} code   e.g. "invalid_token", "publish_not_allowed", "close_4001"
   * @param {string} message human-readable sentence
   * @param {{closeCode?: number, serverMessage?: string}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'HotlineError';
    this.code = code;
    this.closeCode = extra.closeCode;
    this.serverMessage = extra.serverMessage;
  }
}

/**
 * @typedef {{code: number, reason: string, message: string, fatal: boolean}} CloseInfo
 * @typedef {{
 *   message: ServerMessage,
 *   close: CloseInfo,
 *   waiting: WaitingMsg,
 * }} SignalEvents
 *   `waiting`: while `connect` is pending, the server put this client in the room's lobby (again
 *   when `hosts_present` changes); `connect` still resolves with the `welcome` once a host admits it
 */

/**
 * A signaling connection: one WebSocket, opened with `join` (or `resume`), typed messages,
 * a ping every second, and a `close` event when the socket closes or the server goes silent.
 * @extends {Emitter<SignalEvents>}
 */
export class SignalClient extends Emitter {
  /** @type {WebSocket | null} */
  #ws = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  #heartbeat = null;
  #lastReceived = 0;
  #lastPing = 0;
  #closed = false;
  /** Ends the pending `connect`/`resume` with an error (set only while one is pending). @type {((err: HotlineError) => void) | null} */
  #failOpen = null;

  /**
   * @param {string} url  ws:// or wss:// URL of the `/ws` endpoint
   */
  constructor(url) {
    super();
    this.url = url;
    /** The server's relays with this session's credentials (latest `ice_servers`); sent before `welcome`. @type {IceServerInfo[]} */
    this.iceServers = [];
  }

  /** @returns {boolean} */
  get isOpen() {
    return !!this.#ws && this.#ws.readyState === WebSocket.OPEN && !this.#closed;
  }

  /**
   * Open the socket, send `join`, and resolve with the `welcome`.
   * Rejects with a HotlineError if the server closes the socket instead (4019: a host refused
   * this client from the lobby).
   * If the room has its lobby on, the server answers with `waiting` first: the `waiting` event is
   * emitted, the timeout stops (waiting may last long), pings start, and the promise resolves when
   * a host lets this client in (`welcome`). `leave()` meanwhile leaves the lobby.
   * @param {{token: string, room: string}} join
   * @param {number} [timeoutMs]  for the server's first answer (`waiting` or `welcome`)
   * @returns {Promise<WelcomeMsg>}
   */
  connect(join, timeoutMs = 15000) {
    return /** @type {Promise<WelcomeMsg>} */ (
      this.#open({ type: 'join', protocol_version: PROTOCOL_VERSION, token: join.token, room: join.room }, 'welcome', timeoutMs)
    );
  }

  /**
   * Open the socket, send `resume`, and resolve with the `resumed`. Rejects with a HotlineError
   * whose `closeCode` is 4015 when the session cannot be resumed (then join again).
   * @param {{room: string, participantId: string, resumeToken: string}} resume
   * @param {number} [timeoutMs]
   * @returns {Promise<ResumedMsg>}
   */
  resume(resume, timeoutMs = 8000) {
    return /** @type {Promise<ResumedMsg>} */ (
      this.#open(
        { type: 'resume', protocol_version: PROTOCOL_VERSION, room: resume.room, participant_id: resume.participantId, resume_token: resume.resumeToken },
        'resumed',
        timeoutMs,
      )
    );
  }

  /**
   * @param {JoinMsg | ResumeMsg} first  the opening message (never logged: it holds a secret)
   * @param {'welcome' | 'resumed'} expect
   * @param {number} timeoutMs
   * @returns {Promise<WelcomeMsg | ResumedMsg>}
   */
  #open(first, expect, timeoutMs) {
    return new Promise((resolve, reject) => {
      let settled = false;
      /** In the lobby: a `waiting` came (only for `join`). */
      let waited = false;
      /** @param {HotlineError} err */
      const fail = (err) => {
        if (settled) return;
        settled = true;
        this.#failOpen = null;
        clearTimeout(timer);
        this.#stopHeartbeat();
        this.#closed = true;
        try { ws.close(); } catch { /* ignore */ }
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new HotlineError('timeout', 'Could not reach the server. Check your connection and try again.'));
      }, timeoutMs);

      /** @type {WebSocket} */
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        clearTimeout(timer);
        reject(new HotlineError('connect_failed', 'Could not reach the server.'));
        return;
      }
      this.#ws = ws;
      this.#failOpen = fail;

      ws.onopen = () => {
        this.#lastReceived = Date.now();
        this.#rawSend(first);
      };
      ws.onmessage = (ev) => {
        if (this.#closed && settled) return; // given up on (e.g. silent), or closed by us
        this.#lastReceived = Date.now();
        if (typeof ev.data !== 'string') return;
        /** @type {ServerMessage} */
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          console.warn('hotline: ignoring a non-JSON message from the server');
          return;
        }
        if (!msg || typeof msg.type !== 'string') return;
        if (msg.type === 'ice_servers' && Array.isArray(msg.ice_servers)) this.iceServers = msg.ice_servers;
        if (!settled) {
          if (msg.type === 'waiting' && expect === 'welcome') {
            // In the lobby until a host lets us in: no timeout, but pings as usual (the server
            // answers them, so a dead socket is still noticed).
            clearTimeout(timer);
            if (!waited) this.#startHeartbeat();
            waited = true;
            this.emit('waiting', msg);
          } else if (msg.type === expect) {
            settled = true;
            this.#failOpen = null;
            clearTimeout(timer);
            this.#startHeartbeat();
            // Listeners for later messages are attached when this promise resolves, before the
            // next socket event (a resolved promise's continuations run as microtasks).
            resolve(msg);
          } else if (msg.type === 'error') {
            // An error before welcome: keep waiting for the close frame that usually follows.
            console.warn('hotline: error before', expect, msg.code);
          }
          return;
        }
        this.emit('message', msg);
      };
      ws.onclose = (ev) => {
        const code = ev.code || 1006;
        const info = {
          code,
          reason: ev.reason || '',
          message: describeCloseCode(code),
          fatal: FATAL_CLOSE_CODES.has(code),
        };
        if (!settled) {
          const lost = waited ? 'The connection to the server was lost while you were waiting to be let in.' : 'We could not connect to the server. Check your connection and try again.';
          const message = code === 1006 ? lost : info.message;
          fail(new HotlineError(`close_${code}`, message, { closeCode: code, serverMessage: ev.reason }));
          return;
        }
        this.#stopHeartbeat();
        const wasClosedByUs = this.#closed;
        this.#closed = true;
        if (!wasClosedByUs) this.emit('close', info);
      };
      ws.onerror = () => {
        // onclose follows with the details.
      };
    });
  }

  /**
   * Send a typed message. Returns false if the socket is not open.
   * @param {ClientMessage} msg
   * @returns {boolean}
   */
  send(msg) {
    if (!this.isOpen) return false;
    return this.#rawSend(msg);
  }

  /** @param {ClientMessage} msg */
  #rawSend(msg) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  #startHeartbeat() {
    this.#stopHeartbeat();
    this.#lastPing = 0;
    const tick = () => {
      if (!this.#ws || this.#closed) return;
      const now = Date.now();
      if (now - this.#lastReceived > SERVER_SILENCE_TIMEOUT_MS && this.#failOpen) {
        // Silent while waiting in the lobby: the pending `connect` fails as a lost connection.
        this.#failOpen(new HotlineError('close_1006', 'The connection to the server was lost while you were waiting to be let in.', { closeCode: 1006 }));
        return;
      }
      if (now - this.#lastReceived > SERVER_SILENCE_TIMEOUT_MS) {
        // The server has been silent for too long (not even a pong): treat the socket as dead.
        // No close frame is sent: the server would take it as a clean leave and remove the
        // participant, while the network may only be stalled. The socket is closed later with
        // `close()`, once a new connection has taken the session back.
        this.#stopHeartbeat();
        this.#closed = true;
        this.emit('close', { code: 1006, reason: 'server silent', message: describeCloseCode(1006), fatal: false });
        return;
      }
      if (now - this.#lastPing >= HEARTBEAT_INTERVAL_MS - SILENCE_CHECK_MS / 2) {
        this.#lastPing = now;
        this.#rawSend({ type: 'ping' });
      }
    };
    tick();
    this.#heartbeat = setInterval(tick, SILENCE_CHECK_MS);
  }

  #stopHeartbeat() {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  /**
   * Leave: send `leave` and close the socket. No `close` event is emitted. While `connect` is
   * still pending (waiting in the lobby), this leaves the lobby and `connect` rejects (close 1000).
   */
  leave() {
    if (this.#closed) return;
    this.#rawSend({ type: 'leave' });
    this.close();
  }

  /**
   * Close the socket without sending `leave`. No `close` event is emitted. Also for a socket
   * already given up on (server silent): it is closed for good here.
   */
  close() {
    this.#closed = true;
    this.#stopHeartbeat();
    const ws = this.#ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      try { ws.close(1000, 'left'); } catch { /* ignore */ }
    }
  }
}
