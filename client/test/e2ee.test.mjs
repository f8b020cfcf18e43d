// Unit tests of end-to-end encryption's frame format and key schedule (client/web/sdk/e2ee),
// with Node's WebCrypto: the same code the browsers run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IvSequence, clearBytes, encryptFrame, decryptFrame, hasTrailer, keyIdOf, TRAILER_BYTES, MAGIC } from '../web/sdk/e2ee/frame.js';
import { newIdentity, pairwiseKey, newMediaKey, sealMediaKey, openMediaKey, safetyCode, toBase64Url, fromBase64Url } from '../web/sdk/e2ee/keys.js';
import { encryptText, decryptText, isEncryptedText } from '../web/sdk/e2ee/text.js';

/** A VP8 keyframe's start: frame tag with P=0, start code, 640x360. */
const vp8Key = () => Uint8Array.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, ...Array.from({ length: 200 }, (_, i) => i & 0xff)]);
/** A VP8 delta frame: P=1. */
const vp8Delta = () => Uint8Array.from([0x31, 0x10, 0x00, ...Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff)]);

describe('encrypted frames', () => {
  it('leave the bytes the server reads in the clear and end with the trailer', async () => {
    const { key } = await newMediaKey();
    const ivs = new IvSequence();
    for (const [kind, data, clear] of /** @type {const} */ ([['video', vp8Key(), 10], ['video', vp8Delta(), 3], ['audio', Uint8Array.from([0x78, 1, 2, 3, 4]), 1]])) {
      assert.equal(clearBytes(kind, data), clear);
      const sealed = await encryptFrame(key, 7, ivs.next(), data, clear);
      assert.deepEqual(sealed.subarray(0, clear), data.subarray(0, clear), 'clear bytes as they were');
      assert.notDeepEqual(sealed.subarray(clear, clear + 16), data.subarray(clear, clear + 16), 'the rest is not');
      assert.ok(hasTrailer(sealed));
      assert.deepEqual([...sealed.subarray(-2)], MAGIC);
      assert.equal(keyIdOf(sealed), 7);
      assert.equal(sealed.length, data.length + 16 + TRAILER_BYTES);
      // The receiver counts the clear bytes from the encrypted frame the same way.
      assert.equal(clearBytes(kind, sealed), clear);
      assert.deepEqual(await decryptFrame((id) => (id === 7 ? key : undefined), sealed, clear), data);
    }
  });

  it('never repeat an IV under one key, and keys start apart', () => {
    const a = new IvSequence();
    const b = new IvSequence();
    const seen = new Set();
    for (let i = 0; i < 10000; i++) seen.add(toBase64Url(a.next()));
    assert.equal(seen.size, 10000);
    assert.notDeepEqual(a.salt, b.salt, 'two keys draw their own salts');
    const first = a.next();
    assert.deepEqual(first.subarray(0, 4), a.salt);
  });

  it('detect tampering, a wrong key and a missing trailer', async () => {
    const { key } = await newMediaKey();
    const other = (await newMediaKey()).key;
    const data = vp8Key();
    const sealed = await encryptFrame(key, 1, new IvSequence().next(), data, 10);
    const open = (/** @type {Uint8Array} */ frame, k = key) => decryptFrame((id) => (id === 1 ? k : undefined), frame, 10);
    assert.ok(await open(sealed));
    for (const at of [0, 5, 9, 10, 50, sealed.length - TRAILER_BYTES - 1, sealed.length - TRAILER_BYTES]) {
      const bent = sealed.slice();
      bent[at] ^= 0x01;
      assert.equal(await open(bent), null, `byte ${at} changed`);
    }
    assert.equal(await open(sealed, other), null, 'another key');
    assert.equal(await decryptFrame(() => undefined, sealed, 10), null, 'no key for its id');
    assert.equal(await open(data), null, 'plaintext');
    assert.equal(await open(sealed.subarray(0, 20)), null, 'truncated');
  });
});

describe('the key schedule', () => {
  it('gives both ends of a pair the same key, and nobody else', async () => {
    const [alice, bob, mallory] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
    const ab = await pairwiseKey(alice, bob.publicRaw);
    const ba = await pairwiseKey(bob, alice.publicRaw);
    const mb = await pairwiseKey(mallory, bob.publicRaw);
    const media = await newMediaKey();
    const meta = { from: 'p-alice', to: 'p-bob', keyId: 3 };
    const sealed = await sealMediaKey(ab, media.raw, meta);
    assert.deepEqual(await openMediaKey(ba, sealed, { from: 'p-alice', to: 'p-bob' }), { keyId: 3, raw: media.raw });
    assert.equal(await openMediaKey(mb, sealed, { from: 'p-alice', to: 'p-bob' }), null, 'a third identity cannot open it');
    // Bound to sender, recipient and key id.
    assert.equal(await openMediaKey(ba, sealed, { from: 'p-mallory', to: 'p-bob' }), null);
    assert.equal(await openMediaKey(ba, sealed, { from: 'p-alice', to: 'p-carol' }), null);
    assert.equal(await openMediaKey(ba, sealed.replace(/^3\./, '4.'), { from: 'p-alice', to: 'p-bob' }), null);
    for (const junk of ['', '1', '1.2.3.4', '300.AAAAAAAAAAAAAAAA.AAAA', 'x.y.z']) assert.equal(await openMediaKey(ba, junk, { from: 'p-alice', to: 'p-bob' }), null);
  });

  it('keeps identity private keys unexportable', async () => {
    const id = await newIdentity();
    assert.equal(id.privateKey.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('pkcs8', id.privateKey));
    assert.equal(fromBase64Url(id.publicRaw)?.length, 65, 'a raw uncompressed P-256 point');
  });

  it('makes one safety code per set of identities, whatever the order, and another when one changes', async () => {
    const ids = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
    const keys = ids.map((i) => i.publicRaw);
    const code = await safetyCode(keys);
    assert.match(code, /^\d{5} \d{5} \d{5} \d{5} \d{5}$/);
    assert.equal(await safetyCode([...keys].reverse()), code);
    const swapped = [keys[0], keys[1], (await newIdentity()).publicRaw];
    assert.notEqual(await safetyCode(swapped), code);
  });

  it('encrypts chat with the media key', async () => {
    const { key } = await newMediaKey();
    const ivs = new IvSequence();
    const sealed = await encryptText(key, 9, ivs, 'Привет, the talks start at noon');
    assert.ok(isEncryptedText(sealed));
    assert.ok(!sealed.includes('noon'));
    assert.equal(await decryptText((id) => (id === 9 ? key : undefined), sealed), 'Привет, the talks start at noon');
    assert.equal(await decryptText(() => undefined, sealed), null);
    assert.equal(await decryptText(() => key, sealed.slice(0, -2) + 'AA'), null);
    assert.equal(await decryptText(() => key, 'hello'), null);
  });
});
