// End-to-end encryption in real browsers (docs/security.md): rooms opened with `hotline token
// --e2ee`. Every frame goes through the pages' encoded transforms (worker.js), keys travel sealed
// for one participant each (`e2ee_keys`), chat is ciphertext on the wire. An eavesdropper with a
// valid token but no encryption (`window.__hotlineDisableE2ee`) receives the packets and decodes
// nothing; a page that leaves makes everyone move to new keys; the safety code is the same
// everywhere and follows the identity keys; a changed identity key is shown loudly; a page of an
// encrypted call does not rejoin a room reopened in the clear; simulcast layers still switch under
// encryption.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitFor, waitForVideoFrom, waitForAudioFrom, inboundStats, tileOf, ensureArtifactsDir, recordSignals, signalsOf, toneMicrophone } from './harness.mjs';

/** Alice's microphone: a tone, so that what a listener decodes can be told from noise. */
const ALICE_HZ = 440;

/** Alice's camera: a flat colour (and a small moving square, so that frames keep coming), 1280x720. */
const ALICE_RGB = /** @type {const} */ ([40, 110, 200]);

/**
 * Before the app loads: the page's camera is a canvas painted `rgb` all over, with a small white
 * square moving across it; the microphone stays what it was (or what an earlier init script made it).
 * @param {readonly [number, number, number]} rgb
 */
const paintedCamera = (rgb) => (/** @type {import('playwright-core').Page} */ page) =>
  page.addInitScript((rgb) => {
    const devices = navigator.mediaDevices;
    if (!devices?.getUserMedia) return;
    const earlier = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      const out = new MediaStream();
      if (constraints?.audio) for (const t of (await earlier({ audio: constraints.audio })).getAudioTracks()) out.addTrack(t);
      if (constraints?.video) {
        const canvas = document.createElement('canvas');
        canvas.width = 1280;
        canvas.height = 720;
        const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
        let x = 0;
        const paint = () => {
          g.fillStyle = `rgb(${rgb.join(',')})`;
          g.fillRect(0, 0, canvas.width, canvas.height);
          g.fillStyle = '#fff';
          g.fillRect(x, 330, 60, 60);
          x = (x + 8) % (canvas.width - 60);
        };
        paint();
        setInterval(paint, 50);
        for (const t of canvas.captureStream(20).getVideoTracks()) out.addTrack(t);
      }
      return out;
    };
  }, /** @type {[number, number, number]} */ ([...rgb]));

/**
 * What `page` shows of `name`'s camera: its tile's <video> drawn small, and the share of its pixels
 * within 40 of `rgb` on every channel (null while it shows no picture at all).
 * @param {import('playwright-core').Page} page @param {string} name @param {readonly [number, number, number]} rgb
 */
function pictureOf(page, name, rgb) {
  return tileOf(page, name)
    .locator('video')
    .evaluate((el, rgb) => {
      const v = /** @type {HTMLVideoElement} */ (el);
      if (!v.videoWidth) return { width: 0, match: null };
      const c = document.createElement('canvas');
      c.width = 64;
      c.height = 36;
      const g = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
      g.drawImage(v, 0, 0, c.width, c.height);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      let near = 0;
      for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - rgb[0]) <= 40 && Math.abs(px[i + 1] - rgb[1]) <= 40 && Math.abs(px[i + 2] - rgb[2]) <= 40) near++;
      return { width: v.videoWidth, match: Math.round((near / (px.length / 4)) * 100) / 100 };
    }, /** @type {[number, number, number]} */ ([...rgb]));
}

/** Runs several `beforeLoad` steps in order. @param {((page: import('playwright-core').Page) => Promise<void>)[]} steps */
const all = (...steps) => async (/** @type {import('playwright-core').Page} */ page) => {
  for (const s of steps) await s(page);
};
/** Before the app loads: this page has no encoded transforms (it cannot encrypt or decrypt). */
const withoutE2ee = (/** @type {import('playwright-core').Page} */ page) => page.addInitScript(() => {
  /** @type {any} */ (window).__hotlineDisableE2ee = true;
});
/** Before the app loads: this page encrypts through createEncodedStreams, the fallback. */
const withEncodedStreams = (/** @type {import('playwright-core').Page} */ page) => page.addInitScript(() => {
  /** @type {any} */ (window).__hotlineE2eeMode = 'streams';
});
/** Keeps the signaling of a page: key and chat messages both ways, what it publishes with. */
const logSignals = recordSignals({ received: ['chat', 'e2ee_keys', 'participant_updated', 'video_layer'], sent: ['chat', 'e2ee_keys', 'e2ee_identity', 'publish_offer', 'join'] });

/**
 * The page's encryption as its room holds it, with names for participant ids.
 * @param {import('playwright-core').Page} page
 */
function e2eeOf(page) {
  return page.evaluate(async () => {
    const room = /** @type {any} */ (window).hotlineRoom;
    const e = room.e2ee;
    const name = (/** @type {string} */ id) => room.participants.get(id)?.name ?? (id === room.localParticipant.id ? room.localParticipant.name : id);
    const counts = await e.counts();
    /** @param {Record<string, number> | undefined} m */
    const byName = (m) => Object.fromEntries(Object.entries(m ?? {}).map(([id, v]) => [name(id), v]));
    return {
      status: /** @type {string} */ (e.status),
      mode: /** @type {string | null} */ (e.mode),
      code: /** @type {string} */ (e.safetyCode),
      identityKey: /** @type {string} */ (e.identityKey),
      sendKeyId: /** @type {number} */ (e.sendKeyId),
      participants: Object.fromEntries([...e.participants.values()].map((p) => [p.name, { verified: p.verified, keyChanged: p.keyChanged, keyReceived: p.keyReceived, identityKey: p.identityKey }])),
      counts: counts && { ...counts, receivedKeyIds: byName(counts.receivedKeyIds), decryptedFrom: byName(counts.decryptedFrom), undecryptableFrom: byName(counts.undecryptableFrom) },
    };
  });
}

/** @typedef {Awaited<ReturnType<typeof e2eeOf>>} E2eeView */

/**
 * Wait until `page`'s encryption satisfies `ok`; returns it.
 * @param {import('playwright-core').Page} page @param {(e: E2eeView) => boolean} ok @param {string} message @param {number} [timeout]
 */
function waitE2ee(page, ok, message, timeout = 20000) {
  return waitFor(async () => {
    const e = await e2eeOf(page);
    return ok(e) ? e : null;
  }, { timeout, message });
}

/**
 * The raw bytes of the media key `page` encrypts with now, in the encodings a log could show.
 * @param {import('playwright-core').Page} page
 */
async function rawKeyForms(page) {
  const bytes = Buffer.from(await page.evaluate(() => [.../** @type {any} */ (window).hotlineRoom.e2ee._current.raw]));
  return [bytes.toString('base64url'), bytes.toString('base64'), bytes.toString('hex'), JSON.stringify([...bytes]).slice(1, -1)];
}

/**
 * The level of a tone in what `page` decodes of `name`'s microphone, against its neighbourhood in
 * the spectrum: its peak (dB, best bin around `hz`), the median of the bins 35 to 150 Hz away, and
 * the difference. A decoded tone stands tens of dB above them; noise or silence does not.
 * @param {import('playwright-core').Page} page @param {string} name @param {number} hz
 */
function toneIn(page, name, hz, ms = 1500) {
  return page.evaluate(
    async ([name, hz, ms]) => {
      const room = /** @type {any} */ (window).hotlineRoom;
      const p = [...room.participants.values()].find((x) => x.name === name);
      const t = p?.subscribed('microphone');
      if (!t) return null;
      const w = /** @type {any} */ (window);
      /** @type {AudioContext} */
      const ctx = (w.__toneCtx ??= new AudioContext());
      if (ctx.state !== 'running') await ctx.resume();
      const src = ctx.createMediaStreamSource(new MediaStream([t.mediaStreamTrack]));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      const sink = ctx.createGain();
      sink.gain.value = 0;
      src.connect(analyser).connect(sink).connect(ctx.destination);
      const bins = new Float32Array(analyser.frequencyBinCount);
      const power = new Float64Array(bins.length);
      let frames = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // The analyser's sampling interval (each frame holds ~170 ms of sound).
        await new Promise((r) => setTimeout(r, 50));
        analyser.getFloatFrequencyData(bins);
        for (let i = 0; i < bins.length; i++) power[i] += Number.isFinite(bins[i]) ? 10 ** (bins[i] / 10) : 0;
        frames++;
      }
      src.disconnect();
      analyser.disconnect();
      sink.disconnect();
      const binHz = ctx.sampleRate / analyser.fftSize;
      const db = (/** @type {number} */ i) => 10 * Math.log10(power[i] / frames + 1e-30);
      const c = Math.round(hz / binHz);
      let tone = -Infinity;
      for (let i = c - 3; i <= c + 3; i++) tone = Math.max(tone, db(i));
      const rest = [];
      // Its close neighbourhood (35 to 150 Hz away): noise, however it is shaped, has no narrow peak
      // standing above it; a decoded tone does.
      for (let i = c - 25; i <= c + 25; i++) if (Math.abs(i - c) >= 6) rest.push(db(i));
      rest.sort((a, b) => a - b);
      const median = rest[rest.length >> 1];
      const r = (/** @type {number} */ x) => Math.round(x * 10) / 10;
      return { tone: r(tone), median: r(median), contrast: r(tone - median) };
    },
    /** @type {[string, number, number]} */ ([name, hz, ms]),
  );
}

/**
 * The codec of the audio `page` receives (inbound-rtp) and the first payload type of its
 * publisher's audio in the server's answer.
 * @param {import('playwright-core').Page} page
 */
function audioCodecs(page) {
  return page.evaluate(async () => {
    const room = /** @type {any} */ (window).hotlineRoom;
    const stats = await room.subscriberPc.getStats();
    const inbound = [...stats.values()].filter((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
    const received = inbound.map((s) => stats.get(s.codecId)?.mimeType ?? null);
    const sdp = room.publisherPc.remoteDescription?.sdp ?? '';
    const audioLine = sdp.split('\r\n').find((/** @type {string} */ l) => l.startsWith('m=audio')) ?? '';
    const first = audioLine.split(' ')[3];
    const firstCodec = new RegExp(`a=rtpmap:${first} ([^/]+)/`).exec(sdp)?.[1] ?? null;
    return { received, answerFirst: firstCodec, redOffered: /a=rtpmap:\d+ red\//.test(sdp) };
  });
}

describe('end-to-end encryption', { timeout: 600000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('three pages see, hear and chat in an encrypted call; an eavesdropper with a valid token decodes nothing; no key reaches the server', { timeout: 180000 }, async (t) => {
    const room = 'e2ee-trio';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', e2ee: true, beforeLoad: all(logSignals, toneMicrophone(ALICE_HZ), paintedCamera(ALICE_RGB)) });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', beforeLoad: logSignals });
    // Carol's browser encrypts through createEncodedStreams, the fallback for browsers without RTCRtpScriptTransform.
    const carol = await hx.join({ room, identity: 'carol', name: 'Carol', beforeLoad: all(logSignals, withEncodedStreams) });
    const pages = { Alice: alice, Bob: bob, Carol: carol };
    const started = Date.now();
    await Promise.all(
      Object.entries(pages).flatMap(([me, page]) =>
        Object.keys(pages)
          .filter((other) => other !== me)
          .flatMap((other) => [waitForVideoFrom(page, other), waitForAudioFrom(page, other)]),
      ),
    );
    t.diagnostic(`every page decodes the two others' video and audio ${Date.now() - started} ms after the third joined`);

    // Through the transforms: each page decrypts frames of both others, and the count goes on rising.
    const first = await Promise.all(Object.values(pages).map((p) => e2eeOf(p)));
    assert.deepEqual(first.map((e) => e.mode), ['script', 'script', 'streams']);
    for (const [i, me] of Object.keys(pages).entries()) {
      assert.equal(first[i].status, 'encrypted', `${me}: ${JSON.stringify(first[i])}`);
      for (const other of Object.keys(pages).filter((o) => o !== me)) assert.ok((first[i].counts?.decryptedFrom[other] ?? 0) > 0, `${me} decrypted frames of ${other}: ${JSON.stringify(first[i].counts)}`);
    }
    const later = await Promise.all(
      Object.entries(pages).map(([me, page], i) =>
        waitE2ee(page, (e) => Object.keys(pages).filter((o) => o !== me).every((o) => (e.counts?.decryptedFrom[o] ?? 0) > (first[i].counts?.decryptedFrom[o] ?? 0) + 50), `${me} decrypting more frames`),
      ),
    );
    t.diagnostic(`worker counts: ${Object.keys(pages).map((n, i) => `${n} encrypted ${later[i].counts?.encrypted}, decrypted ${JSON.stringify(later[i].counts?.decryptedFrom)}, undecryptable ${later[i].counts?.undecryptable}`).join('; ')}`);
    // The badge says so, on every page.
    for (const page of Object.values(pages)) {
      assert.equal(await page.getAttribute('[data-testid=e2ee-badge]', 'data-state'), 'encrypted');
      assert.ok(await page.isVisible('[data-testid=e2ee-badge]'));
    }

    // No redundant audio: the server's answer puts Opus first and offers no RED; what is received is Opus.
    for (const [n, page] of Object.entries(pages)) {
      const codecs = await audioCodecs(page);
      assert.equal(codecs.answerFirst, 'opus', `${n}: ${JSON.stringify(codecs)}`);
      assert.equal(codecs.redOffered, false, `${n}: ${JSON.stringify(codecs)}`);
      assert.ok(codecs.received.length === 2 && codecs.received.every((c) => c === 'audio/opus'), `${n} receives Opus: ${JSON.stringify(codecs)}`);
    }
    assert.ok(!/audio arrives as RED/.test(hx.log()), 'the server saw no RED');
    // Every publish_offer said e2ee.
    const offers = (await signalsOf(alice)).filter((s) => s.dir === 'out' && s.m.type === 'publish_offer');
    assert.ok(offers.length > 0 && offers.every((s) => s.m.e2ee === true), JSON.stringify(offers.map((s) => s.m.e2ee)));

    // The eavesdropper: a valid token, a browser without encoded transforms (as the server, or
    // anyone with its secret, would be: no keys).
    const eve = await hx.join({ room, identity: 'eve', name: 'Eve', beforeLoad: withoutE2ee });
    const eveView = await e2eeOf(eve);
    assert.equal(eveView.status, 'unsupported');
    await eve.locator('[data-testid=e2ee-warning]', { hasText: 'Your browser cannot take part in an end-to-end encrypted call.' }).waitFor({ timeout: 10000 });
    await eve.screenshot({ path: join(await ensureArtifactsDir(), 'e2ee-unsupported.png') });
    assert.equal(await eve.getAttribute('[data-testid=e2ee-badge]', 'data-state'), 'unsupported');
    assert.equal(await eve.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publications.length), 0, 'Eve publishes nothing');
    // She receives Alice's packets, more and more of them ...
    const eveFirst = await waitFor(async () => {
      const v = await inboundStats(eve, 'Alice', 'camera');
      const a = await inboundStats(eve, 'Alice', 'microphone');
      return v && a && v.packetsReceived > 0 && a.packetsReceived > 0 ? { v, a } : null;
    }, { message: "Eve receiving Alice's packets" });
    const bobFirst = await inboundStats(bob, 'Alice', 'camera');
    const eveLater = await waitFor(async () => {
      const v = await inboundStats(eve, 'Alice', 'camera');
      const a = await inboundStats(eve, 'Alice', 'microphone');
      return v && a && v.packetsReceived >= eveFirst.v.packetsReceived + 300 && a.packetsReceived >= eveFirst.a.packetsReceived + 150 ? { v, a } : null;
    }, { timeout: 30000, message: "Eve's packets from Alice rising" });
    const bobLater = await inboundStats(bob, 'Alice', 'camera');
    // ... but never shows Alice's picture, while Bob does. (Her VP8 decoder may take a keyframe's
    // ciphertext, whose header is in the clear, for a picture now and then: noise, not Alice's.)
    assert.ok(bobFirst && bobLater && bobLater.framesDecoded > bobFirst.framesDecoded + 20, `Bob decoding meanwhile: ${JSON.stringify({ bobFirst, bobLater })}`);
    const [evePicture, bobPicture] = await Promise.all([pictureOf(eve, 'Alice', ALICE_RGB), pictureOf(bob, 'Alice', ALICE_RGB)]);
    t.diagnostic(`Alice's colour on screen: Bob ${JSON.stringify(bobPicture)}, Eve ${JSON.stringify(evePicture)}; frames decoded meanwhile: Bob ${(bobLater?.framesDecoded ?? 0) - (bobFirst?.framesDecoded ?? 0)}, Eve ${eveLater.v.framesDecoded} in all`);
    assert.ok((bobPicture.match ?? 0) > 0.8, `Bob sees Alice's picture: ${JSON.stringify(bobPicture)}`);
    assert.ok(evePicture.match === null || evePicture.match < 0.2, `Eve does not: ${JSON.stringify(evePicture)}`);
    assert.ok(eveLater.v.framesDecoded * 10 < (bobLater?.framesDecoded ?? 0) - (bobFirst?.framesDecoded ?? 0), `Eve's decoder takes next to nothing: ${JSON.stringify(eveLater.v)}`);
    // Her audio decoder turns the ciphertext into noise at best: Alice's tone is not in it, while Bob hears it.
    const [eveTone, bobTone] = await Promise.all([toneIn(eve, 'Alice', ALICE_HZ), toneIn(bob, 'Alice', ALICE_HZ)]);
    t.diagnostic(`Eve: video packets ${eveFirst.v.packetsReceived} -> ${eveLater.v.packetsReceived}, frames decoded ${eveLater.v.framesDecoded}; audio packets ${eveFirst.a.packetsReceived} -> ${eveLater.a.packetsReceived}, samples ${eveLater.a.totalSamplesReceived}`);
    t.diagnostic(`Alice's ${ALICE_HZ} Hz tone over its neighbourhood in the spectrum: Bob ${JSON.stringify(bobTone)}, Eve ${JSON.stringify(eveTone)}`);
    assert.ok(bobTone && bobTone.contrast > 30, `Bob hears the tone: ${JSON.stringify(bobTone)}`);
    assert.ok(eveTone && eveTone.contrast < 10, `Eve does not: ${JSON.stringify(eveTone)}`);
    // Eve holds no identity key: nobody gave her a media key, and the others list her as unable to decrypt.
    const aliceView = await e2eeOf(alice);
    assert.deepEqual(aliceView.participants.Eve, { verified: false, keyChanged: false, keyReceived: false, identityKey: null });
    const eveId = await eve.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);
    assert.ok(!(await signalsOf(alice)).some((s) => s.dir === 'out' && s.m.type === 'e2ee_keys' && s.m.to === eveId), 'no key message for Eve');

    // Encrypted chat: shown decrypted to the others, ciphertext on the wire, undecryptable to Eve.
    const text = 'The password for the archive is tangerine-42';
    await alice.click('[data-testid=chat-toggle]');
    await alice.fill('[data-testid=chat-input]', text);
    await alice.click('[data-testid=chat-send]');
    for (const page of [bob, carol]) {
      await page.click('[data-testid=chat-toggle]');
      await page.locator('.chat-message', { hasText: text }).waitFor({ timeout: 15000 });
    }
    await alice.locator('.chat-message', { hasText: text }).waitFor({ timeout: 15000 });
    await eve.click('[data-testid=chat-toggle]');
    await eve.locator('.chat-message', { hasText: '(a message that could not be decrypted)' }).waitFor({ timeout: 15000 });
    assert.equal(await eve.locator('.chat-message', { hasText: 'tangerine' }).count(), 0);
    await bob.screenshot({ path: join(await ensureArtifactsDir(), 'e2ee-chat.png') });
    await eve.screenshot({ path: join(await ensureArtifactsDir(), 'e2ee-eavesdropper-chat.png') });
    const wire = (await signalsOf(bob)).filter((s) => s.dir === 'in' && s.m.type === 'chat').map((s) => s.m.text);
    assert.equal(wire.length, 1, JSON.stringify(wire));
    assert.ok(wire[0].startsWith('e1.') && !wire[0].includes('tangerine'), `the server relayed ciphertext: ${wire[0]}`);
    const sentByAlice = (await signalsOf(alice)).filter((s) => s.dir === 'out' && s.m.type === 'chat').map((s) => s.m.text);
    assert.deepEqual(sentByAlice, wire, 'what Alice sent is what Bob got');
    // Too long to encrypt within the server's limit: refused with a reason, kept in the box, not sent.
    const long = 'x'.repeat(901);
    await alice.fill('[data-testid=chat-input]', long);
    await alice.click('[data-testid=chat-send]');
    await alice.locator('[data-testid=error]', { hasText: 'at most 900 characters' }).waitFor({ timeout: 5000 });
    assert.equal(await alice.inputValue('[data-testid=chat-input]'), long);
    assert.equal((await signalsOf(alice)).filter((s) => s.dir === 'out' && s.m.type === 'chat').length, 1);
    await alice.fill('[data-testid=chat-input]', '');

    // Nothing secret reached the server's log: no media key in any form, no sealed key message, no chat.
    const log = hx.log();
    assert.match(log, /end-to-end encrypted/, 'the log is the server of this call');
    const keyForms = (await Promise.all(Object.values(pages).map(rawKeyForms))).flat();
    const sealed = (await Promise.all(Object.values(pages).map(signalsOf))).flat().filter((s) => s.m.type === 'e2ee_keys').map((s) => s.m.data);
    assert.ok(sealed.length >= 6, `key messages seen: ${sealed.length}`);
    for (const secret of [...keyForms, ...sealed, text, 'tangerine', wire[0]]) assert.ok(!log.includes(secret), `the server log holds ${secret.slice(0, 24)}…`);
    // And no page sent its raw key in any message it sent.
    for (const [n, page] of Object.entries(pages)) {
      const out = JSON.stringify((await signalsOf(page)).filter((s) => s.dir === 'out').map((s) => s.m));
      for (const form of await rawKeyForms(page)) assert.ok(!out.includes(form), `${n} sent its raw key`);
    }
    t.diagnostic(`server log: ${log.length} characters checked for ${keyForms.length} key encodings and ${sealed.length} key messages`);
    for (const p of [alice, bob, carol, eve]) await p.close();
  });

  it('a plain call has no encryption badge and publishes without e2ee', { timeout: 60000 }, async () => {
    const page = await hx.join({ room: 'e2ee-none', identity: 'paula', name: 'Paula', beforeLoad: logSignals });
    await waitFor(async () => (await signalsOf(page)).some((s) => s.dir === 'out' && s.m.type === 'publish_offer'), { message: 'a publish_offer' });
    const offers = (await signalsOf(page)).filter((s) => s.dir === 'out' && s.m.type === 'publish_offer');
    assert.ok(offers.every((s) => !('e2ee' in s.m)), JSON.stringify(offers.map((s) => s.m.e2ee)));
    assert.deepEqual(await page.evaluate(() => ({ enabled: /** @type {any} */ (window).hotlineRoom.e2ee.enabled, status: /** @type {any} */ (window).hotlineRoom.e2ee.status })), { enabled: false, status: 'off' });
    assert.ok(await page.isHidden('[data-testid=e2ee-badge]'));
    assert.equal((await signalsOf(page)).filter((s) => s.m.type === 'e2ee_identity' || s.m.type === 'e2ee_keys').length, 0);
    await page.close();
  });

  it('when a page leaves, the others move to new keys and still decode each other', { timeout: 120000 }, async (t) => {
    const room = 'e2ee-leave';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', e2ee: true });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    const carol = await hx.join({ room, identity: 'carol', name: 'Carol' });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice'), waitForVideoFrom(carol, 'Alice'), waitForVideoFrom(carol, 'Bob')]);
    // Settled: each decrypts the other with the key it sends with now.
    const settledKeys = async () => {
      const [a, b] = await Promise.all([e2eeOf(alice), e2eeOf(bob)]);
      return a.counts?.receivedKeyIds.Bob === b.sendKeyId && b.counts?.receivedKeyIds.Alice === a.sendKeyId ? { a, b } : null;
    };
    const before = await waitFor(settledKeys, { message: 'Alice and Bob on each other\'s current keys' });
    const carolId = await carol.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);

    await carol.click('[data-testid=leave]');
    await carol.waitForSelector('[data-testid=ended]');
    const leftAt = Date.now();
    const after = await waitFor(async () => {
      const s = await settledKeys();
      return s && s.a.sendKeyId !== before.a.sendKeyId && s.b.sendKeyId !== before.b.sendKeyId ? s : null;
    }, { message: 'Alice and Bob decrypting each other with keys made after Carol left' });
    t.diagnostic(`key ids in use: Alice ${before.a.sendKeyId} -> ${after.a.sendKeyId}, Bob ${before.b.sendKeyId} -> ${after.b.sendKeyId}, ${Date.now() - leftAt} ms after Carol left`);
    // Carol was not given them.
    const recipients = await alice.evaluate(() => [.../** @type {any} */ (window).hotlineRoom.e2ee._current.recipients]);
    assert.ok(!recipients.includes(carolId), JSON.stringify(recipients));
    // Still decoding each other, under the new keys.
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice'), waitForAudioFrom(alice, 'Bob'), waitForAudioFrom(bob, 'Alice')]);
    const more = await waitE2ee(alice, (e) => (e.counts?.decryptedFrom.Bob ?? 0) > (after.a.counts?.decryptedFrom.Bob ?? 0) + 50 && e.counts?.receivedKeyIds.Bob === after.b.sendKeyId, "Alice decrypting Bob's new key");
    t.diagnostic(`Alice decrypted ${(more.counts?.decryptedFrom.Bob ?? 0) - (after.a.counts?.decryptedFrom.Bob ?? 0)} more frames of Bob under key ${more.counts?.receivedKeyIds.Bob}`);
    for (const p of [alice, bob]) await p.close();
  });

  it('the safety code is the same everywhere; a reload keeps the identity key, a wiped browser gets a new one and changes the code', { timeout: 150000 }, async (t) => {
    const room = 'e2ee-code';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', e2ee: true });
    let bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    const carol = await hx.join({ room, identity: 'carol', name: 'Carol' });
    /** Wait until the three pages show one code over three identity keys; returns it. */
    const oneCode = async (/** @type {string} */ what, /** @type {(code: string) => boolean} */ ok = () => true) =>
      waitFor(async () => {
        const views = await Promise.all([alice, bob, carol].map(e2eeOf));
        const codes = new Set(views.map((v) => v.code));
        const keyed = views.every((v) => Object.values(v.participants).filter((p) => p.identityKey).length === 2);
        const shown = await Promise.all([alice, bob, carol].map((p) => p.getAttribute('[data-testid=safety-code]', 'data-code')));
        return codes.size === 1 && keyed && views[0].code && ok(views[0].code) && shown.every((s) => s === views[0].code) ? { code: views[0].code, views } : null;
      }, { timeout: 30000, message: what });
    const c1 = await oneCode('one safety code on the three pages');
    const bobKey = c1.views[1].identityKey;
    t.diagnostic(`safety code ${c1.code}`);

    // A reload: the same identity key (from IndexedDB), the same code, no warning.
    await bob.reload();
    await bob.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    const c2 = await oneCode('the same code after Bob reloaded', (code) => code === c1.code);
    assert.equal(c2.views[1].identityKey, bobKey, 'Bob kept his identity key');
    assert.equal(c2.views[0].participants.Bob.keyChanged, false);
    assert.ok(await alice.isHidden('[data-testid=e2ee-warning]'));

    // Bob's browser forgets its identity (IndexedDB deleted), then reloads: a new key, a new code.
    await bob.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const r = indexedDB.deleteDatabase('hotline-e2ee');
          r.onsuccess = () => resolve(undefined);
          r.onerror = () => reject(r.error);
          r.onblocked = () => reject(new Error('deleting the identity was blocked by an open connection'));
        }),
    );
    await bob.reload();
    await bob.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    const c3 = await oneCode('a new code on the three pages after Bob came back with a new identity', (code) => code !== c1.code);
    assert.notEqual(c3.views[1].identityKey, bobKey, 'Bob has a new identity key');
    t.diagnostic(`after the wipe: ${c3.code}`);
    // Bob came back with another key than he had: the others are told (whoever holds it now may be someone else).
    for (const page of [alice, carol]) await page.locator('[data-testid=e2ee-warning]', { hasText: "Bob's security key changed" }).waitFor({ timeout: 10000 });
    for (const p of [alice, bob, carol]) await p.close();
  });

  it('a changed identity key mid-call: loud warning, not verified, another safety code', { timeout: 120000 }, async (t) => {
    const room = 'e2ee-mitm';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', e2ee: true });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', beforeLoad: logSignals });
    const carol = await hx.join({ room, identity: 'carol', name: 'Carol' });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(alice, 'Carol'), waitForVideoFrom(carol, 'Bob')]);
    await waitE2ee(alice, (e) => !!e.code && Object.values(e.participants).every((p) => p.keyReceived), 'Alice has everyone\'s key and the code');

    // Alice reads the code aloud with the others and confirms.
    await alice.click('[data-testid=e2ee-badge]');
    await alice.locator('[data-testid=e2ee-panel]').waitFor();
    const dir = await ensureArtifactsDir();
    await alice.screenshot({ path: join(dir, 'e2ee-panel.png') });
    await alice.click('[data-testid=e2ee-verify]');
    await alice.locator('[data-testid=e2ee-badge][data-state=verified]').waitFor({ timeout: 10000 });
    await alice.locator('.e2ee-person[data-participant-name="Bob"][data-state=verified]').waitFor();
    await alice.screenshot({ path: join(dir, 'e2ee-panel-verified.png') });
    await alice.click('[data-testid=e2ee-badge]');
    const codeBefore = (await e2eeOf(alice)).code;

    // Bob's signaling announces another identity key, as a compromised server (or client) would.
    const fake = await bob.evaluate(async () => {
      const pair = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']));
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
      const key = btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      /** @type {any} */ (window).__socket.send(JSON.stringify({ type: 'e2ee_identity', key }));
      return key;
    });
    for (const page of [alice, carol]) {
      await page.locator('[data-testid=e2ee-warning]', { hasText: "Bob's security key changed. Compare the safety code again before you go on." }).waitFor({ timeout: 10000 });
      await page.locator('[data-testid=e2ee-badge][data-state=warning]').waitFor();
      const view = await e2eeOf(page);
      assert.deepEqual({ verified: view.participants.Bob.verified, keyChanged: view.participants.Bob.keyChanged, key: view.participants.Bob.identityKey }, { verified: false, keyChanged: true, key: fake });
    }
    await alice.screenshot({ path: join(dir, 'e2ee-key-changed.png') });
    // The code moved with it, and no longer matches Bob's own: reading it aloud would show it.
    const [a, b] = await Promise.all([waitE2ee(alice, (e) => e.code !== codeBefore, 'a new code at Alice'), e2eeOf(bob)]);
    assert.notEqual(a.code, b.code, 'Alice and Bob now read different codes');
    t.diagnostic(`Alice's code ${codeBefore} -> ${a.code}; Bob's own ${b.code}`);
    await alice.click('[data-testid=e2ee-warning-compare]');
    await alice.locator('.e2ee-person[data-participant-name="Bob"][data-state=changed]').waitFor();
    await alice.screenshot({ path: join(dir, 'e2ee-key-changed-panel.png') });
    // Dismissed, the banner goes; the badge still warns until the code is compared again.
    await alice.click('[data-testid=e2ee-warning-dismiss]');
    assert.ok(await alice.isHidden('[data-testid=e2ee-warning]'));
    assert.equal(await alice.getAttribute('[data-testid=e2ee-badge]', 'data-state'), 'warning');
    for (const p of [alice, bob, carol]) await p.close();
  });

  it('after a server restart, a page of an encrypted call does not rejoin the room reopened without encryption', { timeout: 90000 }, async (t) => {
    const room = 'e2ee-downgrade';
    const logJoins = recordSignals({ received: ['welcome'], sent: ['join', 'leave', 'publish_offer'] });
    // Alice signals through a proxy, so that her rejoin can be held off.
    const proxy = await hx.startProxy();
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', e2ee: true, baseUrl: proxy.url, beforeLoad: logJoins });
    await waitE2ee(alice, (e) => e.status === 'encrypted', 'Alice encrypting');
    proxy.refuse();
    await hx.killServer();
    await alice.waitForFunction(() => /** @type {any} */ (window).hotlineRoom.state === 'reconnecting', null, { timeout: 10000 });
    await hx.restartServer();
    // The room is gone with the server; Bob's token, without --e2ee, opens it again: a plain room.
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', beforeLoad: logJoins });
    assert.equal((await signalsOf(bob)).find((s) => s.m.type === 'welcome')?.m.e2ee, false);
    const acceptAt = proxy.accept();
    const welcome = await waitFor(async () => (await signalsOf(alice)).find((s) => s.dir === 'in' && s.m.type === 'welcome' && s.t >= acceptAt) ?? null, { timeout: 30000, message: "Alice's join answered" });
    assert.equal(welcome.m.e2ee, false);
    // She leaves that room at once, publishes nothing in it, and says why.
    await alice.locator('[data-testid=error]', { hasText: 'the server offered to go on without encryption' }).waitFor({ timeout: 10000 });
    const after = (await signalsOf(alice)).filter((s) => s.dir === 'out' && s.t >= welcome.t);
    assert.equal(after[0]?.m.type, 'leave', JSON.stringify(after.map((s) => s.m.type)));
    assert.ok(!after.some((s) => s.m.type === 'publish_offer'), JSON.stringify(after.map((s) => s.m.type)));
    assert.notEqual(await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'connected');
    await bob.waitForFunction(() => ![.../** @type {any} */ (window).hotlineRoom.participants.values()].some((p) => p.name === 'Alice'), null, { timeout: 10000 });
    assert.equal(await bob.evaluate(() => [.../** @type {any} */ (window).hotlineRoom.participants.values()].flatMap((p) => [...p.subscribedTracks.values()]).length), 0, 'Bob received nothing from Alice');
    t.diagnostic(`Alice's join answered ${welcome.t - acceptAt} ms after the proxy let her through: welcome without e2ee, then ${after.map((s) => s.m.type).join(', ')}`);
    for (const p of [alice, bob]) await p.close();
  });

  it('simulcast under encryption: a smaller tile gets a lower layer, still decrypted and decoded', { timeout: 150000 }, async (t) => {
    if (!hx.browser) throw new Error('no browser');
    const room = 'e2ee-simulcast';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', e2ee: true });
    const ctx = await hx.browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 2, locale: 'en-US' });
    hx.contexts.push(ctx);
    const vic = await hx.join({ room, identity: 'vic', name: 'Vic', noPublish: true, context: ctx, beforeLoad: logSignals });
    const layers = await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publication('camera')?.layers);
    assert.deepEqual(layers, ['q', 'h', 'f']);
    await waitForVideoFrom(vic, 'Alice');
    const received = () =>
      vic.evaluate(async () => {
        const room = /** @type {any} */ (window).hotlineRoom;
        const p = [...room.participants.values()].find((x) => x.name === 'Alice');
        const track = p?.subscribed('camera');
        const stats = await room.subscriberPc.getStats();
        const s = [...stats.values()].find((s) => s.type === 'inbound-rtp' && s.mid === track?.mid);
        const counts = await room.e2ee.counts();
        return { rid: track?.layer?.rid ?? null, reason: track?.layer?.reason ?? null, frameWidth: s?.frameWidth ?? 0, framesDecoded: s?.framesDecoded ?? 0, decrypted: counts?.decryptedFrom[p.id] ?? 0 };
      });
    const big = await waitFor(async () => {
      const r = await received();
      return (r.rid === 'h' || r.rid === 'f') && r.frameWidth >= 640 ? r : null;
    }, { timeout: 45000, message: 'Vic on layer h or f' });
    await tileOf(vic, 'Alice').locator('video').evaluate((el) => {
      el.style.width = '160px';
      el.style.height = '90px';
    });
    const shrunkAt = Date.now();
    const small = await waitFor(async () => {
      const r = await received();
      return r.rid === 'q' && r.reason === 'size' && r.frameWidth > 0 && r.frameWidth <= 320 ? { ...r, at: Date.now() } : null;
    }, { timeout: 20000, message: 'layer q for the small tile, its 320-pixel frames decoded' });
    const layerMsgs = (await signalsOf(vic)).filter((s) => s.dir === 'in' && s.m.type === 'video_layer' && s.t >= shrunkAt).map((s) => s.m.rid);
    assert.ok(layerMsgs.includes('q'), JSON.stringify(layerMsgs));
    const still = await waitFor(async () => {
      const r = await received();
      return r.rid === 'q' && r.framesDecoded > small.framesDecoded + 10 && r.decrypted > small.decrypted + 10 ? r : null;
    }, { timeout: 20000, message: 'frames of layer q decrypted and decoded' });
    t.diagnostic(`layer ${big.rid} at ${big.frameWidth} px -> ${small.rid} at ${small.frameWidth} px ${small.at - shrunkAt} ms after the resize; frames decoded ${small.framesDecoded} -> ${still.framesDecoded}, decrypted ${small.decrypted} -> ${still.decrypted}`);
    for (const p of [alice, vic]) await p.close();
  });
});
