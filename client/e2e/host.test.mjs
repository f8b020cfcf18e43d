// Host controls: a host mutes a guest, removes a guest, and locks the call; guests have no host controls.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, tileOf, ensureArtifactsDir, recordRoomEvents, eventsOf, recordSignals, signalsOf } from './harness.mjs';

const REMOVED = 'A host removed you from this call.';
const LOCKED = 'This call is locked. A host must unlock it before you can join.';

/**
 * Resolves once the tile of `name` on `page` says the microphone is muted (`muted`) or not.
 * @param {import('playwright-core').Page} page @param {string} name @param {boolean} muted
 */
function waitMicShown(page, name, muted) {
  return page.waitForFunction(
    ([n, m]) => document.querySelector(`.tile[data-participant-name=${JSON.stringify(n)}]:not([data-local])`)?.getAttribute('data-mic-muted') === String(m),
    /** @type {[string, boolean]} */ ([name, muted]),
    { timeout: 15000 },
  );
}

/** @param {import('playwright-core').Page} page */
const hostControlsShown = (page) =>
  page.evaluate(() => {
    const visible = (/** @type {Element} */ el) => !!(/** @type {HTMLElement} */ (el).offsetParent) || /** @type {HTMLElement} */ (el).getClientRects().length > 0;
    return {
      menus: [...document.querySelectorAll('[data-testid=host-menu]')].filter(visible).length,
      lock: [...document.querySelectorAll('[data-testid=lock-toggle]')].filter(visible).length,
    };
  });

describe('host controls', { timeout: 240000 }, () => {
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

  it('a host mutes and removes guests and locks the call; guests have no host controls', { timeout: 200000 }, async () => {
    const room = 'hosted';
    const host = await hx.join({ room, identity: 'hana', name: 'Hana Host', host: true });
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice', beforeLoad: recordSignals({ received: ['muted_by_host'], sent: ['update_track'] }) });
    const bobToken = await hx.mintToken({ room, identity: 'bob', name: 'Bob' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob', token: bobToken });
    for (const p of [host, alice, bob]) await p.waitForFunction(() => /** @type {any} */ (window).hotlineRoom.participants.size === 2, null, { timeout: 15000 });
    await waitMicShown(host, 'Alice', false);
    await waitMicShown(bob, 'Alice', false);
    await recordRoomEvents(host);
    await recordRoomEvents(bob);

    // A guest sees no host controls, and the server refuses a host action from it.
    assert.equal(await host.evaluate(() => /** @type {any} */ (window).hotlineRoom.isHost), true);
    assert.equal(await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.isHost), false);
    assert.deepEqual(await hostControlsShown(alice), { menus: 0, lock: 0 });
    assert.deepEqual(await hostControlsShown(bob), { menus: 0, lock: 0 });
    assert.deepEqual(await hostControlsShown(host), { menus: 2, lock: 1 }, 'the host has a menu on each guest tile (not its own) and the lock button');
    await bob.evaluate(() => {
      const r = /** @type {any} */ (window).hotlineRoom;
      const hana = [...r.participants.values()].find((p) => p.name === 'Hana Host');
      r.muteParticipant(hana.id, hana.trackInfo('microphone').track_id);
    });
    await bob.locator('[data-testid=error]', { hasText: 'Only a host can do that.' }).waitFor({ timeout: 10000 });
    await bob.locator('[data-testid=error] button').click();
    await waitMicShown(alice, 'Hana Host', false);

    // --- The host mutes Alice's microphone from her tile's menu.
    const aliceTile = tileOf(host, 'Alice');
    await aliceTile.hover();
    await aliceTile.locator('[data-testid=host-menu]').click();
    await aliceTile.locator('[data-testid=host-mute-mic]').waitFor({ state: 'visible' });
    await host.screenshot({ path: join(dir, 'host-tile-menu.png') });
    await aliceTile.locator('[data-testid=host-mute-mic]').click();

    // Alice: her microphone is muted exactly as by her own button, and she is told.
    await alice.locator('.toast', { hasText: 'A host muted your microphone.' }).waitFor({ timeout: 15000 });
    await alice.screenshot({ path: join(dir, 'host-muted-guest.png') });
    await alice.waitForFunction(() => document.querySelector('[data-testid=mic-toggle]')?.getAttribute('data-state') === 'off', null, { timeout: 5000 });
    const mic = await alice.evaluate(() => {
      const pub = /** @type {any} */ (window).hotlineRoom.localParticipant.publication('microphone');
      return { muted: pub.muted, enabled: pub.track.enabled, label: document.querySelector('[data-testid=mic-toggle]')?.getAttribute('aria-label') };
    });
    assert.deepEqual(mic, { muted: true, enabled: false, label: 'Unmute microphone' });
    assert.equal(await alice.locator('.tile[data-local] [data-testid=mic-muted]').isVisible(), true, 'her own tile shows the muted microphone');
    const sig = await signalsOf(alice);
    const byHost = sig.findIndex((s) => s.dir === 'in' && s.m.type === 'muted_by_host');
    assert.ok(byHost >= 0, 'muted_by_host received');
    assert.ok(sig.slice(byHost).some((s) => s.dir === 'out' && s.m.type === 'update_track' && s.m.muted === true), 'update_track muted sent after muted_by_host');
    // The others see her muted; the host's menu no longer offers to mute her.
    await waitMicShown(host, 'Alice', true);
    await waitMicShown(bob, 'Alice', true);
    await aliceTile.locator('[data-testid=host-mute-mic]').waitFor({ state: 'hidden' });
    // She may unmute herself.
    await alice.click('[data-testid=mic-toggle]');
    await waitMicShown(host, 'Alice', false);
    await waitMicShown(bob, 'Alice', false);

    // --- The host removes Bob, confirming first.
    const bobTile = tileOf(host, 'Bob');
    await bobTile.hover();
    await bobTile.locator('[data-testid=host-menu]').click();
    await bobTile.locator('[data-testid=host-remove]').click();
    const dialog = host.locator('[data-testid=remove-dialog]');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /Remove Bob from the call\?/);
    await host.screenshot({ path: join(dir, 'host-remove-confirm.png') });
    // Cancel keeps Bob in the call.
    await dialog.locator('[data-testid=remove-cancel]').click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await host.evaluate(() => /** @type {any} */ (window).hotlineRoom.participants.size), 2);
    await bobTile.hover();
    await bobTile.locator('[data-testid=host-menu]').click();
    await bobTile.locator('[data-testid=host-remove]').click();
    await dialog.locator('[data-testid=remove-confirm]').click();

    const ended = bob.locator('[data-testid=ended]');
    await ended.waitFor({ timeout: 15000 });
    assert.match(await ended.innerText(), new RegExp(REMOVED.replace('.', '\\.')));
    await bob.screenshot({ path: join(dir, 'host-removed-guest.png') });
    for (const p of [host, alice]) await tileOf(p, 'Bob').waitFor({ state: 'detached', timeout: 15000 });
    await alice.locator('.toast', { hasText: 'Bob was removed from the call by a host' }).waitFor({ timeout: 3000 });
    const bobEvents = await eventsOf(bob);
    assert.ok(bobEvents.some((e) => e.type === 'disconnected' && e.code === 4017), `Bob was disconnected with 4017: ${JSON.stringify(bobEvents)}`);
    assert.equal(await bob.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'disconnected');
    assert.equal(await bob.locator('[data-testid=rejoin]').count(), 0, 'no Rejoin offered to someone removed');

    // Bob opens his invitation again: refused with the same words.
    await bob.goto(hx.roomUrl(room, bobToken));
    const failed = bob.locator('[data-testid=join-failed]');
    await failed.waitFor({ timeout: 15000 });
    assert.match(await failed.innerText(), new RegExp(REMOVED.replace('.', '\\.')));
    assert.equal(await bob.locator('[data-testid=retry]').count(), 0, 'no Try again offered to someone removed');
    await bob.screenshot({ path: join(dir, 'host-removed-rejoin-refused.png') });

    // --- The host locks the call: everyone sees it.
    await host.click('[data-testid=lock-toggle]');
    for (const p of [host, alice]) await p.locator('[data-testid=locked-indicator]').waitFor({ state: 'visible', timeout: 10000 });
    assert.match(await host.locator('[data-testid=lock-toggle]').innerText(), /Unlock call/);
    await alice.locator('.toast', { hasText: 'Hana Host locked the call.' }).waitFor({ timeout: 5000 });
    await host.screenshot({ path: join(dir, 'host-locked-host.png') });
    await alice.screenshot({ path: join(dir, 'host-locked-guest.png') });

    // A new guest is refused while locked.
    const carol = await hx.newPage();
    await carol.goto(hx.roomUrl(room, await hx.mintToken({ room, identity: 'carol', name: 'Carol' })));
    const carolFailed = carol.locator('[data-testid=join-failed]');
    await carolFailed.waitFor({ timeout: 15000 });
    assert.match(await carolFailed.innerText(), /This call is locked\. A host must unlock it before you can join\./);
    await carol.screenshot({ path: join(dir, 'host-locked-refused.png') });
    assert.equal(await host.evaluate(() => /** @type {any} */ (window).hotlineRoom.participants.size), 1, 'only Alice is with the host');

    // The host unlocks; Carol tries again and joins.
    await host.click('[data-testid=lock-toggle]');
    for (const p of [host, alice]) await p.locator('[data-testid=locked-indicator]').waitFor({ state: 'hidden', timeout: 10000 });
    assert.match(await host.locator('[data-testid=lock-toggle]').innerText(), /Lock call/);
    await carol.click('[data-testid=retry]');
    await carol.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    await tileOf(host, 'Carol').waitFor({ timeout: 15000 });
    assert.equal(await carol.locator('[data-testid=locked-indicator]').isVisible(), false);
    assert.deepEqual(await hostControlsShown(carol), { menus: 0, lock: 0 });
    await host.screenshot({ path: join(dir, 'host-unlocked.png') });

    // Bob never came back on his own.
    const hostEvents = await eventsOf(host);
    assert.equal(hostEvents.filter((e) => e.type === 'participant_joined' && e.name === 'Bob').length, 0, 'Bob did not rejoin');
    assert.ok(!bobEvents.some((e) => e.type === 'reconnecting' || e.type === 'reconnected'), 'Bob never tried to reconnect');
  });
});
