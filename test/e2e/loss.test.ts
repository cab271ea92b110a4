// Media under loss, as a user on a lossy link meets it (issue #26): the demo page in Chromium, with
// nftables dropping a share of every UDP datagram of the namespace (publisher → SFU, SFU → viewer and
// RTCP alike), and a policer on what one viewer receives. Random loss is repaired (NACK) and is no
// reason to leave the top layer; a real bottleneck is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { clientFirewall } from '../helpers/netns.ts';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { createShapedLink, type ShapedLink } from '../helpers/shapedLink.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'lossy';
/** The demo page captures 960x540 for simulcast: the top layer is 960 wide. */
const TOP_WIDTH = 960;
const STEP_MS = 15_000;

interface VideoIn {
  width: number;
  frames: number;
  /** totalFreezesDuration, s. */
  frozen: number;
  at: number;
}

function videoIn(page: Page): Promise<VideoIn | null> {
  return page.evaluate(`(async () => {
    const pc = window.sb && window.sb.client && window.sb.client.subscriber;
    if (!pc) return null;
    let out = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out = { width: s.frameWidth || 0, frames: s.framesDecoded || 0, frozen: s.totalFreezesDuration || 0, at: Date.now() };
      }
    });
    return out;
  })()`);
}

/** The publisher's video bitrate per rid over `ms`, bps. */
async function publisherRates(page: Page, ms: number): Promise<Record<string, number>> {
  const read = (): Promise<Record<string, number>> =>
    page.evaluate(`(async () => {
      const out = {};
      (await window.sb.client.publisher.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) out[s.rid] = s.bytesSent;
      });
      return out;
    })()`);
  const a = await read();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return Object.fromEntries(Object.keys(b).map((rid) => [rid, ((b[rid]! - (a[rid] ?? 0)) * 8000) / ms]));
}

interface Step {
  /** Frames decoded per second over the step. */
  fps: number;
  /** Frame widths sampled once a second. */
  widths: number[];
  frozen: number;
  /** The longest freeze that ended in one sampling second, s. */
  longestFreeze: number;
}

/** Samples `pages` once a second for `ms` (and `probe` each time), then sums up per page. */
async function measure(
  pages: Page[],
  ms: number,
  probe?: (t: number, now: (VideoIn | null)[]) => void,
): Promise<Step[]> {
  const first = await Promise.all(pages.map(videoIn));
  const widths: number[][] = pages.map(() => []);
  const start = Date.now();
  const longest = pages.map(() => 0);
  let last = first;
  while (Date.now() - start < ms) {
    await new Promise((r) => setTimeout(r, 1000));
    const prev = last;
    last = await Promise.all(pages.map(videoIn));
    last.forEach((v, i) => {
      widths[i]!.push(v?.width ?? 0);
      longest[i] = Math.max(longest[i]!, (v?.frozen ?? 0) - (prev[i]?.frozen ?? 0));
    });
    probe?.(Date.now() - start, last);
  }
  return pages.map((_, i) => {
    const a = first[i]!;
    const b = last[i]!;
    return {
      fps: ((b.frames - a.frames) * 1000) / (b.at - a.at),
      widths: widths[i]!,
      frozen: b.frozen - a.frozen,
      longestFreeze: longest[i]!,
    };
  });
}

const describeStep = (name: string, s: Step) =>
  `${name}: ${s.fps.toFixed(1)} fps, widths ${s.widths.join(' ')}, frozen ${s.frozen.toFixed(2)} s (longest ${s.longestFreeze.toFixed(2)})`;

void describe('media under loss', { timeout: 300_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let shaped: ShapedLink | undefined;
  let slowBrowser: TestBrowser | undefined;
  let pub: Page;
  let viewer: Page;
  let slow: Page;
  let clean: Step[] = [];

  before(async () => {
    // 0.0.0.0: the policed viewer reaches the server over its own link (10.204.0.1).
    sb = await startSwitchboard((cfg) => {
      cfg.signal.host = '0.0.0.0';
      cfg.log.level = 'debug';
    });
    shaped = await createShapedLink();
    browser = await launchBrowser();
    slowBrowser = await launchBrowser({ executablePath: shaped.chromiumWrapper });
    pub = await browser.newPage('publisher');
    await pub.goto(`${sb.url}/?room=${ROOM}&name=pub&autojoin=1`);
    viewer = await browser.newPage('viewer');
    await viewer.goto(`${sb.url}/?room=${ROOM}&name=viewer&autojoin=1&publish=0`);
    slow = await slowBrowser.newPage('policed-viewer');
    await slow.goto(`http://${shaped.serverAddress}:${sb.port}/?room=${ROOM}&name=slow&autojoin=1&publish=0`);
    for (const [page, what] of [
      [viewer, 'viewer'],
      [slow, 'policed viewer'],
    ] as const) {
      await waitFor(async () => ((await videoIn(page))?.width ?? 0) === TOP_WIDTH, {
        timeout: 60_000,
        interval: 250,
        what: `the ${what} to decode the top layer`,
      });
    }
  });

  after(async () => {
    await slowBrowser?.close();
    await browser?.close();
    await shaped?.close();
    await sb?.close();
  });

  void it('at 5 % loss on every hop the viewer keeps the top layer and ≥ 90 % of its frames', async () => {
    clean = await measure([viewer], 10_000);
    console.log(describeStep('0 %', clean[0]!));
    const counters = async () => {
      const text = await fetchMetrics(sb!);
      return ['sfu_nack_requests', 'sfu_subscriber_nacks', 'sfu_retransmissions'].map(
        (name) => metricValue(text, name) ?? 0,
      );
    };
    const before = await counters();
    const loss = clientFirewall('loss', '    meta l4proto udp numgen random mod 1000 < 50 drop');
    let lossy: Step;
    try {
      [lossy] = (await measure([viewer], STEP_MS)) as [Step];
    } finally {
      loss.remove();
    }
    console.log(describeStep('5 %', lossy));
    assert.ok(
      lossy.fps >= 0.9 * clean[0]!.fps,
      `${lossy.fps.toFixed(1)} fps at 5 % vs ${clean[0]!.fps.toFixed(1)}`,
    );
    assert.deepEqual(
      lossy.widths.filter((w) => w !== TOP_WIDTH),
      [],
      `the viewer left the top layer: ${lossy.widths.join(' ')}`,
    );
    assert.ok(lossy.frozen <= 0.5, `frozen ${lossy.frozen.toFixed(2)} s`);
    // Loss on the way in was asked back from the publisher; the viewer's NACKs were answered.
    const [upstream, nacked, resent] = (await counters()).map((v, i) => v - before[i]!);
    console.log(
      `NACKs toward the publisher ${upstream}, from subscribers ${nacked}, retransmitted ${resent}`,
    );
    assert.ok(upstream! > 0, 'no NACK toward the publisher');
    assert.ok(resent! > 0 && resent! <= nacked!, `${resent} retransmissions for ${nacked} NACKed packets`);
  });

  void it('a policer below the top layer moves that viewer down; the other keeps the top; lifted, it climbs back', async () => {
    // Between the top layer's rate and the next one's (the fake camera's rates vary by machine).
    const rates = await publisherRates(pub, 3000);
    const limitKbit = Math.round(((rates.h ?? 0) + (rates.f ?? 0)) / 2 / 1000);
    console.log(`publisher layers ${JSON.stringify(rates)} bps; policer at ${limitKbit} kbit/s`);
    assert.ok((rates.f ?? 0) > (rates.h ?? 0) * 1.5, 'the top layer must be well above the next');
    const policer = clientFirewall(
      'policer',
      `    ip daddr ${shaped!.clientAddress} meta l4proto udp limit rate over ${Math.ceil(limitKbit / 8)} kbytes/second burst 16 kbytes drop`,
    );
    let fitAt = -1;
    let policed: Step[];
    try {
      policed = await measure([slow, viewer], STEP_MS, (t, now) => {
        if (fitAt < 0 && now[0] && now[0].width > 0 && now[0].width < TOP_WIDTH) {
          fitAt = t;
        }
      });
    } finally {
      policer.remove();
    }
    console.log(describeStep('policed viewer', policed[0]!), `; lower layer after ${fitAt} ms`);
    console.log(describeStep('other viewer', policed[1]!));
    // The targets (fit within 5 s, no freeze over 1 s, back within 10 s) are the loss bench's
    // to measure (`npm run bench:loss`); this asserts the outcomes with room for a busy CI machine.
    assert.ok(fitAt > 0 && fitAt <= 8_000, `the policed viewer moved down after ${fitAt} ms`);
    assert.deepEqual(
      policed[1]!.widths.filter((w) => w !== TOP_WIDTH),
      [],
      'the other viewer left the top layer',
    );
    assert.ok(policed[1]!.fps >= 0.9 * clean[0]!.fps, `the other viewer: ${policed[1]!.fps.toFixed(1)} fps`);
    const lifted = Date.now();
    await waitFor(async () => ((await videoIn(slow))?.width ?? 0) === TOP_WIDTH, {
      timeout: 15_000,
      interval: 250,
      what: 'the policed viewer back on the top layer within 15 s of lifting the limit',
    });
    console.log(`back on the top layer ${Date.now() - lifted} ms after the limit was lifted`);
  });
});
