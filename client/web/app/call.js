// The call screen: tiles grid, control bar, chat panel, settings popover.

import { Room, VideoSizeObserver, HotlineError, CLOSE_CODE_MESSAGES, ERROR_CODE_MESSAGES } from '../sdk/index.js';
import { h, icon, initials, colorFor, formatTime, showError, clearError, toast, decodeToken, languageMenu, cardHead } from './ui.js';
import { getLocalMedia, listDevices, fillDeviceSelect } from './media.js';
import { t, tryT, locale, localized, onLocaleChange } from '../i18n/index.js';
import en from '../i18n/en.js';

/**
 * @typedef {import('../sdk/index.js').RemoteParticipant} RemoteParticipant
 * @typedef {import('../sdk/index.js').RemoteTrack} RemoteTrack
 * @typedef {import('../sdk/room.js').ChatMessage} ChatMessage
 * @typedef {import('../sdk/room.js').DisconnectInfo} DisconnectInfo
 * @typedef {import('../sdk/signal.js').ConnectionQuality} ConnectionQuality
 * @typedef {import('../sdk/room.js').WaitingInfo} WaitingInfo
 * @typedef {import('../sdk/room.js').LobbyEntry} LobbyEntry
 * @typedef {import('../sdk/room.js').InterpretationChannel} InterpretationChannel
 * @typedef {import('./media.js').LocalMedia} LocalMedia
 * @typedef {import('../i18n/index.js').MessageKey} MessageKey
 * @typedef {ReturnType<typeof localized>} Localized   texts drawn again when the language changes
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
 * @property {Localized} lx                   the tile's own texts
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
 * @property {HTMLButtonElement} mic       the microphone the person will join with: on or off
 * @property {HTMLButtonElement} cam       the camera, likewise
 * @property {MediaStreamTrack | null} audio    the microphone's track, once there is one
 * @property {MediaStreamTrack | null} camera   the camera's track, once there is one
 * @property {boolean} pending             camera and microphone asked for, not there yet
 * @property {MessageKey | null} noteKey   what avatarNote says, whatever the camera (a viewer, an interpreter)
 * @property {Localized} lx
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
 * A language's name in `locale` ("English"; "русский" for ru in ru), or null when unknown; as a
 * title (capitalized: "Русский") unless `inText`.
 * @param {string} tag @param {string} locale @param {boolean} [inText]
 * @returns {string | null}
 */
function nameIn(tag, locale, inText = false) {
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
    if (!name) return null;
    return inText ? name : name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
  } catch {
    return null;
  }
}
/** A language's name in the page's language, as a title ("English", "Английский"), or its tag when unknown. @param {string} tag */
function languageName(tag) {
  return nameIn(tag, locale()) ?? tag.toUpperCase();
}
/** A language's name inside a sentence of the page's language ("English"; "английский" in Russian). @param {string} tag */
function languageInText(tag) {
  return nameIn(tag, locale(), true) ?? tag.toUpperCase();
}
/** A language's name in itself ("Русский"), when it differs from `languageName`. @param {string} tag */
function endonym(tag) {
  const own = nameIn(tag, tag);
  return own && own !== languageName(tag) ? own : '';
}

/** The SDK's own errors (not the server's), by code: the keys of their texts. @type {Record<string, MessageKey>} */
const SDK_ERROR_KEYS = {
  left: 'sdk.left',
  subscriber_failed: 'sdk.subscriber_failed',
  not_connected: 'sdk.not_connected',
  publish_failed: 'sdk.publish_failed',
  timeout: 'sdk.timeout',
  connect_failed: 'sdk.connect_failed',
  disconnected: 'close.default',
  close_1006: 'close.lost_while_waiting',
};

/**
 * What the SDK reports (an error of the server's, a close, one of its own), in the page's language,
 * found by its code. A sentence the SDK did not take from its tables (the server's own words for a
 * code it does not know) is shown as it came.
 * @param {unknown} err
 * @returns {string}
 */
export function sdkErrorText(err) {
  if (!(err instanceof HotlineError)) return err instanceof Error ? err.message : String(err);
  const { message, code, closeCode } = err;
  if (closeCode !== undefined && message === CLOSE_CODE_MESSAGES[closeCode]) return tryT(`close.${closeCode}`) ?? message;
  if (message === ERROR_CODE_MESSAGES[code]) return tryT(`error.${code}`) ?? message;
  // The SDK says "timeout" for two things: a connection that never opened, an answer that never came.
  const key = code === 'timeout' && message === en['sdk.connect_timeout'] ? 'sdk.connect_timeout' : SDK_ERROR_KEYS[code];
  return key ? t(key) : message;
}

/** What the encryption badge says in each state. @type {Record<Exclude<import('../sdk/e2ee/session.js').E2eeStatus, 'off'>, MessageKey>} */
const E2EE_BADGE_KEYS = {
  setting_up: 'e2ee.badge.setting_up',
  encrypted: 'e2ee.badge.encrypted',
  verified: 'e2ee.badge.verified',
  warning: 'e2ee.badge.warning',
  unsupported: 'e2ee.badge.unsupported',
};
/** What the encryption panel says of each participant. @satisfies {Record<string, MessageKey>} */
const E2EE_STATE_KEYS = /** @type {const} */ ({
  verified: 'e2ee.state.verified',
  unverified: 'e2ee.state.unverified',
  waiting: 'e2ee.state.waiting',
  changed: 'e2ee.state.changed',
  no_key: 'e2ee.state.no_key',
});

/** How long a remote participant stays the active speaker before their tile becomes the large one. */
const MAIN_SPEAKER_DWELL_MS = 1000;

/** What the connection-quality bars say, for the label and tooltip. */
const QUALITY_WORDS = /** @type {Record<ConnectionQuality, MessageKey>} */ ({ excellent: 'call.quality.excellent', good: 'call.quality.good', poor: 'call.quality.poor' });

/**
 * How long someone has waited in the lobby, e.g. "Waiting 3 min".
 * @param {number} sinceMs  Unix ms
 */
function waitedFor(sinceMs) {
  const min = Math.floor((Date.now() - sinceMs) / 60000);
  if (!sinceMs || min < 1) return t('call.lobby.just_arrived');
  return min < 60 ? t('call.lobby.waited_min', { minutes: min }) : t('call.lobby.waited_h_min', { hours: Math.floor(min / 60), minutes: min % 60 });
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
    /** What the waiting screen last showed (drawn again in another language). @type {WaitingInfo | null} */
    this._waitingInfo = null;
    /** The participant the remove dialog asks about. @type {string | null} */
    this._removing = null;
    /** What the connection banner says. @type {MessageKey | null} */
    this._connBannerKey = null;
    /** Let in: the top bar no longer says "Joining…". */
    this._joined = false;
    // The call's own text follows the language in place (onLocaleChange): the texts made once are
    // registered here; what `render` and the others draw is drawn again by `_relabel`.
    const lx = localized();
    this.lx = lx;
    const { root, roomName } = this.opts;
    this.grid = h('div', { class: 'grid', 'data-testid': 'grid' });
    this.status = h('div', { class: 'call-status', 'data-testid': 'call-status' });
    lx.run(() => {
      this.status.textContent = this._joined ? '' : t('call.joining');
    });
    // This client's own connection (reconnecting, reconnected, server restarting): a banner in the
    // middle of the top bar, over nothing of the call.
    this.connBanner = h('div', { class: 'conn-banner', 'data-testid': 'connection-banner', role: 'status', 'aria-live': 'polite', hidden: true });
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._connBannerTimer = null;
    // This client's own connection quality when the server judges it poor.
    this.qualityNotice = h('div', { class: 'quality-notice', 'data-testid': 'quality-notice', role: 'status', 'aria-live': 'polite', hidden: true },
      icon('signal'), h('span', null, lx.text('call.quality_notice')));
    // Shown to everyone while a host has locked the call.
    this.lockedEl = lx.attr(h('span', { class: 'locked-indicator', 'data-testid': 'locked-indicator', role: 'status', hidden: true },
      icon('lock'), h('span', null, lx.text('call.locked'))), 'title', 'call.locked_title');
    // Interpretation (only in a room with languages): what this listener hears. A small indicator
    // in the top bar, and a menu in the control bar to choose the floor or a language's channel.
    this.floorVolume = loadFloorVolume();
    this.interpIndicator = h('button', { class: 'interp-indicator', type: 'button', 'data-testid': 'interpretation-indicator', hidden: true, onclick: () => this.toggleLanguageMenu(true) });
    this.langCode = h('span', { class: 'lang-code' });
    this.langBtn = h('button', { class: 'ctrl lang-ctrl', type: 'button', 'data-testid': 'language-menu-button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', hidden: true, onclick: () => this.toggleLanguageMenu() },
      localIcon(HEADPHONES), this.langCode);
    this.langOptions = lx.attr(h('div', { class: 'lang-options', role: 'radiogroup' }), 'aria-label', 'call.interp.listen_to');
    /** The menu's choices by language ('' for the floor). @type {Map<string, LanguageOptionView>} */
    this.langOptionViews = new Map();
    /** The languages the menu's choices were made for. */
    this.langOptionsKey = '';
    this.langNotice = h('p', { class: 'lang-notice', 'data-testid': 'language-notice', role: 'status', hidden: true });
    this.floorSlider = lx.attr(h('input', { type: 'range', min: '0', max: '100', step: '5', 'data-testid': 'floor-volume' }), 'aria-label', 'call.interp.floor_volume_label');
    this.floorSlider.value = String(Math.round(this.floorVolume * 100));
    this.floorSlider.addEventListener('input', () => this.setFloorVolume(Number(this.floorSlider.value) / 100));
    this.floorValue = h('output', { class: 'floor-value', 'data-testid': 'floor-volume-value' });
    // Hosts only: the interpreters (who have no tile), each with the host's actions.
    this.interpRows = h('ul', { class: 'lang-interpreters' });
    this.interpHost = h('section', { class: 'lang-hosts', 'data-testid': 'interpreter-list', hidden: true }, h('h3', null, lx.text('call.interp.interpreters')), this.interpRows);
    this.langMenu = lx.attr(h(
      'div',
      { class: 'popover lang-menu', 'data-testid': 'language-menu', role: 'dialog', hidden: true },
      h('h3', null, lx.text('call.interp.listen_to')),
      this.langOptions,
      this.langNotice,
      h('label', { class: 'floor-volume' }, h('span', { class: 'floor-volume-label' }, h('span', null, lx.text('call.interp.floor_volume')), this.floorValue), this.floorSlider),
      h('p', { class: 'muted small floor-volume-note' }, lx.text('call.interp.floor_volume_note')),
      this.interpHost,
    ), 'aria-label', 'call.interp.menu');
    /** An interpreter's console, made once this client is known to be one. @type {InterpreterConsole | null} */
    this.console = null;
    this.countEl = h('span', { class: 'count', 'data-testid': 'participant-count', text: '1' });
    this.clockEl = h('span', { class: 'clock' });
    // End-to-end encryption (an encrypted call only): a badge in the top bar that always says where
    // encryption stands, its panel (the safety code to read aloud, who is verified), and a loud
    // banner when someone's identity key changes during the call.
    this.e2eeBadge = lx.attr(h('button', { class: 'e2ee-badge', type: 'button', 'data-testid': 'e2ee-badge', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', hidden: true, onclick: () => this.toggleE2eePanel() }), 'title', 'e2ee.badge_title');
    this.e2eeCode = h('div', { class: 'e2ee-code', 'data-testid': 'safety-code' });
    this.e2eeVerifyBtn = h('button', { class: 'primary e2ee-verify', type: 'button', 'data-testid': 'e2ee-verify', onclick: () => void this.markE2eeVerified() }, icon('check'), h('span', null, lx.text('e2ee.panel.verify')));
    this.e2eeVerifiedNote = h('p', { class: 'e2ee-verified-note', 'data-testid': 'e2ee-verified-note', hidden: true }, icon('check'), h('span', null, lx.text('e2ee.panel.verified_note')));
    this.e2eeCodeBlock = h(
      'div',
      { class: 'e2ee-code-block' },
      h('h3', null, lx.text('e2ee.panel.code')),
      this.e2eeCode,
      h('p', { class: 'e2ee-read-aloud' }, lx.text('e2ee.panel.read_aloud')),
      this.e2eeVerifyBtn,
      this.e2eeVerifiedNote,
    );
    this.e2eeUnsupportedNote = h('p', { class: 'e2ee-unsupported-note', hidden: true }, icon('alert'), h('span', null, lx.text('e2ee.panel.unsupported')));
    this.e2eePeople = h('ul', { class: 'e2ee-people', 'data-testid': 'e2ee-people' });
    const e2eeClose = lx.attr(lx.attr(h('button', { class: 'icon-button small', type: 'button', onclick: () => this.toggleE2eePanel(false) }, icon('close')), 'title', 'e2ee.panel.close'), 'aria-label', 'e2ee.panel.close');
    this.e2eePanel = lx.attr(h(
      'div',
      { class: 'e2ee-panel', 'data-testid': 'e2ee-panel', role: 'dialog', hidden: true },
      h('div', { class: 'e2ee-panel-head' }, h('span', { class: 'e2ee-panel-icon' }, icon('lock')), h('h2', null, lx.text('e2ee.panel.title')), e2eeClose),
      h('p', { class: 'muted small e2ee-intro' }, lx.text('e2ee.panel.intro')),
      this.e2eeUnsupportedNote,
      this.e2eeCodeBlock,
      h('h3', { class: 'e2ee-people-title' }, lx.text('e2ee.panel.people')),
      this.e2eePeople,
    ), 'aria-label', 'e2ee.panel.title');
    this.e2eeWarningText = h('span', { class: 'e2ee-warning-text' });
    const warningDismiss = lx.attr(lx.attr(h('button', { class: 'icon-button small', type: 'button', 'data-testid': 'e2ee-warning-dismiss', onclick: () => this._dismissKeyWarning() }, icon('close')), 'title', 'e2ee.warning.dismiss'), 'aria-label', 'e2ee.warning.dismiss');
    this.e2eeWarning = h(
      'div',
      { class: 'e2ee-warning', 'data-testid': 'e2ee-warning', role: 'alert', hidden: true },
      icon('alert'),
      this.e2eeWarningText,
      (this.e2eeWarningCompare = h('button', { class: 'e2ee-warning-compare', type: 'button', 'data-testid': 'e2ee-warning-compare', onclick: () => this.toggleE2eePanel(true) }, lx.text('e2ee.warning.compare'))),
      warningDismiss,
    );
    /** Whose identity key changed (names by participant id), in the warning until it is dismissed. @type {Map<string, string>} */
    this._keyWarnings = new Map();
    /** The banner saying this browser cannot take part was dismissed. */
    this._unsupportedDismissed = false;
    const topbar = h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand-mini' }, h('span', { class: 'logo-dot' }), h('span', { class: 'room-name', text: this.opts.title || roomName }), this.lockedEl, this.e2eeBadge),
      this.status,
      this.connBanner,
      this.qualityNotice,
      // The client's own language (the globe): switching it keeps the call going.
      h('div', { class: 'topbar-right' }, this.interpIndicator, icon('users'), this.countEl, this.clockEl, languageMenu()),
      this.e2eePanel,
    );

    this.micBtn = this._ctrl('mic-toggle', 'mic', 'call.mic.mute', () => this.toggleMic());
    this.camBtn = this._ctrl('camera-toggle', 'video', 'call.camera.turn_off', () => this.toggleCamera());
    this.screenBtn = this._ctrl('screen-toggle', 'screen', 'call.screen.share', () => this.toggleScreen());
    this.settingsBtn = this._ctrl('settings-toggle', 'settings', 'call.settings', () => this.toggleSettings());
    this.chatBtn = this._ctrl('chat-toggle', 'chat', 'call.chat', () => this.toggleChat());
    this.chatBadge = h('span', { class: 'badge-count', hidden: true });
    this.chatBtn.append(this.chatBadge);
    this.leaveBtn = h(
      'button',
      { class: 'ctrl leave', 'data-testid': 'leave', onclick: () => this.leave() },
      icon('leave'),
      h('span', { class: 'ctrl-label' }, lx.text('call.leave')),
    );
    lx.attr(lx.attr(this.leaveBtn, 'title', 'call.leave_title'), 'aria-label', 'call.leave_title');
    this.screenSupported = !!navigator.mediaDevices?.getDisplayMedia;
    if (!this.screenSupported) this.screenBtn.hidden = true;
    // Hosts only: lock the call (nobody new may join) or unlock it.
    this.lockBtn = h('button', { class: 'host-lock', 'data-testid': 'lock-toggle', hidden: true, onclick: () => this.toggleLock() });
    // Hosts only: the lobby on (newcomers wait until a host lets them in) or off.
    this.lobbyBtn = h('button', { class: 'host-lock host-lobby', 'data-testid': 'lobby-toggle', hidden: true, onclick: () => this.toggleLobby() });
    // Hosts only: who waits in the lobby, with Admit and Refuse (shown while anyone waits).
    this.lobbyCount = h('h2', { 'data-testid': 'lobby-count' });
    this.lobbyAdmitAll = h('button', { class: 'secondary small-btn', type: 'button', 'data-testid': 'admit-all', onclick: () => this.admitAll() }, lx.text('call.lobby.admit_all'));
    this.lobbyList = h('ul', { class: 'lobby-list' });
    this.lobbyPanel = lx.attr(h(
      'aside',
      { class: 'lobby-panel', 'data-testid': 'lobby-panel', 'aria-live': 'polite', hidden: true },
      h('div', { class: 'lobby-head' }, h('span', { class: 'lobby-head-icon' }, icon('hourglass')), this.lobbyCount, this.lobbyAdmitAll),
      h('p', { class: 'muted small lobby-note' }, lx.text('call.lobby.note')),
      this.lobbyList,
    ), 'aria-label', 'call.lobby.panel');
    // Hosts only: asks before removing someone.
    this.removeDialog = h('dialog', { class: 'confirm-dialog', 'data-testid': 'remove-dialog' });

    // Settings popover.
    this.camSelect = lx.attr(h('select', { 'data-testid': 'camera-select' }), 'aria-label', 'common.camera');
    this.micSelect = lx.attr(h('select', { 'data-testid': 'mic-select' }), 'aria-label', 'common.microphone');
    this.camSelect.addEventListener('change', () => this.switchCamera(this.camSelect.value));
    this.micSelect.addEventListener('change', () => this.switchMic(this.micSelect.value));
    // Which way the media goes: UDP, or TCP when the network blocks UDP (from getStats).
    this.mediaPathEl = h('p', { class: 'media-path', 'data-testid': 'media-path', role: 'status' });
    this.settings = h(
      'div',
      { class: 'popover', 'data-testid': 'settings', hidden: true },
      h('h3', null, lx.text('call.devices')),
      h('label', { class: 'field' }, h('span', null, lx.text('common.camera')), this.camSelect),
      h('label', { class: 'field' }, h('span', null, lx.text('common.microphone')), this.micSelect),
      h('h3', null, lx.text('call.connection')),
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
    this.chatEmpty = h('div', { class: 'chat-empty' }, lx.text('call.chat.empty'));
    this.chatList.append(this.chatEmpty);
    this.chatInput = lx.attr(lx.attr(h('textarea', { class: 'chat-input', 'data-testid': 'chat-input', rows: 1, maxlength: 4000 }), 'placeholder', 'call.chat.placeholder'), 'aria-label', 'call.chat.message');
    this.chatInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.sendChat();
      }
    });
    this.chatSend = lx.attr(lx.attr(h('button', { class: 'icon-button send', type: 'submit', 'data-testid': 'chat-send' }, icon('send')), 'title', 'call.chat.send'), 'aria-label', 'call.chat.send');
    const form = h('form', { class: 'chat-form', onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); this.sendChat(); } }, this.chatInput, this.chatSend);
    const chatClose = h('button', { class: 'icon-button small', onclick: () => this.toggleChat(false) }, icon('close'));
    lx.attr(lx.attr(chatClose, 'title', 'call.chat.close'), 'aria-label', 'call.chat.close');
    this.chatPanel = lx.attr(h(
      'aside',
      { class: 'chat-panel', 'data-testid': 'chat-panel' },
      h('div', { class: 'panel-head' }, h('h2', null, lx.text('call.chat.title')), chatClose),
      (this.chatE2eeNote = h('p', { class: 'chat-e2ee-note', 'data-testid': 'chat-e2ee-note', hidden: true }, icon('lock'), h('span', null, lx.text('e2ee.chat_note')))),
      this.chatList,
      form,
    ), 'aria-label', 'call.chat');

    this.stage = h('main', { class: 'stage' }, this.grid, this.lobbyPanel, this.chatPanel, this.e2eeWarning);
    this.audioHost = h('div', { class: 'audio-host', hidden: true });
    this.unlockBtn = h('button', { class: 'unlock-audio', hidden: true, onclick: () => this._unlockAudio() }, icon('speaker'), h('span', null, lx.text('call.unlock_audio')));

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
      if (!this.e2eePanel.hidden && !this.e2eePanel.contains(target) && !this.e2eeBadge.contains(target) && !this.e2eeWarning.contains(target)) {
        this.toggleE2eePanel(false);
      }
    };
    /** @param {KeyboardEvent} e */
    this._onKey = (e) => {
      if (e.key === 'Escape' && this.hostMenuFor) this._setHostMenu(null);
      if (e.key === 'Escape' && !this.e2eePanel.hidden) {
        this.toggleE2eePanel(false);
        this.e2eeBadge.focus();
      }
      if (e.key === 'Escape' && !this.langMenu.hidden) {
        this.toggleLanguageMenu(false);
        this.langBtn.focus();
      }
    };
    document.addEventListener('keydown', this._onKey);
    document.addEventListener('pointerdown', this._outsideClick, true);
    this._ro = new ResizeObserver(() => {
      this._layout();
      this._fitBar();
    });
    this._ro.observe(this.grid);
    if (this.lockBtn.parentElement) this._ro.observe(this.lockBtn.parentElement);
    this._offLocale = onLocaleChange(() => this._relabel());
  }

  // ------------------------------------------------------------------ DOM


  /**
   * @param {string} testid
   * @param {string} iconName
   * @param {MessageKey} label
   * @param {() => void} onclick
   */
  _ctrl(testid, iconName, label, onclick) {
    const btn = h('button', { class: 'ctrl', 'data-testid': testid, onclick }, icon(iconName));
    return this.lx.attr(this.lx.attr(btn, 'title', label), 'aria-label', label);
  }

  /**
   * The language changed (the menu in the top bar, or on the waiting screen): every text of the call
   * is drawn again in it, in place. Nothing else changes: the media, the tiles, what is open, what
   * is typed, the chat's messages.
   */
  _relabel() {
    if (this.ended) return;
    this.lx.update();
    for (const tile of this.tiles.values()) tile.lx.update();
    this._showMediaPath();
    this._tickClock();
    this._updateControls();
    this._updateHostControls();
    this._renderLobby();
    // The language menu's choices and the console's are made again (the languages' names).
    this.langOptionsKey = '';
    if (this.console) this.console.listenKey = '';
    // The chat: the labels of its messages ("Ann (you)", the time), not the messages.
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (this.chatList.querySelectorAll('.chat-sender[data-own-name]'))) el.textContent = t('common.you_suffix', { name: el.dataset.ownName ?? '' });
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (this.chatList.querySelectorAll('.chat-time[data-at]'))) el.textContent = formatTime(Number(el.dataset.at));
    const banner = this.connBanner.querySelector('.conn-banner-text');
    if (banner && this._connBannerKey) banner.textContent = t(this._connBannerKey);
    if (this.removeDialog.open && this._removing) this._fillRemoveDialog(this._removing);
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (this.chatList.querySelectorAll('.chat-text.undecryptable'))) el.textContent = t('e2ee.chat_undecryptable');
    this._renderE2ee();
    if (!this.settings.hidden) void this._fillDeviceSelects();
    const v = this.waitingView;
    if (v) {
      v.lx.update();
      if (this._waitingInfo) this._showWaiting(this._waitingInfo);
    }
    this.render();
  }

  /** The media transport (UDP, or TCP when UDP is blocked) in the settings and as `data-media-path`. */
  _showMediaPath() {
    const path = this.room.mediaPath;
    if (this.el) this.el.dataset.mediaPath = path ?? '';
    if (!this.mediaPathEl) return;
    this.mediaPathEl.textContent = (path && tryT(`call.path.${path}`)) || t('call.connecting');
    this.mediaPathEl.title = path && path !== 'udp' ? t('call.path.note') : '';
  }

  _tickClock() {
    this.clockEl.textContent = formatTime(Date.now());
    for (const el of this.lobbyList.querySelectorAll('[data-since]')) el.textContent = waitedFor(Number(/** @type {HTMLElement} */ (el).dataset.since));
  }

  // ------------------------------------------------------------------ room wiring

  _wireRoom() {
    const room = this.room;
    const rerender = () => this.render();
    room.on('participant_joined', (p) => {
      if (this.room.state === 'connected') toast(t('call.toast.joined', { name: p.name || t('call.someone') }));
      rerender();
    });
    room.on('participant_left', ({ participant, reason }) => {
      if (this.mainSpeakerId === participant.id) this.mainSpeakerId = null;
      if (this._pendingMain?.id === participant.id) this._considerMainSpeaker(undefined);
      // Not when the server stops: everyone "leaves" then, and the call comes back by itself.
      if (this.room.state === 'connected' && reason !== 'server_shutdown') {
        const name = participant.name || t('call.someone');
        toast(reason === 'timed_out' ? t('call.toast.lost', { name }) : reason === 'removed' ? t('call.toast.removed', { name }) : t('call.toast.left', { name }));
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
        if (by === this.room.localParticipant) toast(locked ? t('call.toast.you_locked') : t('call.toast.you_unlocked'));
        else {
          const name = by.name || t('call.a_host');
          toast(locked ? t('call.toast.locked', { name }) : t('call.toast.unlocked', { name }));
        }
      }
      this._updateHostControls();
    });
    room.on('muted_by_host', ({ source }) => {
      // The room already muted the track: the controls follow, as after our own mute button.
      if (source === 'microphone' || source === 'interpretation') {
        this.micMuted = true;
        toast(t('call.toast.host_muted'));
      } else if (source === 'camera') {
        this.camOff = true;
        toast(t('call.toast.host_camera'));
      } else {
        void this.stopScreenShare();
        toast(t('call.toast.host_screen'));
      }
      this._updateControls();
      this.render();
    });
    room.on('interpretation_changed', rerender);
    room.on('e2ee_changed', ({ keyChanged }) => {
      for (const p of keyChanged) this._keyWarnings.set(p.id, p.name || p.identity || t('call.someone'));
      this._renderE2ee();
    });
    room.on('waiting', (info) => this._showWaiting(info));
    room.on('lobby_changed', ({ added }) => {
      // Hosts: someone knocks. The panel lists them; the toast makes sure it is noticed.
      for (const w of added) toast(t('call.toast.waiting', { name: w.name || w.identity || t('call.someone') }));
      this._updateHostControls();
      this._renderLobby();
    });
    room.on('media_path_changed', () => this._showMediaPath());
    room.on('error', (err) => showError(sdkErrorText(err)));
    room.on('reconnecting', (info) => {
      this._connectionBanner('reconnecting', info.code === 4010 ? 'call.banner.restarting_reconnecting' : 'call.banner.reconnecting', { spinner: true });
      this._renderLobby();
      rerender();
    });
    room.on('reconnected', ({ resumed }) => {
      // After a resume nothing changed for the user; after a rejoin the call was set up again.
      if (resumed) this._connectionBanner('reconnected', 'call.banner.reconnected', { hideAfterMs: 2500 });
      else this._connectionBanner('rejoined', 'call.banner.rejoined', { hideAfterMs: 5000 });
      // A rejoin may have waited in the lobby again.
      this._hideWaiting();
      this._updateControls();
      this._updateHostControls();
      this._renderLobby();
      rerender();
    });
    room.on('shutting_down', () => {
      this._connectionBanner('restarting', 'call.banner.restarting', { spinner: false });
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
    this._joined = true;
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
    if (this.room.e2ee.enabled && !this.room.e2ee.supported) {
      // An encrypted call takes no media this browser could send: nothing is published, and what the
      // others send cannot be shown. Say so plainly.
      this._stopLocalTracks(media);
      this._updateControls();
      this._renderE2ee();
      return;
    }
    if (!lp.grants.publish) {
      this._stopLocalTracks(media);
      toast(t('call.toast.viewer'));
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
    return this.room.localParticipant.grants.publish && !(this.room.e2ee.enabled && !this.room.e2ee.supported);
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
        if (name !== 'NotAllowedError' && name !== 'AbortError') showError(t('call.error.screen'));
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
    if (show) await this._fillDeviceSelects();
  }

  /** The settings' lists of cameras and microphones (a device without a label is numbered in the page's language). */
  async _fillDeviceSelects() {
    const { cameras, microphones } = await listDevices();
    fillDeviceSelect(this.camSelect, cameras, this.camTrack?.getSettings().deviceId, t('common.camera'));
    fillDeviceSelect(this.micSelect, microphones, this.micTrack?.getSettings().deviceId, t('common.microphone'));
    this.camSelect.disabled ||= !this.canPublish || !!this.room.interpretPair;
    this.micSelect.disabled ||= !this.canPublish;
  }

  /** @param {string} deviceId */
  async switchCamera(deviceId) {
    if (!deviceId || !this.canPublish || this.room.interpretPair) return;
    const got = await getLocalMedia({ video: deviceId });
    if (!got.video) {
      showError(got.errors.join(' ') || t('call.error.switch_camera'));
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
      showError(got.errors.join(' ') || t('call.error.switch_mic'));
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
    if (id === this.room.localParticipant.id) return t('call.interp.you');
    const p = this.room.participants.get(id);
    return p?.name || p?.identity || t('call.interp.an_interpreter');
  }

  /**
   * What a channel sounds like now, in a few words.
   * @param {InterpretationChannel | undefined} ch
   */
  _channelState(ch) {
    const me = this.room.localParticipant.id;
    if (ch?.live) return ch.live === me ? t('call.interp.you_interpreting') : t('call.interp.interpreting', { name: this._who(ch.live) });
    const standby = (ch?.interpreters ?? []).filter((id) => id !== me).map((id) => this._who(id));
    if (standby.length) return t('call.interp.standby', { names: standby.join(', ') });
    return t('call.interp.none');
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
    const heard = !!this._heardInterpreter();
    this.el.dataset.listening = listening ?? 'floor';

    // The button in the control bar: the choice, short.
    this.langCode.textContent = listening ? listening.toUpperCase() : t('call.interp.floor_short');
    const label = listening ? t('call.interp.button_channel', { language: languageInText(listening), state: this._channelState(ch) }) : t('call.interp.button_floor');
    this.langBtn.title = label;
    this.langBtn.setAttribute('aria-label', label);
    this.langBtn.dataset.state = !listening ? 'floor' : heard ? 'live' : 'silent';

    // The menu: the floor and each language, with who is live on it.
    const key = `${locale()}|${interp.languages.join(',')}`;
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
        v.sub.textContent = t('call.interp.floor_sub');
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
    if (silent && listening) this.langNotice.textContent = t('call.interp.silent', { language: languageInText(listening) });
    this.floorValue.textContent = t('call.interp.percent', { value: Math.round(this.floorVolume * 100) });
    if (document.activeElement !== this.floorSlider) this.floorSlider.value = String(Math.round(this.floorVolume * 100));

    // The indicator in the top bar: what this listener hears now.
    const ind = this.interpIndicator;
    ind.dataset.state = !listening ? 'floor' : heard ? 'live' : 'silent';
    const liveNames = interp.channels.filter((c) => c.live).map((c) => languageInText(c.language));
    const text = !listening
      ? liveNames.length ? t('call.interp.indicator_floor_live', { languages: liveNames.join(', ') }) : t('call.interp.floor_original')
      : heard && ch?.live ? t('call.interp.indicator_live', { language: languageName(listening), name: this._who(ch.live) }) : t('call.interp.silent', { language: languageInText(listening) });
    // On a phone, the silent channel's sentence is too long for the top bar: a shorter one there.
    const short = listening && !heard ? t('call.interp.silent_short') : '';
    fill(ind, `${heard}|${text}`, () => [
      localIcon(HEADPHONES),
      heard ? h('span', { class: 'live-dot', 'aria-hidden': 'true' }) : '',
      h('span', { class: `interp-indicator-text${short ? ' has-short' : ''}`, text }),
      short ? h('span', { class: 'interp-indicator-text short', text: short }) : '',
    ]);
    ind.title = t('call.interp.indicator_title', { text });

    this._renderInterpreters(interp);
    this._renderConsole();
  }

  /**
   * Hosts: the language menu lists every interpreter (interpreters have no tile), its channel and
   * whether it is on air, with the host's actions: mute its microphone, remove it from the call.
   * @param {NonNullable<Room['interpretation']>} interp
   */
  _renderInterpreters(interp) {
    const me = this.room.localParticipant.id;
    /** @type {{id: string, name: string, language: string, live: boolean, muted: boolean}[]} */
    const rows = [];
    if (this.room.isHost && this.room.state === 'connected') {
      for (const c of interp.channels) {
        for (const id of c.interpreters) {
          const p = this.room.participants.get(id);
          if (id === me || !p) continue;
          rows.push({ id, name: p.name || p.identity || t('call.interp.an_interpreter'), language: c.language, live: c.live === id, muted: !!p.trackInfo('interpretation')?.muted });
        }
      }
    }
    this.interpHost.hidden = rows.length === 0;
    fill(this.interpRows, `${locale()}|${JSON.stringify(rows)}`, () =>
      rows.map((r) => {
        const state = [r.live ? t('call.interp.on_air') : t('call.interp.on_standby'), r.muted ? t('call.interp.mic_muted') : ''].filter(Boolean).join(' · ');
        const mute = t('call.interp.host_mute', { name: r.name });
        const remove = t('call.interp.host_remove', { name: r.name });
        return h(
          'li',
          { class: 'lang-interpreter', 'data-testid': 'interpreter-entry', 'data-participant-id': r.id, 'data-name': r.name, 'data-live': String(r.live), 'data-muted': String(r.muted) },
          h('span', { class: 'lang-tag', text: r.language.toUpperCase() }),
          h('span', { class: 'lang-interpreter-main' }, h('span', { class: 'lang-interpreter-name', text: r.name }), h('span', { class: 'lang-interpreter-state', text: state })),
          r.muted ? '' : h('button', { class: 'icon-button small', type: 'button', 'data-testid': 'interpreter-host-mute', title: mute, 'aria-label': mute, onclick: () => this._hostMute(r.id, 'interpretation') }, icon('micOff')),
          h('button', { class: 'icon-button small danger-icon', type: 'button', 'data-testid': 'interpreter-host-remove', title: remove, 'aria-label': remove, onclick: () => this._confirmRemove(r.id) }, icon('leave')),
        );
      }),
    );
  }

  /**
   * One choice of the language menu ('' is the floor).
   * @param {string} lang
   * @returns {HTMLButtonElement}
   */
  _languageOption(lang) {
    const title = h('span', { class: 'lang-title' });
    if (lang) title.append(h('span', { text: languageName(lang) }), endonym(lang) ? h('span', { class: 'lang-endonym', text: endonym(lang) }) : '');
    else title.append(h('span', { text: t('call.interp.floor_original') }));
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
    const lx = this.lx;
    const onAir = h('span', { class: 'on-air', 'data-testid': 'interpreter-on-air' });
    const status = h('p', { class: 'ic-status', 'data-testid': 'interpreter-status', role: 'status', 'aria-live': 'polite' });
    /** @type {Map<string, HTMLButtonElement>} */
    const outputs = new Map();
    for (const lang of pair) {
      const name = h('span');
      lx.run(() => {
        name.textContent = languageName(lang);
      });
      outputs.set(lang, h('button', { class: 'ic-seg-btn', type: 'button', 'data-testid': `interpreter-output-${lang}`, 'data-language': lang, onclick: () => this._takeOutput(lang) },
        h('span', { class: 'lang-tag', text: lang.toUpperCase() }), name));
    }
    const take = h('button', { class: 'primary ic-take', type: 'button', 'data-testid': 'interpreter-take', onclick: () => this._takeOutput(null) });
    const release = h('button', { class: 'secondary ic-release', type: 'button', 'data-testid': 'interpreter-release', onclick: () => this.room.releaseChannel() }, lx.text('call.console.go_off_air'));
    const mic = h('button', { class: 'ic-mic', type: 'button', 'data-testid': 'interpreter-mic', onclick: () => this.toggleMic() });
    const micNote = h('p', { class: 'ic-mic-note', role: 'status', hidden: true }, lx.text('call.console.mic_note'));
    const boothTitle = h('h3', {});
    const booth = h('ul', { class: 'ic-booth', 'data-testid': 'interpreter-booth' });
    const listen = lx.attr(h('div', { class: 'ic-seg ic-listen', role: 'radiogroup' }), 'aria-label', 'call.console.listening_to');
    const listenNote = h('p', { class: 'muted small ic-listen-note', 'data-testid': 'interpreter-listen-note' });
    const el = lx.attr(h(
      'aside',
      { class: 'interp-console', 'data-testid': 'interpreter-console' },
      h('div', { class: 'ic-head' }, h('h2', null, lx.text('call.console.title')), onAir),
      status,
      h('div', { class: 'ic-section' }, h('h3', null, lx.text('call.console.you_speak_on')), lx.attr(h('div', { class: 'ic-seg ic-outputs', role: 'group' }, ...outputs.values()), 'aria-label', 'call.console.you_speak_on')),
      h('div', { class: 'ic-actions' }, take, release, mic),
      micNote,
      h('div', { class: 'ic-section' }, boothTitle, booth),
      h('div', { class: 'ic-section' }, h('h3', null, lx.text('call.console.listening_to')), listen, listenNote),
    ), 'aria-label', 'call.console.label');
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
    c.onAir.textContent = live ? t('call.console.on_air') : other ? t('call.console.standby') : t('call.console.off_air');
    c.onAir.dataset.state = state;
    const name = languageInText(out);
    c.status.textContent = !pub
      ? this.micTrack || this.busy.mic || this.room.state !== 'connected' ? t('call.console.starting_mic') : t('call.console.no_mic')
      : live
        ? t('call.console.live', { language: name })
        : other
          ? t('call.console.other_live', { name: this._who(other), language: name })
          : t('call.console.silent', { language: name });
    for (const [lang, b] of c.outputs) {
      const current = lang === out;
      b.classList.toggle('chosen', current);
      b.setAttribute('aria-pressed', String(current));
      b.disabled = !pub;
      b.title = current ? t('call.console.output_current', { language: languageInText(lang) }) : t('call.console.output_move', { language: languageInText(lang) });
    }
    c.take.hidden = live;
    c.take.disabled = !pub;
    c.take.textContent = other ? t('call.console.take_over', { name: this._who(other) }) : t('call.console.go_on_air');
    c.release.hidden = !live;
    const muted = !this.micTrack || this.micMuted;
    fill(c.mic, `${locale()}|${muted}`, () => [icon(muted ? 'micOff' : 'mic'), h('span', { text: muted ? t('call.console.unmute') : t('call.console.mute') })]);
    c.mic.classList.toggle('off', muted);
    c.mic.dataset.state = muted ? 'off' : 'on';
    c.mic.setAttribute('aria-label', muted ? t('call.console.unmute_label') : t('call.console.mute_label'));
    c.micNote.hidden = !(live && muted);
    // The booth: everyone on this channel, live or standing by.
    c.boothTitle.textContent = t('call.console.booth', { language: name });
    const ids = ch?.interpreters.length ? ch.interpreters : lp.id ? [lp.id] : [];
    const rows = ids.map((id) => ({
      id,
      name: id === lp.id ? t('common.you_suffix', { name: lp.name || t('call.interp.you') }) : this._who(id),
      live: ch?.live === id,
      state: ch?.live === id ? t('call.interp.on_air') : t('call.interp.on_standby'),
    }));
    fill(c.booth, JSON.stringify(rows), () =>
      rows.map((r) =>
        h('li', { 'data-participant-id': r.id, 'data-live': String(r.live) },
          h('span', { class: 'ic-booth-name', text: r.name }),
          h('span', { class: 'ic-booth-state', text: r.state })),
      ),
    );
    // What the interpreter hears: the floor, or another channel (relay).
    const languages = this.room.interpretation?.languages ?? [];
    const key = `${locale()}|${languages.join(',')}`;
    if (c.listenKey !== key) {
      c.listenKey = key;
      c.listen.replaceChildren(
        ...['', ...languages].map((lang) =>
          h('button', { class: 'ic-seg-btn', type: 'button', role: 'radio', 'data-testid': `interpreter-listen-${lang || 'floor'}`, 'data-language': lang || 'floor', onclick: () => this.chooseLanguage(lang || null) },
            lang ? h('span', { class: 'lang-tag', text: lang.toUpperCase() }) : '', h('span', { text: lang ? languageName(lang) : t('call.interp.floor_short') })),
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
      b.title = !lang
        ? t('call.console.listen_floor_title')
        : t(lch?.live ? 'call.console.listen_relay_title' : 'call.console.listen_title', { language: languageName(lang), state: this._channelState(lch) });
    }
    const lch = this.room.channel(listening);
    c.listenNote.textContent = !listening
      ? t('call.console.hear_floor')
      : lch?.live && lch.live !== lp.id
        ? t('call.console.hear_relay', { name: this._who(lch.live), language: languageInText(listening) })
        : t('call.console.hear_silent', { language: languageInText(listening) });
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
    this.lobbyBtn.setAttribute('aria-label', t('call.lobby'));
    this.lobbyBtn.title = lobbyOn ? t('call.lobby.on_title') : t('call.lobby.off_title');
    this.lobbyBtn.replaceChildren(icon('hourglass'), h('span', { text: lobbyOn ? t('call.lobby.on') : t('call.lobby.off') }));
    const label = locked ? t('call.unlock') : t('call.lock');
    this.lockBtn.dataset.state = locked ? 'locked' : 'unlocked';
    this.lockBtn.classList.toggle('active', locked);
    this.lockBtn.title = locked ? t('call.unlock_title') : t('call.lock_title');
    this.lockBtn.setAttribute('aria-pressed', String(locked));
    this.lockBtn.setAttribute('aria-label', label);
    this.lockBtn.replaceChildren(icon('lock'), h('span', { text: label }));
    this._fitBar();
  }

  /**
   * The host buttons beside the controls say their words where these fit (in any language), else
   * show their icons only (the words stay their titles and names).
   */
  _fitBar() {
    const side = this.lockBtn.parentElement;
    const bar = side?.parentElement;
    if (!side || !bar || this.lockBtn.hidden) return;
    side.classList.remove('compact');
    // Beside the controls the side grows as its words need (the controls move over), until the bar
    // overflows; in a row of its own (a phone), until the row does.
    side.classList.toggle('compact', side.scrollWidth > side.clientWidth + 1 || bar.scrollWidth > bar.clientWidth + 1);
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
    this.lobbyCount.textContent = t('call.lobby.count', { count: waiting.length });
    this.lobbyAdmitAll.hidden = waiting.length < 2;
    this.lobbyList.replaceChildren(...waiting.map((w) => this._lobbyRow(w)));
  }

  /** @param {LobbyEntry} w */
  _lobbyRow(w) {
    const name = w.name || w.identity || t('call.guest');
    /** @param {HTMLButtonElement} btn @param {() => boolean} act */
    const once = (btn, act) => () => {
      // The list is drawn again when the server says what happened.
      for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (row.querySelectorAll('button'))) b.disabled = true;
      if (!act()) for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (row.querySelectorAll('button'))) b.disabled = false;
    };
    const refuse = h('button', { class: 'secondary small-btn', type: 'button', 'data-testid': `refuse-${w.identity}`, 'data-action': 'refuse', title: t('call.lobby.refuse_title', { name }), text: t('call.lobby.refuse') });
    const admit = h('button', { class: 'primary small-btn', type: 'button', 'data-testid': `admit-${w.identity}`, 'data-action': 'admit', title: t('call.lobby.admit_title', { name }), text: t('call.lobby.admit') });
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
    this._waitingInfo = info;
    let v = this.waitingView;
    if (!v) {
      v = this._buildWaitingView();
      this.waitingView = v;
      this.opts.root.replaceChildren(v.page);
      this._startWaitingPreview(v);
    }
    v.card.dataset.hostsPresent = String(info.hostsPresent);
    v.text.textContent = info.hostsPresent ? t('call.waiting.hosts_present') : t('call.waiting.no_host');
    const name = info.name || this.opts.displayName;
    v.who.replaceChildren(
      h('div', { class: 'lobby-fact' }, h('span', { class: 'muted', text: t('call.waiting.call') }), h('span', { 'data-testid': 'lobby-call-title', text: this.opts.title || info.room || this.opts.roomName })),
      h('div', { class: 'lobby-fact' }, h('span', { class: 'muted', text: t('call.waiting.joining_as') }), h('span', { 'data-testid': 'lobby-name', text: name || t('call.guest') })),
    );
    const circle = /** @type {HTMLElement} */ (v.avatar.firstElementChild);
    circle.textContent = initials(name || '?');
    circle.style.background = colorFor(name || '?');
    this._renderWaitingMedia(v);
  }

  /** @returns {WaitingView} */
  _buildWaitingView() {
    const lx = localized();
    const video = h('video', { class: 'mirrored', autoplay: true, playsinline: true, 'data-testid': 'lobby-preview' });
    video.muted = true;
    const avatarNote = h('span', { class: 'muted small', 'data-testid': 'lobby-preview-note' });
    const avatar = h('div', { class: 'lobby-preview-off' }, h('span', { class: 'avatar-circle' }), avatarNote);
    // The microphone and camera the person will join with, as on the pre-join screen.
    const mic = h('button', { class: 'ctrl', type: 'button', 'data-testid': 'lobby-mic-toggle', onclick: () => this._toggleWaiting('mic') });
    const cam = h('button', { class: 'ctrl', type: 'button', 'data-testid': 'lobby-camera-toggle', onclick: () => this._toggleWaiting('cam') });
    const title = h('h1', null, lx.text('call.waiting.title'));
    const text = h('p', { class: 'muted lobby-text', 'data-testid': 'lobby-text' });
    const who = h('div', { class: 'lobby-facts' });
    const card = h(
      'div',
      { class: 'card lobby-card', 'data-testid': 'lobby-waiting', role: 'status', 'aria-live': 'polite' },
      cardHead(),
      h('div', { class: 'lobby-preview' }, video, avatar, h('div', { class: 'preview-controls' }, mic, cam)),
      h('div', { class: 'lobby-title' }, h('span', { class: 'pulse-dot', 'aria-hidden': 'true' }), title),
      text,
      who,
      h('div', { class: 'actions' }, h('button', { class: 'secondary', type: 'button', 'data-testid': 'lobby-leave', onclick: () => this.leave() }, lx.text('call.leave'))),
    );
    return {
      page: h('div', { class: 'center-page lobby-page' }, card),
      card, title, text, who, video, avatar, avatarNote, mic, cam,
      audio: null, camera: null, pending: false, noteKey: null, lx,
    };
  }

  /**
   * The person's own camera on the waiting screen: the pre-join screen's, or asked for now (it is
   * published once a host lets them in). Not for a token that may not publish.
   * @param {WaitingView} v
   */
  _startWaitingPreview(v) {
    if (this.opts.media) {
      v.audio = this.opts.media.audio;
      v.camera = this.opts.media.video;
      this._renderWaitingMedia(v);
      return;
    }
    const grants = /** @type {Record<string, unknown> | undefined} */ (decodeToken(this.opts.token)?.grants);
    if (grants?.publish === false) {
      v.noteKey = 'call.waiting.watch';
      v.mic.hidden = true;
      v.cam.hidden = true;
      this._renderWaitingMedia(v);
      return;
    }
    const interpreter = Array.isArray(grants?.interpret);
    if (interpreter) {
      // An interpreter sends no picture: only its microphone is asked for.
      v.noteKey = 'call.waiting.interpret';
      v.cam.hidden = true;
    }
    v.pending = true;
    this._renderWaitingMedia(v);
    if (!this._waitingMedia) this._waitingMedia = getLocalMedia(interpreter ? { audio: true } : { audio: true, video: true });
    void this._waitingMedia.then((m) => {
      if (this.waitingView !== v) return;
      v.pending = false;
      v.audio = m.audio;
      v.camera = interpreter ? null : m.video;
      this._renderWaitingMedia(v);
    });
  }

  /**
   * Waiting: the microphone or camera on or off, as the person will join (published muted when off).
   * @param {'mic' | 'cam'} which
   */
  _toggleWaiting(which) {
    const v = this.waitingView;
    if (!v) return;
    if (which === 'mic') this.micMuted = !this.micMuted;
    else this.camOff = !this.camOff;
    this._renderWaitingMedia(v);
  }

  /**
   * The waiting screen's preview and its microphone and camera buttons, from the tracks and what
   * the person chose. A track turned off is disabled at once (it is published muted).
   * @param {WaitingView} v
   */
  _renderWaitingMedia(v) {
    const micOn = !!v.audio && !this.micMuted;
    const camOn = !!v.camera && !this.camOff;
    if (v.audio) v.audio.enabled = !this.micMuted;
    if (v.camera) v.camera.enabled = !this.camOff;
    /** @param {HTMLButtonElement} btn @param {boolean} has @param {boolean} on @param {string} onIcon @param {string} offIcon @param {MessageKey} onLabel @param {MessageKey} offLabel */
    const set = (btn, has, on, onIcon, offIcon, onLabel, offLabel) => {
      btn.disabled = !has;
      btn.classList.toggle('off', !on);
      btn.dataset.state = on ? 'on' : 'off';
      btn.setAttribute('aria-pressed', String(!on));
      const label = on ? t(onLabel) : t(offLabel);
      btn.title = label;
      btn.setAttribute('aria-label', label);
      fill(btn, String(on), () => [icon(on ? onIcon : offIcon)]);
    };
    set(v.mic, !!v.audio, micOn, 'mic', 'micOff', 'call.mic.mute', 'call.mic.unmute');
    set(v.cam, !!v.camera, camOn, 'video', 'videoOff', 'call.camera.turn_off', 'call.camera.turn_on');
    const shown = v.video.srcObject instanceof MediaStream ? v.video.srcObject.getVideoTracks()[0] : null;
    if (camOn && v.camera && shown !== v.camera) v.video.srcObject = new MediaStream([v.camera]);
    else if (!camOn && v.video.srcObject) v.video.srcObject = null;
    v.video.hidden = !camOn;
    v.avatar.hidden = camOn;
    /** @type {MessageKey} */
    const note = v.noteKey ?? (v.pending ? 'call.waiting.starting_camera' : v.camera ? 'call.waiting.camera_off' : 'common.no_camera');
    v.avatarNote.textContent = t(note);
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

  /**
   * Hosts: mute a participant's microphone (an interpreter's: its interpretation track).
   * @param {string} participantId @param {'microphone' | 'interpretation'} [source]
   */
  _hostMute(participantId, source = 'microphone') {
    this._setHostMenu(null);
    const p = this.room.participants.get(participantId);
    const mic = p?.trackInfo(source);
    if (!p || !mic || mic.muted) return;
    this.room.muteParticipant(p.id, mic.track_id);
  }

  /** Ask, then remove the participant. @param {string} participantId */
  _confirmRemove(participantId) {
    this._setHostMenu(null);
    if (!this.room.participants.has(participantId)) return;
    this._fillRemoveDialog(participantId);
    this.removeDialog.showModal();
  }

  /** The remove dialog's question about a participant, in the page's language. @param {string} participantId */
  _fillRemoveDialog(participantId) {
    const p = this.room.participants.get(participantId);
    this._removing = participantId;
    const name = p?.name || p?.identity || t('call.guest');
    const d = this.removeDialog;
    const close = () => d.close();
    d.replaceChildren(
      h('h2', { text: t('call.remove.title', { name }) }),
      h('p', { class: 'muted', text: t('call.remove.text') }),
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { class: 'secondary', type: 'button', 'data-testid': 'remove-cancel', text: t('common.cancel'), onclick: close }),
        h('button', {
          class: 'danger',
          type: 'button',
          'data-testid': 'remove-confirm',
          text: t('call.remove.confirm'),
          onclick: () => {
            close();
            if (this.room.participants.has(participantId)) this.room.removeParticipant(participantId);
          },
        }),
      ),
    );
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
    const noPublish = t('call.watch_only');
    /**
     * @param {HTMLButtonElement} btn
     * @param {boolean} on
     * @param {string} onIcon
     * @param {string} offIcon
     * @param {MessageKey} onLabel
     * @param {MessageKey} offLabel
     */
    const set = (btn, on, onIcon, offIcon, onLabel, offLabel) => {
      btn.classList.toggle('off', !on);
      btn.dataset.state = on ? 'on' : 'off';
      btn.setAttribute('aria-pressed', String(!on));
      const label = can ? t(on ? onLabel : offLabel) : noPublish;
      btn.title = label;
      btn.setAttribute('aria-label', label);
      btn.disabled = !can;
      btn.replaceChildren(icon(on ? onIcon : offIcon));
    };
    set(this.micBtn, !!this.micTrack && !this.micMuted, 'mic', 'micOff', 'call.mic.mute', this.micTrack ? 'call.mic.unmute' : 'call.mic.turn_on');
    set(this.camBtn, !!this.camTrack && !this.camOff, 'video', 'videoOff', 'call.camera.turn_off', 'call.camera.turn_on');
    // An interpreter sends its voice only: no camera, no screen.
    const interpreter = !!this.room.interpretPair;
    this.camBtn.hidden = interpreter;
    this.screenBtn.hidden = interpreter || !this.screenSupported;
    // The screen button is "on" (highlighted) while sharing.
    this.screenBtn.classList.toggle('active', !!this.screenTrack);
    this.screenBtn.dataset.state = this.screenTrack ? 'on' : 'off';
    this.screenBtn.disabled = !can;
    this.screenBtn.title = can ? (this.screenTrack ? t('call.screen.stop') : t('call.screen.share')) : noPublish;
    this.screenBtn.setAttribute('aria-label', this.screenBtn.title);
    this.screenBtn.replaceChildren(icon(this.screenTrack ? 'screenOff' : 'screen'));
    this.chatBtn.classList.toggle('active', this.chatOpen);
    this.chatBadge.hidden = this.unread === 0;
    this.chatBadge.textContent = this.unread > 9 ? '9+' : String(this.unread);
    this.chatBtn.append(this.chatBadge);
  }

  // ------------------------------------------------------------------ end-to-end encryption

  /**
   * Open or close the encryption panel (the safety code, who is verified).
   * @param {boolean} [open]
   */
  toggleE2eePanel(open = this.e2eePanel.hidden) {
    this.e2eePanel.hidden = !open;
    this.e2eeBadge.setAttribute('aria-expanded', String(open));
    if (open) this._renderE2ee();
  }

  /** Everyone read the safety code aloud and it matched: the participants' keys are remembered as verified. */
  async markE2eeVerified() {
    this.e2eeVerifyBtn.disabled = true;
    try {
      await this.room.e2ee.markVerified();
      toast(t('e2ee.toast.verified'));
    } finally {
      this._renderE2ee();
    }
  }

  /** The warning of a changed key goes away (the badge still says so until the code is compared again). */
  _dismissKeyWarning() {
    this._keyWarnings.clear();
    if (!this.room.e2ee.supported) this._unsupportedDismissed = true;
    this._renderE2ee();
  }

  /** The badge, the panel and the warning, as `room.e2ee` stands. Nothing of it in a plain call. */
  _renderE2ee() {
    if (this.ended || !this.el) return;
    const e = this.room.e2ee;
    this.e2eeBadge.hidden = !e.enabled;
    this.chatE2eeNote.hidden = !e.enabled || !e.supported;
    if (!e.enabled) {
      this.e2eePanel.hidden = true;
      this.e2eeWarning.hidden = true;
      return;
    }
    const status = e.status === 'off' ? 'setting_up' : e.status;
    this.e2eeBadge.dataset.state = status;
    const alarm = status === 'warning' || status === 'unsupported';
    fill(this.e2eeBadge, `${status}|${locale()}`, () => [icon(alarm ? 'alert' : 'lock'), h('span', { class: 'e2ee-badge-text', text: t(E2EE_BADGE_KEYS[status]) })]);

    this.e2eeUnsupportedNote.hidden = e.supported;
    this.e2eeCodeBlock.hidden = !e.supported;
    const code = e.safetyCode;
    this.e2eeCode.dataset.code = code;
    fill(this.e2eeCode, `${code}|${locale()}`, () =>
      code ? code.split(' ').map((g) => h('span', { class: 'e2ee-code-group', text: g })) : [h('span', { class: 'e2ee-code-pending', text: t('e2ee.panel.code_pending') })],
    );
    const keyed = [...e.participants.values()].filter((p) => p.identityKey);
    const allVerified = keyed.length > 0 && keyed.every((p) => p.verified);
    this.e2eeVerifyBtn.hidden = allVerified;
    this.e2eeVerifyBtn.disabled = !code || keyed.length === 0;
    this.e2eeVerifiedNote.hidden = !allVerified;
    const rows = [...this.room.participants.values()].map((p) => {
      const s = e.participants.get(p.id);
      /** @type {keyof typeof E2EE_STATE_KEYS} */
      const state = !s?.identityKey ? 'no_key' : s.keyChanged ? 'changed' : s.verified ? 'verified' : s.keyReceived ? 'unverified' : 'waiting';
      return { name: p.name || p.identity, state };
    });
    fill(this.e2eePeople, `${JSON.stringify(rows)}|${locale()}`, () =>
      rows.map((r) =>
        h(
          'li',
          { class: 'e2ee-person', 'data-participant-name': r.name, 'data-state': r.state },
          h('span', { class: 'e2ee-person-name', text: r.name }),
          h('span', { class: 'e2ee-person-state' }, icon(r.state === 'verified' ? 'check' : r.state === 'unverified' || r.state === 'waiting' ? 'key' : 'alert'), h('span', { text: t(E2EE_STATE_KEYS[r.state]) })),
        ),
      ),
    );

    // The loud warning: for those whose key changed and who are still here, not verified again.
    for (const id of [...this._keyWarnings.keys()]) if (!e.participants.get(id)?.keyChanged) this._keyWarnings.delete(id);
    const names = [...this._keyWarnings.values()];
    // A browser that cannot take part says so there, plainly, until dismissed.
    const unsupported = !e.supported && !this._unsupportedDismissed;
    this.e2eeWarning.hidden = names.length === 0 && !unsupported;
    this.e2eeWarning.dataset.kind = unsupported ? 'unsupported' : 'key-changed';
    this.e2eeWarningCompare.hidden = unsupported;
    if (unsupported) this.e2eeWarningText.textContent = t('e2ee.unsupported');
    else if (names.length) this.e2eeWarningText.textContent = t('e2ee.warning.changed', { name: names.join(', ') });
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
      h(
        'div',
        { class: 'chat-meta' },
        h('span', { class: 'chat-sender', 'data-own-name': m.local ? m.name : undefined, text: m.local ? t('common.you_suffix', { name: m.name }) : m.name }),
        h('time', { class: 'chat-time', 'data-at': String(m.sentAt), text: formatTime(m.sentAt) }),
      ),
      h('div', { class: `chat-text${m.undecryptable ? ' undecryptable' : ''}`, text: m.undecryptable ? t('e2ee.chat_undecryptable') : m.text }),
    );
    const nearBottom = this.chatList.scrollHeight - this.chatList.scrollTop - this.chatList.clientHeight < 80;
    this.chatList.append(msg);
    if (nearBottom || m.local) this.chatList.scrollTop = this.chatList.scrollHeight;
    if (!this.chatOpen && !m.local) {
      this.unread++;
      const text = m.undecryptable ? t('e2ee.chat_undecryptable') : m.text;
      toast(t('call.chat.toast', { name: m.name, text: text.length > 60 ? text.slice(0, 60) + '…' : text }));
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
        name: p.name || p.identity || t('call.guest'),
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
    this._renderE2ee();
    this._layout();
  }

  /** @param {TileEntry} e @returns {TileView} */
  _createTile(e) {
    const lx = localized();
    /** @template {HTMLElement} E @param {E} el @param {MessageKey} key @param {import('../i18n/index.js').Params} [params] @returns {E} */
    const label = (el, key, params) => lx.attr(lx.attr(el, 'title', key, params), 'aria-label', key, params);
    const video = h('video', { autoplay: true, playsinline: true });
    video.muted = true; // sound plays through <audio> elements
    const avatar = h('div', { class: 'avatar' }, h('span', { class: 'avatar-circle', text: initials(e.name), style: `background:${colorFor(e.name)}` }));
    const micIcon = label(h('span', { class: 'mic-muted', 'data-testid': 'mic-muted' }, icon('micOff')), 'call.tile.mic_muted');
    const nameEl = h('span', { class: 'name' });
    // Shown (with the tile dimmed by CSS) while the server has not heard from this participant.
    const badge = lx.attr(h('div', { class: 'reconnecting-badge', 'data-testid': 'reconnecting', role: 'status' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, lx.text('call.tile.reconnecting'))), 'title', 'call.tile.reconnecting_title');
    const attrs = e.isScreen
      ? { class: 'tile screen', 'data-screen-of': e.participantId, 'data-participant-name': undefined }
      : { class: `tile${e.isLocal ? ' local' : ''}`, 'data-participant-id': e.participantId, 'data-participant-name': e.name, 'data-local': e.isLocal ? 'true' : undefined };
    // Lit (with moving bars) while the server hears this participant speak.
    const speakingEl = label(h('span', { class: 'speaking-indicator', 'data-testid': 'speaking', hidden: true }, h('i'), h('i'), h('i')), 'call.tile.speaking');
    // Three signal bars: the connection quality the server judged for this participant.
    const qualityEl = h('div', { class: 'quality', 'data-testid': 'quality', role: 'img', hidden: true }, h('i'), h('i'), h('i'));
    // Shown while the server holds this video back because our download is too slow for it.
    const pausedEl = h('div', { class: 'video-paused-note', 'data-testid': 'video-paused', role: 'status', hidden: true },
      icon('videoOff'), h('span', null, lx.text('call.tile.paused')));
    // Hosts only, on someone else's tile: mute or remove them.
    const pid = e.participantId;
    const hostBtn = label(h('button', { class: 'host-menu-button', type: 'button', 'data-testid': 'host-menu', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      onclick: () => this._setHostMenu(this.hostMenuFor === pid ? null : pid) }, h('span', { class: 'icon', 'aria-hidden': 'true', html: MORE_ICON })), 'call.tile.host_actions', { name: e.name });
    const muteItem = h('button', { class: 'host-menu-item', type: 'button', role: 'menuitem', 'data-testid': 'host-mute-mic', onclick: () => this._hostMute(pid) }, icon('micOff'), h('span', null, lx.text('call.tile.host_mute')));
    const cameraItem = h('button', { class: 'host-menu-item', type: 'button', role: 'menuitem', 'data-testid': 'host-camera-off', onclick: () => this._hostCameraOff(pid) }, icon('videoOff'), h('span', null, lx.text('call.tile.host_camera_off')));
    const removeItem = h('button', { class: 'host-menu-item danger-item', type: 'button', role: 'menuitem', 'data-testid': 'host-remove', onclick: () => this._confirmRemove(pid) }, icon('leave'), h('span', null, lx.text('call.tile.host_remove')));
    const hostMenu = h('div', { class: 'host-menu-list', role: 'menu', hidden: true }, muteItem, cameraItem, removeItem);
    const hostEl = h('div', { class: 'host-menu', hidden: true }, hostBtn, hostMenu);
    const el = h('div', attrs, video, avatar, badge, pausedEl, qualityEl, hostEl, h('div', { class: 'label' }, micIcon, speakingEl, nameEl));
    video.addEventListener('resize', () => el.classList.toggle('portrait', video.videoHeight > video.videoWidth));
    // Remote video only: the server sends no larger layer than the tile shows, and none while it is not visible.
    const sizer = e.isLocal ? null : new VideoSizeObserver(this.room, video);
    return { el, video, avatar, nameEl, micIcon, badge, speakingEl, qualityEl, pausedEl, sizer, stream: null, hostEl, hostBtn, hostMenu, muteItem, cameraItem, lx };
  }

  /** @param {TileView} tile @param {TileEntry} e */
  _updateTile(tile, e) {
    if (!e.isScreen) {
      if (e.participantId) tile.el.dataset.participantId = e.participantId;
      tile.el.dataset.participantName = e.name;
    }
    tile.nameEl.textContent = e.isScreen ? t('call.tile.presenting', { name: e.name }) : e.isLocal ? t('call.tile.you', { name: e.name }) : e.name;
    const avatarCircle = /** @type {HTMLElement} */ (tile.avatar.firstElementChild);
    if (avatarCircle.textContent !== initials(e.name)) {
      avatarCircle.textContent = initials(e.name);
      avatarCircle.style.background = colorFor(e.name);
    }
    if (tile.stream !== e.stream) {
      tile.stream = e.stream;
      tile.video.srcObject = e.stream;
      if (e.stream) tile.video.play().catch(() => {});
    }
    tile.el.classList.toggle('video-off', !e.stream);
    tile.el.dataset.cameraOff = String(!e.stream);
    tile.sizer?.setTrack(e.track);
    // The reconnecting badge says more (their video stopped anyway) and takes the same place.
    tile.pausedEl.hidden = !e.videoPaused || e.reconnecting;
    tile.el.dataset.videoPaused = String(e.videoPaused);
    tile.el.dataset.micMuted = String(e.micMuted);
    tile.micIcon.hidden = e.isScreen || !e.micMuted;
    const hostActions = this.room.isHost && !e.isLocal && !e.isScreen && this.room.state === 'connected';
    tile.hostEl.hidden = !hostActions;
    tile.muteItem.hidden = e.micMuted;
    tile.cameraItem.hidden = !e.cameraOn;
    if (!hostActions && this.hostMenuFor === e.key) this._setHostMenu(null);
    tile.badge.hidden = !e.reconnecting;
    tile.el.dataset.connection = e.reconnecting ? 'reconnecting' : 'connected';
    tile.el.classList.toggle('mirrored', e.isLocal && !e.isScreen);
    if (e.isScreen) {
      tile.speakingEl.hidden = true;
      tile.qualityEl.hidden = true;
      return;
    }
    tile.el.dataset.speaking = String(e.speaking);
    tile.el.dataset.activeSpeaker = String(e.activeSpeaker);
    // The mic-muted badge wins: a muted participant is never shown as speaking.
    tile.speakingEl.hidden = !e.speaking || e.micMuted;
    if (e.quality) {
      const label = t('call.tile.quality', { quality: t(QUALITY_WORDS[e.quality]) });
      tile.el.dataset.quality = e.quality;
      tile.qualityEl.dataset.quality = e.quality;
      tile.qualityEl.title = label;
      tile.qualityEl.setAttribute('aria-label', label);
      tile.qualityEl.hidden = false;
    } else {
      delete tile.el.dataset.quality;
      delete tile.qualityEl.dataset.quality;
      tile.qualityEl.hidden = true;
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
  /**
   * The interpreter this listener hears now: the live one of its chosen channel, unless that is
   * ourselves (our own voice never comes back) or its microphone is muted (then the channel is as
   * good as silent, and the floor comes back to full volume). Null on the floor alone.
   * @returns {string | null}
   */
  _heardInterpreter() {
    const listening = this.room.listening;
    const live = this.room.channel(listening)?.live;
    if (!listening || !live || live === this.room.localParticipant.id) return null;
    const voice = this.room.participants.get(live)?.trackInfo('interpretation');
    return voice && !voice.muted ? live : null;
  }

  _applyAudioVolumes() {
    const listening = this.room.listening;
    const floor = this._heardInterpreter() ? this.floorVolume : 1;
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
   * Show the connection banner (`data-state` = kind) saying the text of `key`, or hide it with kind null.
   * @param {'reconnecting' | 'reconnected' | 'rejoined' | 'restarting' | null} kind
   * @param {MessageKey | null} [key]
   * @param {{spinner?: boolean, hideAfterMs?: number}} [o]
   */
  _connectionBanner(kind, key = null, o = {}) {
    if (this._connBannerTimer) clearTimeout(this._connBannerTimer);
    this._connBannerTimer = null;
    this._connBannerKey = kind ? key : null;
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
      h('span', { class: 'conn-banner-text', text: key ? t(key) : '' }),
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
    this._offLocale();
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
