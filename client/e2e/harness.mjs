// Shared helpers for the browser tests: start the Hotline server (dev mode,
// fresh data dir), mint tokens with its CLI, drive headless Chromium.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createServer as createTcpServer, connect as tcpConnect } from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..');
export const BIN = process.env.HOTLINE_BIN || join(REPO, 'target', 'debug', 'hotline');
export const ARTIFACTS = join(here, 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * CHROMIUM_ARGS with variations.
 * - `fakeUi: false` drops `--use-fake-ui-for-media-stream`: then only the permissions a context
 *   was granted (`newContext({permissions: ['camera', 'microphone']})`) let getUserMedia through,
 *   and the others fail with a real NotAllowedError (headless Chromium denies the prompt).
 * - `fakeDevice` is the value of `--use-fake-device-for-media-stream`, e.g. `device-count=2,fps=10`
 *   (two fake cameras; 10 frames per second instead of the default 20).
 * @param {{fakeUi?: boolean, fakeDevice?: string}} [o]
 * @returns {string[]}
 */
export function chromiumArgs(o = {}) {
  return CHROMIUM_ARGS.filter((a) => !(o.fakeUi === false && a === '--use-fake-ui-for-media-stream')).map((a) =>
    a === '--use-fake-device-for-media-stream' && o.fakeDevice ? `${a}=${o.fakeDevice}` : a,
  );
}

/**
 * Poll `fn` until it returns a truthy value; returns that value.
 * @template T
 * @param {() => Promise<T> | T} fn
 * @param {{timeout?: number, interval?: number, message?: string}} [opts]
 * @returns {Promise<T>}
 */
export async function waitFor(fn, opts = {}) {
  const timeout = opts.timeout ?? 20000;
  const interval = opts.interval ?? 200;
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for: ${opts.message ?? fn.toString().slice(0, 200)}${lastErr ? ` (last error: ${lastErr})` : ''} (last value: ${JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * @typedef {{room: string, identity: string, name: string, ttl?: string, noPublish?: boolean, host?: boolean, secret?: string, languages?: string[], interpret?: string, e2ee?: boolean}} MintOptions
 */

/**
 * @typedef {object} HarnessOptions
 * @property {string[]} [chromiumArgs]  replaces CHROMIUM_ARGS (e.g. without the fake permission UI, or with fake-device options)
 * @property {import('playwright-core').BrowserContextOptions} [contextOptions]  defaults for every context (e.g. `permissions`)
 * @property {string} [bin]  the hotline binary (default: BIN, i.e. HOTLINE_BIN or target/debug/hotline)
 * @property {string[]} [serverArgs]  extra arguments for `hotline serve` (e.g. `['--disconnect-timeout', '10']`)
 * @property {string} [listen]  `--listen` address of the server (default `127.0.0.1:0`; e.g. a veth address for network-namespace tests)
 */

export class Harness {
  /** @param {HarnessOptions} [opts] */
  constructor(opts = {}) {
    this.opts = opts;
    this.bin = opts.bin ?? BIN;
    this.secret = randomBytes(32).toString('hex');
    /** @type {import('node:child_process').ChildProcess | null} */
    this.proc = null;
    this.url = '';
    this.dataDir = '';
    /** @type {import('playwright-core').Browser | null} */
    this.browser = null;
    /** @type {import('playwright-core').BrowserContext[]} */
    this.contexts = [];
    this.serverLog = [];
    /** @type {TcpProxy[]} */
    this.proxies = [];
    /** The port the server's HTTP listener got (kept across restarts). */
    this.port = 0;
  }

  /** @param {HarnessOptions} [opts] */
  static async start(opts) {
    const h = new Harness(opts);
    try {
      await h.startServer();
      await h.launchBrowser();
    } catch (e) {
      await h.close();
      throw e;
    }
    return h;
  }

  /**
   * Start `hotline serve` on `listen` (default: an ephemeral port; media then uses another
   * ephemeral UDP port, while with a fixed port it uses the same number over UDP).
   * The data dir and HOTLINE_SECRET are the harness's, the same across restarts.
   * @param {string} [listen]
   */
  async startServer(listen = this.opts.listen ?? '127.0.0.1:0') {
    if (!this.dataDir) this.dataDir = await mkdtemp(join(tmpdir(), 'hotline-e2e-'));
    const args = ['serve', '--dev', '--listen', listen, '--data-dir', this.dataDir, ...(this.opts.serverArgs ?? [])];
    const proc = spawn(this.bin, args, {
      env: { ...process.env, HOTLINE_SECRET: this.secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    // Never leave a server behind, even if the test process is torn down abruptly.
    const killOnExit = () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    if (process.env.HOTLINE_E2E_VERBOSE) {
      proc.stdout?.on('data', (c) => process.stderr.write(`[server] ${c}`));
      proc.stderr?.on('data', (c) => process.stderr.write(`[server] ${c}`));
    }
    this.url = await new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`server did not print its URL within 30 s. Log:\n${this.serverLog.join('')}`)), 30000);
      /** @param {Buffer} chunk */
      const onData = (chunk) => {
        const s = chunk.toString();
        this.serverLog.push(s);
        buf += s;
        const m = buf.match(/http:\/\/\d+\.\d+\.\d+\.\d+:\d+/);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', (c) => this.serverLog.push(c.toString()));
      proc.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code ?? signal} before listening. Log:\n${this.serverLog.join('')}`));
      });
    });
    this.port = Number(new URL(this.url).port);
  }

  /**
   * Stop the server with `signal` and wait until it is gone: SIGKILL (default) stops it dead (no
   * shutdown, no close frames); SIGTERM lets it shut down (`shutting_down`, then 4010 after its grace).
   * @param {'SIGKILL' | 'SIGTERM'} [signal]
   */
  async killServer(signal = 'SIGKILL') {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    this.serverLog.push(`--- [harness] ${signal} to the server ---\n`);
    proc.kill(signal);
    await exited;
  }

  /**
   * Start the server again on the same HTTP port (media: UDP on that port number), with the same
   * secret and data dir, so that tokens minted before stay valid. Retries while the port is busy.
   */
  async restartServer() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) throw new Error('restartServer: the server is still running');
    this.serverLog.push('--- [harness] server restarting ---\n');
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        const host = (this.opts.listen ?? '127.0.0.1:0').replace(/:\d+$/, '');
        await this.startServer(`${host}:${this.port}`);
        return;
      } catch (e) {
        if (Date.now() > deadline || !/cannot bind|in use/i.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * A TCP proxy to the server's HTTP port (pages loaded through it signal through it; media still
   * goes straight to the server's UDP port). Closed with the harness.
   * @returns {Promise<TcpProxy>}
   */
  async startProxy() {
    const proxy = await TcpProxy.start(this.port);
    this.proxies.push(proxy);
    return proxy;
  }

  /**
   * Mint a token with the server's CLI. `languages` (e.g. `['ru', 'en']`) declares the room's
   * interpretation languages when this token opens the room; `interpret` (e.g. `'ru:en'`) makes an
   * interpreter of that pair. `e2ee` makes the room end-to-end encrypted when this token opens it.
   * @param {MintOptions} o
   * @returns {Promise<string>}
   */
  mintToken(o) {
    const args = ['--room', o.room, '--identity', o.identity, '--name', o.name];
    if (o.ttl) args.push('--ttl', o.ttl);
    if (o.noPublish) args.push('--no-publish');
    if (o.host) args.push('--host');
    if (o.languages?.length) args.push('--languages', o.languages.join(','));
    if (o.interpret) args.push('--interpret', o.interpret);
    if (o.e2ee) args.push('--e2ee');
    return this.token(args, o.secret);
  }

  /**
   * `hotline token ARGS`, signed with the server's secret (or `secret`): the token it prints.
   * @param {string[]} args @param {string} [secret]
   * @returns {Promise<string>}
   */
  token(args, secret) {
    return new Promise((resolve, reject) => {
      execFile(this.bin, ['token', ...args], { env: { ...process.env, HOTLINE_SECRET: secret ?? this.secret } }, (err, stdout, stderr) => {
        if (err) reject(new Error(`hotline token failed: ${err.message}\n${stderr}`));
        else resolve(stdout.trim());
      });
    });
  }

  async launchBrowser() {
    this.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: this.opts.chromiumArgs ?? CHROMIUM_ARGS });
  }

  /** The media addresses the server printed (`Media: UDP ADDR, ICE over TCP ADDR`), or null. */
  mediaAddrs() {
    const m = this.log().match(/Media: UDP (\S+), ICE over TCP (\S+)/);
    return m ? { udp: m[1], tcp: m[2] } : null;
  }

  /**
   * Another Chromium process with the same arguments as the harness's browser, for a participant
   * whose browser a test must control on its own (e.g. freeze it). Launched as a browser server
   * (playwright-core's `Browser` has no `process()`; `BrowserServer` has) and connected to.
   * The harness does not track it: the caller closes it (`browser.close()`, then `server.kill()`).
   * @returns {Promise<{browser: import('playwright-core').Browser, server: import('playwright-core').BrowserServer, pid: number}>}
   */
  async launchSeparateBrowser() {
    const server = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: this.opts.chromiumArgs ?? CHROMIUM_ARGS });
    try {
      const pid = server.process().pid;
      if (!pid) throw new Error('the browser server has no pid');
      const browser = await chromium.connect(server.wsEndpoint());
      return { browser, server, pid };
    } catch (e) {
      await server.kill().catch(() => {});
      throw e;
    }
  }

  /**
   * The invitation link for `room` with `token`.
   * @param {string} room @param {string} token
   * @param {string} [base]  origin to load it from (default: the server's; e.g. a proxy's)
   */
  roomUrl(room, token, base = this.url) {
    return `${base}/room/${encodeURIComponent(room)}?token=${encodeURIComponent(token)}`;
  }

  /**
   * A fresh page in its own context (one per participant).
   * @param {{width?: number, height?: number}} [viewport]
   * @param {import('playwright-core').BrowserContextOptions} [contextOptions]  on top of the harness defaults
   */
  async newPage(viewport = {}, contextOptions = {}) {
    if (!this.browser) throw new Error('no browser');
    const ctx = await this.browser.newContext({
      // The web client speaks the browser's language: English unless a test asks for another.
      locale: 'en-US',
      ...this.opts.contextOptions,
      ...contextOptions,
      viewport: { width: viewport.width ?? 1000, height: viewport.height ?? 700 },
    });
    this.contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    if (process.env.HOTLINE_E2E_VERBOSE) page.on('console', (m) => console.error(`[console ${m.type()}] ${m.text()}`));
    return page;
  }

  /**
   * Open an invitation link in a new page: in a fresh context of the harness's browser, or in
   * `o.context` (e.g. a context of a separate browser, which the caller then closes).
   * `o.baseUrl` loads the page from another origin (e.g. `proxy.url`), `o.beforeLoad` runs on the
   * page before it loads (e.g. `page.addInitScript`).
   * @param {MintOptions & {token?: string, viewport?: {width?: number, height?: number}, context?: import('playwright-core').BrowserContext, baseUrl?: string, beforeLoad?: (page: import('playwright-core').Page) => Promise<void>}} o
   */
  async join(o) {
    const token = o.token ?? (await this.mintToken(o));
    const page = o.context ? await o.context.newPage() : await this.newPage(o.viewport);
    if (o.context) {
      page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
      if (process.env.HOTLINE_E2E_VERBOSE) page.on('console', (m) => console.error(`[console ${m.type()}] ${m.text()}`));
    }
    if (o.beforeLoad) await o.beforeLoad(page);
    await page.goto(this.roomUrl(o.room, token, o.baseUrl));
    await page.waitForFunction(() => /** @type {any} */ (window).hotlineRoom?.state === 'connected', null, { timeout: 20000 });
    return page;
  }

  async close() {
    for (const p of this.proxies) await p.close().catch(() => {});
    this.proxies = [];
    for (const c of this.contexts) await c.close().catch(() => {});
    this.contexts = [];
    if (this.browser) await this.browser.close().catch(() => {});
    this.browser = null;
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      const proc = this.proc;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    this.proc = null;
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true }).catch(() => {});
  }

  /** The server log so far (for assertion messages). */
  log() {
    return this.serverLog.join('');
  }
}

// ------------------------------------------------------------------ TCP proxy

/**
 * A small TCP proxy on 127.0.0.1 (ephemeral port) to `127.0.0.1:targetPort`, that a test can cut
 * abruptly (RST both ways, as a network loss looks to both ends), make refuse connections, or
 * stall (nothing forwarded, nothing closed: a silently dead path).
 */
export class TcpProxy {
  /** @param {import('node:net').Server} server @param {number} targetPort */
  constructor(server, targetPort) {
    this.server = server;
    this.targetPort = targetPort;
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy: no address');
    this.port = addr.port;
    this.url = `http://127.0.0.1:${this.port}`;
    /** New connections are reset at once while true. */
    this.refusing = false;
    /** Connections accepted so far. */
    this.accepted = 0;
    /** Connections reset because the proxy was refusing. */
    this.refused = 0;
    /** @type {Set<{client: import('node:net').Socket, upstream: import('node:net').Socket}>} */
    this.pairs = new Set();
  }

  /** @param {number} targetPort @returns {Promise<TcpProxy>} */
  static start(targetPort) {
    return new Promise((resolve, reject) => {
      /** @type {TcpProxy} */
      let proxy;
      const server = createTcpServer((client) => proxy.#onConnection(client));
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        proxy = new TcpProxy(server, targetPort);
        resolve(proxy);
      });
    });
  }

  /** @param {import('node:net').Socket} client */
  #onConnection(client) {
    client.on('error', () => {});
    if (this.refusing) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = tcpConnect(this.targetPort, '127.0.0.1');
    upstream.on('error', () => {});
    const pair = { client, upstream };
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      this.pairs.delete(pair);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.once('close', end);
    upstream.once('close', end);
  }

  /** Reset every open connection, both sides (RST, no FIN, no close frame). Returns how many. */
  dropAll() {
    const n = this.pairs.size;
    for (const { client, upstream } of [...this.pairs]) {
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    }
    this.pairs.clear();
    return n;
  }

  /**
   * Stop forwarding on every open connection, without closing anything: bytes pile up unread.
   * Returns how many connections were stalled.
   */
  stallAll() {
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    return this.pairs.size;
  }

  /** Refuse (reset) new connections until `accept()`. */
  refuse() {
    this.refusing = true;
  }

  /** Accept new connections again. @returns {number} the time (Date.now()) */
  accept() {
    this.refusing = false;
    return Date.now();
  }

  async close() {
    this.dropAll();
    await new Promise((r) => this.server.close(() => r(undefined)));
  }
}

// ------------------------------------------------------------------ processes

/**
 * The pids of `rootPid` and all its descendants (from /proc; Linux only).
 * @param {number} rootPid
 * @returns {Promise<number[]>}
 */
export async function processTree(rootPid) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out = [];
  const todo = [rootPid];
  while (todo.length) {
    const pid = /** @type {number} */ (todo.pop());
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * SIGSTOP a process and all its descendants, repeating until no new descendant shows up (one
 * could have been forked between listing and stopping). Returns the stopped pids.
 * @param {number} rootPid
 * @returns {Promise<number[]>}
 */
export async function freezeProcessTree(rootPid) {
  /** @type {Set<number>} */
  const stopped = new Set();
  /** @type {Set<number>} */
  const tried = new Set();
  for (;;) {
    const fresh = (await processTree(rootPid)).filter((pid) => !tried.has(pid));
    if (!fresh.length) return [...stopped];
    for (const pid of fresh) {
      tried.add(pid);
      try {
        process.kill(pid, 'SIGSTOP');
        stopped.add(pid);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * SIGCONT every pid of `pids` (the result of `freezeProcessTree`); ignores pids that are gone.
 * @param {Iterable<number>} pids
 */
export function thawProcesses(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
}

export async function ensureArtifactsDir() {
  await mkdir(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

// ------------------------------------------------------------------ in-page probes

/**
 * Inbound RTP stats of the track of `source` that `page` receives from the participant named `name`.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @param {'camera' | 'microphone' | 'screen' | 'interpretation'} source
 */
export function inboundStats(page, name, source) {
  return page.evaluate(
    async ([name, source]) => {
      const room = /** @type {any} */ (window).hotlineRoom;
      if (!room?.subscriberPc) return null;
      const p = [...room.participants.values()].find((x) => x.name === name);
      const t = p?.subscribed(source);
      if (!t) return null;
      const stats = await room.subscriberPc.getStats();
      for (const s of stats.values()) {
        if (s.type !== 'inbound-rtp') continue;
        if (s.mid === t.mid || s.trackIdentifier === t.mediaStreamTrack.id) {
          return {
            kind: s.kind,
            framesDecoded: s.framesDecoded ?? 0,
            frameWidth: s.frameWidth ?? 0,
            packetsReceived: s.packetsReceived ?? 0,
            totalSamplesReceived: s.totalSamplesReceived ?? 0,
          };
        }
      }
      return null;
    },
    [name, source],
  );
}

/**
 * framesDecoded of every camera track `page` receives, by sender name (one getStats call).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<Record<string, number>>}
 */
export function cameraFramesByName(page) {
  return page.evaluate(async () => {
    const room = /** @type {any} */ (window).hotlineRoom;
    /** @type {Record<string, number>} */
    const out = {};
    if (!room?.subscriberPc) return out;
    const stats = await room.subscriberPc.getStats();
    const inbound = [...stats.values()].filter((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    for (const p of room.participants.values()) {
      const t = p.subscribed('camera');
      if (!t) continue;
      const s = inbound.find((s) => s.mid === t.mid || s.trackIdentifier === t.mediaStreamTrack.id);
      if (s) out[p.name] = s.framesDecoded ?? 0;
    }
    return out;
  });
}

/**
 * Wait until `page` decodes video from `name`: framesDecoded rises between two reads
 * and the tile's <video> has a size.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function waitForVideoFrom(page, name, timeout = 30000) {
  const first = await waitFor(async () => {
    const s = await inboundStats(page, name, 'camera');
    return s && s.framesDecoded > 0 ? s : null;
  }, { timeout, message: `video from ${name} decoded` });
  await waitFor(async () => {
    const s = await inboundStats(page, name, 'camera');
    return s && s.framesDecoded > first.framesDecoded;
  }, { timeout, message: `framesDecoded from ${name} rising` });
  await page.waitForFunction(
    (name) => {
      const tile = [...document.querySelectorAll('.tile[data-participant-name]')].find((t) => t.getAttribute('data-participant-name') === name && !t.hasAttribute('data-local'));
      const v = tile?.querySelector('video');
      return !!v && v.videoWidth > 0;
    },
    name,
    { timeout },
  );
}

/**
 * Wait until `page` receives audio from `name` (packets rising and samples received).
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function waitForAudioFrom(page, name, timeout = 30000) {
  const first = await waitFor(async () => {
    const s = await inboundStats(page, name, 'microphone');
    return s && s.packetsReceived > 0 ? s : null;
  }, { timeout, message: `audio from ${name}` });
  await waitFor(async () => {
    const s = await inboundStats(page, name, 'microphone');
    return s && s.packetsReceived > first.packetsReceived && s.totalSamplesReceived > 0;
  }, { timeout, message: `audio packets from ${name} rising` });
}

/**
 * Locator of the (remote) tile of the participant named `name`.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export function tileOf(page, name) {
  return page.locator(`.tile[data-participant-name=${JSON.stringify(name)}]:not([data-local])`);
}

/**
 * Record, with timestamps, what the room of `page` tells the app from now on.
 * @param {import('playwright-core').Page} page
 */
export function recordRoomEvents(page) {
  return page.evaluate(() => {
    const w = /** @type {any} */ (window);
    const room = w.hotlineRoom;
    w.__events = [];
    /** @param {object} e */
    const push = (e) => w.__events.push({ t: Date.now(), ...e });
    room.on('participant_joined', (/** @type {any} */ p) => push({ type: 'participant_joined', id: p.id, name: p.name }));
    room.on('participant_left', (/** @type {any} */ e) => push({ type: 'participant_left', id: e.participant.id, name: e.participant.name, reason: e.reason }));
    room.on('participant_updated', (/** @type {any} */ p) => push({ type: 'participant_updated', id: p.id, name: p.name, connection: p.connection }));
    room.on('reconnecting', (/** @type {any} */ i) => push({ type: 'reconnecting', code: i.code }));
    room.on('reconnected', (/** @type {any} */ i) => push({ type: 'reconnected', resumed: i.resumed }));
    room.on('disconnected', (/** @type {any} */ i) => push({ type: 'disconnected', code: i.code }));
    room.on('ice_restart', (/** @type {any} */ i) => push({ type: 'ice_restart', pc: i.pc, reason: i.reason }));
    for (const which of ['publisherPc', 'subscriberPc']) {
      const pc = room[which];
      pc.addEventListener('iceconnectionstatechange', () => push({ type: 'ice', pc: which, state: pc.iceConnectionState }));
    }
  });
}

/** @param {import('playwright-core').Page} page @returns {Promise<any[]>} */
export const eventsOf = (page) => page.evaluate(() => /** @type {any} */ (window).__events);

/**
 * Before the app loads (use as `beforeLoad`): keep, with the time, every signaling message of the
 * types `received` that the page receives and of the types `sent` that it sends, in
 * `window.__signals` as `{t, dir: 'in' | 'out', m}`. Read them with `signalsOf`. Also counts the
 * WebSockets the page opens (`socketsOpened`) and keeps the latest as `window.__socket`.
 * @param {{received: string[], sent: string[]}} types
 * @returns {(page: import('playwright-core').Page) => Promise<void>}
 */
export function recordSignals(types) {
  return (page) =>
    page.addInitScript((types) => {
      const w = /** @type {any} */ (window);
      w.__signals = [];
      const Base = w.WebSocket;
      w.WebSocket = class extends Base {
        /** @param {any[]} args */
        constructor(...args) {
          // @ts-ignore
          super(...args);
          w.__sockets = (w.__sockets ?? 0) + 1;
          // The latest socket, for a test that sends on it what a misbehaving client or server would.
          w.__socket = this;
          this.addEventListener('message', (/** @type {MessageEvent} */ ev) => {
            try {
              const m = JSON.parse(ev.data);
              if (types.received.includes(m.type)) w.__signals.push({ t: Date.now(), dir: 'in', m });
            } catch { /* not ours */ }
          });
        }
        /** @param {any} data */
        send(data) {
          if (typeof data === 'string') {
            try {
              const m = JSON.parse(data);
              if (types.sent.includes(m.type)) w.__signals.push({ t: Date.now(), dir: 'out', m });
            } catch { /* not JSON */ }
          }
          super.send(data);
        }
      };
    }, types);
}

/** @param {import('playwright-core').Page} page @returns {Promise<{t: number, dir: 'in' | 'out', m: any}[]>} */
export const signalsOf = (page) => page.evaluate(() => /** @type {any} */ (window).__signals ?? []);

/** How many WebSockets the page opened since it loaded (with `recordSignals`). @param {import('playwright-core').Page} page @returns {Promise<number>} */
export const socketsOpened = (page) => page.evaluate(() => /** @type {any} */ (window).__sockets ?? 0);

/**
 * Before the app loads (use as `beforeLoad`): the page's microphone is a pure tone of `hz` (a WebAudio
 * oscillator into a MediaStreamDestination, `amplitude` 0..1), so that what each participant sends can
 * be told apart in what another receives; the camera stays the fake one. Without the browser's voice
 * processing (noise suppression would take a steady tone for noise). Needs
 * `--autoplay-policy=no-user-gesture-required` (in CHROMIUM_ARGS) for the AudioContext to run.
 * @param {number} hz
 * @param {number} [amplitude]
 * @returns {(page: import('playwright-core').Page) => Promise<void>}
 */
export function toneMicrophone(hz, amplitude = 0.25) {
  return (page) =>
    page.addInitScript(([hz, amplitude]) => {
      const devices = navigator.mediaDevices;
      if (!devices?.getUserMedia) return;
      const real = devices.getUserMedia.bind(devices);
      /** @type {AudioContext | null} */
      let ctx = null;
      devices.getUserMedia = async (constraints) => {
        const out = new MediaStream();
        if (constraints?.video) for (const t of (await real({ video: constraints.video })).getVideoTracks()) out.addTrack(t);
        if (constraints?.audio) {
          ctx ??= new AudioContext();
          if (ctx.state === 'suspended') await ctx.resume();
          const osc = ctx.createOscillator();
          osc.frequency.value = hz;
          const gain = ctx.createGain();
          gain.gain.value = amplitude;
          const dest = ctx.createMediaStreamDestination();
          osc.connect(gain).connect(dest);
          osc.start();
          out.addTrack(dest.stream.getAudioTracks()[0]);
        }
        return out;
      };
    }, /** @type {[number, number]} */ ([hz, amplitude]));
}

/**
 * A mono 16-bit PCM WAV of a sine tone (for `--use-file-for-fake-audio-capture`; amplitude 0 is
 * silence).
 * @param {{hz?: number, seconds?: number, rate?: number, amplitude?: number}} [o]
 */
export function toneWav(o = {}) {
  const { hz = 440, seconds = 4, rate = 48000, amplitude = 0.5 } = o;
  const samples = Math.round(rate * seconds);
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28); // bytes per second
  buf.writeUInt16LE(2, 32); // bytes per frame
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(samples * 2, 40);
  // A whole number of periods, so the loop has no click.
  for (let i = 0; i < samples; i++) {
    buf.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * amplitude * 32767), 44 + i * 2);
  }
  return buf;
}

// ------------------------------------------------------------------ scheduled calls

/**
 * Mint an organizer's token (for `POST /api/calls`) with the server's CLI, signed with the
 * harness's secret.
 * @param {Harness} hx
 * @param {string} [identity]
 * @returns {Promise<string>}
 */
export function mintOrganizerToken(hx, identity = 'org') {
  return hx.token(['--organizer', '--identity', identity]);
}

/**
 * Create a scheduled call through the API with an organizer's token; throws unless it is created
 * (201). Returns the answer: the call's id and each party's link.
 * @param {Harness} hx
 * @param {object} call  the body of `POST /api/calls`
 * @returns {Promise<{call_id: string, public_link: string, parties: {party_id: string, name: string, link: string}[]}>}
 */
export async function createCall(hx, call) {
  const token = await mintOrganizerToken(hx);
  const res = await fetch(`${hx.url}/api/calls`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(call),
  });
  if (res.status !== 201) throw new Error(`creating a call: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Wait until the text of `locator` matches (a string: contains it); returns the text.
 * @param {import('playwright-core').Locator} locator @param {string | RegExp} want @param {number} [timeout]
 */
export async function waitText(locator, want, timeout = 20000) {
  return waitFor(
    async () => {
      const text = (await locator.count()) ? await locator.first().innerText() : '';
      return (typeof want === 'string' ? text.includes(want) : want.test(text)) ? text : null;
    },
    { timeout, message: `text ${want} in ${locator}` },
  );
}

/**
 * The level (dB) at each of `freqs` in what `page` plays, averaged over `ms`.
 *
 * Remote audio plays through the call's <audio> elements (one per received track; their `volume`
 * carries the floor's lowering, so the browser's echo cancellation knows all of it). What an element
 * plays cannot be tapped, so the measurement rebuilds each element's path faithfully: its track's
 * decoded samples (a MediaStreamSource on the element's own srcObject) through a gain equal to the
 * element's `volume` (the linear factor the browser applies to that element's output; 0 while it is
 * muted or paused), kept in step with `volumechange`, all summed into one AnalyserNode. The analyser
 * then sees the mix the listener hears. Its magnitude at a tone's bin (best of the bins around it,
 * power averaged over frames taken every 50 ms) is that tone's level.
 * @param {import('playwright-core').Page} page
 * @param {number[]} freqs
 * @param {number} [ms]
 * @returns {Promise<Record<number, number>>}
 */
export function playedLevels(page, freqs, ms = 1000) {
  return page.evaluate(
    async ([freqs, ms]) => {
      const w = /** @type {any} */ (window);
      /** @type {AudioContext} */
      const ctx = (w.__measureCtx ??= new AudioContext());
      if (ctx.state !== 'running') await ctx.resume();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      // Pulled by the graph without making a sound.
      const sink = ctx.createGain();
      sink.gain.value = 0;
      analyser.connect(sink).connect(ctx.destination);
      /** @type {(() => void)[]} */
      const undo = [];
      for (const a of /** @type {NodeListOf<HTMLAudioElement>} */ (document.querySelectorAll('.audio-host audio'))) {
        const stream = a.srcObject;
        if (!(stream instanceof MediaStream) || stream.getAudioTracks().length === 0) continue;
        const src = ctx.createMediaStreamSource(stream);
        const gain = ctx.createGain();
        const mirror = () => {
          gain.gain.value = a.muted || a.paused ? 0 : a.volume;
        };
        mirror();
        a.addEventListener('volumechange', mirror);
        a.addEventListener('pause', mirror);
        a.addEventListener('play', mirror);
        src.connect(gain).connect(analyser);
        undo.push(() => {
          a.removeEventListener('volumechange', mirror);
          a.removeEventListener('pause', mirror);
          a.removeEventListener('play', mirror);
          src.disconnect();
          gain.disconnect();
        });
      }
      const bins = new Float32Array(analyser.frequencyBinCount);
      const power = new Float64Array(bins.length);
      let frames = 0;
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // The analyser's own sampling interval (each frame is ~170 ms of sound: frames overlap).
        await new Promise((r) => setTimeout(r, 50));
        analyser.getFloatFrequencyData(bins);
        for (let i = 0; i < bins.length; i++) power[i] += 10 ** (bins[i] / 10);
        frames++;
      }
      for (const u of undo) u();
      analyser.disconnect();
      sink.disconnect();
      const binHz = ctx.sampleRate / analyser.fftSize;
      /** @type {Record<number, number>} */
      const out = {};
      for (const f of freqs) {
        const c = Math.round(f / binHz);
        let best = 0;
        for (let i = Math.max(0, c - 3); i <= Math.min(bins.length - 1, c + 3); i++) best = Math.max(best, power[i] / frames);
        out[f] = Math.round(10 * Math.log10(best + 1e-30) * 10) / 10;
      }
      return out;
    },
    /** @type {[number[], number]} */ ([freqs, ms]),
  );
}
