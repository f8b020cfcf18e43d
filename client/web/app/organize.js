// Scheduled calls (docs/scheduling.md): the organizer's page (/schedule). It
// describes a call (title, duration, languages, encryption, the parties with
// their time zones and members), creates it (POST /api/calls with an
// organizer's credential), and hands out each party's private link.

import { h, icon, clearError, brand, decodeToken, languageMenu } from './ui.js';
import { api, serverTrouble, pad2, partsIn, offsetLabel, languageName, durationLong, sectionCard } from './schedule-common.js';
import { t, tryT, formatLocale, onLocaleChange, localized } from '../i18n/index.js';

/** @typedef {ReturnType<typeof localized>} Localized */

// ---------------------------------------------------------------- limits (as the server checks them)

const MIN_PARTIES = 2;
const MAX_PARTIES = 8;
const MAX_MEMBERS = 50;
const MAX_LANGUAGES = 10;
const MIN_DURATION = 15;
const MAX_DURATION = 480;
const MAX_TEXT = 200;
const DURATIONS = [30, 45, 60, 90, 120];
/** Time zones listed at once in the picker; typing narrows them. */
const ZONES_SHOWN = 60;

/** The organizer's credential, for this tab only. */
const TOKEN_KEY = 'hotline:organizer-token';
const ORGANIZER_ROOM = 'hotline:organizer';
const TOKEN_COMMAND = 'hotline token --organizer --identity NAME --ttl 30d';

/** @typedef {'principal' | 'adviser' | 'interpreter' | 'note_taker' | 'observer'} Role */
/** @type {Role[]} */
const ROLES = ['principal', 'adviser', 'interpreter', 'note_taker', 'observer'];
/** A role in words. @param {string} role */
const roleLabel = (role) => tryT(`role.${role}`) ?? role;

/** @typedef {{name: string, role: Role, languages?: string[], host?: boolean}} NewMember */
/** @typedef {{name: string, time_zone: string, members: NewMember[]}} NewParty */
/** @typedef {{title: string, duration_minutes: number, languages: string[], e2ee_required: boolean, parties: NewParty[]}} NewCall */
/** @typedef {{call_id: string, public_link: string, parties: {party_id: string, name: string, link: string}[]}} CreatedCall */
/** @typedef {{sub?: string, name?: string, room?: string, exp?: number, grants?: {organize?: boolean}}} Claims */

// ---------------------------------------------------------------- small helpers

let uid = 0;
/** @param {string} prefix */
const nextId = (prefix) => `org-${prefix}-${++uid}`;


/** A language tag like en, ru or pt-BR, as the server accepts it. @param {string} tag */
const isLanguageTag = (tag) => /^[A-Za-z][A-Za-z0-9-]{1,15}$/.test(tag);

/** @param {string} text e.g. "ru, en" */
const parseLanguages = (text) => text.split(/[\s,;]+/).filter(Boolean);


/** What is wrong with a text the server would refuse for its control characters (a pasted tab), or null. @param {string} text */
const controlProblem = (text) => (/[\u0000-\u001f\u007f-\u009f]/.test(text.trim()) ? t('org.control_char') : null);

/** @param {string} tag */
const notATag = (tag) => t('org.not_a_tag', { tag });

/** @param {number} unixSeconds */
const dateText = (unixSeconds) => new Intl.DateTimeFormat(formatLocale(), { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(unixSeconds * 1000));


/** "1 h 30", for the duration buttons. @param {number} minutes */
function durationText(minutes) {
  const hrs = Math.floor(minutes / 60);
  const min = minutes % 60;
  if (!hrs) return t('org.dur.min', { minutes: min });
  return min ? t('org.dur.h_min', { hours: hrs, minutes: min }) : t('org.dur.h', { hours: hrs });
}

// ---------------------------------------------------------------- time zones

/**
 * Zones browsers still list by an old name (their time zone data keeps the
 * names it once had), with the name the IANA database gives them now. Both
 * are valid on the server; the list shows the current one.
 */
const RENAMED = /** @type {Record<string, string>} */ ({
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
});

/** @type {string[] | null} */
let zoneList = null;
/** Every IANA zone the browser knows (by its current name), with its own and UTC. */
function zones() {
  if (zoneList) return zoneList;
  /** @type {string[]} */
  let list = [];
  try {
    list = Intl.supportedValuesOf('timeZone').map((z) => RENAMED[z] ?? z);
  } catch {
    list = [];
  }
  list.push(browserZone(), 'UTC');
  zoneList = [...new Set(list)].sort();
  return zoneList;
}

function browserZone() {
  try {
    const z = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    return RENAMED[z] ?? z;
  } catch {
    return 'UTC';
  }
}


/** "UTC+3", "UTC−5", "UTC+5:30" now ('' for a zone the browser does not know). @param {string} timeZone */
function offsetNow(timeZone) {
  try {
    return offsetLabel(new Date(), timeZone);
  } catch {
    return '';
  }
}

/** "17:42" now in `timeZone`. @param {string} timeZone */
function clockIn(timeZone) {
  try {
    const p = partsIn(new Date(), timeZone);
    return `${pad2(p.hh)}:${pad2(p.mm)}`;
  } catch {
    return '';
  }
}

/** For matching what is typed: lower case, underscores and slashes as spaces. @param {string} s */
const zoneKey = (s) => s.toLowerCase().replace(/[_/\s]+/g, ' ').trim();

/** "New York" for America/New_York. @param {string} zone */
const cityOf = (zone) => (zone.split('/').pop() ?? zone).replace(/_/g, ' ');

/**
 * The zones that match what is typed: those whose city starts with it first.
 * @param {string} text
 */
function matchingZones(text) {
  const q = zoneKey(text);
  if (!q) return zones();
  const starts = [];
  const rest = [];
  for (const z of zones()) {
    if (zoneKey(cityOf(z)).startsWith(q)) starts.push(z);
    else if (zoneKey(z).includes(q)) rest.push(z);
  }
  // Found by an old name too (Calcutta, Kiev).
  for (const [old, now] of Object.entries(RENAMED)) if (zoneKey(old).includes(q) && !starts.includes(now) && !rest.includes(now)) rest.push(now);
  return [...starts, ...rest];
}

/** The zone typed exactly (any case, spaces for underscores), or null. @param {string} text */
function exactZone(text) {
  const q = zoneKey(text);
  if (!q) return null;
  const old = Object.keys(RENAMED).find((z) => zoneKey(z) === q);
  if (old) return RENAMED[old];
  return zones().find((z) => zoneKey(z) === q) ?? null;
}

// ---------------------------------------------------------------- icons




// ---------------------------------------------------------------- field problems

/**
 * What is wrong with a field: `set` takes the words, or a function giving them (asked again by
 * `refresh` when the language changes).
 * @typedef {{el: HTMLElement, set: (message: string | (() => string) | null) => void, refresh: () => void, message: () => string | null}} Problem
 */

/**
 * The place next to a field where what is wrong with it is said.
 * @param {HTMLElement | HTMLElement[]} controls  marked invalid, and described by it, while there is a problem
 * @param {string} fieldName  for tests: `data-field`
 * @returns {Problem}
 */
function problemFor(controls, fieldName) {
  const id = nextId('problem');
  const el = h('div', { class: 'field-problem', id, 'data-testid': 'field-error', 'data-field': fieldName, hidden: true });
  /** @type {string | null} */
  let current = null;
  /** @type {string | (() => string) | null} */
  let source = null;
  const draw = () => {
    const message = typeof source === 'function' ? source() : source;
    if (message === current) return;
    current = message;
    el.hidden = !message;
    el.replaceChildren(...(message ? [icon('alert'), h('span', { text: message })] : []));
    for (const control of Array.isArray(controls) ? controls : [controls]) {
      const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== id);
      if (message) {
        control.setAttribute('aria-invalid', 'true');
        described.push(id);
      } else {
        control.removeAttribute('aria-invalid');
      }
      if (described.length) control.setAttribute('aria-describedby', described.join(' '));
      else control.removeAttribute('aria-describedby');
    }
  };
  return {
    el,
    message: () => current,
    set: (message) => {
      source = message;
      draw();
    },
    refresh: draw,
  };
}

/**
 * A labelled field: its label, what is shown (the control, or what holds it), hints, and its problem.
 * @param {Node} label  a text that follows the language @param {HTMLElement} control  the label's @param {Problem} problem
 * @param {{shown?: HTMLElement, extra?: (Node | null)[]}} [o]
 */
function field(label, control, problem, o = {}) {
  if (!control.id) control.id = nextId('input');
  return h('div', { class: 'field org-field' }, h('label', { class: 'org-label', for: control.id }, label), o.shown ?? control, ...(o.extra ?? []), problem.el);
}

// ---------------------------------------------------------------- the time zone picker

/**
 * @typedef {object} ZonePicker
 * @property {HTMLElement} root
 * @property {HTMLInputElement} input
 * @property {() => string | null} value  the zone chosen, or null while what is typed is not one
 * @property {() => string} text  what is typed
 */

/**
 * A searchable list of the IANA time zones: type a city or region, choose with
 * the mouse or the arrow keys and Enter.
 * @param {string | null} initial
 * @param {() => void} onChange
 * @param {Localized} lx  the page's text that follows the language
 * @returns {ZonePicker}
 */
function zonePicker(initial, onChange, lx) {
  /** @type {string | null} */
  let chosen = initial;
  /** @type {string[]} */
  let shown = [];
  let active = -1;
  const listId = nextId('zones');
  const input = h('input', {
    type: 'text',
    class: 'zone-input',
    'data-testid': 'party-zone-input',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    autocomplete: 'off',
    spellcheck: 'false',
    value: initial ?? '',
  });
  lx.attr(input, 'placeholder', 'org.zone.placeholder');
  const list = lx.attr(h('ul', { class: 'zone-list', id: listId, role: 'listbox', 'data-testid': 'zone-list', hidden: true }), 'aria-label', 'org.zone.list');
  const hint = h('div', { class: 'zone-hint muted small', 'data-testid': 'zone-hint' });

  const showHint = () => {
    hint.replaceChildren();
    if (chosen) hint.append(icon('clock'), h('span', { text: t('org.zone.now', { offset: offsetNow(chosen), clock: clockIn(chosen) }) }));
  };

  const isOpen = () => !list.hidden;
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  /** @param {number} i */
  const setActive = (i) => {
    const items = list.querySelectorAll('[role=option]');
    items[active]?.classList.remove('active');
    active = i;
    const el = /** @type {HTMLElement | undefined} */ (items[i]);
    if (el) {
      el.classList.add('active');
      input.setAttribute('aria-activedescendant', el.id);
      el.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };

  const open = () => {
    // What is typed narrows the list; the zone chosen shows among its neighbours.
    const browsing = !!chosen && input.value === chosen;
    const all = matchingZones(browsing ? '' : input.value);
    const from = browsing && chosen ? Math.max(0, Math.min(all.indexOf(chosen) - 5, all.length - ZONES_SHOWN)) : 0;
    shown = all.slice(from, from + ZONES_SHOWN);
    list.replaceChildren(
      ...shown.map((z, i) =>
        h(
          'li',
          {
            id: `${listId}-${i}`,
            role: 'option',
            class: 'zone-option',
            'data-testid': 'zone-option',
            'data-zone': z,
            'aria-selected': String(z === chosen),
            onmousedown: (/** @type {MouseEvent} */ e) => e.preventDefault(), // keep the focus in the input
            onclick: () => choose(z),
          },
          h('span', { class: 'zone-city', text: cityOf(z) }),
          h('span', { class: 'zone-name', text: z }),
          h('span', { class: 'zone-offset', text: offsetNow(z) }),
        ),
      ),
    );
    if (shown.length === 0) list.append(h('li', { class: 'zone-empty', text: t('org.zone.none') }));
    else if (all.length > shown.length) list.append(h('li', { class: 'zone-more', text: browsing ? t('org.zone.browse') : t('org.zone.more', { count: all.length - shown.length }) }));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    const selected = chosen ? shown.indexOf(chosen) : -1;
    setActive(selected >= 0 ? selected : input.value && shown.length ? 0 : -1);
  };

  /** @param {string} z */
  const choose = (z) => {
    chosen = z;
    input.value = z;
    close();
    showHint();
    onChange();
  };

  input.addEventListener('input', () => {
    chosen = exactZone(input.value);
    showHint();
    open();
    onChange();
  });
  input.addEventListener('click', () => (isOpen() ? close() : open()));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!isOpen()) open();
      else if (shown.length) setActive(e.key === 'ArrowDown' ? Math.min(active + 1, shown.length - 1) : Math.max(active - 1, 0));
    } else if (e.key === 'Enter') {
      if (isOpen()) {
        e.preventDefault(); // choose, do not submit the form
        if (shown[active]) choose(shown[active]);
        else close();
      }
    } else if (e.key === 'Escape') {
      if (isOpen()) {
        e.preventDefault();
        close();
      }
    }
  });
  input.addEventListener('blur', () => {
    close();
    if (!chosen) {
      // One zone fits what was typed: take it.
      const fits = matchingZones(input.value);
      if (input.value.trim() && fits.length === 1) choose(fits[0]);
    } else if (input.value !== chosen) {
      input.value = chosen;
    }
  });
  lx.run(showHint);

  return { root: h('div', { class: 'zone-picker' }, input, list, hint), input, value: () => chosen, text: () => input.value.trim() };
}

// ---------------------------------------------------------------- the form's parts

/**
 * @typedef {object} MemberEditor
 * @property {HTMLElement} root
 * @property {HTMLInputElement} name
 * @property {HTMLSelectElement} role
 * @property {HTMLInputElement} from
 * @property {HTMLInputElement} to
 * @property {HTMLInputElement} host  also a host of the call (principals always are)
 * @property {Problem} nameProblem
 * @property {Problem} pairProblem
 * @property {(partyNumber: number, memberNumber: number) => void} label
 */

/**
 * @typedef {object} PartyEditor
 * @property {HTMLElement} root
 * @property {HTMLInputElement} name
 * @property {ZonePicker} zone
 * @property {MemberEditor[]} members
 * @property {Problem} nameProblem
 * @property {Problem} zoneProblem
 * @property {(n: number, total: number) => void} renumber
 */

/**
 * The organizer's page: the form, then what was created.
 * @param {HTMLElement} root
 * @param {{dev: boolean}} cfg
 * @returns {() => void}  stops the page
 */
export function showOrganizePage(root, cfg) {
  clearError();
  document.title = `${t('org.doc_title')} · Hotline`;
  let disposed = false;
  /** The page's text that follows the language in place: what the organizer typed stays. */
  const lx = localized();
  let busy = false;
  /** Whether the organizer tried to create: from then on, problems show as fields change. */
  let attempted = false;

  // ------------------------------------------------------------ the credential

  /** @type {string | null} */
  let token = null;
  {
    const stored = sessionStorage.getItem(TOKEN_KEY);
    const claims = stored ? /** @type {Claims | null} */ (decodeToken(stored)) : null;
    if (stored && claims && !(claims.exp && claims.exp * 1000 < Date.now())) token = stored;
    else sessionStorage.removeItem(TOKEN_KEY);
  }
  let minting = false;
  /** What the page shows: the form, or what was created. */
  let showing = 'form';
  /** What was created, while it is shown. @type {{created: CreatedCall, sent: NewCall} | null} */
  let shownCreated = null;

  const credStatus = h('div', { class: 'party-status org-cred-status', 'data-testid': 'credential-status', 'aria-live': 'polite' });
  const credInput = h('textarea', {
    class: 'cred-input',
    'data-testid': 'credential-input',
    rows: 3,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  lx.attr(credInput, 'placeholder', 'org.cred.placeholder');
  const credProblem = problemFor(credInput, 'credential');
  const credRefusal = h('div', { class: 'inline-problem', role: 'alert', 'data-testid': 'credential-refused', hidden: true });
  /** Why the server refused the last credential, in words (asked again in another language). @type {(() => string) | null} */
  let refusedText = null;
  const drawRefusal = () => {
    credRefusal.hidden = !refusedText;
    credRefusal.replaceChildren(icon('alert'), h('span', { text: refusedText?.() ?? '' }));
  };
  const credCancel = h('button', { class: 'secondary', type: 'button', onclick: () => showCredCard(false) }, lx.text('common.cancel'));
  const devMintBtn = cfg.dev
    ? h('button', { class: 'secondary', type: 'button', 'data-testid': 'credential-dev', onclick: () => mintDevToken(true) }, icon('key'), h('span', null, lx.text('org.cred.dev')))
    : null;
  const credCard = sectionCard(
    { id: 'org-credential', icon: 'key', title: lx.text('org.cred.title'), testid: 'credential-card' },
    h('p', { class: 'muted small pcard-sub' }, lx.text('org.cred.intro')),
    h('pre', { class: 'org-command', 'data-testid': 'credential-command' }, h('code', { text: TOKEN_COMMAND })),
    h('p', { class: 'muted small' }, lx.text('org.cred.paste')),
    credRefusal,
    field(lx.text('org.cred.field'), credInput, credProblem),
    h(
      'div',
      { class: 'editor-actions' },
      h('button', { class: 'primary', type: 'button', 'data-testid': 'credential-save', onclick: () => saveCredential() }, lx.text('org.cred.use')),
      devMintBtn,
      h('span', { class: 'grow' }),
      credCancel,
    ),
  );
  credCard.hidden = true;

  const drawCredStatus = () => {
    const claims = token ? /** @type {Claims | null} */ (decodeToken(token)) : null;
    if (minting) {
      credStatus.dataset.state = 'busy';
      credStatus.replaceChildren(h('span', { class: 'spinner-sm', 'aria-hidden': 'true' }), h('span', { text: t('org.cred.getting') }));
    } else if (token) {
      credStatus.dataset.state = 'held';
      const who = claims?.name || claims?.sub || t('org.cred.someone');
      credStatus.replaceChildren(
        h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
        h('span', { text: t('org.cred.held', { name: who }), title: claims?.exp ? t('org.cred.valid_until', { date: dateText(claims.exp) }) : '' }),
      );
      if (showing === 'form') credStatus.append(h('button', { class: 'link-button org-cred-change', type: 'button', 'data-testid': 'credential-change', text: t('org.cred.change'), onclick: () => showCredCard(true) }));
    } else {
      credStatus.dataset.state = 'none';
      credStatus.replaceChildren(icon('alert'), h('span', { text: t('org.cred.none') }));
    }
    credCancel.hidden = !token;
  };

  /** @param {boolean} show @param {{refused?: () => string, focus?: boolean}} [o]  `refused`: why the server refused the credential */
  const showCredCard = (show, o = {}) => {
    credCard.hidden = !show;
    refusedText = o.refused ?? null;
    drawRefusal();
    if (!show) {
      credProblem.set(null);
      credInput.value = '';
    }
    drawCredStatus();
    if (show && o.focus !== false) {
      credCard.scrollIntoView({ block: 'nearest' });
      credInput.focus();
    }
  };

  /** @param {string} t */
  const keepToken = (t) => {
    token = t;
    sessionStorage.setItem(TOKEN_KEY, t);
    showCredCard(false);
  };

  const dropToken = () => {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    drawCredStatus();
  };

  const saveCredential = () => {
    const pasted = credInput.value.trim().replace(/^Bearer\s+/i, '').replace(/\s+/g, '');
    if (!pasted) {
      credProblem.set(() => t('org.cred.empty'));
      credInput.focus();
      return;
    }
    const claims = /** @type {Claims | null} */ (decodeToken(pasted));
    if (!claims) {
      credProblem.set(() => t('org.cred.not_token'));
    } else if (!claims.grants?.organize || claims.room !== ORGANIZER_ROOM) {
      credProblem.set(() => t('org.cred.invitation'));
    } else if (claims.exp && claims.exp * 1000 < Date.now()) {
      const exp = claims.exp;
      credProblem.set(() => t('org.cred.expired', { date: dateText(exp) }));
    } else {
      credProblem.set(null);
      keepToken(pasted);
      if (attempted && formProblem.dataset.kind === 'credential') setFormProblem(null);
      return;
    }
    credInput.focus();
  };

  /**
   * In development mode: a credential from the server itself.
   * @param {boolean} [fromButton]
   * @returns {Promise<boolean>}
   */
  const mintDevToken = async (fromButton = false) => {
    minting = true;
    drawCredStatus();
    try {
      const r = await fetch('/api/dev/organizer-token', { method: 'POST', cache: 'no-store' });
      const data = r.ok ? await r.json() : null;
      if (disposed) return false;
      if (!data || typeof data.token !== 'string') throw new Error(`status ${r.status}`);
      minting = false;
      keepToken(data.token);
      if (fromButton && formProblem.dataset.kind === 'credential') setFormProblem(null);
      return true;
    } catch {
      if (disposed) return false;
      minting = false;
      showCredCard(true, { refused: () => t('org.cred.dev_failed'), focus: fromButton });
      return false;
    }
  };

  // ------------------------------------------------------------ the call

  const titleInput = lx.attr(h('input', { 'data-testid': 'call-title-input', maxlength: MAX_TEXT, autocomplete: 'off' }), 'placeholder', 'org.call.title_placeholder');
  const titleProblem = problemFor(titleInput, 'title');

  const durationInput = lx.attr(h('input', { type: 'number', 'data-testid': 'duration-input', min: MIN_DURATION, max: MAX_DURATION, step: 5, value: 60, inputmode: 'numeric' }), 'aria-label', 'org.call.duration_label');
  const durationProblem = problemFor(durationInput, 'duration');
  const durationButtons = DURATIONS.map((m) => {
    const button = h('button', {
      class: 'seg',
      type: 'button',
      'data-testid': 'duration-option',
      'data-minutes': m,
      'aria-pressed': 'false',
      onclick: () => {
        durationInput.value = String(m);
        syncDuration();
        revalidate();
      },
    });
    lx.run(() => {
      button.textContent = durationText(m);
    });
    return button;
  });
  const syncDuration = () => {
    for (const b of durationButtons) b.setAttribute('aria-pressed', String(b.dataset.minutes === durationInput.value.trim()));
  };
  durationInput.addEventListener('input', () => {
    syncDuration();
    revalidate();
  });
  syncDuration();
  const durationId = nextId('duration');
  const durationField = h(
    'div',
    { class: 'field org-field', role: 'group', 'aria-labelledby': durationId },
    h('span', { class: 'org-label', id: durationId }, lx.text('org.call.duration')),
    h('div', { class: 'duration-row' }, h('div', { class: 'segments' }, ...durationButtons), h('label', { class: 'duration-other' }, h('span', { class: 'muted small' }, lx.text('org.call.or')), durationInput, h('span', { class: 'muted small' }, lx.text('org.call.minutes')))),
    durationProblem.el,
  );

  const languagesInput = lx.attr(h('input', { 'data-testid': 'languages-input', autocomplete: 'off', spellcheck: 'false' }), 'placeholder', 'org.call.languages_placeholder');
  const languagesProblem = problemFor(languagesInput, 'languages');
  const languagesNames = h('div', { class: 'lang-names small', 'data-testid': 'languages-names' });
  /** Suggestions for interpreters' pairs: the call's languages. */
  const languageSuggestions = h('datalist', { id: nextId('langs') });
  const showLanguageNames = () => {
    const tags = parseLanguages(languagesInput.value).filter(isLanguageTag);
    languagesNames.replaceChildren(...(tags.length ? [icon('globe'), h('span', { text: tags.map(languageName).join(' · ') })] : []));
    languageSuggestions.replaceChildren(...[...new Set(tags)].map((t) => h('option', { value: t, label: languageName(t) })));
  };
  languagesInput.addEventListener('input', () => {
    showLanguageNames();
    revalidate();
  });

  const e2eeInput = h('input', { type: 'checkbox', 'data-testid': 'e2ee-input' });
  const e2eeField = h(
    'label',
    { class: 'org-check' },
    e2eeInput,
    h('span', { class: 'org-check-text' }, h('span', { class: 'org-check-title' }, icon('lock'), h('span', null, lx.text('org.call.e2ee'))), h('span', { class: 'muted small' }, lx.text('org.call.e2ee_note'))),
  );

  // ------------------------------------------------------------ the parties

  /** @type {PartyEditor[]} */
  const parties = [];
  const partyList = h('div', { class: 'org-parties' });
  const partiesProblem = problemFor(partyList, 'parties');
  const addPartyBtn = h('button', { class: 'secondary org-add', type: 'button', 'data-testid': 'add-party', onclick: () => addParty(true) }, icon('plus'), h('span', null, lx.text('org.parties.add')));
  const partiesCount = h('span', { class: 'muted small', 'data-testid': 'parties-count' });

  /**
   * @param {PartyEditor} party
   * @param {boolean} focus
   */
  const addMember = (party, focus) => {
    const name = lx.attr(h('input', { 'data-testid': 'member-name-input', maxlength: MAX_TEXT, autocomplete: 'off' }), 'placeholder', 'org.member.name_placeholder');
    const role = h('select', { 'data-testid': 'member-role-select' }, ...ROLES.map((value) => h('option', { value }, lx.text(`role.${value}`))));
    const from = h('input', { class: 'lang-input', 'data-testid': 'member-lang-from', placeholder: 'ru', maxlength: 16, autocomplete: 'off', spellcheck: 'false', list: languageSuggestions.id });
    const to = h('input', { class: 'lang-input', 'data-testid': 'member-lang-to', placeholder: 'en', maxlength: 16, autocomplete: 'off', spellcheck: 'false', list: languageSuggestions.id });
    const pairNames = h('span', { class: 'lang-names small', 'data-testid': 'member-lang-names' });
    const pairId = nextId('pair');
    const pairLabel = h('span', { class: 'pair-label small', id: pairId }, lx.text('org.member.pair'));
    const pairRow = h('div', { class: 'pair-row', role: 'group', 'aria-labelledby': pairId, hidden: true }, pairLabel, from, h('span', { class: 'pair-sep', 'aria-hidden': 'true', text: '↔' }), to, pairNames);
    const host = h('input', { type: 'checkbox', 'data-testid': 'member-host' });
    const hostLabel = h('label', { class: 'host-check small' }, host, h('span', null, lx.text('org.member.host')));
    const nameProblem = problemFor(name, 'member-name');
    const pairProblem = problemFor([from, to], 'member-languages');
    const remove = h(
      'button',
      {
        class: 'icon-button small',
        type: 'button',
        'data-testid': 'remove-member',
        onclick: () => {
          const i = party.members.indexOf(member);
          if (i < 0) return;
          party.members.splice(i, 1);
          rowEl.remove();
          renumber();
          revalidate();
          (party.members[Math.min(i, party.members.length - 1)]?.name ?? addMemberBtnOf(party))?.focus();
        },
      },
      icon('trash'),
    );
    /** @type {boolean} */
    let hostChosen = false;
    host.addEventListener('change', () => {
      hostChosen = host.checked;
    });
    const showPair = () => {
      // Principals always host the call; anyone else may be made a host.
      const principal = role.value === 'principal';
      host.checked = principal || hostChosen;
      host.disabled = principal;
      hostLabel.title = principal ? t('org.member.host_principal') : t('org.member.host_title');
      const interpreter = role.value === 'interpreter';
      pairRow.hidden = !interpreter;
      const a = from.value.trim();
      const b = to.value.trim();
      pairNames.textContent = isLanguageTag(a) && isLanguageTag(b) ? `${languageName(a)} ↔ ${languageName(b)}` : '';
    };
    role.addEventListener('change', () => {
      showPair();
      revalidate();
      if (role.value === 'interpreter' && !from.value) from.focus();
    });
    for (const el of [name, from, to]) {
      el.addEventListener('input', () => {
        showPair();
        revalidate();
      });
    }
    const rowEl = h('div', { class: 'member-row', 'data-testid': 'member-row' }, name, role, hostLabel, remove, nameProblem.el, pairRow, pairProblem.el);
    /** @type {MemberEditor} */
    const member = {
      root: rowEl,
      name,
      role,
      from,
      to,
      host,
      nameProblem,
      pairProblem,
      label: (p, m) => {
        const n = { party: p, member: m };
        name.setAttribute('aria-label', t('org.member.name_label', n));
        role.setAttribute('aria-label', t('org.member.role_label', n));
        from.setAttribute('aria-label', t('org.member.from_label', n));
        to.setAttribute('aria-label', t('org.member.to_label', n));
        host.setAttribute('aria-label', t('org.member.host_label', n));
        remove.setAttribute('aria-label', t('org.member.remove_label', n));
        remove.title = t('org.member.remove');
      },
    };
    party.members.push(member);
    membersOf(party).append(rowEl);
    lx.run(showPair);
    renumber();
    if (focus) name.focus();
  };

  /** @param {PartyEditor} party */
  const membersOf = (party) => /** @type {HTMLElement} */ (party.root.querySelector('.member-rows'));
  /** @param {PartyEditor} party */
  const addMemberBtnOf = (party) => /** @type {HTMLButtonElement | null} */ (party.root.querySelector('[data-testid=add-member]'));

  /** @param {boolean} focus */
  const addParty = (focus) => {
    if (parties.length >= MAX_PARTIES) return;
    const name = lx.attr(h('input', { 'data-testid': 'party-name-input', maxlength: MAX_TEXT, autocomplete: 'off' }), 'placeholder', 'org.party.name_placeholder');
    const zone = zonePicker(parties.length === 0 ? browserZone() : null, () => revalidate(), lx);
    zone.input.id = nextId('zone');
    const nameProblem = problemFor(name, 'party-name');
    const zoneProblem = problemFor(zone.input, 'party-zone');
    const heading = h('h3', { class: 'org-party-title' });
    const remove = h(
      'button',
      {
        class: 'icon-button small',
        type: 'button',
        'data-testid': 'remove-party',
        onclick: () => {
          const i = parties.indexOf(party);
          if (i < 0) return;
          parties.splice(i, 1);
          partyEl.remove();
          renumber();
          revalidate();
          (parties[Math.min(i, parties.length - 1)]?.name ?? addPartyBtn).focus();
        },
      },
      icon('trash'),
    );
    const memberRows = h('div', { class: 'member-rows' });
    const addMemberBtn = h('button', { class: 'link-button org-add-member', type: 'button', 'data-testid': 'add-member', onclick: () => addMember(party, true) }, icon('plus'), h('span', null, lx.text('org.party.add_member')));
    const partyEl = h(
      'div',
      { class: 'org-party', 'data-testid': 'party-editor', role: 'group' },
      h('div', { class: 'org-party-head' }, heading, h('span', { class: 'grow' }), remove),
      h('div', { class: 'org-party-fields' }, field(lx.text('org.party.name'), name, nameProblem), field(lx.text('org.party.zone'), zone.input, zoneProblem, { shown: zone.root })),
      h('div', { class: 'org-members-head' }, h('span', { class: 'org-label' }, lx.text('org.party.members')), h('span', { class: 'muted small' }, lx.text('org.party.members_note'))),
      memberRows,
      addMemberBtn,
    );
    name.addEventListener('input', () => revalidate());
    /** @type {PartyEditor} */
    const party = {
      root: partyEl,
      name,
      zone,
      members: [],
      nameProblem,
      zoneProblem,
      renumber: (n, total) => {
        heading.textContent = t('org.party.heading', { number: n });
        partyEl.setAttribute('aria-label', t('org.party.heading', { number: n }));
        name.setAttribute('aria-label', t('org.party.name_label', { number: n }));
        remove.setAttribute('aria-label', t('org.party.remove_label', { number: n }));
        remove.title = t('org.party.remove');
        remove.disabled = total <= 1;
        addMemberBtn.disabled = party.members.length >= MAX_MEMBERS;
        party.members.forEach((m, i) => m.label(n, i + 1));
      },
    };
    parties.push(party);
    partyList.append(partyEl);
    addMember(party, false);
    renumber();
    if (focus) name.focus();
  };

  const renumber = () => {
    parties.forEach((p, i) => p.renumber(i + 1, parties.length));
    addPartyBtn.disabled = parties.length >= MAX_PARTIES;
    partiesCount.textContent = parties.length >= MAX_PARTIES ? t('org.parties.most', { max: MAX_PARTIES }) : t('org.parties.range', { min: MIN_PARTIES, max: MAX_PARTIES });
  };

  // ------------------------------------------------------------ checking

  /**
   * Say what is wrong next to each field; the first field with a problem, or null.
   * @returns {HTMLElement | null}
   */
  const validate = () => {
    /** @type {HTMLElement | null} */
    let first = null;
    /** @param {Problem} problem @param {HTMLElement} control @param {string | null} message */
    const mark = (problem, control, message) => {
      problem.set(message);
      if (message && !first) first = control;
    };

    mark(titleProblem, titleInput, titleInput.value.trim() ? controlProblem(titleInput.value) : t('org.check.title'));

    const d = durationInput.value.trim();
    const minutes = Number(d);
    mark(
      durationProblem,
      durationInput,
      !d
        ? t('org.check.duration_missing')
        : !Number.isInteger(minutes) || minutes < MIN_DURATION || minutes > MAX_DURATION
          ? t('org.check.duration_range', { min: MIN_DURATION, max: MAX_DURATION })
          : null,
    );

    const tags = parseLanguages(languagesInput.value);
    const badTag = tags.find((t) => !isLanguageTag(t));
    const twice = tags.find((t, i) => tags.findIndex((u) => u.toLowerCase() === t.toLowerCase()) !== i);
    mark(
      languagesProblem,
      languagesInput,
      badTag ? notATag(badTag) : twice ? t('org.check.language_twice', { name: languageName(twice), tag: twice }) : tags.length > MAX_LANGUAGES ? t('org.check.languages_max', { max: MAX_LANGUAGES }) : null,
    );

    mark(partiesProblem, addPartyBtn, parties.length < MIN_PARTIES ? t('org.check.parties_min', { min: MIN_PARTIES, count: MIN_PARTIES - parties.length }) : null);

    /** @type {Map<string, number>} */
    const names = new Map();
    for (const p of parties) {
      const n = p.name.value.trim().toLowerCase();
      if (n) names.set(n, (names.get(n) ?? 0) + 1);
    }
    for (const p of parties) {
      const n = p.name.value.trim();
      mark(p.nameProblem, p.name, !n ? t('org.check.party_name') : (names.get(n.toLowerCase()) ?? 0) > 1 ? t('org.check.party_name_twice') : controlProblem(n));
      const zoneText = p.zone.text();
      mark(p.zoneProblem, p.zone.input, p.zone.value() ? null : zoneText ? t('org.check.zone_unknown', { text: zoneText }) : t('org.check.zone_missing'));
      for (const m of p.members) {
        mark(m.nameProblem, m.name, m.name.value.trim() ? controlProblem(m.name.value) : t('org.check.member_name'));
        /** @type {string | null} */
        let pair = null;
        if (m.role.value === 'interpreter') {
          const a = m.from.value.trim();
          const b = m.to.value.trim();
          const who = m.name.value.trim();
          if (!a || !b) pair = who ? t('org.check.pair_named', { name: who }) : t('org.check.pair');
          else if (!isLanguageTag(a)) pair = notATag(a);
          else if (!isLanguageTag(b)) pair = notATag(b);
          else if (a.toLowerCase() === b.toLowerCase()) pair = t('org.check.pair_same');
        }
        const fromOk = isLanguageTag(m.from.value.trim());
        mark(m.pairProblem, fromOk ? m.to : m.from, pair);
      }
    }
    return first;
  };

  const countProblems = () => form.querySelectorAll('[data-testid=field-error]:not([hidden])').length;

  const revalidate = () => {
    if (!attempted) return;
    validate();
    if (formProblem.dataset.kind === 'fields') {
      const n = countProblems();
      if (n === 0) setFormProblem(null);
      else setFormProblem(() => problemsText(n), 'fields');
    } else if (formProblem.dataset.kind === 'server') {
      setFormProblem(null); // the organizer is changing what the server refused
    }
  };

  /** @param {number} n */
  const problemsText = (n) => t('org.check.count', { count: n });

  const formProblem = h('div', { class: 'inline-problem org-form-problem', role: 'alert', 'data-testid': 'form-problem', hidden: true });
  /** What is wrong with the form as a whole, in words (asked again in another language). @type {(() => string) | null} */
  let formProblemText = null;
  const drawFormProblem = () => {
    const message = formProblemText?.() ?? '';
    formProblem.hidden = !message;
    formProblem.replaceChildren(...(message ? [icon('alert'), h('span', { text: message })] : []));
  };
  /** @param {(() => string) | null} message @param {'fields' | 'server' | 'credential' | 'network'} [kind] */
  const setFormProblem = (message, kind) => {
    formProblemText = message;
    formProblem.dataset.kind = message ? kind ?? 'fields' : '';
    drawFormProblem();
  };

  /** @returns {NewCall} */
  const collect = () => {
    const tags = parseLanguages(languagesInput.value);
    return {
      title: titleInput.value.trim(),
      duration_minutes: Number(durationInput.value.trim()),
      languages: tags,
      e2ee_required: e2eeInput.checked,
      parties: parties.map((p) => ({
        name: p.name.value.trim(),
        time_zone: /** @type {string} */ (p.zone.value()),
        members: p.members.map((m) => {
          const role = /** @type {Role} */ (m.role.value);
          /** @type {NewMember} */
          const member = role === 'interpreter' ? { name: m.name.value.trim(), role, languages: [m.from.value.trim(), m.to.value.trim()] } : { name: m.name.value.trim(), role };
          if (role !== 'principal' && m.host.checked) member.host = true;
          return member;
        }),
      })),
    };
  };

  // ------------------------------------------------------------ creating

  const createBtn = h('button', { class: 'primary org-create', type: 'submit', 'data-testid': 'create-call' });
  lx.run(() => {
    createBtn.textContent = busy ? t('org.creating') : t('org.create');
  });

  /** @param {boolean} b */
  const setBusy = (b) => {
    busy = b;
    createBtn.disabled = b;
    createBtn.textContent = b ? t('org.creating') : t('org.create');
    form.setAttribute('aria-busy', String(b));
  };

  const submit = async () => {
    if (busy) return;
    attempted = true;
    const first = validate();
    if (first) {
      const n = countProblems();
      setFormProblem(() => problemsText(n), 'fields');
      first.focus();
      first.scrollIntoView({ block: 'center' });
      return;
    }
    setFormProblem(null);
    setBusy(true);
    try {
      if (!token && cfg.dev && !(await mintDevToken())) {
        setFormProblem(() => t('org.fail.no_dev_cred'), 'credential');
        return;
      }
      if (!token) {
        setFormProblem(() => t('org.fail.no_cred'), 'credential');
        showCredCard(true);
        return;
      }
      const r = await createCall(token, collect());
      if (disposed) return;
      if (r.ok) {
        showCreated(r.data, collect());
        return;
      }
      const error = r.error;
      if (r.status === 401 || r.status === 403) {
        dropToken();
        const forbidden = r.status === 403;
        // The server's own words stay as it said them (in English).
        showCredCard(true, { refused: () => `${t(forbidden ? 'org.fail.not_organizer' : 'org.fail.refused', { error })} ${t(cfg.dev ? 'org.fail.paste_another_dev' : 'org.fail.paste_another')}` });
        setFormProblem(() => t('org.fail.cred_refused'), 'credential');
        return;
      }
      setFormProblem(r.fromServer ? () => t('org.fail.server', { error }) : () => error, r.fromServer ? 'server' : 'network');
    } finally {
      if (!disposed) setBusy(false);
    }
  };

  const form = h(
    'form',
    {
      class: 'org-form',
      'data-testid': 'organize-form',
      novalidate: true,
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        submit();
      },
    },
    sectionCard(
      { id: 'org-call', icon: 'calendar', title: lx.text('org.call.card'), testid: 'call-card' },
      field(lx.text('org.call.title'), titleInput, titleProblem),
      durationField,
      field(lx.text('org.call.languages'), languagesInput, languagesProblem, { extra: [h('div', { class: 'muted small org-hint' }, lx.text('org.call.languages_hint')), languagesNames] }),
      languageSuggestions,
      e2eeField,
    ),
    sectionCard(
      { id: 'org-parties', icon: 'users', title: lx.text('org.parties.card'), testid: 'parties-card' },
      h('p', { class: 'muted small pcard-sub' }, lx.text('org.parties.intro')),
      partyList,
      partiesProblem.el,
      h('div', { class: 'editor-actions' }, addPartyBtn, partiesCount),
    ),
    h('div', { class: 'org-submit' }, formProblem, h('div', { class: 'org-submit-row' }, h('p', { class: 'muted small' }, lx.text('org.send_note')), h('span', { class: 'grow' }), createBtn)),
  );

  // ------------------------------------------------------------ the page

  const hero = h(
    'section',
    { class: 'party-hero' },
    h('div', { class: 'hero-kicker' }, lx.text('org.kicker')),
    h('h1', { class: 'hero-title' }, lx.text('org.title')),
    h('p', { class: 'hero-note muted' }, lx.text('org.hero_note')),
  );
  const main = h('main', { class: 'party-main org-main' });
  const page = h('div', { class: 'party-page org-page', 'data-testid': 'organize-page' }, h('header', { class: 'party-top org-top' }, brand(), h('span', { class: 'grow' }), credStatus, languageMenu()), main);

  const showForm = () => {
    document.title = `${t('org.doc_title')} · Hotline`;
    showing = 'form';
    main.replaceChildren(hero, credCard, form);
    drawCredStatus();
  };

  const resetForm = () => {
    attempted = false;
    form.reset();
    durationInput.value = '60';
    syncDuration();
    for (const p of [...parties]) p.root.remove();
    parties.length = 0;
    addParty(false);
    addParty(false);
    showLanguageNames();
    for (const p of [titleProblem, durationProblem, languagesProblem, partiesProblem]) p.set(null);
    setFormProblem(null);
  };

  // ------------------------------------------------------------ created

  /**
   * What was created: each party's private link, and the public page.
   * @param {CreatedCall} created @param {NewCall} sent @param {boolean} [again]  drawn again (in another language): no scrolling, no focus
   */
  const showCreated = (created, sent, again = false) => {
    document.title = `${t('org.created_doc_title', { title: sent.title })} · Hotline`;
    showing = 'created';
    shownCreated = { created, sent };
    drawCredStatus();
    const url = (/** @type {string} */ path) => `${location.origin}${path}`;
    const partyItems = created.parties.map((p, i) => {
      const described = sent.parties[i];
      const members = described?.members ?? [];
      return h(
        'li',
        { class: 'org-link-item', 'data-testid': 'created-party', 'data-party-id': p.party_id },
        h(
          'div',
          { class: 'org-link-head' },
          h('span', { class: 'party-name', text: p.name }),
          described ? h('span', { class: 'muted small', text: `${described.time_zone} · ${offsetNow(described.time_zone)}` }) : null,
        ),
        members.length ? h('div', { class: 'muted small org-link-members', text: members.map((m) => `${m.name} (${roleLabel(m.role)}${m.languages ? `, ${m.languages.map(languageName).join(' ↔ ')}` : ''}${m.host ? `, ${t('org.created.host')}` : ''})`).join(', ') }) : null,
        linkRow(url(p.link), t('org.created.link_of', { name: p.name }), 'party-link'),
      );
    });
    main.replaceChildren(
      h(
        'section',
        { class: 'party-hero' },
        h('div', { class: 'hero-kicker', text: t('org.kicker') }),
        h('h1', { class: 'hero-title', 'data-testid': 'created-title', text: sent.title }),
        h(
          'div',
          { class: 'chips' },
          h('span', { class: 'chip' }, icon('clock'), h('span', { text: durationLong(sent.duration_minutes) })),
          sent.languages.length ? h('span', { class: 'chip' }, icon('globe'), h('span', { text: sent.languages.map(languageName).join(' · ') })) : null,
          sent.e2ee_required ? h('span', { class: 'chip secure' }, icon('lock'), h('span', { text: t('common.e2ee') })) : null,
        ),
      ),
      h(
        'section',
        { class: 'agreed-banner', 'data-testid': 'created', role: 'status' },
        h('div', { class: 'agreed-icon' }, icon('check')),
        h(
          'div',
          { class: 'agreed-text' },
          h('div', { class: 'agreed-when', text: t('org.created.title') }),
          h('p', { class: 'agreed-note', text: t('org.created.note', { count: created.parties.length }) }),
        ),
      ),
      sectionCard(
        { id: 'org-links', icon: 'link', title: t('org.created.links'), testid: 'party-links' },
        h('div', { class: 'org-warning', 'data-testid': 'links-note' }, icon('alert'), h('div', null, h('strong', { text: t('org.created.links_warning') }), h('div', { class: 'small', text: t('org.created.links_once') }))),
        h('ul', { class: 'org-links' }, ...partyItems),
      ),
      sectionCard(
        { id: 'org-public', icon: 'megaphone', title: t('org.created.public'), testid: 'public-card' },
        h('p', { class: 'muted small pcard-sub', text: t('org.created.public_note') }),
        linkRow(url(created.public_link), t('org.created.the_public_page'), 'public-link'),
      ),
      h(
        'div',
        { class: 'org-again' },
        h(
          'button',
          {
            class: 'secondary',
            type: 'button',
            'data-testid': 'plan-another',
            onclick: () => {
              resetForm();
              showForm();
              window.scrollTo(0, 0);
              titleInput.focus();
            },
          },
          icon('plus'),
          h('span', { text: t('org.created.another') }),
        ),
      ),
    );
    if (again) return;
    window.scrollTo(0, 0);
    /** @type {HTMLElement | null} */ (main.querySelector('[data-testid=copy-link]'))?.focus({ preventScroll: true });
  };

  // ------------------------------------------------------------ the language

  /** In the language just chosen: the page again, in place, with everything typed kept. */
  const onLocale = () => {
    lx.update();
    renumber();
    showLanguageNames();
    drawCredStatus();
    drawRefusal();
    credProblem.refresh();
    if (attempted) validate();
    drawFormProblem();
    if (showing === 'created' && shownCreated) showCreated(shownCreated.created, shownCreated.sent, true);
    else document.title = `${t('org.doc_title')} · Hotline`;
  };
  const offLocale = onLocaleChange(onLocale);

  // ------------------------------------------------------------ start

  resetForm();
  showForm();
  root.replaceChildren(page);
  drawCredStatus();
  if (!token) {
    if (cfg.dev) mintDevToken();
    else showCredCard(true, { focus: false });
  }
  titleInput.focus();

  return () => {
    disposed = true;
    offLocale();
  };
}

/**
 * A link in full, to open or copy.
 * @param {string} url @param {string} what  e.g. "the link of Moscow" @param {string} testid
 */
function linkRow(url, what, testid) {
  const anchor = h('a', { class: 'org-url', href: url, target: '_blank', rel: 'noopener noreferrer', 'data-testid': testid, text: url });
  const label = h('span', { text: t('org.copy') });
  const button = h('button', { class: 'secondary org-copy', type: 'button', 'data-testid': 'copy-link', 'aria-label': t('org.copy_label', { what }) }, icon('copy'), label);
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  button.addEventListener('click', async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      // No clipboard here: select the link, for the keyboard's copy.
      const range = document.createRange();
      range.selectNodeContents(anchor);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
    }
    button.replaceChildren(copied ? icon('check') : icon('copy'), h('span', { text: copied ? t('common.copied') : t('org.copy_selected') }));
    button.dataset.state = copied ? 'copied' : 'selected';
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      button.replaceChildren(icon('copy'), label);
      delete button.dataset.state;
    }, 2500);
  });
  return h('div', { class: 'org-link-row' }, anchor, button);
}

/**
 * POST /api/calls. Never throws: a failure becomes words.
 * @param {string} token @param {NewCall} call
 * @returns {Promise<{ok: true, status: number, data: CreatedCall} | {ok: false, status: number, error: string, fromServer: boolean}>}
 */
async function createCall(token, call) {
  const r = await api('POST', '/api/calls', call, token);
  if (r.ok && !(r.status === 201 && typeof r.data.call_id === 'string' && Array.isArray(r.data.parties))) {
    return { ok: false, status: r.status, error: serverTrouble(r.status), fromServer: false };
  }
  return r;
}
