// Networks that block UDP: with every UDP packet to the server's media port
// dropped (nftables, on loopback, for this run's port only), two participants
// still see and hear each other, through ICE over TCP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Harness, waitFor, waitForVideoFrom, waitForAudioFrom } from './harness.mjs';

const run = promisify(execFile);
const TABLE = `hotline_e2e_udp_${process.pid}`;

/** The transport of the selected ICE candidate pair of a peer connection. */
async function selectedTransport(page, which) {
  return page.evaluate(async (which) => {
    const pc = /** @type {any} */ (window).hotlineRoom?.[which];
    if (!pc) return null;
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = stats.get(s.selectedCandidatePairId);
        const local = pair && stats.get(pair.localCandidateId);
        return local?.protocol ?? null;
      }
    }
    return null;
  }, which);
}

describe('UDP blocked', { timeout: 120000 }, () => {
  /** @type {Harness} */
  let hx;
  let blocked = false;
  before(async () => {
    // Leftovers of an earlier run of this process id, if any.
    await run('nft', ['delete', 'table', 'inet', TABLE]).catch(() => {});
    hx = await Harness.start();
    const log = hx.serverLog.join('');
    const m = log.match(/Media: UDP 127\.0\.0\.1:(\d+)/);
    assert.ok(m, `server printed its media port:\n${log}`);
    const port = m[1];
    await run('nft', ['add', 'table', 'inet', TABLE]);
    await run('nft', ['add', 'chain', 'inet', TABLE, 'out', '{ type filter hook output priority 0 ; }']);
    await run('nft', ['add', 'rule', 'inet', TABLE, 'out', 'udp', 'dport', port, 'drop']);
    blocked = true;
  });
  after(async () => {
    if (blocked) await run('nft', ['delete', 'table', 'inet', TABLE]).catch(() => {});
    await hx?.close();
  });

  it('participants still see and hear each other, over ICE-TCP', async () => {
    const room = 'no-udp';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await Promise.all([
      waitForVideoFrom(alice, 'Bob', 45000),
      waitForVideoFrom(bob, 'Alice', 45000),
      waitForAudioFrom(alice, 'Bob', 45000),
      waitForAudioFrom(bob, 'Alice', 45000),
    ]);
    for (const page of [alice, bob]) {
      for (const which of ['publisherPc', 'subscriberPc']) {
        const transport = await waitFor(() => selectedTransport(page, which), { message: `${which} selected pair` });
        assert.equal(transport, 'tcp', `${which} runs over TCP`);
      }
    }
    // The SDK and the app tell the user which path the media takes.
    for (const page of [alice, bob]) {
      await waitFor(() => page.evaluate(() => /** @type {any} */ (window).hotlineRoom?.mediaPath === 'tcp'), { timeout: 10000, message: 'hotlineRoom.mediaPath is tcp' });
      await waitFor(async () => (await page.getAttribute('[data-testid=call]', 'data-media-path')) === 'tcp', { timeout: 10000, message: 'data-media-path is tcp' });
      const text = await page.locator('[data-testid=media-path]').textContent();
      assert.match(text ?? '', /over TCP \(UDP is blocked on your network\)/, `the settings say so: ${text}`);
    }
    const log = hx.serverLog.join('');
    assert.match(log, /media path.*transport=Tcp/, `the server logs the path:\n${log.slice(-3000)}`);
  });
});
