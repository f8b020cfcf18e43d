// A member's personal link, /join/KEY: the scheduled call in the member's own time zone, a
// calendar invitation, and the way in when the call opens (15 minutes before it starts).

import { h, icon, cardHead } from './ui.js';
import { t, tryT, formatLocale, onLocaleChange } from '../i18n/index.js';

/**
 * @typedef {{start: string, end: string, local: {party_id: string, start: string, end: string, zone: string}[]}} Slot
 * @typedef {{call: {id: string, title: string, duration_minutes: number, languages: string[], e2ee_required: boolean},
 *   name: string, role: string, party: string, time_zone: string, agreed: Slot | null,
 *   join_opens: string | null, join_closes: string | null}} MemberView
 */

/**
 * A time in `zone`, e.g. "Thursday, December 3 at 09:30 EST", in the page's language.
 * @param {string} iso @param {string} zone
 */
export function inZone(iso, zone) {
  return new Intl.DateTimeFormat(formatLocale(), { timeZone: zone, weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).format(new Date(iso));
}

/**
 * Shows the page of the personal link `key` in `root`.
 * @param {HTMLElement} root @param {string} key
 * @returns {() => void}  stops the page (its timer)
 */
export function showJoinPage(root, key) {
  const card = h('div', { class: 'card narrow invite-card', 'data-testid': 'join-page' });
  root.replaceChildren(h('div', { class: 'center-page' }, card));
  const api = `/api/members/${encodeURIComponent(key)}`;
  /** @type {MemberView | null} */
  let view = null;
  /** What the page shows while it has no view: loading, offline, or the server's refusal. @type {{state: 'loading' | 'offline' | 'refused', error?: string}} */
  let problem = { state: 'loading' };
  /** The note under the button: a key of ours, or the server's words. @type {{key?: 'join.opening' | 'join.open_failed' | 'join.unreachable', said?: string} | null} */
  let message = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  let busy = false;
  let disposed = false;

  const joinButton = /** @type {HTMLButtonElement} */ (h('button', { class: 'primary big', 'data-testid': 'join-button' }));
  const status = h('p', { class: 'invite-status', 'data-testid': 'join-status' });
  const messageEl = h('p', { class: 'muted', role: 'status', 'data-testid': 'join-message' });

  const draw = () => {
    if (!view) {
      if (problem.state === 'loading') card.replaceChildren(cardHead(), h('p', { class: 'muted', text: t('join.loading') }));
      else if (problem.state === 'offline') card.replaceChildren(cardHead(), h('h1', { text: t('join.offline.title') }), h('p', { class: 'muted', text: t('join.offline.text') }));
      else card.replaceChildren(cardHead(), h('h1', { text: t('join.bad_link.title') }), h('p', { class: 'muted', 'data-testid': 'join-error', text: problem.error ?? t('join.bad_link.text') }));
      return;
    }
    const v = view;
    const zone = v.time_zone;
    joinButton.textContent = t('join.button');
    const when = v.agreed
      ? h(
          'div',
          { class: 'invite-when' },
          icon('calendar'),
          h('div', null, h('div', { class: 'invite-time', 'data-testid': 'join-time', text: inZone(v.agreed.start, zone) }), h('div', { class: 'muted', text: `${t('duration.minutes', { count: v.call.duration_minutes })} · ${t('join.your_zone', { zone })}` })),
        )
      : h('p', { class: 'muted', 'data-testid': 'join-time', text: t('join.no_time') });
    const role = tryT(`role.${v.role}`) ?? v.role;
    /** @type {(Node | string)[]} */
    const parts = [
      cardHead(),
      h('h1', { 'data-testid': 'join-title', text: v.call.title }),
      h('p', { class: 'muted', text: `${v.name} · ${role} · ${v.party}${v.call.e2ee_required ? ` · ${t('join.e2ee')}` : ''}` }),
      when,
      status,
      h('div', { class: 'actions' }, joinButton),
      messageEl,
    ];
    if (v.agreed) parts.push(h('a', { class: 'secondary invite-calendar', href: `${api}/invite.ics`, download: 'call.ics', 'data-testid': 'calendar-link' }, t('join.calendar')));
    card.replaceChildren(...parts);
    refresh();
    showMessage();
  };

  const showMessage = () => {
    messageEl.textContent = message ? message.said ?? (message.key ? t(message.key) : '') : '';
  };

  /** Enables the button while the call is open, and says when it opens. */
  const refresh = () => {
    if (!view) return;
    const now = Date.now();
    const opens = view.join_opens ? Date.parse(view.join_opens) : null;
    const closes = view.join_closes ? Date.parse(view.join_closes) : null;
    if (opens === null || closes === null) {
      joinButton.disabled = true;
      status.textContent = '';
    } else if (now < opens) {
      joinButton.disabled = true;
      status.textContent = t('join.opens', { time: inZone(view.join_opens ?? '', view.time_zone) });
    } else if (now >= closes) {
      joinButton.disabled = true;
      status.textContent = t('join.ended');
    } else {
      joinButton.disabled = busy;
      status.textContent = t('join.open');
    }
  };

  joinButton.addEventListener('click', async () => {
    if (!view) return;
    const title = view.call.title;
    busy = true;
    joinButton.disabled = true;
    message = { key: 'join.opening' };
    showMessage();
    try {
      const r = await fetch(`${api}/token`, { method: 'POST' });
      const body = await r.json().catch(() => null);
      if (!r.ok) {
        message = typeof body?.error === 'string' ? { said: body.error } : { key: 'join.open_failed' };
        return;
      }
      stop();
      // The room page shows the call's title (e.g. while waiting in the lobby) instead of the room's name.
      try {
        sessionStorage.setItem(`hotline:title:${body.room}`, title);
      } catch {
        // Storage refused: the room's name is shown instead.
      }
      // The room page takes the token from the address and removes it at once.
      location.assign(`/room/${encodeURIComponent(body.room)}?token=${encodeURIComponent(body.token)}`);
    } catch {
      message = { key: 'join.unreachable' };
    } finally {
      busy = false;
      if (!disposed) {
        showMessage();
        refresh();
      }
    }
  });

  const offLocale = onLocaleChange(draw);
  const stop = () => {
    disposed = true;
    if (timer) clearInterval(timer);
    timer = null;
    offLocale();
  };

  (async () => {
    draw();
    /** @type {Response} */
    let response;
    try {
      response = await fetch(api, { cache: 'no-store' });
    } catch {
      if (disposed) return;
      problem = { state: 'offline' };
      draw();
      return;
    }
    if (disposed) return;
    if (!response.ok) {
      const said = await response.json().catch(() => null);
      if (disposed) return;
      problem = { state: 'refused', error: typeof said?.error === 'string' ? said.error : undefined };
      draw();
      return;
    }
    /** @type {MemberView} */
    const v = await response.json();
    if (disposed) return;
    view = v;
    document.title = `${v.call.title} · Hotline`;
    draw();
    timer = setInterval(refresh, 15000);
  })();

  return stop;
}
