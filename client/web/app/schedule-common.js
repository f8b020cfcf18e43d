// Helpers shared by the scheduled-call pages (party.js, organize.js): time zones, languages,
// durations, and their section cards.

import { h, icon } from './ui.js';
import { t, locale } from '../i18n/index.js';

/** @param {number} n */
export const pad2 = (n) => String(n).padStart(2, '0');

/** @type {Map<string, Intl.DateTimeFormat>} */
const zoneFormats = new Map();

/**
 * Wall-clock parts of an instant in an IANA zone.
 * @param {Date} at @param {string} timeZone
 */
export function partsIn(at, timeZone) {
  let f = zoneFormats.get(timeZone);
  if (!f) {
    // Only numbers are read from it: the locale does not matter.
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    zoneFormats.set(timeZone, f);
  }
  /** @type {Record<string, string>} */
  const out = {};
  for (const p of f.formatToParts(at)) out[p.type] = p.value;
  return { y: +out.year, mo: +out.month, d: +out.day, hh: +out.hour % 24, mm: +out.minute };
}

/**
 * "UTC+3", "UTC−5", "UTC+5:30": the zone's offset at `at`.
 * @param {Date} at @param {string} timeZone
 */
export function offsetLabel(at, timeZone) {
  const p = partsIn(at, timeZone);
  const minutes = Math.round((Date.UTC(p.y, p.mo - 1, p.d, p.hh, p.mm) - Math.floor(at.getTime() / 60000) * 60000) / 60000);
  if (minutes === 0) return 'UTC';
  const a = Math.abs(minutes);
  return `UTC${minutes > 0 ? '+' : '−'}${Math.floor(a / 60)}${a % 60 ? `:${pad2(a % 60)}` : ''}`;
}

/** @type {Map<string, Intl.DisplayNames>} */
const displayNames = new Map();
/** "Russian" for ru, in the language of the page (the tag itself when the browser does not know it). @param {string} tag */
export function languageName(tag) {
  try {
    let names = displayNames.get(locale());
    if (!names) {
      names = new Intl.DisplayNames([locale()], { type: 'language' });
      displayNames.set(locale(), names);
    }
    return names.of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** "1 hour 30 minutes". @param {number} minutes */
export function durationLong(minutes) {
  const hrs = Math.floor(minutes / 60);
  const min = minutes % 60;
  if (!hrs) return t('duration.minutes', { count: min });
  const hText = t('duration.hours', { count: hrs });
  return min ? t('duration.hours_minutes', { hours: hText, minutes: t('duration.minutes', { count: min }) }) : hText;
}

/**
 * A section card with a heading, as the scheduled-call pages have them.
 * @param {{id: string, icon: string, title: string | Node, testid: string}} o  `title`: a text node that follows the language, or a text
 * @param {...(Node | null)} body
 */
export function sectionCard(o, ...body) {
  return h('section', { class: 'pcard', id: o.id, 'data-testid': o.testid, 'aria-labelledby': `${o.id}-title` }, h('h2', { class: 'pcard-title', id: `${o.id}-title` }, icon(o.icon), h('span', null, o.title)), ...body);
}

/** @typedef {{ok: true, status: number, data: any} | {ok: false, status: number, error: string, fromServer: boolean}} ApiResult */

/**
 * A JSON request to the scheduled-calls API, with an organizer's `bearer` credential where it
 * takes one. Never throws: an unreachable server, a refusal (the server's `{"error"}` in its
 * words) or an answer that is not ours becomes an error in words.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {string} [bearer]
 * @returns {Promise<ApiResult>}
 */
export async function api(method, path, body, bearer) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  /** @type {Response} */
  let r;
  try {
    r = await fetch(path, { method, cache: 'no-store', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, error: t('api.unreachable'), fromServer: false };
  }
  /** @type {any} */
  let data = null;
  try {
    data = await r.json();
  } catch {
    data = null;
  }
  if (r.ok && data) return { ok: true, status: r.status, data };
  if (data && typeof data.error === 'string') {
    const text = data.error.charAt(0).toUpperCase() + data.error.slice(1);
    return { ok: false, status: r.status, error: /[.!?]$/.test(text) ? text : `${text}.`, fromServer: true };
  }
  return { ok: false, status: r.status, error: serverTrouble(r.status), fromServer: false };
}

/** @param {number} status */
export const serverTrouble = (status) => t('api.server_trouble', { status: String(status) });

