// Cameras and microphones: joining when the camera (or everything) is refused, and
// switching devices during a call.
//
// The browser here runs WITHOUT --use-fake-ui-for-media-stream, so getUserMedia only gets
// what a context was granted: by default camera and microphone (harness contextOptions);
// a context granted only `microphone` gets a real NotAllowedError for the camera from
// headless Chromium (no monkey-patching). There is one fake camera (fake_device_0) and three
// fake microphones. (`--use-fake-device-for-media-stream=device-count=2` adds a second camera,
// fake_device_1, but in this Chromium its frames never reach a WebRTC encoder, even in a plain
// two-RTCPeerConnection loopback without Hotline, so it cannot test a camera switch.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, chromiumArgs, tileOf, waitFor, waitForVideoFrom, waitForAudioFrom, inboundStats, ensureArtifactsDir } from './harness.mjs';

/**
 * The dev start page with the given permissions; fills in name and room.
 * @param {Harness} hx
 * @param {string[]} permissions
 * @param {string} name
 * @param {string} room
 */
async function startPage(hx, permissions, name, room) {
  const page = await hx.newPage({ width: 1280, height: 800 }, { permissions });
  await page.goto(`${hx.url}/`);
  await page.fill('[data-testid=name-input]', name);
  await page.fill('[data-testid=room-input]', room);
  return page;
}

/**
 * Join from the start page and wait for the call screen.
 * @param {import('playwright-core').Page} page
 */
async function joinFromStartPage(page) {
  await page.click('[data-testid=join-button]');
  await page.waitForSelector('[data-testid=call]');
  await page.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
}

/**
 * Sources the page publishes (negotiated, sending).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>}
 */
function publishedSources(page) {
  return page.evaluate(() =>
    /** @type {any} */ (window).hotlineRoom.localParticipant.publications
      .filter((/** @type {any} */ p) => p.transceiver.currentDirection === 'sendonly')
      .map((/** @type {any} */ p) => p.source)
      .sort(),
  );
}

describe('devices', { timeout: 240000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start({
      chromiumArgs: chromiumArgs({ fakeUi: false }),
      contextOptions: { permissions: ['camera', 'microphone'] },
    });
  });
  after(async () => {
    await hx?.close();
  });

  it('camera denied: the start page says so, and joining with the microphone only works', { timeout: 60000 }, async () => {
    const room = 'nocam';
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    const dana = await startPage(hx, ['microphone'], 'Dana Scully', room);

    const notice = dana.locator('[data-testid=media-notice]');
    await notice.waitFor({ state: 'visible', timeout: 20000 });
    const text = await notice.innerText();
    assert.match(text, /could not use your camera/i, text);
    assert.match(text, /permission was denied/i, text);
    assert.match(text, /still join with your microphone/i, text);
    // The microphone works: the level meter moves; the camera button is disabled, the preview says so.
    await dana.waitForFunction(() => Number(document.querySelector('[data-testid=level-meter]')?.getAttribute('data-level')) > 0.05, null, { timeout: 20000 });
    assert.ok(await dana.locator('[data-testid=prejoin-camera-toggle]').isDisabled());
    assert.ok(await dana.locator('[data-testid=join-button]').isEnabled());
    await dana.getByText('No camera', { exact: true }).waitFor({ state: 'visible' });
    const dir = await ensureArtifactsDir();
    await dana.screenshot({ path: join(dir, 'prejoin-camera-denied.png') });

    await joinFromStartPage(dana);
    await dana.waitForFunction(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publications.some((/** @type {any} */ p) => p.transceiver.currentDirection === 'sendonly'), null, { timeout: 20000 });
    assert.deepEqual(await publishedSources(dana), ['microphone']);
    // Her own tile, camera off.
    assert.equal(await dana.locator('.tile[data-local]').getAttribute('data-camera-off'), 'true');

    // Bob sees her tile without video and hears her; she sees Bob.
    const tile = tileOf(bob, 'Dana Scully');
    await tile.waitFor({ timeout: 20000 });
    await bob.waitForFunction(() => document.querySelector('.tile[data-participant-name="Dana Scully"]')?.getAttribute('data-camera-off') === 'true', null, { timeout: 20000 });
    await tile.locator('.avatar').waitFor({ state: 'visible' });
    assert.equal((await tile.locator('.avatar').innerText()).trim(), 'DS');
    await Promise.all([waitForAudioFrom(bob, 'Dana Scully'), waitForVideoFrom(dana, 'Bob')]);
    await bob.screenshot({ path: join(dir, 'camera-denied-seen-by-other.png') });
    await dana.close();
    await bob.close();
  });

  it('camera and microphone denied: the start page says so, and joining with nothing works', { timeout: 60000 }, async () => {
    const room = 'nothing';
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    const fox = await startPage(hx, [], 'Fox Mulder', room);

    const notice = fox.locator('[data-testid=media-notice]');
    await notice.waitFor({ state: 'visible', timeout: 20000 });
    const text = await notice.innerText();
    assert.match(text, /could not use your camera/i, text);
    assert.match(text, /could not use your microphone/i, text);
    assert.match(text, /still join/i, text);
    assert.ok(await fox.locator('[data-testid=join-button]').isEnabled());

    await joinFromStartPage(fox);
    assert.deepEqual(await publishedSources(fox), []);
    const tile = tileOf(bob, 'Fox Mulder');
    await tile.waitFor({ timeout: 20000 });
    assert.equal(await tile.getAttribute('data-camera-off'), 'true');
    assert.equal(await tile.getAttribute('data-mic-muted'), 'true');
    // He still receives the call.
    await Promise.all([waitForVideoFrom(fox, 'Bob'), waitForAudioFrom(fox, 'Bob')]);
    await fox.close();
    await bob.close();
  });

  // Covers device switching in the in-call settings. Camera: with only one usable fake camera,
  // choosing it again in the settings opens a new camera track and sends it with replaceTrack;
  // the other side must keep decoding. Microphone: a real switch, from the default fake
  // microphone to "Fake Audio Input 1". In both cases no renegotiation happens (same
  // transceivers) and the other side keeps the same subscribed tracks.
  it('switching camera and microphone in the settings keeps the other side receiving', { timeout: 90000 }, async () => {
    const room = 'switch';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await Promise.all([waitForVideoFrom(bob, 'Alice'), waitForAudioFrom(bob, 'Alice')]);

    const sent = () =>
      alice.evaluate(() => {
        const lp = /** @type {any} */ (window).hotlineRoom.localParticipant;
        const track = (/** @type {string} */ s) => lp.publication(s)?.transceiver.sender.track ?? null;
        return {
          camera: track('camera')?.label ?? null,
          cameraId: track('camera')?.id ?? null,
          microphone: track('microphone')?.label ?? null,
          mids: lp.publications.map((/** @type {any} */ p) => p.mid).sort(),
        };
      });
    const received = () =>
      bob.evaluate(() => {
        const p = [.../** @type {any} */ (window).hotlineRoom.participants.values()].find((x) => x.name === 'Alice');
        return { camera: p?.subscribed('camera')?.trackId, microphone: p?.subscribed('microphone')?.trackId };
      });
    const before = await sent();
    const tracksBefore = await received();
    assert.equal(before.camera, 'fake_device_0');

    await alice.click('[data-testid=settings-toggle]');
    await alice.locator('[data-testid=settings]').waitFor({ state: 'visible' });
    await alice.waitForFunction(() => document.querySelectorAll('[data-testid=camera-select] option').length === 1, null, { timeout: 10000 });
    assert.deepEqual(await alice.locator('[data-testid=camera-select] option').allInnerTexts(), ['fake_device_0']);
    assert.equal(await alice.locator('[data-testid=camera-select]').inputValue(), await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.publication('camera').track.getSettings().deviceId));

    // Camera: choose fake_device_0 again -> a new track replaces the old one.
    let frames = (await inboundStats(bob, 'Alice', 'camera'))?.framesDecoded ?? 0;
    await alice.selectOption('[data-testid=camera-select]', { label: 'fake_device_0' });
    await waitFor(async () => (await sent()).cameraId !== before.cameraId, { message: 'Alice sends a new camera track' });
    // The own tile shows the new track, live.
    await alice.waitForFunction((id) => {
      const v = /** @type {HTMLVideoElement | null} */ (document.querySelector('.tile[data-local] video'));
      const t = /** @type {MediaStream | null} */ (v?.srcObject ?? null)?.getVideoTracks()[0];
      return !!v && !!t && t.id !== id && t.readyState === 'live' && v.videoWidth > 0;
    }, before.cameraId, { timeout: 10000 });
    const afterSwitch = (await inboundStats(bob, 'Alice', 'camera'))?.framesDecoded ?? 0;
    frames = Math.max(frames, afterSwitch);
    await waitFor(async () => ((await inboundStats(bob, 'Alice', 'camera'))?.framesDecoded ?? 0) > frames + 10, { message: 'Bob keeps decoding Alice after the camera switch' });

    // Microphone: the default fake microphone -> "Fake Audio Input 1".
    const micOptions = await alice.locator('[data-testid=mic-select] option').allInnerTexts();
    assert.ok(micOptions.includes('Fake Audio Input 1'), JSON.stringify(micOptions));
    const audioBefore = await inboundStats(bob, 'Alice', 'microphone');
    await alice.selectOption('[data-testid=mic-select]', { label: 'Fake Audio Input 1' });
    await waitFor(async () => (await sent()).microphone === 'Fake Audio Input 1', { message: 'Alice sends Fake Audio Input 1' });
    const audioAfter = await inboundStats(bob, 'Alice', 'microphone');
    await waitFor(async () => {
      const s = await inboundStats(bob, 'Alice', 'microphone');
      return !!s && !!audioAfter && !!audioBefore && s.packetsReceived > audioAfter.packetsReceived + 10 && s.totalSamplesReceived > audioAfter.totalSamplesReceived;
    }, { message: 'Bob keeps receiving Alice\'s audio after the microphone switch' });

    // Same transceivers (no renegotiation), same tracks on Bob's side, video still decoding.
    const after = await sent();
    assert.deepEqual(after.mids, before.mids);
    assert.deepEqual(await received(), tracksBefore);
    await waitForVideoFrom(bob, 'Alice');
    await alice.close();
    await bob.close();
  });
});
