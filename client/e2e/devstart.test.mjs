// The dev-mode start page: name + room, preview, level meter, join.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, ensureArtifactsDir } from './harness.mjs';

describe('dev start page', { timeout: 90000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('shows a preview and a level meter, then joins', { timeout: 60000 }, async () => {
    const page = await hx.newPage({ width: 1280, height: 800 });
    await page.goto(`${hx.url}/`);
    await page.fill('[data-testid=name-input]', 'Dana Scully');
    await page.fill('[data-testid=room-input]', 'x-files');
    // The camera preview plays.
    await page.waitForFunction(() => {
      const v = /** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=preview-video]'));
      return !!v && v.videoWidth > 0 && !v.paused && v.currentTime > 0;
    }, null, { timeout: 20000 });
    // The microphone level meter moves (the fake microphone beeps).
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=level-meter]')?.getAttribute('data-level')) > 0.05, null, { timeout: 20000 });
    const dir = await ensureArtifactsDir();
    await page.screenshot({ path: join(dir, 'prejoin.png') });

    await page.click('[data-testid=join-button]');
    await page.waitForSelector('[data-testid=call]');
    await page.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    assert.match(page.url(), /\/room\/x-files$/);
    const own = page.locator('.tile[data-local]');
    await own.waitFor();
    assert.equal(await own.getAttribute('data-participant-name'), 'Dana Scully');
    // Camera and microphone are published.
    await page.waitForFunction(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publications.filter((/** @type {any} */ p) => p.transceiver.currentDirection === 'sendonly').length === 2, null, { timeout: 20000 });
    await page.close();
  });
});
