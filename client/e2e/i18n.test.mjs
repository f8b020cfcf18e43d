// The web client's own text in English and Russian (issue 8): every language file has the same keys
// and placeholders as English (a node test); a browser set to Russian sees the start page, a party
// page, the public page and the organizer's page in Russian, switches to English with the language
// menu without losing what was typed, and keeps the choice across a reload; a browser set to English
// sees English. The call in Russian: its controls, the interpretation menu, an interpreter's console
// and the lobby's waiting card; switched to English in place, still in the call with its video.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitFor, ensureArtifactsDir, createCall, waitText, waitForVideoFrom, tileOf } from './harness.mjs';
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
    watch(page);
    return page;
  };
  /** @param {import('playwright-core').Page} page */
  const watch = (page) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'warning' && m.text().startsWith('i18n:')) problems.push(m.text());
    });
  };

  /**
   * Join a call (hx.join) from a browser set to `locale`.
   * @param {string} locale @param {import('./harness.mjs').MintOptions} o @param {{width?: number, height?: number}} [viewport]
   */
  const joinIn = async (locale, o, viewport = { width: 1280, height: 800 }) => {
    const blank = await hx.newPage(viewport, { locale, timezoneId: 'Europe/Moscow' });
    const page = await hx.join({ ...o, context: blank.context(), beforeLoad: async (p) => watch(p) });
    await blank.close();
    return page;
  };

  /**
   * The title and accessible name of a control of the call (they are the same), and its text.
   * @param {import('playwright-core').Page} page @param {string} testid
   */
  const control = (page, testid) =>
    page.evaluate((testid) => {
      const el = /** @type {HTMLElement | null} */ (document.querySelector(`[data-testid=${testid}]`));
      return { title: el?.getAttribute('title') ?? null, label: el?.getAttribute('aria-label') ?? null, text: el?.innerText.trim() ?? null };
    }, testid);

  /**
   * The text the indicator in the top bar says (its full sentence).
   * @param {import('playwright-core').Page} page
   */
  const indicatorText = (page) => page.evaluate(() => document.querySelector('[data-testid=interpretation-indicator] .interp-indicator-text:not(.short)')?.textContent ?? null);

  /** @param {import('playwright-core').Page} page @param {string} tag @param {string} [shot]  a screenshot with the menu open */
  const chooseLanguage = async (page, tag, shot = '') => {
    await page.getByTestId('ui-language-menu').click();
    await page.getByTestId('ui-language-list').waitFor();
    if (shot) await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: page.viewportSize()?.width ?? 1280, height: 240 } });
    await page.locator(`[data-testid=ui-language-option][data-locale="${tag}"]`).click();
    await page.locator(`html[lang="${tag}"]`).waitFor({ state: 'attached' });
  };

  /** A scheduled call between Moscow and Washington, made through the API. */
  const summitCall = () =>
    createCall(hx, {
      title: 'Strategic stability talks',
      duration_minutes: 60,
      languages: ['ru', 'en'],
      e2ee_required: true,
      parties: [
        { name: 'Moscow', time_zone: 'Europe/Moscow', members: [{ name: 'Irina Volkova', role: 'principal' }, { name: 'Pavel Orlov', role: 'interpreter', languages: ['ru', 'en'] }] },
        { name: 'Washington', time_zone: 'America/New_York', members: [{ name: 'Sarah Miller', role: 'principal' }, { name: 'Tom Baker', role: 'adviser', host: true }] },
      ],
    });

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
    const created = await summitCall();
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

  it('the call in Russian: controls, interpretation, the console and the waiting card; switched to English in place, still in the call', { timeout: 150000 }, async () => {
    const room = 'peregovory';
    // Sergei (an English browser) opens the room, with Russian and English channels, and hosts it.
    const sergei = await hx.join({ room, identity: 'sergei', name: 'Sergei Host', host: true, languages: ['ru', 'en'] });
    const pavel = await joinIn('ru-RU', { room, identity: 'pavel', name: 'Павел Орлов', interpret: 'ru:en' });
    const irina = await joinIn('ru-RU', { room, identity: 'irina', name: 'Ирина Волкова' });
    await irina.locator('html[lang="ru"]').waitFor({ state: 'attached' });
    await waitForVideoFrom(irina, 'Sergei Host');

    // --- Irina's call is in Russian: the controls' titles and names, the top bar's menu.
    assert.deepEqual(await control(irina, 'mic-toggle'), { title: 'Выключить микрофон', label: 'Выключить микрофон', text: '' });
    assert.deepEqual(await control(irina, 'camera-toggle'), { title: 'Выключить камеру', label: 'Выключить камеру', text: '' });
    assert.deepEqual(await control(irina, 'leave'), { title: 'Выйти из звонка', label: 'Выйти из звонка', text: 'Выйти' });
    assert.deepEqual(await control(irina, 'chat-toggle'), { title: 'Чат', label: 'Чат', text: '' });
    assert.match(await irina.getByTestId('ui-language-menu').innerText(), /RU/);
    assert.equal(await irina.getByTestId('ui-language-menu').getAttribute('aria-label'), 'Язык: Русский');
    await waitFor(async () => (await tileOf(irina, 'Sergei Host').getAttribute('data-participant-name')) === 'Sergei Host');
    assert.equal(await irina.locator('.tile[data-local] .name').innerText(), 'Ирина Волкова (вы)');

    // The interpretation menu: the floor, and each channel with who interprets, in Russian.
    await waitFor(async () => (await control(irina, 'language-menu-button')).label === 'Перевод: зал (оригинал)', { message: 'the language button in Russian' });
    assert.equal(await irina.getByTestId('language-menu-button').innerText(), 'Зал');
    await irina.getByTestId('language-menu-button').click();
    const option = async (/** @type {string} */ tag) => (await irina.getByTestId(`language-option-${tag}`).innerText()).replace(/\s+/g, ' ').trim();
    await waitFor(async () => /Английский.*Переводит Павел Орлов/.test(await option('en')), { message: 'the English channel in Russian' });
    assert.match(await option('floor'), /Зал \(оригинал\).*Голоса выступающих на полной громкости/);
    assert.match(await option('ru'), /Русский.*Переводчика пока нет/);
    assert.match(await irina.getByTestId('language-menu').innerText(), /Зал под переводом/);
    await irina.getByTestId('language-option-en').click();
    await waitFor(async () => (await indicatorText(irina)) === 'Английский · Павел Орлов', { message: 'the indicator in Russian' });
    assert.equal(await control(irina, 'language-menu-button').then((c) => c.label), 'Перевод: английский. Переводит Павел Орлов');
    await irina.screenshot({ path: join(dir, 'i18n-call-ru-interpretation-menu.png') });
    await irina.keyboard.press('Escape');

    // Pavel's console, in Russian.
    const consoleEl = pavel.getByTestId('interpreter-console');
    await pavel.waitForFunction(() => document.querySelector('[data-testid=interpreter-console]')?.getAttribute('data-state') === 'live', null, { timeout: 15000 });
    assert.equal(await pavel.getByTestId('interpreter-on-air').innerText(), 'В ЭФИРЕ');
    assert.equal(await pavel.getByTestId('interpreter-status').innerText(), 'Вас слышат все, кто выбрал английский.');
    assert.equal(await pavel.getByTestId('interpreter-release').innerText(), 'Уйти из эфира');
    assert.equal(await pavel.getByTestId('interpreter-mic').getAttribute('aria-label'), 'Выключить микрофон');
    assert.equal(await pavel.locator(".ic-section:has([data-testid=interpreter-booth]) h3").textContent(), "Кабина: английский");
    assert.match(await consoleEl.innerText(), /Павел Орлов \(вы\)\s+в эфире/);
    await pavel.screenshot({ path: join(dir, 'i18n-call-ru-console.png') });
    await pavel.setViewportSize({ width: 390, height: 800 });
    await pavel.screenshot({ path: join(dir, 'i18n-call-ru-console-narrow.png') });
    await pavel.setViewportSize({ width: 1280, height: 800 });

    // --- Irina switches to English in the call: the same call, its text in English.
    const before = await irina.evaluate(() => {
      const w = /** @type {any} */ (window);
      const video = document.querySelector('.tile[data-participant-name="Sergei Host"]:not([data-local]) video');
      w.__sameRoom = w.hotlineRoom;
      /** @type {any} */ (video).__before = true;
      return { id: w.hotlineRoom.localParticipant.id, camera: w.hotlineRoom.localParticipant.publication('camera')?.track.id };
    });
    await chooseLanguage(irina, 'en', join(dir, 'i18n-call-ru-ui-menu.png'));
    assert.deepEqual(await control(irina, 'mic-toggle'), { title: 'Mute microphone', label: 'Mute microphone', text: '' });
    assert.deepEqual(await control(irina, 'camera-toggle'), { title: 'Turn camera off', label: 'Turn camera off', text: '' });
    assert.deepEqual(await control(irina, 'leave'), { title: 'Leave the call', label: 'Leave the call', text: 'Leave' });
    assert.equal((await control(irina, 'language-menu-button')).label, 'Interpretation: English. Павел Орлов interpreting');
    assert.equal(await indicatorText(irina), 'English · Павел Орлов');
    assert.equal(await irina.locator('.tile[data-local] .name').innerText(), 'Ирина Волкова (You)');
    await irina.getByTestId('language-menu-button').click();
    assert.match(await option('en'), /English.*Павел Орлов interpreting/);
    assert.match(await option('floor'), /Floor \(original\)/);
    await irina.keyboard.press('Escape');
    // Still in the call, the media untouched: the same room and session, the same camera, the same
    // <video> still playing the host's camera, and still on the English channel.
    const after = await irina.evaluate(() => {
      const w = /** @type {any} */ (window);
      const video = /** @type {any} */ (document.querySelector('.tile[data-participant-name="Sergei Host"]:not([data-local]) video'));
      return {
        same: w.__sameRoom === w.hotlineRoom,
        state: w.hotlineRoom.state,
        id: w.hotlineRoom.localParticipant.id,
        camera: w.hotlineRoom.localParticipant.publication('camera')?.track.id,
        cameraLive: w.hotlineRoom.localParticipant.publication('camera')?.track.readyState,
        sameVideo: video?.__before === true,
        playing: !!video && !video.paused && video.videoWidth > 0,
        listening: w.hotlineRoom.listening,
      };
    });
    assert.deepEqual(after, { same: true, state: 'connected', id: before.id, camera: before.camera, cameraLive: 'live', sameVideo: true, playing: true, listening: 'en' });
    await waitForVideoFrom(irina, 'Sergei Host');
    await irina.screenshot({ path: join(dir, 'i18n-call-en-after-switch.png') });

    // Pavel switches too: his console in English, still on air.
    await chooseLanguage(pavel, 'en');
    await waitText(pavel.getByTestId('interpreter-status'), 'Listeners of English hear you.');
    assert.equal(await pavel.getByTestId('interpreter-on-air').innerText(), 'ON AIR');
    assert.equal(await consoleEl.getAttribute('data-state'), 'live');

    // --- The lobby's waiting card, in Russian, with its own language menu.
    await sergei.getByTestId('lobby-toggle').click();
    await sergei.waitForFunction(() => document.querySelector('[data-testid=lobby-toggle]')?.getAttribute('data-state') === 'on', null, { timeout: 10000 });
    const guest = await openPage('ru-RU', { width: 1000, height: 800 });
    await guest.goto(hx.roomUrl(room, await hx.mintToken({ room, identity: 'gleb', name: 'Глеб Гостев' })));
    const card = guest.getByTestId('lobby-waiting');
    await card.waitFor({ timeout: 15000 });
    await waitText(card, 'Ждём, когда ведущий вас впустит');
    await waitText(card, 'Ведущий знает, что вы здесь.');
    assert.equal(await guest.getByTestId('lobby-leave').innerText(), 'Выйти');
    await guest.waitForFunction(() => document.querySelector('[data-testid=lobby-camera-toggle]')?.getAttribute('data-state') === 'on', null, { timeout: 15000 });
    assert.equal(await guest.getByTestId('lobby-camera-toggle').getAttribute('aria-label'), 'Выключить камеру');
    await guest.screenshot({ path: join(dir, 'i18n-lobby-ru.png') });
    await chooseLanguage(guest, 'en');
    await waitText(card, 'Waiting for a host to let you in');
    await waitText(card, 'A host of this call knows you are here.');
    assert.equal(await guest.getByTestId('lobby-camera-toggle').getAttribute('aria-label'), 'Turn camera off');
    assert.equal(await guest.evaluate(() => /** @type {any} */ (window).hotlineRoom.state), 'waiting', 'still waiting');
    // Let in: the call in English, the choice kept.
    await sergei.getByTestId('admit-gleb').click();
    await guest.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 15000 });
    await waitFor(async () => (await control(guest, 'leave')).text === 'Leave', { message: 'the call in English after the lobby' });
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
