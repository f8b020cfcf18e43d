// What the media worker (worker.js) does, as a class the unit tests can drive without a worker:
// encrypt every frame this browser sends, decrypt every frame it receives (frame.js), and the
// chat texts too (text.js: they share each key's IV counter with its frames). Keys come from the
// page (session.js): our send key, and each sender's receive keys. A frame without a key is
// dropped, never passed on in the clear. No DOM here.

import { IvSequence, clearBytes, encryptFrame, decryptFrame, keyIdOf } from './frame.js';
import { encryptText, decryptText } from './text.js';

/**
 * @typedef {{role: 'send' | 'receive', kind: 'audio' | 'video', participantId?: string, mid?: string}} TransformOptions
 *   A receiver names its sender by `participantId`, or by its `mid`, whose sender the page tells
 *   (`receivers` messages, from the track map of each subscriber offer): a receiver may carry
 *   another participant's track after a renegotiation.
 * @typedef {{
 *   encrypted: number, decrypted: number, undecryptable: number, empty: number, unsent: number, sendKeyId: number,
 *   receivedKeyIds: Record<string, number>, decryptedFrom: Record<string, number>, undecryptableFrom: Record<string, number>,
 * }} CrypterCounts
 *   `receivedKeyIds`: per sender, the key id of the last frame decrypted; `decryptedFrom`,
 *   `undecryptableFrom`: frames per sender (participant id; '' for a receiver with no known sender)
 */

/** A receiver asks its sender for a keyframe at most this often while frames could not be decrypted. */
const KEYFRAME_REQUEST_MS = 1000;

export class FrameCrypter {
  /** @param {(message: any) => void} reply  posts an answer to the page */
  constructor(reply) {
    this.reply = reply;
    /** Our current send key. @type {{keyId: number, key: CryptoKey, ivs: IvSequence} | null} */
    this.sendKey = null;
    /** Receive keys by sender participant id, then key id. @type {Map<string, Map<number, CryptoKey>>} */
    this.receiveKeys = new Map();
    /** The sender of each receiver, by mid. @type {Map<string, string>} */
    this.owners = new Map();
    /** @type {CrypterCounts} */
    this.counts = { encrypted: 0, decrypted: 0, undecryptable: 0, empty: 0, unsent: 0, sendKeyId: -1, receivedKeyIds: {}, decryptedFrom: {}, undecryptableFrom: {} };
  }

  /** A message from the page. @param {any} m */
  async handle(m) {
    switch (m?.type) {
      case 'send-key':
        this.sendKey = { keyId: m.keyId, key: m.key, ivs: new IvSequence() };
        this.counts.sendKeyId = m.keyId;
        break;
      case 'receive-key': {
        let keys = this.receiveKeys.get(m.participantId);
        if (!keys) this.receiveKeys.set(m.participantId, (keys = new Map()));
        keys.set(m.keyId, m.key);
        break;
      }
      case 'forget-key':
        this.receiveKeys.get(m.participantId)?.delete(m.keyId);
        break;
      case 'forget-participant':
        this.receiveKeys.delete(m.participantId);
        break;
      case 'receivers':
        this.owners = new Map(Object.entries(m.owners ?? {}));
        break;
      case 'streams':
        this.pipe(m.readable, m.writable, m.options, null);
        break;
      case 'counts':
        this.reply({ type: 'counts', id: m.id, counts: structuredClone(this.counts) });
        break;
      case 'encrypt-text': {
        const key = this.sendKey;
        const data = key ? await encryptText(key.key, key.keyId, key.ivs, m.text) : null;
        this.reply({ type: 'text', id: m.id, text: data });
        break;
      }
      case 'decrypt-text': {
        const keys = this.receiveKeys.get(m.from);
        const text = await decryptText((id) => keys?.get(id), m.text);
        this.reply({ type: 'text', id: m.id, text });
        break;
      }
    }
  }

  /**
   * Run the frames of one sender or receiver through encryption or decryption.
   * @param {ReadableStream} readable
   * @param {WritableStream} writable
   * @param {TransformOptions} options
   * @param {any} transformer  the RTCRtpScriptTransformer (to ask for keyframes), null for encoded streams
   */
  pipe(readable, writable, options, transformer) {
    const state = { failing: false, lastRequest: 0 };
    const transform =
      options.role === 'send'
        ? (/** @type {any} */ frame, /** @type {TransformStreamDefaultController} */ out) => this.send(frame, out, options)
        : (/** @type {any} */ frame, /** @type {TransformStreamDefaultController} */ out) => this.receive(frame, out, options, transformer, state);
    readable
      .pipeThrough(new TransformStream({ transform }))
      .pipeTo(writable)
      .catch(() => {
        // The sender or receiver went away.
      });
  }

  /** @param {any} frame RTCEncodedVideoFrame | RTCEncodedAudioFrame @param {TransformStreamDefaultController} out @param {TransformOptions} options */
  async send(frame, out, options) {
    const key = this.sendKey;
    if (!key) {
      this.counts.unsent += 1;
      return;
    }
    const data = new Uint8Array(frame.data);
    const sealed = await encryptFrame(key.key, key.keyId, key.ivs.next(), data, clearBytes(options.kind, data));
    frame.data = sealed.buffer;
    this.counts.encrypted += 1;
    out.enqueue(frame);
  }

  /**
   * @param {any} frame @param {TransformStreamDefaultController} out @param {TransformOptions} options
   * @param {any} transformer @param {{failing: boolean, lastRequest: number}} state
   */
  async receive(frame, out, options, transformer, state) {
    const data = new Uint8Array(frame.data);
    // An empty frame (the sender's RTP padding, which the encoder never made and the sender's
    // transform never saw) holds nothing to decrypt or to play.
    if (data.length === 0) {
      this.counts.empty += 1;
      return;
    }
    const from = options.participantId ?? this.owners.get(options.mid ?? '') ?? '';
    const keys = this.receiveKeys.get(from);
    const keyId = keyIdOf(data);
    const plain = await decryptFrame((id) => keys?.get(id), data, clearBytes(options.kind, data));
    const c = this.counts;
    if (!plain) {
      c.undecryptable += 1;
      c.undecryptableFrom[from] = (c.undecryptableFrom[from] ?? 0) + 1;
      state.failing = true;
      return;
    }
    if (keyId !== null) c.receivedKeyIds[from] = keyId;
    c.decrypted += 1;
    c.decryptedFrom[from] = (c.decryptedFrom[from] ?? 0) + 1;
    frame.data = plain.buffer;
    // Frames were dropped before this one (no key yet): the decoder needs a keyframe to go on.
    if (state.failing && options.kind === 'video' && frame.type === 'delta' && typeof transformer?.sendKeyFrameRequest === 'function') {
      const now = Date.now();
      if (now - state.lastRequest >= KEYFRAME_REQUEST_MS) {
        state.lastRequest = now;
        transformer.sendKeyFrameRequest().catch(() => {});
      }
    } else if (frame.type !== 'delta') {
      state.failing = false;
    }
    out.enqueue(frame);
  }
}
