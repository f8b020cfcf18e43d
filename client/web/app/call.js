// The call screen: tiles grid, control bar, chat panel, settings popover.

import { Room, VideoSizeObserver } from '../sdk/index.js';
import { h, icon, initials, colorFor, formatTime, showError, clearError, toast, brand, decodeToken } from './ui.js';
import { getLocalMedia, listDevices, fillDeviceSelect } from './media.js';

/**
 * @typedef {import('../sdk/index.js').RemoteParticipant} RemoteParticipant
 * @typedef {import('../sdk/index.js').RemoteTrack} RemoteTrack
 * @typedef {import('../sdk/index.js').HotlineError} HotlineError
 * @typedef {import('../sdk/room.js').ChatMessage} ChatMessage
 * @typedef {import('../sdk/room.js').DisconnectInfo} DisconnectInfo
 * @typedef {import('../sdk/signal.js').ConnectionQuality} ConnectionQuality
 * @typedef {import('../sdk/room.js').WaitingInfo} WaitingInfo
 * @typedef {import('../sdk/room.js').LobbyEntry} LobbyEntry
 * @typedef {import('../sdk/room.js').InterpretationChannel} InterpretationChannel
 * @typedef {import('./media.js').LocalMedia} LocalMedia
 * @typedef {{left: boolean, message: string, code: number, fromLobby?: boolean}} EndInfo
 *   `fromLobby`: it ended while waiting in the lobby (never let in)
 */

/**
 * @typedef {object} CallOptions
 * @property {HTMLElement} root
 * @property {string} roomName
 * @property {string} token
 * @property {string} displayName     shown until the server tells us our name
 * @property {string} [title]          what the call is called (a scheduled call's title), instead of the room name
 * @property {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null, errors: string[]} | null} media
 *           tracks from the pre-join screen, or null to ask for camera+mic after joining
 * @property {{audioMuted?: boolean, videoMuted?: boolean}} [startState]
 * @property {(info: EndInfo) => void} onEnd
 */

/**
 * @typedef {object} TileEntry
 * @property {string} key
 * @property {string} participantId
 * @property {string} name
 * @property {boolean} isLocal
 * @property {boolean} isScreen
 * @property {MediaStream | null} stream
 * @property {boolean} micMuted
 * @property {boolean} cameraOn        a remote participant publishes an unmuted camera
 * @property {boolean} reconnecting
 * @property {boolean} speaking        in the server's list of speakers
 * @property {boolean} activeSpeaker   the loudest of them
 * @property {ConnectionQuality | undefined} quality
 * @property {RemoteTrack | null} track     the received video shown (null: local, or no video)
 * @property {boolean} videoPaused           the server paused that video: our download is too slow for it
 */

/**
 * @typedef {object} TileView
 * @property {HTMLDivElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLDivElement} avatar
 * @property {HTMLSpanElement} nameEl
 * @property {HTMLSpanElement} micIcon
 * @property {HTMLDivElement} badge
 * @property {HTMLSpanElement} speakingEl
 * @property {HTMLDivElement} qualityEl
 * @property {HTMLDivElement} pausedEl
 * @property {VideoSizeObserver | null} sizer   tells the server the size a remote video is shown at
 * @property {MediaStream | null} stream
 * @property {HTMLDivElement} hostEl          hosts only, on someone else's tile: the button and its menu
 * @property {HTMLButtonElement} hostBtn
 * @property {HTMLDivElement} hostMenu
 * @property {HTMLButtonElement} muteItem
 * @property {HTMLButtonElement} cameraItem
 */

/**
 * @typedef {object} LanguageOptionView   one choice in the language menu
 * @property {HTMLButtonElement} el
 * @property {HTMLSpanElement} title
 * @property {HTMLSpanElement} sub
 */

/**
 * @typedef {object} InterpreterConsole   an interpreter's panel
 * @property {HTMLElement} el
 * @property {HTMLSpanElement} onAir        ON AIR / STANDBY / OFF AIR
 * @property {HTMLParagraphElement} status  one sentence: where the interpreter stands
 * @property {Map<string, HTMLButtonElement>} outputs   the two languages of the pair
 * @property {HTMLButtonElement} take        Take over / Go on air
 * @property {HTMLButtonElement} release     Go off air
 * @property {HTMLButtonElement} mic
 * @property {HTMLParagraphElement} micNote  says the microphone is muted while on air
 * @property {HTMLElement} boothTitle
 * @property {HTMLUListElement} booth
 * @property {HTMLDivElement} listen         Floor and the room's channels (relay)
 * @property {HTMLParagraphElement} listenNote  what the interpreter hears now
 * @property {string} listenKey              the languages the listen buttons were made for
 */

/**
 * @typedef {object} WaitingView   the lobby's waiting screen
 * @property {HTMLElement} page
 * @property {HTMLElement} card
 * @property {HTMLElement} title
 * @property {HTMLElement} text
 * @property {HTMLElement} who
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} avatar
 * @property {HTMLElement} avatarNote   under the avatar: why there is no picture
 */

/** Three dots: the tile's menu of host actions (constant markup). */
const MORE_ICON = '<svg viewBox="0 0 24 24" width="24" height="24" fill="currentColor"><circle cx="12" cy="5" r="1.8"/><circle cx="12" cy="12" r="1.8"/><circle cx="12" cy="19" r="1.8"/></svg>';

/**
 * An inline icon drawn here (the shared icon set has none for these).
 * @param {string} paths  constant SVG markup
 * @returns {HTMLSpanElement}
 */
function localIcon(paths) {
  return h('span', { class: 'icon', 'aria-hidden': 'true', html: `<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${paths}</svg>` });
}
/** Headphones: what the listener hears (the language menu, the indicator in the top bar). */
const HEADPHONES = '<path d="M4 17v-5a8 8 0 0 1 16 0v5"/><rect x="3" y="14" width="5" height="7" rx="1.5"/><rect x="16" y="14" width="5" height="7" rx="1.5"/>';
/** A check mark for the chosen language. */
const CHECK = '<path d="M20 6 9 17l-5-5"/>';

/** The floor's volume under a live interpretation channel, until the listener moves the slider. */
export const DEFAULT_FLOOR_VOLUME = 0.2;
/** Where the listener's floor volume is kept (this browser only). */
const FLOOR_VOLUME_KEY = 'hotline.floorVolume';

/** The floor volume this browser last chose (0..1), or the default. */
function loadFloorVolume() {
  try {
    const v = Number(localStorage.getItem(FLOOR_VOLUME_KEY));
    if (localStorage.getItem(FLOOR_VOLUME_KEY) !== null && Number.isFinite(v) && v >= 0 && v <= 1) return v;
  } catch {
    // storage refused (private mode): the default
  }
  return DEFAULT_FLOOR_VOLUME;
}

/** What each element was last filled from (see `fill`). @type {WeakMap<Element, string>} */
const filledFrom = new WeakMap();
/**
 * Replace `el`'s children with `make()` only when `key` (what they show) changed: the call renders
 * often (at every change of speaker), and a button whose insides were replaced between the press and
 * the release of a click would lose that click.
 * @param {Element} el @param {string} key @param {() => (Node | string)[]} make
 */
function fill(el, key, make) {
  if (filledFrom.get(el) === key) return;
  filledFrom.set(el, key);
  el.replaceChildren(...make());
}

/** @type {Map<string, Intl.DisplayNames | null>} */
const displayNames = new Map();
/**
 * A language's name in `locale` ("English"; "русский" for ru in ru), or null when unknown.
 * @param {string} tag @param {string} locale
 * @returns {string | null}
 */
function nameIn(tag, locale) {
  let dn = displayNames.get(locale);
  if (dn === undefined) {
    try {
      dn = new Intl.DisplayNames([locale, 'en'], { type: 'language', fallback: 'none' });
    } catch {
      dn = null;
    }
    displayNames.set(locale, dn);
  }
  try {
    const name = dn?.of(tag);
    return name ? name.charAt(0).toLocaleUpperCase(locale) + name.slice(1) : null;
  } catch {
    return null;
  }
}
/** A language's name in the page's language ("English"), or its tag when unknown. @param {string} tag */
function languageName(tag) {
  return nameIn(tag, document.documentElement.lang || 'en') ?? tag.toUpperCase();
}
/** A language's name in itself ("Русский"), when it differs from `languageName`. @param {string} tag */
function endonym(tag) {
  const own = nameIn(tag, tag);
  return own && own !== languageName(tag) ? own : '';
}

/** How long a remote participant stays the active speaker before their tile becomes the large one. */
const MAIN_SPEAKER_DWELL_MS = 1000;

/** What the connection-quality bars say, for the label and tooltip. */
const QUALITY_WORDS = /** @type {Record<ConnectionQuality, string>} */ ({ excellent: 'excellent', good: 'good', poor: 'poor' });

/**
 * How long someone has waited in the lobby, e.g. "Waiting 3 min".
 * @param {number} sinceMs  Unix ms
 */
function waitedFor(sinceMs) {
  const min = Math.floor((Date.now() - sinceMs) / 60000);
  if (!sinceMs || min < 1) return 'Just arrived';
  return min < 60 ? `Waiting ${min} min` : `Waiting ${Math.floor(min / 60)} h ${min % 60} min`;
}

export class Call {
  /** @param {CallOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.room = new Room({ token: opts.token, roomName: opts.roomName });
    /** @type {any} */ (window).hotlineRoom = this.room;
    /** @type {MediaStreamTrack | null} */
    this.micTrack = null;
    /** @type {MediaStreamTrack | null} */
    this.camTrack = null;
    /** @type {MediaStreamTrack | null} */
    this.screenTrack = null;
    /** @type {MediaStreamTrack | null} */
    this.screenAudioTrack = null;
    this.micMuted = !!opts.startState?.audioMuted;
    this.camOff = !!opts.startState?.videoMuted;
    this.chatOpen = false;
    this.unread = 0;
    this.ended = false;
    /** @type {Map<string, TileView>} */
    this.tiles = new Map();
    /** @type {Map<string, HTMLAudioElement>} */
    this.audioEls = new Map();
    /** The received audio tracks the <audio> elements play, by track id. @type {Map<string, RemoteTrack>} */
    this.audioTracks = new Map();
    /**
     * The remote participant shown large with three or more tiles: the latest active speaker other
     * than us. It stays when everybody falls silent, so the layout does not jump at every pause.
     * @type {string | null}
     */
    this.mainSpeakerId = null;
    /** A new active speaker becomes the large tile once it stayed the active speaker this long. @type {{id: string, timer: ReturnType<typeof setTimeout>} | null} */
    this._pendingMain = null;
    /** @type {WeakMap<MediaStreamTrack, MediaStream>} */
    this.localStreams = new WeakMap();
    this.busy = { mic: false, cam: false, screen: false };
    this.needsAudioUnlock = false;
    /** The tile (participant id) whose host menu is open. @type {string | null} */
    this.hostMenuFor = null;
    /** The waiting screen while in the lobby (null when not shown). @type {WaitingView | null} */
    this.waitingView = null;
    /** Camera and microphone asked for while waiting in the lobby (for the preview), published once let in. @type {Promise<LocalMedia> | null} */
    this._waitingMedia = null;
    const { root, roomName } = this.opts;
    this.grid = h('div', { class: 'grid', 'data-testid': 'grid' });
    this.status = h('div', { class: 'call-status', 'data-testid': 'call-status', text: 'Joining…' });
    // This client's own connection (reconnecting, reconnected, server restarting): a banner in the
    // middle of the top bar, over nothing of the call.
    this.connBanner = h('div', { class: 'conn-banner', 'data-testid': 'connection-banner', role: 'status', 'aria-live': 'polite', hidden: true });
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._connBannerTimer = null;
    // This client's own connection quality when the server judges it poor.
    this.qualityNotice = h('div', { class: 'quality-notice', 'data-testid': 'quality-notice', role: 'status', 'aria-live': 'polite', hidden: true },
      icon('signal'), h('span', { text: 'Your connection is poor — video may freeze.' }));
    // Shown to everyone while a host has locked the call.
    this.lockedEl = h('span', { class: 'locked-indicator', 'data-testid': 'locked-indicator', role: 'status', title: 'A host locked this call: nobody new can join.', hidden: true },
      icon('lock'), h('span', { text: 'Locked' }));
    // Interpretation (only in a room with languages): what this listener hears. A small indicator
    // in the top bar, and a menu in the control bar to choose the floor or a language's channel.
    this.floorVolume = loadFloorVolume();
    this.interpIndicator = h('button', { class: 'interp-indicator', type: 'button', 'data-testid': 'interpretation-indicator', hidden: true, onclick: () => this.toggleLanguageMenu(true) });
    this.langCode = h('span', { class: 'lang-code', text: 'Floor' });
    this.langBtn = h('button', { class: 'ctrl lang-ctrl', type: 'button', 'data-testid': 'language-menu-button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', hidden: true, onclick: () => this.toggleLanguageMenu() },
      localIcon(HEADPHONES), this.langCode);
    this.langOptions = h('div', { class: 'lang-options', role: 'radiogroup', 'aria-label': 'Listen to' });
    /** The menu's choices by language ('' for the floor). @type {Map<string, LanguageOptionView>} */
    this.langOptionViews = new Map();
    /** The languages the menu's choices were made for. */
    this.langOptionsKey = '';
    this.langNotice = h('p', { class: 'lang-notice', 'data-testid': 'language-notice', role: 'status', hidden: true });
    this.floorSlider = h('input', { type: 'range', min: '0', max: '100', step: '5', 'data-testid': 'floor-volume', 'aria-label': 'Volume of the floor under the interpretation' });
    this.floorSlider.value = String(Math.round(this.floorVolume * 100));
    this.floorSlider.addEventListener('input', () => this.setFloorVolume(Number(this.floorSlider.value) / 100));
    this.floorValue = h('output', { class: 'floor-value', 'data-testid': 'floor-volume-value' });
    this.langMenu = h(
      'div',
      { class: 'popover lang-menu', 'data-testid': 'language-menu', role: 'dialog', 'aria-label': 'Language', hidden: true },
      h('h3', { text: 'Listen to' }),
      this.langOptions,
      this.langNotice,
      h('label', { class: 'floor-volume' }, h('span', { class: 'floor-volume-label' }, h('span', { text: 'Floor under the interpreter' }), this.floorValue), this.floorSlider),
      h('p', { class: 'muted small floor-volume-note', text: 'How loud the original speakers stay while you hear an interpreter.' }),
    );
    /** An interpreter's console, made once this client is known to be one. @type {InterpreterConsole | null} */
    this.console = null;
    this.countEl = h('span', { class: 'count', 'data-testid': 'participant-count', text: '1' });
    this.clockEl = h('span', { class: 'clock' });
    const topbar = h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand-mini' }, h('span', { class: 'logo-dot' }), h('span', { class: 'room-name', text: this.opts.title || roomName }), this.lockedEl),
      this.status,
      this.connBanner,
      this.qualityNotice,
      h('div', { class: 'topbar-right' }, this.interpIndicator, icon('users'), this.countEl, this.clockEl),
    );

    this.micBtn = this._ctrl('mic-toggle', 'mic', 'Mute microphone', () => this.toggleMic());
    this.camBtn = this._ctrl('camera-toggle', 'video', 'Turn camera off', () => this.toggleCamera());
    this.screenBtn = this._ctrl('screen-toggle', 'screen', 'Share your screen', () => this.toggleScreen());
    this.settingsBtn = this._ctrl('settings-toggle', 'settings', 'Choose camera and microphone', () => this.toggleSettings());
    this.chatBtn = this._ctrl('chat-toggle', 'chat', 'Chat', () => this.toggleChat());
    this.chatBadge = h('span', { class: 'badge-count', hidden: true });
    this.chatBtn.append(this.chatBadge);
    this.leaveBtn = h(
      'button',
      { class: 'ctrl leave', 'data-testid': 'leave', title: 'Leave the call', 'aria-label': 'Leave the call', onclick: () => this.leave() },
      icon('leave'),
      h('span', { class: 'ctrl-label', text: 'Leave' }),
    );
    this.screenSupported = !!navigator.mediaDevices?.getDisplayMedia;
    if (!this.screenSupported) this.screenBtn.hidden = true;
    // Hosts only: lock the call (nobody new may join) or unlock it.
    this.lockBtn = h('button', { class: 'host-lock', 'data-testid': 'lock-toggle', hidden: true, onclick: () => this.toggleLock() });
    // Hosts only: the lobby on (newcomers wait until a host lets them in) or off.
    this.lobbyBtn = h('button', { class: 'host-lock host-lobby', 'data-testid': 'lobby-toggle', hidden: true, onclick: () => this.toggleLobby() });
    // Hosts only: who waits in the lobby, with Admit and Refuse (shown while anyone waits).
    this.lobbyCount = h('h2', { 'data-testid': 'lobby-count' });
    this.lobbyAdmitAll = h('button', { class: 'secondary small-btn', type: 'button', 'data-testid': 'admit-all', text: 'Admit all', onclick: () => this.admitAll() });
    this.lobbyList = h('ul', { class: 'lobby-list' });
    this.lobbyPanel = h(
      'aside',
      { class: 'lobby-panel', 'data-testid': 'lobby-panel', 'aria-label': 'Waiting to join', 'aria-live': 'polite', hidden: true },
      h('div', { class: 'lobby-head' }, h('span', { class: 'lobby-head-icon' }, icon('hourglass')), this.lobbyCount, this.lobbyAdmitAll),
      h('p', { class: 'muted small lobby-note', text: 'They cannot see or hear the call until you let them in.' }),
      this.lobbyList,
    );
    // Hosts only: asks before removing someone.
    this.removeDialog = h('dialog', { class: 'confirm-dialog', 'data-testid': 'remove-dialog' });

    // Settings popover.
    this.camSelect = h('select', { 'data-testid': 'camera-select', 'aria-label': 'Camera' });
    this.micSelect = h('select', { 'data-testid': 'mic-select', 'aria-label': 'Microphone' });
    this.camSelect.addEventListener('change', () => this.switchCamera(this.camSelect.value));
    this.micSelect.addEventListener('change', () => this.switchMic(this.micSelect.value));
    // Which way the media goes: UDP, or TCP when the network blocks UDP (from getStats).
    this.mediaPathEl = h('p', { class: 'media-path', 'data-testid': 'media-path', role: 'status', text: 'Connecting…' });
    this.settings = h(
      'div',
      { class: 'popover', 'data-testid': 'settings', hidden: true },
      h('h3', { text: 'Devices' }),
      h('label', { class: 'field' }, h('span', { text: 'Camera' }), this.camSelect),
      h('label', { class: 'field' }, h('span', { text: 'Microphone' }), this.micSelect),
      h('h3', { text: 'Connection' }),
      this.mediaPathEl,
    );

    const bar = h(
      'footer',
      { class: 'controlbar' },
      h('div', { class: 'bar-side' }, this.lockBtn, this.lobbyBtn),
      h('div', { class: 'bar-center' }, this.micBtn, this.camBtn, this.screenBtn, this.langBtn, this.settingsBtn, this.chatBtn, this.leaveBtn),
      h('div', { class: 'bar-side right' }),
      this.settings,
      this.langMenu,
    );

    // Chat panel.
    this.chatList = h('div', { class: 'chat-list', 'data-testid': 'chat-list', 'aria-live': 'polite' });
    this.chatEmpty = h('div', { class: 'chat-empty', text: 'Messages are visible to everyone in the call and disappear when it ends.' });
    this.chatList.append(this.chatEmpty);
    this.chatInput = h('textarea', { class: 'chat-input', 'data-testid': 'chat-input', rows: 1, maxlength: 4000, placeholder: 'Send a message', 'aria-label': 'Message' });
    this.chatInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.sendChat();
      }
    });
    this.chatSend = h('button', { class: 'icon-button send', type: 'submit', 'data-testid': 'chat-send', title: 'Send', 'aria-label': 'Send' }, icon('send'));
    const form = h('form', { class: 'chat-form', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); this.sendChat(); } }, this.chatInput, this.chatSend);
    this.chatPanel = h(
      'aside',
      { class: 'chat-panel', 'data-testid': 'chat-panel', 'aria-label': 'Chat' },
      h('div', { class: 'panel-head' }, h('h2', { text: 'In-call messages' }), h('button', { class: 'icon-button small', title: 'Close chat', 'aria-label': 'Close chat', onclick: () => this.toggleChat(false) }, icon('close'))),
      this.chatList,
      form,
    );

    this.stage = h('main', { class: 'stage' }, this.grid, this.lobbyPanel, this.chatPanel);
    this.audioHost = h('div', { class: 'audio-host', hidden: true });
    this.unlockBtn = h('button', { class: 'unlock-audio', hidden: true, onclick: () => this._unlockAudio() }, icon('speaker'), h('span', { text: 'Click to turn on sound' }));

    this.el = h(
      'div',
      { class: 'call', 'data-testid': 'call' },
      topbar,
      this.stage,
      bar,
      this.audioHost,
      this.unlockBtn,
      this.removeDialog,
    );
    root.replaceChildren(this.el);
    this._showMediaPath();
    this._tickClock();
    this._clock = setInterval(() => this._tickClock(), 15000);
    this._updateControls();
    this.render();
    this._wireRoom();
    /** Close the settings popover on a click elsewhere. @param {Event} e */
    this._outsideClick = (e) => {
      const target = /** @type {Node} */ (e.target);
      if (!this.settings.hidden && !this.settings.contains(target) && !this.settingsBtn.contains(target)) {
        this.settings.hidden = true;
        this.settingsBtn.classList.remove('active');
      }
      if (this.hostMenuFor) {
        const t = this.tiles.get(this.hostMenuFor);
        if (!t || !t.hostEl.contains(target)) this._setHostMenu(null);
      }
      if (!this.langMenu.hidden && !this.langMenu.contains(target) && !this.langBtn.contains(target) && !this.interpIndicator.contains(target)) {
        this.toggleLanguageMenu(false);
      }
    };
    /** @param {KeyboardEvent} e */
    this._onKey = (e) => {
      if (e.key === 'Escape' && this.hostMenuFor) this._setHostMenu(null);
      if (e.key === 'Escape' && !this.langMenu.hidden) {
        this.toggleLanguageMenu(false);
        this.langBtn.focus();
      }
    };
    document.addEventListener('keydown', this._onKey);
    document.addEventListener('pointerdown', this._outsideClick, true);
    this._ro = new ResizeObserver(() => this._layout());
    this._ro.observe(this.grid);
  }

  // ------------------------------------------------------------------ DOM


  /**
   * @param {string} testid
   * @param {string} iconName
   * @param {string} label
   * @param {() => void} onclick
   */
  _ctrl(testid, iconName, label, onclick) {
    return h('button', { class: 'ctrl', 'data-testid': testid, title: label, 'aria-label': label, onclick }, icon(iconName));
  }

  /** The media transport (UDP, or TCP when UDP is blocked) in the settings and as `data-media-path`. */
  _showMediaPath() {
    const path = this.room.mediaPath;
    if (this.el) this.el.dataset.mediaPath = path ?? '';
    if (!this.mediaPathEl) return;
    /** @type {Record<string, string>} */
    const texts = {
      udp: 'Connected over UDP',
      tcp: 'Connected over TCP (UDP is blocked on your network)',
      'relay-udp': 'Connected through the relay (your network blocks the direct way)',
      'relay-tcp': 'Connected through the relay over TCP (your network blocks the direct way)',
      'relay-tls': 'Connected through the relay over TLS (your network blocks the direct way)',
    };
    this.mediaPathEl.textContent = (path && texts[path]) || 'Connecting…';
    this.mediaPathEl.title =
      path && path !== 'udp' ? 'Audio and video take a longer way around your network, which may add delay when it is busy.' : '';
  }

  _tickClock() {
    this.clockEl.textContent = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    for (const el of this.lobbyList.querySelectorAll('[data-since]')) el.textContent = waitedFor(Number(/** @type {HTMLElement} */ (el).dataset.since));
  }

  // ------------------------------------------------------------------ room wiring

  _wireRoom() {
    const room = this.room;
    const rerender = () => this.render();
    room.on('participant_joined', (p) => {
      if (this.room.state === 'connected') toast(`${p.name || 'Someone'} joined`);
      rerender();
    });
    room.on('participant_left', ({ participant, reason }) => {
      if (this.mainSpeakerId === participant.id) this.mainSpeakerId = null;
      if (this._pendingMain?.id === participant.id) this._considerMainSpeaker(undefined);
      // Not when the server stops: everyone "leaves" then, and the call comes back by itself.
      if (this.room.state === 'connected' && reason !== 'server_shutdown') {
        const what = reason === 'timed_out' ? 'lost their connection' : reason === 'removed' ? 'was removed from the call by a host' : 'left';
        toast(`${participant.name || 'Someone'} ${what}`);
      }
      rerender();
    });
    room.on('participant_updated', rerender);
    room.on('active_speakers', ({ ids }) => {
      this._considerMainSpeaker(ids[0]);
      rerender();
    });
    room.on('connection_quality', rerender);
    room.on('video_layer', rerender);
    room.on('track_subscribed', rerender);
    room.on('track_unsubscribed', rerender);
    room.on('local_tracks_changed', rerender);
    room.on('chat', (m) => this._addChat(m));
    room.on('locked_changed', ({ locked, by }) => {
      if (by && this.room.state === 'connected') {
        const who = by === this.room.localParticipant ? 'You' : by.name || 'A host';
        toast(locked ? `${who} locked the call. Nobody new can join.` : `${who} unlocked the call.`);
      }
      this._updateHostControls();
    });
    room.on('muted_by_host', ({ source }) => {
      // The room already muted the track: the controls follow, as after our own mute button.
      if (source === 'microphone' || source === 'interpretation') {
        this.micMuted = true;
        toast('A host muted your microphone.');
      } else if (source === 'camera') {
        this.camOff = true;
        toast('A host turned off your camera.');
      } else {
        void this.stopScreenShare();
        toast('A host stopped your screen share.');
      }
      this._updateControls();
      this.render();
    });
    room.on('interpretation_changed', rerender);
    room.on('waiting', (info) => this._showWaiting(info));
    room.on('lobby_changed', ({ added }) => {
      // Hosts: someone knocks. The panel lists them; the toast makes sure it is noticed.
      for (const w of added) toast(`${w.name || w.identity || 'Someone'} is waiting to join.`);
      this._updateHostControls();
      this._renderLobby();
    });
    room.on('media_path_changed', () => this._showMediaPath());
    room.on('error', (err) => showError(err.message));
    room.on('reconnecting', (info) => {
      this._connectionBanner(
        'reconnecting',
        info.code === 4010 ? 'The server is restarting. Reconnecting…' : 'Connection lost. Reconnecting…',
        { spinner: true },
      );
      this._renderLobby();
      rerender();
    });
    room.on('reconnected', ({ resumed }) => {
      // After a resume nothing changed for the user; after a rejoin the call was set up again.
      if (resumed) this._connectionBanner('reconnected', 'Reconnected', { hideAfterMs: 2500 });
      else this._connectionBanner('rejoined', 'Rejoined the call', { hideAfterMs: 5000 });
      // A rejoin may have waited in the lobby again.
      this._hideWaiting();
      this._updateControls();
      this._updateHostControls();
      this._renderLobby();
      rerender();
    });
    room.on('shutting_down', () => {
      this._connectionBanner('restarting', 'The server is restarting. The call will reconnect by itself.', { spinner: false });
    });
    room.on('disconnected', (info) => {
      if (this.ended) return;
      this._end({ left: info.code === 1000 && info.reason === 'left', message: info.message, code: info.code, fromLobby: !!this.waitingView });
    });
  }

  /**
   * The large tile (three or more tiles) follows the active speaker, but only once a remote
   * participant stayed the active speaker for MAIN_SPEAKER_DWELL_MS: two people talking over each
   * other do not make the layout jump back and forth. Our own voice never moves it.
   * @param {string | undefined} first  the active speaker now, if any
   */
  _considerMainSpeaker(first) {
    const candidate = first && first !== this.room.localParticipant.id && this.room.participants.has(first) ? first : null;
    if (this._pendingMain && this._pendingMain.id !== candidate) {
      clearTimeout(this._pendingMain.timer);
      this._pendingMain = null;
    }
    if (!candidate || candidate === this.mainSpeakerId || this._pendingMain) return;
    const timer = setTimeout(() => {
      if (this._pendingMain?.timer !== timer) return;
      this._pendingMain = null;
      if (this.ended || this.room.activeSpeakers[0] !== candidate || !this.room.participants.has(candidate)) return;
      this.mainSpeakerId = candidate;
      this.render();
    }, MAIN_SPEAKER_DWELL_MS);
    this._pendingMain = { id: candidate, timer };
  }

  /** Join, then publish. Resolves when joined; rejects with a readable error if not. */
  async start() {
    try {
      await this.room.connect();
    } catch (err) {
      this._stopLocalTracks(this.opts.media);
      this._dropWaitingMedia();
      // Left while waiting in the lobby: the end screen is already shown.
      if (this.ended) return;
      this.destroy();
      throw err;
    }
    this._hideWaiting();
    this.status.textContent = '';
    this._updateHostControls();
    this._renderLobby();
    this.render();
    // The camera and microphone of the pre-join screen, or of the lobby's preview.
    const media = this.opts.media ?? (this._waitingMedia ? await this._waitingMedia : null);
    this._waitingMedia = null;
    if (this.ended) {
      this._stopLocalTracks(media);
      return;
    }
    const lp = this.room.localParticipant;
    if (!lp.grants.publish) {
      this._stopLocalTracks(media);
      toast('You joined as a viewer: you can watch and listen.');
      this._updateControls();
      return;
    }
    if (this.room.interpretPair) {
      await this._startInterpreting(media);
      return;
    }
    const got = media ?? (await getLocalMedia({ audio: true, video: true }));
    if (got.errors.length) showError(got.errors.join(' '));
    this.micTrack = got.audio;
    this.camTrack = got.video;
    this._updateControls();
    this.render();
    /** @type {Promise<unknown>[]} */
    const jobs = [];
    if (this.micTrack) jobs.push(this.room.publishTrack(this.micTrack, { source: 'microphone', muted: this.micMuted }));
    if (this.camTrack) jobs.push(this.room.publishTrack(this.camTrack, { source: 'camera', muted: this.camOff }));
    const results = await Promise.allSettled(jobs);
    for (const r of results) if (r.status === 'rejected') console.warn('hotline: publish failed', r.reason);
    this._updateControls();
    this.render();
  }

  /**
   * An interpreter sends its microphone as interpretation, on a channel of its pair, and no camera
   * (its grant allows audio only).
   * @param {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null} | null} media
   */
  async _startInterpreting(media) {
    media?.video?.stop();
    let audio = media?.audio ?? null;
    if (!audio) {
      const got = await getLocalMedia({ audio: true });
      if (got.errors.length) showError(got.errors.join(' '));
      audio = got.audio;
    }
    if (this.ended) {
      audio?.stop();
      return;
    }
    this.micTrack = audio;
    this.camTrack = null;
    this._updateControls();
    this.render();
    if (audio) {
      try {
        await this.room.publishTrack(audio, { source: 'interpretation', language: this._defaultOutput(), muted: this.micMuted });
      } catch (e) {
        console.warn('hotline: publishing the interpretation failed', e);
      }
    }
    this._updateControls();
    this.render();
  }

  /**
   * The channel an interpreter speaks on when it starts: the second language of its pair ("ru:en"
   * interprets into English), unless the room lacks it.
   * @returns {string | null}
   */
  _defaultOutput() {
    const pair = this.room.interpretPair;
    if (!pair) return null;
    const languages = this.room.interpretation?.languages;
    return !languages || languages.includes(pair[1]) ? pair[1] : pair[0];
  }

  /** @param {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null} | null} media */
  _stopLocalTracks(media) {
    media?.audio?.stop();
    media?.video?.stop();
  }

  // ------------------------------------------------------------------ controls

  get canPublish() {
    return this.room.localParticipant.grants.publish;
  }

  async toggleMic() {
    if (!this.canPublish || this.busy.mic) return;
    if (!this.micTrack) return this._publishMissing('mic');
    this.micMuted = !this.micMuted;
    this.room.setMuted(this.micTrack, this.micMuted);
    this._updateControls();
    this.render();
  }

  /**
   * Publishes the microphone or camera the user joined without (the first
   * press of its button), unmuted.
   * @param {'mic' | 'cam'} which
   */
  async _publishMissing(which) {
    const audio = which === 'mic';
    this.busy[which] = true;
    try {
      const got = await getLocalMedia(audio ? { audio: true } : { video: true });
      if (got.errors.length) showError(got.errors.join(' '));
      const track = audio ? got.audio : got.video;
      if (track) {
        if (audio) {
          this.micTrack = track;
          this.micMuted = false;
        } else {
          this.camTrack = track;
          this.camOff = false;
        }
        const interpreting = audio && !!this.room.interpretPair;
        await this.room.publishTrack(track, interpreting ? { source: 'interpretation', language: this._defaultOutput() } : { source: audio ? 'microphone' : 'camera' });
      }
    } catch (e) {
      console.warn(e);
    } finally {
      this.busy[which] = false;
      this._updateControls();
      this.render();
    }
  }

  async toggleCamera() {
    if (!this.canPublish || this.busy.cam || this.room.interpretPair) return;
    if (!this.camTrack) return this._publishMissing('cam');
    this.camOff = !this.camOff;
    this.room.setMuted(this.camTrack, this.camOff);
    this._updateControls();
    this.render();
  }

  async toggleScreen() {
    if (!this.canPublish || this.busy.screen || this.room.interpretPair) return;
    if (this.screenTrack) {
      await this.stopScreenShare();
      return;
    }
    this.busy.screen = true;
    try {
      /** @type {MediaStream} */
      let stream;
      try {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: true });
      } catch (err) {
        const name = err instanceof Error || err instanceof DOMException ? err.name : '';
        if (name !== 'NotAllowedError' && name !== 'AbortError') showError('We could not share your screen.');
        return;
      }
      const video = stream.getVideoTracks()[0];
      if (!video) return;
      video.contentHint = 'detail';
      this.screenTrack = video;
      this.screenAudioTrack = stream.getAudioTracks()[0] ?? null;
      video.addEventListener('ended', () => this.stopScreenShare());
      this._updateControls();
      this.render();
      await this.room.publishTrack(video, { source: 'screen', stream });
      if (this.screenAudioTrack) await this.room.publishTrack(this.screenAudioTrack, { source: 'screen_audio', stream });
    } catch (e) {
      console.warn('hotline: screen share failed', e);
      await this.stopScreenShare();
    } finally {
      this.busy.screen = false;
      this._updateControls();
    }
  }

  async stopScreenShare() {
    const v = this.screenTrack;
    const a = this.screenAudioTrack;
    this.screenTrack = null;
    this.screenAudioTrack = null;
    this._updateControls();
    this.render();
    for (const t of [v, a]) {
      if (!t) continue;
      t.stop();
      try {
        await this.room.unpublishTrack(t);
      } catch (e) {
        console.warn('hotline: unpublish failed', e);
      }
    }
  }

  /** @param {boolean} [open] */
  toggleChat(open) {
    this.chatOpen = open ?? !this.chatOpen;
    this.el.classList.toggle('chat-open', this.chatOpen);
    if (this.chatOpen) {
      this.unread = 0;
      this.chatInput.focus();
    }
    this._updateControls();
    requestAnimationFrame(() => this._layout());
  }

  async toggleSettings() {
    const show = this.settings.hidden;
    if (show && !this.langMenu.hidden) this.toggleLanguageMenu(false);
    this.settings.hidden = !show;
    this.settingsBtn.classList.toggle('active', show);
    if (show) {
      const { cameras, microphones } = await listDevices();
      fillDeviceSelect(this.camSelect, cameras, this.camTrack?.getSettings().deviceId, 'Camera');
      fillDeviceSelect(this.micSelect, microphones, this.micTrack?.getSettings().deviceId, 'Microphone');
      this.camSelect.disabled ||= !this.canPublish || !!this.room.interpretPair;
      this.micSelect.disabled ||= !this.canPublish;
    }
  }

  /** @param {string} deviceId */
  async switchCamera(deviceId) {
    if (!deviceId || !this.canPublish || this.room.interpretPair) return;
    const got = await getLocalMedia({ video: deviceId });
    if (!got.video) {
      showError(got.errors.join(' ') || 'We could not switch the camera.');
      return;
    }
    const old = this.camTrack;
    if (old && this.room.localParticipant.publicationOf(old)) {
      await this.room.replaceTrack(old, got.video);
      old.stop();
    } else {
      await this.room.publishTrack(got.video, { source: 'camera', muted: this.camOff });
    }
    got.video.enabled = !this.camOff;
    this.camTrack = got.video;
    this.render();
  }

  /** @param {string} deviceId */
  async switchMic(deviceId) {
    if (!deviceId || !this.canPublish) return;
    const got = await getLocalMedia({ audio: deviceId });
    if (!got.audio) {
      showError(got.errors.join(' ') || 'We could not switch the microphone.');
      return;
    }
    const old = this.micTrack;
    if (old && this.room.localParticipant.publicationOf(old)) {
      await this.room.replaceTrack(old, got.audio);
      old.stop();
    } else {
      const interpreting = !!this.room.interpretPair;
      await this.room.publishTrack(got.audio, interpreting ? { source: 'interpretation', language: this._defaultOutput(), muted: this.micMuted } : { source: 'microphone', muted: this.micMuted });
    }
    got.audio.enabled = !this.micMuted;
    this.micTrack = got.audio;
  }

  // ------------------------------------------------------------------ interpretation

  /**
   * Open or close the language menu.
   * @param {boolean} [open]
   */
  toggleLanguageMenu(open) {
    const show = open ?? this.langMenu.hidden;
    if (show && !this.room.interpretation) return;
    this.langMenu.hidden = !show;
    this.langBtn.classList.toggle('active', show);
    this.langBtn.setAttribute('aria-expanded', String(show));
    if (show) {
      this.settings.hidden = true;
      this.settingsBtn.classList.remove('active');
      this._renderInterpretation();
    }
  }

  /**
   * Hear a language's channel besides the floor, or (null) the floor alone. Takes effect at once,
   * without rejoining.
   * @param {string | null} language
   */
  chooseLanguage(language) {
    this.room.listen(language);
  }

  /**
   * The floor's volume (0..1) while a channel is heard; kept in this browser.
   * @param {number} v
   */
  setFloorVolume(v) {
    this.floorVolume = Math.min(1, Math.max(0, Number.isFinite(v) ? v : DEFAULT_FLOOR_VOLUME));
    try {
      localStorage.setItem(FLOOR_VOLUME_KEY, String(this.floorVolume));
    } catch {
      // not kept: fine
    }
    this._applyAudioVolumes();
    this._renderInterpretation();
  }

  /**
   * A participant's name for the interpretation UI ("You" for this client).
   * @param {string} id
   */
  _who(id) {
    if (id === this.room.localParticipant.id) return 'You';
    const p = this.room.participants.get(id);
    return p?.name || p?.identity || 'An interpreter';
  }

  /**
   * What a channel sounds like now, in a few words.
   * @param {InterpretationChannel | undefined} ch
   */
  _channelState(ch) {
    const me = this.room.localParticipant.id;
    if (ch?.live) return ch.live === me ? 'You are interpreting' : `${this._who(ch.live)} interpreting`;
    const standby = (ch?.interpreters ?? []).filter((id) => id !== me).map((id) => this._who(id));
    if (standby.length) return `Silent now · ${standby.join(', ')} on standby`;
    return 'No interpreter yet';
  }

  /** The language menu, the indicator in the top bar, and an interpreter's console. */
  _renderInterpretation() {
    const interp = this.room.state === 'connected' || this.room.state === 'reconnecting' ? this.room.interpretation : null;
    this.langBtn.hidden = !interp;
    this.interpIndicator.hidden = !interp;
    if (!interp) {
      if (!this.langMenu.hidden) this.toggleLanguageMenu(false);
      if (this.console) this.console.el.hidden = true;
      delete this.el.dataset.listening;
      return;
    }
    const listening = this.room.listening;
    const ch = this.room.channel(listening);
    const me = this.room.localParticipant.id;
    const heard = !!listening && !!ch?.live && ch.live !== me;
    this.el.dataset.listening = listening ?? 'floor';

    // The button in the control bar: the choice, short.
    this.langCode.textContent = listening ? listening.toUpperCase() : 'Floor';
    const label = listening ? `Language: ${languageName(listening)} (${this._channelState(ch)})` : 'Language: the floor (original)';
    this.langBtn.title = label;
    this.langBtn.setAttribute('aria-label', label);
    this.langBtn.dataset.state = !listening ? 'floor' : heard ? 'live' : 'silent';

    // The menu: the floor and each language, with who is live on it.
    const key = interp.languages.join(',');
    if (key !== this.langOptionsKey) {
      this.langOptionsKey = key;
      this.langOptionViews.clear();
      this.langOptions.replaceChildren(...['', ...interp.languages].map((lang) => this._languageOption(lang)));
    }
    for (const [lang, v] of this.langOptionViews) {
      const chosen = (lang || null) === listening;
      v.el.setAttribute('aria-checked', String(chosen));
      v.el.classList.toggle('chosen', chosen);
      if (!lang) {
        v.sub.textContent = 'The speakers’ own voices, at full volume';
        continue;
      }
      const c = this.room.channel(lang);
      const live = !!c?.live;
      v.el.dataset.live = String(live);
      const state = this._channelState(c);
      fill(v.sub, `${live}|${state}`, () => [live ? h('span', { class: 'live-dot', 'aria-hidden': 'true' }) : '', h('span', { text: state })]);
    }
    const silent = !!listening && !heard;
    this.langNotice.hidden = !silent;
    if (silent && listening) this.langNotice.textContent = `No interpreter on ${languageName(listening)} right now: you hear the floor`;
    this.floorValue.textContent = `${Math.round(this.floorVolume * 100)} %`;
    if (document.activeElement !== this.floorSlider) this.floorSlider.value = String(Math.round(this.floorVolume * 100));

    // The indicator in the top bar: what this listener hears now.
    const ind = this.interpIndicator;
    ind.dataset.state = !listening ? 'floor' : heard ? 'live' : 'silent';
    const liveNames = interp.channels.filter((c) => c.live).map((c) => languageName(c.language));
    const text = !listening
      ? liveNames.length ? `Floor · ${liveNames.join(', ')} interpreted` : 'Floor (original)'
      : heard && ch?.live ? `${languageName(listening)} · ${this._who(ch.live)}` : `No interpreter on ${languageName(listening)} right now: you hear the floor`;
    // On a phone, the silent channel's sentence is too long for the top bar: a shorter one there.
    const short = listening && !heard ? 'No interpreter · floor' : '';
    fill(ind, `${heard}|${text}`, () => [
      localIcon(HEADPHONES),
      heard ? h('span', { class: 'live-dot', 'aria-hidden': 'true' }) : '',
      h('span', { class: `interp-indicator-text${short ? ' has-short' : ''}`, text }),
      short ? h('span', { class: 'interp-indicator-text short', text: short }) : '',
    ]);
    ind.title = `${text}. Click to choose what you hear.`;

    this._renderConsole();
  }

  /**
   * One choice of the language menu ('' is the floor).
   * @param {string} lang
   * @returns {HTMLButtonElement}
   */
  _languageOption(lang) {
    const title = h('span', { class: 'lang-title' });
    if (lang) title.append(h('span', { text: languageName(lang) }), endonym(lang) ? h('span', { class: 'lang-endonym', text: endonym(lang) }) : '');
    else title.append(h('span', { text: 'Floor (original)' }));
    const sub = h('span', { class: 'lang-sub' });
    const el = h(
      'button',
      { class: 'lang-option', type: 'button', role: 'radio', 'aria-checked': 'false', 'data-testid': `language-option-${lang || 'floor'}`, 'data-language': lang || 'floor', onclick: () => this.chooseLanguage(lang || null) },
      h('span', { class: 'lang-check' }, localIcon(CHECK)),
      h('span', { class: 'lang-tag', text: lang ? lang.toUpperCase() : '' }),
      h('span', { class: 'lang-text' }, title, sub),
    );
    this.langOptionViews.set(lang, { el, title, sub });
    return el;
  }

  /**
   * An interpreter's console: ON AIR or not, the channel it speaks on (either language of its pair),
   * Take over / Go on air / Go off air, its microphone, its booth, and what it listens to (relay).
   * @param {[string, string]} pair
   * @returns {InterpreterConsole}
   */
  _buildConsole(pair) {
    const onAir = h('span', { class: 'on-air', 'data-testid': 'interpreter-on-air' });
    const status = h('p', { class: 'ic-status', 'data-testid': 'interpreter-status', role: 'status', 'aria-live': 'polite' });
    /** @type {Map<string, HTMLButtonElement>} */
    const outputs = new Map();
    for (const lang of pair) {
      outputs.set(lang, h('button', { class: 'ic-seg-btn', type: 'button', 'data-testid': `interpreter-output-${lang}`, 'data-language': lang, onclick: () => this._takeOutput(lang) },
        h('span', { class: 'lang-tag', text: lang.toUpperCase() }), h('span', { text: languageName(lang) })));
    }
    const take = h('button', { class: 'primary ic-take', type: 'button', 'data-testid': 'interpreter-take', onclick: () => this._takeOutput(null) });
    const release = h('button', { class: 'secondary ic-release', type: 'button', 'data-testid': 'interpreter-release', text: 'Go off air', onclick: () => this.room.releaseChannel() });
    const mic = h('button', { class: 'ic-mic', type: 'button', 'data-testid': 'interpreter-mic', onclick: () => this.toggleMic() });
    const micNote = h('p', { class: 'ic-mic-note', role: 'status', hidden: true, text: 'Your microphone is muted: your listeners hear silence.' });
    const boothTitle = h('h3', {});
    const booth = h('ul', { class: 'ic-booth', 'data-testid': 'interpreter-booth' });
    const listen = h('div', { class: 'ic-seg ic-listen', role: 'radiogroup', 'aria-label': 'Listening to' });
    const listenNote = h('p', { class: 'muted small ic-listen-note', 'data-testid': 'interpreter-listen-note' });
    const el = h(
      'aside',
      { class: 'interp-console', 'data-testid': 'interpreter-console', 'aria-label': 'Interpreter console' },
      h('div', { class: 'ic-head' }, h('h2', { text: 'Interpreter' }), onAir),
      status,
      h('div', { class: 'ic-section' }, h('h3', { text: 'You speak on' }), h('div', { class: 'ic-seg ic-outputs', role: 'group', 'aria-label': 'You speak on' }, ...outputs.values())),
      h('div', { class: 'ic-actions' }, take, release, mic),
      micNote,
      h('div', { class: 'ic-section' }, boothTitle, booth),
      h('div', { class: 'ic-section' }, h('h3', { text: 'Listening to' }), listen, listenNote),
    );
    this.stage.insertBefore(el, this.grid);
    return { el, onAir, status, outputs, take, release, mic, micNote, boothTitle, booth, listen, listenNote, listenKey: '' };
  }

  /**
   * Go on air on `lang` (null: on the channel spoken on now), taking over from whoever is live there.
   * @param {string | null} lang
   */
  _takeOutput(lang) {
    const pub = this.room.localParticipant.publication('interpretation');
    const target = lang ?? pub?.language ?? this._defaultOutput();
    if (!pub || !target) return;
    if (target === pub.language && this.room.channel(target)?.live === this.room.localParticipant.id) return;
    this.room.takeChannel(target);
  }

  _renderConsole() {
    const pair = this.room.interpretPair;
    if (!pair) return;
    const c = (this.console ??= this._buildConsole(pair));
    c.el.hidden = false;
    const lp = this.room.localParticipant;
    const pub = lp.publication('interpretation');
    const out = pub?.language ?? this._defaultOutput() ?? pair[1];
    const ch = this.room.channel(out);
    const live = !!pub && !!lp.id && ch?.live === lp.id;
    const other = ch?.live && ch.live !== lp.id ? ch.live : null;
    const state = live ? 'live' : other ? 'standby' : 'off';
    c.el.dataset.state = state;
    c.el.dataset.channel = out;
    c.onAir.textContent = live ? 'On air' : other ? 'Standby' : 'Off air';
    c.onAir.dataset.state = state;
    const name = languageName(out);
    c.status.textContent = !pub
      ? this.micTrack || this.busy.mic || this.room.state !== 'connected' ? 'Starting your microphone…' : 'No microphone: turn it on to interpret.'
      : live
        ? `Listeners of ${name} hear you.`
        : other
          ? `${this._who(other)} is on air on ${name}. Listeners do not hear you.`
          : `${name} is silent: its listeners hear the floor.`;
    for (const [lang, b] of c.outputs) {
      const current = lang === out;
      b.classList.toggle('chosen', current);
      b.setAttribute('aria-pressed', String(current));
      b.disabled = !pub;
      b.title = current ? `You speak on the ${languageName(lang)} channel` : `Move to the ${languageName(lang)} channel and go on air there`;
    }
    c.take.hidden = live;
    c.take.disabled = !pub;
    c.take.textContent = other ? `Take over from ${this._who(other)}` : 'Go on air';
    c.release.hidden = !live;
    const muted = !this.micTrack || this.micMuted;
    fill(c.mic, String(muted), () => [icon(muted ? 'micOff' : 'mic'), h('span', { text: muted ? 'Unmute' : 'Mute' })]);
    c.mic.classList.toggle('off', muted);
    c.mic.dataset.state = muted ? 'off' : 'on';
    c.mic.setAttribute('aria-label', muted ? 'Unmute your microphone' : 'Mute your microphone');
    c.micNote.hidden = !(live && muted);
    // The booth: everyone on this channel, live or standing by.
    c.boothTitle.textContent = `${name} booth`;
    const ids = ch?.interpreters.length ? ch.interpreters : lp.id ? [lp.id] : [];
    const rows = ids.map((id) => ({ id, name: id === lp.id ? `${lp.name || 'You'} (you)` : this._who(id), live: ch?.live === id }));
    fill(c.booth, JSON.stringify(rows), () =>
      rows.map((r) =>
        h('li', { 'data-participant-id': r.id, 'data-live': String(r.live) },
          h('span', { class: 'ic-booth-name', text: r.name }),
          h('span', { class: 'ic-booth-state', text: r.live ? 'on air' : 'standby' })),
      ),
    );
    // What the interpreter hears: the floor, or another channel (relay).
    const languages = this.room.interpretation?.languages ?? [];
    const key = languages.join(',');
    if (c.listenKey !== key) {
      c.listenKey = key;
      c.listen.replaceChildren(
        ...['', ...languages].map((lang) =>
          h('button', { class: 'ic-seg-btn', type: 'button', role: 'radio', 'data-testid': `interpreter-listen-${lang || 'floor'}`, 'data-language': lang || 'floor', onclick: () => this.chooseLanguage(lang || null) },
            lang ? h('span', { class: 'lang-tag', text: lang.toUpperCase() }) : '', h('span', { text: lang ? languageName(lang) : 'Floor' })),
        ),
      );
    }
    const listening = this.room.listening;
    for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (c.listen.querySelectorAll('button'))) {
      const lang = b.dataset.language === 'floor' ? null : b.dataset.language ?? null;
      const chosen = lang === listening;
      b.classList.toggle('chosen', chosen);
      b.setAttribute('aria-checked', String(chosen));
      const lch = this.room.channel(lang);
      b.title = !lang ? 'The original speakers' : lch?.live ? `${languageName(lang)}: ${this._channelState(lch)} (relay)` : `${languageName(lang)}: ${this._channelState(lch)}`;
    }
    const lch = this.room.channel(listening);
    c.listenNote.textContent = !listening
      ? 'You hear the original speakers.'
      : lch?.live && lch.live !== lp.id
        ? `Relay: you hear ${this._who(lch.live)} on ${languageName(listening)}, the floor lowered.`
        : `Nobody else is on air on ${languageName(listening)}: you hear the floor.`;
  }

  // ------------------------------------------------------------------ host controls

  toggleLock() {
    if (!this.room.isHost) return;
    this.room.lockRoom(!this.room.locked);
  }

  /** The locked indicator (everyone) and the lock button (hosts). */
  _updateHostControls() {
    const locked = this.room.locked;
    this.lockedEl.hidden = !locked;
    this.el.dataset.locked = String(locked);
    const host = this.room.isHost && this.room.state !== 'new' && this.room.state !== 'connecting' && this.room.state !== 'waiting';
    this.lockBtn.hidden = !host;
    const lobby = this.room.lobby;
    const lobbyOn = !!lobby?.enabled;
    this.lobbyBtn.hidden = !host || !lobby;
    this.lobbyBtn.dataset.state = lobbyOn ? 'on' : 'off';
    this.lobbyBtn.classList.toggle('active', lobbyOn);
    this.lobbyBtn.setAttribute('aria-pressed', String(lobbyOn));
    this.lobbyBtn.setAttribute('aria-label', 'Lobby');
    this.lobbyBtn.title = lobbyOn
      ? 'Newcomers wait in the lobby until a host lets them in. Click to let them join directly.'
      : 'Newcomers join directly. Click to make them wait until a host lets them in.';
    this.lobbyBtn.replaceChildren(icon('hourglass'), h('span', { text: lobbyOn ? 'Lobby on' : 'Lobby off' }));
    const label = locked ? 'Unlock call' : 'Lock call';
    this.lockBtn.dataset.state = locked ? 'locked' : 'unlocked';
    this.lockBtn.classList.toggle('active', locked);
    this.lockBtn.title = locked ? 'Let new people join this call again' : 'Stop new people from joining this call';
    this.lockBtn.setAttribute('aria-pressed', String(locked));
    this.lockBtn.setAttribute('aria-label', label);
    this.lockBtn.replaceChildren(icon('lock'), h('span', { text: label }));
  }

  /**
   * Open the host menu of a participant's tile (or close it with null).
   * @param {string | null} participantId
   */
  _setHostMenu(participantId) {
    this.hostMenuFor = participantId;
    for (const [key, t] of this.tiles) {
      const open = key === participantId;
      t.hostMenu.hidden = !open;
      t.hostBtn.setAttribute('aria-expanded', String(open));
      t.el.classList.toggle('menu-open', open);
    }
  }

  toggleLobby() {
    const lobby = this.room.lobby;
    if (!this.room.isHost || !lobby) return;
    this.room.setLobby(!lobby.enabled);
  }

  admitAll() {
    for (const w of this.room.lobby?.waiting ?? []) this.room.admitParticipant(w.participantId);
  }

  /** Hosts: the lobby panel, shown while anyone waits. */
  _renderLobby() {
    const lobby = this.room.isHost && this.room.state === 'connected' ? this.room.lobby : null;
    const waiting = lobby?.waiting ?? [];
    this.lobbyPanel.hidden = waiting.length === 0;
    this.lobbyPanel.dataset.count = String(waiting.length);
    this.lobbyCount.textContent = `${waiting.length} waiting to join`;
    this.lobbyAdmitAll.hidden = waiting.length < 2;
    this.lobbyList.replaceChildren(...waiting.map((w) => this._lobbyRow(w)));
  }

  /** @param {LobbyEntry} w */
  _lobbyRow(w) {
    const name = w.name || w.identity || 'Guest';
    /** @param {HTMLButtonElement} btn @param {() => boolean} act */
    const once = (btn, act) => () => {
      // The list is drawn again when the server says what happened.
      for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (row.querySelectorAll('button'))) b.disabled = true;
      if (!act()) for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (row.querySelectorAll('button'))) b.disabled = false;
    };
    const refuse = h('button', { class: 'secondary small-btn', type: 'button', 'data-testid': `refuse-${w.identity}`, 'data-action': 'refuse', title: `Do not let ${name} in`, text: 'Refuse' });
    const admit = h('button', { class: 'primary small-btn', type: 'button', 'data-testid': `admit-${w.identity}`, 'data-action': 'admit', title: `Let ${name} into the call`, text: 'Admit' });
    refuse.addEventListener('click', once(refuse, () => this.room.refuseParticipant(w.participantId)));
    admit.addEventListener('click', once(admit, () => this.room.admitParticipant(w.participantId)));
    const row = h(
      'li',
      { class: 'lobby-entry', 'data-testid': 'lobby-entry', 'data-participant-id': w.participantId, 'data-identity': w.identity, 'data-name': name },
      h('span', { class: 'avatar-circle lobby-avatar', text: initials(name), style: `background:${colorFor(name)}` }),
      h('div', { class: 'lobby-entry-main' }, h('div', { class: 'lobby-name', text: name }), h('div', { class: 'muted small', 'data-since': String(w.sinceMs), text: waitedFor(w.sinceMs) })),
      h('div', { class: 'lobby-actions' }, refuse, admit),
    );
    return row;
  }

  /** @param {string} participantId */
  _hostCameraOff(participantId) {
    this._setHostMenu(null);
    const p = this.room.participants.get(participantId);
    const cam = p?.trackInfo('camera');
    if (!p || !cam || cam.muted) return;
    this.room.muteParticipant(p.id, cam.track_id);
  }

  // ------------------------------------------------------------------ the lobby's waiting screen

  /**
   * Waiting in the lobby: the call is replaced by a card saying so (again when a host comes or goes).
   * @param {WaitingInfo} info
   */
  _showWaiting(info) {
    if (this.ended) return;
    let v = this.waitingView;
    if (!v) {
      v = this._buildWaitingView();
      this.waitingView = v;
      this.opts.root.replaceChildren(v.page);
      this._startWaitingPreview(v);
    }
    v.card.dataset.hostsPresent = String(info.hostsPresent);
    v.text.textContent = info.hostsPresent
      ? 'A host of this call knows you are here. You will join as soon as they let you in.'
      : 'No host is in the call yet. You will get in as soon as a host joins and admits you.';
    const name = info.name || this.opts.displayName;
    v.who.replaceChildren(
      h('div', { class: 'lobby-fact' }, h('span', { class: 'muted', text: 'Call' }), h('span', { 'data-testid': 'lobby-call-title', text: this.opts.title || info.room || this.opts.roomName })),
      h('div', { class: 'lobby-fact' }, h('span', { class: 'muted', text: 'Joining as' }), h('span', { 'data-testid': 'lobby-name', text: name || 'Guest' })),
    );
    const circle = /** @type {HTMLElement} */ (v.avatar.firstElementChild);
    circle.textContent = initials(name || '?');
    circle.style.background = colorFor(name || '?');
  }

  /** @returns {WaitingView} */
  _buildWaitingView() {
    const video = h('video', { class: 'mirrored', autoplay: true, playsinline: true, 'data-testid': 'lobby-preview' });
    video.muted = true;
    const avatarNote = h('span', { class: 'muted small', 'data-testid': 'lobby-preview-note' });
    const avatar = h('div', { class: 'lobby-preview-off' }, h('span', { class: 'avatar-circle' }), avatarNote);
    const title = h('h1', { text: 'Waiting for a host to let you in' });
    const text = h('p', { class: 'muted lobby-text', 'data-testid': 'lobby-text' });
    const who = h('div', { class: 'lobby-facts' });
    const card = h(
      'div',
      { class: 'card lobby-card', 'data-testid': 'lobby-waiting', role: 'status', 'aria-live': 'polite' },
      brand(),
      h('div', { class: 'lobby-preview' }, video, avatar),
      h('div', { class: 'lobby-title' }, h('span', { class: 'pulse-dot', 'aria-hidden': 'true' }), title),
      text,
      who,
      h('div', { class: 'actions' }, h('button', { class: 'secondary', type: 'button', 'data-testid': 'lobby-leave', text: 'Leave', onclick: () => this.leave() })),
    );
    return { page: h('div', { class: 'center-page lobby-page' }, card), card, title, text, who, video, avatar, avatarNote };
  }

  /**
   * The person's own camera on the waiting screen: the pre-join screen's, or asked for now (it is
   * published once a host lets them in). Not for a token that may not publish.
   * @param {WaitingView} v
   */
  _startWaitingPreview(v) {
    /** @param {MediaStreamTrack | null | undefined} track @param {string} note */
    const show = (track, note) => {
      if (this.waitingView !== v) return;
      const on = !!track && !this.camOff;
      v.video.srcObject = on && track ? new MediaStream([track]) : null;
      v.video.hidden = !on;
      v.avatar.hidden = on;
      v.avatarNote.textContent = note;
    };
    /** @param {MediaStreamTrack | null | undefined} track */
    const offNote = (track) => (track ? 'Your camera is off' : 'No camera');
    if (this.opts.media) {
      show(this.opts.media.video, offNote(this.opts.media.video));
      return;
    }
    const grants = /** @type {Record<string, unknown> | undefined} */ (decodeToken(this.opts.token)?.grants);
    if (grants?.publish === false) {
      show(null, 'You will watch and listen');
      return;
    }
    if (Array.isArray(grants?.interpret)) {
      // An interpreter sends no picture: only its microphone is asked for.
      show(null, 'You will interpret: your voice only');
      if (!this._waitingMedia) this._waitingMedia = getLocalMedia({ audio: true });
      return;
    }
    show(null, 'Starting your camera…');
    if (!this._waitingMedia) this._waitingMedia = getLocalMedia({ audio: true, video: true });
    void this._waitingMedia.then((m) => show(m.video, offNote(m.video)));
  }

  /** Back from the lobby to the call screen. */
  _hideWaiting() {
    const v = this.waitingView;
    if (!v) return;
    this.waitingView = null;
    v.video.srcObject = null;
    if (!this.ended) {
      this.opts.root.replaceChildren(this.el);
      requestAnimationFrame(() => this._layout());
    }
  }

  /** Stop the lobby preview's camera and microphone, unless they were published. */
  _dropWaitingMedia() {
    const p = this._waitingMedia;
    this._waitingMedia = null;
    void p?.then((m) => this._stopLocalTracks(m));
  }

  /** @param {string} participantId */
  _hostMute(participantId) {
    this._setHostMenu(null);
    const p = this.room.participants.get(participantId);
    const mic = p?.trackInfo('microphone');
    if (!p || !mic || mic.muted) return;
    this.room.muteParticipant(p.id, mic.track_id);
  }

  /** Ask, then remove the participant. @param {string} participantId */
  _confirmRemove(participantId) {
    this._setHostMenu(null);
    const p = this.room.participants.get(participantId);
    if (!p) return;
    const name = p.name || p.identity || 'this person';
    const d = this.removeDialog;
    const close = () => d.close();
    d.replaceChildren(
      h('h2', { text: `Remove ${name} from the call?` }),
      h('p', { class: 'muted', text: 'They will leave the call right away and cannot join it again while it lasts.' }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { class: 'secondary', type: 'button', 'data-testid': 'remove-cancel', text: 'Cancel', onclick: close }),
        h('button', {
          class: 'danger',
          type: 'button',
          'data-testid': 'remove-confirm',
          text: 'Remove',
          onclick: () => {
            close();
            if (this.room.participants.has(participantId)) this.room.removeParticipant(participantId);
          },
        }),
      ),
    );
    d.showModal();
  }

  sendChat() {
    const text = this.chatInput.value.trim();
    if (!text) return;
    if (this.room.sendChat(text)) this.chatInput.value = '';
  }

  leave() {
    if (this.ended) return;
    this.room.leave();
  }

  _updateControls() {
    const can = this.room.state === 'new' || this.room.state === 'connecting' || this.room.state === 'waiting' ? true : this.canPublish;
    const noPublish = 'Your invitation lets you watch only.';
    /**
     * @param {HTMLButtonElement} btn
     * @param {boolean} on
     * @param {string} onIcon
     * @param {string} offIcon
     * @param {string} onLabel
     * @param {string} offLabel
     */
    const set = (btn, on, onIcon, offIcon, onLabel, offLabel) => {
      btn.classList.toggle('off', !on);
      btn.dataset.state = on ? 'on' : 'off';
      btn.setAttribute('aria-pressed', String(!on));
      const label = can ? (on ? onLabel : offLabel) : noPublish;
      btn.title = label;
      btn.setAttribute('aria-label', label);
      btn.disabled = !can;
      btn.replaceChildren(icon(on ? onIcon : offIcon));
    };
    set(this.micBtn, !!this.micTrack && !this.micMuted, 'mic', 'micOff', 'Mute microphone', this.micTrack ? 'Unmute microphone' : 'Turn on microphone');
    set(this.camBtn, !!this.camTrack && !this.camOff, 'video', 'videoOff', 'Turn camera off', 'Turn camera on');
    // An interpreter sends its voice only: no camera, no screen.
    const interpreter = !!this.room.interpretPair;
    this.camBtn.hidden = interpreter;
    this.screenBtn.hidden = interpreter || !this.screenSupported;
    // The screen button is "on" (highlighted) while sharing.
    this.screenBtn.classList.toggle('active', !!this.screenTrack);
    this.screenBtn.dataset.state = this.screenTrack ? 'on' : 'off';
    this.screenBtn.disabled = !can;
    this.screenBtn.title = can ? (this.screenTrack ? 'Stop sharing' : 'Share your screen') : noPublish;
    this.screenBtn.replaceChildren(icon(this.screenTrack ? 'screenOff' : 'screen'));
    this.chatBtn.classList.toggle('active', this.chatOpen);
    this.chatBadge.hidden = this.unread === 0;
    this.chatBadge.textContent = this.unread > 9 ? '9+' : String(this.unread);
    this.chatBtn.append(this.chatBadge);
  }

  // ------------------------------------------------------------------ chat

  /** @param {ChatMessage} m */
  _addChat(m) {
    this.chatEmpty.remove();
    const last = /** @type {HTMLElement | null} */ (this.chatList.lastElementChild);
    const grouped = last?.dataset.from === m.from && m.sentAt - Number(last?.dataset.at ?? 0) < 120000;
    const msg = h(
      'div',
      { class: `chat-message${m.local ? ' own' : ''}${grouped ? ' grouped' : ''}`, 'data-from': m.from, 'data-at': String(m.sentAt) },
      h('div', { class: 'chat-meta' }, h('span', { class: 'chat-sender', text: m.local ? `${m.name} (you)` : m.name }), h('time', { class: 'chat-time', text: formatTime(m.sentAt) })),
      h('div', { class: 'chat-text', text: m.text }),
    );
    const nearBottom = this.chatList.scrollHeight - this.chatList.scrollTop - this.chatList.clientHeight < 80;
    this.chatList.append(msg);
    if (nearBottom || m.local) this.chatList.scrollTop = this.chatList.scrollHeight;
    if (!this.chatOpen && !m.local) {
      this.unread++;
      toast(`${m.name}: ${m.text.length > 60 ? m.text.slice(0, 60) + '…' : m.text}`);
      this._updateControls();
    }
  }

  // ------------------------------------------------------------------ tiles

  /** @param {MediaStreamTrack} track */
  _localStream(track) {
    let s = this.localStreams.get(track);
    if (!s) {
      s = new MediaStream([track]);
      this.localStreams.set(track, s);
    }
    return s;
  }

  /** @returns {TileEntry[]} */
  _entries() {
    const lp = this.room.localParticipant;
    const myName = lp.name || this.opts.displayName;
    /** @type {TileEntry[]} */
    const out = [];
    // Interpreters have no picture: they are not tiles (the language menu and the interpreter's
    // console show them), the interpreter's own tile neither.
    const booths = new Set((this.room.interpretation?.channels ?? []).flatMap((c) => c.interpreters));
    if (!this.room.interpretPair) {
      out.push({
        key: 'local',
        participantId: lp.id,
        name: myName,
        isLocal: true,
        isScreen: false,
        stream: this.camTrack && !this.camOff ? this._localStream(this.camTrack) : null,
        // A viewer (no publish grant) has no microphone at all: no muted icon for them.
        micMuted: lp.grants.publish || this.room.state !== 'connected' ? !this.micTrack || this.micMuted : false,
        cameraOn: false,
        // Our own connection state is told by the banner in the top bar, not on our tile.
        reconnecting: false,
        speaking: lp.speaking,
        activeSpeaker: !!lp.id && this.room.activeSpeakers[0] === lp.id,
        quality: lp.quality,
        track: null,
        videoPaused: false,
      });
    }
    const screenOf = { micMuted: false, cameraOn: false, speaking: false, activeSpeaker: false, quality: undefined };
    if (this.screenTrack) {
      out.push({ key: 'local:screen', participantId: lp.id, name: myName, isLocal: true, isScreen: true, stream: this._localStream(this.screenTrack), reconnecting: false, track: null, videoPaused: false, ...screenOf });
    }
    /** @param {RemoteTrack | undefined} t */
    const pausedForBandwidth = (t) => !!t?.layer?.paused && t.layer.reason === 'bandwidth';
    for (const p of this.room.participants.values()) {
      if (p.isInterpreter || booths.has(p.id)) continue;
      const cam = p.subscribed('camera');
      const camShown = !!cam && !p.isCameraOff;
      out.push({
        key: p.id,
        participantId: p.id,
        name: p.name || p.identity || 'Guest',
        isLocal: false,
        isScreen: false,
        stream: camShown ? cam.mediaStream : null,
        micMuted: p.isMicrophoneMuted,
        cameraOn: !p.isCameraOff,
        reconnecting: p.connection === 'reconnecting',
        speaking: p.speaking,
        activeSpeaker: this.room.activeSpeakers[0] === p.id,
        quality: p.quality,
        track: camShown ? cam : null,
        videoPaused: camShown && pausedForBandwidth(cam),
      });
      const screen = p.subscribed('screen');
      if (screen) {
        out.push({ key: `${p.id}:screen`, participantId: p.id, name: p.name, isLocal: false, isScreen: true, stream: screen.mediaStream, reconnecting: p.connection === 'reconnecting', track: screen, videoPaused: pausedForBandwidth(screen), ...screenOf });
      }
    }
    return out;
  }

  render() {
    if (this.ended) return;
    const entries = this._entries();
    const seen = new Set();
    for (const e of entries) {
      seen.add(e.key);
      let t = this.tiles.get(e.key);
      if (!t) {
        t = this._createTile(e);
        this.tiles.set(e.key, t);
      }
      this._updateTile(t, e);
      this.grid.append(t.el); // keeps order (moves existing nodes)
    }
    for (const [key, t] of this.tiles) {
      if (!seen.has(key)) {
        if (this.hostMenuFor === key) this.hostMenuFor = null;
        t.sizer?.dispose();
        t.video.srcObject = null;
        t.el.remove();
        this.tiles.delete(key);
      }
    }
    this.countEl.textContent = String(1 + this.room.participants.size);
    this.grid.dataset.count = String(entries.length);
    this._renderAudio();
    this._renderInterpretation();
    this._updateQualityNotice();
    this._layout();
  }

  /** @param {TileEntry} e @returns {TileView} */
  _createTile(e) {
    const video = h('video', { autoplay: true, playsinline: true });
    video.muted = true; // sound plays through <audio> elements
    const avatar = h('div', { class: 'avatar' }, h('span', { class: 'avatar-circle', text: initials(e.name), style: `background:${colorFor(e.name)}` }));
    const micIcon = h('span', { class: 'mic-muted', 'data-testid': 'mic-muted', title: 'Microphone muted', 'aria-label': 'Microphone muted' }, icon('micOff'));
    const nameEl = h('span', { class: 'name' });
    // Shown (with the tile dimmed by CSS) while the server has not heard from this participant.
    const badge = h('div', { class: 'reconnecting-badge', 'data-testid': 'reconnecting', role: 'status', title: 'Connection lost: waiting for this person to come back' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text: 'Reconnecting…' }));
    const attrs = e.isScreen
      ? { class: 'tile screen', 'data-screen-of': e.participantId, 'data-participant-name': undefined }
      : { class: `tile${e.isLocal ? ' local' : ''}`, 'data-participant-id': e.participantId, 'data-participant-name': e.name, 'data-local': e.isLocal ? 'true' : undefined };
    // Lit (with moving bars) while the server hears this participant speak.
    const speakingEl = h('span', { class: 'speaking-indicator', 'data-testid': 'speaking', title: 'Speaking', 'aria-label': 'Speaking', hidden: true },
      h('i'), h('i'), h('i'));
    // Three signal bars: the connection quality the server judged for this participant.
    const qualityEl = h('div', { class: 'quality', 'data-testid': 'quality', role: 'img', hidden: true }, h('i'), h('i'), h('i'));
    // Shown while the server holds this video back because our download is too slow for it.
    const pausedEl = h('div', { class: 'video-paused-note', 'data-testid': 'video-paused', role: 'status', hidden: true },
      icon('videoOff'), h('span', { text: 'Video paused — your connection is slow' }));
    // Hosts only, on someone else's tile: mute or remove them.
    const pid = e.participantId;
    const hostBtn = h('button', { class: 'host-menu-button', type: 'button', 'data-testid': 'host-menu', title: `Host actions for ${e.name}`, 'aria-label': `Host actions for ${e.name}`, 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      onclick: () => this._setHostMenu(this.hostMenuFor === pid ? null : pid) }, h('span', { class: 'icon', 'aria-hidden': 'true', html: MORE_ICON }));
    const muteItem = h('button', { class: 'host-menu-item', type: 'button', role: 'menuitem', 'data-testid': 'host-mute-mic', onclick: () => this._hostMute(pid) }, icon('micOff'), h('span', { text: 'Mute microphone' }));
    const cameraItem = h('button', { class: 'host-menu-item', type: 'button', role: 'menuitem', 'data-testid': 'host-camera-off', onclick: () => this._hostCameraOff(pid) }, icon('videoOff'), h('span', { text: 'Turn off camera' }));
    const removeItem = h('button', { class: 'host-menu-item danger-item', type: 'button', role: 'menuitem', 'data-testid': 'host-remove', onclick: () => this._confirmRemove(pid) }, icon('leave'), h('span', { text: 'Remove from call' }));
    const hostMenu = h('div', { class: 'host-menu-list', role: 'menu', hidden: true }, muteItem, cameraItem, removeItem);
    const hostEl = h('div', { class: 'host-menu', hidden: true }, hostBtn, hostMenu);
    const el = h('div', attrs, video, avatar, badge, pausedEl, qualityEl, hostEl, h('div', { class: 'label' }, micIcon, speakingEl, nameEl));
    video.addEventListener('resize', () => el.classList.toggle('portrait', video.videoHeight > video.videoWidth));
    // Remote video only: the server sends no larger layer than the tile shows, and none while it is not visible.
    const sizer = e.isLocal ? null : new VideoSizeObserver(this.room, video);
    return { el, video, avatar, nameEl, micIcon, badge, speakingEl, qualityEl, pausedEl, sizer, stream: null, hostEl, hostBtn, hostMenu, muteItem, cameraItem };
  }

  /** @param {TileView} t @param {TileEntry} e */
  _updateTile(t, e) {
    if (!e.isScreen) {
      if (e.participantId) t.el.dataset.participantId = e.participantId;
      t.el.dataset.participantName = e.name;
    }
    t.nameEl.textContent = e.isScreen ? `${e.name} is presenting` : e.isLocal ? `${e.name} (You)` : e.name;
    const avatarCircle = /** @type {HTMLElement} */ (t.avatar.firstElementChild);
    if (avatarCircle.textContent !== initials(e.name)) {
      avatarCircle.textContent = initials(e.name);
      avatarCircle.style.background = colorFor(e.name);
    }
    if (t.stream !== e.stream) {
      t.stream = e.stream;
      t.video.srcObject = e.stream;
      if (e.stream) t.video.play().catch(() => {});
    }
    t.el.classList.toggle('video-off', !e.stream);
    t.el.dataset.cameraOff = String(!e.stream);
    t.sizer?.setTrack(e.track);
    // The reconnecting badge says more (their video stopped anyway) and takes the same place.
    t.pausedEl.hidden = !e.videoPaused || e.reconnecting;
    t.el.dataset.videoPaused = String(e.videoPaused);
    t.el.dataset.micMuted = String(e.micMuted);
    t.micIcon.hidden = e.isScreen || !e.micMuted;
    const hostActions = this.room.isHost && !e.isLocal && !e.isScreen && this.room.state === 'connected';
    t.hostEl.hidden = !hostActions;
    t.muteItem.hidden = e.micMuted;
    t.cameraItem.hidden = !e.cameraOn;
    if (!hostActions && this.hostMenuFor === e.key) this._setHostMenu(null);
    t.badge.hidden = !e.reconnecting;
    t.el.dataset.connection = e.reconnecting ? 'reconnecting' : 'connected';
    t.el.classList.toggle('mirrored', e.isLocal && !e.isScreen);
    if (e.isScreen) {
      t.speakingEl.hidden = true;
      t.qualityEl.hidden = true;
      return;
    }
    t.el.dataset.speaking = String(e.speaking);
    t.el.dataset.activeSpeaker = String(e.activeSpeaker);
    // The mic-muted badge wins: a muted participant is never shown as speaking.
    t.speakingEl.hidden = !e.speaking || e.micMuted;
    if (e.quality) {
      const label = `Connection: ${QUALITY_WORDS[e.quality]}`;
      t.el.dataset.quality = e.quality;
      t.qualityEl.dataset.quality = e.quality;
      t.qualityEl.title = label;
      t.qualityEl.setAttribute('aria-label', label);
      t.qualityEl.hidden = false;
    } else {
      delete t.el.dataset.quality;
      delete t.qualityEl.dataset.quality;
      t.qualityEl.hidden = true;
    }
  }

  /** A calm notice in the top bar while the server judges our own connection poor. */
  _updateQualityNotice() {
    const poor = this.room.localParticipant.quality === 'poor' && this.room.state === 'connected';
    // The connection banner (reconnecting, server restarting) says more: it takes the place.
    this.qualityNotice.hidden = !poor || !this.connBanner.hidden;
    this.el.dataset.quality = this.room.localParticipant.quality ?? '';
    // Either of them in the middle of the top bar: the interpretation indicator makes way (CSS).
    this.el.classList.toggle('top-notice', !this.qualityNotice.hidden || !this.connBanner.hidden);
  }

  _renderAudio() {
    /** @type {Map<string, RemoteTrack>} */
    const want = new Map();
    for (const p of this.room.participants.values()) {
      for (const t of p.subscribedTracks.values()) if (t.kind === 'audio') want.set(t.trackId, t);
    }
    this.audioTracks = want;
    for (const [id, t] of want) {
      if (this.audioEls.has(id)) continue;
      const a = h('audio', { autoplay: true, 'data-track-id': id, 'data-source': t.source });
      a.srcObject = t.mediaStream;
      this.audioHost.append(a);
      this.audioEls.set(id, a);
      a.play().catch(() => {
        this.needsAudioUnlock = true;
        this.unlockBtn.hidden = false;
      });
    }
    for (const [id, a] of this.audioEls) {
      if (!want.has(id)) {
        a.srcObject = null;
        a.remove();
        this.audioEls.delete(id);
      }
    }
    this._applyAudioVolumes();
  }

  /**
   * What this listener hears. The floor (microphones, shared screens' sound) at full volume, except
   * while the chosen channel has a live interpreter: then that channel at full volume and the floor
   * at the floor volume. Interpretation tracks of other channels are silent here (the server does
   * not send them anyway). Played by each track's <audio> element (its `volume`), the way remote
   * audio always plays, so the browser's echo cancellation knows it.
   */
  _applyAudioVolumes() {
    const listening = this.room.listening;
    const live = this.room.channel(listening)?.live;
    // Our own voice never comes back to us: on our own channel, nobody else is heard while we are live.
    const interpreted = !!listening && !!live && live !== this.room.localParticipant.id;
    const floor = interpreted ? this.floorVolume : 1;
    for (const [id, a] of this.audioEls) {
      const t = this.audioTracks.get(id);
      if (!t) continue;
      const interpretation = t.source === 'interpretation';
      // The whole booth of the chosen channel plays: the server forwards only its live interpreter,
      // switching at a packet boundary, so a handover is heard without a gap or an overlap.
      const v = interpretation ? (listening && t.language === listening ? 1 : 0) : floor;
      if (a.volume !== v) a.volume = v;
      a.dataset.role = interpretation ? `channel-${t.language ?? ''}` : 'floor';
    }
  }

  _unlockAudio() {
    this.unlockBtn.hidden = true;
    this.needsAudioUnlock = false;
    for (const a of this.audioEls.values()) a.play().catch(() => {});
  }

  _layout() {
    let n = this.tiles.size;
    if (n === 0) return;
    let W = this.grid.clientWidth - 24;
    let H = this.grid.clientHeight - 24;
    if (W <= 0 || H <= 0) return;
    const gap = 12;
    const ratio = 16 / 9;
    // Spotlight: when someone presents, the screen gets most of the stage and
    // the people a row of small tiles below it. Without a screen, from three tiles on, the
    // latest remote active speaker is the large tile in the same way.
    const screenKeys = [...this.tiles.keys()].filter((k) => k.endsWith(':screen'));
    /** @type {string[]} */
    let featured = screenKeys;
    if (!featured.length && n >= 3 && this.mainSpeakerId && this.tiles.has(this.mainSpeakerId)) featured = [this.mainSpeakerId];
    const spotlight = featured.length > 0 && n > featured.length;
    this.grid.classList.toggle('spotlight', spotlight);
    this.grid.classList.toggle('speaker-view', spotlight && !screenKeys.length);
    for (const [key, t] of this.tiles) {
      const on = spotlight && featured.includes(key);
      t.el.classList.toggle('featured', on);
      if (on) t.el.dataset.featured = 'true';
      else delete t.el.dataset.featured;
    }
    if (spotlight) {
      // The small tiles fit in one row: smaller than usual when there are many.
      const small = n - featured.length;
      let smallH = Math.max(90, Math.min(150, H * 0.2));
      const rowW = (W - gap * (small - 1)) / small;
      if (smallH * ratio > rowW) smallH = Math.max(40, rowW / ratio);
      this.grid.style.setProperty('--small-w', `${Math.floor(smallH * ratio)}px`);
      this.grid.style.setProperty('--small-h', `${Math.floor(smallH)}px`);
      H = H - smallH - gap;
      n = featured.length;
    }
    let best = { w: 0, h: 0 };
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      let w = (W - gap * (cols - 1)) / cols;
      let hgt = (H - gap * (rows - 1)) / rows;
      if (w / hgt > ratio) w = hgt * ratio;
      else hgt = w / ratio;
      if (w > best.w) best = { w, h: hgt };
    }
    this.grid.style.setProperty('--tile-w', `${Math.floor(best.w)}px`);
    this.grid.style.setProperty('--tile-h', `${Math.floor(best.h)}px`);
  }

  /**
   * Show the connection banner (`data-state` = kind), or hide it with kind null.
   * @param {'reconnecting' | 'reconnected' | 'rejoined' | 'restarting' | null} kind
   * @param {string} [text]
   * @param {{spinner?: boolean, hideAfterMs?: number}} [o]
   */
  _connectionBanner(kind, text = '', o = {}) {
    if (this._connBannerTimer) clearTimeout(this._connBannerTimer);
    this._connBannerTimer = null;
    const b = this.connBanner;
    if (!kind) {
      b.hidden = true;
      delete b.dataset.state;
      b.replaceChildren();
      this._updateQualityNotice();
      return;
    }
    b.dataset.state = kind;
    b.replaceChildren(
      o.spinner ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : icon(kind === 'restarting' ? 'alert' : 'check'),
      h('span', { class: 'conn-banner-text', text }),
    );
    b.hidden = false;
    this._updateQualityNotice();
    if (o.hideAfterMs) this._connBannerTimer = setTimeout(() => this._connectionBanner(null), o.hideAfterMs);
  }

  // ------------------------------------------------------------------ ending

  /** @param {EndInfo} info */
  _end(info) {
    if (this.ended) return;
    this.destroy();
    this.opts.onEnd(info);
  }

  destroy() {
    this.ended = true;
    this._dropWaitingMedia();
    if (this.waitingView) this.waitingView.video.srcObject = null;
    this.waitingView = null;
    clearInterval(this._clock);
    if (this._connBannerTimer) clearTimeout(this._connBannerTimer);
    if (this._pendingMain) clearTimeout(this._pendingMain.timer);
    this._pendingMain = null;
    this._ro?.disconnect();
    for (const t of [this.micTrack, this.camTrack, this.screenTrack, this.screenAudioTrack]) t?.stop();
    for (const t of this.tiles.values()) {
      t.sizer?.dispose();
      t.video.srcObject = null;
    }
    for (const a of this.audioEls.values()) a.srcObject = null;
    clearError();
    document.querySelector('.toasts')?.remove();
    document.removeEventListener('pointerdown', this._outsideClick, true);
    document.removeEventListener('keydown', this._onKey);
    if (this.removeDialog.open) this.removeDialog.close();
  }
}
