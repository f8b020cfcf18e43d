// The SDK rejoins after losing its signaling socket and publishes again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, waitForVideoFrom } from './harness.mjs';

describe('reconnection', { timeout: 90000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('rejoins after the signaling socket drops and the others see video again', { timeout: 60000 }, async () => {
    const room = 'flaky';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await waitForVideoFrom(bob, 'Alice');
    const oldId = await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);

    // Simulate a dropped connection: close the socket under the room's feet.
    await alice.evaluate(() => {
      const room = /** @type {any} */ (window).hotlineRoom;
      const signal = room.signal;
      signal.close();
      room._onSignalClose(signal, { code: 1006, reason: '', message: 'lost', fatal: false });
    });
    await alice.waitForFunction((old) => {
      const room = /** @type {any} */ (window).hotlineRoom;
      return room.state === 'connected' && room.localParticipant.id !== old;
    }, oldId, { timeout: 20000 });
    await bob.waitForFunction((old) => {
      const room = /** @type {any} */ (window).hotlineRoom;
      return !room.participants.has(old) && [...room.participants.values()].some((p) => p.name === 'Alice');
    }, oldId, { timeout: 20000 });
    await waitForVideoFrom(bob, 'Alice');
    await waitForVideoFrom(alice, 'Bob');
    assert.equal(await bob.locator('.tile[data-participant-name="Alice"]').count(), 1);
    await alice.close();
    await bob.close();
  });
});
