// The organizer's page (/schedule, docs/scheduling.md): from the dev start page, an organizer
// describes a call between Moscow and Washington, is told in words what is missing (an
// interpreter's language pair), creates it, and hands out the parties' private links; a party's
// link opens its page. A credential the server refuses is said, and another can be pasted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Harness, waitFor, ensureArtifactsDir, mintOrganizerToken, waitText } from './harness.mjs';

const LINKS_NOTE = 'Send each party only its own link: whoever has it speaks for that party.';


/**
 * From the dev start page to the organizer's page, by its link.
 * @param {Harness} hx @param {import('playwright-core').Page} page @param {string} [shot]  a screenshot of the start page
 */
async function openFromStart(hx, page, shot = '') {
  await page.goto(`${hx.url}/`);
  await page.getByTestId('prejoin').waitFor();
  if (shot) await page.screenshot({ path: shot });
  await page.getByTestId('plan-scheduled-call').click();
  await page.getByTestId('organize-page').waitFor();
  assert.equal(new URL(page.url()).pathname, '/schedule');
  // Development mode: the page gets an organizer's credential by itself.
  await page.locator('[data-testid=credential-status][data-state=held]').waitFor();
}

/**
 * Choose a time zone by typing part of it and picking it from the list.
 * @param {import('playwright-core').Locator} party @param {string} typed @param {string} zone @param {'click' | 'enter'} how
 * @param {string} [shot]  a screenshot with the list open
 */
async function chooseZone(party, typed, zone, how, shot = '') {
  const input = party.getByTestId('party-zone-input');
  await input.fill(typed);
  const option = party.locator(`[data-testid=zone-option][data-zone="${zone}"]`);
  await option.waitFor();
  if (shot) await party.page().screenshot({ path: shot });
  if (how === 'click') await option.click();
  else {
    assert.equal(await party.locator('[data-testid=zone-option].active').getAttribute('data-zone'), zone, 'the first match is active');
    await input.press('Enter');
  }
  await waitFor(async () => (await input.inputValue()) === zone, { message: `zone ${zone} chosen` });
  assert.equal(await party.getByTestId('zone-list').isHidden(), true);
}

/**
 * Fill in a member row.
 * @param {import('playwright-core').Locator} row @param {string} name @param {string} role
 */
async function fillMember(row, name, role) {
  await row.getByTestId('member-name-input').fill(name);
  await row.getByTestId('member-role-select').selectOption(role);
}

describe('the organizer’s page', { timeout: 120000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {string[]} */
  const pageErrors = [];
  let dir = '';

  before(async () => {
    hx = await Harness.start();
    dir = await ensureArtifactsDir();
  });
  after(async () => {
    await hx?.close();
  });

  /** @param {string} timezoneId @param {import('playwright-core').BrowserContextOptions} [more] */
  const openPage = async (timezoneId, more = {}) => {
    const page = await hx.newPage({ width: 1280, height: 900 }, { timezoneId, locale: 'en-GB', ...more });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return page;
  };

  /**
   * The test body `fn`, and on a failure a screenshot of `page()`.
   * @param {string} name @param {() => import('playwright-core').Page | undefined} page @param {() => Promise<void>} fn
   */
  const shotOnFailure = (name, page, fn) => async () => {
    try {
      await fn();
    } catch (e) {
      const p = page();
      if (p && !p.isClosed()) await p.screenshot({ path: join(dir, `${name}-failed.png`), fullPage: true }).catch(() => {});
      throw e;
    }
  };

  /** @type {import('playwright-core').Page | undefined} */
  let organizer;
  it('creates a call between two parties and hands out their links', { timeout: 90000 }, shotOnFailure('organize', () => organizer, async () => {
    organizer = await openPage('Europe/Berlin', { permissions: ['clipboard-read', 'clipboard-write'] });
    const page = organizer;
    await openFromStart(hx, page, join(dir, 'organize-start-link.png'));
    await page.screenshot({ path: join(dir, 'organize-empty.png'), fullPage: true });

    // Two parties to begin with; the first in the browser's own time zone.
    const parties = page.getByTestId('party-editor');
    assert.equal(await parties.count(), 2);
    assert.equal(await parties.nth(0).getByTestId('party-zone-input').inputValue(), 'Europe/Berlin');
    assert.equal(await parties.nth(1).getByTestId('party-zone-input').inputValue(), '');

    // The call.
    await page.getByTestId('call-title-input').fill('Strategic stability talks');
    await page.locator('[data-testid=duration-option][data-minutes="90"]').click();
    assert.equal(await page.getByTestId('duration-input').inputValue(), '90');
    await page.getByTestId('languages-input').fill('ru, en');
    await waitText(page.getByTestId('languages-names'), 'Russian · English');
    await page.getByTestId('e2ee-input').check();

    // Moscow: a principal and an interpreter (whose languages are left out at first).
    const moscow = parties.nth(0);
    await moscow.getByTestId('party-name-input').fill('Moscow');
    await chooseZone(moscow, 'Moscow', 'Europe/Moscow', 'click');
    await waitText(moscow.getByTestId('zone-hint'), 'UTC+3');
    await fillMember(moscow.getByTestId('member-row').nth(0), 'Irina Volkova', 'principal');
    await moscow.getByTestId('add-member').click();
    const interpreter = moscow.getByTestId('member-row').nth(1);
    await fillMember(interpreter, 'Pavel Orlov', 'interpreter');
    await interpreter.getByTestId('member-lang-from').waitFor();

    // Washington: a principal and an adviser; its zone typed and taken with Enter.
    const washington = parties.nth(1);
    await washington.getByTestId('party-name-input').fill('Washington');
    await washington.scrollIntoViewIfNeeded();
    await chooseZone(washington, 'new york', 'America/New_York', 'enter');
    await chooseZone(washington, 'America/New', 'America/New_York', 'click', join(dir, 'organize-zone-list.png'));
    await fillMember(washington.getByTestId('member-row').nth(0), 'Sarah Miller', 'principal');
    await washington.getByTestId('add-member').click();
    await fillMember(washington.getByTestId('member-row').nth(1), 'Tom Baker', 'adviser');
    // The principal always hosts; the adviser is made a host too.
    const principalHost = washington.getByTestId('member-row').nth(0).getByTestId('member-host');
    assert.equal(await principalHost.isChecked(), true);
    assert.equal(await principalHost.isDisabled(), true);
    await washington.getByTestId('member-row').nth(1).getByTestId('member-host').check();
    assert.equal(await washington.locator('[data-testid=member-lang-from]:visible').count(), 0, 'only interpreters have a language pair');

    // Creating is refused in the page: the interpreter has no language pair, said next to it.
    await page.getByTestId('create-call').click();
    const pairError = interpreter.locator('[data-testid=field-error][data-field=member-languages]');
    await waitText(pairError, 'An interpreter needs a language pair');
    assert.ok((await pairError.innerText()).includes('Pavel Orlov'), await pairError.innerText());
    assert.equal(await page.locator('[data-testid=field-error]:visible').count(), 1, 'nothing else is wrong');
    await waitText(page.getByTestId('form-problem'), 'One field needs attention');
    assert.equal(await interpreter.getByTestId('member-lang-from').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('created').count(), 0);
    await page.screenshot({ path: join(dir, 'organize-field-error.png'), fullPage: true });

    // Fixed: the note goes as the pair is typed, and the pair is shown by name.
    await interpreter.getByTestId('member-lang-from').fill('ru');
    await interpreter.getByTestId('member-lang-to').fill('en');
    await pairError.waitFor({ state: 'hidden' });
    await page.getByTestId('form-problem').waitFor({ state: 'hidden' });
    await waitText(interpreter.getByTestId('member-lang-names'), 'Russian ↔ English');

    // Created: each party's private link in full, the note on handing them out, the public page.
    await page.getByTestId('create-call').click();
    await page.getByTestId('created').waitFor();
    await waitText(page.getByTestId('created'), 'Call created');
    assert.equal(await page.getByTestId('created-title').innerText(), 'Strategic stability talks');
    await waitText(page.getByTestId('links-note'), LINKS_NOTE);
    const created = page.getByTestId('created-party');
    assert.equal(await created.count(), 2);
    /** @type {string[]} */
    const links = [];
    for (const [i, name] of [[0, 'Moscow'], [1, 'Washington']]) {
      const item = created.nth(/** @type {number} */ (i));
      const text = await item.innerText();
      assert.ok(text.includes(/** @type {string} */ (name)), text);
      const link = item.getByTestId('party-link');
      const href = /** @type {string} */ (await link.getAttribute('href'));
      assert.match(href, new RegExp(`^${hx.url.replace(/[.]/g, '\\.')}/party/[A-Za-z0-9_-]{20,}$`), href);
      assert.equal(await link.innerText(), href, 'the link is shown in full');
      links.push(href);
    }
    assert.notEqual(links[0], links[1]);
    assert.ok((await created.nth(0).innerText()).includes('Europe/Moscow'));
    assert.ok((await created.nth(1).innerText()).includes('America/New_York'));
    assert.ok((await created.nth(1).innerText()).includes('Tom Baker (Adviser, host)'), await created.nth(1).innerText());
    assert.match(/** @type {string} */ (await page.getByTestId('public-link').getAttribute('href')), new RegExp(`^${hx.url.replace(/[.]/g, '\\.')}/call/[A-Za-z0-9_-]+$`));

    // Copy puts the party's link on the clipboard.
    await created.nth(1).getByTestId('copy-link').click();
    await waitText(created.nth(1).getByTestId('copy-link'), 'Copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), links[1]);
    await page.screenshot({ path: join(dir, 'organize-created.png'), fullPage: true });

    // The first party's link opens its page, with the call's title and both parties.
    const party = await openPage('Europe/Moscow');
    await party.goto(links[0]);
    await party.getByTestId('party-page').waitFor();
    assert.equal(await party.getByTestId('call-title').innerText(), 'Strategic stability talks');
    const header = await party.getByTestId('party-header').innerText();
    assert.match(header, /1 hour 30 minutes/);
    assert.match(header, /Russian · English/);
    await party.getByTestId('e2ee-badge').waitFor();
    const shown = await party.getByTestId('parties').innerText();
    for (const want of ['Moscow', 'Washington', 'Europe/Moscow', 'America/New_York', 'Irina Volkova', 'Pavel Orlov', 'Russian ↔ English', 'Sarah Miller', 'Tom Baker', 'Adviser']) {
      assert.ok(shown.includes(want), `the party page shows ${want}: ${shown}`);
    }
    assert.equal(await party.getByTestId('party').count(), 2);
    const hosts = await party.locator('[data-testid=member-host-badge]').evaluateAll((els) => els.map((e) => e.closest('li')?.querySelector('.member-name')?.textContent));
    assert.deepEqual(hosts, ['Irina Volkova', 'Sarah Miller', 'Tom Baker']);

    // Plan another: a fresh form, the credential kept.
    await page.getByTestId('plan-another').click();
    await page.getByTestId('organize-form').waitFor();
    assert.equal(await page.getByTestId('call-title-input').inputValue(), '');
    assert.equal(await page.getByTestId('party-editor').count(), 2);
    assert.equal(await page.locator('[data-testid=field-error]:visible').count(), 0);
    await page.locator('[data-testid=credential-status][data-state=held]').waitFor();
    await page.setViewportSize({ width: 400, height: 860 });
    await page.screenshot({ path: join(dir, 'organize-narrow.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  }));

  /** @type {import('playwright-core').Page | undefined} */
  let second;
  it('says when a credential is refused, and takes another', { timeout: 60000 }, shotOnFailure('organize-credential', () => second, async () => {
    second = await openPage('America/New_York');
    const page = second;
    await openFromStart(hx, page);

    // A call with too few parties is refused in the page, said in words.
    await page.getByTestId('call-title-input').fill('Trade talks');
    await page.getByTestId('party-editor').nth(1).getByTestId('remove-party').click();
    await waitFor(async () => (await page.getByTestId('party-editor').count()) === 1, { message: 'one party left' });
    const only = page.getByTestId('party-editor').first();
    await only.getByTestId('party-name-input').fill('Washington');
    await fillMember(only.getByTestId('member-row').first(), 'Sarah Miller', 'principal');
    await page.getByTestId('create-call').click();
    await waitText(page.locator('[data-testid=field-error][data-field=parties]'), 'at least 2 parties');
    await page.getByTestId('add-party').click();
    const other = page.getByTestId('party-editor').nth(1);
    await other.getByTestId('party-name-input').fill('Ottawa');
    await chooseZone(other, 'Toronto', 'America/Toronto', 'click');
    await other.getByTestId('remove-member').click();
    await page.locator('[data-testid=field-error][data-field=parties]').waitFor({ state: 'hidden' });

    // An invitation to a room is not an organizer's credential: said before anything is sent.
    await page.getByTestId('credential-change').click();
    await page.getByTestId('credential-card').waitFor();
    await page.getByTestId('credential-input').fill(await hx.mintToken({ room: 'lobby', identity: 'guest', name: 'Guest' }));
    await page.getByTestId('credential-save').click();
    await waitText(page.locator('[data-testid=field-error][data-field=credential]'), 'not an organizer’s credential');

    // One signed with another secret looks right here, and the server refuses it: said, the form kept.
    await page.getByTestId('credential-input').fill(await hx.token(['--organizer', '--identity', 'mallory'], randomBytes(32).toString('hex')));
    await page.getByTestId('credential-save').click();
    await page.getByTestId('credential-card').waitFor({ state: 'hidden' });
    await waitText(page.getByTestId('credential-status'), 'mallory');
    await page.getByTestId('create-call').click();
    await waitText(page.getByTestId('credential-refused'), 'The server did not accept the credential');
    await waitText(page.getByTestId('credential-refused'), /token refused/i);
    await waitText(page.getByTestId('form-problem'), 'the credential was refused');
    await page.locator('[data-testid=credential-status][data-state=none]').waitFor();
    assert.equal(await page.getByTestId('call-title-input').inputValue(), 'Trade talks');
    await page.screenshot({ path: join(dir, 'organize-credential-refused.png'), fullPage: true });

    // The organizer pastes a real one (as `hotline token --organizer` prints it) and creates the call.
    await page.getByTestId('credential-input').fill(await mintOrganizerToken(hx, 'alice'));
    await page.getByTestId('credential-save').click();
    await waitText(page.getByTestId('credential-status'), 'alice');
    await page.getByTestId('form-problem').waitFor({ state: 'hidden' });


    await page.getByTestId('create-call').click();
    await page.getByTestId('created').waitFor();
    assert.equal(await page.getByTestId('created-party').count(), 2);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hotline:organizer-token')?.split('.').length), 3, 'the credential is kept for the tab');
    assert.deepEqual(pageErrors, []);
  }));
});
