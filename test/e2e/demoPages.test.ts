// The demo page in headless Chromium (fake camera and microphone): three participants, one leaves.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const MEDIA_TIMEOUT = 30000;

void describe('demo page conference', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  let aliceStream = '';
  let bobStream = '';

  async function openDemo(name: string): Promise<Page> {
    const page = await browser!.newPage(name);
    await page.goto(`${sb!.url}/?room=e2e&name=${name}&autojoin=1`);
    return page;
  }

  /** The stream id of the one remote tile a page shows (its only other participant). */
  async function onlyRemoteStream(page: Page, who: string): Promise<string> {
    const tiles = await waitFor(
      async () => {
        const t = await remoteTiles(page);
        return t.length === 1 ? t : undefined;
      },
      {
        timeout: MEDIA_TIMEOUT,
        what: `${who}'s page to show one remote tile`,
      },
    );
    assert.ok(tiles[0]?.streamId, `${who}'s remote tile has a data-stream-id`);
    return tiles[0].streamId;
  }

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
    alice = await openDemo('alice');
    bob = await openDemo('bob');
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('alice and bob each decode more than 30 video frames of the other', async () => {
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      await waitFor(async () => ((await inboundStats(page))?.framesDecoded ?? 0) > 30, {
        timeout: MEDIA_TIMEOUT,
        what: `${who}'s page to decode 30 frames`,
      });
    }
  });

  void it('alice and bob each receive more than 50 audio packets', async () => {
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      await waitFor(async () => ((await inboundStats(page))?.audioPackets ?? 0) > 50, {
        timeout: MEDIA_TIMEOUT,
        what: `${who}'s page to receive 50 audio packets`,
      });
    }
  });

  void it("alice and bob each show one remote tile, holding the other's stream", async () => {
    bobStream = await onlyRemoteStream(alice, 'alice');
    aliceStream = await onlyRemoteStream(bob, 'bob');
    assert.notEqual(aliceStream, bobStream);
  });

  void it('carol, joining late, shows tiles for alice and bob and decodes both their videos', async () => {
    carol = await openDemo('carol');
    await waitFor(
      async () => {
        const ids = (await remoteTiles(carol)).map((t) => t.streamId).sort();
        return ids.length === 2 && ids.join() === [aliceStream, bobStream].sort().join();
      },
      { timeout: MEDIA_TIMEOUT, what: "carol's page to show tiles for alice's and bob's streams" },
    );
    const stats = await waitFor(
      async () => {
        const s = await inboundStats(carol);
        return s && s.video.filter((v) => v.framesDecoded > 30).length >= 2 ? s : undefined;
      },
      { timeout: MEDIA_TIMEOUT, what: "carol's page to decode 30 frames of each of two video streams" },
    );
    // Still growing: every decoding stream moves on from the snapshot.
    await waitFor(
      async () => {
        const now = await inboundStats(carol);
        const decoding = stats.video.filter((v) => v.framesDecoded > 30);
        return decoding.every(
          (v) => (now?.video.find((n) => n.track === v.track)?.framesDecoded ?? 0) > v.framesDecoded + 10,
        );
      },
      { timeout: MEDIA_TIMEOUT, what: "carol's framesDecoded to keep growing for both streams" },
    );
  });

  void it("when bob's page closes, bob's tile disappears from alice's and carol's pages", async () => {
    await bob.close();
    for (const [page, who] of [
      [alice, 'alice'],
      [carol, 'carol'],
    ] as const) {
      await waitFor(async () => !(await remoteTiles(page)).some((t) => t.streamId === bobStream), {
        timeout: MEDIA_TIMEOUT,
        what: `bob's tile to leave ${who}'s page`,
      });
    }
    const carolTiles = await remoteTiles(carol);
    assert.deepEqual(
      carolTiles.map((t) => t.streamId),
      [aliceStream],
    );
  });
});
