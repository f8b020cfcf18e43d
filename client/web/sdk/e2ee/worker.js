// The media worker of an end-to-end encrypted call: every encoded frame this browser sends is
// encrypted here, every frame it receives decrypted here (frame.js), off the main thread.
// Frames come through RTCRtpScriptTransform (`rtctransform` events), or, where only
// createEncodedStreams exists, as streams the page posts (`streams` messages). Keys come from the
// page (e2ee.js): our send key, and each sender's receive keys. A frame without a key is dropped,
// never passed on in the clear.

import { IvSequence, clearBytes, encryptFrame, decryptFrame, keyIdOf } from './frame.js';

/** @typedef {{role: 'send' | 'receive', kind: 'audio' | 'video', participantId?: string}} TransformOptions */

/** Our current send key. @type {{keyId: number, key: CryptoKey, ivs: IvSequence} | null} */
let sendKey = null;
/** Receive keys by sender participant id, then key id. @type {Map<string, Map<number, CryptoKey>>} */
const receiveKeys = new Map();
/** Counts the page reads for its status and tests. */
const counts = { encrypted: 0, decrypted: 0, undecryptable: 0, unsent: 0, sendKeyId: -1, receivedKeyIds: /** @type {Record<string, number>} */ ({}) };

/** @param {MessageEvent} event */
self.onmessage = async (event) => {
  const m = event.data;
  switch (m?.type) {
    case 'send-key':
      sendKey = { keyId: m.keyId, key: m.key, ivs: new IvSequence() };
      counts.sendKeyId = m.keyId;
      break;
    case 'receive-key': {
      let keys = receiveKeys.get(m.participantId);
      if (!keys) receiveKeys.set(m.participantId, (keys = new Map()));
      keys.set(m.keyId, m.key);
      break;
    }
    case 'forget-key':
      receiveKeys.get(m.participantId)?.delete(m.keyId);
      break;
    case 'forget-participant':
      receiveKeys.delete(m.participantId);
      break;
    case 'streams':
      pipe(m.readable, m.writable, m.options);
      break;
    case 'counts':
      self.postMessage({ type: 'counts', id: m.id, counts });
      break;
  }
};

/** @type {any} */ (self).onrtctransform = (/** @type {any} RTCTransformEvent */ event) => {
  const t = event.transformer;
  pipe(t.readable, t.writable, t.options);
};

/**
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {TransformOptions} options
 */
function pipe(readable, writable, options) {
  const transform = options.role === 'send' ? (/** @type {any} */ frame, /** @type {TransformStreamDefaultController} */ out) => send(frame, out, options) : (/** @type {any} */ frame, /** @type {TransformStreamDefaultController} */ out) => receive(frame, out, options);
  readable
    .pipeThrough(new TransformStream({ transform }))
    .pipeTo(writable)
    .catch(() => {
      // The sender or receiver went away.
    });
}

/** @param {any} frame RTCEncodedVideoFrame | RTCEncodedAudioFrame @param {TransformStreamDefaultController} out @param {TransformOptions} options */
async function send(frame, out, options) {
  const key = sendKey;
  if (!key) {
    counts.unsent += 1;
    return;
  }
  const data = new Uint8Array(frame.data);
  const sealed = await encryptFrame(key.key, key.keyId, key.ivs.next(), data, clearBytes(options.kind, data));
  frame.data = sealed.buffer;
  counts.encrypted += 1;
  out.enqueue(frame);
}

/** @param {any} frame @param {TransformStreamDefaultController} out @param {TransformOptions} options */
async function receive(frame, out, options) {
  const data = new Uint8Array(frame.data);
  const from = options.participantId ?? '';
  const keys = receiveKeys.get(from);
  const keyId = keyIdOf(data);
  const plain = await decryptFrame((id) => keys?.get(id), data, clearBytes(options.kind, data));
  if (!plain) {
    counts.undecryptable += 1;
    return;
  }
  if (keyId !== null) counts.receivedKeyIds[from] = keyId;
  counts.decrypted += 1;
  frame.data = plain.buffer;
  out.enqueue(frame);
}
