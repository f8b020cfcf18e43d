// Hotline app entry point: routing, start page, pre-join screen, end screens.

import { h, icon, showError, clearError, brand, decodeToken, languageMenu, cardHead } from './ui.js';
import { t, tryT, initLocale, onLocaleChange, localized } from '../i18n/index.js';
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
    onDispose(showJoinPage(root, decodeURIComponent(member[1])));
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
  redrawScreen = null;
}

/**
 * Draws the current screen of this file again in the language just chosen (null: the screen
 * does it itself, as the scheduled-call pages do, or has no text of ours, as the call).
 * @type {(() => void) | null}
 */
let redrawScreen = null;
onLocaleChange(() => redrawScreen?.());

/**
 * The SDK's sentence for why joining failed or the call ended, in the page's language when it is
 * the SDK's sentence for the close code (anything else as the SDK said it).
 * @param {string} message @param {number | undefined} code
 */
function closeMessage(message, code) {
  if (code === undefined || message !== CLOSE_CODE_MESSAGES[code]) return message;
  return tryT(`close.${code}`) ?? message;
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
  redrawScreen = () => showNeedInvite(room);
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow' },
        cardHead(),
        h('h1', { text: room ? t('start.invite.title_room', { room }) : t('start.invite.title') }),
        h('p', { class: 'muted', text: t('start.invite.text') }),
        h('div', { class: 'hint' }, icon('link'), h('span', { text: t('start.invite.hint') })),
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
  // Its text follows the language in place: the preview keeps playing, what is typed stays.
  const lx = localized();

  const preview = h('video', { class: 'preview-video mirrored', autoplay: true, playsinline: true, 'data-testid': 'preview-video' });
  preview.muted = true;
  const previewAvatar = h('div', { class: 'preview-off' });
  const meterFill = h('div', { class: 'meter-fill' });
  const meterEl = lx.attr(h('div', { class: 'meter', 'data-testid': 'level-meter', 'data-level': '0' }, meterFill), 'title', 'start.mic_level');
  const notice = h('div', { class: 'notice', 'data-testid': 'media-notice', hidden: true });
  const camSelect = lx.attr(h('select', { 'data-testid': 'prejoin-camera-select' }), 'aria-label', 'common.camera');
  const micSelect = lx.attr(h('select', { 'data-testid': 'prejoin-mic-select' }), 'aria-label', 'common.microphone');
  const micBtn = h('button', { class: 'ctrl', type: 'button', 'data-testid': 'prejoin-mic-toggle' });
  const camBtn = h('button', { class: 'ctrl', type: 'button', 'data-testid': 'prejoin-camera-toggle' });
  const savedName = localStorage.getItem('hotline:name') ?? '';
  const nameInput = lx.attr(h('input', { 'data-testid': 'name-input', name: 'name', autocomplete: 'name', required: true, maxlength: 64, value: init.name ?? savedName }), 'placeholder', 'start.your_name');
  const roomInput = lx.attr(h('input', { 'data-testid': 'room-input', name: 'room', required: true, maxlength: 64, value: init.room ?? '', pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]*' }), 'placeholder', 'start.room_placeholder');
  let joining = false;
  const joinBtn = h('button', { class: 'primary big', type: 'submit', 'data-testid': 'join-button' });
  lx.run(() => {
    joinBtn.textContent = joining ? t('start.joining') : t('start.join');
  });

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
    micBtn.title = micOn ? t('start.mic.mute') : t('start.mic.unmute');
    camBtn.title = camOn ? t('start.camera.turn_off') : t('start.camera.turn_on');
    micBtn.disabled = !audio;
    camBtn.disabled = !video;
    preview.hidden = !camOn;
    previewAvatar.hidden = camOn;
    previewAvatar.textContent = video ? t('start.camera_off') : t('common.no_camera');
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
    fillDeviceSelect(camSelect, cameras, video?.getSettings().deviceId, t('common.camera'));
    fillDeviceSelect(micSelect, microphones, audio?.getSettings().deviceId, t('common.microphone'));
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
  redrawScreen = () => {
    lx.update();
    updateButtons();
    // Devices without a label are numbered ("Camera 1"): in the language now.
    if (!disposed) refreshDevices();
  };

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
          showError(t('start.bad_room'));
          roomInput.focus();
          return;
        }
        joinBtn.disabled = true;
        joining = true;
        joinBtn.textContent = t('start.joining');
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
          showError(t('start.no_dev_token'));
          joinBtn.disabled = false;
          joining = false;
          joinBtn.textContent = t('start.join');
        }
      },
    },
    h('label', { class: 'field' }, h('span', null, lx.text('start.your_name')), nameInput),
    h('label', { class: 'field' }, h('span', null, lx.text('start.room')), roomInput),
    joinBtn,
    h('p', { class: 'muted small' }, lx.text('start.dev_note')),
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
        h('span', { class: 'schedule-link-text' }, h('span', { class: 'schedule-link-title' }, lx.text('start.plan')), h('span', { class: 'muted small' }, lx.text('start.plan_note'))),
      );

  root.replaceChildren(
    h(
      'div',
      { class: 'prejoin', 'data-testid': 'prejoin' },
      h('header', { class: 'page-head' }, brand(), languageMenu()),
      h(
        'div',
        { class: 'prejoin-body' },
        h(
          'section',
          { class: 'preview-col' },
          h('div', { class: 'preview' }, preview, previewAvatar, h('div', { class: 'preview-controls' }, micBtn, camBtn)),
          h('div', { class: 'meter-row' }, icon('mic'), meterEl),
          notice,
          h('div', { class: 'devices' }, h('label', { class: 'field' }, h('span', null, lx.text('common.camera')), camSelect), h('label', { class: 'field' }, h('span', null, lx.text('common.microphone')), micSelect)),
        ),
        h('section', { class: 'join-col' }, h('h1', null, lx.text('start.ready')), h('p', { class: 'muted' }, lx.text('start.check')), form, scheduleLink),
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
    const message = err instanceof Error ? err.message : '';
    const code = err instanceof HotlineError ? err.closeCode : undefined;
    if (code === 4019) showRefused(message, args);
    else showJoinFailed(message, code, args);
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
  redrawScreen = () => showRefused(message, args);
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow', 'data-testid': 'lobby-refused' },
        cardHead(),
        h('h1', { text: t('end.refused.title') }),
        h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' }, icon('alert'), h('span', { text: closeMessage(message, 4019) })),
        h('p', { class: 'muted after-error', text: t('end.refused.text') }),
        h(
          'div',
          { class: 'actions' },
          h('button', { class: 'primary', 'data-testid': 'ask-again', text: t('end.ask_again'), onclick: () => joinCall({ ...args, media: null }) }),
          args.dev ? backToStart() : null,
        ),
      ),
    ),
  );
}

/** The dev mode's way back to the start page. */
function backToStart() {
  return h('button', { class: 'secondary', text: t('common.back_to_start'), onclick: () => { history.pushState(null, '', '/'); boot(); } });
}

/**
 * @param {string} message  the SDK's words ('' for none)
 * @param {number | undefined} code  the close code it is for, if any
 * @param {JoinArgs} args
 */
function showJoinFailed(message, code, args) {
  clearError();
  redrawScreen = () => showJoinFailed(message, code, args);
  // Retrying with the same link cannot help: a bad invitation, or a host removed this person.
  const closeCode = code !== undefined && [4001, 4002, 4003, 4004, 4017].includes(code);
  root.replaceChildren(
    h(
      'div',
      { class: 'center-page' },
      h(
        'div',
        { class: 'card narrow', 'data-testid': 'join-failed' },
        cardHead(),
        h('h1', { text: t('end.failed.title') }),
        h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' }, icon('alert'), h('span', { text: closeMessage(message, code) || t('end.join_failed_default') })),
        code === 4001 || code === 4003 || code === 4004 ? h('p', { class: 'muted after-error', text: t('end.failed.link_hint') }) : null,
        closeCode && !args.dev
          ? null
          : h(
              'div',
              { class: 'actions' },
              closeCode ? null : h('button', { class: 'primary', 'data-testid': 'retry', text: t('common.try_again'), onclick: () => joinCall({ ...args, media: null }) }),
              args.dev ? backToStart() : null,
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
  redrawScreen = () => showEnded(info);
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
        cardHead(),
        h('h1', { text: info.left ? (info.fromLobby ? t('end.left_lobby') : t('end.left_call')) : t('end.removed') }),
        info.left
          ? h('p', { class: 'muted', text: info.fromLobby ? t('end.left_lobby_text') : t('end.left_call_text') })
          : h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' }, icon('alert'), h('span', { text: closeMessage(info.message, info.code) })),
        h(
          'div',
          { class: 'actions' },
          // A host removed this person: rejoining cannot work. Refused from the lobby (when joining
          // again after a lost connection): they may knock again.
          info.code === 4017
            ? null
            : info.code === 4019
              ? h('button', { class: 'primary', 'data-testid': 'ask-again', text: t('end.ask_again'), onclick: () => joinCall({ ...rejoin, media: null }) })
              : h('button', { class: 'primary', 'data-testid': 'rejoin', text: info.fromLobby ? t('end.ask_to_join_again') : t('end.rejoin'), onclick: rejoinNow }),
          rejoin.dev ? backToStart() : null,
        ),
      ),
    ),
  );
}

initLocale()
  .then(boot)
  .catch((err) => {
    console.error(err);
    showError(t('app.load_failed'), { persistent: true });
  });
