// Invitation problems: forged and expired tokens; a watch-only token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Harness, waitForVideoFrom, waitFor } from './harness.mjs';

/** @param {string} token */
function payloadOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

describe('tokens', { timeout: 180000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {string} */
  let expiredToken;
  before(async () => {
    hx = await Harness.start();
    // Minted first so that its expiry (plus the server's leeway) passes while the other tests run.
    expiredToken = await hx.mintToken({ room: 'expired', identity: 'late', name: 'Late Larry', ttl: '1s' });
  });
  after(async () => {
    await hx?.close();
  });

  it('a watch-only token can watch but cannot publish', { timeout: 60000 }, async () => {
    const room = 'webinar';
    const host = await hx.join({ room, identity: 'host', name: 'Host' });
    const viewer = await hx.join({ room, identity: 'viewer', name: 'Viewer', noPublish: true });
    await waitForVideoFrom(viewer, 'Host');
    assert.equal(await viewer.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.grants.publish), false);
    // The app does not try to publish for a viewer; the controls are disabled.
    assert.equal(await viewer.isDisabled('[data-testid=camera-toggle]'), true);

    const result = await viewer.evaluate(async () => {
      const room = /** @type {any} */ (window).hotlineRoom;
      /** @type {string[]} */
      const errors = [];
      room.on('error', (/** @type {any} */ e) => errors.push(e.code));
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
      ctx.fillStyle = '#f0f';
      ctx.fillRect(0, 0, 320, 240);
      const track = canvas.captureStream(10).getVideoTracks()[0];
      let rejected = null;
      try {
        await room.publishTrack(track, { source: 'camera' });
      } catch (e) {
        rejected = /** @type {any} */ (e).code;
      }
      return { errors, rejected, publications: room.localParticipant.publications.length };
    });
    assert.equal(result.rejected, 'publish_not_allowed');
    assert.ok(result.errors.includes('publish_not_allowed'), `errors: ${result.errors}`);
    assert.equal(result.publications, 0);

    // A barrier: the viewer sends a chat after the refused offer; once the host has it,
    // anything the server would have announced about the viewer's tracks has arrived too.
    const canChat = await viewer.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.grants.publish_data);
    if (canChat) {
      await viewer.evaluate(() => /** @type {any} */ (window).hotlineRoom.sendChat('barrier'));
      await host.locator('.chat-message', { hasText: 'barrier' }).waitFor({ state: 'attached', timeout: 15000 });
    }
    const seen = await host.evaluate(() => {
      const room = /** @type {any} */ (window).hotlineRoom;
      const v = [...room.participants.values()].find((p) => p.name === 'Viewer');
      return v ? { tracks: v.tracks.length, subscribed: v.subscribedTracks.size } : null;
    });
    assert.deepEqual(seen, { tracks: 0, subscribed: 0 });
    // The host's tile for the viewer shows the avatar, no video.
    assert.equal(await host.getAttribute('.tile[data-participant-name="Viewer"]', 'data-camera-off'), 'true');
    await host.close();
    await viewer.close();
  });

  it('a forged invitation shows that the link is not valid', { timeout: 30000 }, async () => {
    const room = 'forged';
    const forged = await hx.mintToken({ room, identity: 'mallory', name: 'Mallory', secret: randomBytes(32).toString('hex') });
    assert.equal(forged.split('.').length, 3);
    const page = await hx.newPage();
    await page.goto(`${hx.url}/room/${room}?token=${encodeURIComponent(forged)}`);
    const err = page.locator('[data-testid=error]');
    await err.waitFor({ state: 'visible', timeout: 15000 });
    assert.match(await err.innerText(), /invitation link is not valid/i);
    assert.ok(!page.url().includes('token'));
    await page.close();
  });

  it('joining again elsewhere with the same identity ends the first session', { timeout: 40000 }, async () => {
    const room = 'twice';
    const first = await hx.join({ room, identity: 'sam', name: 'Sam' });
    const second = await hx.join({ room, identity: 'sam', name: 'Sam' });
    const err = first.locator('[data-testid=error]');
    await err.waitFor({ state: 'visible', timeout: 15000 });
    assert.match(await err.innerText(), /joined this call from another window/i);
    assert.equal(await second.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'connected');
    await first.close();
    await second.close();
  });

  it('an expired invitation says it has expired', { timeout: 90000 }, async () => {
    const exp = payloadOf(expiredToken).exp;
    assert.equal(typeof exp, 'number');
    // The server accepts tokens up to 30 s past their expiry (clock-skew leeway).
    await waitFor(() => Date.now() / 1000 > exp + 32, { timeout: 60000, interval: 500, message: 'token past expiry + leeway' });
    const page = await hx.newPage();
    await page.goto(`${hx.url}/room/expired?token=${encodeURIComponent(expiredToken)}`);
    const err = page.locator('[data-testid=error]');
    await err.waitFor({ state: 'visible', timeout: 15000 });
    assert.match(await err.innerText(), /invitation has expired/i);
    await page.close();
  });
});
