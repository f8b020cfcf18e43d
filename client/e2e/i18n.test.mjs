// The web client's own text in English and Russian (issue 8): every language file has the same keys
// and placeholders as English (a node test); a browser set to Russian sees the start page, a party
// page, the public page and the organizer's page in Russian, switches to English with the language
// menu without losing what was typed, and keeps the choice across a reload; a browser set to English
// sees English.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitFor, ensureArtifactsDir, mintOrganizerToken, waitText } from './harness.mjs';
import { LOCALES } from '../web/i18n/locales.js';
import en from '../web/i18n/en.js';

/** @param {unknown} message @returns {string[]} every form of a text */
const forms = (message) => (typeof message === 'string' ? [message] : Object.values(/** @type {Record<string, string>} */ (message)));
/** @param {unknown} message @returns {string[]} its `{name}` placeholders, sorted, each once */
const placeholders = (message) => [...new Set(forms(message).flatMap((text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();

describe('language files', () => {
  it('every language has exactly the keys of English, with the same placeholders and its plural forms', async () => {
    assert.ok(LOCALES.some((l) => l.tag === 'en') && LOCALES.some((l) => l.tag === 'ru'), 'English and Russian are listed');
    assert.equal(new Set(LOCALES.map((l) => l.tag)).size, LOCALES.length, 'each language is listed once');
    const enKeys = Object.keys(en).sort();
    for (const { tag, name, load } of LOCALES) {
      assert.ok(name && name.trim(), `${tag} has its own name`);
      const catalog = /** @type {Record<string, unknown>} */ ((await load()).default);
      const keys = Object.keys(catalog).sort();
      const missing = enKeys.filter((k) => !(k in catalog));
      const extra = keys.filter((k) => !(k in en));
      assert.deepEqual(missing, [], `keys missing in ${tag}.js`);
      assert.deepEqual(extra, [], `keys in ${tag}.js that en.js does not have`);
      const categories = new Intl.PluralRules(tag).resolvedOptions().pluralCategories;
      for (const key of enKeys) {
        const mine = catalog[key];
        const english = /** @type {Record<string, unknown>} */ (en)[key];
        assert.equal(typeof mine, typeof english, `${tag} ${key}: a text where English has one, plural forms where English has them`);
        assert.deepEqual(placeholders(mine), placeholders(english), `${tag} ${key}: the same placeholders as English`);
        for (const text of forms(mine)) assert.ok(typeof text === 'string' && text.trim() !== '', `${tag} ${key}: no empty text`);
        if (typeof mine === 'object' && mine) {
          const has = Object.keys(mine);
          for (const c of categories) assert.ok(has.includes(c), `${tag} ${key}: the plural form "${c}"`);
          for (const c of has) assert.ok(categories.includes(/** @type {Intl.LDMLPluralRule} */ (c)), `${tag} ${key}: "${c}" is not a plural form of ${tag}`);
        }
      }
    }
  });
});

describe('t()', () => {
  it('fills placeholders, picks the plural form of the language, and falls back to English, never to the key', async (t) => {
    const i18n = await import('../web/i18n/index.js');
    const ru = /** @type {Record<string, unknown>} */ ((await import('../web/i18n/ru.js')).default);
    assert.equal(i18n.t('duration.hours', { count: 3 }), '3 hours');
    await i18n.setLocale('ru');
    assert.equal(i18n.locale(), 'ru');
    assert.deepEqual([1, 3, 5, 21, 22, 25, 111].map((count) => i18n.t('duration.hours', { count })), ['1 час', '3 часа', '5 часов', '21 час', '22 часа', '25 часов', '111 часов']);
    assert.equal(i18n.t('party.kicker', { name: 'Moscow' }), 'Запланированный звонок · страница стороны «Moscow»');
    assert.equal(i18n.tryT('role.no_such_role'), null);
    assert.equal(i18n.tryT('role.observer'), 'Наблюдатель');
    // A text missing in Russian: English, and a warning.
    const warn = t.mock.method(console, 'warn', () => {});
    const saved = ru['party.propose'];
    delete ru['party.propose'];
    try {
      assert.equal(i18n.t('party.propose'), 'Propose');
    } finally {
      ru['party.propose'] = saved;
    }
    assert.equal(warn.mock.callCount(), 1);
    assert.match(String(warn.mock.calls[0].arguments[0]), /party\.propose/);
    await i18n.setLocale('en');
    assert.equal(i18n.t('party.propose'), 'Propose');
  });
});

describe('the web client in English and Russian', { timeout: 180000 }, () => {
  /** @type {Harness} */
  let hx;
  let dir = '';
  /** @type {string[]} */
  const problems = [];

  before(async () => {
    hx = await Harness.start();
    dir = await ensureArtifactsDir();
  });
  after(async () => {
    await hx?.close();
  });

  /**
   * A page in a browser set to `locale`; page errors and the i18n module's warnings (a text
   * missing in a language) are collected.
   * @param {string} locale @param {{width?: number, height?: number}} [viewport]
   */
  const openPage = async (locale, viewport = { width: 1280, height: 900 }) => {
    const page = await hx.newPage(viewport, { locale, timezoneId: 'Europe/Moscow' });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'warning' && m.text().startsWith('i18n:')) problems.push(m.text());
    });
    return page;
  };

  /** @param {import('playwright-core').Page} page @param {string} tag @param {string} [shot]  a screenshot with the menu open */
  const chooseLanguage = async (page, tag, shot = '') => {
    await page.getByTestId('ui-language-menu').click();
    await page.getByTestId('ui-language-list').waitFor();
    if (shot) await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: page.viewportSize()?.width ?? 1280, height: 240 } });
    await page.locator(`[data-testid=ui-language-option][data-locale="${tag}"]`).click();
    await page.locator(`html[lang="${tag}"]`).waitFor({ state: 'attached' });
  };

  /** A scheduled call between Moscow and Washington, made through the API. */
  const createCall = async () => {
    const token = await mintOrganizerToken(hx);
    const res = await fetch(`${hx.url}/api/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Strategic stability talks',
        duration_minutes: 60,
        languages: ['ru', 'en'],
        e2ee_required: true,
        parties: [
          { name: 'Moscow', time_zone: 'Europe/Moscow', members: [{ name: 'Irina Volkova', role: 'principal' }, { name: 'Pavel Orlov', role: 'interpreter', languages: ['ru', 'en'] }] },
          { name: 'Washington', time_zone: 'America/New_York', members: [{ name: 'Sarah Miller', role: 'principal' }, { name: 'Tom Baker', role: 'adviser', host: true }] },
        ],
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return /** @type {{call_id: string, parties: {party_id: string, name: string, link: string}[]}} */ (await res.json());
  };

  it('a browser set to Russian sees Russian, switches to English in place, and keeps the choice', { timeout: 120000 }, async () => {
    const page = await openPage('ru-RU');

    // The start page (development mode), in Russian.
    await page.goto(`${hx.url}/`);
    await page.getByTestId('prejoin').waitFor();
    await page.locator('html[lang="ru"]').waitFor({ state: 'attached' });
    await waitText(page.getByTestId('prejoin'), 'Готовы войти?');
    assert.equal(await page.getByTestId('join-button').innerText(), 'Войти');
    assert.equal(await page.getByTestId('name-input').getAttribute('placeholder'), 'Ваше имя');
    await waitText(page.getByTestId('plan-scheduled-call'), 'Запланировать звонок');
    assert.match(await page.getByTestId('ui-language-menu').innerText(), /RU/);
    // What is typed stays when the language changes (and the camera preview keeps playing).
    await page.getByTestId('name-input').fill('Ирина');
    await page.waitForFunction(() => (/** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid=preview-video]'))?.videoWidth ?? 0) > 0, null, { timeout: 20000 });
    await chooseLanguage(page, 'en');
    await waitText(page.getByTestId('prejoin'), 'Ready to join?');
    assert.equal(await page.getByTestId('join-button').innerText(), 'Join now');
    assert.equal(await page.getByTestId('name-input').inputValue(), 'Ирина');
    assert.equal(await page.evaluate(() => /** @type {HTMLVideoElement} */ (document.querySelector('[data-testid=preview-video]')).paused), false, 'the preview still plays');
    await chooseLanguage(page, 'ru');
    await waitText(page.getByTestId('prejoin'), 'Готовы войти?');
    await page.screenshot({ path: join(dir, 'i18n-start-ru.png') });

    // A party's page, in Russian: headings, roles, the duration and the languages' names.
    const created = await createCall();
    const moscow = created.parties.find((p) => p.name === 'Moscow');
    assert.ok(moscow);
    await page.goto(`${hx.url}${moscow.link}`);
    await page.getByTestId('party-page').waitFor();
    await page.locator('html[lang="ru"]').waitFor({ state: 'attached' });
    await waitText(page.getByTestId('windows-editor'), 'Когда вам удобно?');
    const header = await page.getByTestId('party-header').innerText();
    assert.match(header, /1 час/);
    assert.match(header, /русский · английский/);
    assert.match(header, /Сквозное шифрование/);
    const parties = await page.getByTestId('parties').innerText();
    for (const want of ['Стороны', 'Руководитель', 'Переводчик', 'Советник', 'Ведущий', 'русский ↔ английский', 'Время ещё не указано']) {
      assert.ok(parties.includes(want), `the parties show ${want}: ${parties}`);
    }
    await waitText(page.getByTestId('waiting'), 'Ждём, пока вы и Washington укажете, когда вам удобно.');
    await waitText(page.getByTestId('release-status'), 'Одобрить можно, когда время будет согласовано.');
    await waitText(page.getByTestId('party-status'), 'Данные актуальны');
    // An unsaved time, which switching the language must keep.
    await page.getByTestId('add-window').click();
    await page.getByTestId('window-row').last().getByTestId('window-from').fill('22:00');
    await page.getByTestId('window-row').last().getByTestId('window-to').fill('01:00');
    await waitText(page.getByTestId('window-ends'), 'заканчивается на следующий день');
    await waitText(page.getByTestId('windows-status'), 'Не сохранено');
    await page.getByTestId('agenda-input').fill('Вступительные заявления');
    await page.screenshot({ path: join(dir, 'i18n-party-ru.png'), fullPage: true });
    await page.setViewportSize({ width: 400, height: 860 });
    await page.screenshot({ path: join(dir, 'i18n-party-ru-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Switched to English: the same page in English, the unsaved time and the typed item kept.
    await chooseLanguage(page, 'en', join(dir, 'i18n-menu-open.png'));
    await waitText(page.getByTestId('windows-editor'), 'When can you?');
    assert.match(await page.getByTestId('party-header').innerText(), /1 hour/);
    assert.match(await page.getByTestId('party-header').innerText(), /Russian · English/);
    assert.ok((await page.getByTestId('parties').innerText()).includes('Principal'));
    await waitText(page.getByTestId('waiting'), 'Waiting for you and Washington');
    assert.equal(await page.getByTestId('window-row').count(), 1);
    assert.equal(await page.getByTestId('windows-status').innerText(), 'Unsaved changes');
    assert.equal(await page.getByTestId('window-row').last().getByTestId('window-from').inputValue(), '22:00');
    await waitText(page.getByTestId('window-ends'), 'ends the next day');
    assert.equal(await page.getByTestId('agenda-input').inputValue(), 'Вступительные заявления');
    assert.equal(await page.getByTestId('agenda-input').getAttribute('placeholder'), 'e.g. Opening statements');
    assert.match(await page.getByTestId('ui-language-menu').innerText(), /EN/);

    // The choice is kept: after a reload, and on the other pages.
    await page.reload();
    await page.getByTestId('party-page').waitFor();
    await page.locator('html[lang="en"]').waitFor({ state: 'attached' });
    await waitText(page.getByTestId('windows-editor'), 'When can you?');
    await page.goto(`${hx.url}/call/${created.call_id}`);
    await waitText(page.getByTestId('public-page'), 'A call is planned.');

    // The public page in Russian.
    await chooseLanguage(page, 'ru');
    await waitText(page.getByTestId('public-page'), 'Звонок запланирован. Дату объявят, когда стороны на это согласятся.');
    await waitText(page.getByTestId('public-status'), 'Запланирован');
    assert.ok(!/\d/.test(await page.locator('body').innerText()), 'still no date or time');
    assert.deepEqual(problems, []);
  });

  it('the organizer’s page in Russian keeps the form when the language changes', { timeout: 90000 }, async () => {
    const page = await openPage('ru-RU');
    await page.goto(`${hx.url}/schedule`);
    await page.getByTestId('organize-page').waitFor();
    await page.locator('[data-testid=credential-status][data-state=held]').waitFor();
    await waitText(page.getByTestId('organize-page'), 'Запланировать звонок');
    await waitText(page.getByTestId('credential-status'), 'Организатор:');
    assert.equal(await page.getByTestId('create-call').innerText(), 'Создать звонок');
    assert.equal(await page.locator('[data-testid=duration-option][data-minutes="90"]').innerText(), '1 ч 30');

    await page.getByTestId('call-title-input').fill('Переговоры о стратегической стабильности');
    await page.getByTestId('languages-input').fill('ru, en');
    await waitText(page.getByTestId('languages-names'), 'русский · английский');
    const first = page.getByTestId('party-editor').nth(0);
    const pairError = first.getByTestId('member-row').nth(1).locator('[data-testid=field-error][data-field=member-languages]');
    await first.getByTestId('party-name-input').fill('Москва');
    await first.getByTestId('member-row').nth(0).getByTestId('member-name-input').fill('Ирина Волкова');
    await first.getByTestId('add-member').click();
    await first.getByTestId('member-row').nth(1).getByTestId('member-name-input').fill('Павел Орлов');
    await first.getByTestId('member-row').nth(1).getByTestId('member-role-select').selectOption('interpreter');
    // Creating is refused in the page, in Russian: the second party is empty, the interpreter has no pair.
    await page.getByTestId('create-call').click();
    await waitText(pairError, 'Переводчику нужна языковая пара: два языка, между которыми переводит Павел Орлов');
    await waitText(page.getByTestId('form-problem'), 'требуют внимания');
    await page.screenshot({ path: join(dir, 'i18n-organize-ru.png'), fullPage: true });
    await page.setViewportSize({ width: 400, height: 860 });
    await page.screenshot({ path: join(dir, 'i18n-organize-ru-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // In English: everything typed is still there, and the notes say the same in English.
    await chooseLanguage(page, 'en');
    await waitText(page.getByTestId('organize-page'), 'Plan a scheduled call');
    assert.equal(await page.getByTestId('call-title-input').inputValue(), 'Переговоры о стратегической стабильности');
    assert.equal(await first.getByTestId('party-name-input').inputValue(), 'Москва');
    assert.equal(await first.getByTestId('member-row').nth(1).getByTestId('member-role-select').inputValue(), 'interpreter');
    assert.equal(await first.getByTestId('member-row').nth(1).getByTestId('member-role-select').locator('option:checked').innerText(), 'Interpreter');
    await waitText(pairError, 'An interpreter needs a language pair: the two languages Павел Орлов interprets between');
    await waitText(page.getByTestId('form-problem'), 'fields need attention');
    await waitText(page.getByTestId('languages-names'), 'Russian · English');
    assert.equal(await page.getByTestId('create-call').innerText(), 'Create the call');

    // Back in Russian, completed and created: the links, in Russian.
    await chooseLanguage(page, 'ru');
    await first.getByTestId('member-row').nth(1).getByTestId('member-lang-from').fill('ru');
    await first.getByTestId('member-row').nth(1).getByTestId('member-lang-to').fill('en');
    const second = page.getByTestId('party-editor').nth(1);
    await second.getByTestId('party-name-input').fill('Вашингтон');
    await second.getByTestId('party-zone-input').fill('New York');
    await second.locator('[data-testid=zone-option][data-zone="America/New_York"]').click();
    await second.getByTestId('member-row').nth(0).getByTestId('member-name-input').fill('Сара Миллер');
    await page.getByTestId('create-call').click();
    await page.getByTestId('created').waitFor();
    await waitText(page.getByTestId('created'), 'Звонок создан');
    await waitText(page.getByTestId('links-note'), 'Отправляйте каждой стороне только её ссылку');
    assert.ok((await page.getByTestId('created-party').nth(0).innerText()).includes('Павел Орлов (Переводчик, русский ↔ английский)'));
    await page.screenshot({ path: join(dir, 'i18n-organize-created-ru.png'), fullPage: true });
    await chooseLanguage(page, 'en');
    await waitText(page.getByTestId('created'), 'Call created');
    assert.deepEqual(problems, []);
  });

  it('a browser set to English sees English', { timeout: 30000 }, async () => {
    const page = await openPage('en-US');
    await page.goto(`${hx.url}/`);
    await page.getByTestId('prejoin').waitFor();
    await page.locator('html[lang="en"]').waitFor({ state: 'attached' });
    await waitText(page.getByTestId('prejoin'), 'Ready to join?');
    assert.match(await page.getByTestId('ui-language-menu').innerText(), /EN/);
    // A browser in a language the client does not speak: English.
    const de = await openPage('de-DE');
    await de.goto(`${hx.url}/`);
    await de.getByTestId('prejoin').waitFor();
    await waitFor(async () => (await de.evaluate(() => document.documentElement.lang)) === 'en', { message: 'English for a German browser' });
    assert.deepEqual(problems, []);
  });
});
