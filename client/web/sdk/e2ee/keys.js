// End-to-end encryption keys (docs/security.md, "Keys" and "Verification"):
// - an identity: an ECDH P-256 key pair, its private key non-extractable, kept per browser
//   profile in IndexedDB;
// - a pairwise key with each other participant: ECDH of the two identities, then HKDF-SHA-256;
// - media keys: random AES-GCM keys, one per sender and epoch, sent to each participant sealed
//   with the pairwise key;
// - the safety code: a digest of every identity key in the call, read aloud to check that
//   nobody sits in the middle.
// WebCrypto only; the server sees public keys and sealed blobs, never a key.

const ECDH = /** @type {EcKeyImportParams} */ ({ name: 'ECDH', namedCurve: 'P-256' });
const HKDF_SALT = new TextEncoder().encode('hotline e2ee v1');
const MEDIA_KEY_BYTES = 16;

/** @param {Uint8Array} bytes */
export function toBase64Url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * @param {string} text
 * @returns {Uint8Array<ArrayBuffer> | null} null when it is not base64url
 */
export function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * @typedef {{privateKey: CryptoKey, publicKey: CryptoKey, publicRaw: string}} Identity
 *   `publicRaw`: the public key as announced (base64url of its raw, uncompressed form)
 */

/** A new identity; its private key cannot be exported. @returns {Promise<Identity>} */
export async function newIdentity() {
  const pair = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey(ECDH, false, ['deriveBits']));
  return { ...pair, publicRaw: toBase64Url(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))) };
}

const DB_NAME = 'hotline-e2ee';
const STORE = 'identity';

/**
 * Runs `work` with this profile's e2ee database open (made on first use), then closes it: a page
 * holds no connection open, so the database can be deleted at any time.
 * @template T
 * @param {IDBFactory} idb
 * @param {(request: (mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest) => Promise<any>) => Promise<T>} work
 * @returns {Promise<T>}
 */
async function withStore(idb, work) {
  /** @type {IDBDatabase} */
  const db = await new Promise((resolve, reject) => {
    const open = idb.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    return await work(
      (mode, op) =>
        new Promise((resolve, reject) => {
          const r = op(db.transaction(STORE, mode).objectStore(STORE));
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        }),
    );
  } finally {
    db.close();
  }
}

/**
 * This browser profile's identity: the one kept in IndexedDB, or a new one (then kept). A reload
 * or a rejoin keeps it. CryptoKeys are stored as they are (structured clone), the private key
 * still non-extractable.
 * @param {IDBFactory} [idb]
 * @returns {Promise<Identity>}
 */
export function loadOrCreateIdentity(idb = indexedDB) {
  return withStore(idb, async (request) => {
    const kept = /** @type {Identity | undefined} */ (await request('readonly', (s) => s.get('self')));
    if (kept?.privateKey && kept.publicKey && kept.publicRaw) return kept;
    const made = await newIdentity();
    await request('readwrite', (s) => s.put(made, 'self'));
    return made;
  });
}

/**
 * The identities this browser profile verified (by reading the safety code aloud): the
 * fingerprint of the identity key each had then, by identity (the token's identity string).
 * @param {IDBFactory} [idb]
 * @returns {Promise<Record<string, string>>}
 */
export function loadVerified(idb = indexedDB) {
  return withStore(idb, async (request) => {
    const kept = await request('readonly', (s) => s.get('verified'));
    return kept && typeof kept === 'object' ? /** @type {Record<string, string>} */ ({ ...kept }) : {};
  });
}

/**
 * Remember identities as verified with the fingerprints of their keys (added to those kept).
 * @param {Record<string, string>} entries  fingerprint by identity
 * @param {IDBFactory} [idb]
 * @returns {Promise<Record<string, string>>} everything kept now
 */
export function saveVerified(entries, idb = indexedDB) {
  return withStore(idb, async (request) => {
    const kept = (await request('readonly', (s) => s.get('verified'))) ?? {};
    const all = { ...kept, ...entries };
    await request('readwrite', (s) => s.put(all, 'verified'));
    return all;
  });
}

/**
 * The key shared with one other participant: ECDH between our identity and theirs, then HKDF
 * with both public keys (sorted) as info. Only the two identity holders can compute it.
 * @param {Identity} self
 * @param {string} theirPublicRaw  as announced
 * @returns {Promise<CryptoKey>} AES-GCM, for sealing media keys
 */
export async function pairwiseKey(self, theirPublicRaw) {
  const theirs = fromBase64Url(theirPublicRaw);
  if (!theirs) throw new Error('not a public key');
  const publicKey = await crypto.subtle.importKey('raw', theirs, ECDH, false, []);
  const secret = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, self.privateKey, 256);
  const hkdf = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  const info = new TextEncoder().encode([self.publicRaw, theirPublicRaw].sort().join('.'));
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info },
    hkdf,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/**
 * A new media key: its raw bytes (to seal for others) and the key itself.
 * @returns {Promise<{raw: Uint8Array<ArrayBuffer>, key: CryptoKey}>}
 */
export async function newMediaKey() {
  const raw = crypto.getRandomValues(new Uint8Array(MEDIA_KEY_BYTES));
  return { raw, key: await importMediaKey(raw) };
}

/** @param {Uint8Array<ArrayBuffer>} raw */
export function importMediaKey(raw) {
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** What a sealed key is bound to: who sent it to whom, and its id. @param {{from: string, to: string, keyId: number}} m */
const bound = (m) => new TextEncoder().encode(`hotline media key|${m.from}|${m.to}|${m.keyId}`);

/**
 * Seals a media key for one participant (the data of an `e2ee_keys` message).
 * @param {CryptoKey} pairwise
 * @param {Uint8Array<ArrayBuffer>} raw
 * @param {{from: string, to: string, keyId: number}} meta  participant ids, key id
 * @returns {Promise<string>} `KEYID.IV.CIPHERTEXT`, base64url parts
 */
export async function sealMediaKey(pairwise, raw, meta) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: bound(meta) }, pairwise, raw));
  return `${meta.keyId}.${toBase64Url(iv)}.${toBase64Url(sealed)}`;
}

/**
 * Opens a sealed media key; null when it is malformed, not for us, or tampered with.
 * @param {CryptoKey} pairwise
 * @param {string} data
 * @param {{from: string, to: string}} meta
 * @returns {Promise<{keyId: number, raw: Uint8Array<ArrayBuffer>} | null>}
 */
export async function openMediaKey(pairwise, data, meta) {
  const [id, ivText, sealedText, extra] = data.split('.');
  const keyId = Number(id);
  const iv = fromBase64Url(ivText ?? '');
  const sealed = fromBase64Url(sealedText ?? '');
  if (extra !== undefined || !Number.isInteger(keyId) || keyId < 0 || keyId > 255 || iv?.length !== 12 || !sealed) return null;
  try {
    const raw = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: bound({ ...meta, keyId }) }, pairwise, sealed));
    return raw.length === MEDIA_KEY_BYTES ? { keyId, raw } : null;
  } catch {
    return null;
  }
}

/**
 * The call's safety code: SHA-256 over every identity key in the call (sorted, each with its
 * length), as five groups of five digits. The same on every honest client of the same call.
 * @param {string[]} publicRaws  every participant's announced identity key, ours included
 * @returns {Promise<string>} e.g. "04213 99120 55102 73001 18834"
 */
export async function safetyCode(publicRaws) {
  const parts = [...new Set(publicRaws)].sort().map((k) => new TextEncoder().encode(k));
  const total = parts.reduce((n, p) => n + 2 + p.length, 0);
  const input = new Uint8Array(new ArrayBuffer(total));
  let at = 0;
  for (const p of parts) {
    input[at] = p.length >> 8;
    input[at + 1] = p.length & 0xff;
    input.set(p, at + 2);
    at += 2 + p.length;
  }
  const digest = new DataView(await crypto.subtle.digest('SHA-256', input));
  const groups = [];
  for (let i = 0; i < 5; i++) groups.push(String(digest.getUint32(i * 4) % 100000).padStart(5, '0'));
  return groups.join(' ');
}

/**
 * A short fingerprint of one identity key, to show beside a participant (and to remember as
 * verified). @param {string} publicRaw
 */
export async function fingerprint(publicRaw) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(publicRaw)));
  return toBase64Url(digest.subarray(0, 12));
}
