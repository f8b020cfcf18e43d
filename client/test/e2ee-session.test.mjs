// Unit tests of the end-to-end encryption session (client/web/sdk/e2ee/session.js): several
// sessions joined through a stand-in for the server (it relays identity keys and key messages as
// room.rs does), each with the media worker's crypter (crypter.js) in place of a Worker. Node's
// WebCrypto: the same code the browsers run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { E2eeSession, transformSupport } from '../web/sdk/e2ee/session.js';
import { FrameCrypter } from '../web/sdk/e2ee/crypter.js';
import { newIdentity } from '../web/sdk/e2ee/keys.js';

/** A Worker stand-in: messages reach a FrameCrypter in order, its answers come back as events. */
function fakeWorker() {
  /** @type {((e: {data: any}) => void)[]} */
  const listeners = [];
  const crypter = new FrameCrypter((m) => setImmediate(() => listeners.forEach((fn) => fn({ data: m }))));
  let chain = Promise.resolve();
  return {
    crypter,
    /** @param {any} m */
    postMessage(m) {
      chain = chain.then(() => crypter.handle(m));
    },
    /** @param {string} _type @param {(e: {data: any}) => void} fn */
    addEventListener(_type, fn) {
      listeners.push(fn);
    },
    terminate() {},
  };
}

/**
 * The server's part: who is in the room, their identity keys (relayed as participant info), and
 * key messages relayed to their one recipient, each delivered later and in order.
 */
class FakeRoom {
  constructor() {
    /** @type {Map<string, {id: string, identity: string, name: string, key: string | null, session: E2eeSession, sent: any[], changes: any[][], worker: ReturnType<typeof fakeWorker>}>} */
    this.members = new Map();
    this.next = 1;
    /** Every message the sessions sent through the server. @type {any[]} */
    this.relayed = [];
  }

  /** @param {any} m */
  info(m) {
    return { id: m.id, identity: m.identity, name: m.name, identityKey: m.key, connection: 'connected' };
  }

  /**
   * @param {string} identity
   * @param {{identity?: import('../web/sdk/e2ee/keys.js').Identity, verified?: Record<string, string>}} [o]
   */
  join(identity, o = {}) {
    const id = `p${this.next++}`;
    const worker = fakeWorker();
    const store = o.verified ?? {};
    /** @type {any} */
    const member = { id, identity, name: identity, key: null, sent: [], changes: [], worker };
    member.session = new E2eeSession({
      mode: 'script',
      send: (m) => {
        member.sent.push(m);
        this.relayed.push(m);
        setImmediate(() => this.handle(member, m));
        return true;
      },
      onChange: (keyChanged) => member.changes.push(keyChanged),
      createWorker: () => /** @type {any} */ (worker),
      loadIdentity: o.identity ? async () => /** @type {any} */ (o.identity) : () => newIdentity(),
      loadVerified: async () => ({ ...store }),
      saveVerified: async (e) => Object.assign(store, e),
      graceMs: 5,
      keepMs: 200,
    });
    member.session.enable();
    member.session.start(id);
    // The welcome's list, then participant_joined for the others.
    for (const other of this.members.values()) member.session.participantSeen(this.info(other));
    this.members.set(id, member);
    for (const other of this.members.values()) if (other !== member) other.session.participantSeen(this.info(member));
    return member;
  }

  /** @param {any} from @param {any} m */
  handle(from, m) {
    if (!this.members.has(from.id)) return;
    if (m.type === 'e2ee_identity') {
      from.key = m.key;
      for (const other of this.members.values()) if (other !== from) other.session.participantSeen(this.info(from));
    } else if (m.type === 'e2ee_keys') {
      this.members.get(m.to)?.session.receiveKeys(from.id, m.data);
    }
  }

  /** @param {any} member */
  leave(member) {
    this.members.delete(member.id);
    member.session.close();
    for (const other of this.members.values()) other.session.participantLeft(member.id);
  }
}

/** Poll until `fn` is truthy (the sessions work through promises and immediates). @param {() => any} fn @param {string} what */
async function until(fn, what, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Encrypt one video frame as `sender`'s worker would now, and decrypt it in `receiver`'s worker
 * (as a frame of sender's track): the plaintext, or null when it cannot be decrypted.
 * @param {any} sender @param {any} receiver
 */
async function frameThrough(sender, receiver) {
  const data = Uint8Array.from([0x31, 0x10, 0x00, ...Array.from({ length: 60 }, (_, i) => i)]);
  /** @type {any[]} */
  const sent = [];
  await sender.worker.crypter.send({ data: data.slice().buffer, type: 'delta' }, { enqueue: (/** @type {any} */ f) => sent.push(f) }, { role: 'send', kind: 'video' });
  assert.equal(sent.length, 1, 'the sender has a key');
  /** @type {any[]} */
  const got = [];
  await receiver.worker.crypter.receive(sent[0], { enqueue: (/** @type {any} */ f) => got.push(f) }, { role: 'receive', kind: 'video', participantId: sender.id }, null, { failing: false, lastRequest: 0 });
  if (!got.length) return null;
  const plain = new Uint8Array(got[0].data);
  assert.deepEqual(plain, data);
  return plain;
}

/** Everyone has a key from everyone else and sends with its latest one. @param {FakeRoom} room */
function settled(room) {
  const all = [...room.members.values()];
  return until(
    () =>
      all.every((m) => {
        const s = m.session;
        const keyed = [...s.participants.values()];
        return s.sendKeyId >= 0 && keyed.length === all.length - 1 && keyed.every((p) => p.identityKey && p.keyReceived) && s._lastKeyId === s.sendKeyId && !s._rotationQueued;
      }),
    'keys exchanged',
  );
}

/** Wait until `receiver` decrypts `sender`'s frames. @param {any} sender @param {any} receiver */
const decrypts = (sender, receiver) => until(() => frameThrough(sender, receiver), `${receiver.identity} decrypting ${sender.identity}`);

describe('the encryption session', () => {
  it('gives everyone everyone\'s media key, the same safety code, and encrypted chat', async () => {
    const room = new FakeRoom();
    const [a, b, c] = ['alice', 'bob', 'carol'].map((n) => room.join(n));
    await settled(room);
    for (const [x, y] of [[a, b], [b, a], [a, c], [c, b]]) await decrypts(x, y);
    await until(() => a.session.safetyCode && a.session.safetyCode === b.session.safetyCode && b.session.safetyCode === c.session.safetyCode, 'one safety code');
    assert.match(a.session.safetyCode, /^\d{5}( \d{5}){4}$/);
    assert.equal(a.session.status, 'encrypted');

    const sealed = await a.session.encryptChat('Meet at noon');
    assert.ok(sealed?.startsWith('e1.') && !sealed.includes('noon'), String(sealed));
    assert.equal(await b.session.decryptChat(a.id, sealed), 'Meet at noon');
    assert.equal(await c.session.decryptChat(a.id, sealed), 'Meet at noon');
    assert.equal(await a.session.decryptChat(a.id, sealed), 'Meet at noon', 'the sender reads its own echo');
    assert.equal(await b.session.decryptChat(c.id, sealed), null, 'under another sender it does not open');

    // Nothing the server relayed holds a media key: each key message opens only for its recipient.
    const keyMsgs = room.relayed.filter((m) => m.type === 'e2ee_keys');
    assert.ok(keyMsgs.length >= 6, `key messages: ${keyMsgs.length}`);
    const raw = Buffer.from(a.session._current.raw).toString('base64url');
    assert.ok(!JSON.stringify(room.relayed).includes(raw), 'the raw media key never went out');
  });

  it('makes a new key when someone leaves: the one who left cannot decrypt what follows', async () => {
    const room = new FakeRoom();
    const [a, b, c] = ['alice', 'bob', 'carol'].map((n) => room.join(n));
    await settled(room);
    await decrypts(a, c);
    const before = a.session.sendKeyId;
    room.leave(c);
    await until(() => a.session.sendKeyId !== before, 'a new key after carol left');
    await settled(room);
    await decrypts(a, b);
    // Carol's worker still holds everything she was given: not the new key.
    assert.equal(await frameThrough(a, c), null);
    assert.ok(!a.session._current.recipients.has(c.id));
  });

  it('makes a new key when someone joins: the newcomer cannot decrypt what came before', async () => {
    const room = new FakeRoom();
    const [a, b] = ['alice', 'bob'].map((n) => room.join(n));
    await settled(room);
    // A frame Alice sends before Dave joins.
    const early = Uint8Array.from([0x31, 0x10, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    /** @type {any[]} */
    const out = [];
    await a.worker.crypter.send({ data: early.buffer, type: 'delta' }, { enqueue: (/** @type {any} */ f) => out.push(f) }, { role: 'send', kind: 'video' });
    const earlyKeyId = a.session.sendKeyId;
    const d = room.join('dave');
    await settled(room);
    assert.notEqual(a.session.sendKeyId, earlyKeyId);
    await decrypts(a, d);
    await decrypts(a, b);
    /** @type {any[]} */
    const got = [];
    await d.worker.crypter.receive(out[0], { enqueue: (/** @type {any} */ f) => got.push(f) }, { role: 'receive', kind: 'video', participantId: a.id }, null, { failing: false, lastRequest: 0 });
    assert.equal(got.length, 0, 'the frame from before Dave joined stays closed to him');
  });

  it('warns when an identity key changes, and the participant is no longer verified', async () => {
    const room = new FakeRoom();
    const [a, b] = ['alice', 'bob'].map((n) => room.join(n));
    await settled(room);
    await until(() => [...a.session.participants.values()][0]?.fingerprint, 'a fingerprint');
    await a.session.markVerified();
    const bobAtA = /** @type {any} */ (a.session.participants.get(b.id));
    assert.equal(bobAtA.verified, true);
    assert.equal(a.session.status, 'verified');
    const codeBefore = a.session.safetyCode;

    // The server hands out another key as Bob's.
    const mallory = await newIdentity();
    a.changes.length = 0;
    a.session.participantSeen({ id: b.id, identity: 'bob', name: 'bob', identityKey: mallory.publicRaw });
    assert.ok(a.changes.some((list) => list.some((p) => p.id === b.id)), 'the change is reported as a key change');
    assert.equal(bobAtA.keyChanged, true);
    assert.equal(bobAtA.verified, false);
    assert.equal(a.session.status, 'warning');
    await until(() => a.session.safetyCode !== codeBefore, 'another safety code');
    // Compared again and confirmed: verified, no warning.
    await until(() => bobAtA.fingerprint, 'the new fingerprint');
    await a.session.markVerified();
    assert.equal(bobAtA.keyChanged, false);
    assert.equal(a.session.status, 'verified');
  });

  it('warns when an identity comes back with another key, not when it keeps its key', async () => {
    const room = new FakeRoom();
    const bobIdentity = await newIdentity();
    const a = room.join('alice');
    let b = room.join('bob', { identity: bobIdentity });
    await settled(room);
    const code = a.session.safetyCode;
    // Bob reloads: same identity key, a new participant id.
    room.leave(b);
    b = room.join('bob', { identity: bobIdentity });
    await settled(room);
    const again = /** @type {any} */ (a.session.participants.get(b.id));
    assert.equal(again.keyChanged, false);
    await until(() => a.session.safetyCode === code, 'the same code as before');
    // Bob's browser data is wiped: back with a new identity key.
    room.leave(b);
    b = room.join('bob');
    await settled(room);
    const fresh = /** @type {any} */ (a.session.participants.get(b.id));
    assert.equal(fresh.keyChanged, true);
    await until(() => a.session.safetyCode && a.session.safetyCode !== code && a.session.safetyCode === b.session.safetyCode, 'a new code, the same on both');
  });

  it('refuses a key message meant for someone else', async () => {
    const room = new FakeRoom();
    const [a, b, c] = ['alice', 'bob', 'carol'].map((n) => room.join(n));
    await settled(room);
    const forBob = a.sent.filter((m) => m.type === 'e2ee_keys' && m.to === b.id).at(-1);
    const keysBefore = new Map(c.worker.crypter.receiveKeys.get(a.id));
    const warn = console.warn;
    console.warn = () => {};
    try {
      // Relayed to Carol instead: it does not open for her.
      c.session.receiveKeys(a.id, forBob.data);
      await c.session._incoming;
    } finally {
      console.warn = warn;
    }
    assert.deepEqual([...(c.worker.crypter.receiveKeys.get(a.id) ?? new Map()).keys()], [...keysBefore.keys()]);
  });

  it('knows a browser that cannot transform frames', () => {
    assert.equal(transformSupport({ Worker: function () {}, RTCRtpScriptTransform: function () {} }), 'script');
    assert.equal(transformSupport({ Worker: function () {}, RTCRtpScriptTransform: function () {}, __hotlineDisableE2ee: true }), null);
    const streams = { prototype: { createEncodedStreams() {} } };
    assert.equal(transformSupport({ Worker: function () {}, RTCRtpSender: streams, RTCRtpReceiver: streams }), 'streams');
    assert.equal(transformSupport({ Worker: function () {} }), null);
    const s = new E2eeSession({ send: () => true, mode: null });
    s.enable();
    assert.equal(s.status, 'unsupported');
  });
});
