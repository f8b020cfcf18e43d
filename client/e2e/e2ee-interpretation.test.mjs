// Interpretation channels inside an end-to-end encrypted call (issue 8: "Works together with
// end-to-end encryption"). A room opened with both `--e2ee` and `--languages ru,en`: a speaker, an
// English interpreter on air, a listener; every microphone is a tone of its own. The listener, on the
// floor alone, decrypts nothing of the interpreter (its channel is not forwarded); once it chooses
// English in the language menu its worker decrypts the interpreter's frames with the interpreter's
// key, and what it plays is the interpreter's tone at full level over the speaker's, lowered. The
// call says it is encrypted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, waitFor, toneMicrophone, playedLevels } from './harness.mjs';

/** Each participant's microphone: a tone at its own frequency (Hz), none a harmonic of another. */
const HZ = { speaker: 440, listener: 660, interpreter: 950 };
const HEARD = [HZ.speaker, HZ.interpreter];

/**
 * What `page`'s encryption worker counted, and its room's encryption status.
 * @param {import('playwright-core').Page} page
 */
function e2eeCounts(page) {
  return page.evaluate(async () => {
    const e = /** @type {any} */ (window).hotlineRoom.e2ee;
    return {
      status: /** @type {string} */ (e.status),
      counts: /** @type {{decrypted: number, undecryptable: number, empty: number, receivedKeyIds: Record<string, number>, decryptedFrom: Record<string, number>, undecryptableFrom: Record<string, number>} | null} */ (await e.counts()),
    };
  });
}

/** @param {import('playwright-core').Page} page */
const idOf = (page) => page.evaluate(() => /** @type {string} */ (/** @type {any} */ (window).hotlineRoom.localParticipant.id));

/** @param {number} x */
const db = (x) => `${x.toFixed(1)} dB`;

describe('interpretation in an end-to-end encrypted call', { timeout: 120000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('a listener on English decrypts the interpreter and hears it over the lowered floor', { timeout: 100000 }, async (t) => {
    const room = 'e2ee-summit';
    // The speaker's token opens the room: encrypted, with Russian and English.
    const speaker = await hx.join({ room, identity: 'sergei', name: 'Sergei Speaker', e2ee: true, languages: ['ru', 'en'], beforeLoad: toneMicrophone(HZ.speaker) });
    const interpreter = await hx.join({ room, identity: 'pavel', name: 'Pavel Orlov', interpret: 'ru:en', beforeLoad: toneMicrophone(HZ.interpreter) });
    const listener = await hx.join({ room, identity: 'lena', name: 'Lena Listener', beforeLoad: toneMicrophone(HZ.listener) });
    const [speakerId, interpreterId] = await Promise.all([idOf(speaker), idOf(interpreter)]);

    // The interpreter is on air on English, as the listener knows; the call is encrypted on every page.
    await waitFor(
      () => listener.evaluate((id) => /** @type {any} */ (window).hotlineRoom.interpretation?.channels?.find((/** @type {any} */ c) => c.language === 'en')?.live === id, interpreterId),
      { timeout: 20000, message: 'the interpreter live on English' },
    );
    for (const [n, page] of Object.entries({ speaker, interpreter, listener })) {
      assert.equal(await page.evaluate(() => /** @type {any} */ (window).hotlineRoom.e2ee.enabled), true, `${n}: the call is encrypted`);
    }

    // --- The floor alone: the speaker's tone, decrypted; nothing of the interpreter.
    const floorFirst = await waitFor(async () => {
      const m = await playedLevels(listener, HEARD, 600);
      return m[HZ.speaker] > -70 ? m : null;
    }, { timeout: 20000, message: "the speaker's tone heard by the listener" });
    const floor = await playedLevels(listener, HEARD, 1000);
    const full = floor[HZ.speaker];
    const onFloor = await e2eeCounts(listener);
    t.diagnostic(`floor alone: speaker ${db(full)} (first read ${db(floorFirst[HZ.speaker])}), interpreter ${db(floor[HZ.interpreter])}; decrypted from the speaker ${onFloor.counts?.decryptedFrom[speakerId] ?? 0}, from the interpreter ${onFloor.counts?.decryptedFrom[interpreterId] ?? 0}; undecryptable ${JSON.stringify(onFloor.counts?.undecryptableFrom)} (speaker ${speakerId}, interpreter ${interpreterId})`);
    assert.ok(floor[HZ.interpreter] < full - 30, `no interpreter on the floor: ${JSON.stringify(floor)}`);
    assert.ok((onFloor.counts?.decryptedFrom[speakerId] ?? 0) > 0, `the speaker's frames decrypted: ${JSON.stringify(onFloor)}`);

    // --- The listener chooses English in the language menu.
    await listener.getByTestId('language-menu-button').click();
    await listener.getByTestId('language-menu').waitFor({ state: 'visible' });
    await listener.getByTestId('language-option-en').click();
    await listener.waitForFunction(() => document.querySelector('[data-testid=language-option-en]')?.getAttribute('aria-checked') === 'true');
    assert.equal(await listener.getByTestId('language-menu-button').innerText(), 'EN');

    const enFirst = await waitFor(async () => {
      const m = await playedLevels(listener, HEARD, 600);
      return m[HZ.interpreter] > full - 6 ? m : null;
    }, { timeout: 15000, message: 'the English interpreter heard' });
    const en = await playedLevels(listener, HEARD, 1000);
    t.diagnostic(`English chosen: interpreter ${db(en[HZ.interpreter])} (${db(en[HZ.interpreter] - full)} from the speaker alone; first read ${db(enFirst[HZ.interpreter])}), speaker ${db(en[HZ.speaker])} (${db(en[HZ.speaker] - full)})`);
    assert.ok(Math.abs(en[HZ.interpreter] - full) <= 4, `the interpreter at full level: ${JSON.stringify({ full, en })}`);
    assert.ok(full - en[HZ.speaker] >= 8, `the floor lowered by at least 8 dB: ${JSON.stringify({ full, en })}`);
    assert.ok(full - en[HZ.speaker] <= 20, `the floor still heard: ${JSON.stringify({ full, en })}`);

    // The listener's worker decrypted the interpreter's frames, with a key of the interpreter's, and
    // goes on doing so.
    const first = await e2eeCounts(listener);
    const fromInterpreter = first.counts?.decryptedFrom[interpreterId] ?? 0;
    const later = await waitFor(async () => {
      const c = await e2eeCounts(listener);
      return (c.counts?.decryptedFrom[interpreterId] ?? 0) > fromInterpreter + 25 ? c : null;
    }, { timeout: 10000, message: "the interpreter's frames decrypted, more and more" });
    t.diagnostic(`listener's worker: decrypted from the interpreter ${fromInterpreter} -> ${later.counts?.decryptedFrom[interpreterId]} (${onFloor.counts?.decryptedFrom[interpreterId] ?? 0} on the floor), from the speaker ${later.counts?.decryptedFrom[speakerId]}; key ids ${JSON.stringify(later.counts?.receivedKeyIds)}; undecryptable ${later.counts?.undecryptable}`);
    assert.ok(fromInterpreter > (onFloor.counts?.decryptedFrom[interpreterId] ?? 0), `more of the interpreter's frames decrypted since English was chosen: ${JSON.stringify({ onFloor, first })}`);
    assert.ok(interpreterId in (later.counts?.receivedKeyIds ?? {}), `a key id of the interpreter's: ${JSON.stringify(later.counts)}`);
    assert.ok(speakerId in (later.counts?.receivedKeyIds ?? {}), `a key id of the speaker's: ${JSON.stringify(later.counts)}`);
    // Every frame of the interpreter's since English was chosen decrypted (empty frames, the
    // sender's RTP padding, are set apart by the worker, not counted as failures).
    const failed = (later.counts?.undecryptableFrom[interpreterId] ?? 0) - (onFloor.counts?.undecryptableFrom[interpreterId] ?? 0);
    const decrypted = (later.counts?.decryptedFrom[interpreterId] ?? 0) - (onFloor.counts?.decryptedFrom[interpreterId] ?? 0);
    t.diagnostic(`undecryptable from the interpreter since English was chosen: ${failed} (of ${failed + decrypted}); empty frames ${later.counts?.empty}`);
    assert.equal(failed, 0, `every frame of the interpreter's decrypted: ${JSON.stringify({ onFloor: onFloor.counts, later: later.counts })}`);
    // The interpreter's own worker encrypted what it sent.
    const sent = await interpreter.evaluate(async () => (await /** @type {any} */ (window).hotlineRoom.e2ee.counts())?.encrypted ?? 0);
    assert.ok(sent > 0, `the interpreter encrypted its frames: ${sent}`);

    // The call shows it is encrypted.
    assert.equal(later.status, 'encrypted');
    for (const page of [listener, speaker]) {
      assert.equal(await page.getAttribute('[data-testid=e2ee-badge]', 'data-state'), 'encrypted');
      assert.ok(await page.isVisible('[data-testid=e2ee-badge]'));
    }
  });
});
