// A flood at the server while a two-party call runs: junk UDP (random bytes,
// STUN-looking junk, fake SRTP) at the media port and WebSocket connects far
// above the limit, from another address (127.0.0.2), rate-capped and bounded
// in count and time. Against a baseline measured in the same run, the call
// keeps at least 90 % of its decoded frame rate, the server's memory stays
// bounded, and the refusals are summarised, not logged per packet.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Harness, waitFor, waitForVideoFrom, cameraFramesByName } from './harness.mjs';

const FLOOD_SECONDS = 10;
const UDP_PER_SECOND = 2000;
const WS_PER_SECOND = 100;
const ATTACKER = '127.0.0.2';

/** Sum of frames decoded from every remote camera in `page`. */
async function framesDecoded(page) {
  const byName = await cameraFramesByName(page);
  return Object.values(byName).reduce((a, b) => a + b, 0);
}

/** Decoded frames per second over `seconds`, measured in both pages. */
async function frameRate(pages, seconds) {
  const start = await Promise.all(pages.map(framesDecoded));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000)); // the measurement window itself
  const end = await Promise.all(pages.map(framesDecoded));
  const elapsed = (Date.now() - t0) / 1000;
  return end.reduce((sum, e, i) => sum + (e - start[i]), 0) / elapsed;
}

/** Resident memory of a process, in KiB. */
async function rssKiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
}

/** Junk UDP at `port` for `seconds`, at most UDP_PER_SECOND. Returns packets sent. */
function floodUdp(port, seconds) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    let sent = 0;
    const limit = UDP_PER_SECOND * seconds;
    socket.bind(0, ATTACKER, () => {
      const stunCookie = Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]);
      const timer = setInterval(() => {
        for (let i = 0; i < UDP_PER_SECOND / 100 && sent < limit; i++, sent++) {
          let packet = randomBytes(20 + (sent % 1100));
          if (sent % 3 === 1) packet = Buffer.concat([stunCookie, packet]); // bad STUN
          if (sent % 3 === 2) packet[0] = 0x80; // looks like RTP/SRTP
          socket.send(packet, port, '127.0.0.1');
        }
        if (sent >= limit) {
          clearInterval(timer);
          socket.close();
          resolve(sent);
        }
      }, 10);
    });
  });
}

/** WebSocket upgrade requests at the HTTP port; counts the 429 answers. */
async function floodWebSocket(port, seconds) {
  let refused = 0;
  let attempts = 0;
  const limit = WS_PER_SECOND * seconds;
  const one = () =>
    new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: ATTACKER }, () => {
        s.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
      });
      s.setTimeout(2000, () => s.destroy());
      s.once('data', (d) => {
        if (d.toString().startsWith('HTTP/1.1 429')) refused++;
        s.destroy();
      });
      s.once('error', () => resolve(undefined));
      s.once('close', () => resolve(undefined));
    });
  const t0 = Date.now();
  while (attempts < limit && Date.now() - t0 < (seconds + 5) * 1000) {
    const batch = [];
    for (let i = 0; i < WS_PER_SECOND / 10 && attempts < limit; i++, attempts++) batch.push(one());
    await Promise.all([...batch, new Promise((r) => setTimeout(r, 100))]);
  }
  return { attempts, refused };
}

describe('flood', { timeout: 150000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('junk UDP and a connection flood do not disturb a call', async () => {
    const log = () => hx.serverLog.join('');
    const mediaPort = Number(log().match(/Media: UDP 127\.0\.0\.1:(\d+)/)?.[1]);
    const httpPort = Number(new URL(hx.url).port);
    assert.ok(mediaPort && httpPort);
    const pid = /** @type {number} */ (hx.proc?.pid);

    const alice = await hx.join({ room: 'flood', identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room: 'flood', identity: 'bob', name: 'Bob' });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);
    // Let the senders ramp up before the baseline.
    await waitFor(async () => (await frameRate([alice, bob], 1)) > 20, { timeout: 30000, message: 'call at speed' });

    const baseline = await frameRate([alice, bob], FLOOD_SECONDS / 2);
    const rssBefore = await rssKiB(pid);
    const logLinesBefore = log().split('\n').length;

    const flood = Promise.all([floodUdp(mediaPort, FLOOD_SECONDS), floodWebSocket(httpPort, FLOOD_SECONDS)]);
    // Measure in the middle of the flood.
    await new Promise((r) => setTimeout(r, 1000));
    const during = await frameRate([alice, bob], FLOOD_SECONDS - 3);
    const [udpSent, ws] = await flood;
    const rssAfter = await rssKiB(pid);
    const logLines = log().split('\n').length - logLinesBefore;

    console.log(`baseline ${baseline.toFixed(1)} fps, during flood ${during.toFixed(1)} fps (${((100 * during) / baseline).toFixed(0)} %); ` +
      `udp junk ${udpSent}, ws attempts ${ws.attempts} (429: ${ws.refused}); rss ${rssBefore} -> ${rssAfter} KiB; ${logLines} log lines`);
    assert.ok(during >= 0.9 * baseline, `decoded frame rate during the flood ${during.toFixed(1)} < 90 % of ${baseline.toFixed(1)}`);
    assert.ok(ws.refused > ws.attempts / 2, `most connects refused: ${ws.refused}/${ws.attempts}`);
    assert.ok(rssAfter < rssBefore + 64 * 1024, `memory bounded: ${rssBefore} -> ${rssAfter} KiB`);
    assert.ok(logLines < 100, `refusals summarised, not one line per packet: ${logLines} lines`);
    assert.match(log(), /rate limit: requests refused/);
    // The call is still up for both.
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);
  });
});
