// The lobby (waiting room) of an ad-hoc call: a host turns it on; a guest waits, seeing nothing of
// the call, until the host admits them, and then they meet; another guest is refused, told why, and
// never comes back by itself, only when they ask again; leaving the lobby works; turning the lobby
// off lets in whoever waits. The SDK waits in the lobby past its join timeout, pinging. A guest turns
// his camera off while he waits and joins with it off. A host turns off a guest's camera.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  Harness,
  tileOf,
  ensureArtifactsDir,
  recordSignals,
  signalsOf,
  socketsOpened,
  waitFor,
  waitText,
  waitForVideoFrom,
  waitForAudioFrom,
} from './harness.mjs';

const REFUSED = 'A host did not let you into this call.';

/** @param {import('playwright-core').Page} page */
const roomState = (page) => page.evaluate(() => /** @type {any} */ (window).hotlineRoom?.state);

/**
 * The `join` messages a page sent (it records them with `recordSignals`).
 * @param {import('playwright-core').Page} page
 */
const joinsSent = async (page) => (await signalsOf(page)).filter((s) => s.dir === 'out' && s.m.type === 'join').length;

/**
 * The host's lobby panel lists exactly these names (none: the panel is hidden).
 * @param {import('playwright-core').Page} host @param {string[]} names
 */
function waitLobbyShows(host, names) {
  return host.waitForFunction(
    (names) => {
      const panel = /** @type {HTMLElement | null} */ (document.querySelector('[data-testid=lobby-panel]'));
      if (!panel) return false;
      const shown = [...panel.querySelectorAll('[data-testid=lobby-entry]')].map((e) => e.getAttribute('data-name'));
      const visible = !panel.hidden && panel.getClientRects().length > 0;
      return names.length === 0 ? !visible : visible && JSON.stringify(shown) === JSON.stringify(names);
    },
    names,
    { timeout: 15000 },
  );
}

describe('the lobby', { timeout: 300000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {string} */
  let dir;
  before(async () => {
    hx = await Harness.start();
    dir = await ensureArtifactsDir();
  });
  after(async () => {
    await hx?.close();
  });

  it('a host admits one guest and refuses another; the refused one does not come back by itself', { timeout: 280000 }, async () => {
    const room = 'lobbied';
    const host = await hx.join({ room, identity: 'hana', name: 'Hana Host', host: true });

    // --- An ad-hoc room starts with the lobby off; the host turns it on.
    const toggle = host.getByTestId('lobby-toggle');
    await toggle.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal(await toggle.getAttribute('data-state'), 'off');
    assert.match(await toggle.innerText(), /Lobby off/);
    await toggle.click();
    await host.waitForFunction(() => document.querySelector('[data-testid=lobby-toggle]')?.getAttribute('data-state') === 'on', null, { timeout: 10000 });
    assert.match(await toggle.innerText(), /Lobby on/);
    assert.deepEqual(await host.evaluate(() => /** @type {any} */ (window).hotlineRoom.lobby), { enabled: true, waiting: [] });

    // --- Gus knocks: he waits, and sees and receives nothing of the call.
    const gus = await hx.newPage();
    await recordSignals({ received: ['waiting', 'welcome', 'participant_joined', 'subscriber_offer', 'pong'], sent: ['join', 'ping'] })(gus);
    await gus.goto(hx.roomUrl(room, await hx.mintToken({ room, identity: 'gus', name: 'Gus Guest' })));
    const waiting = gus.getByTestId('lobby-waiting');
    await waiting.waitFor({ timeout: 15000 });
    assert.equal(await waiting.getAttribute('data-hosts-present'), 'true');
    const waitingText = await waiting.innerText();
    assert.match(waitingText, /Waiting for a host to let you in/);
    assert.match(waitingText, /Gus Guest/);
    assert.match(waitingText, /lobbied/);
    assert.equal(await roomState(gus), 'waiting');
    // His own camera is previewed while he waits.
    await gus.waitForFunction(() => (/** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=lobby-preview]'))?.videoWidth ?? 0) > 0, null, { timeout: 15000 });
    // The host: a toast, and the lobby panel with Gus in it; he is not a participant.
    await host.locator('.toast', { hasText: 'Gus Guest is waiting to join.' }).waitFor({ timeout: 10000 });
    await waitLobbyShows(host, ['Gus Guest']);
    assert.equal(await host.getByTestId('lobby-count').innerText(), '1 waiting to join');
    assert.equal(await host.getByTestId('admit-all').isVisible(), false, 'no Admit all for one person');
    assert.equal(await host.evaluate(() => /** @type {any} */ (window).hotlineRoom.participants.size), 0);
    // He keeps pinging while he waits; the server answers.
    await waitFor(async () => {
      const sig = await signalsOf(gus);
      const w = sig.findIndex((s) => s.m.type === 'waiting');
      return w >= 0 && sig.slice(w).filter((s) => s.m.type === 'pong').length >= 2;
    }, { timeout: 10000, message: 'pongs while waiting' });
    await gus.screenshot({ path: join(dir, 'lobby-waiting.png') });
    // He chooses to join with his camera off: the preview shows his initials instead.
    const lobbyCam = gus.getByTestId('lobby-camera-toggle');
    await gus.waitForFunction(() => document.querySelector('[data-testid=lobby-camera-toggle]')?.getAttribute('data-state') === 'on', null, { timeout: 15000 });
    assert.equal(await gus.getByTestId('lobby-mic-toggle').getAttribute('data-state'), 'on');
    assert.equal(await lobbyCam.getAttribute('aria-label'), 'Turn camera off');
    await lobbyCam.click();
    assert.equal(await lobbyCam.getAttribute('data-state'), 'off');
    assert.equal(await lobbyCam.getAttribute('aria-label'), 'Turn camera on');
    assert.equal(await gus.getByTestId('lobby-preview').isVisible(), false);
    assert.equal(await gus.getByTestId('lobby-preview-note').innerText(), 'Your camera is off');
    await gus.screenshot({ path: join(dir, 'lobby-waiting-camera-off.png') });
    const seen = await gus.evaluate(() => {
      const room = /** @type {any} */ (window).hotlineRoom;
      return {
        participants: room.participants.size,
        subscriber: room.subscriberPc,
        tiles: document.querySelectorAll('.tile').length,
        videos: [...document.querySelectorAll('video')].filter((v) => v.getAttribute('data-testid') !== 'lobby-preview').length,
        audios: document.querySelectorAll('audio').length,
      };
    });
    assert.deepEqual(seen, { participants: 0, subscriber: null, tiles: 0, videos: 0, audios: 0 }, 'a waiting guest sees nothing of the call');
    assert.ok(!(await signalsOf(gus)).some((s) => s.m.type === 'participant_joined' || s.m.type === 'subscriber_offer' || s.m.type === 'welcome'), 'nothing of the call was sent to him');

    // --- The host admits Gus: they see and hear each other.
    await host.getByTestId('admit-gus').click();
    await gus.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 15000 });
    await waiting.waitFor({ state: 'detached', timeout: 5000 });
    await waitLobbyShows(host, []);
    const gusSig = await signalsOf(gus);
    const waitedAs = gusSig.find((s) => s.m.type === 'waiting')?.m.participant_id;
    assert.equal(gusSig.find((s) => s.m.type === 'welcome')?.m.participant_id, waitedAs, 'welcomed with the participant id he waited with');
    // He joined with his camera off, as he chose: published muted (the host sees his initials) and
    // his button off; his microphone on (the host hears him).
    await Promise.all([waitForVideoFrom(gus, 'Hana Host'), waitForAudioFrom(host, 'Gus Guest'), waitForAudioFrom(gus, 'Hana Host')]);
    await waitFor(
      () =>
        host.evaluate(() => {
          const gus = [.../** @type {any} */ (window).hotlineRoom.participants.values()].find((p) => p.name === 'Gus Guest');
          return gus?.trackInfo('camera')?.muted === true && gus.trackInfo('microphone')?.muted === false;
        }),
      { timeout: 15000, message: "the server knows Gus's camera, muted, and his microphone, on" },
    );
    assert.equal(await tileOf(host, 'Gus Guest').getAttribute('data-camera-off'), 'true');
    assert.equal(await tileOf(host, 'Gus Guest').locator('.avatar').isVisible(), true, 'the host sees his initials');
    const joinedOff = await gus.evaluate(() => {
      const pub = /** @type {any} */ (window).hotlineRoom.localParticipant.publication('camera');
      const btn = document.querySelector('[data-testid=camera-toggle]');
      return { muted: pub?.muted, enabled: pub?.track.enabled, state: btn?.getAttribute('data-state'), label: btn?.getAttribute('aria-label'), ownTile: document.querySelector('.tile[data-local]')?.getAttribute('data-camera-off') };
    });
    assert.deepEqual(joinedOff, { muted: true, enabled: false, state: 'off', label: 'Turn camera on', ownTile: 'true' });
    await host.screenshot({ path: join(dir, 'lobby-joined-camera-off.png') });
    // He turns it on in the call: the host sees him.
    await gus.click('[data-testid=camera-toggle]');
    await waitForVideoFrom(host, 'Gus Guest');

    // --- Two more knock at once: Rita (the app) and Pat (the SDK alone, with a join timeout of 1 s).
    const rita = await hx.newPage();
    await recordSignals({ received: ['waiting', 'welcome'], sent: ['join', 'leave'] })(rita);
    const ritaToken = await hx.mintToken({ room, identity: 'rita', name: 'Rita Refused' });
    await rita.goto(hx.roomUrl(room, ritaToken));
    await rita.getByTestId('lobby-waiting').waitFor({ timeout: 15000 });
    await waitLobbyShows(host, ['Rita Refused']);

    const pat = await hx.newPage();
    await recordSignals({ received: ['waiting', 'welcome', 'pong'], sent: ['join', 'ping', 'leave'] })(pat);
    await pat.goto(`${hx.url}/style.css`);
    const patToken = await hx.mintToken({ room, identity: 'pat', name: 'Pat Probe' });
    await pat.evaluate(async ([token, room]) => {
      const { SignalClient } = await import('/sdk/index.js');
      const w = /** @type {any} */ (window);
      const sc = new SignalClient(`ws://${location.host}/ws`);
      w.__probe = { sc, waiting: [], welcome: null, error: null };
      sc.on('waiting', (/** @type {any} */ m) => w.__probe.waiting.push(m));
      sc.connect({ token, room }, 1000).then(
        (/** @type {any} */ m) => { w.__probe.welcome = m; },
        (/** @type {any} */ e) => { w.__probe.error = `${e?.code}: ${e?.message}`; },
      );
    }, [patToken, room]);
    await waitLobbyShows(host, ['Rita Refused', 'Pat Probe']);
    assert.equal(await host.getByTestId('lobby-count').innerText(), '2 waiting to join');
    assert.equal(await host.getByTestId('admit-all').isVisible(), true);
    await host.screenshot({ path: join(dir, 'lobby-host-panel.png') });
    // A guest may not let anyone in.
    const ritaId = await host.evaluate(() => /** @type {any} */ (window).hotlineRoom.lobby.waiting.find((/** @type {any} */ w) => w.identity === 'rita').participantId);
    await gus.evaluate((id) => /** @type {any} */ (window).hotlineRoom.admitParticipant(id), ritaId);
    await gus.locator('[data-testid=error]', { hasText: 'Only a host can do that.' }).waitFor({ timeout: 10000 });
    await gus.locator('[data-testid=error] button').click();
    assert.equal(await roomState(rita), 'waiting');
    // Pat's connect outlives its 1 s timeout while waiting: it pings, the server answers.
    await waitFor(async () => {
      const sig = await signalsOf(pat);
      const w = sig.findIndex((s) => s.m.type === 'waiting');
      return w >= 0 && sig.slice(w).filter((s) => s.m.type === 'pong').length >= 3;
    }, { timeout: 10000, message: 'three pongs while Pat waits' });
    const patNow = await pat.evaluate(() => {
      const p = /** @type {any} */ (window).__probe;
      return { waiting: p.waiting.map((/** @type {any} */ m) => ({ room: m.room, name: m.name, hosts_present: m.hosts_present })), welcome: p.welcome, error: p.error };
    });
    assert.deepEqual(patNow, { waiting: [{ room, name: 'Pat Probe', hosts_present: true }], welcome: null, error: null }, 'still waiting, past the join timeout');

    // --- The host refuses Rita: she is told, and nothing reconnects.
    await host.getByTestId('refuse-rita').click();
    const refused = rita.getByTestId('lobby-refused');
    await refused.waitFor({ timeout: 15000 });
    assert.match(await refused.innerText(), new RegExp(REFUSED.replace('.', '\\.')));
    assert.equal(await rita.getByTestId('ask-again').isVisible(), true);
    assert.equal(await roomState(rita), 'disconnected');
    await rita.screenshot({ path: join(dir, 'lobby-refused.png') });
    await waitLobbyShows(host, ['Pat Probe']);

    // --- The host admits Pat: the pending connect resolves with the welcome; Pat leaves.
    await host.getByTestId('admit-pat').click();
    await pat.waitForFunction(() => /** @type {any} */ (window).__probe.welcome !== null || /** @type {any} */ (window).__probe.error !== null, null, { timeout: 10000 });
    const patWelcome = await pat.evaluate(() => {
      const p = /** @type {any} */ (window).__probe;
      return { error: p.error, same: p.welcome?.participant_id === p.waiting[0]?.participant_id, type: p.welcome?.type };
    });
    assert.deepEqual(patWelcome, { error: null, same: true, type: 'welcome' });
    await tileOf(host, 'Pat Probe').waitFor({ timeout: 10000 });
    await waitLobbyShows(host, []);
    await pat.evaluate(() => /** @type {any} */ (window).__probe.sc.leave());
    await tileOf(host, 'Pat Probe').waitFor({ state: 'detached', timeout: 10000 });
    await pat.close();

    // --- The host turns off Gus's camera from his tile's menu.
    const gusTile = tileOf(host, 'Gus Guest');
    assert.equal(await gusTile.getAttribute('data-camera-off'), 'false');
    await gusTile.hover();
    await gusTile.locator('[data-testid=host-menu]').click();
    const cameraOff = gusTile.locator('[data-testid=host-camera-off]');
    await cameraOff.waitFor({ state: 'visible' });
    assert.match(await cameraOff.innerText(), /Turn off camera/);
    await host.screenshot({ path: join(dir, 'lobby-host-camera-menu.png') });
    await cameraOff.click();
    await gus.locator('.toast', { hasText: 'A host turned off your camera.' }).waitFor({ timeout: 15000 });
    await gus.waitForFunction(() => document.querySelector('[data-testid=camera-toggle]')?.getAttribute('data-state') === 'off', null, { timeout: 5000 });
    const cam = await gus.evaluate(() => {
      const pub = /** @type {any} */ (window).hotlineRoom.localParticipant.publication('camera');
      return {
        muted: pub.muted,
        enabled: pub.track.enabled,
        label: document.querySelector('[data-testid=camera-toggle]')?.getAttribute('aria-label'),
        ownTile: document.querySelector('.tile[data-local]')?.getAttribute('data-camera-off'),
      };
    });
    assert.deepEqual(cam, { muted: true, enabled: false, label: 'Turn camera on', ownTile: 'true' });
    await host.waitForFunction(() => document.querySelector('.tile[data-participant-name="Gus Guest"]:not([data-local])')?.getAttribute('data-camera-off') === 'true', null, { timeout: 10000 });
    assert.equal(await gusTile.locator('.avatar').isVisible(), true, 'the host sees his avatar instead of his video');
    await host.screenshot({ path: join(dir, 'lobby-host-camera-off.png') });
    await gusTile.hover();
    await gusTile.locator('[data-testid=host-menu]').click();
    await gusTile.locator('[data-testid=host-remove]').waitFor({ state: 'visible' });
    assert.equal(await cameraOff.isVisible(), false, 'no Turn off camera for a camera that is off');
    await host.keyboard.press('Escape');
    // He may turn it on again: the host sees him again.
    await gus.click('[data-testid=camera-toggle]');
    await host.waitForFunction(() => document.querySelector('.tile[data-participant-name="Gus Guest"]:not([data-local])')?.getAttribute('data-camera-off') === 'false', null, { timeout: 10000 });
    await waitForVideoFrom(host, 'Gus Guest');

    // --- All this while, Rita stayed refused: one join, one socket, never another.
    assert.equal(await refused.isVisible(), true);
    assert.equal(await roomState(rita), 'disconnected');
    assert.equal(await joinsSent(rita), 1, 'Rita joined once');
    assert.equal(await socketsOpened(rita), 1, 'Rita opened one WebSocket');

    // --- She asks again: she knocks once more; then she leaves the lobby.
    await rita.getByTestId('ask-again').click();
    await rita.getByTestId('lobby-waiting').waitFor({ timeout: 15000 });
    assert.equal(await joinsSent(rita), 2);
    await waitLobbyShows(host, ['Rita Refused']);
    await rita.getByTestId('lobby-leave').click();
    const ended = rita.getByTestId('ended');
    await ended.waitFor({ timeout: 10000 });
    assert.match(await ended.innerText(), /You left the lobby/);
    assert.ok((await signalsOf(rita)).some((s) => s.dir === 'out' && s.m.type === 'leave'), 'leave sent from the lobby');
    await waitLobbyShows(host, []);

    // --- She asks once more, and the host turns the lobby off: she is let in.
    await rita.getByTestId('rejoin').click();
    await rita.getByTestId('lobby-waiting').waitFor({ timeout: 15000 });
    await waitLobbyShows(host, ['Rita Refused']);
    await toggle.click();
    await rita.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 15000 });
    await host.waitForFunction(() => document.querySelector('[data-testid=lobby-toggle]')?.getAttribute('data-state') === 'off', null, { timeout: 10000 });
    await waitLobbyShows(host, []);
    await tileOf(host, 'Rita Refused').waitFor({ timeout: 10000 });
    await tileOf(rita, 'Hana Host').waitFor({ timeout: 10000 });
    assert.equal(await joinsSent(rita), 3, 'Rita joined three times, each by her own hand');
    await waitText(host.getByTestId('participant-count'), '3');
  });
});
