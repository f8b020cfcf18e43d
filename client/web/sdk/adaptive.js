// Adaptive stream: tells the server at what size a received video is shown, so that it forwards no
// larger simulcast layer than that, and no video while it is not visible. Watches a <video> element;
// renders nothing.

/**
 * @typedef {import('./participant.js').RemoteTrack} RemoteTrack
 * @typedef {import('./room.js').Room} Room
 * @typedef {import('./room.js').VideoSize} VideoSize
 */

/** Size changes are sent once they stayed this long (a resizing window sends one, not dozens). */
export const VIDEO_SIZE_DEBOUNCE_MS = 300;

/**
 * Reports the size of a `<video>` element, in device pixels, for the remote track it shows
 * (`room.setVideoSize`): 0x0 while it is not visible (no layout box, scrolled out of the viewport,
 * or the page hidden). Debounced; a video coming into view, or a new track, is reported at once.
 */
export class VideoSizeObserver {
  /**
   * @param {Room} room
   * @param {HTMLVideoElement} el
   */
  constructor(room, el) {
    this.room = room;
    this.el = el;
    /** The track shown in the element, null for none. @type {RemoteTrack | null} */
    this.track = null;
    /** Whether the element intersects the viewport; null until the first observation. @type {boolean | null} */
    this._inView = null;
    /** The size last handed to the room for `track`. @type {VideoSize | null} */
    this._reported = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._timer = null;
    this._disposed = false;

    /** The content box in CSS pixels. @type {{width: number, height: number} | null} */
    this._css = null;
    // CSS pixels times devicePixelRatio, not the device-pixel-content-box: Chromium's emulated
    // pixel ratios (tests, devtools) leave that box in CSS pixels.
    this._resize = new ResizeObserver((entries) => {
      const e = entries[entries.length - 1];
      if (!e) return;
      this._css = { width: e.contentRect.width, height: e.contentRect.height };
      this._changed();
    });
    this._resize.observe(el);
    /** @type {MediaQueryList | null} */
    this._ratioQuery = null;
    // The same CSS size on a screen of another pixel ratio (window moved, zoom) needs another layer.
    this._onRatio = () => {
      this._watchRatio();
      this._changed();
    };
    this._watchRatio();
    this._intersect = new IntersectionObserver((entries) => {
      const e = entries[entries.length - 1];
      if (!e) return;
      this._inView = e.isIntersecting;
      this._changed();
    });
    this._intersect.observe(el);
    this._onVisibility = () => this._changed();
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  _watchRatio() {
    this._ratioQuery?.removeEventListener('change', this._onRatio);
    this._ratioQuery = globalThis.matchMedia?.(`(resolution: ${globalThis.devicePixelRatio || 1}dppx)`) ?? null;
    this._ratioQuery?.addEventListener('change', this._onRatio);
  }

  /**
   * The track the element shows now (null: none, e.g. the camera is off). A new track gets the
   * current size at once.
   * @param {RemoteTrack | null} track
   */
  setTrack(track) {
    if (this.track === track) return;
    this.track = track && track.kind === 'video' ? track : null;
    this._reported = null;
    this._changed();
  }

  /**
   * The size the element is shown at now, in device pixels (0x0: not visible), or null while it
   * is not known yet (before the first layout). A hidden page is certain: it needs no layout.
   * @returns {VideoSize | null}
   */
  currentSize() {
    if (document.visibilityState === 'hidden') return { width: 0, height: 0 };
    if (this._css === null || this._inView === null) return null;
    const ratio = globalThis.devicePixelRatio || 1;
    const width = Math.round(this._css.width * ratio);
    const height = Math.round(this._css.height * ratio);
    if (!this._inView || !this.el.isConnected || width === 0 || height === 0) return { width: 0, height: 0 };
    return { width, height };
  }

  _changed() {
    if (this._disposed || !this.track) return;
    const size = this.currentSize();
    if (!size) return;
    const last = this._reported;
    if (last && last.width === size.width && last.height === size.height) {
      this._cancel();
      return;
    }
    // Coming into view (or a first report) must not wait: the picture is frozen until the server
    // hears it. Other changes settle first; a hiding flicker (a tile moved in the page) never goes out.
    const urgent = !last || (last.width === 0 && size.width > 0);
    if (urgent) {
      this._flush();
      return;
    }
    this._cancel();
    this._timer = setTimeout(() => this._flush(), VIDEO_SIZE_DEBOUNCE_MS);
  }

  _flush() {
    this._cancel();
    const size = this.currentSize();
    if (this._disposed || !this.track || !size) return;
    const last = this._reported;
    if (last && last.width === size.width && last.height === size.height) return;
    this._reported = { ...size };
    this.room.setVideoSize(this.track, size.width, size.height);
  }

  _cancel() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
  }

  /** Stop watching. The last size stays with the server until the track goes away. */
  dispose() {
    this._disposed = true;
    this._cancel();
    this._resize.disconnect();
    this._intersect.disconnect();
    this._ratioQuery?.removeEventListener('change', this._onRatio);
    document.removeEventListener('visibilitychange', this._onVisibility);
  }
}
