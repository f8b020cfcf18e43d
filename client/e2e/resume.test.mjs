// Reconnection for real: the signaling connection is cut under a running call (through a TCP
// proxy), stalls silently, or the server itself is SIGKILLed and restarted. The SDK resumes the
// same session when the server still has it (others see "reconnecting" then "connected", never a
// leave), and joins again from scratch when it does not (close 4015 after a restart).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitFor, waitForVideoFrom, cameraFramesByName, tileOf, ensureArtifactsDir, recordRoomEvents, eventsOf } from './harness.mjs';

/** The outage of the signaling path in the "cut" scenario. */
const OUTAGE_MS = 3000;
/** How long the server stays down between SIGKILL and restart. */
const SERVER_DOWN_MS = 1500;
/** `--shutdown-grace` of the graceful-restart test, in seconds. */
const GRACE_S = 2;

/**
 * Record every change of the `data-connection` of `name`'s tile in `page` (MutationObserver: exact
 * times), and mark the tile element to check later that it stayed the same element.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
function watchTile(page, name) {
  return page.evaluate((name) => {
    const w = /** @type {any} */ (window);
    const find = () =>
      /** @type {HTMLElement | undefined} */ ([...document.querySelectorAll('.tile[data-participant-name]')].find((t) => t.getAttribute('data-participant-name') === name && !t.hasAttribute('data-local')));
    const first = find();
    if (!first) throw new Error(`no tile for ${name}`);
    w.__tileEl = first;
    w.__tileLog = [];
    let last = first.dataset.connection;
    new MutationObserver(() => {
      const t = find();
      const c = t ? t.dataset.connection : 'gone';
      if (c !== last) {
        last = c;
        w.__tileLog.push({ t: Date.now(), connection: c, sameElement: t === w.__tileEl });
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-connection'] });
  }, name);
}

/** @param {import('playwright-core').Page} page @returns {Promise<{t: number, connection: string, sameElement: boolean}[]>} */
const tileLogOf = (page) => page.evaluate(() => /** @type {any} */ (window).__tileLog);

/**
 * Record what the connection banner of `page` shows, from now on.
 * @param {import('playwright-core').Page} page
 */
function watchBanner(page) {
  return page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__bannerLog = [];
    const b = /** @type {HTMLElement} */ (document.querySelector('[data-testid=connection-banner]'));
    let last = '';
    const read = () => {
      const now = b.hidden ? '(hidden)' : `${b.dataset.state}: ${b.textContent?.trim()}`;
      if (now !== last) {
        last = now;
        w.__bannerLog.push({ t: Date.now(), shown: now });
      }
    };
    read();
    new MutationObserver(read).observe(b, { attributes: true, childList: true, subtree: true, characterData: true });
  });
}

/** @param {import('playwright-core').Page} page @returns {Promise<{t: number, shown: string}[]>} */
const bannerLogOf = (page) => page.evaluate(() => /** @type {any} */ (window).__bannerLog);

/** @param {import('playwright-core').Page} page */
const roomInfo = (page) =>
  page.evaluate(() => {
    const room = /** @type {any} */ (window).hotlineRoom;
    return { state: room.state, id: room.localParticipant.id, sameRoom: room === /** @type {any} */ (window).__roomMarker };
  });

/** @param {import('playwright-core').Page} page */
const markRoom = (page) =>
  page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__roomMarker = w.hotlineRoom;
    w.__pcs = [w.hotlineRoom.publisherPc, w.hotlineRoom.subscriberPc];
    w.__marker = 1;
  });

/**
 * Before the page loads: log every WebSocket's opening messages (`join` / `resume`, by type only:
 * never their secrets) and close codes, in `window.__wsLog`.
 * @param {import('playwright-core').Page} page
 */
function logSockets(page) {
  return page.addInitScript(() => {
    const w = /** @type {any} */ (window);
    w.__wsLog = [];
    const Native = WebSocket;
    w.WebSocket = class extends Native {
      /** @param {string | URL} url @param {string | string[]} [protocols] */
      constructor(url, protocols) {
        super(url, protocols);
        this.addEventListener('close', (e) => w.__wsLog.push({ t: Date.now(), close: e.code }));
      }
      /** @param {any} data */
      send(data) {
        try {
          const type = JSON.parse(data).type;
          if (type === 'join' || type === 'resume') w.__wsLog.push({ t: Date.now(), sent: type });
        } catch {}
        return super.send(data);
      }
    };
  });
}

/** @param {import('playwright-core').Page} page @returns {Promise<string[]>} e.g. ['join', 'close 1006', 'resume'] */
const socketLogOf = (page) =>
  page.evaluate(() => /** @type {any[]} */ (/** @type {any} */ (window).__wsLog).map((e) => (e.sent ? e.sent : `close ${e.close}`)));

/**
 * The room's peer connections and participants, for failure messages.
 * @param {import('playwright-core').Page} page
 */
const diagnose = (page) =>
  page.evaluate(() => {
    const room = /** @type {any} */ (window).hotlineRoom;
    /** @param {RTCPeerConnection | null} pc */
    const pcState = (pc) => pc && { signaling: pc.signalingState, ice: pc.iceConnectionState, conn: pc.connectionState, mids: pc.getTransceivers().map((t) => `${t.mid}:${t.currentDirection}`) };
    return JSON.stringify({
      state: room.state,
      id: room.localParticipant.id,
      publisher: pcState(room.publisherPc),
      subscriber: pcState(room.subscriberPc),
      participants: [...room.participants.values()].map((p) => ({ name: p.name, connection: p.connection, tracks: p.tracks.length, subscribed: [...p.subscribedTracks.values()].map((t) => t.source) })),
      subs: [...room._subsByMid.keys()],
    });
  });

/**
 * Both pages decode each other's camera; on failure, the rooms' states are in the message.
 * @param {import('playwright-core').Page} alice @param {import('playwright-core').Page} bob @param {number} timeout
 */
async function waitForVideoBothWays(alice, bob, timeout) {
  try {
    await Promise.all([waitForVideoFrom(alice, 'Bob', timeout), waitForVideoFrom(bob, 'Alice', timeout)]);
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message}\nAlice: ${await diagnose(alice)}\nBob: ${await diagnose(bob)}`);
  }
}

/** @param {number} t0 @param {number} t */
const secs = (t0, t) => `${((t - t0) / 1000).toFixed(2)} s`;

describe('resume', { timeout: 240000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('a cut signaling connection resumes the same session while media goes on; the others see no leave', { timeout: 90000 }, async () => {
    const room = 'cut';
    const proxy = await hx.startProxy();
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', baseUrl: proxy.url, beforeLoad: logSockets });
    assert.match(await bob.evaluate(() => location.origin), new RegExp(`:${proxy.port}$`));
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);

    const bobId = (await roomInfo(bob)).id;
    await Promise.all([markRoom(bob), recordRoomEvents(alice), recordRoomEvents(bob), watchTile(alice, 'Bob'), watchTile(bob, 'Alice'), watchBanner(bob)]);
    assert.equal(await tileOf(alice, 'Bob').getAttribute('data-connection'), 'connected');

    // Cut: RST on both sides of every connection through the proxy, refuse new ones for a while.
    proxy.refuse();
    const cut = proxy.dropAll();
    const cutAt = Date.now();
    assert.ok(cut >= 1, 'no connection went through the proxy');
    const framesAtCut = (await cameraFramesByName(alice)).Bob ?? 0;

    // Alice sees Bob reconnecting (the server got an RST: an abrupt loss, not a leave) ...
    await waitFor(async () => (await tileOf(alice, 'Bob').getAttribute('data-connection')) === 'reconnecting', {
      timeout: OUTAGE_MS,
      interval: 50,
      message: "Bob's tile shows reconnecting during the outage",
    });
    // ... and Bob sees that he lost the connection.
    const banner = bob.locator('[data-testid=connection-banner]');
    await waitFor(async () => (await banner.getAttribute('data-state')) === 'reconnecting' && (await banner.isVisible()), {
      timeout: OUTAGE_MS,
      interval: 50,
      message: "Bob's reconnecting banner",
    });
    assert.equal((await banner.textContent())?.trim(), 'Connection lost. Reconnecting…');
    await bob.screenshot({ path: join(await ensureArtifactsDir(), 'reconnecting-banner.png') });

    await new Promise((r) => setTimeout(r, cutAt + OUTAGE_MS - Date.now())); // the outage itself
    const framesDuringOutage = (await cameraFramesByName(alice)).Bob ?? 0;
    const acceptAt = proxy.accept();

    await waitFor(async () => (await roomInfo(bob)).state === 'connected', { timeout: 15000, interval: 50, message: 'Bob connected again' });
    await waitFor(async () => (await tileLogOf(alice)).some((e) => e.connection === 'connected' && e.t >= acceptAt), {
      timeout: 15000,
      interval: 50,
      message: "Bob's tile connected again in Alice's page",
    });
    const tileLog = await tileLogOf(alice);
    const back = tileLog.find((e) => e.connection === 'connected' && e.t >= acceptAt);
    const backMs = /** @type {{t: number}} */ (back).t - acceptAt;
    const bobEvents = await eventsOf(bob);
    const aliceEvents = await eventsOf(alice);
    const reconnected = bobEvents.find((e) => e.type === 'reconnected');
    console.log(
      `[resume] cut ${cut} connections; Alice saw Bob reconnecting at +${secs(cutAt, tileLog[0]?.t ?? NaN)}; proxy accepting again at +${secs(cutAt, acceptAt)}; ` +
        `Bob resumed at +${secs(cutAt, reconnected?.t ?? NaN)}; Bob's tile connected again ${backMs} ms after the proxy accepted (${proxy.refused} connection attempts refused)`,
    );

    // Same session: same participant, same Room, same peer connections; a resume, not a rejoin.
    const info = await roomInfo(bob);
    assert.equal(info.id, bobId, 'Bob has a new participant id');
    assert.ok(info.sameRoom, 'window.hotlineRoom was replaced');
    assert.ok(await bob.evaluate(() => { const w = /** @type {any} */ (window); return w.__pcs[0] === w.hotlineRoom.publisherPc && w.__pcs[1] === w.hotlineRoom.subscriberPc; }), 'peer connections were replaced');
    assert.deepEqual(bobEvents.filter((e) => e.type === 'reconnected').map((e) => e.resumed), [true], `Bob: ${JSON.stringify(bobEvents)}`);
    // One join at the start; after the cut, resume attempts (refused by the proxy: 1006) until one works.
    const sockets = await socketLogOf(bob);
    console.log(`[resume] Bob's sockets: ${sockets.join(', ')}`);
    assert.equal(sockets.filter((s) => s === 'join').length, 1, sockets.join(', '));
    assert.equal(sockets[sockets.length - 1], 'resume', sockets.join(', '));
    assert.ok(!bobEvents.some((e) => e.type === 'participant_left' || e.type === 'participant_joined' || e.type === 'disconnected'), `Bob's participants churned: ${JSON.stringify(bobEvents)}`);

    // Alice: reconnecting, then connected; never a leave nor a second join; the same tile all along.
    assert.ok(!aliceEvents.some((e) => e.type === 'participant_left'), `Alice got participant_left: ${JSON.stringify(aliceEvents)}`);
    assert.ok(!aliceEvents.some((e) => e.type === 'participant_joined'), `Alice got participant_joined: ${JSON.stringify(aliceEvents)}`);
    const bobUpdates = aliceEvents.filter((e) => e.type === 'participant_updated' && e.id === bobId).map((e) => e.connection);
    assert.deepEqual(bobUpdates, ['reconnecting', 'connected'], `Alice's updates about Bob: ${JSON.stringify(aliceEvents)}`);
    assert.ok(tileLog.every((e) => e.sameElement), `Bob's tile was re-created: ${JSON.stringify(tileLog)}`);
    assert.deepEqual(tileLog.map((e) => e.connection), ['reconnecting', 'connected']);
    assert.deepEqual((await tileLogOf(bob)).map((e) => e.connection), [], "Alice's tile in Bob's page changed");
    assert.ok(backMs < 2000, `Bob's tile came back ${backMs} ms after the proxy accepted again (limit 2000 ms)`);

    // Media never needed the signaling connection: video went on during the outage and after.
    assert.ok(framesDuringOutage > framesAtCut, `Alice decoded no frame from Bob during the outage (${framesAtCut} -> ${framesDuringOutage})`);
    const framesAfter = (await cameraFramesByName(alice)).Bob ?? 0;
    await waitFor(async () => ((await cameraFramesByName(alice)).Bob ?? 0) > framesAfter + 10, { timeout: 10000, message: 'video from Bob rising after the resume' });
    const aliceFrames = (await cameraFramesByName(bob)).Alice ?? 0;
    await waitFor(async () => ((await cameraFramesByName(bob)).Alice ?? 0) > aliceFrames + 10, { timeout: 10000, message: 'video from Alice rising after the resume' });

    // The banner said so, and goes away.
    await waitFor(async () => (await banner.isHidden()) || (await banner.getAttribute('data-state')) === 'reconnected', { timeout: 5000, message: 'banner gone after the resume' });
    const shown = (await bannerLogOf(bob)).map((e) => e.shown);
    assert.ok(shown.includes('reconnecting: Connection lost. Reconnecting…'), JSON.stringify(shown));
    assert.ok(!shown.some((s) => s.startsWith('rejoined')), `said rejoined after a resume: ${JSON.stringify(shown)}`);
    await waitFor(() => banner.isHidden(), { timeout: 5000, message: 'banner hidden' });

    // The session still works both ways over the new connection: chat, mute.
    await bob.evaluate(() => /** @type {any} */ (window).hotlineRoom.sendChat('back again'));
    await waitFor(() => alice.locator('[data-testid=chat-list]').getByText('back again').count(), { timeout: 5000, message: 'chat after the resume' });
    await alice.close();
    await bob.close();
  });

  it('a signaling path that silently stalls is given up after ~4 s and the session resumed', { timeout: 90000 }, async () => {
    const room = 'stall';
    const proxy = await hx.startProxy();
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', baseUrl: proxy.url });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);
    const bobId = (await roomInfo(bob)).id;
    await Promise.all([markRoom(bob), recordRoomEvents(alice), recordRoomEvents(bob)]);

    // Nothing forwarded either way, nothing closed: neither end can tell but by silence.
    const stalled = proxy.stallAll();
    const stalledAt = Date.now();
    assert.ok(stalled >= 1);
    await waitFor(async () => (await eventsOf(bob)).some((e) => e.type === 'reconnected'), { timeout: 15000, interval: 50, message: 'Bob reconnected' });
    const bobEvents = await eventsOf(bob);
    const lost = bobEvents.find((e) => e.type === 'reconnecting');
    const resumed = bobEvents.find((e) => e.type === 'reconnected');
    console.log(`[resume] stalled ${stalled} connections; Bob gave the socket up at +${secs(stalledAt, lost?.t ?? NaN)}, resumed at +${secs(stalledAt, resumed?.t ?? NaN)}`);
    assert.ok(lost && lost.t - stalledAt >= 3000 && lost.t - stalledAt <= 6000, `silence detected at ${lost && lost.t - stalledAt} ms, expected ~4 s`);
    assert.equal(resumed.resumed, true);
    assert.equal((await roomInfo(bob)).id, bobId);
    await waitFor(async () => (await tileOf(alice, 'Bob').getAttribute('data-connection')) === 'connected', { timeout: 5000, message: "Bob's tile connected" });

    // The stalled connection dies later: the server must ignore it (it was replaced).
    proxy.dropAll();
    const framesBefore = (await cameraFramesByName(alice)).Bob ?? 0;
    await waitFor(async () => ((await cameraFramesByName(alice)).Bob ?? 0) > framesBefore + 20, { timeout: 10000, message: 'video from Bob rising' });
    assert.equal(await tileOf(alice, 'Bob').getAttribute('data-connection'), 'connected');
    const aliceEvents = await eventsOf(alice);
    assert.ok(!aliceEvents.some((e) => e.type === 'participant_left' || e.type === 'participant_joined'), `Alice: ${JSON.stringify(aliceEvents)}`);
    assert.equal((await roomInfo(bob)).state, 'connected');
    await alice.close();
    await bob.close();
  });

  it('after the server is killed and restarted, both pages rejoin by themselves and see each other again', { timeout: 90000 }, async () => {
    const room = 'restart';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', beforeLoad: logSockets });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', beforeLoad: logSockets });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);
    const before = await Promise.all([roomInfo(alice), roomInfo(bob)]);
    await Promise.all([alice, bob].flatMap((p) => [markRoom(p), recordRoomEvents(p), watchBanner(p)]));

    await hx.killServer();
    const killedAt = Date.now();
    await waitFor(async () => (await Promise.all([eventsOf(alice), eventsOf(bob)])).every((ev) => ev.some((e) => e.type === 'reconnecting')), {
      timeout: 8000,
      interval: 50,
      message: 'both pages noticed the server is gone',
    });
    // Down for a moment (the pages' first attempts are refused), then up on the same port.
    await new Promise((r) => setTimeout(r, SERVER_DOWN_MS));
    await hx.restartServer();
    const restartedAt = Date.now();

    await waitForVideoBothWays(alice, bob, 15000);
    const videoAt = Date.now();
    const after = await Promise.all([roomInfo(alice), roomInfo(bob)]);
    const events = await Promise.all([eventsOf(alice), eventsOf(bob)]);
    const banners = await Promise.all([bannerLogOf(alice), bannerLogOf(bob)]);
    const rejoinedAt = events.map((ev) => ev.find((e) => e.type === 'reconnected')?.t ?? NaN);
    console.log(
      `[resume] server killed; restarted ${secs(killedAt, restartedAt)} later; Alice rejoined at +${secs(restartedAt, rejoinedAt[0])}, ` +
        `Bob at +${secs(restartedAt, rejoinedAt[1])} after the restart; both decode each other ${secs(restartedAt, videoAt)} after the restart`,
    );
    for (const [i, name] of ['Alice', 'Bob'].entries()) {
      assert.equal(after[i].state, 'connected', name);
      assert.ok(after[i].sameRoom, `${name}: window.hotlineRoom was replaced`);
      assert.notEqual(after[i].id, before[i].id, `${name}: a restarted server cannot have resumed the session`);
      assert.deepEqual(events[i].filter((e) => e.type === 'reconnected').map((e) => e.resumed), [false], `${name}: ${JSON.stringify(events[i])}`);
      assert.ok(!events[i].some((e) => e.type === 'disconnected'), `${name}: ${JSON.stringify(events[i])}`);
      const shown = banners[i].map((e) => e.shown);
      assert.ok(shown.includes('reconnecting: Connection lost. Reconnecting…'), `${name}: ${JSON.stringify(shown)}`);
      assert.ok(shown.includes('rejoined: Rejoined the call'), `${name}: ${JSON.stringify(shown)}`);
      // The restarted server did not know the session: resume closed with 4015, then a join.
      const sockets = await socketLogOf([alice, bob][i]);
      console.log(`[resume] ${name}'s sockets: ${sockets.join(', ')}`);
      const tail = sockets.slice(sockets.lastIndexOf('close 4015') - 1);
      assert.deepEqual(tail, ['resume', 'close 4015', 'join'], `${name}: ${sockets.join(', ')}`);
    }
    // No reload: the marker set before the kill is still there.
    assert.deepEqual(await Promise.all([alice, bob].map((p) => p.evaluate(() => /** @type {any} */ (window).__marker))), [1, 1]);
    assert.ok(videoAt - restartedAt < 15000);
    assert.equal(await alice.locator('.tile:not([data-local])').count(), 1);
    assert.equal(await bob.locator('.tile:not([data-local])').count(), 1);
    await alice.close();
    await bob.close();
  });
});

describe('graceful restart', { timeout: 120000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start({ serverArgs: ['--shutdown-grace', String(GRACE_S)] });
  });
  after(async () => {
    await hx?.close();
  });

  it('shutting_down shows a calm banner; after 4010 and the restart the page rejoins', { timeout: 90000 }, async () => {
    const room = 'graceful';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', beforeLoad: logSockets });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);
    await Promise.all([markRoom(alice), recordRoomEvents(alice), watchBanner(alice)]);

    const stopped = hx.killServer('SIGTERM');
    const banner = alice.locator('[data-testid=connection-banner]');
    await waitFor(async () => (await banner.getAttribute('data-state')) === 'restarting' && (await banner.isVisible()), {
      timeout: 5000,
      interval: 50,
      message: 'the restarting banner',
    });
    assert.equal((await banner.textContent())?.trim(), 'The server is restarting. The call will reconnect by itself.');
    await alice.screenshot({ path: join(await ensureArtifactsDir(), 'server-restarting-banner.png') });
    // The call goes on during the grace period.
    const frames = (await cameraFramesByName(alice)).Bob ?? 0;
    await waitFor(async () => ((await cameraFramesByName(alice)).Bob ?? 0) > frames + 5, { timeout: 5000, message: 'video during the grace period' });
    await stopped;
    await hx.restartServer();

    await waitForVideoBothWays(alice, bob, 20000);
    const events = await eventsOf(alice);
    const sockets = await socketLogOf(alice);
    const shown = (await bannerLogOf(alice)).map((e) => e.shown);
    console.log(`[resume] graceful restart: Alice's sockets: ${sockets.join(', ')}; banners: ${shown.join(' | ')}`);
    assert.equal(events.find((e) => e.type === 'reconnecting')?.code, 4010, JSON.stringify(events));
    assert.deepEqual(events.filter((e) => e.type === 'reconnected').map((e) => e.resumed), [false], JSON.stringify(events));
    // After 4010 the session cannot come back (the server restarts): no resume, a join.
    assert.ok(sockets.includes('close 4010') && !sockets.includes('resume'), sockets.join(', '));
    assert.ok(shown.includes('rejoined: Rejoined the call'), JSON.stringify(shown));
    assert.equal(await alice.evaluate(() => /** @type {any} */ (window).__marker), 1);
    await alice.close();
    await bob.close();
  });
});
