// Hotline app entry point: routing, start page, pre-join screen, end screens.

import { h, icon, showError, clearError, brand, decodeToken } from './ui.js';
import { getLocalMedia, listDevices, fillDeviceSelect, LevelMeter } from './media.js';
import { Call } from './call.js';
import { CLOSE_CODE_MESSAGES, HotlineError } from '../sdk/index.js';
import { showPartyPage, showPublicPage } from './party.js';
import { showJoinPage } from './join.js';
import { showOrganizePage } from './organize.js';

// --- Take the token out of the address bar before anything else happens, so
// it does not end up in history, screenshots or screen shares.
/** @type {string | null} */
let linkToken = null;
{
  const params = new URLSearchParams(location.search);
  const t = params.get('token');
  if (t) {
    linkToken = t;
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  }
}

const root = /** @type {HTMLElement} */ (document.getElementById('app'));

/** @typedef {{dev: boolean, protocol_version: number}} ServerConfig */

/** @returns {Promise<ServerConfig>} */
async function getConfig() {
  try {
    const r = await fetch('/api/config', { cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    return await r.json();
  } catch {
    return { dev: false, protocol_version: 1 };
  }
}

/** @param {string} room */
const tokenKey = (room) => `hotline:token:${room}`;
/** A scheduled call's title, kept by its member page (join.js) for the room page. @param {string} room */
const titleKey = (room) => `hotline:title:${room}`;

/** @param {string} name */
function validRoomName(name) {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name);
}

/** @returns {string | null} */
function roomFromPath() {
  const m = location.pathname.match(/^\/room\/([^/]+)\/?$/);
  return m ? decodeURIComponent(m[1]) : null;
}


// ---------------------------------------------------------------- routing

async function boot() {
  // Scheduled calls: a party's private page, and a call's public page.
  const party = location.pathname.match(/^\/party\/([^/]+)\/?$/);
  if (party) {
    onDispose(showPartyPage(root, decodeURIComponent(party[1])));
    return;
  }
  const member = location.pathname.match(/^\/join\/([^/]+)\/?$/);
  if (member) {
    onDispose(null);
    showJoinPage(root, decodeURIComponent(member[1]));
    return;
  }
  const publicCall = location.pathname.match(/^\/call\/([^/]+)\/?$/);
  if (publicCall) {
    onDispose(showPublicPage(root, decodeURIComponent(publicCall[1])));
    return;
  }
  // The organizer's page: plan a scheduled call.
  if (/^\/schedule\/?$/.test(location.pathname)) {
    onDispose(null);
    const cfg = await getConfig();
    onDispose(showOrganizePage(root, { dev: cfg.dev }));
    return;
  }
  const room = roomFromPath();
  if (room !== null) {
    document.title = `${room} · Hotline`;
    const token = linkToken ?? sessionStorage.getItem(tokenKey(room));
    if (token) {
      sessionStorage.setItem(tokenKey(room), token);
      const payload = decodeToken(token);
      const title = sessionStorage.getItem(titleKey(room)) ?? undefined;
      if (title) document.title = `${title} · Hotline`;
      joinCall({ room, token, displayName: payload?.name ?? '', title, media: null, dev: false });
      return;
    }
    const cfg = await getConfig();
    if (cfg.dev) showPrejoin({ room });
    else showNeedInvite(room);
    return;
  }
  const cfg = await getConfig();
  if (cfg.dev) showPrejoin({});
  else showNeedInvite(null);
}

/** Cleanup of the current screen (stops the preview, leaves a call) when navigating away. @type {(() => void) | null} */
let disposeScreen = null;
/** @param {(() => void) | null} fn */
function onDispose(fn) {
  disposeScreen?.();
  disposeScreen = fn;
}

window.addEventListener('popstate', () => {
  linkToken = null;
  onDispose(null);
  boot();
});

// ---------------------------------------------------------------- screens

/** @param {string | null} room */
function showNeedInvite(room) {
  clearError();
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow' },
        brand(),
        h('h1', { text: room ? `Join “${room}”` : 'Secure video calls' }),
        h('p', { class: 'muted', text: 'Joining a call needs an invitation link. Ask the organizer of the call to send you one, then open it in this browser.' }),
        h('div', { class: 'hint' }, icon('link'), h('span', { text: 'Invitation links look like https://…/room/name?token=…' })),
      ),
    ),
  );
}

/**
 * The pre-join screen (dev mode): preview, level meter, devices, name and room.
 * @param {{room?: string, name?: string}} init
 */
async function showPrejoin(init) {
  clearError();
  /** @type {MediaStreamTrack | null} */
  let audio = null;
  /** @type {MediaStreamTrack | null} */
  let video = null;
  let audioMuted = false;
  let videoMuted = false;
  /** @type {LevelMeter | null} */
  let meter = null;
  let disposed = false;

  const preview = h('video', { class: 'preview-video mirrored', autoplay: true, playsinline: true, 'data-testid': 'preview-video' });
  preview.muted = true;
  const previewAvatar = h('div', { class: 'preview-off', text: 'Camera is off' });
  const meterFill = h('div', { class: 'meter-fill' });
  const meterEl = h('div', { class: 'meter', 'data-testid': 'level-meter', 'data-level': '0', title: 'Microphone level' }, meterFill);
  const notice = h('div', { class: 'notice', 'data-testid': 'media-notice', hidden: true });
  const camSelect = h('select', { 'data-testid': 'prejoin-camera-select', 'aria-label': 'Camera' });
  const micSelect = h('select', { 'data-testid': 'prejoin-mic-select', 'aria-label': 'Microphone' });
  const micBtn = h('button', { class: 'ctrl', type: 'button', 'data-testid': 'prejoin-mic-toggle' });
  const camBtn = h('button', { class: 'ctrl', type: 'button', 'data-testid': 'prejoin-camera-toggle' });
  const savedName = localStorage.getItem('hotline:name') ?? '';
  const nameInput = h('input', { 'data-testid': 'name-input', name: 'name', autocomplete: 'name', required: true, maxlength: 64, placeholder: 'Your name', value: init.name ?? savedName });
  const roomInput = h('input', { 'data-testid': 'room-input', name: 'room', required: true, maxlength: 64, placeholder: 'e.g. design-review', value: init.room ?? '', pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]*' });
  const joinBtn = h('button', { class: 'primary big', type: 'submit', 'data-testid': 'join-button', text: 'Join now' });

  const setNotice = (/** @type {string[]} */ msgs) => {
    notice.hidden = msgs.length === 0;
    notice.replaceChildren(icon('alert'), h('span', { text: msgs.join(' ') }));
  };

  const updateButtons = () => {
    const micOn = !!audio && !audioMuted;
    const camOn = !!video && !videoMuted;
    micBtn.replaceChildren(icon(micOn ? 'mic' : 'micOff'));
    camBtn.replaceChildren(icon(camOn ? 'video' : 'videoOff'));
    micBtn.classList.toggle('off', !micOn);
    camBtn.classList.toggle('off', !camOn);
    micBtn.title = micOn ? 'Mute microphone' : 'Unmute microphone';
    camBtn.title = camOn ? 'Turn camera off' : 'Turn camera on';
    micBtn.disabled = !audio;
    camBtn.disabled = !video;
    preview.hidden = !camOn;
    previewAvatar.hidden = camOn;
    previewAvatar.textContent = video ? 'Camera is off' : 'No camera';
    if (audio) audio.enabled = !audioMuted;
    if (video) video.enabled = !videoMuted;
  };

  const attachAudio = () => {
    meter?.stop();
    meter = null;
    if (!audio) return;
    meter = new LevelMeter(audio, (level) => {
      const l = audioMuted ? 0 : level;
      meterFill.style.transform = `scaleX(${l.toFixed(3)})`;
      meterEl.dataset.level = l.toFixed(3);
    });
  };

  const refreshDevices = async () => {
    const { cameras, microphones } = await listDevices();
    fillDeviceSelect(camSelect, cameras, video?.getSettings().deviceId, 'Camera');
    fillDeviceSelect(micSelect, microphones, audio?.getSettings().deviceId, 'Microphone');
  };

  micBtn.addEventListener('click', () => {
    audioMuted = !audioMuted;
    updateButtons();
  });
  camBtn.addEventListener('click', () => {
    videoMuted = !videoMuted;
    updateButtons();
  });
  camSelect.addEventListener('change', async () => {
    const got = await getLocalMedia({ video: camSelect.value });
    if (got.video) {
      video?.stop();
      video = got.video;
      preview.srcObject = new MediaStream([video]);
      updateButtons();
    } else setNotice(got.errors);
  });
  micSelect.addEventListener('change', async () => {
    const got = await getLocalMedia({ audio: micSelect.value });
    if (got.audio) {
      audio?.stop();
      audio = got.audio;
      attachAudio();
      updateButtons();
    } else setNotice(got.errors);
  });

  const cleanup = () => {
    disposed = true;
    meter?.stop();
    navigator.mediaDevices?.removeEventListener?.('devicechange', refreshDevices);
  };
  onDispose(() => {
    cleanup();
    audio?.stop();
    video?.stop();
  });

  const form = h(
    'form',
    {
      class: 'join-form',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        const name = nameInput.value.trim();
        const room = roomInput.value.trim();
        if (!name) {
          nameInput.focus();
          return;
        }
        if (!validRoomName(room)) {
          showError('A room name uses letters, digits, dashes, dots or underscores, and starts with a letter or digit.');
          roomInput.focus();
          return;
        }
        joinBtn.disabled = true;
        joinBtn.textContent = 'Joining…';
        try {
          const r = await fetch('/api/dev/token', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name, room }),
          });
          if (!r.ok) throw new Error(`status ${r.status}`);
          const { token } = await r.json();
          localStorage.setItem('hotline:name', name);
          sessionStorage.setItem(tokenKey(room), token);
          cleanup();
          disposeScreen = null; // the tracks now belong to the call
          history.pushState(null, '', `/room/${encodeURIComponent(room)}`);
          document.title = `${room} · Hotline`;
          joinCall({ room, token, displayName: name, media: { audio, video, errors: [] }, startState: { audioMuted, videoMuted }, dev: true });
        } catch (err) {
          console.error(err);
          showError('We could not create an invitation for this room. Is the server running in development mode?');
          joinBtn.disabled = false;
          joinBtn.textContent = 'Join now';
        }
      },
    },
    h('label', { class: 'field' }, h('span', { text: 'Your name' }), nameInput),
    h('label', { class: 'field' }, h('span', { text: 'Room' }), roomInput),
    joinBtn,
    h('p', { class: 'muted small', text: 'Development mode: anyone who can reach this server can create a room.' }),
  );

  // Development mode: the organizer's page, for calls agreed in advance across time zones.
  const scheduleLink = init.room
    ? null
    : h(
        'a',
        {
          class: 'schedule-link',
          href: '/schedule',
          'data-testid': 'plan-scheduled-call',
          onclick: (/** @type {MouseEvent} */ e) => {
            if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
            e.preventDefault();
            onDispose(null); // stops the preview
            history.pushState(null, '', '/schedule');
            boot();
          },
        },
        icon('calendar'),
        h('span', { class: 'schedule-link-text' }, h('span', { class: 'schedule-link-title', text: 'Plan a scheduled call' }), h('span', { class: 'muted small', text: 'Parties in several time zones agree a time in advance' })),
      );

  root.replaceChildren(
    h(
      'div',
      { class: 'prejoin', 'data-testid': 'prejoin' },
      h('header', { class: 'page-head' }, brand()),
      h(
        'div',
        { class: 'prejoin-body' },
        h(
          'section',
          { class: 'preview-col' },
          h('div', { class: 'preview' }, preview, previewAvatar, h('div', { class: 'preview-controls' }, micBtn, camBtn)),
          h('div', { class: 'meter-row' }, icon('mic'), meterEl),
          notice,
          h('div', { class: 'devices' }, h('label', { class: 'field' }, h('span', { text: 'Camera' }), camSelect), h('label', { class: 'field' }, h('span', { text: 'Microphone' }), micSelect)),
        ),
        h('section', { class: 'join-col' }, h('h1', { text: 'Ready to join?' }), h('p', { class: 'muted', text: 'Check your camera and microphone, then join the call.' }), form, scheduleLink),
      ),
    ),
  );
  updateButtons();
  (init.room ? nameInput.value ? joinBtn : nameInput : nameInput.value ? roomInput : nameInput).focus();

  const got = await getLocalMedia({ audio: true, video: true });
  if (disposed) {
    got.audio?.stop();
    got.video?.stop();
    return;
  }
  audio = got.audio;
  video = got.video;
  setNotice(got.errors);
  if (video) preview.srcObject = new MediaStream([video]);
  attachAudio();
  updateButtons();
  await refreshDevices();
  navigator.mediaDevices?.addEventListener?.('devicechange', refreshDevices);
}

/**
 * @typedef {{room: string, token: string, displayName: string, title?: string, dev: boolean}} JoinArgs
 */

/**
 * @param {JoinArgs & {media: {audio: MediaStreamTrack | null, video: MediaStreamTrack | null, errors: string[]} | null, startState?: {audioMuted?: boolean, videoMuted?: boolean}}} args
 */
async function joinCall(args) {
  clearError();
  const call = new Call({
    root,
    roomName: args.room,
    token: args.token,
    displayName: args.displayName,
    title: args.title,
    media: args.media,
    startState: args.startState,
    onEnd: (info) => {
      disposeScreen = null;
      showEnded({ ...info, rejoin: args });
    },
  });
  onDispose(() => {
    // Navigating away (back button) leaves the call without showing the end screen.
    call.opts.onEnd = () => {};
    call.leave();
  });
  try {
    await call.start();
  } catch (err) {
    disposeScreen = null;
    const message = err instanceof Error ? err.message : 'We could not join the call.';
    const code = err instanceof HotlineError ? err.closeCode : undefined;
    if (code === 4019) showRefused(message, args);
    else showJoinFailed(message, args);
  }
}

/**
 * A host turned this person away from the lobby. Nothing happens by itself: they may ask again,
 * which knocks on the lobby once more.
 * @param {string} message
 * @param {JoinArgs} args
 */
function showRefused(message, args) {
  clearError();
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow', 'data-testid': 'lobby-refused' },
        brand(),
        h('h1', { text: 'You were not let in' }),
        h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' }, icon('alert'), h('span', { text: message })),
        h('p', { class: 'muted after-error', text: 'If you think this was a mistake, ask the host, then ask to join again.' }),
        h(
          'div',
          { class: 'actions' },
          h('button', { class: 'primary', 'data-testid': 'ask-again', text: 'Ask again', onclick: () => joinCall({ ...args, media: null }) }),
          args.dev ? h('button', { class: 'secondary', text: 'Back to start', onclick: () => { history.pushState(null, '', '/'); boot(); } }) : null,
        ),
      ),
    ),
  );
}

/**
 * @param {string} message
 * @param {JoinArgs} args
 */
function showJoinFailed(message, args) {
  clearError();
  // Retrying with the same link cannot help: a bad invitation, or a host removed this person.
  const closeCode = /invitation/.test(message) || message === CLOSE_CODE_MESSAGES[4017];
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow', 'data-testid': 'join-failed' },
        brand(),
        h('h1', { text: 'You could not join the call' }),
        h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' }, icon('alert'), h('span', { text: message })),
        /not valid|another room|different room/.test(message) ? h('p', { class: 'muted after-error', text: 'Check that you opened the whole link, or ask the organizer of the call to send you a new one.' }) : null,
        closeCode && !args.dev
          ? null
          : h(
              'div',
              { class: 'actions' },
              closeCode ? null : h('button', { class: 'primary', 'data-testid': 'retry', text: 'Try again', onclick: () => joinCall({ ...args, media: null }) }),
              args.dev ? h('button', { class: 'secondary', text: 'Back to start', onclick: () => { history.pushState(null, '', '/'); boot(); } }) : null,
            ),
      ),
    ),
  );
  if (closeCode) sessionStorage.removeItem(tokenKey(args.room));
}

/**
 * @param {{left: boolean, message: string, code: number, fromLobby?: boolean, rejoin: JoinArgs}} info
 */
function showEnded(info) {
  const { rejoin } = info;
  const rejoinNow = async () => {
    if (rejoin.dev) {
      // Dev tokens are cheap: go back to the pre-join screen with the same name and room.
      showPrejoin({ room: rejoin.room, name: rejoin.displayName });
      return;
    }
    joinCall({ ...rejoin, media: null });
  };
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow', 'data-testid': 'ended' },
        brand(),
        h('h1', { text: info.left ? (info.fromLobby ? 'You left the lobby' : 'You left the call') : 'You are no longer in the call' }),
        info.left
          ? h('p', { class: 'muted', text: info.fromLobby ? 'You did not join the call. You can ask to join again while the invitation is valid.' : 'Thanks for joining. You can rejoin while the invitation is valid.' })
          : h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' }, icon('alert'), h('span', { text: info.message })),
        h(
          'div',
          { class: 'actions' },
          // A host removed this person: rejoining cannot work. Refused from the lobby (when joining
          // again after a lost connection): they may knock again.
          info.code === 4017
            ? null
            : info.code === 4019
              ? h('button', { class: 'primary', 'data-testid': 'ask-again', text: 'Ask again', onclick: () => joinCall({ ...rejoin, media: null }) })
              : h('button', { class: 'primary', 'data-testid': 'rejoin', text: info.fromLobby ? 'Ask to join again' : 'Rejoin', onclick: rejoinNow }),
          rejoin.dev ? h('button', { class: 'secondary', text: 'Back to start', onclick: () => { history.pushState(null, '', '/'); boot(); } }) : null,
        ),
      ),
    ),
  );
}

boot().catch((err) => {
  console.error(err);
  showError('Something went wrong while loading Hotline. Reload the page to try again.', { persistent: true });
});
