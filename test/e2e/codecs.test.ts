// VP9 and H264 are forwarded when the publisher offers them (Opus and VP8 are covered by the other tests).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

/** The received video's codec and decoded frames, from the demo page's subscriber PC. */
function receivedVideo(page: Page): Promise<{ mimeType: string; framesDecoded: number } | null> {
  return page.evaluate(`(async () => {
    const pc = window.sb && window.sb.client && window.sb.client.subscriber;
    if (!pc) return null;
    const stats = await pc.getStats();
    let out = null;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.codecId) {
        const codec = stats.get(s.codecId);
        out = { mimeType: codec ? codec.mimeType : '', framesDecoded: s.framesDecoded || 0 };
      }
    });
    return out;
  })()`);
}

void describe('codecs other than VP8', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  for (const [codec, mime] of [
    ['vp9', 'video/VP9'],
    ['h264', 'video/H264'],
  ] as const) {
    void it(`a ${mime} publisher is forwarded as ${mime} and decoded`, async () => {
      const publisher = await browser!.newPage(`${codec}-pub`);
      const viewer = await browser!.newPage(`${codec}-view`);
      await publisher.goto(`${sb!.url}/?room=codec-${codec}&name=pub&autojoin=1&codec=${codec}`);
      await viewer.goto(`${sb!.url}/?room=codec-${codec}&name=viewer&autojoin=1`);
      const got = await waitFor(
        async () => {
          const v = await receivedVideo(viewer);
          return v && v.framesDecoded > 30 ? v : undefined;
        },
        { timeout: 30_000, what: `the viewer to decode 30 ${mime} frames` },
      );
      assert.equal(got.mimeType, mime);
      await publisher.close();
      await viewer.close();
    });
  }
});
