// End-to-end encrypted frames (docs/security.md, "Frame format"):
//
//   | clear bytes | AES-GCM ciphertext of the rest, with its tag | IV (12) | key id (1) | 0xE2 0xEE |
//
// The clear bytes are what the server reads to forward without keys (the VP8 frame tag, and a
// keyframe's picture size); they are the additional data of the encryption, so changing them
// breaks the frame. Used by the media worker (worker.js) and for chat (text.js); no DOM here.

/** Marks an encrypted frame; the server checks it. */
export const MAGIC = Object.freeze([0xe2, 0xee]);
export const IV_BYTES = 12;
/** IV, key id, magic. */
export const TRAILER_BYTES = IV_BYTES + 1 + MAGIC.length;
const TAG_BYTES = 16;

/**
 * How many leading bytes of an encoded frame stay in the clear.
 * VP8: the 3-byte frame tag, and for a keyframe (P bit 0) the 7 bytes after it too (start code
 * and picture size: the server learns layer sizes from them). Audio (Opus): the TOC byte.
 * @param {'audio' | 'video'} kind
 * @param {Uint8Array} data  the encoded frame
 */
export function clearBytes(kind, data) {
  const n = kind === 'video' ? ((data[0] ?? 1) & 0x01) === 0 ? 10 : 3 : 1;
  return Math.min(n, data.length);
}

/**
 * Whether `data` ends with an encryption trailer after at least a tag's worth of ciphertext.
 * @param {Uint8Array} data
 */
export function hasTrailer(data) {
  const n = data.length;
  return n >= TRAILER_BYTES + TAG_BYTES && data[n - 2] === MAGIC[0] && data[n - 1] === MAGIC[1];
}

/**
 * IVs for one key: 4 random bytes fixed when the key is made, then a 64-bit counter, so that no
 * IV repeats under one key however many frames are sent.
 */
export class IvSequence {
  /** @param {Uint8Array<ArrayBuffer>} [salt]  4 bytes (random when absent) */
  constructor(salt) {
    this.salt = salt ?? crypto.getRandomValues(new Uint8Array(4));
    this.counter = 0n;
  }

  /** @returns {Uint8Array<ArrayBuffer>} 12 bytes, never the same twice */
  next() {
    const iv = new Uint8Array(IV_BYTES);
    iv.set(this.salt, 0);
    new DataView(iv.buffer).setBigUint64(4, this.counter);
    this.counter += 1n;
    return iv;
  }
}

/**
 * Encrypts one encoded frame.
 * @param {CryptoKey} key  AES-GCM
 * @param {number} keyId  0-255
 * @param {Uint8Array<ArrayBuffer>} iv  12 bytes from the key's IvSequence
 * @param {Uint8Array<ArrayBuffer>} data  the encoded frame
 * @param {number} clear  leading bytes left in the clear (see clearBytes)
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function encryptFrame(key, keyId, iv, data, clear) {
  const head = data.subarray(0, clear);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: head }, key, data.subarray(clear)),
  );
  const out = new Uint8Array(clear + sealed.length + TRAILER_BYTES);
  out.set(head, 0);
  out.set(sealed, clear);
  let at = clear + sealed.length;
  out.set(iv, at);
  at += IV_BYTES;
  out[at] = keyId & 0xff;
  out[at + 1] = MAGIC[0];
  out[at + 2] = MAGIC[1];
  return out;
}

/**
 * The key id an encrypted frame names, or null when it has no trailer.
 * @param {Uint8Array} data
 */
export function keyIdOf(data) {
  return hasTrailer(data) ? data[data.length - 3] : null;
}

/**
 * Decrypts one frame. Null when it is not encrypted, names a key not given, or fails
 * authentication (tampered, or a wrong key): such a frame must not reach the decoder.
 * @param {(keyId: number) => CryptoKey | undefined} keyFor
 * @param {Uint8Array<ArrayBuffer>} data
 * @param {number} clear  as the sender left them (see clearBytes; the clear bytes are not encrypted, so the receiver reads them as the sender did)
 * @returns {Promise<Uint8Array<ArrayBuffer> | null>}
 */
export async function decryptFrame(keyFor, data, clear) {
  const keyId = keyIdOf(data);
  if (keyId === null || clear + TRAILER_BYTES + TAG_BYTES > data.length) return null;
  const key = keyFor(keyId);
  if (!key) return null;
  const end = data.length - TRAILER_BYTES;
  const iv = data.subarray(end, end + IV_BYTES);
  const head = data.subarray(0, clear);
  try {
    const plain = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: head }, key, data.subarray(clear, end)),
    );
    const out = new Uint8Array(clear + plain.length);
    out.set(head, 0);
    out.set(plain, clear);
    return out;
  } catch {
    return null;
  }
}
