// Liveness: a participant whose network silently dies shows as "reconnecting" to the others and
// is removed after the disconnect timeout.
//
// The victim runs in its own Chromium process, and the whole process tree is SIGSTOPped once the
// call is up: its TCP connection and ICE candidates stay open (the kernel still ACKs), but not a
// byte is sent — no ping, no close frame, no RTCP. That is a silent network death, not a closed tab.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  Harness,
  waitFor,
  waitForVideoFrom,
  tileOf,
  ensureArtifactsDir,
  freezeProcessTree,
  thawProcesses,
} from './harness.mjs';

/** `--disconnect-timeout` given to the server, in seconds. */
const DISCONNECT_TIMEOUT_S = 10;
/**
 * The server shows a participant as reconnecting after 3 s of silence (docs/protocol.md,
 * "Liveness"; it was 5 s). The test only requires that it is not immediate, i.e. it comes from
 * silence and not from a closed socket, and that it shows within 8 s.
 */
const RECONNECTING_NOT_BEFORE_S = 2;
const RECONNECTING_WITHIN_S = 8;

/** @param {number} pid @returns {Promise<string | null>} the state letter from /proc (T = stopped) */
async function procState(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

describe('liveness', { timeout: 150000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {{browser: import('playwright-core').Browser, server: import('playwright-core').BrowserServer, pid: number} | null} */
  let victim = null;
  /** @type {number[]} pids currently SIGSTOPped */
  let frozen = [];
  // If the test process is torn down abruptly, never leave stopped processes behind.
  const thawOnExit = () => thawProcesses(frozen);

  /** SIGCONT (always first: a stopped browser cannot close) and close the victim's browser. */
  async function releaseVictim() {
    thawProcesses(frozen);
    frozen = [];
    const v = victim;
    victim = null;
    if (!v) return;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let t;
    await Promise.race([v.browser.close().catch(() => {}), new Promise((r) => (t = setTimeout(r, 10000)))]);
    clearTimeout(t);
    await v.server.kill().catch(() => {}); // makes sure the process tree is gone
  }

  before(async () => {
    process.once('exit', thawOnExit);
    hx = await Harness.start({ serverArgs: ['--disconnect-timeout', String(DISCONNECT_TIMEOUT_S)] });
  });
  after(async () => {
    try {
      await releaseVictim();
    } finally {
      process.off('exit', thawOnExit);
      await hx?.close();
    }
  });

  it('a participant whose network silently dies shows as reconnecting, then is removed after the timeout', { timeout: 120000 }, async () => {
    const room = 'silent';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });

    victim = await hx.launchSeparateBrowser();
    const victimCtx = await victim.browser.newContext({ viewport: { width: 1000, height: 700 } });
    // Record every signaling message the victim sends, to freeze it right after a ping: then the
    // server's last sign of life from it is (within a few ms) the moment of the freeze.
    await victimCtx.addInitScript(() => {
      const w = /** @type {any} */ (window);
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        const r = send.call(this, data);
        try {
          w.__onWsSend?.(data);
        } catch {}
        return r;
      };
    });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', context: victimCtx });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);

    const bobTile = tileOf(alice, 'Bob');
    const badge = bobTile.locator('[data-testid=reconnecting]');
    assert.equal(await bobTile.getAttribute('data-connection'), 'connected');
    assert.equal(await badge.isVisible(), false, 'reconnecting badge shown while connected');

    // What Alice's SDK hears about Bob from now on, with timestamps (same clock as this process).
    await alice.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__liveness = [];
      w.hotlineRoom.on('participant_updated', (/** @type {any} */ p) => w.__liveness.push({ t: Date.now(), type: 'updated', name: p.name, connection: p.connection }));
      w.hotlineRoom.on('participant_left', (/** @type {any} */ e) => w.__liveness.push({ t: Date.now(), type: 'left', name: e.participant.name, reason: e.reason }));
    });

    // Freeze Bob's whole browser right after his next ping.
    const rootPid = victim.pid;
    const pingAt = await bob.evaluate(
      () =>
        new Promise((resolve) => {
          const w = /** @type {any} */ (window);
          w.__onWsSend = (/** @type {unknown} */ data) => {
            if (typeof data === 'string' && JSON.parse(data).type === 'ping') {
              w.__onWsSend = null;
              resolve(Date.now());
            }
          };
        }),
    );
    frozen = await freezeProcessTree(rootPid);
    const stoppedAt = Date.now();
    console.log(`[liveness] froze ${frozen.length} victim processes ${stoppedAt - pingAt} ms after its last ping`);
    assert.ok(frozen.length >= 3, `expected a browser, a renderer and more; stopped ${frozen}`);
    await waitFor(async () => (await Promise.all(frozen.map(procState))).every((s) => s === 'T' || s === 't'), {
      timeout: 2000,
      interval: 20,
      message: 'all victim processes stopped',
    });

    // Alice sees Bob as reconnecting: data-connection and the visible badge.
    await waitFor(async () => (await bobTile.getAttribute('data-connection')) === 'reconnecting' && (await badge.isVisible()), {
      timeout: RECONNECTING_WITHIN_S * 1000,
      interval: 100,
      message: "Bob's tile shows reconnecting",
    });
    const reconnectingAt = Date.now();
    assert.equal((await badge.textContent())?.trim(), 'Reconnecting…');
    const dir = await ensureArtifactsDir();
    await alice.screenshot({ path: join(dir, 'reconnecting.png') });

    // ... and Bob's tile is removed after the disconnect timeout.
    // (Polled every 100 ms: locator.waitFor backs off to 500 ms between checks, too coarse to measure.)
    await waitFor(async () => (await bobTile.count()) === 0, {
      timeout: (DISCONNECT_TIMEOUT_S + 10) * 1000,
      interval: 100,
      message: "Bob's tile removed",
    });
    const goneAt = Date.now();

    const events = await alice.evaluate(() => /** @type {any} */ (window).__liveness);
    const updated = events.find((/** @type {any} */ e) => e.type === 'updated' && e.name === 'Bob' && e.connection === 'reconnecting');
    const left = events.find((/** @type {any} */ e) => e.type === 'left' && e.name === 'Bob');
    const s = (/** @type {number} */ t) => ((t - stoppedAt) / 1000).toFixed(2);
    console.log(
      `[liveness] after the freeze: participant_updated(reconnecting) at ${updated ? s(updated.t) : '-'} s, badge seen at ${s(reconnectingAt)} s; ` +
        `participant_left(${left?.reason}) at ${left ? s(left.t) : '-'} s, tile gone at ${s(goneAt)} s (disconnect timeout ${DISCONNECT_TIMEOUT_S} s)`,
    );

    // The victim stayed frozen all along: no close frame could have been sent.
    assert.ok((await Promise.all(frozen.map(procState))).every((st) => st === null || st === 'T' || st === 't'), 'victim woke up during the test');

    assert.ok(updated, `no participant_updated(reconnecting) for Bob: ${JSON.stringify(events)}`);
    assert.ok(updated.t - stoppedAt >= RECONNECTING_NOT_BEFORE_S * 1000, `reconnecting too early: ${s(updated.t)} s`);
    assert.ok(reconnectingAt - stoppedAt <= RECONNECTING_WITHIN_S * 1000, `reconnecting badge too late: ${s(reconnectingAt)} s`);
    assert.ok(left, `no participant_left for Bob: ${JSON.stringify(events)}`);
    assert.equal(left.reason, 'timed_out');
    const goneS = (goneAt - stoppedAt) / 1000;
    assert.ok(goneS >= DISCONNECT_TIMEOUT_S - 1 && goneS <= DISCONNECT_TIMEOUT_S + 5, `tile removed ${goneS.toFixed(2)} s after the freeze, expected ~${DISCONNECT_TIMEOUT_S} s`);
    assert.equal(await alice.locator('.tile:not([data-local])').count(), 0);
    assert.equal(await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'connected');

    // Wake Bob up and close his browser; Alice ends up alone (Bob may rejoin briefly on waking).
    await releaseVictim();
    await waitFor(async () => (await alice.locator('.tile:not([data-local])').count()) === 0, { timeout: 15000, message: 'no remote tile left' });
    await alice.close();
  });
});
