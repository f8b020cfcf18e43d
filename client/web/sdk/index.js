// Hotline browser SDK: signaling + WebRTC, no UI.
export { Emitter } from './events.js';
export {
  SignalClient,
  HotlineError,
  PROTOCOL_VERSION,
  CLOSE_CODE_MESSAGES,
  ERROR_CODE_MESSAGES,
  describeCloseCode,
  describeErrorCode,
} from './signal.js';
export { Room, defaultSignalUrl, CONNECTION_QUALITIES, CAMERA_SIMULCAST_ENCODINGS, UNDECRYPTABLE_CHAT_TEXT } from './room.js';
export { E2eeSession, transformSupport, MAX_ENCRYPTED_CHAT_CHARS } from './e2ee/session.js';
export { VideoSizeObserver, VIDEO_SIZE_DEBOUNCE_MS } from './adaptive.js';
export { RemoteParticipant, RemoteTrack, LocalParticipant, LocalTrackPublication } from './participant.js';
