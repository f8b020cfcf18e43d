// Small DOM helpers and icons for the app.

import { t, locale, locales, setLocale, formatLocale } from '../i18n/index.js';

/**
 * Create an element.
 * `attrs`: `class`, `text`, `html` (trusted constant markup only), `on<event>` handlers,
 * booleans (true -> empty attribute, false/null -> omitted), anything else -> attribute.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = String(v);
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'html') el.innerHTML = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  for (const c of children) {
    if (c == null || c === false) continue;
    el.append(c);
  }
  return el;
}

const ICONS = /** @type {Record<string, string>} */ ({
  lock: '<rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
  globe: '<circle cx="12" cy="12" r="9"/><path d="M3 12h18"/><path d="M12 3a14 14 0 0 1 0 18a14 14 0 0 1 0-18"/>',
  up: '<path d="m6 15 6-6 6 6"/>',
  down: '<path d="m6 9 6 6 6-6"/>',
  plus: '<path d="M12 5v14"/><path d="M5 12h14"/>',
  trash: '<path d="M4 7h16"/><path d="M10 11v6"/><path d="M14 11v6"/><path d="M6 7l1 13h10l1-13"/><path d="M9 7V4h6v3"/>',
  list: '<path d="M9 6h11"/><path d="M9 12h11"/><path d="M9 18h11"/><path d="M4 6h.01"/><path d="M4 12h.01"/><path d="M4 18h.01"/>',
  megaphone: '<path d="M3 11v2a1 1 0 0 0 1 1h2l5 4V6L6 10H4a1 1 0 0 0-1 1Z"/><path d="M15 8a5 5 0 0 1 0 8"/><path d="M18 5a9 9 0 0 1 0 14"/>',
  activity: '<path d="M3 12h4l3-8 4 16 3-8h4"/>',
  hourglass: '<path d="M6 3h12"/><path d="M6 21h12"/><path d="M7 3c0 5 10 5 10 9s-10 4-10 9"/><path d="M17 3c0 5-10 5-10 9s10 4 10 9"/>',
  key: '<circle cx="7.5" cy="15.5" r="4.5"/><path d="m10.7 12.3 9.3-9.3"/><path d="m16 7 3 3"/><path d="m19 4 2 2"/>',
  copy: '<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1"/>',
  external: '<path d="M15 3h6v6"/><path d="M10 14 21 3"/><path d="M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6"/>',
  mic: '<path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3Z"/><path d="M19 10v2a7 7 0 0 1-14 0v-2"/><path d="M12 19v3"/>',
  micOff: '<path d="M2 2l20 20"/><path d="M18.9 13.4A7 7 0 0 0 19 12v-2"/><path d="M5 10v2a7 7 0 0 0 11.7 5.2"/><path d="M15 9.3V5a3 3 0 0 0-5.7-1.3"/><path d="M9 9v3a3 3 0 0 0 5.1 2.1"/><path d="M12 19v3"/>',
  video: '<path d="m16 13 5.2 3.5a.5.5 0 0 0 .8-.4V7.9a.5.5 0 0 0-.8-.4L16 10.5"/><rect x="2" y="6" width="14" height="12" rx="2"/>',
  videoOff: '<path d="M2 2l20 20"/><path d="M10.7 6H14a2 2 0 0 1 2 2v3.3l1 1L22 8v8"/><path d="M16 16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2"/>',
  screen: '<rect x="2" y="3" width="20" height="14" rx="2"/><path d="M8 21h8"/><path d="M12 17v4"/><path d="m9 10 3-3 3 3"/><path d="M12 7v6"/>',
  screenOff: '<rect x="2" y="3" width="20" height="14" rx="2"/><path d="M8 21h8"/><path d="M12 17v4"/><path d="m9 7 6 6"/><path d="m15 7-6 6"/>',
  chat: '<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/>',
  leave: '<path d="M10.7 13.3a16 16 0 0 0 3.4 2.6l1.3-1.3a2 2 0 0 1 2.1-.4c.8.3 1.7.5 2.6.6a2 2 0 0 1 1.7 2v3a2 2 0 0 1-2.2 2A19.8 19.8 0 0 1 3 4.2 2 2 0 0 1 5 2h3a2 2 0 0 1 2 1.7c.1.9.3 1.8.6 2.6a2 2 0 0 1-.4 2.1L8.9 9.7"/><path d="M22 2 2 22"/>',
  settings: '<path d="M4 21v-7"/><path d="M4 10V3"/><path d="M12 21v-9"/><path d="M12 8V3"/><path d="M20 21v-5"/><path d="M20 12V3"/><path d="M1 14h6"/><path d="M9 8h6"/><path d="M17 16h6"/>',
  send: '<path d="m22 2-7 20-4-9-9-4Z"/><path d="M22 2 11 13"/>',
  close: '<path d="M18 6 6 18"/><path d="m6 6 12 12"/>',
  alert: '<circle cx="12" cy="12" r="10"/><path d="M12 8v4"/><path d="M12 16h.01"/>',
  users: '<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/><path d="M22 21v-2a4 4 0 0 0-3-3.9"/><path d="M16 3.1a4 4 0 0 1 0 7.8"/>',
  link: '<path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7"/><path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7"/>',
  check: '<path d="M20 6 9 17l-5-5"/>',
  calendar: '<rect x="3" y="4" width="18" height="18" rx="2"/><path d="M16 2v4"/><path d="M8 2v4"/><path d="M3 10h18"/>',
  speaker: '<path d="M11 5 6 9H2v6h4l5 4V5z"/><path d="M15.5 8.5a5 5 0 0 1 0 7"/><path d="M19 5a10 10 0 0 1 0 14"/>',
  signal: '<path d="M4 20v-3"/><path d="M9 20v-7"/><path d="M14 20V9" opacity="0.35"/><path d="M19 20V5" opacity="0.35"/>',
});

/**
 * An inline SVG icon.
 * @param {string} name
 * @param {string} [cls]
 * @returns {HTMLSpanElement}
 */
export function icon(name, cls = '') {
  const span = h('span', { class: `icon ${cls}`.trim(), 'aria-hidden': 'true' });
  span.innerHTML = `<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${ICONS[name] ?? ''}</svg>`;
  return span;
}

/**
 * Initials for an avatar: "Ada Lovelace" -> "AL".
 * @param {string} name
 * @returns {string}
 */
export function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  const first = Array.from(parts[0])[0] ?? '';
  const last = parts.length > 1 ? Array.from(parts[parts.length - 1])[0] ?? '' : '';
  return (first + last).toUpperCase();
}

/**
 * A stable pleasant color for a name.
 * @param {string} name
 * @returns {string}
 */
export function colorFor(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) | 0;
  const hue = Math.abs(hash) % 360;
  return `hsl(${hue} 45% 42%)`;
}

/** @param {number} ms */
export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString(formatLocale(), { hour: '2-digit', minute: '2-digit' });
}

/** The single error banner (created on demand, so there is at most one `[data-testid=error]`). */
/** @type {HTMLDivElement | null} */
let banner = null;

/**
 * Show a readable error banner at the top of the page.
 * @param {string} message
 * @param {{persistent?: boolean}} [opts]
 */
export function showError(message, opts = {}) {
  if (!banner) {
    banner = h('div', { class: 'error-banner', role: 'alert', 'data-testid': 'error' });
    document.body.append(banner);
  }
  banner.replaceChildren(
    icon('alert'),
    h('span', { class: 'error-text', text: message }),
    h('button', { class: 'icon-button small', 'aria-label': t('common.dismiss'), title: t('common.dismiss'), onclick: clearError }, icon('close')),
  );
  if (bannerTimer) clearTimeout(bannerTimer);
  bannerTimer = opts.persistent ? null : setTimeout(clearError, 12000);
}
/** @type {ReturnType<typeof setTimeout> | null} */
let bannerTimer = null;

export function clearError() {
  if (bannerTimer) clearTimeout(bannerTimer);
  bannerTimer = null;
  banner?.remove();
  banner = null;
}

/**
 * A short-lived notice ("Alice joined").
 * @param {string} message
 */
export function toast(message) {
  let host = document.querySelector('.toasts');
  if (!host) {
    host = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.append(host);
  }
  const t = h('div', { class: 'toast', text: message });
  host.append(t);
  setTimeout(() => t.classList.add('leaving'), 3200);
  setTimeout(() => t.remove(), 3600);
}

/** The Hotline mark, a link to the start page. */
export function brand() {
  return h('a', { class: 'brand', href: '/' }, h('span', { class: 'logo-dot' }), h('span', { text: 'Hotline' }));
}

/**
 * The language menu: a compact button ("EN ▾") opening the list of the languages, each by its own
 * name (English, Русский). Choosing one switches the client to it (setLocale): the pages listening
 * (onLocaleChange) show their text again; the menu relabels itself.
 * @returns {HTMLElement}
 */
export function languageMenu() {
  const button = h('button', { class: 'ui-lang-button', type: 'button', 'data-testid': 'ui-language-menu', 'aria-haspopup': 'menu', 'aria-expanded': 'false' });
  const list = h('div', { class: 'ui-lang-list', role: 'menu', 'data-testid': 'ui-language-list', hidden: true });
  const root = h('div', { class: 'ui-lang' }, button, list);
  const items = locales().map(({ tag, name }) =>
    h('button', {
      class: 'ui-lang-item',
      type: 'button',
      role: 'menuitemradio',
      lang: tag,
      'data-testid': 'ui-language-option',
      'data-locale': tag,
      text: name,
      onclick: () => choose(tag),
    }),
  );
  list.append(...items);

  const label = () => {
    const current = locales().find((l) => l.tag === locale());
    button.replaceChildren(icon('globe'), h('span', { class: 'ui-lang-code', text: locale().toUpperCase() }), h('span', { class: 'ui-lang-caret', 'aria-hidden': 'true', text: '▾' }));
    button.title = t('lang.label');
    button.setAttribute('aria-label', `${t('lang.label')}: ${current?.name ?? locale()}`);
    list.setAttribute('aria-label', t('lang.label'));
    for (const item of items) item.setAttribute('aria-checked', String(item.dataset.locale === locale()));
  };

  /** @param {MouseEvent | FocusEvent} e */
  const outside = (e) => {
    if (!root.contains(/** @type {Node | null} */ (e.target))) close(false);
  };
  /** @param {KeyboardEvent} e */
  const onKey = (e) => {
    const i = items.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    if (e.key === 'Escape') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? (i + 1) % items.length : (i - 1 + items.length) % items.length;
      items[next]?.focus();
    } else if (e.key === 'Tab') {
      close(false);
    }
  };
  const open = () => {
    list.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('mousedown', outside, true);
    document.addEventListener('focusin', outside, true);
    root.addEventListener('keydown', onKey);
    (items.find((item) => item.dataset.locale === locale()) ?? items[0])?.focus();
  };
  /** @param {boolean} focusButton */
  const close = (focusButton) => {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', outside, true);
    document.removeEventListener('focusin', outside, true);
    root.removeEventListener('keydown', onKey);
    if (focusButton) button.focus();
  };
  /** @param {string} tag */
  const choose = async (tag) => {
    close(true);
    await setLocale(tag);
    label();
    // A page drawn again has a new menu: the keyboard's focus goes to it.
    if (!root.isConnected) /** @type {HTMLElement | null} */ (document.querySelector('[data-testid=ui-language-menu]'))?.focus();
  };
  button.addEventListener('click', () => (list.hidden ? open() : close(false)));
  label();
  return root;
}

/** The head of a card page: the Hotline mark and the language menu. */
export function cardHead() {
  return h('div', { class: 'card-head' }, brand(), languageMenu());
}

/**
 * The claims of a signed token, without verifying them (only to show what it is: the server
 * verifies); null for anything that is not a token.
 * @param {string} token
 * @returns {{name?: string, room?: string, sub?: string, exp?: number, grants?: Record<string, boolean>} | null}
 */
export function decodeToken(token) {
  try {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const part = parts[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((part.length + 3) % 4);
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

