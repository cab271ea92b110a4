// VP8 temporal layers (`[router.simulcast] enabletemporallayer = true`): a subscriber asking
// `framerate: 'low'` gets the base temporal layer only, at a fraction of the frame rate, and no freeze.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'temporal';

/** Frames decoded by the viewer over about two seconds, and the freeze time accumulated meanwhile. */
async function rate(page: Page): Promise<{ fps: number; frozen: number }> {
  const sample = () =>
    page.evaluate<{ frames: number; freezes: number; t: number }>(`(async () => {
      let out = { frames: 0, freezes: 0, t: performance.now() };
      (await window.sb.client.subscriber.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') out = { frames: s.framesDecoded || 0, freezes: s.totalFreezesDuration || 0, t: performance.now() };
      });
      return out;
    })()`);
  const a = await sample();
  const b = await waitFor(
    async () => {
      const s = await sample();
      return s.t - a.t >= 2000 ? s : undefined;
    },
    { what: 'a second stats sample' },
  );
  return { fps: ((b.frames - a.frames) * 1000) / (b.t - a.t), frozen: b.freezes - a.freezes };
}

void describe('VP8 temporal layers', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let viewer: Page;
  let streamId = '';

  before(async () => {
    sb = await startSwitchboard((cfg) => {
      cfg.router.simulcast.enabletemporallayer = true;
    });
    browser = await launchBrowser();
    const pub = await browser.newPage('publisher');
    // Chrome sends VP8 temporal layers (L1T3) in simulcast, not in a single stream.
    await pub.goto(`${sb.url}/?room=${ROOM}&name=pub&autojoin=1`);
    viewer = await browser.newPage('viewer');
    await viewer.goto(`${sb.url}/?room=${ROOM}&name=viewer&autojoin=1&publish=0`);
    streamId = await waitFor(
      () => viewer.evaluate<string | undefined>(`document.querySelector('.tile.remote')?.dataset.streamId`),
      { timeout: 30_000, what: 'a remote tile' },
    );
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('framerate low forwards the base layer only (a fraction of the frames), high brings them all back', async () => {
    const set = (framerate: string) =>
      viewer.evaluate(
        `window.sb.client.call('layer', { streamId: ${JSON.stringify(streamId)}, framerate: ${JSON.stringify(framerate)} })`,
      );
    const full = await waitFor(
      async () => {
        const r = await rate(viewer);
        return r.fps > 10 ? r : undefined;
      },
      { timeout: 30_000, what: 'the viewer to decode at full frame rate' },
    );
    await set('low');
    const low = await waitFor(
      async () => {
        const r = await rate(viewer);
        return r.fps > 0 && r.fps < full.fps * 0.6 ? r : undefined;
      },
      { timeout: 20_000, what: `the frame rate to drop below 60 % of ${full.fps.toFixed(1)} fps` },
    );
    assert.ok(low.frozen < 0.5, `lowering the frame rate froze the picture for ${low.frozen} s`);
    await set('high');
    await waitFor(
      async () => {
        const r = await rate(viewer);
        return r.fps > full.fps * 0.8 ? r : undefined;
      },
      { timeout: 20_000, what: 'the frame rate to come back' },
    );
  });
});
