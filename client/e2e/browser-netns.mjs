// A network namespace for one test's browser: joined to the root namespace (the server, other
// browsers) by a veth pair, so that what the test does to its network (drop, delay, cap, readdress)
// touches that browser alone. Everything is named after the test process (a short prefix and the
// pid) on a 10.N.X.0/24 subnet not in use on this machine; leftovers of an earlier run with the
// same pid are removed first, and everything is removed at the end, also when the process exits
// early. Needs root.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './harness.mjs';

const run = promisify(execFile);

export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

export class BrowserNamespace {
  /**
   * @param {string} prefix  a few letters, unique per test file (interface names are at most 15)
   * @param {number} secondOctet  the N of 10.N.X.0/24, unique per test file
   */
  constructor(prefix, secondOctet) {
    const pid = process.pid;
    this.name = `${prefix}${pid}`;
    /** The veth end in the root namespace (where a tc qdisc shapes what the browser receives). */
    this.vethRoot = `${prefix}r${pid}`;
    /** The veth end inside the namespace. */
    this.vethNs = `${prefix}n${pid}`;
    this.secondOctet = secondOctet;
    this.subnet = 0;
    /** A scratch directory of this namespace's (rule files and the like). */
    this.tmp = '';
    this._onExit = () => this.cleanupSync();
  }

  /** Address `host` of the subnet: 1 is the root end, 2 the namespace's. @param {number} host */
  ip(host) {
    return `10.${this.secondOctet}.${this.subnet}.${host}`;
  }

  /** Runs a command inside the namespace. @param {string[]} args */
  exec(...args) {
    return run('ip', ['netns', 'exec', this.name, ...args]);
  }

  /**
   * Creates the namespace and the veth pair, with 10.N.X.1 on the root end and 10.N.X.2 inside.
   * @param {{beforeAddress?: (ns: BrowserNamespace) => Promise<unknown>}} [o]  runs after the veth
   *   end moved in, before it gets its address (e.g. a sysctl of that interface)
   */
  async create(o = {}) {
    this.cleanupSync();
    process.once('exit', this._onExit);
    this.subnet = this._freeSubnet();
    await run('ip', ['netns', 'add', this.name]);
    await run('ip', ['link', 'add', this.vethRoot, 'type', 'veth', 'peer', 'name', this.vethNs]);
    await run('ip', ['link', 'set', this.vethNs, 'netns', this.name]);
    await run('ip', ['addr', 'add', `${this.ip(1)}/24`, 'dev', this.vethRoot]);
    await run('ip', ['link', 'set', this.vethRoot, 'up']);
    await o.beforeAddress?.(this);
    await run('ip', ['-n', this.name, 'addr', 'add', `${this.ip(2)}/24`, 'dev', this.vethNs]);
    await run('ip', ['-n', this.name, 'link', 'set', this.vethNs, 'up']);
    await run('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    this.tmp = await mkdtemp(join(tmpdir(), `hotline-${this.name}-`));
  }

  /**
   * Launches Chromium inside the namespace.
   * @param {string[]} args
   * @returns {Promise<import('playwright-core').Browser>}
   */
  async launchChromium(args) {
    const wrapper = join(this.tmp, 'chromium-in-netns.sh');
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${this.name} ${CHROMIUM} "$@"\n`);
    await chmod(wrapper, 0o755);
    return chromium.launch({ executablePath: wrapper, headless: true, args });
  }

  /** Removes everything (what runs in the namespace, then the namespace and the veth). */
  async destroy() {
    this.cleanupSync();
    process.off('exit', this._onExit);
    if (this.tmp) await rm(this.tmp, { recursive: true, force: true }).catch(() => {});
  }

  /**
   * Removes the namespace and the veth, with whatever is inside (nft tables, iptables rules, qdiscs);
   * processes still in it (a browser, a helper of the test) are this test's own and are killed
   * first. Ignores what is not there.
   */
  cleanupSync() {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', this.name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .split(/\s+/)
        .filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
    } catch {
      // no such namespace
    }
    for (const args of [['netns', 'del', this.name], ['link', 'del', this.vethRoot]]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // not there
      }
    }
  }

  /** Third octet: from the pid, skipping subnets already on this machine. */
  _freeSubnet() {
    const used = execFileSync('ip', ['-o', '-4', 'addr', 'show']).toString();
    for (let i = 0; i < 256; i++) {
      const b = ((process.pid + i) % 254) + 1;
      if (!used.includes(` 10.${this.secondOctet}.${b}.`)) return b;
    }
    throw new Error(`no free 10.${this.secondOctet}.X.0/24 subnet`);
  }
}
