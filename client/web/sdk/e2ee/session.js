// End-to-end encryption of one call (docs/security.md), owned by the Room when the server's
// `welcome` says `e2ee`:
// - this browser profile's identity (keys.js), announced with `e2ee_identity`;
// - a pairwise key with each participant that announced one (cached by their identity key), and
//   a loud warning when a participant's identity key changes;
// - our media key: a new one (key id + 1) whenever someone comes or goes, sealed for each
//   participant present alone (`e2ee_keys`), used once they had time to get it;
// - the others' media keys, opened and handed to the media worker by sender and key id;
// - the frame transforms of every sender and receiver, and chat encrypted with the media key;
// - the safety code over every identity key in the call, and which identities this browser
//   verified (kept in IndexedDB).
// No DOM. The server sees public keys and sealed blobs, never a media key or a plaintext frame.

import { loadOrCreateIdentity, newIdentity, loadVerified, saveVerified, pairwiseKey, newMediaKey, importMediaKey, sealMediaKey, openMediaKey, safetyCode, fingerprint } from './keys.js';
import { MAX_ENCRYPTED_CHAT_CHARS } from './text.js';

export { MAX_ENCRYPTED_CHAT_CHARS };

/** After sending a new media key, frames go on with the old one this long, so that receivers have the new one first. */
export const KEY_SWITCH_GRACE_MS = 400;
/** A sender's previous key is kept this long after a newer one arrives, for frames in flight. */
export const OLD_KEY_KEEP_MS = 10000;

/**
 * @typedef {import('./keys.js').Identity} Identity
 * @typedef {'script' | 'streams'} TransformMode
 *   `script`: RTCRtpScriptTransform; `streams`: createEncodedStreams (needs `encodedInsertableStreams`
 *   in the peer connections' configuration)
 * @typedef {'off' | 'unsupported' | 'setting_up' | 'encrypted' | 'verified' | 'warning'} E2eeStatus
 *   `off`: not an encrypted call; `unsupported`: an encrypted call this browser cannot take part in;
 *   `setting_up`: no media key yet; `encrypted`; `verified`: everyone's identity key is one this
 *   browser verified; `warning`: someone's identity key changed during the call (until verified again)
 * @typedef {object} E2eeParticipant  what encryption knows of one other participant
 * @property {string} id
 * @property {string} identity      the token's identity
 * @property {string} name
 * @property {string | null} identityKey  as announced (null: none yet: it cannot receive our key)
 * @property {string | null} fingerprint  of the identity key (keys.js `fingerprint`)
 * @property {boolean} verified     this browser verified this identity with this key
 * @property {boolean} keyChanged   the identity key changed during the call (until verified again)
 * @property {boolean} keyReceived  we have its media key
 * @typedef {{
 *   send: (msg: any) => boolean,
 *   onChange?: (keyChanged: E2eeParticipant[]) => void,
 *   mode?: TransformMode | null,
 *   createWorker?: () => WorkerLike,
 *   loadIdentity?: () => Promise<Identity>,
 *   loadVerified?: () => Promise<Record<string, string>>,
 *   saveVerified?: (entries: Record<string, string>) => Promise<Record<string, string>>,
 *   graceMs?: number,
 *   keepMs?: number,
 * }} E2eeSessionOptions
 *   `send`: a signaling message (false when not sent); `onChange`: the state changed (`keyChanged`:
 *   participants whose identity key just changed); `mode` (default: what the browser has,
 *   `transformSupport()`); the rest replace the browser's worker and IndexedDB in unit tests
 * @typedef {Pick<Worker, 'postMessage' | 'addEventListener' | 'terminate'>} WorkerLike  a Worker (or, in unit tests, what acts as one)
 * @typedef {E2eeParticipant & {_pairwise: Promise<CryptoKey | null> | null, _keyIds: number[], _connection: string}} Peer
 */

/**
 * How this browser can transform encoded frames, or null when it cannot (then it cannot take part
 * in an encrypted call). For tests only: `window.__hotlineDisableE2ee = true` (set before the page
 * loads) makes a browser that cannot, `window.__hotlineE2eeMode = 'streams'` one that has only
 * createEncodedStreams.
 * @param {any} [g]
 * @returns {TransformMode | null}
 */
export function transformSupport(g = globalThis) {
  if (g.__hotlineDisableE2ee === true || typeof g.Worker !== 'function') return null;
  const script = typeof g.RTCRtpScriptTransform === 'function';
  const streams = typeof g.RTCRtpSender?.prototype?.createEncodedStreams === 'function' && typeof g.RTCRtpReceiver?.prototype?.createEncodedStreams === 'function';
  if (script && g.__hotlineE2eeMode !== 'streams') return 'script';
  return streams ? 'streams' : null;
}

export class E2eeSession {
  /** @param {E2eeSessionOptions} opts */
  constructor(opts) {
    this.opts = opts;
    /** The call is end-to-end encrypted (from `welcome`). */
    this.enabled = false;
    /** This browser can take part (encoded transforms); false in a plain call. */
    this.supported = false;
    /** @type {TransformMode | null} */
    this.mode = null;
    /** @type {E2eeStatus} */
    this.status = 'off';
    /** The safety code over every identity key in the call, ours included ('' until known). */
    this.safetyCode = '';
    /** The key id our frames are encrypted with now (-1: none yet). */
    this.sendKeyId = -1;
    /** Our identity key as announced ('' until loaded). */
    this.identityKey = '';
    /** Every other participant, by participant id. @type {Map<string, Peer>} */
    this.participants = new Map();
    this._selfId = '';
    /** @type {Promise<Identity | null>} */
    this._identity = Promise.resolve(null);
    /** @type {WorkerLike | null} */
    this._worker = null;
    /** Bumped on every start and reset: work of an earlier one stops. */
    this._generation = 0;
    /** Rotations, one at a time. @type {Promise<void>} */
    this._rotations = Promise.resolve();
    this._rotationQueued = false;
    /** Incoming key messages, in order. @type {Promise<void>} */
    this._incoming = Promise.resolve();
    /** Our current media key and whom it was given to. @type {{keyId: number, raw: Uint8Array<ArrayBuffer>, key: CryptoKey, recipients: Set<string>} | null} */
    this._current = null;
    this._lastKeyId = -1;
    /** Fingerprints this browser verified, by identity. @type {Record<string, string>} */
    this._verified = {};
    /** Identity keys seen in this call, by identity: one that comes back with another key changed it. @type {Map<string, string>} */
    this._seenKeys = new Map();
    this._codeSeq = 0;
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this._timers = new Set();
    /** Answers awaited from the worker, by request id. @type {Map<number, (m: any) => void>} */
    this._requests = new Map();
    this._nextRequest = 1;
    /** Senders and receivers already given a transform. @type {WeakSet<object>} */
    this._attached = new WeakSet();
    this._graceMs = opts.graceMs ?? KEY_SWITCH_GRACE_MS;
    this._keepMs = opts.keepMs ?? OLD_KEY_KEEP_MS;
  }

  /**
   * The call is end-to-end encrypted: find out whether this browser can take part, and if so
   * start the worker and load the identity. Before the peer connections are made (`streams` mode
   * needs their configuration). Once per room.
   */
  enable() {
    if (this.enabled) return;
    this.enabled = true;
    this.mode = this.opts.mode !== undefined ? this.opts.mode : transformSupport();
    this.supported = this.mode !== null;
    if (this.supported) {
      const worker = this.opts.createWorker ? this.opts.createWorker() : new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
      worker.addEventListener('message', (/** @type {MessageEvent} */ e) => {
        const m = e.data;
        const done = typeof m?.id === 'number' ? this._requests.get(m.id) : undefined;
        if (done) {
          this._requests.delete(m.id);
          done(m);
        }
      });
      this._worker = worker;
      const load = this.opts.loadIdentity ?? (() => loadOrCreateIdentity());
      this._identity = load().catch((e) => {
        // No IndexedDB (e.g. a private window that refuses it): an identity for this page only.
        console.warn('hotline: could not keep an identity key in this browser; using one for this page only', e);
        return newIdentity();
      });
      void this._identity.then((id) => {
        this.identityKey = id?.publicRaw ?? '';
        this._refreshCode();
      });
      const verified = this.opts.loadVerified ?? (() => loadVerified());
      void verified()
        .then((v) => {
          this._verified = v;
          for (const p of this.participants.values()) p.verified = !!p.fingerprint && v[p.identity] === p.fingerprint;
          this._changed();
        })
        .catch((e) => console.warn('hotline: could not read the verified identities', e));
    }
    this._changed();
  }

  /** Whether peer connections must be made with `encodedInsertableStreams`. */
  get needsInsertableStreams() {
    return this.enabled && this.mode === 'streams';
  }

  /**
   * Joined (again) as `selfId`: announce our identity key and make a media key for those present.
   * The participants of the `welcome` follow with `participantSeen`.
   * @param {string} selfId
   */
  start(selfId) {
    this.reset();
    this._selfId = selfId;
    if (!this.enabled || !this.supported) return;
    const gen = this._generation;
    void this._identity.then((id) => {
      if (id && gen === this._generation) this.opts.send({ type: 'e2ee_identity', key: id.publicRaw });
    });
    this._scheduleRotation();
  }

  /** Out of the call (before a rejoin, or for good): forget the participants and the pending work. */
  reset() {
    this._generation += 1;
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
    for (const id of this.participants.keys()) this._post({ type: 'forget-participant', participantId: id });
    if (this._selfId) this._post({ type: 'forget-participant', participantId: this._selfId });
    this.participants.clear();
    // A rotation waiting on a cleared timer never ends: the next one must not queue behind it.
    this._rotations = Promise.resolve();
    this._rotationQueued = false;
    // Our key was given to us under our old participant id: the next one is made at once.
    this._current = null;
    this._refreshCode();
    this._changed();
  }

  /** Leaving for good: stop the worker (joining again starts over with `enable`). */
  close() {
    this._worker?.terminate();
    this._worker = null;
    for (const done of this._requests.values()) done({ counts: null, text: null });
    this._requests.clear();
    this.enabled = false;
    this.supported = false;
    this.mode = null;
    this.sendKeyId = -1;
    this.reset();
  }

  /**
   * A participant is in the call (joined, updated, or in a `welcome` or `resumed` list). A new
   * identity key (first announced, or changed) makes a new media key.
   * @param {{id: string, identity: string, name: string, identityKey?: string | null, connection?: string}} info
   */
  participantSeen(info) {
    if (!this.enabled || !this.supported) return;
    let p = this.participants.get(info.id);
    let changed = false;
    if (!p) {
      p = { id: info.id, identity: info.identity, name: info.name, identityKey: null, fingerprint: null, verified: false, keyChanged: false, keyReceived: false, _pairwise: null, _keyIds: [], _connection: info.connection ?? 'connected' };
      this.participants.set(info.id, p);
      changed = true;
    }
    if (p.name !== info.name || p.identity !== info.identity) {
      p.name = info.name;
      p.identity = info.identity;
      changed = true;
    }
    /** @type {E2eeParticipant[]} */
    const keyChanged = [];
    const key = info.identityKey ?? null;
    if (key && key !== p.identityKey) {
      const before = this._seenKeys.get(p.identity);
      // Another key than before, for this participant or for its identity (back after leaving):
      // whoever holds the new one may be someone else (a server in the middle).
      if (p.identityKey !== null || (before !== undefined && before !== key)) {
        p.keyChanged = true;
        keyChanged.push(p);
      }
      this._seenKeys.set(p.identity, key);
      p.identityKey = key;
      p.fingerprint = null;
      p.verified = false;
      const peer = p;
      const self = this._identity;
      peer._pairwise = self
        .then((id) => (id ? pairwiseKey(id, key) : null))
        .catch((e) => {
          console.warn('hotline: an identity key that is not one', e);
          return null;
        });
      void fingerprint(key).then((fp) => {
        if (peer.identityKey !== key) return;
        peer.fingerprint = fp;
        peer.verified = this._verified[peer.identity] === fp;
        this._changed();
      });
      this._refreshCode();
      this._scheduleRotation();
      changed = true;
    }
    const connection = info.connection ?? 'connected';
    if (p._connection !== connection) {
      // Back from a lost connection: it may have missed our key meanwhile.
      if (p._connection === 'reconnecting' && connection === 'connected') void this._resend([p.id]);
      p._connection = connection;
    }
    if (changed) this._changed(keyChanged);
  }

  /**
   * A participant left (or was removed, or timed out): a new media key for those who stay.
   * @param {string} id
   */
  participantLeft(id) {
    const p = this.participants.get(id);
    if (!p) return;
    this.participants.delete(id);
    this._post({ type: 'forget-participant', participantId: id });
    if (p.identityKey) {
      this._scheduleRotation();
      this._refreshCode();
    }
    this._changed();
  }

  /**
   * Our signaling connection was lost and the session taken back: the others may have missed our
   * key meanwhile. Those who were given the current key get it again.
   */
  resumed() {
    if (!this.enabled || !this.supported) return;
    const gen = this._generation;
    void this._identity.then((id) => {
      if (id && gen === this._generation) this.opts.send({ type: 'e2ee_identity', key: id.publicRaw });
    });
    void this._resend([...this.participants.keys()]);
  }

  /**
   * An `e2ee_keys` message: a participant's media key, sealed for us. Opened with its pairwise key
   * and handed to the worker for (sender, key id); older keys of that sender are forgotten later.
   * @param {string} from
   * @param {string} data
   */
  receiveKeys(from, data) {
    if (!this.enabled || !this.supported || typeof from !== 'string' || typeof data !== 'string') return;
    const gen = this._generation;
    this._incoming = this._incoming
      .then(async () => {
        const p = this.participants.get(from);
        const pairwise = p?._pairwise ? await p._pairwise : null;
        if (!p || !pairwise) {
          console.warn('hotline: a key message from a participant without an identity key');
          return;
        }
        const opened = await openMediaKey(pairwise, data, { from, to: this._selfId });
        if (gen !== this._generation) return;
        if (!opened) {
          console.warn('hotline: a key message that could not be opened, from', from);
          return;
        }
        const key = await importMediaKey(opened.raw);
        if (gen !== this._generation || this.participants.get(from) !== p) return;
        this._post({ type: 'receive-key', participantId: from, keyId: opened.keyId, key });
        const older = p._keyIds.filter((k) => k !== opened.keyId);
        p._keyIds = [opened.keyId];
        if (older.length) {
          this._later(this._keepMs, () => {
            for (const k of older) if (!p._keyIds.includes(k)) this._post({ type: 'forget-key', participantId: from, keyId: k });
          });
        }
        if (!p.keyReceived) {
          p.keyReceived = true;
          this._changed();
        }
      })
      .catch((e) => console.warn('hotline: a key message failed', e));
  }

  /**
   * The chat text to send in place of `text`: encrypted with our current media key. Null when
   * there is no key yet (or this browser cannot encrypt).
   * @param {string} text  at most MAX_ENCRYPTED_CHAT_CHARS characters
   * @returns {Promise<string | null>}
   */
  async encryptChat(text) {
    if (!this._worker || !this._current) return null;
    const m = await this._request({ type: 'encrypt-text', text });
    return typeof m.text === 'string' ? m.text : null;
  }

  /**
   * A received chat text, decrypted with its sender's key; null when it cannot be.
   * @param {string} from  the sender's participant id
   * @param {string} text
   * @returns {Promise<string | null>}
   */
  async decryptChat(from, text) {
    if (!this._worker) return null;
    // A key message that came before it is handed to the worker first.
    await this._incoming;
    const m = await this._request({ type: 'decrypt-text', from, text });
    return typeof m.text === 'string' ? m.text : null;
  }

  /**
   * What the worker counted: frames encrypted, decrypted, undecryptable, and the key id of the
   * last frame decrypted from each sender. Null outside an encrypted call this browser takes part in.
   * @returns {Promise<import('./crypter.js').CrypterCounts | null>}
   */
  async counts() {
    if (!this._worker) return null;
    return (await this._request({ type: 'counts' })).counts ?? null;
  }

  /**
   * The safety code was read aloud and matched: remember every participant's identity key as
   * verified (by identity, in IndexedDB), which also ends the warning of a changed key.
   * @returns {Promise<void>}
   */
  async markVerified() {
    /** @type {Record<string, string>} */
    const entries = {};
    for (const p of this.participants.values()) {
      if (!p.identityKey) continue;
      p.fingerprint ??= await fingerprint(p.identityKey);
      entries[p.identity] = p.fingerprint;
    }
    const save = this.opts.saveVerified ?? ((e) => saveVerified(e));
    try {
      this._verified = await save(entries);
    } catch (e) {
      console.warn('hotline: could not keep the verified identities', e);
      this._verified = { ...this._verified, ...entries };
    }
    for (const p of this.participants.values()) {
      p.verified = !!p.fingerprint && this._verified[p.identity] === p.fingerprint;
      if (p.verified) p.keyChanged = false;
    }
    this._changed();
  }

  // ---------------------------------------------------------------- transforms

  /**
   * Encrypt what a sender sends (every encoding of a simulcast sender: they share one transform).
   * @param {RTCRtpSender} sender
   * @param {'audio' | 'video'} kind
   */
  attachSender(sender, kind) {
    this._attach(sender, { role: 'send', kind });
  }

  /**
   * Decrypt what a receiver receives: its sender is the participant the track map gives its `mid`.
   * Called from `ontrack` (createEncodedStreams must be called there).
   * @param {RTCRtpReceiver} receiver
   * @param {'audio' | 'video'} kind
   * @param {string} mid
   */
  attachReceiver(receiver, kind, mid) {
    this._attach(receiver, { role: 'receive', kind, mid });
  }

  /**
   * The track map of a subscriber offer, before it is applied: whose frames each receiver carries.
   * @param {Iterable<{mid: string, participant_id: string}>} tracks
   */
  setReceivers(tracks) {
    /** @type {Record<string, string>} */
    const owners = {};
    for (const t of tracks) owners[t.mid] = t.participant_id;
    this._post({ type: 'receivers', owners });
  }

  /**
   * @param {RTCRtpSender | RTCRtpReceiver} endpoint
   * @param {import('./crypter.js').TransformOptions} options
   */
  _attach(endpoint, options) {
    const worker = this._worker;
    if (!worker || this._attached.has(endpoint)) return;
    this._attached.add(endpoint);
    const any = /** @type {any} */ (endpoint);
    if (this.mode === 'script') {
      any.transform = new (/** @type {any} */ (globalThis).RTCRtpScriptTransform)(worker, options);
    } else {
      const { readable, writable } = any.createEncodedStreams();
      worker.postMessage({ type: 'streams', readable, writable, options }, [readable, writable]);
    }
  }

  // ---------------------------------------------------------------- inside

  /** A new media key for those present, once the current rotation (if any) is done. */
  _scheduleRotation() {
    if (this._rotationQueued || !this._selfId) return;
    this._rotationQueued = true;
    const gen = this._generation;
    this._rotations = this._rotations
      .then(async () => {
        if (gen !== this._generation) return;
        this._rotationQueued = false;
        await this._rotate(gen);
      })
      .catch((e) => console.warn('hotline: making a new media key failed', e));
  }

  /**
   * Make a new media key (key id + 1), seal it for each participant with an identity key, send it,
   * then (after a grace, so that they have it) encrypt with it.
   * @param {number} gen
   */
  async _rotate(gen) {
    const identity = await this._identity;
    if (!identity || gen !== this._generation) return;
    const present = [...this.participants.values()].filter((p) => p._pairwise);
    const pairs = await Promise.all(present.map(async (p) => /** @type {const} */ ([p, await p._pairwise])));
    const keyId = (this._lastKeyId + 1) & 0xff;
    const made = await newMediaKey();
    /** @type {Set<string>} */
    const recipients = new Set();
    for (const [p, pairwise] of pairs) {
      if (!pairwise || this.participants.get(p.id) !== p) continue;
      const data = await sealMediaKey(pairwise, made.raw, { from: this._selfId, to: p.id, keyId });
      if (gen !== this._generation) return;
      this.opts.send({ type: 'e2ee_keys', to: p.id, data });
      recipients.add(p.id);
    }
    this._lastKeyId = keyId;
    // Our own chat messages come back from the server: they are decrypted like anyone's.
    this._post({ type: 'receive-key', participantId: this._selfId, keyId, key: made.key });
    if (this._current && recipients.size) await this._wait(this._graceMs);
    if (gen !== this._generation) return;
    const previous = this._current;
    this._current = { keyId, raw: made.raw, key: made.key, recipients };
    this._post({ type: 'send-key', keyId, key: made.key });
    this.sendKeyId = keyId;
    if (previous) {
      const selfId = this._selfId;
      this._later(this._keepMs, () => this._post({ type: 'forget-key', participantId: selfId, keyId: previous.keyId }));
    }
    this._changed();
  }

  /**
   * Send our current key again to those of `ids` it was given to (they may have missed it).
   * @param {string[]} ids
   */
  async _resend(ids) {
    const current = this._current;
    const gen = this._generation;
    if (!current) return;
    for (const id of ids) {
      const p = this.participants.get(id);
      if (!p || !current.recipients.has(id)) continue;
      const pairwise = p._pairwise ? await p._pairwise : null;
      if (!pairwise || gen !== this._generation) continue;
      const data = await sealMediaKey(pairwise, current.raw, { from: this._selfId, to: id, keyId: current.keyId });
      this.opts.send({ type: 'e2ee_keys', to: id, data });
    }
  }

  /** Recompute the safety code from every identity key in the call. */
  _refreshCode() {
    const seq = ++this._codeSeq;
    const keys = [this.identityKey, ...[...this.participants.values()].map((p) => p.identityKey)].filter((k) => !!k);
    if (!this.identityKey) {
      this.safetyCode = '';
      return;
    }
    void safetyCode(/** @type {string[]} */ (keys)).then((code) => {
      if (seq !== this._codeSeq || code === this.safetyCode) return;
      this.safetyCode = code;
      this._changed();
    });
  }

  /** @returns {E2eeStatus} */
  _status() {
    if (!this.enabled) return 'off';
    if (!this.supported) return 'unsupported';
    const keyed = [...this.participants.values()].filter((p) => p.identityKey);
    if (keyed.some((p) => p.keyChanged)) return 'warning';
    if (!this._current || !this.identityKey) return 'setting_up';
    return keyed.length > 0 && keyed.every((p) => p.verified) ? 'verified' : 'encrypted';
  }

  /** @param {E2eeParticipant[]} [keyChanged] */
  _changed(keyChanged = []) {
    this.status = this._status();
    this.opts.onChange?.(keyChanged);
  }

  /** @param {any} m */
  _post(m) {
    this._worker?.postMessage(m);
  }

  /** @param {any} m @returns {Promise<any>} */
  _request(m) {
    const worker = this._worker;
    if (!worker) return Promise.resolve({});
    const id = this._nextRequest++;
    return new Promise((resolve) => {
      this._requests.set(id, resolve);
      worker.postMessage({ ...m, id });
    });
  }

  /** @param {number} ms @param {() => void} fn */
  _later(ms, fn) {
    const t = setTimeout(() => {
      this._timers.delete(t);
      fn();
    }, ms);
    this._timers.add(t);
  }

  /** @param {number} ms @returns {Promise<void>} */
  _wait(ms) {
    return new Promise((resolve) => this._later(ms, resolve));
  }
}
