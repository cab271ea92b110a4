// One room for every client (issue #16): a Licode client (the wire notes' client with libwebrtc) and
// the demo page in Chromium see and decode each other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { LicodeMediaClient, LicodeTestClient, nuveRoom, nuveToken } from '../helpers/licodeClient.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const SUPER = { service: 'superservice-licode-e2e', key: 'superservice-key-licode-e2e' };
const MEDIA_TIMEOUT = 30_000;

void describe('a Licode client and the demo page in one room', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let licode: LicodeMediaClient | undefined;
  let page: Page;
  let room = '';
  let published: { id: number; label: string };

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
    });
    room = await nuveRoom(sb.url, SUPER, 'mixed');
    licode = new LicodeMediaClient(
      await LicodeTestClient.connect(await nuveToken(sb.url, SUPER, room, 'lena', 'presenter')),
    );
    published = await licode.publish();
    browser = await launchBrowser();
    page = await browser.newPage('grace');
    await page.goto(`${sb.url}/?room=${encodeURIComponent(room)}&name=grace&autojoin=1`);
  });

  after(async () => {
    licode?.close();
    await browser?.close();
    await sb?.close();
  });

  void it("the demo page shows the Licode client's stream and decodes its video", async () => {
    await waitFor(async () => (await remoteTiles(page)).some((t) => t.streamId === published.label), {
      timeout: MEDIA_TIMEOUT,
      what: "a tile for the Licode client's stream",
    });
    await waitFor(async () => ((await inboundStats(page))?.framesDecoded ?? 0) > 30, {
      timeout: MEDIA_TIMEOUT,
      what: 'the page to decode 30 frames',
    });
  });

  void it("the Licode client is told of the page's stream, subscribes and decodes it", async () => {
    const added = await licode!.client.waitFor('onAddStream', (s) => s.id !== published.id, MEDIA_TIMEOUT);
    assert.equal(added.video, true);
    const conn = await licode!.subscribe(added.id);
    await waitFor(() => licode!.frames(conn) > 30, {
      timeout: MEDIA_TIMEOUT,
      what: "lena to decode the page's video",
    });
    const tracks = licode!.connections.get(conn)!.tracks;
    assert.ok(
      tracks.every((t) => t.streamId === added.label),
      JSON.stringify(tracks),
    );
  });
});
