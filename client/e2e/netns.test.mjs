// Real networks: the "victim" browser runs in its own network namespace, joined to the root
// namespace (where the server and the observer's browser are) by a veth pair. Its network then
// goes away for a few seconds (nftables drops everything), or its address changes under the call.
// Media must come back: by ICE on its own after a short outage, through an ICE restart after an
// address change. Everything (namespace, veth, nft table, wrapper script) is named after this
// process id, removed first if left over, and removed at the end even when a test fails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrowserNamespace } from './browser-netns.mjs';
import { Harness, CHROMIUM_ARGS, waitFor, waitForVideoFrom, waitForAudioFrom, cameraFramesByName, tileOf, ensureArtifactsDir, recordRoomEvents, eventsOf } from './harness.mjs';

const run = promisify(execFile);
const PID = process.pid;
/** The victim's namespace. */
const victimNs = new BrowserNamespace('hl', 200);
const NFT_TABLE = `hotline_netns_${PID}`;
/** How long every packet of the victim is dropped in test (a). */
const OUTAGE_MS = 3000;

/**
 * Wait until `page` decodes new frames of `name`'s camera (beyond `from`); returns when.
 * @param {import('playwright-core').Page} page @param {string} name @param {number} from
 */
async function waitFramesRising(page, name, from, timeout = 30000) {
  await waitFor(async () => ((await cameraFramesByName(page))[name] ?? 0) >= from + 3, { timeout, interval: 50, message: `framesDecoded from ${name} rising again` });
  return Date.now();
}

/** Whether anything listens on port 443 on every address (TCP or UDP): then the relay keeps an ephemeral port. */
function port443TakenEverywhere() {
  /** @type {string} */
  const out = execFileSync('ss', ['-Hltun']).toString();
  return out.split('\n').some((l) => /\s(0\.0\.0\.0|\*|\[::\]):443\s/.test(l));
}

/**
 * ICE as `page`'s browser sees it (what chrome://webrtc-internals would show): the state, the local
 * and remote candidates and the candidate pairs of both peer connections. For failure messages.
 * @param {import('playwright-core').Page} page
 */
function iceReport(page) {
  return page
    .evaluate(async () => {
      const room = /** @type {any} */ (window).hotlineRoom;
      /** @type {Record<string, any>} */
      const out = { mediaPath: room?.mediaPath };
      for (const which of ['publisherPc', 'subscriberPc']) {
        /** @type {RTCPeerConnection | undefined} */
        const pc = room?.[which];
        if (!pc) continue;
        const stats = [...(await pc.getStats()).values()];
        const cand = (/** @type {any} */ c) => `${c.candidateType}/${c.protocol}${c.relayProtocol ? `(via ${c.relayProtocol})` : ''} ${c.address}:${c.port}`;
        const byId = new Map(stats.map((s) => [s.id, s]));
        out[which] = {
          ice: pc.iceConnectionState,
          gathering: pc.iceGatheringState,
          servers: (pc.getConfiguration().iceServers ?? []).flatMap((s) => s.urls),
          local: stats.filter((s) => s.type === 'local-candidate').map(cand),
          remote: stats.filter((s) => s.type === 'remote-candidate').map(cand),
          pairs: stats
            .filter((s) => s.type === 'candidate-pair')
            .map((p) => `${cand(byId.get(p.localCandidateId) ?? {})} -> ${cand(byId.get(p.remoteCandidateId) ?? {})}: ${p.state}${p.nominated ? ' nominated' : ''} req ${p.requestsSent}/resp ${p.responsesReceived}`),
        };
      }
      return JSON.stringify(out, null, 1);
    })
    .catch((e) => `(no report: ${e})`);
}

describe('real networks (network namespace)', { timeout: 180000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {import('playwright-core').Browser | null} */
  let victimBrowser = null;
  const ip = (/** @type {number} */ host) => victimNs.ip(host);
  /** @param {string[]} args */
  const inNs = (...args) => victimNs.exec(...args);

  before(async () => {
    // Deleting the first address of a subnet must keep the second one (test b).
    await victimNs.create({ beforeAddress: (ns) => ns.exec('sysctl', '-q', '-w', `net.ipv4.conf.${ns.vethNs}.promote_secondaries=1`) });

    // The relay on 443, as on a real deployment where a strict network lets only that port out
    // (the server binds on the veth address, so only a wildcard listener on 443 would be in the way).
    hx = new Harness({ listen: `${ip(1)}:0`, serverArgs: port443TakenEverywhere() ? [] : ['--turn-port', '443'] });
    await hx.startServer();
    const insecureOk = `--unsafely-treat-insecure-origin-as-secure=${hx.url}`;
    hx.opts.chromiumArgs = [...CHROMIUM_ARGS, insecureOk];
    await hx.launchBrowser();

    // The victim's Chromium, inside the namespace.
    victimBrowser = await victimNs.launchChromium([...CHROMIUM_ARGS, insecureOk]);
  });

  after(async () => {
    await victimBrowser?.close().catch(() => {});
    await hx?.close();
    await inNs('nft', 'delete', 'table', 'inet', NFT_TABLE).catch(() => {});
    await victimNs.destroy();
  });

  /** Alice (root namespace) and Bob (the victim, in the namespace) in a call, both decoding. */
  async function call(room) {
    if (!victimBrowser) throw new Error('no victim browser');
    const ctx = await victimBrowser.newContext({ viewport: { width: 800, height: 600 } });
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', context: ctx });
    await Promise.all([waitForVideoFrom(alice, 'Bob', 45000), waitForVideoFrom(bob, 'Alice', 45000)]);
    await Promise.all([recordRoomEvents(alice), recordRoomEvents(bob)]);
    return { alice, bob, ctx };
  }

  it('the victim reached the server over the veth, over UDP', async () => {
    // A sanity check of the setup (and of the media-path indicator).
    const { alice, bob, ctx } = await call('netns-setup');
    try {
      for (const page of [alice, bob]) {
        await waitFor(() => page.evaluate(() => /** @type {any} */ (window).hotlineRoom.mediaPath === 'udp'), { timeout: 10000, message: 'mediaPath udp' });
        await waitFor(async () => (await page.getAttribute('[data-testid=call]', 'data-media-path')) === 'udp', { timeout: 10000, message: 'data-media-path udp' });
      }
      assert.match(hx.log(), new RegExp(`media path.*${ip(2).replace(/\./g, '\\.')}`), 'the server saw media from the namespace');
      // What the user sees: the settings popover tells the path.
      await bob.click('[data-testid=settings-toggle]');
      assert.equal(await bob.locator('[data-testid=media-path]').textContent(), 'Connected over UDP');
      await bob.screenshot({ path: join(await ensureArtifactsDir(), 'netns-media-path.png') });
    } finally {
      await alice.close();
      await ctx.close();
    }
  });

  it('all traffic of the victim dropped for a few seconds: the call goes on', async () => {
    const { alice, bob, ctx } = await call('netns-outage');
    try {
      // The observer's view of Bob's tile, polled through the outage.
      const tileStates = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const s = await tileOf(alice, 'Bob').getAttribute('data-connection').catch(() => null);
          if (s && tileStates[tileStates.length - 1]?.state !== s) tileStates.push({ t: Date.now(), state: s });
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      const rules = `table inet ${NFT_TABLE} {\n chain in { type filter hook input priority -300; policy drop; }\n chain out { type filter hook output priority -300; policy drop; }\n}\n`;
      const rulesFile = join(victimNs.tmp, 'drop-all.nft');
      await writeFile(rulesFile, rules);
      await inNs('nft', '-f', rulesFile);
      const cutAt = Date.now();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const frozen = (await cameraFramesByName(alice)).Bob ?? 0;
      await inNs('nft', 'delete', 'table', 'inet', NFT_TABLE);
      const backAt = Date.now();

      const [aliceSeesBob, bobSeesAlice] = await Promise.all([
        waitFramesRising(alice, 'Bob', frozen),
        (async () => waitFramesRising(bob, 'Alice', (await cameraFramesByName(bob)).Alice ?? 0))(),
      ]);
      // Signaling may take longer than media to come back (TCP retransmission backoff): wait for it.
      await waitFor(async () => (await tileOf(alice, 'Bob').getAttribute('data-connection')) === 'connected', { timeout: 20000, message: "Bob's tile connected again" });
      polling = false;
      await poller;

      const aliceEvents = await eventsOf(alice);
      const bobEvents = await eventsOf(bob);
      const rel = (/** @type {number} */ t) => `${((t - backAt) / 1000).toFixed(2)} s`;
      console.log(
        `[netns outage] ${OUTAGE_MS} ms drop-all; after the network came back: Alice decodes Bob again at +${rel(aliceSeesBob)}, ` +
          `Bob decodes Alice again at +${rel(bobSeesAlice)}; Alice's tile of Bob: ${tileStates.map((s) => `${s.state}@${rel(s.t)}`).join(', ')}; ` +
          `Bob's events: ${bobEvents.map((e) => `${e.type}${e.pc ? `(${e.pc}${e.state ? ` ${e.state}` : ''})` : ''}@${rel(e.t)}`).join(', ')}; cut at ${rel(cutAt)}`,
      );
      assert.ok(aliceSeesBob - backAt <= 2000, `Alice decodes Bob again within 2 s of the network coming back (took ${aliceSeesBob - backAt} ms)`);
      const bobId = await bob.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);
      assert.ok(
        tileStates.some((s) => s.state === 'reconnecting') || aliceEvents.some((e) => e.type === 'participant_updated' && e.id === bobId && e.connection === 'reconnecting'),
        `Alice saw Bob reconnecting: tile ${JSON.stringify(tileStates)}, events ${JSON.stringify(aliceEvents)}`,
      );
      assert.ok(!aliceEvents.some((e) => (e.type === 'participant_left' || e.type === 'participant_joined') && (e.id === bobId || e.name === 'Bob')), `no leave nor second join of Bob: ${JSON.stringify(aliceEvents)}`);
      assert.ok(!bobEvents.some((e) => e.type === 'disconnected'), JSON.stringify(bobEvents));
    } finally {
      await alice.close();
      await ctx.close();
    }
  });

  it('only the HTTP port and the relay port open (no UDP at all): the victim joins through the relay over TCP', async () => {
    const relayLine = hx.log().match(/Relay \(TURN\): UDP and TCP (\d+\.\d+\.\d+\.\d+):(\d+)/);
    if (!relayLine) throw new Error(`the server did not print its relay address:\n${hx.log()}`);
    const httpPort = hx.port;
    const turnPort = Number(relayLine[2]);
    const media = hx.mediaAddrs();
    if (!media) throw new Error('the server did not print its media addresses');
    assert.ok(![httpPort, turnPort].includes(Number(media.tcp.split(':').pop())), `ICE over TCP (${media.tcp}) is on another port, so it is blocked`);
    // Bob's network: no UDP either way; TCP only to the HTTP port (page, WebSocket) and the relay.
    const rules =
      `table inet ${NFT_TABLE} {\n` +
      ` chain in { type filter hook input priority 0; policy drop;\n  iif lo accept\n  meta l4proto udp drop\n  ct state established,related accept\n }\n` +
      ` chain out { type filter hook output priority 0; policy drop;\n  oif lo accept\n  meta l4proto udp drop\n  tcp dport { ${httpPort}, ${turnPort} } accept\n  ct state established,related accept\n }\n` +
      `}\n`;
    const rulesFile = join(victimNs.tmp, 'relay-tcp-only.nft');
    await writeFile(rulesFile, rules);
    await inNs('nft', '-f', rulesFile);
    const room = 'netns-relay-tcp';
    const logBefore = hx.log().length;
    const ctx = await /** @type {import('playwright-core').Browser} */ (victimBrowser).newContext({ viewport: { width: 800, height: 600 } });
    /** @type {import('playwright-core').Page | null} */
    let alice = null;
    /** @type {import('playwright-core').Page | null} */
    let bob = null;
    try {
      alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
      const token = await hx.mintToken({ room, identity: 'bob', name: 'Bob' });
      const joinAt = Date.now();
      bob = await hx.join({ room, identity: 'bob', name: 'Bob', token, context: ctx });
      const connectedAt = Date.now();
      const bobPage = bob;
      const firstFrameAt = await waitFor(async () => ((await cameraFramesByName(bobPage)).Alice ?? 0) > 0 && Date.now(), { timeout: 45000, interval: 50, message: "Bob decodes Alice's first frame" }).catch(
        async (e) => assert.fail(`${e.message}\nBob's ICE: ${await iceReport(bobPage)}\nserver:\n${hx.log().slice(-4000)}`),
      );
      await Promise.all([waitForVideoFrom(alice, 'Bob', 45000), waitForVideoFrom(bob, 'Alice', 45000), waitForAudioFrom(alice, 'Bob', 45000), waitForAudioFrom(bob, 'Alice', 45000)]);
      const allAt = Date.now();

      await waitFor(() => bobPage.evaluate(() => /** @type {any} */ (window).hotlineRoom.mediaPath === 'relay-tcp'), { timeout: 10000, message: 'mediaPath relay-tcp' }).catch(
        async (e) => assert.fail(`${e.message}\nBob's ICE: ${await iceReport(bobPage)}`),
      );
      await waitFor(async () => (await bobPage.getAttribute('[data-testid=call]', 'data-media-path')) === 'relay-tcp', { timeout: 10000, message: 'data-media-path relay-tcp' });
      // Both of Bob's connections (not only the one the indicator reads first) go through the relay over TCP.
      const paths = await bobPage.evaluate(async (sdk) => {
        const { selectedTransport } = await import(sdk); // the SDK's own reading, as for the indicator
        const room = /** @type {any} */ (window).hotlineRoom;
        return { publisher: await selectedTransport(room.publisherPc), subscriber: await selectedTransport(room.subscriberPc) };
      }, '/sdk/room.js');
      assert.deepEqual(paths, { publisher: 'relay-tcp', subscriber: 'relay-tcp' }, `Bob's ICE: ${await iceReport(bobPage)}`);
      // The server relayed for Bob, from his namespace, over TCP only (his UDP never got through).
      const bobId = await bobPage.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);
      const allocated = hx
        .log()
        .slice(logBefore)
        .split('\n')
        .filter((l) => l.includes('relay allocated') && l.includes(`participant=${bobId}`));
      const fromBob = new RegExp(`client=${ip(2).replace(/\./g, '\\.')}:\\d+`);
      assert.ok(
        allocated.some((l) => /transport="?tcp"?/.test(l) && fromBob.test(l)),
        `the server allocated a relay over TCP for ${bobId} from ${ip(2)}:\n${allocated.join('\n') || hx.log().slice(logBefore).slice(-4000)}`,
      );
      assert.ok(!allocated.some((l) => /transport="?udp"?/.test(l)), `no relay allocation over UDP for Bob:\n${allocated.join('\n')}`);
      // What the user sees: the settings popover tells the path.
      await bobPage.click('[data-testid=settings-toggle]');
      assert.equal(await bobPage.locator('[data-testid=media-path]').textContent(), 'Connected through the relay over TCP (your network blocks the direct way)');
      await bobPage.screenshot({ path: join(await ensureArtifactsDir(), 'netns-relay-tcp.png') });
      console.log(
        `[netns relay-tcp] TURN ${relayLine[1]}:${turnPort}, HTTP ${httpPort}, ICE-TCP ${media.tcp} blocked; from Bob's join: ` +
          `connected (signaling) at +${connectedAt - joinAt} ms, first frame of Alice decoded at +${firstFrameAt - joinAt} ms, ` +
          `video and audio both ways at +${allAt - joinAt} ms; server: ${allocated.map((l) => l.replace(/^.*relay allocated\s*/, '')).join(' | ')}`,
      );
    } finally {
      await inNs('nft', 'delete', 'table', 'inet', NFT_TABLE).catch(() => {});
      await alice?.close();
      await ctx.close();
    }
  });

  it("the victim's address changes during the call: media resumes through an ICE restart", async () => {
    const { alice, bob, ctx } = await call('netns-readdress');
    try {
      const logBefore = hx.log().length;
      const framesA = (await cameraFramesByName(alice)).Bob ?? 0;
      const framesB = (await cameraFramesByName(bob)).Alice ?? 0;
      await run('ip', ['-n', victimNs.name, 'addr', 'add', `${ip(3)}/24`, 'dev', victimNs.vethNs]);
      await run('ip', ['-n', victimNs.name, 'addr', 'del', `${ip(2)}/24`, 'dev', victimNs.vethNs]);
      const changedAt = Date.now();
      // Media stops (frames stall) and then comes back through the new address.
      const newPath = new RegExp(`media path.*${ip(3).replace(/\./g, '\\.')}`);
      await waitFor(() => newPath.test(hx.log().slice(logBefore)), { timeout: 40000, interval: 100, message: `the server logs a media path from ${ip(3)}` });
      const pathAt = Date.now();
      const [aliceSeesBob, bobSeesAlice] = await Promise.all([
        waitFramesRising(alice, 'Bob', (await cameraFramesByName(alice)).Bob ?? framesA, 30000),
        waitFramesRising(bob, 'Alice', (await cameraFramesByName(bob)).Alice ?? framesB, 30000),
      ]);
      const bobEvents = await eventsOf(bob);
      const aliceEvents = await eventsOf(alice);
      const restarts = await bob.evaluate(() => /** @type {any} */ (window).hotlineRoom.iceRestarts);
      const rel = (/** @type {number} */ t) => `${((t - changedAt) / 1000).toFixed(2)} s`;
      const serverLines = hx
        .log()
        .slice(logBefore)
        .split('\n')
        .filter((l) => /media path|ICE restart|reconnect|restored|ice state|keyframe|connected/i.test(l));
      console.log(
        `[netns readdress] ${ip(2)} -> ${ip(3)}; server logged a media path from ${ip(3)} at +${rel(pathAt)}; ` +
          `Alice decodes Bob again at +${rel(aliceSeesBob)}, Bob decodes Alice again at +${rel(bobSeesAlice)}; ICE restarts by Bob: ${JSON.stringify(restarts)}; ` +
          `Bob's events: ${bobEvents.map((e) => `${e.type}${e.pc ? `(${e.pc}${e.state ? ` ${e.state}` : ''})` : ''}@${rel(e.t)}`).join(', ')}\n` +
          `[netns readdress] server:\n${serverLines.join('\n')}`,
      );
      assert.ok(restarts.publisher + restarts.subscriber > 0 || /ICE restart asked/.test(hx.log().slice(logBefore)), 'an ICE restart happened');
      assert.ok(!aliceEvents.some((e) => e.type === 'participant_left'), `Bob never left: ${JSON.stringify(aliceEvents)}`);
      assert.ok(!bobEvents.some((e) => e.type === 'disconnected'), JSON.stringify(bobEvents));
    } finally {
      await alice.close();
      await ctx.close();
    }
  });
});
