// Scheduled calls (docs/scheduling.md): the organizer's page (/schedule). It
// describes a call (title, duration, languages, encryption, the parties with
// their time zones and members), creates it (POST /api/calls with an
// organizer's credential), and hands out each party's private link.

import { h, icon, clearError, brand, decodeToken } from './ui.js';
import { api, serverTrouble, pad2, partsIn, offsetLabel, languageName, durationLong, sectionCard } from './schedule-common.js';

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
/** @type {[Role, string][]} */
const ROLES = [
  ['principal', 'Principal'],
  ['adviser', 'Adviser'],
  ['interpreter', 'Interpreter'],
  ['note_taker', 'Note-taker'],
  ['observer', 'Observer'],
];

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
const controlProblem = (text) => (/[\u0000-\u001f\u007f-\u009f]/.test(text.trim()) ? 'This has a character that cannot be shown, such as a tab: remove it.' : null);

/** @param {string} tag */
const notATag = (tag) => `“${tag}” is not a language tag like en, ru or pt-BR.`;

/** @param {number} unixSeconds */
const dateText = (unixSeconds) => new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(unixSeconds * 1000));


/** "1 h 30", for the duration buttons. @param {number} minutes */
function durationText(minutes) {
  const hrs = Math.floor(minutes / 60);
  const min = minutes % 60;
  if (!hrs) return `${min} min`;
  return min ? `${hrs} h ${min}` : `${hrs} h`;
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

/** @typedef {{el: HTMLElement, set: (message: string | null) => void, message: () => string | null}} Problem */

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
  return {
    el,
    message: () => current,
    set: (message) => {
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
    },
  };
}

/**
 * A labelled field: its label, what is shown (the control, or what holds it), hints, and its problem.
 * @param {string} label @param {HTMLElement} control  the label's @param {Problem} problem
 * @param {{shown?: HTMLElement, extra?: (Node | null)[]}} [o]
 */
function field(label, control, problem, o = {}) {
  if (!control.id) control.id = nextId('input');
  return h('div', { class: 'field org-field' }, h('label', { class: 'org-label', for: control.id, text: label }), o.shown ?? control, ...(o.extra ?? []), problem.el);
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
 * @returns {ZonePicker}
 */
function zonePicker(initial, onChange) {
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
    placeholder: 'Type a city, e.g. Moscow',
    value: initial ?? '',
  });
  const list = h('ul', { class: 'zone-list', id: listId, role: 'listbox', 'aria-label': 'Time zones', 'data-testid': 'zone-list', hidden: true });
  const hint = h('div', { class: 'zone-hint muted small', 'data-testid': 'zone-hint' });

  const showHint = () => {
    hint.replaceChildren();
    if (chosen) hint.append(icon('clock'), h('span', { text: `${offsetNow(chosen)} · ${clockIn(chosen)} there now` }));
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
    if (shown.length === 0) list.append(h('li', { class: 'zone-empty', text: 'No time zone matches. Try a large city nearby, e.g. Berlin or Tokyo.' }));
    else if (all.length > shown.length) list.append(h('li', { class: 'zone-more', text: browsing ? 'Type a city or region to find another zone.' : `${all.length - shown.length} more: type to narrow the list.` }));
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
  showHint();

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
  document.title = 'Plan a scheduled call · Hotline';
  let disposed = false;
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

  const credStatus = h('div', { class: 'party-status org-cred-status', 'data-testid': 'credential-status', 'aria-live': 'polite' });
  const credInput = h('textarea', {
    class: 'cred-input',
    'data-testid': 'credential-input',
    rows: 3,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'eyJ…  (the whole line the command printed)',
  });
  const credProblem = problemFor(credInput, 'credential');
  const credRefusal = h('div', { class: 'inline-problem', role: 'alert', 'data-testid': 'credential-refused', hidden: true });
  const credCancel = h('button', { class: 'secondary', type: 'button', text: 'Cancel', onclick: () => showCredCard(false) });
  const devMintBtn = cfg.dev
    ? h('button', { class: 'secondary', type: 'button', 'data-testid': 'credential-dev', onclick: () => mintDevToken(true) }, icon('key'), h('span', { text: 'Use a development credential' }))
    : null;
  const credCard = sectionCard(
    { id: 'org-credential', icon: 'key', title: 'Organizer’s credential', testid: 'credential-card' },
    h(
      'p',
      { class: 'muted small pcard-sub' },
      'Creating a call needs an organizer’s credential. Whoever runs this Hotline server makes one by running this on the server, with your name for NAME:',
    ),
    h('pre', { class: 'org-command', 'data-testid': 'credential-command' }, h('code', { text: TOKEN_COMMAND })),
    h('p', { class: 'muted small', text: 'It prints one long line: paste all of it here. It stays in this browser tab only, and is forgotten when you close the tab.' }),
    credRefusal,
    field('Credential', credInput, credProblem),
    h(
      'div',
      { class: 'editor-actions' },
      h('button', { class: 'primary', type: 'button', 'data-testid': 'credential-save', text: 'Use this credential', onclick: () => saveCredential() }),
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
      credStatus.replaceChildren(h('span', { class: 'spinner-sm', 'aria-hidden': 'true' }), h('span', { text: 'Getting a credential…' }));
    } else if (token) {
      credStatus.dataset.state = 'held';
      const who = claims?.name || claims?.sub || 'organizer';
      credStatus.replaceChildren(
        h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
        h('span', { text: `Organizer: ${who}`, title: claims?.exp ? `Credential valid until ${dateText(claims.exp)}` : '' }),
      );
      if (showing === 'form') credStatus.append(h('button', { class: 'link-button org-cred-change', type: 'button', 'data-testid': 'credential-change', text: 'Use another', onclick: () => showCredCard(true) }));
    } else {
      credStatus.dataset.state = 'none';
      credStatus.replaceChildren(icon('alert'), h('span', { text: 'No organizer’s credential yet' }));
    }
    credCancel.hidden = !token;
  };

  /** @param {boolean} show @param {{refused?: string, focus?: boolean}} [o] */
  const showCredCard = (show, o = {}) => {
    credCard.hidden = !show;
    credRefusal.hidden = !o.refused;
    credRefusal.replaceChildren(icon('alert'), h('span', { text: o.refused ?? '' }));
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
    const t = credInput.value.trim().replace(/^Bearer\s+/i, '').replace(/\s+/g, '');
    if (!t) {
      credProblem.set('Paste the credential first.');
      credInput.focus();
      return;
    }
    const claims = /** @type {Claims | null} */ (decodeToken(t));
    if (!claims) {
      credProblem.set('This is not a Hotline credential: it is one long line of letters and digits with two dots, as the command prints it. Paste all of it.');
    } else if (!claims.grants?.organize || claims.room !== ORGANIZER_ROOM) {
      credProblem.set('This is an invitation to a call, not an organizer’s credential. Make one with the command above (with --organizer).');
    } else if (claims.exp && claims.exp * 1000 < Date.now()) {
      credProblem.set(`This credential expired on ${dateText(claims.exp)}. Make a new one with the command above.`);
    } else {
      credProblem.set(null);
      keepToken(t);
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
      showCredCard(true, { refused: 'The server did not give a development credential. Is it still running in development mode? You can paste a credential instead.', focus: fromButton });
      return false;
    }
  };

  // ------------------------------------------------------------ the call

  const titleInput = h('input', { 'data-testid': 'call-title-input', maxlength: MAX_TEXT, placeholder: 'e.g. Strategic stability talks', autocomplete: 'off' });
  const titleProblem = problemFor(titleInput, 'title');

  const durationInput = h('input', { type: 'number', 'data-testid': 'duration-input', min: MIN_DURATION, max: MAX_DURATION, step: 5, value: 60, inputmode: 'numeric', 'aria-label': 'Duration in minutes' });
  const durationProblem = problemFor(durationInput, 'duration');
  const durationButtons = DURATIONS.map((m) =>
    h('button', {
      class: 'seg',
      type: 'button',
      'data-testid': 'duration-option',
      'data-minutes': m,
      'aria-pressed': 'false',
      text: durationText(m),
      onclick: () => {
        durationInput.value = String(m);
        syncDuration();
        revalidate();
      },
    }),
  );
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
    h('span', { class: 'org-label', id: durationId, text: 'Duration' }),
    h('div', { class: 'duration-row' }, h('div', { class: 'segments' }, ...durationButtons), h('label', { class: 'duration-other' }, h('span', { class: 'muted small', text: 'or' }), durationInput, h('span', { class: 'muted small', text: 'minutes' }))),
    durationProblem.el,
  );

  const languagesInput = h('input', { 'data-testid': 'languages-input', placeholder: 'e.g. ru, en', autocomplete: 'off', spellcheck: 'false' });
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
    h('span', { class: 'org-check-text' }, h('span', { class: 'org-check-title' }, icon('lock'), h('span', { text: 'End-to-end encryption required' })), h('span', { class: 'muted small', text: 'Only the participants can see and hear the call: not even the server can.' })),
  );

  // ------------------------------------------------------------ the parties

  /** @type {PartyEditor[]} */
  const parties = [];
  const partyList = h('div', { class: 'org-parties' });
  const partiesProblem = problemFor(partyList, 'parties');
  const addPartyBtn = h('button', { class: 'secondary org-add', type: 'button', 'data-testid': 'add-party', onclick: () => addParty(true) }, icon('plus'), h('span', { text: 'Add a party' }));
  const partiesCount = h('span', { class: 'muted small', 'data-testid': 'parties-count' });

  /**
   * @param {PartyEditor} party
   * @param {boolean} focus
   */
  const addMember = (party, focus) => {
    const name = h('input', { 'data-testid': 'member-name-input', maxlength: MAX_TEXT, placeholder: 'Name', autocomplete: 'off' });
    const role = h('select', { 'data-testid': 'member-role-select' }, ...ROLES.map(([value, label]) => h('option', { value, text: label })));
    const from = h('input', { class: 'lang-input', 'data-testid': 'member-lang-from', placeholder: 'ru', maxlength: 16, autocomplete: 'off', spellcheck: 'false', list: languageSuggestions.id });
    const to = h('input', { class: 'lang-input', 'data-testid': 'member-lang-to', placeholder: 'en', maxlength: 16, autocomplete: 'off', spellcheck: 'false', list: languageSuggestions.id });
    const pairNames = h('span', { class: 'lang-names small', 'data-testid': 'member-lang-names' });
    const pairId = nextId('pair');
    const pairLabel = h('span', { class: 'pair-label small', id: pairId, text: 'Interprets between' });
    const pairRow = h('div', { class: 'pair-row', role: 'group', 'aria-labelledby': pairId, hidden: true }, pairLabel, from, h('span', { class: 'pair-sep', 'aria-hidden': 'true', text: '↔' }), to, pairNames);
    const host = h('input', { type: 'checkbox', 'data-testid': 'member-host' });
    const hostLabel = h('label', { class: 'host-check small' }, host, h('span', { text: 'Host' }));
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
      hostLabel.title = principal ? 'Principals always host the call.' : 'A host lets members in from the lobby, and can mute, remove and lock.';
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
        name.setAttribute('aria-label', `Party ${p}, member ${m}: name`);
        role.setAttribute('aria-label', `Party ${p}, member ${m}: role`);
        from.setAttribute('aria-label', `Party ${p}, member ${m}: first language`);
        to.setAttribute('aria-label', `Party ${p}, member ${m}: second language`);
        host.setAttribute('aria-label', `Party ${p}, member ${m}: host of the call`);
        remove.setAttribute('aria-label', `Remove member ${m} of party ${p}`);
        remove.title = 'Remove this member';
      },
    };
    party.members.push(member);
    membersOf(party).append(rowEl);
    showPair();
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
    const name = h('input', { 'data-testid': 'party-name-input', maxlength: MAX_TEXT, placeholder: 'e.g. Moscow', autocomplete: 'off' });
    const zone = zonePicker(parties.length === 0 ? browserZone() : null, () => revalidate());
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
        title: 'Remove this party',
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
    const addMemberBtn = h('button', { class: 'link-button org-add-member', type: 'button', 'data-testid': 'add-member', onclick: () => addMember(party, true) }, icon('plus'), h('span', { text: 'Add a member' }));
    const partyEl = h(
      'div',
      { class: 'org-party', 'data-testid': 'party-editor', role: 'group', 'aria-label': 'Party' },
      h('div', { class: 'org-party-head' }, heading, h('span', { class: 'grow' }), remove),
      h('div', { class: 'org-party-fields' }, field('Name', name, nameProblem), field('Time zone', zone.input, zoneProblem, { shown: zone.root })),
      h('div', { class: 'org-members-head' }, h('span', { class: 'org-label', text: 'Members' }), h('span', { class: 'muted small', text: 'Who takes part for this party. Each gets a personal link later, from the party’s page.' })),
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
        heading.textContent = `Party ${n}`;
        partyEl.setAttribute('aria-label', `Party ${n}`);
        name.setAttribute('aria-label', `Party ${n}: name`);
        remove.setAttribute('aria-label', `Remove party ${n}`);
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
    partiesCount.textContent = parties.length >= MAX_PARTIES ? `${MAX_PARTIES} parties: the most a call can have.` : `A call has ${MIN_PARTIES} to ${MAX_PARTIES} parties.`;
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

    mark(titleProblem, titleInput, titleInput.value.trim() ? controlProblem(titleInput.value) : 'Give the call a title: the parties and the public page show it.');

    const d = durationInput.value.trim();
    const minutes = Number(d);
    mark(
      durationProblem,
      durationInput,
      !d
        ? 'Choose how long the call lasts.'
        : !Number.isInteger(minutes) || minutes < MIN_DURATION || minutes > MAX_DURATION
          ? `The duration is a whole number of minutes, from ${MIN_DURATION} to ${MAX_DURATION} (8 hours).`
          : null,
    );

    const tags = parseLanguages(languagesInput.value);
    const badTag = tags.find((t) => !isLanguageTag(t));
    const twice = tags.find((t, i) => tags.findIndex((u) => u.toLowerCase() === t.toLowerCase()) !== i);
    mark(
      languagesProblem,
      languagesInput,
      badTag ? notATag(badTag) : twice ? `${languageName(twice)} (${twice}) is listed twice.` : tags.length > MAX_LANGUAGES ? `At most ${MAX_LANGUAGES} languages.` : null,
    );

    mark(partiesProblem, addPartyBtn, parties.length < MIN_PARTIES ? `A call needs at least ${MIN_PARTIES} parties: add ${MIN_PARTIES - parties.length === 1 ? 'another' : 'them'}.` : null);

    /** @type {Map<string, number>} */
    const names = new Map();
    for (const p of parties) {
      const n = p.name.value.trim().toLowerCase();
      if (n) names.set(n, (names.get(n) ?? 0) + 1);
    }
    for (const p of parties) {
      const n = p.name.value.trim();
      mark(p.nameProblem, p.name, !n ? 'Name the party, e.g. a country, a city or an organisation.' : (names.get(n.toLowerCase()) ?? 0) > 1 ? 'Another party has this name: give each its own.' : controlProblem(n));
      const zoneText = p.zone.text();
      mark(p.zoneProblem, p.zone.input, p.zone.value() ? null : zoneText ? `“${zoneText}” is not a time zone: choose one from the list (type a city, e.g. Moscow).` : 'Choose the party’s time zone: type a city and pick it from the list.');
      for (const m of p.members) {
        mark(m.nameProblem, m.name, m.name.value.trim() ? controlProblem(m.name.value) : 'Enter the member’s name, or remove this row.');
        /** @type {string | null} */
        let pair = null;
        if (m.role.value === 'interpreter') {
          const a = m.from.value.trim();
          const b = m.to.value.trim();
          if (!a || !b) pair = `An interpreter needs a language pair: the two languages ${m.name.value.trim() || 'they'} interpret${m.name.value.trim() ? 's' : ''} between, e.g. ru and en.`;
          else if (!isLanguageTag(a)) pair = notATag(a);
          else if (!isLanguageTag(b)) pair = notATag(b);
          else if (a.toLowerCase() === b.toLowerCase()) pair = 'The two languages of the pair must differ.';
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
      else setFormProblem(problemsText(n), 'fields');
    } else if (formProblem.dataset.kind === 'server') {
      setFormProblem(null); // the organizer is changing what the server refused
    }
  };

  /** @param {number} n */
  const problemsText = (n) => (n === 1 ? 'One field needs attention: see the note in red above.' : `${n} fields need attention: see the notes in red above.`);

  const formProblem = h('div', { class: 'inline-problem org-form-problem', role: 'alert', 'data-testid': 'form-problem', hidden: true });
  /** @param {string | null} message @param {'fields' | 'server' | 'credential' | 'network'} [kind] */
  const setFormProblem = (message, kind) => {
    formProblem.hidden = !message;
    formProblem.dataset.kind = message ? kind ?? 'fields' : '';
    formProblem.replaceChildren(...(message ? [icon('alert'), h('span', { text: message })] : []));
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

  const createBtn = h('button', { class: 'primary org-create', type: 'submit', 'data-testid': 'create-call', text: 'Create the call' });

  /** @param {boolean} b */
  const setBusy = (b) => {
    busy = b;
    createBtn.disabled = b;
    createBtn.textContent = b ? 'Creating…' : 'Create the call';
    form.setAttribute('aria-busy', String(b));
  };

  const submit = async () => {
    if (busy) return;
    attempted = true;
    const first = validate();
    if (first) {
      setFormProblem(problemsText(countProblems()), 'fields');
      first.focus();
      first.scrollIntoView({ block: 'center' });
      return;
    }
    setFormProblem(null);
    setBusy(true);
    try {
      if (!token && cfg.dev && !(await mintDevToken())) {
        setFormProblem('There is no organizer’s credential to create the call with: see above.', 'credential');
        return;
      }
      if (!token) {
        setFormProblem('Creating a call needs an organizer’s credential: paste one above, then create the call again.', 'credential');
        showCredCard(true);
        return;
      }
      const r = await createCall(token, collect());
      if (disposed) return;
      if (r.ok) {
        showCreated(r.data, collect());
        return;
      }
      if (r.status === 401 || r.status === 403) {
        dropToken();
        const refused =
          r.status === 403
            ? `This credential is not an organizer’s: it cannot create calls. (The server said: ${r.error})`
            : `The server did not accept the credential: it is missing, has expired, or was made for another server. (The server said: ${r.error})`;
        showCredCard(true, { refused: `${refused} Paste another below${cfg.dev ? ', or use a development credential' : ''}.` });
        setFormProblem('The call was not created: the credential was refused. Your form is kept; create the call again once you have another credential.', 'credential');
        return;
      }
      setFormProblem(r.fromServer ? `The server refused the call: ${r.error}` : r.error, r.fromServer ? 'server' : 'network');
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
      { id: 'org-call', icon: 'calendar', title: 'The call', testid: 'call-card' },
      field('Title', titleInput, titleProblem),
      durationField,
      field('Languages', languagesInput, languagesProblem, { extra: [h('div', { class: 'muted small org-hint', text: 'Language tags, separated by commas: ru, en, fr, pt-BR. Optional.' }), languagesNames] }),
      languageSuggestions,
      e2eeField,
    ),
    sectionCard(
      { id: 'org-parties', icon: 'users', title: 'Parties', testid: 'parties-card' },
      h('p', { class: 'muted small pcard-sub', text: 'The delegations taking part. Each gets a private link to its own page, where it says when it can in its own time zone; Hotline finds the times that suit every party.' }),
      partyList,
      partiesProblem.el,
      h('div', { class: 'editor-actions' }, addPartyBtn, partiesCount),
    ),
    h('div', { class: 'org-submit' }, formProblem, h('div', { class: 'org-submit-row' }, h('p', { class: 'muted small', text: 'Nothing is sent to anyone: you hand each party its link yourself.' }), h('span', { class: 'grow' }), createBtn)),
  );

  // ------------------------------------------------------------ the page

  const hero = h(
    'section',
    { class: 'party-hero' },
    h('div', { class: 'hero-kicker', text: 'Scheduled call · organizer' }),
    h('h1', { class: 'hero-title', text: 'Plan a scheduled call' }),
    h('p', { class: 'hero-note muted', text: 'Describe the call and who takes part. Each party gets a private link: there it says when it can, in its own time, and the parties agree a time and an agenda. No party sees when the others are free.' }),
  );
  const main = h('main', { class: 'party-main org-main' });
  const page = h('div', { class: 'party-page org-page', 'data-testid': 'organize-page' }, h('header', { class: 'party-top org-top' }, brand(), credStatus), main);

  const showForm = () => {
    document.title = 'Plan a scheduled call · Hotline';
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
   * @param {CreatedCall} created @param {NewCall} sent
   */
  const showCreated = (created, sent) => {
    document.title = `Call created: ${sent.title} · Hotline`;
    showing = 'created';
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
        members.length ? h('div', { class: 'muted small org-link-members', text: members.map((m) => `${m.name} (${ROLES.find(([r]) => r === m.role)?.[1] ?? m.role}${m.languages ? `, ${m.languages.map(languageName).join(' ↔ ')}` : ''}${m.host ? ', host' : ''})`).join(', ') }) : null,
        linkRow(url(p.link), `the link of ${p.name}`, 'party-link'),
      );
    });
    main.replaceChildren(
      h(
        'section',
        { class: 'party-hero' },
        h('div', { class: 'hero-kicker', text: 'Scheduled call · organizer' }),
        h('h1', { class: 'hero-title', 'data-testid': 'created-title', text: sent.title }),
        h(
          'div',
          { class: 'chips' },
          h('span', { class: 'chip' }, icon('clock'), h('span', { text: durationLong(sent.duration_minutes) })),
          sent.languages.length ? h('span', { class: 'chip' }, icon('globe'), h('span', { text: sent.languages.map(languageName).join(' · ') })) : null,
          sent.e2ee_required ? h('span', { class: 'chip secure' }, icon('lock'), h('span', { text: 'End-to-end encrypted' })) : null,
        ),
      ),
      h(
        'section',
        { class: 'agreed-banner', 'data-testid': 'created', role: 'status' },
        h('div', { class: 'agreed-icon' }, icon('check')),
        h(
          'div',
          { class: 'agreed-text' },
          h('div', { class: 'agreed-when', text: 'Call created' }),
          h('p', { class: 'agreed-note', text: `Now send each of the ${created.parties.length} parties its private link. On its page each says when it can; once all have, they see the times that suit everyone and agree one, and the agenda.` }),
        ),
      ),
      sectionCard(
        { id: 'org-links', icon: 'link', title: 'The parties’ private links', testid: 'party-links' },
        h('div', { class: 'org-warning', 'data-testid': 'links-note' }, icon('alert'), h('div', null, h('strong', { text: 'Send each party only its own link: whoever has it speaks for that party.' }), h('div', { class: 'small', text: 'Copy them now: they are shown only this once, as the server keeps no copy it could show again.' }))),
        h('ul', { class: 'org-links' }, ...partyItems),
      ),
      sectionCard(
        { id: 'org-public', icon: 'megaphone', title: 'The public page', testid: 'public-card' },
        h('p', { class: 'muted small pcard-sub', text: 'Anyone may open it. It shows the title and that a call is planned, and the time only once every party has approved announcing it.' }),
        linkRow(url(created.public_link), 'the public page', 'public-link'),
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
          h('span', { text: 'Plan another call' }),
        ),
      ),
    );
    window.scrollTo(0, 0);
    /** @type {HTMLElement | null} */ (main.querySelector('[data-testid=copy-link]'))?.focus({ preventScroll: true });
  };

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
  };
}

/**
 * A link in full, to open or copy.
 * @param {string} url @param {string} what  e.g. "the link of Moscow" @param {string} testid
 */
function linkRow(url, what, testid) {
  const anchor = h('a', { class: 'org-url', href: url, target: '_blank', rel: 'noopener noreferrer', 'data-testid': testid, text: url });
  const label = h('span', { text: 'Copy' });
  const button = h('button', { class: 'secondary org-copy', type: 'button', 'data-testid': 'copy-link', 'aria-label': `Copy ${what}` }, icon('copy'), label);
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
    button.replaceChildren(copied ? icon('check') : icon('copy'), h('span', { text: copied ? 'Copied' : 'Selected: press Ctrl+C' }));
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
