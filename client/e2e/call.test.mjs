// Media between participants: two-party call, late joiner, leaving and closing the tab.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, waitFor, waitForVideoFrom, waitForAudioFrom, tileOf, ensureArtifactsDir } from './harness.mjs';

describe('calls', { timeout: 180000 }, () => {
  /** @type {Harness} */
  let hx;
  before(async () => {
    hx = await Harness.start();
  });
  after(async () => {
    await hx?.close();
  });

  it('two participants decode each other\'s video and receive audio', { timeout: 60000 }, async () => {
    const room = 'duo';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });

    for (const page of [alice, bob]) {
      assert.ok(!page.url().includes('token'), `token still in the address bar: ${page.url()}`);
      assert.match(page.url(), /\/room\/duo$/);
    }
    await Promise.all([
      waitForVideoFrom(alice, 'Bob'),
      waitForVideoFrom(bob, 'Alice'),
      waitForAudioFrom(alice, 'Bob'),
      waitForAudioFrom(bob, 'Alice'),
    ]);
    await alice.close();
    await bob.close();
  });

  it('audio goes as RED (redundant audio) from a browser that has it, and is heard', { timeout: 60000 }, async () => {
    const room = 'red';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await waitForAudioFrom(bob, 'Alice');
    // What makes Chromium send RED: RED first in the server's answer, as the client asked.
    const answered = await alice.evaluate(() => /** @type {any} */ (window).hotlineRoom.publisherPc.remoteDescription.sdp);
    const audioLine = answered.split('\r\n').find((/** @type {string} */ l) => l.startsWith('m=audio'));
    const redPt = /a=rtpmap:(\d+) red\/48000/.exec(answered)?.[1];
    assert.ok(redPt && audioLine?.split(' ')[3] === redPt, `RED first in the answer: ${audioLine}`);
    // The server sees Alice's microphone arrive as RED.
    await waitFor(() => /audio arrives as RED/.test(hx.log()), { message: 'the server sees RED' });
    // Bob gets it as RED: its jitter buffer discards the redundant copy of each frame it already
    // has (getStats names the codec inside, Opus); and it decodes to sound (the fake microphone
    // beeps).
    const audio = () =>
      bob.evaluate(async () => {
        const stats = await /** @type {any} */ (window).hotlineRoom.subscriberPc.getStats();
        const s = [...stats.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
        return { received: s?.packetsReceived ?? 0, discarded: s?.packetsDiscarded ?? 0, energy: s?.totalAudioEnergy ?? 0 };
      });
    const first = await audio();
    const later = await waitFor(async () => {
      const now = await audio();
      return now.received >= first.received + 50 && now.energy > first.energy ? now : null;
    }, { message: "Bob's audio flowing and audible" });
    const redundant = (later.discarded - first.discarded) / (later.received - first.received);
    assert.ok(redundant > 0.8, `redundant copies with nearly every packet: ${JSON.stringify({ first, later })}`);
    await alice.close();
    await bob.close();
  });

  it('a late joiner sees everyone; leaving and closing the tab remove tiles', { timeout: 90000 }, async () => {
    const room = 'trio';
    const alice = await hx.join({ room, identity: 'alice', name: 'Alice' });
    const bob = await hx.join({ room, identity: 'bob', name: 'Bob' });
    await Promise.all([waitForVideoFrom(alice, 'Bob'), waitForVideoFrom(bob, 'Alice')]);

    const carol = await hx.join({ room, identity: 'carol', name: 'Carol' });
    await Promise.all([
      waitForVideoFrom(carol, 'Alice'),
      waitForVideoFrom(carol, 'Bob'),
      waitForVideoFrom(alice, 'Carol'),
      waitForVideoFrom(bob, 'Carol'),
    ]);
    const dir = await ensureArtifactsDir();
    await carol.screenshot({ path: join(dir, 'three-party-call.png') });

    // Alice leaves with the button.
    await alice.click('[data-testid=leave]');
    await alice.waitForSelector('[data-testid=ended]');
    await tileOf(bob, 'Alice').waitFor({ state: 'detached', timeout: 15000 });
    await tileOf(carol, 'Alice').waitFor({ state: 'detached', timeout: 15000 });
    await bob.waitForFunction(() => ![.../** @type {any} */ (window).hotlineRoom.participants.values()].some((p) => p.name === 'Alice'));

    // Bob closes his tab.
    await bob.close();
    await tileOf(carol, 'Bob').waitFor({ state: 'detached', timeout: 15000 });
    assert.equal(await carol.locator('.tile:not([data-local])').count(), 0);
    await carol.close();
  });
});
