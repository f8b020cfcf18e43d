// A member's personal link, /join/KEY: the scheduled call in the member's own time zone, a
// calendar invitation, and the way in when the call opens (15 minutes before it starts).

import { h, icon, brand } from './ui.js';

/**
 * @typedef {{start: string, end: string, local: {party_id: string, start: string, end: string, zone: string}[]}} Slot
 * @typedef {{call: {id: string, title: string, duration_minutes: number, languages: string[], e2ee_required: boolean},
 *   name: string, role: string, party: string, time_zone: string, agreed: Slot | null,
 *   join_opens: string | null, join_closes: string | null}} MemberView
 */

const ROLE_NAMES = /** @type {Record<string, string>} */ ({
  principal: 'Principal',
  adviser: 'Adviser',
  interpreter: 'Interpreter',
  note_taker: 'Note-taker',
  observer: 'Observer',
});

/**
 * A time in `zone`, e.g. "Thursday, December 3 at 09:30 EST".
 * @param {string} iso @param {string} zone
 */
export function inZone(iso, zone) {
  // en-US names zones by their abbreviation where it has one (EST, not GMT-5).
  return new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).format(new Date(iso));
}

/**
 * Shows the page of the personal link `key` in `root`.
 * @param {HTMLElement} root @param {string} key
 */
export async function showJoinPage(root, key) {
  const card = h('div', { class: 'card narrow invite-card', 'data-testid': 'join-page' }, brand(), h('p', { class: 'muted', text: 'Loading your invitation…' }));
  root.replaceChildren(h('div', { class: 'center-page' }, card));
  const api = `/api/members/${encodeURIComponent(key)}`;
  /** @type {Response} */
  let response;
  try {
    response = await fetch(api, { cache: 'no-store' });
  } catch {
    card.replaceChildren(brand(), h('h1', { text: 'No connection' }), h('p', { class: 'muted', text: 'The server could not be reached. Check your connection and reload the page.' }));
    return;
  }
  if (!response.ok) {
    const said = await response.json().catch(() => null);
    card.replaceChildren(
      brand(),
      h('h1', { text: 'This link does not work' }),
      h('p', { class: 'muted', 'data-testid': 'join-error', text: said?.error ?? 'This personal link is not valid. Ask your delegation for the current one.' }),
    );
    return;
  }
  /** @type {MemberView} */
  const view = await response.json();
  document.title = `${view.call.title} · Hotline`;
  const zone = view.time_zone;
  const status = h('p', { class: 'invite-status', 'data-testid': 'join-status' });
  const joinButton = /** @type {HTMLButtonElement} */ (h('button', { class: 'primary big', 'data-testid': 'join-button', text: 'Join the call' }));
  const message = h('p', { class: 'muted', role: 'status', 'data-testid': 'join-message' });

  const when = view.agreed
    ? h(
        'div',
        { class: 'invite-when' },
        icon('calendar'),
        h('div', null, h('div', { class: 'invite-time', 'data-testid': 'join-time', text: inZone(view.agreed.start, zone) }), h('div', { class: 'muted', text: `${view.call.duration_minutes} minutes · your time zone: ${zone}` })),
      )
    : h('p', { class: 'muted', 'data-testid': 'join-time', text: 'No time is agreed for this call yet. Your delegation will tell you when it is.' });

  /** Enables the button while the call is open, and says when it opens. */
  function refresh() {
    const now = Date.now();
    const opens = view.join_opens ? Date.parse(view.join_opens) : null;
    const closes = view.join_closes ? Date.parse(view.join_closes) : null;
    if (opens === null || closes === null) {
      joinButton.disabled = true;
      status.textContent = '';
    } else if (now < opens) {
      joinButton.disabled = true;
      status.textContent = `The call opens at ${inZone(view.join_opens ?? '', zone)}, 15 minutes before it starts.`;
    } else if (now >= closes) {
      joinButton.disabled = true;
      status.textContent = 'The call has ended.';
    } else {
      joinButton.disabled = false;
      status.textContent = 'The call is open.';
    }
  }
  refresh();
  const timer = setInterval(refresh, 15000);

  joinButton.addEventListener('click', async () => {
    joinButton.disabled = true;
    message.textContent = 'Opening the call…';
    try {
      const r = await fetch(`${api}/token`, { method: 'POST' });
      const body = await r.json().catch(() => null);
      if (!r.ok) {
        message.textContent = body?.error ?? 'The call could not be opened. Try again in a moment.';
        refresh();
        return;
      }
      clearInterval(timer);
      // The room page shows the call's title (e.g. while waiting in the lobby) instead of the room's name.
      try {
        sessionStorage.setItem(`hotline:title:${body.room}`, view.call.title);
      } catch {
        // Storage refused: the room's name is shown instead.
      }
      // The room page takes the token from the address and removes it at once.
      location.assign(`/room/${encodeURIComponent(body.room)}?token=${encodeURIComponent(body.token)}`);
    } catch {
      message.textContent = 'The server could not be reached. Check your connection and try again.';
      refresh();
    }
  });

  /** @type {(Node | string)[]} */
  const parts = [
    brand(),
    h('h1', { 'data-testid': 'join-title', text: view.call.title }),
    h('p', { class: 'muted', text: `${view.name} · ${ROLE_NAMES[view.role] ?? view.role} · ${view.party}${view.call.e2ee_required ? ' · end-to-end encrypted' : ''}` }),
    when,
    status,
    h('div', { class: 'actions' }, joinButton),
    message,
  ];
  if (view.agreed) parts.push(h('a', { class: 'secondary invite-calendar', href: `${api}/invite.ics`, download: 'call.ics', 'data-testid': 'calendar-link' }, 'Add to my calendar'));
  card.replaceChildren(...parts);
}
