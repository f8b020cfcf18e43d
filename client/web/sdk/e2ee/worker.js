// The media worker of an end-to-end encrypted call: every encoded frame this browser sends is
// encrypted here, every frame it receives decrypted here, off the main thread (crypter.js does
// the work). Frames come through RTCRtpScriptTransform (`rtctransform` events), or, where only
// createEncodedStreams exists, as streams the page posts (`streams` messages). Keys come from the
// page (session.js): our send key, and each sender's receive keys. A frame without a key is
// dropped, never passed on in the clear.

import { FrameCrypter } from './crypter.js';

const crypter = new FrameCrypter((m) => self.postMessage(m));

/** @param {MessageEvent} event */
self.onmessage = (event) => {
  void crypter.handle(event.data);
};

/** @type {any} */ (self).onrtctransform = (/** @type {any} RTCTransformEvent */ event) => {
  const t = event.transformer;
  crypter.pipe(t.readable, t.writable, t.options, t);
};
