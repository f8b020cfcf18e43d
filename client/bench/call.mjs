// Call benchmark (not a test): three browser pages join one room by invitation link.
// Measures, per run (a fresh server and browser each time):
//   - per page: time from the page.goto call to `connected` (the server's `welcome` has
//     arrived and the peer connections exist) and to the first decoded remote video frame
//     (subscriber getStats() inbound-rtp video framesDecoded > 0, polled every 50 ms in the page),
//     and to decoding video from both others;
//   - over a steady window (20 s once all three decode): the server's CPU time
//     (/proc/PID/stat utime+stime), its RSS at the end (VmRSS), and the RTP packets and bytes
//     each page received (inbound-rtp) and sent (outbound-rtp), so that CPU per forwarded
//     packet can be derived.
// Prints a table and writes bench/results/call.json.
//
//   npm run bench:call                         # HOTLINE_BIN=... to pick the binary
//   BENCH_RUNS=5 BENCH_WINDOW_MS=30000 npm run bench:call
//
// The binary: HOTLINE_BIN, else target/release/hotline if it exists, else target/debug/hotline.
// The browsers run on the same machine as the server: on a 2-core machine the pages'
// encoding and decoding compete with the server for CPU, which shows in the join times.

import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { Harness, REPO, CHROMIUM } from '../e2e/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const RELEASE = join(REPO, 'target', 'release', 'hotline');
const DEBUG = join(REPO, 'target', 'debug', 'hotline');
const BIN = process.env.HOTLINE_BIN || (existsSync(RELEASE) ? RELEASE : DEBUG);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20000);
const NAMES = ['Ada', 'Grace', 'Katherine'];
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const RESULTS = join(here, 'results', 'call.json');

const now = () => performance.timeOrigin + performance.now();
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs in each page before its scripts: timestamps (Unix ms, same clock as `now()` here)
 * of `connected` and of the first decoded remote video frame.
 * @param {number} others  how many remote video streams to expect
 */
function pageProbe(others) {
  const w = /** @type {any} */ (window);
  const t = () => performance.timeOrigin + performance.now();
  const b = (w.__bench = { connectedAt: null, firstFrameAt: null, allVideoAt: null });
  /** @type {any} */
  let room;
  // The app stores its Room in window.hotlineRoom right after creating it, before connecting.
  Object.defineProperty(w, 'hotlineRoom', {
    configurable: true,
    enumerable: true,
    get: () => room,
    set: (r) => {
      room = r;
      r.on('state_changed', (/** @type {string} */ s) => {
        if (s === 'connected' && b.connectedAt == null) b.connectedAt = t();
      });
    },
  });
  let busy = false;
  const timer = setInterval(async () => {
    const pc = room?.subscriberPc;
    if (!pc || busy) return;
    busy = true;
    try {
      const stats = await pc.getStats();
      let decoding = 0;
      for (const s of stats.values()) if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0) decoding++;
      if (decoding > 0 && b.firstFrameAt == null) b.firstFrameAt = t();
      if (decoding >= others) {
        b.allVideoAt = t();
        clearInterval(timer);
      }
    } finally {
      busy = false;
    }
  }, 50);
}

/**
 * RTP counters of one page: what it received (subscriber) and sent (publisher).
 * @param {import('playwright-core').Page} page
 */
function rtpTotals(page) {
  return page.evaluate(async () => {
    const room = /** @type {any} */ (window).hotlineRoom;
    const out = { packetsReceived: 0, bytesReceived: 0, headerBytesReceived: 0, videoPacketsReceived: 0, audioPacketsReceived: 0, packetsLost: 0, framesDecoded: 0, packetsSent: 0, bytesSent: 0, frameWidths: /** @type {number[]} */ ([]), sentWidth: 0 };
    for (const s of (await room.subscriberPc.getStats()).values()) {
      if (s.type !== 'inbound-rtp') continue;
      out.packetsReceived += s.packetsReceived ?? 0;
      out.bytesReceived += s.bytesReceived ?? 0;
      out.headerBytesReceived += s.headerBytesReceived ?? 0;
      out.packetsLost += s.packetsLost ?? 0;
      if (s.kind === 'video') {
        out.videoPacketsReceived += s.packetsReceived ?? 0;
        out.framesDecoded += s.framesDecoded ?? 0;
        out.frameWidths.push(s.frameWidth ?? 0);
      } else out.audioPacketsReceived += s.packetsReceived ?? 0;
    }
    for (const s of (await room.publisherPc.getStats()).values()) {
      if (s.type !== 'outbound-rtp') continue;
      out.packetsSent += s.packetsSent ?? 0;
      out.bytesSent += s.bytesSent ?? 0;
      if (s.kind === 'video') out.sentWidth = s.frameWidth ?? 0;
    }
    return out;
  });
}

/** @param {number} pid @returns {Promise<number>} utime+stime in clock ticks */
async function cpuTicks(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[14 - 3]) + Number(f[15 - 3]);
}

/** @param {number} pid @param {string} key e.g. VmRSS @returns {Promise<number>} kB */
async function statusKb(pid, key) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/** @param {number} run */
async function oneRun(run) {
  const hx = await Harness.start({ bin: BIN });
  try {
    const pid = /** @type {number} */ (hx.proc?.pid);
    const room = `bench-${run}`;
    const tokens = await Promise.all(NAMES.map((name, i) => hx.mintToken({ room, identity: `p${i}`, name })));
    const pages = await Promise.all(NAMES.map(() => hx.newPage({ width: 800, height: 600 })));
    for (const p of pages) await p.addInitScript(pageProbe, NAMES.length - 1);

    /** @type {number[]} */
    const started = [];
    await Promise.all(
      pages.map(async (p, i) => {
        started[i] = now();
        await p.goto(`${hx.url}/room/${room}?token=${encodeURIComponent(tokens[i])}`);
      }),
    );
    await Promise.all(pages.map((p) => p.waitForFunction(() => /** @type {any} */ (window).__bench.allVideoAt, null, { timeout: 90000, polling: 100 })));
    const probes = await Promise.all(pages.map((p) => p.evaluate(() => /** @type {any} */ (window).__bench)));
    const join = probes.map((b, i) => ({
      name: NAMES[i],
      connectedMs: b.connectedAt - started[i],
      firstFrameMs: b.firstFrameAt - started[i],
      allVideoMs: b.allVideoAt - started[i],
    }));

    // Steady window.
    const rtp0 = await Promise.all(pages.map(rtpTotals));
    const cpu0 = await cpuTicks(pid);
    const t0 = now();
    await sleep(WINDOW_MS);
    const cpu1 = await cpuTicks(pid);
    const t1 = now();
    const rtp1 = await Promise.all(pages.map(rtpTotals));
    const rssKb = await statusKb(pid, 'VmRSS');
    const hwmKb = await statusKb(pid, 'VmHWM');

    const windowS = (t1 - t0) / 1000;
    const cpuS = (cpu1 - cpu0) / CLK_TCK;
    const perPage = rtp1.map((e, i) => {
      const s = rtp0[i];
      return {
        name: NAMES[i],
        packetsReceived: e.packetsReceived - s.packetsReceived,
        videoPacketsReceived: e.videoPacketsReceived - s.videoPacketsReceived,
        audioPacketsReceived: e.audioPacketsReceived - s.audioPacketsReceived,
        bytesReceived: e.bytesReceived - s.bytesReceived,
        headerBytesReceived: e.headerBytesReceived - s.headerBytesReceived,
        packetsLost: e.packetsLost - s.packetsLost,
        framesDecoded: e.framesDecoded - s.framesDecoded,
        packetsSent: e.packetsSent - s.packetsSent,
        bytesSent: e.bytesSent - s.bytesSent,
        receivedFrameWidths: e.frameWidths,
        sentFrameWidth: e.sentWidth,
      };
    });
    const forwarded = perPage.reduce((a, p) => a + p.packetsReceived, 0);
    const ingress = perPage.reduce((a, p) => a + p.packetsSent, 0);
    const warnings = hx
      .log()
      .split('\n')
      .filter((l) => /\b(WARN|ERROR)\b/.test(l))
      // eslint-disable-next-line no-control-regex
      .map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    return {
      run,
      join,
      window: {
        seconds: windowS,
        serverCpuSeconds: cpuS,
        serverCpuPercent: (100 * cpuS) / windowS,
        serverRssKiB: rssKb,
        serverPeakRssKiB: hwmKb,
        packetsForwarded: forwarded,
        packetsForwardedPerSecond: forwarded / windowS,
        packetsIngress: ingress,
        cpuMicrosPerForwardedPacket: forwarded ? (cpuS * 1e6) / forwarded : null,
        perPage,
      },
      serverWarnings: warnings,
    };
  } finally {
    await hx.close();
  }
}

/** @param {number[]} xs */
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

/** @param {number} x @param {number} [digits] */
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

async function main() {
  console.log(`hotline call benchmark: ${RUNS} runs x ${NAMES.length} pages, ${WINDOW_MS / 1000} s window, binary ${relative(process.cwd(), BIN)}`);
  const runs = [];
  for (let r = 1; r <= RUNS; r++) {
    process.stdout.write(`run ${r}/${RUNS}… `);
    const res = await oneRun(r);
    runs.push(res);
    console.log(
      `joins ${res.join.map((j) => `${fmt(j.firstFrameMs)}`).join('/')} ms to first frame; server ${fmt(res.window.serverCpuPercent, 1)} % CPU, ${fmt(res.window.serverRssKiB / 1024, 1)} MiB RSS, ${fmt(res.window.packetsForwardedPerSecond)} pkt/s forwarded`,
    );
  }

  /** @type {[string, number[], number][]} label, values, digits */
  const rows = [];
  NAMES.forEach((name, i) => rows.push([`page ${i + 1} (${name}): goto -> connected (welcome), ms`, runs.map((r) => r.join[i].connectedMs), 0]));
  NAMES.forEach((name, i) => rows.push([`page ${i + 1} (${name}): goto -> first remote frame, ms`, runs.map((r) => r.join[i].firstFrameMs), 0]));
  NAMES.forEach((name, i) => rows.push([`page ${i + 1} (${name}): goto -> both remotes decoding, ms`, runs.map((r) => r.join[i].allVideoMs), 0]));
  rows.push(['server CPU, % of one core', runs.map((r) => r.window.serverCpuPercent), 1]);
  rows.push(['server RSS at end, MiB', runs.map((r) => r.window.serverRssKiB / 1024), 1]);
  rows.push(['RTP packets forwarded (received by pages), /s', runs.map((r) => r.window.packetsForwardedPerSecond), 0]);
  rows.push(['RTP packets sent by pages (server ingress), /s', runs.map((r) => r.window.packetsIngress / r.window.seconds), 0]);
  rows.push(['server CPU per forwarded packet, µs', runs.map((r) => r.window.cpuMicrosPerForwardedPacket ?? NaN), 1]);
  NAMES.forEach((name, i) => rows.push([`page ${i + 1}: packets received in window`, runs.map((r) => r.window.perPage[i].packetsReceived), 0]));
  NAMES.forEach((name, i) => rows.push([`page ${i + 1}: kbit/s received (payload)`, runs.map((r) => (r.window.perPage[i].bytesReceived * 8) / 1000 / r.window.seconds), 0]));
  NAMES.forEach((name, i) => rows.push([`page ${i + 1}: video frames decoded/s (both remotes)`, runs.map((r) => r.window.perPage[i].framesDecoded / r.window.seconds), 1]));

  const w = Math.max(...rows.map((r) => r[0].length));
  const line = `${'metric'.padEnd(w)}  ${'median'.padStart(9)}  ${'min'.padStart(9)}  ${'max'.padStart(9)}`;
  console.log(`\n${line}\n${'-'.repeat(line.length)}`);
  /** @type {Record<string, {median: number, min: number, max: number}>} */
  const summary = {};
  for (const [label, values, digits] of rows) {
    const s = stats(values);
    summary[label] = s;
    console.log(`${label.padEnd(w)}  ${fmt(s.median, digits).padStart(9)}  ${fmt(s.min, digits).padStart(9)}  ${fmt(s.max, digits).padStart(9)}`);
  }
  const widths = runs.map((r) => r.window.perPage.map((p) => `${p.sentFrameWidth}`).join('/')).join(', ');
  console.log(`\nsent video widths at the end of each window (page 1/2/3, per run): ${widths}`);
  const warnings = runs.flatMap((r) => r.serverWarnings.map((l) => `run ${r.run}: ${l}`));
  if (warnings.length) console.log(`\nserver warnings/errors (${warnings.length}):\n${warnings.slice(0, 20).join('\n')}`);

  let chromium = '';
  try {
    chromium = execFileSync(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* unknown */
  }
  await mkdir(dirname(RESULTS), { recursive: true });
  await writeFile(
    RESULTS,
    JSON.stringify(
      {
        benchmark: 'call',
        date: new Date().toISOString(),
        binary: relative(REPO, BIN),
        pages: NAMES.length,
        runs: RUNS,
        windowMs: WINDOW_MS,
        clockTicksPerSecond: CLK_TCK,
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), node: process.version, chromium },
        summary,
        results: runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${relative(process.cwd(), RESULTS)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
