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
export { Room, defaultSignalUrl, CONNECTION_QUALITIES } from './room.js';
export { RemoteParticipant, RemoteTrack, LocalParticipant, LocalTrackPublication } from './participant.js';
