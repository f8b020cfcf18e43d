// Active speaker and connection quality, as three people see them: the one who talks gets the
// ring (and the large tile), the muted ones never do, and every tile shows signal bars.
//
// Chromium's fake microphone beeps; the test gives it a continuous tone instead (a WAV written
// here, which Chromium loops), so the one unmuted participant talks without pause. Every page
// plays the same tone: who "speaks" is decided by the mic buttons alone.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Harness, chromiumArgs, ensureArtifactsDir, recordSignals, signalsOf, toneWav } from './harness.mjs';

const NAMES = ['Alice', 'Bob', 'Carol'];
/** How long the server may take to show a change of speaker on every page. */
const SPEAKER_TIMEOUT_MS = 10000;
/** How long after joining every tile must show its connection quality. */
const QUALITY_TIMEOUT_MS = 10000;
/** After an update_track muted, an active_speakers list naming the muted one is a bug past this. */
const MUTE_GRACE_MS = 2000;

/** Records the `active_speakers` and `connection_quality` a page receives, the `update_track` it sends. */
const logSignals = recordSignals({ received: ['active_speakers', 'connection_quality'], sent: ['update_track'] });

/**
 * Wait until `fn(arg)` is true in the page; returns how long it took from `since`.
 * @template A
 * @param {import('playwright-core').Page} page
 * @param {(arg: A) => boolean} fn
 * @param {A} arg
 * @param {number} since
 * @param {number} timeout
 */
async function waitInPage(page, fn, arg, since, timeout) {
  await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  return Date.now() - since;
}

/**
 * Waits until every page shows `speaker` as the active speaker (and, with `speaking`, with its
 * speaking indicator on) and each of `quiet` neither speaking nor active. Returns, by page name,
 * the ms from `since` until it did.
 * @param {Record<string, import('playwright-core').Page>} pages
 * @param {{speaker: string, quiet: string[], speaking: boolean}} expected
 * @param {number} since
 */
async function waitForActiveSpeaker(pages, expected, since) {
  /** @type {Record<string, number>} */
  const took = {};
  await Promise.all(
    Object.entries(pages).map(async ([name, page]) => {
      took[name] = await waitInPage(
        page,
        ({ speaker, quiet, speaking }) => {
          const tile = (/** @type {string} */ id) => document.querySelector(`.tile[data-participant-id="${id}"]`);
          return (
            tile(speaker)?.getAttribute('data-active-speaker') === 'true' &&
            (!speaking || tile(speaker)?.getAttribute('data-speaking') === 'true') &&
            quiet.every((id) => tile(id)?.getAttribute('data-speaking') === 'false' && tile(id)?.getAttribute('data-active-speaker') === 'false')
          );
        },
        expected,
        since,
        SPEAKER_TIMEOUT_MS,
      );
    }),
  );
  return took;
}

/**
 * State of the person tiles of a page: by participant id.
 * @param {import('playwright-core').Page} page
 */
function tileStates(page) {
  return page.evaluate(() => {
    /** @type {Record<string, any>} */
    const out = {};
    for (const t of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.tile[data-participant-id]'))) {
      const r = t.getBoundingClientRect();
      const q = /** @type {HTMLElement | null} */ (t.querySelector('[data-testid=quality]'));
      const speakingEl = /** @type {HTMLElement | null} */ (t.querySelector('[data-testid=speaking]'));
      out[/** @type {string} */ (t.dataset.participantId)] = {
        name: t.dataset.participantName,
        local: t.dataset.local === 'true',
        quality: t.dataset.quality ?? null,
        qualityLabel: q && !q.hidden ? q.getAttribute('aria-label') : null,
        speaking: t.dataset.speaking,
        active: t.dataset.activeSpeaker,
        speakingShown: !!speakingEl && !speakingEl.hidden,
        featured: t.dataset.featured === 'true',
        micMuted: t.dataset.micMuted,
        w: Math.round(r.width),
        h: Math.round(r.height),
      };
    }
    return out;
  });
}

describe('active speaker and connection quality', { timeout: 180000 }, () => {
  /** @type {Harness} */
  let hx;
  /** @type {string} */
  let toneDir;
  before(async () => {
    toneDir = await mkdtemp(join(tmpdir(), 'hotline-tone-'));
    const wav = join(toneDir, 'tone.wav');
    await writeFile(wav, toneWav());
    // 10 frames per second spares the 2-core machine three decoding pages.
    hx = await Harness.start({ chromiumArgs: [...chromiumArgs({ fakeDevice: 'fps=10' }), `--use-file-for-fake-audio-capture=${wav}`] });
  });
  after(async () => {
    await hx?.close();
    if (toneDir) await rm(toneDir, { recursive: true, force: true });
  });

  it('the one who talks is the active speaker on every page; muted ones never are; tiles show their quality', { timeout: 150000 }, async (t) => {
    const room = 'speakers';
    /** @type {Record<string, import('playwright-core').Page>} */
    const pages = {};
    /** @type {Record<string, string>} */
    const ids = {};
    const started = Date.now();
    for (const name of NAMES) {
      // Alice's page is the one in the screenshot: a laptop-sized window.
      const viewport = name === 'Alice' ? { width: 1280, height: 720 } : { width: 960, height: 600 };
      const page = await hx.join({ room, identity: name.toLowerCase(), name, viewport, beforeLoad: logSignals });
      pages[name] = page;
      ids[name] = await page.evaluate(() => /** @type {any} */ (window).hotlineRoom.localParticipant.id);
    }
    const lastJoin = Date.now();
    const all = Object.values(pages);
    const byId = Object.fromEntries(Object.entries(ids).map(([n, id]) => [id, n]));
    /** Every page's signal log, times relative to the start, ids as names. */
    const timeline = async () => {
      const lines = [];
      for (const [name, page] of Object.entries(pages)) {
        const sigs = await signalsOf(page).catch(() => []);
        for (const s of sigs) {
          const m = s.m;
          const what =
            m.type === 'active_speakers'
              ? `active_speakers [${m.participant_ids.map((/** @type {string} */ id) => byId[id] ?? id).join(', ')}]`
              : m.type === 'connection_quality'
                ? `connection_quality ${m.participants.map((/** @type {any} */ p) => `${byId[p.participant_id] ?? p.participant_id}=${p.quality}`).join(' ')}`
                : `sent ${JSON.stringify(m)}`;
          lines.push(`${String(s.t - started).padStart(6)} ms  ${name.padEnd(5)} ${what}`);
        }
      }
      return lines.sort().join('\n');
    };
    const failWith = async (/** @type {unknown} */ e, /** @type {string} */ what) => {
      const states = {};
      for (const [name, page] of Object.entries(pages)) states[name] = await tileStates(page).catch(() => null);
      throw new Error(`${what}: ${e instanceof Error ? e.message : e}\ntiles: ${JSON.stringify(states)}\nsignals:\n${await timeline()}`);
    };

    // 1. Every person tile on every page shows its connection quality: on loopback, not poor.
    try {
      await Promise.all(
        all.map((page) =>
          page.waitForFunction(
            (n) => {
              const tiles = [...document.querySelectorAll('.tile[data-participant-id]')];
              return (
                tiles.length === n &&
                tiles.every((t) => {
                  const q = t.getAttribute('data-quality');
                  const bars = t.querySelector('[data-testid=quality]');
                  return (q === 'excellent' || q === 'good') && bars?.getAttribute('aria-label') === `Connection: ${q}` && !(/** @type {HTMLElement} */ (bars).hidden);
                })
              );
            },
            NAMES.length,
            { timeout: QUALITY_TIMEOUT_MS, polling: 100 },
          ),
        ),
      );
    } catch (e) {
      await failWith(e, 'connection quality not shown (or poor) on every tile');
    }
    t.diagnostic(`quality shown on all tiles of all pages ${Date.now() - lastJoin} ms after the last join`);

    // 2. Alice and Bob mute their microphones with the button; Carol talks on.
    for (const name of ['Alice', 'Bob']) {
      await pages[name].click('[data-testid=mic-toggle]');
      assert.equal(await pages[name].getAttribute('[data-testid=mic-toggle]', 'data-state'), 'off');
    }
    const muted1 = Date.now();
    /** @type {Record<string, number>} */
    let took1 = {};
    try {
      took1 = await waitForActiveSpeaker(pages, { speaker: ids.Carol, quiet: [ids.Alice, ids.Bob], speaking: true }, muted1);
    } catch (e) {
      await failWith(e, 'Carol did not become the (only) active speaker after Alice and Bob muted');
    }
    t.diagnostic(`Carol shown as the active speaker after Alice and Bob muted: ${JSON.stringify(took1)} ms`);

    // The others see her large (three tiles); she does not see herself large.
    for (const name of ['Alice', 'Bob']) {
      await pages[name].waitForFunction((id) => document.querySelector(`.tile[data-participant-id="${id}"]`)?.getAttribute('data-featured') === 'true', ids.Carol, { timeout: 5000 });
      const s = await tileStates(pages[name]);
      const carol = s[ids.Carol];
      for (const other of Object.values(s).filter((x) => x !== carol)) {
        assert.ok(carol.w > other.w * 1.5 && carol.h > other.h * 1.5, `${name}: Carol's tile is not the large one: ${JSON.stringify(s)}`);
      }
      assert.ok(carol.speakingShown, `${name}: no speaking indicator on Carol's tile: ${JSON.stringify(s)}`);
      assert.ok(!s[ids.Alice].speakingShown && !s[ids.Bob].speakingShown, `${name}: a muted tile shows the speaking indicator: ${JSON.stringify(s)}`);
    }
    assert.equal((await tileStates(pages.Carol))[ids.Carol].featured, false, 'Carol sees her own tile large');

    // 3. Carol mutes, Bob unmutes: the active speaker moves to Bob.
    await pages.Carol.click('[data-testid=mic-toggle]');
    await pages.Bob.click('[data-testid=mic-toggle]');
    assert.equal(await pages.Bob.getAttribute('[data-testid=mic-toggle]', 'data-state'), 'on');
    const switched = Date.now();
    /** @type {Record<string, number>} */
    let took2 = {};
    try {
      took2 = await waitForActiveSpeaker(pages, { speaker: ids.Bob, quiet: [ids.Alice, ids.Carol], speaking: false }, switched);
    } catch (e) {
      await failWith(e, 'the active speaker did not move to Bob after Carol muted and Bob unmuted');
    }
    t.diagnostic(`Bob shown as the active speaker after Carol muted and he unmuted: ${JSON.stringify(took2)} ms`);
    await pages.Alice.waitForFunction((id) => document.querySelector(`.tile[data-participant-id="${id}"]`)?.getAttribute('data-featured') === 'true', ids.Bob, { timeout: 5000 });

    const dir = await ensureArtifactsDir();
    await pages.Alice.screenshot({ path: join(dir, 'active-speaker.png') });

    // 4. From the messages: once the server had a participant's update_track muted, no
    //    active_speakers list named them (after a short grace for messages already on the way).
    /** @type {{name: string, from: number, to: number}[]} */
    const mutedSpans = [
      { name: 'Alice', from: muted1, to: Infinity },
      { name: 'Bob', from: muted1, to: switched },
      { name: 'Carol', from: switched, to: Infinity },
    ];
    const bad = [];
    for (const [name, page] of Object.entries(pages)) {
      const sigs = await signalsOf(page);
      for (const s of sigs) {
        if (s.dir !== 'in' || s.m.type !== 'active_speakers') continue;
        for (const span of mutedSpans) {
          if (s.t > span.from + MUTE_GRACE_MS && s.t < span.to && s.m.participant_ids.includes(ids[span.name])) {
            bad.push(`${name} at ${s.t - started} ms: ${span.name} listed while muted`);
          }
        }
      }
    }
    assert.deepEqual(bad, [], `muted participants listed as speaking:\n${bad.join('\n')}\nsignals:\n${await timeline()}`);
    if (process.env.HOTLINE_E2E_VERBOSE) console.error(await timeline());

    for (const page of all) await page.close();
  });
});
