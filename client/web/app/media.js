// Camera, microphone and screen helpers: getUserMedia with readable errors,
// device lists, and a microphone level meter.

import { t } from '../i18n/index.js';

/**
 * Camera constraints: 1280x720, because the camera is sent in three simulcast layers (full, half,
 * quarter size) and browsers drop the upper layers of a smaller input.
 */
export const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
export const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * A readable sentence for a failed getUserMedia.
 * @param {'camera' | 'microphone'} what
 * @param {unknown} err
 * @param {boolean} otherWorks  whether the other device works (changes the advice)
 * @returns {string}
 */
export function describeMediaError(what, err, otherWorks) {
  const name = err instanceof Error || err instanceof DOMException ? err.name : '';
  const tail = otherWorks ? t(what === 'camera' ? 'media.still_with_microphone' : 'media.still_with_camera') : t('media.still_watch');
  /** @type {'denied' | 'not_found' | 'busy' | 'failed'} */
  let why;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      why = 'denied';
      break;
    case 'NotFoundError':
    case 'OverconstrainedError':
      why = 'not_found';
      break;
    case 'NotReadableError':
    case 'AbortError':
      why = 'busy';
      break;
    default:
      why = 'failed';
  }
  return `${t(`media.${what}.${why}`)} ${tail}`;
}

/**
 * @typedef {object} LocalMedia
 * @property {MediaStreamTrack | null} audio
 * @property {MediaStreamTrack | null} video
 * @property {string[]} errors   readable sentences for what failed
 */

/**
 * Ask for camera and/or microphone. Never throws: what fails is reported in `errors`.
 * @param {{audio?: boolean | string, video?: boolean | string}} want  true, false, or a deviceId
 * @returns {Promise<LocalMedia>}
 */
export async function getLocalMedia(want) {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { audio: null, video: null, errors: [t('media.insecure')] };
  }
  /** @param {boolean | string | undefined} w @param {object} base */
  const constraint = (w, base) => (w === true ? base : typeof w === 'string' ? { ...base, deviceId: { exact: w } } : false);
  const audioC = constraint(want.audio, AUDIO_CONSTRAINTS);
  const videoC = constraint(want.video, VIDEO_CONSTRAINTS);
  if (!audioC && !videoC) return { audio: null, video: null, errors: [] };
  try {
    const s = await navigator.mediaDevices.getUserMedia({ audio: audioC, video: videoC });
    return { audio: s.getAudioTracks()[0] ?? null, video: s.getVideoTracks()[0] ?? null, errors: [] };
  } catch (bothErr) {
    if (!audioC || !videoC) {
      const what = audioC ? 'microphone' : 'camera';
      return { audio: null, video: null, errors: [describeMediaError(what, bothErr, false)] };
    }
  }
  // One of them failed: try each alone to find out which.
  /** @type {MediaStreamTrack | null} */
  let audio = null;
  /** @type {MediaStreamTrack | null} */
  let video = null;
  /** @type {unknown} */
  let audioErr = null;
  /** @type {unknown} */
  let videoErr = null;
  try {
    audio = (await navigator.mediaDevices.getUserMedia({ audio: audioC })).getAudioTracks()[0] ?? null;
  } catch (e) {
    audioErr = e;
  }
  try {
    video = (await navigator.mediaDevices.getUserMedia({ video: videoC })).getVideoTracks()[0] ?? null;
  } catch (e) {
    videoErr = e;
  }
  const errors = [];
  if (videoErr) errors.push(describeMediaError('camera', videoErr, !!audio));
  if (audioErr) errors.push(describeMediaError('microphone', audioErr, !!video));
  return { audio, video, errors };
}

/**
 * @returns {Promise<{cameras: MediaDeviceInfo[], microphones: MediaDeviceInfo[], speakers: MediaDeviceInfo[]}>}
 */
export async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], microphones: [], speakers: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
    microphones: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
    speakers: all.filter((d) => d.kind === 'audiooutput' && d.deviceId),
  };
}

/**
 * Fill a <select> with devices, keeping `selectedId` selected.
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string | undefined} selectedId
 * @param {string} fallbackLabel  what a device without a label is called, numbered ("Camera 1"), in the page's language
 */
export function fillDeviceSelect(select, devices, selectedId, fallbackLabel) {
  select.replaceChildren();
  devices.forEach((d, i) => {
    const opt = document.createElement('option');
    opt.value = d.deviceId;
    opt.textContent = d.label || t('media.device_numbered', { device: fallbackLabel, number: i + 1 });
    if (d.deviceId === selectedId) opt.selected = true;
    select.append(opt);
  });
  if (devices.length === 0) {
    const opt = document.createElement('option');
    opt.textContent = t('media.none_found');
    opt.value = '';
    select.append(opt);
    select.disabled = true;
  } else {
    select.disabled = false;
  }
}

/** @type {AudioContext | null} */
let sharedAudioContext = null;
/** @returns {AudioContext} */
export function audioContext() {
  if (!sharedAudioContext) sharedAudioContext = new AudioContext();
  if (sharedAudioContext.state === 'suspended') sharedAudioContext.resume().catch(() => {});
  return sharedAudioContext;
}

/**
 * Measures the loudness of an audio track (0..1) with an AnalyserNode.
 */
export class LevelMeter {
  /**
   * @param {MediaStreamTrack} track
   * @param {(level: number) => void} onLevel  called ~16 times per second
   */
  constructor(track, onLevel) {
    const ctx = audioContext();
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.source.connect(this.analyser);
    const buf = new Float32Array(this.analyser.fftSize);
    let smooth = 0;
    this.timer = setInterval(() => {
      this.analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const rms = Math.sqrt(sum / buf.length);
      // Map roughly -60..0 dBFS to 0..1.
      const db = 20 * Math.log10(rms + 1e-9);
      const level = Math.max(0, Math.min(1, (db + 60) / 60));
      smooth = Math.max(level, smooth * 0.85);
      onLevel(smooth);
    }, 60);
  }

  stop() {
    clearInterval(this.timer);
    try {
      this.source.disconnect();
    } catch {
      /* ignore */
    }
  }
}
