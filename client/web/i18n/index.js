// The web client's own text in the person's language.
//
//   t('party.saved')                       -> "Saved" / "Сохранено"
//   t('join.opens', {time})                -> "{time}" replaced
//   t('duration.hours', {count: 3})        -> a plural form chosen by Intl.PluralRules ("3 часа")
//
// The language: the one chosen in the language menu (kept in localStorage), else the first of the
// browser's languages (navigator.languages) that the client speaks, else English. A text missing
// in a language is shown in English (with a warning in the console), never as its key. Dates,
// times, numbers and lists keep being formatted by Intl, with `formatLocale()`.
//
// The languages are listed in locales.js; each is one file (en.js, ru.js) of key -> text.

import en from './en.js';
import { LOCALES } from './locales.js';

/** @typedef {keyof typeof en} MessageKey */
/**
 * A text with a form per plural category of the language (Intl.PluralRules: `one`, `few`,
 * `many`, `other`…), chosen by the `count` parameter; `other` is always there.
 * @typedef {{zero?: string, one?: string, two?: string, few?: string, many?: string, other: string}} PluralMessage
 */
/** @typedef {string | PluralMessage} Message */
/** Every text of a language, by key (as en.js has them). @typedef {Record<MessageKey, Message>} Catalog */
/** What replaces `{name}` placeholders: a number is formatted for the language. @typedef {Record<string, string | number>} Params */

/** Where the person's choice is kept. */
export const STORAGE_KEY = 'hotline:locale';
const FALLBACK = 'en';

/** @type {string} */
let current = FALLBACK;
/** @type {Partial<Record<string, Message>>} */
let messages = en;
/** @type {Map<string, Partial<Record<string, Message>>>} */
const catalogs = new Map([[FALLBACK, en]]);
/** @type {Set<() => void>} */
const listeners = new Set();
/** Keys already warned about (once each, per language). @type {Set<string>} */
const warned = new Set();
/** @type {Map<string, Intl.PluralRules>} */
const pluralRules = new Map();
/** @type {Map<string, Intl.NumberFormat>} */
const numberFormats = new Map();

/** The languages the client speaks: `{tag, name}`, `name` in the language itself. */
export function locales() {
  return LOCALES.map(({ tag, name }) => ({ tag, name }));
}

/** The language of the text now, e.g. "en" or "ru". */
export function locale() {
  return current;
}

/**
 * The locale to format dates, times, numbers and lists with: the browser's own variant of the
 * chosen language where it lists one (en-GB, en-US, ru-RU: its usual date order and clock),
 * else the language itself.
 * @returns {string}
 */
export function formatLocale() {
  const primary = primaryOf(current);
  for (const tag of browserLanguages()) {
    if (primaryOf(tag) !== primary) continue;
    try {
      return Intl.getCanonicalLocales(tag)[0] ?? current;
    } catch {
      // Not a tag Intl takes.
    }
  }
  return current;
}

/** @param {string} tag */
const primaryOf = (tag) => tag.toLowerCase().split(/[-_]/)[0];

/** @returns {readonly string[]} */
function browserLanguages() {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? navigator.languages : navigator.language ? [navigator.language] : [];
}

/**
 * The language the client speaks for `tag` (the same tag, or one of the same primary language:
 * "ru-RU" -> "ru"), or null.
 * @param {string | null | undefined} tag
 * @returns {string | null}
 */
export function supported(tag) {
  if (!tag) return null;
  const lower = tag.toLowerCase();
  const exact = LOCALES.find((l) => l.tag.toLowerCase() === lower);
  if (exact) return exact.tag;
  const primary = primaryOf(tag);
  return LOCALES.find((l) => primaryOf(l.tag) === primary)?.tag ?? null;
}

/** The language to show: the person's choice, else the browser's, else English. */
function chosen() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage refused (private mode, blocked): the browser's language then.
  }
  const fromStore = supported(stored);
  if (fromStore) return fromStore;
  for (const tag of browserLanguages()) {
    const s = supported(tag);
    if (s) return s;
  }
  return FALLBACK;
}

/** @param {string} tag @returns {Promise<Partial<Record<string, Message>>>} */
async function load(tag) {
  const known = catalogs.get(tag);
  if (known) return known;
  const info = LOCALES.find((l) => l.tag === tag);
  if (!info) return en;
  const catalog = (await info.load()).default;
  catalogs.set(tag, catalog);
  return catalog;
}

/** @param {string} tag @param {Partial<Record<string, Message>>} catalog */
function apply(tag, catalog) {
  current = tag;
  messages = catalog;
  if (typeof document !== 'undefined') document.documentElement.lang = tag;
}

/**
 * Chooses the language and loads its texts: before anything is shown. Never throws: a language
 * that fails to load leaves English.
 */
export async function initLocale() {
  const tag = chosen();
  try {
    apply(tag, await load(tag));
  } catch (err) {
    console.warn(`i18n: the texts of "${tag}" could not be loaded; English is shown`, err);
    apply(FALLBACK, en);
  }
}

/**
 * Switches to the language `tag` (one the client speaks), remembers the choice in this browser,
 * and tells the pages (onLocaleChange) so they show their text again.
 * @param {string} tag
 */
export async function setLocale(tag) {
  const s = supported(tag) ?? FALLBACK;
  const catalog = await load(s);
  try {
    localStorage.setItem(STORAGE_KEY, s);
  } catch {
    // Not kept: it lasts for this page.
  }
  if (s === current) return;
  apply(s, catalog);
  for (const fn of [...listeners]) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }
}

/**
 * Calls `fn` after each change of language (setLocale); returns what stops it.
 * @param {() => void} fn
 * @returns {() => void}
 */
export function onLocaleChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * The text of `key` in the current language, its `{name}` placeholders replaced from `params`,
 * in the plural form for `params.count` when it has forms.
 * @param {MessageKey} key
 * @param {Params} [params]
 * @returns {string}
 */
export function t(key, params) {
  return lookup(key, params) ?? '';
}

/**
 * For keys made from data (a role, a close code): the text of `key`, or null when no language
 * has it (the caller then shows something else).
 * @param {string} key
 * @param {Params} [params]
 * @returns {string | null}
 */
export function tryT(key, params) {
  if (!(key in en)) return null;
  return lookup(/** @type {MessageKey} */ (key), params);
}

/**
 * The text of `key` as nodes, a placeholder whose value is a DOM node (e.g. a link) put in
 * the text where it stands.
 * @param {MessageKey} key
 * @param {Record<string, string | number | Node>} params
 * @returns {(string | Node)[]}
 */
export function tNodes(key, params) {
  /** @type {Params} */
  const plain = {};
  /** @type {Map<string, Node>} */
  const nodes = new Map();
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string' || typeof value === 'number') plain[name] = value;
    else {
      nodes.set(`\u0000${name}\u0000`, value);
      plain[name] = `\u0000${name}\u0000`;
    }
  }
  const text = t(key, plain);
  return text
    .split(/(\u0000[^\u0000]*\u0000)/)
    .filter((part) => part !== '')
    .map((part) => nodes.get(part) ?? part);
}

/**
 * @param {string} key
 * @param {Params} [params]
 * @returns {string | null}
 */
function lookup(key, params) {
  let message = messages[key];
  let tag = current;
  if (message === undefined) {
    message = /** @type {Partial<Record<string, Message>>} */ (en)[key];
    tag = FALLBACK;
    warnOnce(key, message === undefined ? `i18n: no text for "${key}" in any language` : `i18n: no "${current}" text for "${key}": English is shown`);
    if (message === undefined) return null;
  }
  return format(message, params, tag, key);
}

/** @param {string} key @param {string} text */
function warnOnce(key, text) {
  const k = `${current}:${key}`;
  if (warned.has(k)) return;
  warned.add(k);
  console.warn(text);
}

/**
 * @param {Message} message @param {Params | undefined} params @param {string} tag  the language of `message`
 * @param {string} key
 */
function format(message, params, tag, key) {
  let text;
  if (typeof message === 'string') text = message;
  else {
    const count = Number(params?.count ?? 0);
    let rules = pluralRules.get(tag);
    if (!rules) {
      rules = new Intl.PluralRules(tag);
      pluralRules.set(tag, rules);
    }
    const form = /** @type {keyof PluralMessage} */ (rules.select(count));
    text = message[form] ?? message.other;
  }
  if (!text.includes('{')) return text;
  return text.replace(/\{(\w+)\}/g, (all, name) => {
    const value = params?.[name];
    if (value === undefined) {
      warnOnce(`${key}{${name}}`, `i18n: "${key}" wants {${name}}, which was not given`);
      return all;
    }
    return typeof value === 'number' ? formatNumber(value) : value;
  });
}

/** @param {number} n */
function formatNumber(n) {
  const loc = formatLocale();
  let f = numberFormats.get(loc);
  if (!f) {
    f = new Intl.NumberFormat(loc);
    numberFormats.set(loc, f);
  }
  return f.format(n);
}

/**
 * A list in words for the language: "Moscow, Paris and Rome", «Москва, Париж и Рим».
 * @param {string[]} items
 */
export function listText(items) {
  try {
    return new Intl.ListFormat(formatLocale(), { style: 'long', type: 'conjunction' }).format(items);
  } catch {
    return items.join(', ');
  }
}

/**
 * Text in a page that follows the language: each piece registered here is drawn now and again
 * by `update()` (the page calls it when the language changes), so that a page with a form can
 * change its language in place, keeping what was typed.
 */
export function localized() {
  /** @type {(() => void)[]} */
  const updates = [];
  /** @param {() => void} fn */
  const run = (fn) => {
    fn();
    updates.push(fn);
  };
  return {
    /**
     * A text node showing `key` (params may be a function, asked again on each update).
     * @param {MessageKey} key @param {Params | (() => Params)} [params]
     */
    text(key, params) {
      const node = document.createTextNode('');
      run(() => {
        node.data = t(key, typeof params === 'function' ? params() : params);
      });
      return node;
    },
    /**
     * Sets the attribute `name` of `el` to the text of `key`; returns `el`.
     * @template {Element} E
     * @param {E} el @param {string} name @param {MessageKey} key @param {Params | (() => Params)} [params]
     * @returns {E}
     */
    attr(el, name, key, params) {
      run(() => el.setAttribute(name, t(key, typeof params === 'function' ? params() : params)));
      return el;
    },
    /** Runs `fn` now and on each update. @param {() => void} fn */
    run,
    /** Draws every registered piece again, in the language now. */
    update() {
      for (const fn of updates) fn();
    },
  };
}
