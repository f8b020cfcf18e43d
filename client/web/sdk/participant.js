// Participants and their tracks. No DOM.

/**
 * @typedef {import('./signal.js').TrackInfo} TrackInfo
 * @typedef {import('./signal.js').TrackSource} TrackSource
 * @typedef {import('./signal.js').TrackKind} TrackKind
 * @typedef {import('./signal.js').ParticipantInfo} ParticipantInfo
 * @typedef {import('./signal.js').Grants} Grants
 * @typedef {import('./signal.js').ConnectionQuality} ConnectionQuality
 * @typedef {import('./signal.js').LayerReason} LayerReason
 */

/**
 * @typedef {object} VideoLayer
 *   Which layer of a received video track the server forwards to this client, and why.
 * @property {boolean} paused               no video forwarded at all
 * @property {string | undefined} rid       the simulcast layer forwarded (undefined when paused or single-encoding)
 * @property {number | undefined} width     that layer's size, from its last keyframe
 * @property {number | undefined} height
 * @property {LayerReason} reason           `best`, `bandwidth` (this client's download is short), `size` (shown small), `hidden`
 * @property {boolean} baseFrameRate  only the base temporal layer comes: a lower frame rate
 * @property {number | undefined} estimateKbps  the server's estimate of this client's download when it chose
 */

/**
 * A track of a remote participant that this client receives.
 */
export class RemoteTrack {
  /**
   * @param {{trackId: string, mid: string, kind: TrackKind, source: TrackSource, participantId: string, mediaStreamTrack: MediaStreamTrack, transceiver: RTCRtpTransceiver}} init
   */
  constructor(init) {
    this.trackId = init.trackId;
    this.mid = init.mid;
    this.kind = init.kind;
    this.source = init.source;
    this.participantId = init.participantId;
    this.mediaStreamTrack = init.mediaStreamTrack;
    this.transceiver = init.transceiver;
    /** A stream holding only this track, ready for `video.srcObject`. */
    this.mediaStream = new MediaStream([init.mediaStreamTrack]);
    /** Video: the layer the server forwards, as it last said (`video_layer`); null until it tells. @type {VideoLayer | null} */
    this.layer = null;
    /**
     * An interpretation track's channel, from its sender's TrackInfo (kept up to date: it changes when
     * the interpreter moves to the other language of its pair); null for any other track.
     * @type {string | null}
     */
    this.language = null;
  }
}

/** Someone else in the room. */
export class RemoteParticipant {
  /** @param {ParticipantInfo} info */
  constructor(info) {
    this.id = info.participant_id;
    this.identity = info.identity;
    this.name = info.name;
    /** @type {'connected' | 'reconnecting'} */
    this.connection = info.connection;
    /** Tracks the participant publishes, as announced by the server. @type {TrackInfo[]} */
    this.tracks = info.tracks ?? [];
    /** Tracks this client receives, by track id. @type {Map<string, RemoteTrack>} */
    this.subscribedTracks = new Map();
    /** In the server's latest list of active speakers (`room.activeSpeakers`). */
    this.speaking = false;
    /** Connection quality as judged by the server; undefined until it tells. @type {ConnectionQuality | undefined} */
    this.quality = undefined;
    /** End-to-end encrypted calls: the identity key it announced (null until it does). @type {string | null} */
    this.identityKey = typeof info.identity_key === 'string' ? info.identity_key : null;
  }

  /** @param {ParticipantInfo} info */
  update(info) {
    this.identity = info.identity;
    this.name = info.name;
    this.connection = info.connection;
    this.identityKey = typeof info.identity_key === 'string' ? info.identity_key : null;
    this.tracks = info.tracks ?? [];
    for (const t of this.subscribedTracks.values()) this.syncTrack(t);
  }

  /**
   * Give a received track what the participant's announcement says of it (its channel).
   * @param {RemoteTrack} track
   */
  syncTrack(track) {
    const info = this.tracks.find((t) => t.track_id === track.trackId);
    track.language = info?.source === 'interpretation' && typeof info.language === 'string' ? info.language : null;
  }

  /** An interpreter: publishes an interpretation track. */
  get isInterpreter() {
    return this.tracks.some((t) => t.source === 'interpretation');
  }

  /** The channel of the participant's interpretation track (null: none). @returns {string | null} */
  get interpretationLanguage() {
    const t = this.trackInfo('interpretation');
    return t && typeof t.language === 'string' ? t.language : null;
  }

  /**
   * The announced track of a source, if any.
   * @param {TrackSource} source
   * @returns {TrackInfo | undefined}
   */
  trackInfo(source) {
    return this.tracks.find((t) => t.source === source);
  }

  /**
   * The received track of a source, if subscribed.
   * @param {TrackSource} source
   * @returns {RemoteTrack | undefined}
   */
  subscribed(source) {
    for (const t of this.subscribedTracks.values()) if (t.source === source) return t;
    return undefined;
  }

  /** True if the microphone is muted or not published at all. */
  get isMicrophoneMuted() {
    const t = this.trackInfo('microphone');
    return !t || t.muted;
  }

  /** True if the camera is off (muted or not published). */
  get isCameraOff() {
    const t = this.trackInfo('camera');
    return !t || t.muted;
  }

  /** True if the participant shares their screen. */
  get isSharingScreen() {
    const t = this.trackInfo('screen');
    return !!t && !t.muted;
  }
}

/** A track this client publishes. */
export class LocalTrackPublication {
  /**
   * @param {{track: MediaStreamTrack, source: TrackSource, transceiver: RTCRtpTransceiver, stream: MediaStream, layers?: string[] | null, language?: string | null}} init
   */
  constructor(init) {
    /** The MediaStreamTrack currently sent (changes with replaceTrack). */
    this.track = init.track;
    this.source = init.source;
    /** An interpretation track's channel (follows `take_channel` moves as the server reports them); null otherwise. */
    this.language = init.source === 'interpretation' ? init.language ?? null : null;
    this.transceiver = init.transceiver;
    this.stream = init.stream;
    /** @type {TrackKind} */
    this.kind = /** @type {TrackKind} */ (init.track.kind);
    this.muted = false;
    /** Simulcast: the rids of the encodings sent, lowest quality first; null for a single encoding. @type {string[] | null} */
    this.layers = init.layers ?? null;
    /**
     * The encodings the server wants sent (dynacast): layers nobody receives are paused to spare
     * the uplink and the CPU. Null until the server says. @type {string[] | null}
     */
    this.activeLayers = null;
    /** Serializes getParameters/setParameters on the sender. @type {Promise<void>} */
    this._parametersQueue = Promise.resolve();
  }

  /** The m-line id, known once the offer has been created. @returns {string | null} */
  get mid() {
    return this.transceiver.mid;
  }
}

/** This client. */
export class LocalParticipant {
  constructor() {
    this.id = '';
    this.identity = '';
    this.name = '';
    /** @type {Grants} */
    this.grants = { publish: false, subscribe: false, publish_data: false };
    /** @type {LocalTrackPublication[]} */
    this.publications = [];
    /** In the server's latest list of active speakers (`room.activeSpeakers`). */
    this.speaking = false;
    /** This client's connection quality as judged by the server; undefined until it tells. @type {ConnectionQuality | undefined} */
    this.quality = undefined;
  }

  /**
   * @param {TrackSource} source
   * @returns {LocalTrackPublication | undefined}
   */
  publication(source) {
    return this.publications.find((p) => p.source === source);
  }

  /**
   * @param {MediaStreamTrack} track
   * @returns {LocalTrackPublication | undefined}
   */
  publicationOf(track) {
    return this.publications.find((p) => p.track === track);
  }
}
