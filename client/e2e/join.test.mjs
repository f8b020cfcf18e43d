// Members of a scheduled call join with their personal links: the page shows the agreed time in
// the member's own time zone, offers the calendar invitation, and, once the call is open (15
// minutes before it starts), lets the member in; two members of different parties then see and
// hear each other. A scheduled call's room has its lobby on: the principals (its hosts) go straight
// in, every other member waits until a principal admits them (an adviser, who came before any
// principal, and an observer), or is refused (a note-taker, who is told why). The negotiation
// itself is the party pages' test (party.test.mjs); here it is done through the API, for a slot
// that starts within the next 15 minutes so that the call is already open (the server runs on the
// real clock).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, mintOrganizerToken, waitForVideoFrom, waitForAudioFrom, ensureArtifactsDir } from './harness.mjs';

const REFUSED = 'A host did not let you into this call.';

/**
 * The entry of `name` in the lobby panel of a host's `page`.
 * @param {import('playwright-core').Page} page @param {string} name
 */
const lobbyEntry = (page, name) => page.locator(`[data-testid=lobby-panel] [data-testid=lobby-entry][data-name=${JSON.stringify(name)}]`);

/**
 * The wall-clock time of `date` in `zone`, as the API's local windows want it (no offset).
 * @param {Date} date @param {string} zone
 */
function wallTime(date, zone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:00`;
}

describe('joining a scheduled call with a personal link', { timeout: 300000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  /**
   * @param {string} method @param {string} path @param {any} [body] @param {string} [bearer]
   * @returns {Promise<{status: number, body: any}>}
   */
  async function api(method, path, body, bearer) {
    const r = await fetch(`${hx.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  }

  it('each member sees the time in its zone, joins when the call is open, and the two meet; the others wait in the lobby', async () => {
    const organizer = await mintOrganizerToken(hx);
    const created = await api('POST', '/api/calls', {
      title: 'Summit preparation',
      duration_minutes: 60,
      parties: [
        { name: 'Moscow', time_zone: 'Europe/Moscow', members: [{ name: 'Olga', role: 'principal' }, { name: 'Ada', role: 'adviser' }] },
        {
          name: 'Washington',
          time_zone: 'America/New_York',
          members: [{ name: 'Walt', role: 'principal' }, { name: 'Wanda', role: 'observer' }, { name: 'Nina', role: 'note_taker' }],
        },
      ],
    }, organizer);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const [moscow, washington] = created.body.parties.map((/** @type {any} */ p) => p.link.replace('/party/', ''));

    // Both can from now to three hours ahead: the earliest slot starts within 15 minutes.
    const now = new Date();
    const later = new Date(now.getTime() + 3 * 3600_000);
    let version = (await api('GET', `/api/parties/${moscow}`)).body.version;
    for (const [key, zone] of [[moscow, 'Europe/Moscow'], [washington, 'America/New_York']]) {
      const r = await api('PUT', `/api/parties/${key}/windows`, { version, windows: [{ start: wallTime(now, zone), end: wallTime(later, zone) }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      version = r.body.version;
    }
    // The earliest slot, unless it starts so soon that it may be past before it is accepted.
    const slots = (await api('GET', `/api/parties/${moscow}`)).body.slots;
    const slot = Date.parse(slots[0].start) - Date.now() > 30_000 ? slots[0].start : slots[1].start;
    for (const key of [moscow, washington]) {
      const r = await api('PUT', `/api/parties/${key}/acceptance`, { version, start: slot });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      version = r.body.version;
    }
    const links = Object.fromEntries(
      [...(await api('GET', `/api/parties/${moscow}`)).body.members, ...(await api('GET', `/api/parties/${washington}`)).body.members].map((/** @type {any} */ m) => [m.name, m.link]),
    );

    // The party page hands out its own members' links (and only those).
    const partyContext = await /** @type {import('playwright-core').Browser} */ (hx.browser).newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
    hx.contexts.push(partyContext);
    const partyPage = await partyContext.newPage();
    await partyPage.goto(`${hx.url}/party/${washington}`);
    await partyPage.getByTestId('member-link').first().waitFor();
    const offered = await partyPage.getByTestId('member-link').evaluateAll((els) => els.map((e) => e.getAttribute('data-link')));
    assert.deepEqual(offered.sort(), [links.Walt, links.Wanda, links.Nina].sort());
    await partyPage.screenshot({ path: join(await ensureArtifactsDir(), 'party-member-links.png'), fullPage: true });
    await partyContext.close();

    // Each member's page, in a browser set to the member's own time zone.
    /** @param {string} name @param {string} zone */
    async function open(name, zone) {
      const context = await /** @type {import('playwright-core').Browser} */ (hx.browser).newContext({ locale: 'en-US', timezoneId: zone, viewport: { width: 1100, height: 760 } });
      hx.contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${hx.url}${links[name]}`);
      await page.getByTestId('join-title').waitFor();
      return page;
    }
    const dir = await ensureArtifactsDir();
    const walt = await open('Walt', 'America/New_York');
    const expected = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' }).format(new Date(slot));
    const shown = await walt.getByTestId('join-time').textContent();
    assert.ok(shown?.includes(expected) && /E[SD]T/.test(shown), `Walt sees ${expected} New York time: ${shown}`);
    assert.match((await walt.getByTestId('join-status').textContent()) ?? '', /The call (is open|opens at)/);
    // (Clicking waits for the button to be enabled: at most a minute when the later slot was taken.)
    // The calendar invitation is offered, in New York time.
    const ics = await (await fetch(`${hx.url}${await walt.getByTestId('calendar-link').getAttribute('href')}`)).text();
    assert.match(ics, /DTSTART;TZID=America\/New_York:/);
    await walt.screenshot({ path: join(dir, 'join-page.png') });

    // An adviser comes first: the call's lobby is on, and no principal (host) is there yet.
    const ada = await open('Ada', 'Europe/Moscow');
    await ada.getByTestId('join-button').click({ timeout: 90000 });
    await ada.waitForURL(/\/room\/call-/);
    const adaWaiting = ada.getByTestId('lobby-waiting');
    await adaWaiting.waitFor({ timeout: 20000 });
    assert.equal(await adaWaiting.getAttribute('data-hosts-present'), 'false');
    const adaText = await adaWaiting.innerText();
    assert.match(adaText, /No host is in the call yet\. You will get in as soon as a host joins and admits you\./);
    assert.match(adaText, /Summit preparation/, 'the call is named by its title');
    assert.match(adaText, /Ada/);
    assert.equal(await ada.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'waiting');
    // Her own camera is previewed while she waits (it is published once she is let in).
    await ada.waitForFunction(() => (/** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=lobby-preview]'))?.videoWidth ?? 0) > 0, null, { timeout: 15000 });
    await ada.screenshot({ path: join(dir, 'join-lobby-no-host.png') });

    // The principals go straight in.
    const olga = await open('Olga', 'Europe/Moscow');
    assert.match((await olga.getByTestId('join-time').textContent()) ?? '', /GMT\+3|MSK/);
    for (const page of [walt, olga]) await page.getByTestId('join-button').click({ timeout: 90000 });
    for (const page of [walt, olga]) {
      await page.waitForURL(/\/room\/call-/);
      await page.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
      assert.ok(!page.url().includes('token'), `no token left in the address bar: ${page.url()}`);
    }
    await Promise.all([waitForVideoFrom(walt, 'Olga'), waitForVideoFrom(olga, 'Walt'), waitForAudioFrom(walt, 'Olga'), waitForAudioFrom(olga, 'Walt')]);

    // Ada now hears that a host is there; both principals see her waiting; Olga lets her in.
    await ada.waitForFunction(() => document.querySelector('[data-testid=lobby-waiting]')?.getAttribute('data-hosts-present') === 'true', null, { timeout: 15000 });
    assert.match(await adaWaiting.innerText(), /Waiting for a host to let you in/);
    for (const page of [walt, olga]) await lobbyEntry(page, 'Ada').waitFor({ timeout: 15000 });
    await olga.screenshot({ path: join(dir, 'join-lobby-host.png') });
    await lobbyEntry(olga, 'Ada').locator('[data-action=admit]').click();
    await ada.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    for (const page of [walt, olga]) await lobbyEntry(page, 'Ada').waitFor({ state: 'detached', timeout: 15000 });
    await Promise.all([waitForVideoFrom(ada, 'Olga'), waitForAudioFrom(ada, 'Olga'), waitForVideoFrom(olga, 'Ada'), waitForAudioFrom(olga, 'Ada')]);

    // An observer waits too; Walt lets her in. She watches, and her page does not offer to
    // publish: the server refuses it anyway.
    const wanda = await open('Wanda', 'America/New_York');
    await wanda.getByTestId('join-button').click();
    await wanda.getByTestId('lobby-waiting').waitFor({ timeout: 20000 });
    assert.equal(await wanda.getByTestId('lobby-preview-note').innerText(), 'You will watch and listen');
    await wanda.screenshot({ path: join(dir, 'join-lobby-observer.png') });
    await lobbyEntry(walt, 'Wanda').locator('[data-action=admit]').click({ timeout: 15000 });
    await wanda.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    await waitForVideoFrom(wanda, 'Walt');
    const grants = await wanda.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.grants);
    assert.equal(grants.publish, false);
    await wanda.getByTestId('leave').click();
    await wanda.getByTestId('ended').waitFor();
    await wanda.context().close();

    // A note-taker knocks and Walt refuses: she is told why, and is not let in.
    const nina = await open('Nina', 'America/New_York');
    await nina.getByTestId('join-button').click();
    await nina.getByTestId('lobby-waiting').waitFor({ timeout: 20000 });
    await lobbyEntry(walt, 'Nina').locator('[data-action=refuse]').click({ timeout: 15000 });
    const refused = nina.getByTestId('lobby-refused');
    await refused.waitFor({ timeout: 15000 });
    assert.match(await refused.innerText(), new RegExp(REFUSED.replace('.', '\\.')));
    assert.equal(await nina.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'disconnected');
    await nina.screenshot({ path: join(dir, 'join-lobby-refused.png') });
    for (const page of [walt, olga]) await lobbyEntry(page, 'Nina').waitFor({ state: 'detached', timeout: 15000 });
    // Nina never joined: Walt is with Olga and Ada only.
    await walt.waitForFunction(() => [.../** @type {any} */ (window).hotlineRoom.participants.values()].map((p) => p.name).sort().join() === 'Ada,Olga', null, { timeout: 10000 });

    // A made-up link is refused in words.
    const stranger = await nina.context().newPage();
    await stranger.goto(`${hx.url}/join/${links.Walt.replace('/join/', '').slice(0, -2)}xx`);
    await stranger.getByTestId('join-error').waitFor();
    assert.match((await stranger.getByTestId('join-error').textContent()) ?? '', /not valid/);
  });
});
