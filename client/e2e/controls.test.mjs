// Camera off and screen sharing, as the others see them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, tileOf, waitForVideoFrom } from './harness.mjs';

describe('camera and screen controls', { timeout: 150000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('turning the camera off shows the initials placeholder to the others', { timeout: 60000 }, async () => {
    const room = 'camoff';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice Liddell' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await waitForVideoFrom(bob, 'Alice Liddell');
    const tile = tileOf(bob, 'Alice Liddell');
    assert.equal(await tile.getAttribute('data-camera-off'), 'false');

    await alice.click('[data-testid=camera-toggle]');
    await bob.waitForFunction(() => document.querySelector('.tile[data-participant-name="Alice Liddell"]')?.getAttribute('data-camera-off') === 'true', null, { timeout: 15000 });
    const avatar = tile.locator('.avatar');
    await avatar.waitFor({ state: 'visible' });
    assert.equal((await avatar.innerText()).trim(), 'AL');

    await alice.click('[data-testid=camera-toggle]');
    await bob.waitForFunction(() => document.querySelector('.tile[data-participant-name="Alice Liddell"]')?.getAttribute('data-camera-off') === 'false', null, { timeout: 15000 });
    await alice.close();
    await bob.close();
  });

  it('a shared screen appears for the others and goes away when sharing stops', { timeout: 60000 }, async () => {
    const room = 'present';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await waitForVideoFrom(bob, 'Alice');
    const aliceId = await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);
    const supported = await alice.evaluate(() => !!navigator.mediaDevices.getDisplayMedia);
    if (!supported) return;

    await alice.click('[data-testid=screen-toggle]');
    const sharing = await alice
      .waitForFunction(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publication('screen')?.transceiver.currentDirection === 'sendonly', null, { timeout: 15000 })
      .then(() => true, () => false);
    assert.ok(sharing, 'screen share did not start (getDisplayMedia refused in headless Chromium?)');
    await bob.waitForFunction((id) => {
      const v = /** @type {HTMLVideoElement | null} */ (document.querySelector(`.tile.screen[data-screen-of="${id}"] video`));
      return !!v && v.videoWidth > 0;
    }, aliceId, { timeout: 20000 });

    await alice.click('[data-testid=screen-toggle]');
    await bob.waitForFunction((id) => !document.querySelector(`.tile.screen[data-screen-of="${id}"]`), aliceId, { timeout: 15000 });
    // The camera still flows.
    await waitForVideoFrom(bob, 'Alice');
    await alice.close();
    await bob.close();
  });
});
