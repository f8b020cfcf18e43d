// Scheduled calls in the browser (docs/scheduling.md): two parties in their own time zones
// (Moscow and Washington) agree a time, an agenda and its announcement through their party
// pages; the public page shows no time until both approve; an unknown link says so.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitFor, ensureArtifactsDir, waitText, createCall } from './harness.mjs';

const CONFLICT = 'Someone else changed this meanwhile; the page was reloaded';
const INVALID = 'This link is not valid or was replaced. Ask the organizer for the current one.';
const PLANNED = 'A call is planned. The date will be announced when the parties agree to.';

// ------------------------------------------------------------------ time helpers (Intl, as a user's clock shows it)

/** @param {number} t @param {string} timeZone */
function wall(t, timeZone) {
  /** @type {Record<string, string>} */
  const p = {};
  for (const x of new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(t))) p[x.type] = x.value;
  return { y: +p.year, mo: +p.month, d: +p.day, hh: +p.hour % 24, mm: +p.minute };
}

/** The instant of wall time `date` `time` in `timeZone` (an unambiguous one). @param {string} date @param {string} time @param {string} timeZone */
function zonedToUtc(date, time, timeZone) {
  const [y, mo, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, hh, mm);
  const offset = (/** @type {number} */ t) => {
    const w = wall(t, timeZone);
    return Date.UTC(w.y, w.mo - 1, w.d, w.hh, w.mm) - t;
  };
  let t = asUtc - offset(asUtc);
  t = asUtc - offset(t);
  return t;
}

/** "17:00" in `timeZone`. @param {number} t @param {string} timeZone */
const hm = (t, timeZone) => {
  const w = wall(t, timeZone);
  return `${String(w.hh).padStart(2, '0')}:${String(w.mm).padStart(2, '0')}`;
};

/** "EST" or "EDT" (what chrono-tz calls New York's time at `t`). @param {number} t */
const nyAbbr = (t) => new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', timeZoneName: 'short' }).formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName')?.value;

/** YYYY-MM-DD, `days` after today (UTC). @param {number} days */
const dateAhead = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);

// ------------------------------------------------------------------ page helpers


/**
 * Add one window through the editor and save it.
 * @param {import('playwright-core').Page} page @param {string} date @param {string} from @param {string} to
 */
async function giveWindow(page, date, from, to) {
  await page.getByTestId('add-window').click();
  const row = page.getByTestId('window-row').last();
  await row.getByTestId('window-date').fill(date);
  await row.getByTestId('window-from').fill(from);
  await row.getByTestId('window-to').fill(to);
  await waitText(page.getByTestId('windows-status'), 'Unsaved changes');
  await page.getByTestId('save-windows').click();
  await waitText(page.getByTestId('windows-status'), 'Saved');
}

/** @param {import('playwright-core').Page} page @param {string} start */
const slotAt = (page, start) => page.locator(`[data-testid=slot][data-start="${start}"]`);

describe('scheduled calls: party pages and the public page', { timeout: 240000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {import('playwright-core').Page} */
  let moscow;
  /** @type {import('playwright-core').Page} */
  let washington;
  /** @type {{call_id: string, parties: {party_id: string, name: string, link: string}[]}} */
  let created;
  /** The agreed slot: its start as the server writes it, and the instants. */
  const agreed = { start: '', t0: 0, t1: 0 };
  /** @type {string[]} */
  const pageErrors = [];
  let dir = '';

  /** @param {string} timezoneId @param {string} locale */
  const openPage = async (timezoneId, locale) => {
    const page = await hx.newPage({ width: 1280, height: 900 }, { timezoneId, locale });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return page;
  };

  before(async () => {
    hx = await Harness.start();
    dir = await ensureArtifactsDir();
  });
  after(async () => {
    await hx?.close();
  });
  /**
   * The test body `fn`, and on a failure a screenshot of what each page showed.
   * @param {() => Promise<void>} fn
   */
  const shotsOnFailure = (fn) => async () => {
    try {
      await fn();
    } catch (e) {
      for (const [name, page] of /** @type {const} */ ([['moscow', moscow], ['washington', washington]])) {
        if (page && !page.isClosed()) await page.screenshot({ path: join(dir, `party-failed-${name}.png`), fullPage: true }).catch(() => {});
      }
      throw e;
    }
  };

  it('two parties in their own time zones agree a time through their pages', { timeout: 120000 }, shotsOnFailure(async () => {
    created = await createCall(hx, {
      title: 'Strategic stability talks',
      duration_minutes: 60,
      languages: ['ru', 'en'],
      e2ee_required: true,
      parties: [
        { name: 'Moscow', time_zone: 'Europe/Moscow', members: [{ name: 'Irina Volkova', role: 'principal' }, { name: 'Pavel Orlov', role: 'interpreter', languages: ['ru', 'en'] }] },
        { name: 'Washington', time_zone: 'America/New_York', members: [{ name: 'Sarah Miller', role: 'principal' }, { name: 'Tom Baker', role: 'adviser' }] },
      ],
    });
    const link = (/** @type {string} */ name) => {
      const p = created.parties.find((x) => x.name === name);
      assert.ok(p, `a link for ${name}`);
      return `${hx.url}${p.link}`;
    };

    moscow = await openPage('Europe/Moscow', 'en-GB');
    washington = await openPage('America/New_York', 'en-US');
    await moscow.goto(link('Moscow'));
    await washington.goto(link('Washington'));
    for (const page of [moscow, washington]) {
      await page.getByTestId('party-page').waitFor();
      assert.equal(await page.getByTestId('call-title').innerText(), 'Strategic stability talks');
      await page.getByTestId('e2ee-badge').waitFor();
      const header = await page.getByTestId('party-header').innerText();
      assert.match(header, /1 hour/);
      assert.match(header, /Russian · English/);
      const parties = await page.getByTestId('parties').innerText();
      for (const want of ['Europe/Moscow', 'America/New_York', 'Irina Volkova', 'Principal', 'Pavel Orlov', 'Interpreter', 'Russian ↔ English', 'Tom Baker', 'Adviser']) {
        assert.ok(parties.includes(want), `parties show ${want}: ${parties}`);
      }
      // The local time now in each zone, as the clocks there show it.
      for (const [tz, pid] of [['Europe/Moscow', 0], ['America/New_York', 1]]) {
        const shown = await page.locator(`[data-testid=party][data-party-id="${created.parties[/** @type {number} */ (pid)].party_id}"] .party-clock`).innerText();
        const t = Date.now();
        assert.ok([hm(t - 60000, /** @type {string} */ (tz)), hm(t, /** @type {string} */ (tz)), hm(t + 60000, /** @type {string} */ (tz))].some((x) => shown.endsWith(x)), `clock of ${tz}: ${shown}`);
      }
      // Before any time is agreed, the announcement cannot be approved, and the page says why.
      assert.equal(await page.getByTestId('release-approve').isDisabled(), true);
      await waitText(page.getByTestId('release-status'), 'once the time is agreed');
    }
    await waitText(moscow.getByTestId('waiting'), 'Waiting for you and Washington');

    // Ten days ahead: Moscow can 16:00-19:00, Washington 09:00-12:00, each in its own time.
    const date = dateAhead(10);
    await giveWindow(moscow, date, '16:00', '19:00');
    await waitText(moscow.getByTestId('waiting'), 'Waiting for Washington to say when they can');
    // Washington's page shows that Moscow has (when it refreshes), then Washington gives its own.
    await waitText(washington.getByTestId('waiting'), 'Waiting for you to say when you can', 15000);
    await giveWindow(washington, date, '09:00', '12:00');

    // The first slot: the overlap of both windows in real instants (DST as on that date), on
    // the 15-minute grid.
    const m0 = zonedToUtc(date, '16:00', 'Europe/Moscow');
    const m1 = zonedToUtc(date, '19:00', 'Europe/Moscow');
    const w0 = zonedToUtc(date, '09:00', 'America/New_York');
    const w1 = zonedToUtc(date, '12:00', 'America/New_York');
    const t0 = Math.ceil(Math.max(m0, w0) / 900000) * 900000;
    const t1 = t0 + 3600000;
    assert.ok(t1 <= Math.min(m1, w1), 'the windows overlap by an hour');
    const mskText = `${hm(t0, 'Europe/Moscow')}–${hm(t1, 'Europe/Moscow')} MSK`;
    const nyText = `${hm(t0, 'America/New_York')}–${hm(t1, 'America/New_York')} ${nyAbbr(t0)}`;

    // Washington sees the slots at once; Moscow when its page refreshes.
    for (const page of [washington, moscow]) {
      await page.getByTestId('slot').first().waitFor({ timeout: 15000 });
      const first = page.getByTestId('slot').first();
      const start = /** @type {string} */ (await first.getAttribute('data-start'));
      assert.equal(Date.parse(start), t0, `first slot starts at ${new Date(t0).toISOString()}: ${start}`);
      const text = await first.innerText();
      assert.ok(text.includes(mskText), `slot shows Moscow's time ${mskText}: ${text}`);
      assert.ok(text.includes(nyText), `slot shows New York's time ${nyText}: ${text}`);
      agreed.start = start;
    }
    // Each page shows its own party's time first.
    assert.ok((await moscow.getByTestId('slot').first().locator('.slot-time.own').innerText()).includes(mskText));
    assert.ok((await washington.getByTestId('slot').first().locator('.slot-time.own').innerText()).includes(nyText));
    agreed.t0 = t0;
    agreed.t1 = t1;
    await moscow.screenshot({ path: join(dir, 'party-moscow-slots.png'), fullPage: true });

    // Unsaved edits on both pages, which refreshes and a reload must not lose.
    for (const page of [moscow, washington]) {
      await page.getByTestId('add-window').click();
      const row = page.getByTestId('window-row').last();
      await row.getByTestId('window-date').fill(dateAhead(11));
      await row.getByTestId('window-from').fill('22:00');
      await row.getByTestId('window-to').fill('01:00');
      await waitText(row.getByTestId('window-ends'), 'ends the next day');
      await waitText(page.getByTestId('windows-status'), 'Unsaved changes');
    }

    // Washington's page stops hearing from the server (its refreshes fail) until a change of
    // its is refused as stale: it then shows an old view when Moscow accepts.
    let frozen = true;
    await washington.route('**/api/parties/**', async (route) => {
      if (route.request().method() === 'GET' && frozen) return route.abort();
      const response = await route.fetch();
      if (response.status() === 409) frozen = false;
      return route.fulfill({ response });
    });

    // Moscow accepts (proposes) the first slot.
    await slotAt(moscow, agreed.start).getByTestId('slot-accept').click();
    await waitText(slotAt(moscow, agreed.start), 'Accepted by Moscow (you)');
    await slotAt(moscow, agreed.start).getByTestId('slot-withdraw').waitFor();

    // Washington, still on the old view, accepts the same slot: refused as stale, said in words,
    // the view reloaded (now with Moscow's acceptance), the unsaved window still there.
    assert.equal(await slotAt(washington, agreed.start).getByTestId('slot-state').count(), 0);
    await slotAt(washington, agreed.start).getByTestId('slot-accept').click();
    await waitText(washington.getByTestId('error'), CONFLICT);
    await waitText(slotAt(washington, agreed.start), 'Accepted by Moscow');
    assert.equal(await washington.getByTestId('window-row').count(), 2);
    assert.equal(await washington.getByTestId('windows-status').innerText(), 'Unsaved changes');
    await washington.unroute('**/api/parties/**');

    // Washington accepts again: agreed, on its page at once and on Moscow's when it refreshes.
    await slotAt(washington, agreed.start).getByTestId('slot-accept').click();
    for (const page of [washington, moscow]) {
      await page.getByTestId('agreed').waitFor({ timeout: 15000 });
      const banner = await page.getByTestId('agreed').innerText();
      assert.ok(banner.includes(mskText) && banner.includes(nyText), `the agreed banner shows both zones: ${banner}`);
    }
    assert.ok((await moscow.locator('.agreed-when').innerText()).includes(mskText));
    assert.ok((await washington.locator('.agreed-when').innerText()).includes(nyText));
    // Moscow's unsaved window survived the refreshes.
    assert.equal(await moscow.getByTestId('window-row').count(), 2);
    assert.equal(await moscow.getByTestId('windows-status').innerText(), 'Unsaved changes');
    await waitText(moscow.getByTestId('activity'), 'Washington accepted');
    await waitText(moscow.getByTestId('activity'), `Moscow (you) proposed`);
    await waitText(washington.getByTestId('activity'), `Moscow proposed`);

    // Both drop their unsaved windows.
    for (const page of [moscow, washington]) {
      await page.getByTestId('discard-windows').click();
      await waitFor(async () => (await page.getByTestId('window-row').count()) === 1, { message: 'unsaved window discarded' });
      assert.equal(await page.getByTestId('windows-status').innerText(), 'Saved');
    }
    await moscow.screenshot({ path: join(dir, 'party-moscow-agreed.png'), fullPage: true });
    await washington.screenshot({ path: join(dir, 'party-washington-agreed.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  }));

  it('both parties agree the agenda and approve the announcement; the public page shows the time only then', { timeout: 120000 }, shotsOnFailure(async () => {
    assert.ok(agreed.start, 'the time was agreed in the previous step');
    const publicPage = await openPage('Asia/Tokyo', 'en-GB');
    await publicPage.goto(`${hx.url}/call/${created.call_id}`);
    await waitText(publicPage.getByTestId('public-page'), PLANNED);
    const before = await publicPage.locator('body').innerText();
    assert.ok(before.includes('Strategic stability talks'), before);
    assert.ok(!/\d/.test(before), `no date or time before the announcement: ${before}`);
    await publicPage.screenshot({ path: join(dir, 'public-planned.png') });

    // Agenda: Moscow proposes an item; Washington sees it when its page refreshes and accepts.
    await moscow.getByTestId('agenda-input').fill('Opening statements');
    await moscow.getByTestId('agenda-propose').click();
    const item = (/** @type {import('playwright-core').Page} */ page, /** @type {string} */ title) => page.locator('[data-testid=agenda-item]', { hasText: title });
    await waitText(item(moscow, 'Opening statements').getByTestId('agenda-status'), 'Waiting for Washington');
    assert.equal(await moscow.getByTestId('agenda-input').inputValue(), '');
    await item(washington, 'Opening statements').waitFor({ timeout: 15000 });
    await waitText(item(washington, 'Opening statements').getByTestId('agenda-status'), 'Waiting for Washington (you)');
    await item(washington, 'Opening statements').getByTestId('agenda-accept').click();
    await waitText(item(washington, 'Opening statements').getByTestId('agenda-status'), 'Agreed');
    await waitText(item(moscow, 'Opening statements').getByTestId('agenda-status'), 'Agreed', 15000);

    // Washington proposes a second item and moves it first; Moscow sees the order and accepts it.
    await washington.getByTestId('agenda-input').fill('Verification measures');
    await washington.getByTestId('agenda-propose').click();
    await item(washington, 'Verification measures').waitFor();
    await item(washington, 'Verification measures').getByTestId('agenda-up').click();
    const titles = (/** @type {import('playwright-core').Page} */ page) => page.getByTestId('agenda-title').allInnerTexts();
    await waitFor(async () => (await titles(washington)).join('|') === 'Verification measures|Opening statements', { message: 'new order on the Washington page' });
    await waitFor(async () => (await titles(moscow)).join('|') === 'Verification measures|Opening statements', { timeout: 15000, message: 'new order on the Moscow page' });
    await item(moscow, 'Verification measures').getByTestId('agenda-accept').click();
    await waitText(item(moscow, 'Verification measures').getByTestId('agenda-status'), 'Agreed');
    assert.equal(await item(moscow, 'Opening statements').getByTestId('agenda-up').isDisabled(), false);
    assert.equal(await item(moscow, 'Verification measures').getByTestId('agenda-up').isDisabled(), true);

    // The announcement: Moscow approves; the public page still shows no time.
    await moscow.getByTestId('release-approve').click();
    await waitText(moscow.getByTestId('release-status'), 'Approved by Moscow (you)');
    await waitText(moscow.getByTestId('release-status'), 'Waiting for Washington');
    await moscow.getByTestId('release-withdraw').waitFor();
    await publicPage.reload();
    await waitText(publicPage.getByTestId('public-page'), PLANNED);
    assert.ok(!/\d/.test(await publicPage.locator('body').innerText()), 'no date or time after one approval');

    // Washington sees Moscow's approval and approves: announced on both pages.
    await waitText(washington.getByTestId('release-status'), 'Approved by Moscow', 15000);
    await washington.getByTestId('release-approve').click();
    for (const page of [washington, moscow]) {
      await page.locator('[data-testid=release-status][data-state=released]').waitFor({ timeout: 15000 });
      await waitText(page.getByTestId('agreed'), /Agreed and announced/i);
    }
    await waitText(moscow.getByTestId('activity'), 'The time was announced');

    // The public page now shows the time in the viewer's zone (Tokyo) and in UTC.
    await publicPage.reload();
    await publicPage.locator('[data-testid=public-page][data-status=scheduled]').waitFor();
    const when = await publicPage.getByTestId('public-time').innerText();
    const tokyo = `${hm(agreed.t0, 'Asia/Tokyo')}–${hm(agreed.t1, 'Asia/Tokyo')}`;
    const utc = `${hm(agreed.t0, 'UTC')}–${hm(agreed.t1, 'UTC')}`;
    assert.ok(when.includes(tokyo) || when.includes(`${hm(agreed.t0, 'Asia/Tokyo')} – ${hm(agreed.t1, 'Asia/Tokyo')}`), `Tokyo time ${tokyo}: ${when}`);
    assert.ok(when.includes('Asia/Tokyo'), when);
    assert.ok((await publicPage.getByTestId('public-utc').innerText()).includes(utc), `UTC ${utc}: ${when}`);
    await publicPage.screenshot({ path: join(dir, 'public-scheduled.png') });
    await moscow.screenshot({ path: join(dir, 'party-moscow-announced.png'), fullPage: true });
    await moscow.setViewportSize({ width: 400, height: 860 });
    await moscow.screenshot({ path: join(dir, 'party-moscow-narrow.png'), fullPage: true });
    await publicPage.setViewportSize({ width: 400, height: 760 });
    await publicPage.screenshot({ path: join(dir, 'public-scheduled-narrow.png') });
    assert.deepEqual(pageErrors, []);
  }));

  it('an unknown party link or call says so in words', { timeout: 30000 }, async () => {
    const page = await openPage('Europe/Berlin', 'en-GB');
    await page.goto(`${hx.url}/party/not-a-real-key`);
    await waitText(page.getByTestId('invalid-link'), INVALID);
    await page.screenshot({ path: join(dir, 'party-invalid-link.png') });
    await page.goto(`${hx.url}/call/no-such-call`);
    await waitText(page.getByTestId('public-page'), 'No such call');
    assert.deepEqual(pageErrors, []);
  });
});
