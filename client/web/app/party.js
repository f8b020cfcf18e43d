// Scheduled calls (docs/scheduling.md): the party page (/party/KEY), where a
// delegation says when it can, agrees the time, the agenda and its
// announcement with the others; and the public page (/call/ID), which shows
// the time only once every party approved announcing it.

import { h, icon, showError, clearError, brand, languageMenu, cardHead } from './ui.js';
import { api, pad2, partsIn, offsetLabel, languageName, durationLong, sectionCard } from './schedule-common.js';
import { t, tryT, tNodes, listText, formatLocale, onLocaleChange, localized } from '../i18n/index.js';

// ---------------------------------------------------------------- API types

/** @typedef {'principal' | 'adviser' | 'interpreter' | 'note_taker' | 'observer'} Role */
/** @typedef {{name: string, role: Role, languages?: string[], host?: boolean}} Member */
/** @typedef {{party_id: string, name: string, time_zone: string, members: Member[], windows_given: boolean, accepted: string | null}} Party */
/** @typedef {{start: string, end: string}} LocalWindow */
/** @typedef {{party_id: string, start: string, end: string, zone: string}} LocalSlot */
/** @typedef {{start: string, end: string, local: LocalSlot[], accepted_by: string[]}} Slot */
/** @typedef {{item_id: string, title: string, proposed_by: string, accepted_by: string[], agreed: boolean}} AgendaItem */
/** @typedef {{approved_by: string[], released: boolean}} Release */
/** @typedef {{at: string, party_id?: string | null, event: string, start?: string, item_id?: string, title?: string}} CallEvent */
/**
 * @typedef {object} PartyView
 * @property {{id: string, title: string, duration_minutes: number, languages: string[], e2ee_required: boolean}} call
 * @property {number} version
 * @property {string} party_id
 * @property {Party[]} parties
 * @property {LocalWindow[]} windows
 * @property {Slot[]} slots
 * @property {Slot | null} agreed
 * @property {AgendaItem[]} [agenda]
 * @property {Release} [release]
 * @property {CallEvent[]} events
 * @property {{member_id: string, name: string, role: Role, link: string}[]} [members]  this party's members' personal links
 */
/** @typedef {{title: string, status: 'planned' | 'scheduled', start: string | null, end: string | null, parties: string[]}} PublicView */


const POLL_MS = 5000;
const PUBLIC_POLL_MS = 10000;
/** Candidate slots shown before "Show all". */
const SLOTS_SHOWN = 8;
/** Activity entries shown before "Show all". */
const EVENTS_SHOWN = 12;


// ---------------------------------------------------------------- time


/**
 * The wall-clock parts of an RFC 3339 or local date-time string, as written
 * (no conversion): `2026-12-03T17:00:00+03:00` -> 2026-12-03 17:00.
 * @param {string} text
 * @returns {{y: number, mo: number, d: number, hh: number, mm: number}}
 */
function wallParts(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text);
  if (!m) return { y: 1970, mo: 1, d: 1, hh: 0, mm: 0 };
  return { y: +m[1], mo: +m[2], d: +m[3], hh: +m[4], mm: +m[5] };
}

/** @type {Map<string, Intl.DateTimeFormat>} */
const formatters = new Map();
/**
 * @param {string} locale
 * @param {Intl.DateTimeFormatOptions} options
 */
function fmt(locale, options) {
  const k = locale + JSON.stringify(options);
  let f = formatters.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formatters.set(k, f);
  }
  return f;
}

/**
 * "Thu 3 Dec" (with the year if it is not this year) for a calendar date, in the page's language.
 * @param {{y: number, mo: number, d: number}} p
 * @param {'short' | 'long'} [style]
 */
function dateLabel(p, style = 'short') {
  const at = new Date(Date.UTC(p.y, p.mo - 1, p.d, 12));
  const withYear = style === 'long' || p.y !== new Date().getFullYear();
  return fmt(formatLocale(), { timeZone: 'UTC', weekday: style, day: 'numeric', month: style, year: withYear ? 'numeric' : undefined }).format(at);
}

/** "Thu" for a calendar date. @param {{y: number, mo: number, d: number}} p */
function weekdayLabel(p) {
  return fmt(formatLocale(), { timeZone: 'UTC', weekday: 'short' }).format(new Date(Date.UTC(p.y, p.mo - 1, p.d, 12)));
}

/** @param {{hh: number, mm: number}} p */
const clock = (p) => `${pad2(p.hh)}:${pad2(p.mm)}`;

/** @param {{y: number, mo: number, d: number}} a @param {{y: number, mo: number, d: number}} b */
const sameDate = (a, b) => a.y === b.y && a.mo === b.mo && a.d === b.d;

/**
 * A span of wall-clock time: "Thu 3 Dec 17:00–18:00 MSK", or across
 * midnight "Thu 3 Dec 23:30 – Fri 4 Dec 00:30 MSK". `withDate: false`
 * leaves the start's date out (it is shown nearby).
 * @param {string} start @param {string} end @param {string} zone
 * @param {{withDate?: boolean}} [o]
 */
function spanText(start, end, zone, o = {}) {
  const s = wallParts(start);
  const e = wallParts(end);
  const z = zone ? ` ${zone}` : '';
  const from = o.withDate === false ? clock(s) : `${dateLabel(s)} ${clock(s)}`;
  if (sameDate(s, e)) return `${from}–${clock(e)}${z}`;
  return `${from} – ${dateLabel(e)} ${clock(e)}${z}`;
}



/**
 * Today's date (YYYY-MM-DD) in an IANA zone, `days` later.
 * @param {string} timeZone @param {number} [days]
 */
function isoDateIn(timeZone, days = 0) {
  const p = partsIn(new Date(), timeZone);
  return addDays(`${p.y}-${pad2(p.mo)}-${pad2(p.d)}`, days);
}

/** @param {string} date YYYY-MM-DD @param {number} days */
function addDays(date, days) {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${t.getUTCFullYear()}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())}`;
}

/** @param {string} date YYYY-MM-DD */
function dateFromIso(date) {
  const [y, mo, d] = date.split('-').map(Number);
  return { y, mo, d };
}

/** @param {string} a YYYY-MM-DD @param {string} b YYYY-MM-DD */
function daysBetween(a, b) {
  const [ay, am, ad] = a.split('-').map(Number);
  const [by, bm, bd] = b.split('-').map(Number);
  return Math.round((Date.UTC(by, bm - 1, bd) - Date.UTC(ay, am - 1, ad)) / 86400000);
}

// ---------------------------------------------------------------- icons





/** A member's role in words (the role itself for one this client does not know). @param {string} role */
const roleLabel = (role) => tryT(`role.${role}`) ?? role;

// ---------------------------------------------------------------- party page

/** @typedef {{date: string, from: string, to: string, days: number, fixedDays: boolean}} WindowRow */

/**
 * The party page: shows the view of the party whose link this is, and
 * refreshes it every few seconds so the others' changes appear.
 * @param {HTMLElement} root
 * @param {string} key  the party's link key
 * @returns {() => void}  stops the page (timers)
 */
export function showPartyPage(root, key) {
  clearError();
  const base = `/api/parties/${encodeURIComponent(key)}`;

  /** @type {PartyView | null} */
  let view = null;
  let busy = false;
  let disposed = false;
  let offline = false;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let pollTimer = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let clockTimer = null;
  let showAllSlots = false;
  let showAllEvents = false;

  // The windows editor: its rows are the user's until saved or discarded.
  /** @type {WindowRow[]} */
  let rows = [];
  let dirty = false;
  /** The server's windows the rows were made from (JSON). */
  let rowsFrom = '';
  /** @type {string | null} */
  let editorProblem = null;

  /** What each section was last drawn from, so a refresh that changes nothing redraws nothing. */
  /** @type {Map<string, string>} */
  const drawn = new Map();
  /** The page's own text that is not redrawn with its sections (headings, buttons): follows the language. */
  const lx = localized();
  /** What the page shows: loading, the page, or why not. @type {{state: 'loading' | 'page' | 'invalid'} | {state: 'failed', message: string}} */
  let screen = { state: 'loading' };

  // ------------------------------------------------------------ skeleton
  const status = h('div', { class: 'party-status', 'data-testid': 'party-status', 'aria-live': 'polite' });
  const hero = h('section', { class: 'party-hero', 'data-testid': 'party-header' });
  const agreedHost = h('div', { class: 'agreed-host' });
  const windowsBody = h('div', { class: 'pcard-body' });
  const slotsBody = h('div', { class: 'pcard-body' });
  const agendaBody = h('div', { class: 'pcard-body' });
  const releaseBody = h('div', { class: 'pcard-body' });
  const partiesBody = h('div', { class: 'pcard-body' });
  const activityBody = h('div', { class: 'pcard-body' });

  const agendaInput = h('input', { 'data-testid': 'agenda-input', name: 'agenda-title', maxlength: 200, autocomplete: 'off' });
  lx.attr(agendaInput, 'placeholder', 'party.agenda_placeholder');
  lx.attr(agendaInput, 'aria-label', 'party.agenda_new');
  const agendaProposeBtn = h('button', { class: 'primary', type: 'submit', 'data-testid': 'agenda-propose', 'data-action': true }, lx.text('party.propose'));
  const agendaForm = h(
    'form',
    {
      class: 'agenda-form',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const title = agendaInput.value.trim();
        if (!title) {
          agendaInput.focus();
          return;
        }
        act('POST', '/agenda', { title }).then((ok) => {
          if (ok) agendaInput.value = '';
        });
      },
    },
    agendaInput,
    agendaProposeBtn,
  );

  const page = h(
    'div',
    { class: 'party-page', 'data-testid': 'party-page' },
    h('header', { class: 'party-top' }, brand(), h('span', { class: 'grow' }), status, languageMenu()),
    h(
      'main',
      { class: 'party-main' },
      hero,
      agreedHost,
      h(
        'div',
        { class: 'party-grid' },
        h(
          'div',
          { class: 'party-col' },
          sectionCard({ id: 'when', icon: 'calendar', title: lx.text('party.card.when'), testid: 'windows-editor' }, windowsBody),
          sectionCard({ id: 'slots', icon: 'clock', title: lx.text('party.card.slots'), testid: 'slots' }, slotsBody),
          sectionCard({ id: 'agenda', icon: 'list', title: lx.text('party.card.agenda'), testid: 'agenda' }, agendaBody, agendaForm),
          sectionCard({ id: 'release', icon: 'megaphone', title: lx.text('party.card.release'), testid: 'release' }, releaseBody),
        ),
        h(
          'aside',
          { class: 'party-col side' },
          sectionCard({ id: 'parties', icon: 'users', title: lx.text('party.card.parties'), testid: 'parties' }, partiesBody),
          sectionCard({ id: 'activity', icon: 'activity', title: lx.text('party.card.activity'), testid: 'activity' }, activityBody),
        ),
      ),
    ),
  );
  const showLoading = () => root.replaceChildren(h('div', { class: 'center-page' }, h('div', { class: 'loading', text: t('common.loading') })));
  showLoading();

  // ------------------------------------------------------------ helpers
  /** @param {string | null | undefined} pid */
  const party = (pid) => view?.parties.find((p) => p.party_id === pid) ?? null;
  /** @param {string | null | undefined} pid */
  const nameOf = (pid) => {
    const p = party(pid);
    if (!p) return t('party.the_organizer');
    return p.party_id === view?.party_id ? t('common.you_suffix', { name: p.name }) : p.name;
  };
  const me = () => /** @type {Party} */ (party(view?.party_id));

  /** The local time of a slot for one party. @param {Slot} slot @param {string} pid */
  const localOf = (slot, pid) => slot.local.find((l) => l.party_id === pid) ?? null;

  /**
   * This party's time of an instant that was a slot's start: from the
   * server's slots when one matches (its zone abbreviation), else computed.
   * @param {string} utc
   */
  const startText = (utc) => {
    if (!view) return utc;
    const t = Date.parse(utc);
    for (const s of [view.agreed, ...view.slots]) {
      if (s && Date.parse(s.start) === t) {
        const l = localOf(s, view.party_id);
        if (l) return `${dateLabel(wallParts(l.start))} ${clock(wallParts(l.start))} ${l.zone}`;
      }
    }
    const at = new Date(t);
    const p = partsIn(at, me().time_zone);
    return `${dateLabel(p)} ${clock(p)} ${offsetLabel(at, me().time_zone)}`;
  };

  /**
   * Every party's local time of a slot, this party's first.
   * @param {Slot} slot
   */
  const slotTimes = (slot) => {
    if (!view) return h('div');
    const mine = localOf(slot, view.party_id);
    const myDate = mine ? wallParts(mine.start) : null;
    const order = [view.party_id, ...view.parties.map((p) => p.party_id).filter((id) => id !== view?.party_id)];
    return h(
      'div',
      { class: 'slot-times' },
      ...order.map((pid, i) => {
        const l = localOf(slot, pid);
        if (!l) return null;
        const withDate = i === 0 || !myDate || !sameDate(myDate, wallParts(l.start));
        return h(
          'span',
          { class: i === 0 ? 'slot-time own' : 'slot-time', 'data-party-id': pid },
          i === 0 ? null : h('span', { class: 'slot-sep', 'aria-hidden': 'true', text: '·' }),
          i === 0 ? null : h('span', { class: 'slot-party', text: party(pid)?.name ?? '' }),
          h('span', { class: 'slot-when', text: spanText(l.start, l.end, l.zone, { withDate }) }),
        );
      }),
    );
  };

  // ------------------------------------------------------------ loading

  /** @param {PartyView} v */
  const applyView = (v) => {
    if (view && v.version < view.version) return; // an older answer arriving late
    view = v;
    const fromServer = JSON.stringify(v.windows);
    if (!dirty && fromServer !== rowsFrom) {
      rows = rowsOf(v.windows);
      rowsFrom = fromServer;
      editorProblem = null;
      drawn.delete('windows');
    }
  };

  const load = async () => {
    const r = await api('GET', base);
    if (disposed) return;
    if (r.ok) {
      if (offline) {
        offline = false;
        drawStatus();
      }
      const first = !view;
      applyView(r.data);
      if (first || screen.state !== 'page') {
        screen = { state: 'page' };
        root.replaceChildren(page);
        document.title = `${r.data.call.title} · ${me().name} · Hotline`;
      }
      renderAll();
    } else if (r.status === 404 || r.status === 400) {
      showInvalidLink();
    } else if (!view) {
      showLoadFailed(r.error);
    } else if (!offline) {
      offline = true;
      drawStatus();
    }
  };

  const schedulePoll = () => {
    if (pollTimer) clearTimeout(pollTimer);
    if (disposed) return;
    pollTimer = setTimeout(async () => {
      if (!busy && !document.hidden) await load();
      schedulePoll();
    }, POLL_MS);
  };

  const onVisible = () => {
    if (!document.hidden && !busy && view) load();
  };
  document.addEventListener('visibilitychange', onVisible);

  const showInvalidLink = () => {
    disposed = true;
    stop();
    screen = { state: 'invalid' };
    document.title = `${t('party.invalid.doc_title')} · Hotline`;
    root.replaceChildren(
      h(
        'div',
        { class: 'center-page' },
        h(
          'div',
          { class: 'card narrow', 'data-testid': 'invalid-link' },
          cardHead(),
          h('h1', { text: t('party.invalid.title') }),
          h('div', { class: 'error-box', role: 'alert' }, icon('alert'), h('span', { text: t('party.invalid_link') })),
          h('p', { class: 'muted after-error', text: t('party.invalid.text') }),
        ),
      ),
    );
  };

  /** @param {string} message */
  const showLoadFailed = (message) => {
    screen = { state: 'failed', message };
    root.replaceChildren(
      h(
        'div',
        { class: 'center-page' },
        h(
          'div',
          { class: 'card narrow', 'data-testid': 'load-failed' },
          cardHead(),
          h('h1', { text: t('party.load_failed') }),
          h('div', { class: 'error-box', role: 'alert' }, icon('alert'), h('span', { text: message })),
          h('div', { class: 'actions' }, h('button', { class: 'primary', text: t('common.try_again'), onclick: () => load() })),
        ),
      ),
    );
  };

  /**
   * Send a change with the version last seen. On 409 the view is reloaded
   * and the user told; other refusals are shown in words.
   * @param {'POST' | 'PUT'} method
   * @param {string} path  under the party's API path
   * @param {Record<string, unknown>} body
   * @returns {Promise<boolean>} whether it was stored
   */
  const act = async (method, path, body) => {
    if (busy || !view) return false;
    setBusy(true);
    try {
      const r = await api(method, base + path, { version: view.version, ...body });
      if (disposed) return false;
      if (r.ok) {
        clearError();
        applyView(r.data);
        return true;
      }
      if (r.status === 409) {
        await load();
        showError(t('party.conflict'));
        return false;
      }
      if (r.status === 404 && r.fromServer) {
        showInvalidLink();
        return false;
      }
      showError(r.error);
      return false;
    } finally {
      setBusy(false);
      if (!disposed) {
        renderAll(true);
        schedulePoll();
      }
    }
  };

  /** @param {boolean} b */
  const setBusy = (b) => {
    busy = b;
    page.classList.toggle('busy', b);
    page.setAttribute('aria-busy', String(b));
    if (b) for (const el of page.querySelectorAll('button[data-action]')) /** @type {HTMLButtonElement} */ (el).disabled = true;
    drawStatus();
  };

  const drawStatus = () => {
    if (busy) status.replaceChildren(h('span', { class: 'spinner-sm', 'aria-hidden': 'true' }), h('span', { text: t('party.status.saving') }));
    else if (offline) status.replaceChildren(icon('alert'), h('span', { text: t('party.status.offline') }));
    else status.replaceChildren(h('span', { class: 'live-dot', 'aria-hidden': 'true' }), h('span', { text: t('party.status.live') }));
    status.dataset.state = busy ? 'busy' : offline ? 'offline' : 'live';
  };

  // ------------------------------------------------------------ rendering

  /**
   * Draw `host` with `draw` if what it is drawn from changed (or `force`).
   * @param {string} name @param {HTMLElement} host @param {unknown} from @param {() => (Node | null)[]} draw @param {boolean} force
   */
  const section = (name, host, from, draw, force) => {
    const k = JSON.stringify(from);
    if (!force && drawn.get(name) === k) return;
    drawn.set(name, k);
    host.replaceChildren(...draw().filter((n) => n !== null));
  };

  /** @param {boolean} [force] */
  const renderAll = (force = false) => {
    if (!view || disposed) return;
    const v = view;
    section('hero', hero, [v.call, v.party_id], drawHero, force);
    section('agreed', agreedHost, [v.agreed, v.parties, v.release], drawAgreed, force);
    section('windows', windowsBody, [v.party_id], drawEditor, force || !drawn.has('windows'));
    updateEditorState();
    section('slots', slotsBody, [v.slots, v.parties, v.agreed, showAllSlots], drawSlots, force);
    section('agenda', agendaBody, [v.agenda, v.parties], drawAgenda, force);
    agendaProposeBtn.disabled = busy;
    section('release', releaseBody, [v.release, v.agreed, v.parties], drawRelease, force);
    section('parties', partiesBody, [v.parties], drawParties, force);
    section('activity', activityBody, [v.events, v.parties, showAllEvents], drawActivity, force);
    drawStatus();
    tickClocks();
  };

  const drawHero = () => {
    if (!view) return [];
    const c = view.call;
    return [
      h('div', { class: 'hero-kicker', text: t('party.kicker', { name: me().name }) }),
      h('h1', { class: 'hero-title', 'data-testid': 'call-title', text: c.title }),
      h(
        'div',
        { class: 'chips' },
        h('span', { class: 'chip' }, icon('clock'), h('span', { text: durationLong(c.duration_minutes) })),
        c.languages.length ? h('span', { class: 'chip' }, icon('globe'), h('span', { text: c.languages.map(languageName).join(' · ') })) : null,
        c.e2ee_required ? h('span', { class: 'chip secure', 'data-testid': 'e2ee-badge', title: t('common.e2ee_explained') }, icon('lock'), h('span', { text: t('common.e2ee') })) : null,
      ),
      h('p', { class: 'hero-note muted small', text: t('party.hero_note', { name: me().name, zone: me().time_zone }) }),
    ];
  };

  const drawAgreed = () => {
    if (!view?.agreed) return [];
    const slot = view.agreed;
    const mine = localOf(slot, view.party_id);
    const released = view.release?.released ?? false;
    return [
      h(
        'section',
        { class: 'agreed-banner', 'data-testid': 'agreed', role: 'status' },
        h('div', { class: 'agreed-icon' }, icon('check')),
        h(
          'div',
          { class: 'agreed-text' },
          h('div', { class: 'agreed-label', text: released ? t('party.agreed_announced') : t('party.agreed') }),
          mine ? h('div', { class: 'agreed-when', text: spanText(mine.start, mine.end, mine.zone) }) : null,
          h(
            'ul',
            { class: 'agreed-zones' },
            ...view.parties.map((p) => {
              const l = localOf(slot, p.party_id);
              return l ? h('li', { 'data-party-id': p.party_id }, h('span', { class: 'zone-party', text: p.name }), h('span', { text: spanText(l.start, l.end, l.zone) })) : null;
            }),
          ),
          h('p', { class: 'agreed-note', text: released ? t('party.agreed_note_released') : t('party.agreed_note') }),
        ),
      ),
    ];
  };

  // --- windows editor

  const drawEditor = () => {
    if (!view) return [];
    const zone = me().time_zone;
    const today = isoDateIn(zone);
    const last = isoDateIn(zone, 365);
    const list = h('div', { class: 'window-rows', role: 'list' });
    if (rows.length === 0) {
      list.append(h('p', { class: 'empty', 'data-testid': 'windows-empty', text: me().windows_given && !dirty ? t('party.windows.none_suit') : t('party.windows.empty') }));
    } else {
      list.append(h('div', { class: 'window-head', 'aria-hidden': 'true' }, h('span', { text: t('party.windows.date') }), h('span', { text: t('party.windows.from') }), h('span', { text: t('party.windows.to') }), h('span')));
    }
    rows.forEach((row, i) => {
      const ends = h('span', { class: 'window-ends', 'data-testid': 'window-ends' });
      const showEnds = () => {
        if (!row.date || !row.from || !row.to) {
          ends.textContent = '';
          return;
        }
        ends.textContent = row.days === 0 ? '' : row.days === 1 ? t('party.windows.next_day') : t('party.windows.ends', { date: dateLabel(dateFromIso(addDays(row.date, row.days))) });
      };
      /** @param {'date' | 'from' | 'to'} field */
      const onInput = (field) => (/** @type {Event} */ e) => {
        const value = /** @type {HTMLInputElement} */ (e.target).value;
        row[field] = field === 'date' ? value : value.slice(0, 5);
        if (field !== 'date') row.fixedDays = false;
        if (!row.fixedDays) row.days = row.from && row.to && row.to <= row.from ? 1 : 0;
        markDirty();
        showEnds();
      };
      showEnds();
      list.append(
        h(
          'div',
          { class: 'window-row', role: 'listitem', 'data-testid': 'window-row' },
          h('input', { type: 'date', 'data-testid': 'window-date', 'aria-label': t('party.windows.date'), value: row.date, min: today, max: last, required: true, oninput: onInput('date') }),
          h('input', { type: 'time', 'data-testid': 'window-from', 'aria-label': t('party.windows.from'), value: row.from, required: true, oninput: onInput('from') }),
          h('div', { class: 'window-to' }, h('input', { type: 'time', 'data-testid': 'window-to', 'aria-label': t('party.windows.to'), value: row.to, required: true, oninput: onInput('to') }), ends),
          h(
            'button',
            {
              class: 'icon-button small',
              type: 'button',
              'data-testid': 'window-remove',
              'aria-label': t('party.windows.remove'),
              title: t('party.windows.remove'),
              onclick: () => {
                rows.splice(i, 1);
                markDirty();
                drawn.delete('windows');
                renderAll();
              },
            },
            icon('trash'),
          ),
        ),
      );
    });
    return [
      h('p', { class: 'muted small pcard-sub', text: t('party.windows.note', { zone, offset: offsetLabel(new Date(), zone) }) }),
      list,
      editorProblemEl,
      h('div', { class: 'editor-actions' }, addBtn, h('span', { class: 'grow' }), editorStatus, discardBtn, saveBtn),
    ];
  };

  const editorProblemEl = h('div', { class: 'inline-problem', role: 'alert', 'data-testid': 'windows-problem', hidden: true });
  const editorStatus = h('span', { class: 'editor-status muted small', 'data-testid': 'windows-status' });
  const addBtn = h(
    'button',
    {
      class: 'secondary',
      type: 'button',
      'data-testid': 'add-window',
      onclick: () => {
        if (!view) return;
        const zone = me().time_zone;
        const prev = rows[rows.length - 1];
        const tomorrow = isoDateIn(zone, 1);
        rows.push(
          prev
            ? { date: prev.date ? addDays(prev.date, 1) : tomorrow, from: prev.from, to: prev.to, days: prev.fixedDays ? 0 : prev.days, fixedDays: false }
            : { date: tomorrow, from: '09:00', to: '17:00', days: 0, fixedDays: false },
        );
        markDirty();
        drawn.delete('windows');
        renderAll();
        const inputs = windowsBody.querySelectorAll('[data-testid=window-date]');
        /** @type {HTMLInputElement | undefined} */ (inputs[inputs.length - 1])?.focus();
      },
    },
    icon('plus'),
    h('span', null, lx.text('party.windows.add')),
  );
  const discardBtn = h('button', {
    class: 'secondary',
    type: 'button',
    'data-testid': 'discard-windows',
    onclick: () => {
      if (!view) return;
      dirty = false;
      rows = rowsOf(view.windows);
      rowsFrom = JSON.stringify(view.windows);
      editorProblem = null;
      drawn.delete('windows');
      renderAll();
    },
  });
  discardBtn.append(lx.text('party.windows.discard'));
  const saveBtn = h('button', {
    class: 'primary',
    type: 'button',
    'data-testid': 'save-windows',
    'data-action': true,
    onclick: async () => {
      const problem = rowsProblem(rows);
      editorProblem = problem;
      updateEditorState();
      if (problem) return;
      const windows = rows.map((r) => ({ start: `${r.date}T${r.from}:00`, end: `${addDays(r.date, r.days)}T${r.to}:00` }));
      const saved = await act('PUT', '/windows', { windows });
      if (saved && view) {
        dirty = false;
        rows = rowsOf(view.windows);
        rowsFrom = JSON.stringify(view.windows);
        drawn.delete('windows');
        renderAll();
      }
    },
  });
  saveBtn.append(lx.text('party.windows.save'));

  const markDirty = () => {
    dirty = true;
    editorProblem = null;
    updateEditorState();
  };

  const updateEditorState = () => {
    if (!view) return;
    saveBtn.disabled = busy || !dirty;
    discardBtn.hidden = !dirty;
    addBtn.disabled = rows.length >= 50;
    editorProblemEl.hidden = !editorProblem;
    editorProblemEl.replaceChildren(icon('alert'), h('span', { text: editorProblem ?? '' }));
    editorStatus.dataset.state = dirty ? 'unsaved' : me().windows_given ? 'saved' : 'none';
    editorStatus.textContent = dirty ? t('party.windows.unsaved') : me().windows_given ? t('party.windows.saved') : '';
  };

  // --- slots

  const drawSlots = () => {
    if (!view) return [];
    const v = view;
    const missing = v.parties.filter((p) => !p.windows_given);
    if (missing.length) {
      const others = missing.filter((p) => p.party_id !== v.party_id).map((p) => p.name);
      const meMissing = missing.some((p) => p.party_id === v.party_id);
      const text = meMissing
        ? others.length
          ? t('party.slots.waiting_you_and', { others: listText(others) })
          : t('party.slots.waiting_you')
        : t('party.slots.waiting_others', { others: listText(others), count: others.length });
      return [
        h('div', { class: 'waiting', 'data-testid': 'waiting' }, icon('hourglass'), h('span', { text })),
        h(
          'ul',
          { class: 'given-list' },
          ...v.parties.map((p) =>
            h('li', { class: p.windows_given ? 'given' : 'not-given' }, p.windows_given ? icon('check') : icon('clock'), h('span', { text: t(p.windows_given ? 'party.slots.given' : 'party.slots.not_given', { name: nameOf(p.party_id) }) })),
          ),
        ),
        h('p', { class: 'muted small', text: t('party.slots.appear') }),
      ];
    }
    if (v.slots.length === 0) {
      return [h('div', { class: 'waiting', 'data-testid': 'no-slots' }, icon('alert'), h('span', { text: t('party.slots.none') }))];
    }
    const accepted = v.slots.filter((s) => s.accepted_by.length > 0);
    const rest = v.slots.filter((s) => s.accepted_by.length === 0);
    const shown = showAllSlots ? rest : rest.slice(0, SLOTS_SHOWN);
    /** @type {HTMLElement[]} */
    const out = [
      h('p', {
        class: 'muted small pcard-sub',
        text: v.agreed ? t('party.slots.agreed_note') : t('party.slots.note', { duration: durationLong(v.call.duration_minutes) }),
      }),
    ];
    if (accepted.length) {
      out.push(h('h3', { class: 'slots-group', text: t('party.slots.proposed') }), h('ul', { class: 'slot-list' }, ...accepted.map(drawSlot)));
      if (rest.length) out.push(h('h3', { class: 'slots-group', text: t('party.slots.other') }));
    }
    if (rest.length) out.push(h('ul', { class: 'slot-list' }, ...shown.map(drawSlot)));
    if (rest.length > SLOTS_SHOWN) {
      out.push(
        h('button', {
          class: 'link-button',
          type: 'button',
          'data-testid': 'slots-toggle',
          text: showAllSlots ? t('party.show_fewer') : t('party.slots.show_all', { count: rest.length }),
          onclick: () => {
            showAllSlots = !showAllSlots;
            renderAll();
          },
        }),
      );
    }
    return out;
  };

  /** @param {Slot} slot */
  const drawSlot = (slot) => {
    if (!view) return h('li');
    const mineAccepted = slot.accepted_by.includes(view.party_id);
    const isAgreed = !!view.agreed && view.agreed.start === slot.start;
    const waitingFor = view.parties.filter((p) => !slot.accepted_by.includes(p.party_id)).map((p) => nameOf(p.party_id));
    const state = slot.accepted_by.length
      ? h(
          'div',
          { class: 'slot-state', 'data-testid': 'slot-state' },
          icon('check'),
          h('span', { text: `${t('party.slots.accepted_by', { names: listText(slot.accepted_by.map(nameOf)) })}${waitingFor.length ? ` · ${t('party.slots.waiting_for', { names: listText(waitingFor) })}` : ''}` }),
        )
      : null;
    /** Changing an agreed time reopens it: ask first. @param {string | null} start */
    const accept = (start) => {
      if (view?.agreed && start !== view.agreed.start && !confirm(t('party.slots.reopen_confirm'))) return;
      act('PUT', '/acceptance', { start });
    };
    const button = mineAccepted
      ? h('button', { class: 'secondary', type: 'button', 'data-testid': 'slot-withdraw', 'data-action': true, disabled: busy, text: t('party.withdraw'), onclick: () => accept(null) })
      : h('button', { class: slot.accepted_by.length ? 'primary' : 'secondary', type: 'button', 'data-testid': 'slot-accept', 'data-action': true, disabled: busy, text: t('party.accept'), onclick: () => accept(slot.start) });
    return h('li', { class: `slot${isAgreed ? ' agreed' : ''}${mineAccepted ? ' mine' : ''}`, 'data-testid': 'slot', 'data-start': slot.start }, h('div', { class: 'slot-main' }, slotTimes(slot), state), button);
  };

  // --- agenda

  const drawAgenda = () => {
    if (!view) return [];
    const v = view;
    const items = v.agenda ?? [];
    if (!v.agenda) return [h('p', { class: 'muted', text: t('party.agenda.unavailable') })];
    /** @type {HTMLElement[]} */
    const out = [h('p', { class: 'muted small pcard-sub', text: t('party.agenda.note') })];
    if (items.length === 0) {
      out.push(h('p', { class: 'empty', 'data-testid': 'agenda-empty', text: t('party.agenda.empty') }));
      return out;
    }
    const ids = items.map((i) => i.item_id);
    /** @param {number} from @param {number} to */
    const move = (from, to) => {
      const next = [...ids];
      const [id] = next.splice(from, 1);
      next.splice(to, 0, id);
      act('PUT', '/agenda/order', { item_ids: next });
    };
    out.push(
      h(
        'ol',
        { class: 'agenda-list' },
        ...items.map((item, i) => {
          const mine = item.accepted_by.includes(v.party_id);
          const waiting = v.parties.filter((p) => !item.accepted_by.includes(p.party_id)).map((p) => nameOf(p.party_id));
          return h(
            'li',
            { class: `agenda-item${item.agreed ? ' agreed' : ''}`, 'data-testid': 'agenda-item', 'data-item-id': item.item_id },
            h('span', { class: 'agenda-num', text: String(i + 1) }),
            h(
              'div',
              { class: 'agenda-main' },
              h('div', { class: 'agenda-title', 'data-testid': 'agenda-title', text: item.title }),
              h(
                'div',
                { class: 'agenda-meta' },
                item.agreed
                  ? h('span', { class: 'pill ok', 'data-testid': 'agenda-status', 'data-state': 'agreed' }, icon('check'), h('span', { text: t('party.agreed') }))
                  : h('span', { class: 'pill wait', 'data-testid': 'agenda-status', 'data-state': 'waiting' }, icon('hourglass'), h('span', { text: t('party.agenda.waiting_for', { names: listText(waiting) }) })),
                h('span', { class: 'muted small', text: t('party.agenda.proposed_by', { name: nameOf(item.proposed_by) }) }),
              ),
            ),
            h(
              'div',
              { class: 'agenda-actions' },
              mine
                ? h('button', { class: 'secondary small-btn', type: 'button', 'data-testid': 'agenda-withdraw', 'data-action': true, disabled: busy, text: t('party.withdraw'), title: t('party.agenda.withdraw_title'), onclick: () => act('PUT', `/agenda/${encodeURIComponent(item.item_id)}/acceptance`, { accept: false }) })
                : h('button', { class: 'primary small-btn', type: 'button', 'data-testid': 'agenda-accept', 'data-action': true, disabled: busy, text: t('party.accept'), onclick: () => act('PUT', `/agenda/${encodeURIComponent(item.item_id)}/acceptance`, { accept: true }) }),
              h('button', { class: 'icon-button small', type: 'button', 'data-testid': 'agenda-up', 'data-action': true, disabled: busy || i === 0, 'aria-label': t('party.agenda.up_label', { title: item.title }), title: t('party.agenda.up'), onclick: () => move(i, i - 1) }, icon('up')),
              h('button', { class: 'icon-button small', type: 'button', 'data-testid': 'agenda-down', 'data-action': true, disabled: busy || i === items.length - 1, 'aria-label': t('party.agenda.down_label', { title: item.title }), title: t('party.agenda.down'), onclick: () => move(i, i + 1) }, icon('down')),
            ),
          );
        }),
      ),
    );
    return out;
  };

  // --- announcement

  const drawRelease = () => {
    if (!view) return [];
    const v = view;
    const publicLink = `${location.origin}/call/${encodeURIComponent(v.call.id)}`;
    const linkEl = h('a', { href: `/call/${encodeURIComponent(v.call.id)}`, target: '_blank', rel: 'noopener', 'data-testid': 'public-link', text: publicLink });
    if (!v.release) return [h('p', { class: 'muted', text: t('party.release.unavailable') })];
    const rel = v.release;
    const out = [h('p', { class: 'pcard-sub muted small' }, ...tNodes('party.release.note', { link: linkEl }))];
    if (rel.released) {
      out.push(h('div', { class: 'release-state released', 'data-testid': 'release-status', 'data-state': 'released' }, icon('megaphone'), h('span', { text: t('party.release.released') })));
      return out;
    }
    const mine = rel.approved_by.includes(v.party_id);
    const waiting = v.parties.filter((p) => !rel.approved_by.includes(p.party_id)).map((p) => nameOf(p.party_id));
    if (!v.agreed) {
      out.push(
        h('div', { class: 'release-row' }, h('button', { class: 'secondary', type: 'button', 'data-testid': 'release-approve', disabled: true, text: t('party.release.approve') }), h('span', { class: 'muted small', 'data-testid': 'release-status', 'data-state': 'not-agreed', text: t('party.release.not_agreed') })),
      );
      return out;
    }
    out.push(
      h(
        'div',
        { class: 'release-row' },
        mine
          ? h('button', { class: 'secondary', type: 'button', 'data-testid': 'release-withdraw', 'data-action': true, disabled: busy, text: t('party.release.withdraw'), onclick: () => act('PUT', '/release', { approve: false }) })
          : h('button', { class: 'primary', type: 'button', 'data-testid': 'release-approve', 'data-action': true, disabled: busy, text: t('party.release.approve'), onclick: () => act('PUT', '/release', { approve: true }) }),
        h(
          'span',
          { class: 'small', 'data-testid': 'release-status', 'data-state': 'waiting' },
          `${rel.approved_by.length ? t('party.release.approved_by', { names: listText(rel.approved_by.map(nameOf)) }) : t('party.release.nobody')} `,
          h('span', { class: 'muted', text: t('party.release.waiting_for', { names: listText(waiting) }) }),
        ),
      ),
    );
    return out;
  };

  // --- parties

  const drawParties = () => {
    if (!view) return [];
    const v = view;
    return [
      h(
        'ul',
        { class: 'party-list' },
        ...v.parties.map((p) =>
          h(
            'li',
            { class: `party-card${p.party_id === v.party_id ? ' own' : ''}`, 'data-testid': 'party', 'data-party-id': p.party_id },
            h(
              'div',
              { class: 'party-head' },
              h('span', { class: 'party-name', text: p.name }),
              p.party_id === v.party_id ? h('span', { class: 'pill you', text: t('party.parties.you') }) : null,
              h('span', { class: 'grow' }),
              h('span', { class: 'party-clock', 'data-clock': p.time_zone, title: t('party.parties.local_time', { zone: p.time_zone }) }),
            ),
            h('div', { class: 'party-zone muted small' }, h('span', { text: p.time_zone }), h('span', { class: 'zone-offset', 'data-offset': p.time_zone })),
            p.members.length
              ? h(
                  'ul',
                  { class: 'member-list' },
                  ...p.members.map((m, i) =>
                    h(
                      'li',
                      null,
                      h('span', { class: 'member-name', text: m.name }),
                      h('span', { class: `role role-${m.role}`, text: roleLabel(m.role) }),
                      m.host ? h('span', { class: 'role role-host', 'data-testid': 'member-host-badge', title: t('party.parties.host_title'), text: t('role.host') }) : null,
                      m.languages?.length === 2 ? h('span', { class: 'muted small', text: `${languageName(m.languages[0])} ↔ ${languageName(m.languages[1])}` }) : null,
                      // The party's own members: their personal links, to hand to each.
                      p.party_id === v.party_id && v.members?.[i] ? copyLinkButton(v.members[i].link, m.name) : null,
                    ),
                  ),
                )
              : h('p', { class: 'muted small', text: t('party.parties.no_members') }),
            p.party_id === v.party_id && p.members.length ? h('p', { class: 'muted small', text: t('party.parties.send_links') }) : null,
            h(
              'div',
              { class: 'party-progress small' },
              h('span', { class: p.windows_given ? 'ok' : 'muted', text: p.windows_given ? t('party.parties.given') : t('party.parties.not_given') }),
              p.accepted ? h('span', { class: 'ok', text: t('party.parties.accepts', { time: startText(p.accepted) }) }) : null,
            ),
          ),
        ),
      ),
    ];
  };

  const tickClocks = () => {
    const now = new Date();
    for (const el of page.querySelectorAll('[data-clock]')) {
      const tz = /** @type {HTMLElement} */ (el).dataset.clock ?? 'UTC';
      const p = partsIn(now, tz);
      el.textContent = `${weekdayLabel(p)} ${clock(p)}`;
    }
    for (const el of page.querySelectorAll('[data-offset]')) el.textContent = ` · ${offsetLabel(now, /** @type {HTMLElement} */ (el).dataset.offset ?? 'UTC')}`;
  };

  // --- activity

  const drawActivity = () => {
    if (!view) return [];
    const v = view;
    /** @type {Map<string, string>} */
    const titles = new Map();
    for (const item of v.agenda ?? []) titles.set(item.item_id, item.title);
    for (const e of v.events) if (e.event === 'agenda_proposed' && e.item_id && e.title && !titles.has(e.item_id)) titles.set(e.item_id, e.title);
    const events = [...v.events].reverse();
    const shown = showAllEvents ? events : events.slice(0, EVENTS_SHOWN);
    const zone = me().time_zone;
    /** @type {HTMLElement[]} */
    const out = [
      h(
        'ol',
        { class: 'activity-list' },
        ...shown.map((e) => {
          const at = new Date(e.at);
          const p = partsIn(at, zone);
          return h('li', { 'data-testid': 'event', 'data-event': e.event }, h('span', { class: 'event-text', text: eventText(e, titles) }), h('time', { class: 'muted small', datetime: e.at, text: `${dateLabel(p)}, ${clock(p)}` }));
        }),
      ),
    ];
    if (events.length > EVENTS_SHOWN) {
      out.push(
        h('button', {
          class: 'link-button',
          type: 'button',
          text: showAllEvents ? t('party.show_fewer') : t('party.event.show_all', { count: events.length }),
          onclick: () => {
            showAllEvents = !showAllEvents;
            renderAll();
          },
        }),
      );
    }
    return out;
  };

  /** @param {CallEvent} e @param {Map<string, string>} titles */
  const eventText = (e, titles) => {
    const who = nameOf(e.party_id);
    const at = e.start ? startText(e.start) : '';
    const title = e.item_id ? titles.get(e.item_id) : undefined;
    const item = title ? t('common.quoted', { text: title }) : t('party.event.an_item');
    const p = { who, time: at, item };
    switch (e.event) {
      case 'created':
      case 'windows_changed':
      case 'proposed':
      case 'accepted':
      case 'withdrew':
      case 'agreed':
      case 'reopened':
      case 'agenda_proposed':
      case 'agenda_accepted':
      case 'agenda_withdrawn':
      case 'agenda_reordered':
      case 'release_approved':
      case 'release_withdrawn':
      case 'released':
        return t(`party.event.${e.event}`, p);
      default:
        return `${e.party_id ? `${who}: ` : ''}${e.event.replace(/_/g, ' ')}`;
    }
  };

  // ------------------------------------------------------------ the language

  /** In the language just chosen: the page again, its unsaved windows and typed agenda item kept. */
  const onLocale = () => {
    lx.update();
    if (screen.state === 'loading') showLoading();
    else if (screen.state === 'invalid') showInvalidLink();
    else if (screen.state === 'failed') showLoadFailed(screen.message);
    else if (view) {
      if (editorProblem) editorProblem = rowsProblem(rows);
      renderAll(true);
    }
  };
  const offLocale = onLocaleChange(onLocale);

  // ------------------------------------------------------------ start
  const stop = () => {
    if (pollTimer) clearTimeout(pollTimer);
    if (clockTimer) clearInterval(clockTimer);
    pollTimer = null;
    clockTimer = null;
    document.removeEventListener('visibilitychange', onVisible);
  };
  clockTimer = setInterval(tickClocks, 15000);
  load().then(schedulePoll);
  // For tests and debugging: the view the page shows.
  /** @type {any} */ (window).hotlineParty = { get view() { return view; }, get dirty() { return dirty; }, reload: load };
  return () => {
    disposed = true;
    stop();
    offLocale();
  };
}


/**
 * The editor's rows for the server's windows.
 * @param {LocalWindow[]} windows
 * @returns {WindowRow[]}
 */
function rowsOf(windows) {
  return windows.map((w) => {
    const date = w.start.slice(0, 10);
    const from = w.start.slice(11, 16);
    const to = w.end.slice(11, 16);
    const days = daysBetween(date, w.end.slice(0, 10));
    const inferred = to <= from ? 1 : 0;
    return { date, from, to, days, fixedDays: days !== inferred };
  });
}

/**
 * What is wrong with the rows, in words, or null.
 * @param {WindowRow[]} rows
 */
function rowsProblem(rows) {
  for (const [i, r] of rows.entries()) {
    if (!r.date || !r.from || !r.to) return t('party.windows.incomplete', { number: i + 1 });
  }
  return null;
}

// ---------------------------------------------------------------- public page

/**
 * The call's public page: its title and that it is planned; the time only
 * once every party approved announcing it.
 * @param {HTMLElement} root
 * @param {string} callId
 * @returns {() => void}
 */
export function showPublicPage(root, callId) {
  clearError();
  let disposed = false;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let last = '';
  /** What is shown, to show it again in another language. @type {(() => void) | null} */
  let shown = null;
  /** @param {() => void} fn */
  const show = (fn) => {
    shown = fn;
    fn();
  };
  show(() => root.replaceChildren(h('div', { class: 'center-page' }, h('div', { class: 'loading', text: t('common.loading') }))));
  const offLocale = onLocaleChange(() => shown?.());

  const load = async () => {
    const r = await api('GET', `/api/calls/${encodeURIComponent(callId)}/public`);
    if (disposed) return;
    if (r.ok) {
      const k = JSON.stringify(r.data);
      if (k !== last) {
        last = k;
        show(() => draw(r.data));
      }
    } else if (r.status === 404 || r.status === 400) {
      show(showMissing);
      return;
    } else if (!last) {
      const error = r.error;
      show(() => root.replaceChildren(h('div', { class: 'center-page' }, h('div', { class: 'card narrow' }, cardHead(), h('h1', { text: t('public.load_failed') }), h('div', { class: 'error-box', role: 'alert' }, icon('alert'), h('span', { text: error }))))));
    }
    if (!disposed) timer = setTimeout(load, PUBLIC_POLL_MS);
  };

  const showMissing = () => {
      document.title = `${t('public.missing.doc_title')} · Hotline`;
      root.replaceChildren(
        h(
          'div',
          { class: 'center-page' },
          h(
            'div',
            { class: 'card narrow', 'data-testid': 'public-page', 'data-status': 'missing' },
            cardHead(),
            h('h1', { text: t('public.missing.title') }),
            h('p', { class: 'muted', text: t('public.missing.text') }),
          ),
        ),
      );
  };

  /** @param {PublicView} v */
  const draw = (v) => {
    document.title = `${v.title} · Hotline`;
    const scheduled = v.status === 'scheduled' && v.start && v.end;
    /** @type {(Node | null)[]} */
    let body;
    if (scheduled && v.start && v.end) {
      const start = new Date(v.start);
      const end = new Date(v.end);
      const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const loc = formatLocale();
      const long = (/** @type {Date} */ d, /** @type {string | undefined} */ tz) => fmt(loc, { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(d);
      const hm = (/** @type {Date} */ d, /** @type {string | undefined} */ tz) => fmt(loc, { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
      const zoneName = fmt(loc, { timeZone: here, timeZoneName: 'short' }).formatToParts(start).find((p) => p.type === 'timeZoneName')?.value ?? '';
      const zoneLong = fmt(loc, { timeZone: here, timeZoneName: 'long' }).formatToParts(start).find((p) => p.type === 'timeZoneName')?.value ?? '';
      const endsLater = (/** @type {string | undefined} */ tz) => long(start, tz) !== long(end, tz);
      const range = (/** @type {string | undefined} */ tz) => (endsLater(tz) ? `${hm(start, tz)} – ${hm(end, tz)}` : `${hm(start, tz)}–${hm(end, tz)}`);
      body = [
        h('span', { class: 'pill ok', 'data-testid': 'public-status' }, icon('calendar'), h('span', { text: t('public.scheduled') })),
        h(
          'div',
          { class: 'public-when', 'data-testid': 'public-time' },
          h('div', { class: 'public-date', text: long(start, here) }),
          h('div', { class: 'public-hours' }, h('span', { text: range(here) }), h('span', { class: 'public-zone', text: zoneName })),
          endsLater(here) ? h('div', { class: 'small', text: t('public.ends_on', { date: long(end, here) }) }) : null,
          h('div', { class: 'muted small', text: t('public.your_zone', { zone: zoneLong && zoneLong !== here ? `${zoneLong} (${here})` : here }) }),
          h('div', { class: 'public-utc', 'data-testid': 'public-utc', text: `${t('public.utc', { date: long(start, 'UTC'), range: range('UTC') })}${endsLater('UTC') ? t('public.utc_ends', { date: long(end, 'UTC') }) : ''}` }),
        ),
      ];
    } else {
      body = [
        h('span', { class: 'pill wait', 'data-testid': 'public-status' }, icon('hourglass'), h('span', { text: t('public.planned') })),
        h('p', { class: 'public-planned', text: t('public.planned_text') }),
      ];
    }
    root.replaceChildren(
      h(
        'div',
        { class: 'center-page' },
        h(
          'div',
          { class: 'card public-card', 'data-testid': 'public-page', 'data-status': scheduled ? 'scheduled' : 'planned' },
          cardHead(),
          h('h1', { 'data-testid': 'public-title', text: v.title }),
          ...body,
          v.parties.length ? h('p', { class: 'public-parties muted' }, icon('users'), h('span', { text: t('public.between', { names: listText(v.parties) }) })) : null,
        ),
      ),
    );
  };

  load();
  return () => {
    disposed = true;
    if (timer) clearTimeout(timer);
    offLocale();
  };
}

/**
 * A button that copies a member's personal link (shown in full where the clipboard is refused).
 * @param {string} link  `/join/KEY` @param {string} name
 */
function copyLinkButton(link, name) {
  const url = `${location.origin}${link}`;
  const button = h('button', { class: 'link-copy', type: 'button', 'data-testid': 'member-link', 'data-link': link, title: t('party.link.copy_title', { name }) }, icon('link'), h('span', { text: t('party.link.copy') }));
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(url);
      button.replaceChildren(icon('check'), h('span', { text: t('common.copied') }));
      setTimeout(() => button.replaceChildren(icon('link'), h('span', { text: t('party.link.copy') })), 2000);
    } catch {
      window.prompt(t('party.link.prompt', { name }), url);
    }
  });
  return button;
}

