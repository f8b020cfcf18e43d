// Chat and mute indicators.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, tileOf, waitFor } from './harness.mjs';

describe('chat and mute', { timeout: 150000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('a chat message reaches everyone with the sender\'s name', { timeout: 60000 }, async () => {
    const room = 'chatroom';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    const carol = await hx.join({ room, identity: 'carol', name: 'Carol' });
    await waitFor(async () => (await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.participants.size)) === 2);

    await alice.click('[data-testid=chat-toggle]');
    await alice.fill('[data-testid=chat-input]', 'Hello from Alice 👋');
    await alice.click('[data-testid=chat-send]');

    for (const page of [bob, carol]) {
      await page.click('[data-testid=chat-toggle]');
      const msg = page.locator('.chat-message', { hasText: 'Hello from Alice 👋' });
      await msg.waitFor({ timeout: 15000 });
      assert.match(await msg.innerText(), /Alice/);
    }
    // The sender sees its own message too (server echo).
    await alice.locator('.chat-message', { hasText: 'Hello from Alice 👋' }).waitFor({ timeout: 15000 });
    assert.equal(await alice.inputValue('[data-testid=chat-input]'), '');
    for (const p of [alice, bob, carol]) await p.close();
  });

  it('muting the microphone shows the muted icon to the others', { timeout: 60000 }, async () => {
    const room = 'mute';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    const aliceTile = tileOf(bob, 'Alice');
    await aliceTile.waitFor();
    // Wait until Alice's microphone is published and shown as live.
    await bob.waitForFunction(() => document.querySelector('.tile[data-participant-name="Alice"]')?.getAttribute('data-mic-muted') === 'false', null, { timeout: 20000 });
    assert.equal(await aliceTile.locator('[data-testid=mic-muted]').isVisible(), false);

    await alice.click('[data-testid=mic-toggle]');
    await aliceTile.locator('[data-testid=mic-muted]').waitFor({ state: 'visible', timeout: 15000 });
    assert.equal(await aliceTile.getAttribute('data-mic-muted'), 'true');
    // Alice's own track is disabled locally.
    assert.equal(await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publication('microphone').track.enabled), false);

    await alice.click('[data-testid=mic-toggle]');
    await aliceTile.locator('[data-testid=mic-muted]').waitFor({ state: 'hidden', timeout: 15000 });
    for (const p of [alice, bob]) await p.close();
  });
});
