// Media between participants: two-party call, late joiner, leaving and closing the tab.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitForVideoFrom, waitForAudioFrom, tileOf, ensureArtifactsDir } from './harness.mjs';

describe('calls', { timeout: 180000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('two participants decode each other\'s video and receive audio', { timeout: 60000 }, async () => {
    const room = 'duo';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });

    for (const page of [alice, bob]) {
      assert.ok(!page.url().includes('token'), `token still in the address bar: ${page.url()}`);
      assert.match(page.url(), /\/room\/duo$/);
    }
    await Promise.all([
      waitForVideoFrom(alice, 'Bob'),
      waitForVideoFrom(bob, 'Alice'),
      waitForAudioFrom(alice, 'Bob'),
      waitForAudioFrom(bob, 'Alice'),
    ]);
    await alice.close();
    await bob.close();
  });

  it('a late joiner sees everyone; leaving and closing the tab remove tiles', { timeout: 90000 }, async () => {
    const room = 'trio';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);

    const carol = await hx.join({ room, identity: 'carol', name: 'Carol' });
    await Promise.all([
      waitForVideoFrom(carol, 'Alice'),
      waitForVideoFrom(carol, 'Bob'),
      waitForVideoFrom(alice, 'Carol'),
      waitForVideoFrom(bob, 'Carol'),
    ]);
    const dir = await ensureArtifactsDir();
    await carol.screenshot({ path: join(dir, 'three-party-call.png') });

    // Alice leaves with the button.
    await alice.click('[data-testid=leave]');
    await alice.waitForSelector('[data-testid=ended]');
    await tileOf(bob, 'Alice').waitFor({ state: 'detached', timeout: 15000 });
    await tileOf(carol, 'Alice').waitFor({ state: 'detached', timeout: 15000 });
    await bob.waitForFunction(() => ![.../** @type {any} */ (window).hotlineRoom.participants.values()].some((p) => p.name === 'Alice'));

    // Bob closes his tab.
    await bob.close();
    await tileOf(carol, 'Bob').waitFor({ state: 'detached', timeout: 15000 });
    assert.equal(await carol.locator('.tile:not([data-local])').count(), 0);
    await carol.close();
  });
});
