// Chat in an end-to-end encrypted room: `e1.KEYID.IV.CIPHERTEXT` (base64url parts), encrypted
// with the sender's current media key (docs/security.md).

import { IvSequence } from './frame.js';
import { toBase64Url, fromBase64Url } from './keys.js';

const AAD = new TextEncoder().encode('hotline chat');

/** Longest chat text encrypted: its ciphertext, in base64url with the rest, stays under the server's 4000 characters. */
export const MAX_ENCRYPTED_CHAT_CHARS = 900;

/**
 * @param {CryptoKey} key
 * @param {number} keyId
 * @param {IvSequence} ivs  the key's IV sequence (shared with its frames: one counter per key)
 * @param {string} text
 */
export async function encryptText(key, keyId, ivs, text) {
  const iv = ivs.next();
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, new TextEncoder().encode(text)));
  return `e1.${keyId}.${toBase64Url(iv)}.${toBase64Url(sealed)}`;
}

/** Whether a chat text is in the encrypted form. @param {string} text */
export const isEncryptedText = (text) => text.startsWith('e1.');

/**
 * The plain text, or null when it is not encrypted, names a key not given, or fails.
 * @param {(keyId: number) => CryptoKey | undefined} keyFor  the sender's keys
 * @param {string} text
 * @returns {Promise<string | null>}
 */
export async function decryptText(keyFor, text) {
  const [tag, id, ivText, sealedText, extra] = text.split('.');
  if (tag !== 'e1' || extra !== undefined) return null;
  const key = keyFor(Number(id));
  const iv = fromBase64Url(ivText ?? '');
  const sealed = fromBase64Url(sealedText ?? '');
  if (!key || iv?.length !== 12 || !sealed) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, sealed));
  } catch {
    return null;
  }
}
