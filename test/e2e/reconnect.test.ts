// The demo page (our SDK) in headless Chromium rejoins by itself: two pages meet on one of two media
// nodes of a NATS + Redis cluster; that node drains (SIGTERM's path), the server tells the pages to
// `reconnect`, and both rejoin the same room on the other node and decode each other again; meanwhile
// the page showed "Reconnecting…" (banner and tiles), and nothing of it is left once rejoined.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'e2e-reconnect';

void describe('the demo page reconnects by itself', { timeout: 180_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let front: Switchboard | undefined;
  const sfus: Switchboard[] = [];
  let browser: TestBrowser | undefined;
  const pages: [Page, string][] = [];

  const clientState = (page: Page) =>
    page.evaluate<string | null>('window.sb.client && window.sb.client.state');

  async function bothDecode(what: string): Promise<void> {
    for (const [page, who] of pages) {
      await waitFor(async () => ((await inboundStats(page))?.framesDecoded ?? 0) > 30, {
        timeout: 30_000,
        what: `${who}'s page to decode 30 frames ${what}`,
      });
    }
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.start('signal', 'registry', 'room', 'api');
    sfus.push(await cluster.start('sfu'), await cluster.start('sfu'));
    browser = await launchBrowser();
    for (const who of ['alice', 'bob']) {
      const page = await browser.newPage(who);
      await page.goto(`${front.url}/?room=${ROOM}&name=${who}&autojoin=1&simulcast=0`);
      pages.push([page, who]);
    }
    await bothDecode('before the drain');
  });

  after(async () => {
    await browser?.close();
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('when their media node drains, both pages rejoin on the other node and decode each other', async () => {
    const owner = sfus.find((s) => s.sfu!.sfu.getSession(ROOM))!;
    const other = sfus.find((s) => s !== owner)!;
    const tilesBefore = await Promise.all(pages.map(([p]) => remoteTiles(p)));
    // Note whether the page ever shows the reconnecting state (it may last a fraction of a second).
    for (const [page] of pages) {
      await page.evaluate(`(() => {
        window.sawReconnecting = { banner: false, tile: false };
        const look = () => {
          if (!document.getElementById('reconnecting').hidden) window.sawReconnecting.banner = true;
          if (document.querySelector('.tile.remote.reconnecting')) window.sawReconnecting.tile = true;
        };
        new MutationObserver(look).observe(document.getElementById('conference'), { attributes: true, subtree: true });
      })()`);
    }
    await owner.drain();
    await waitFor(
      () => [...(other.sfu!.sfu.getSession(ROOM)?.peers ?? [])].filter((p) => !p.relay).length === 2,
      { timeout: 30_000, what: 'both pages to rejoin on the other node' },
    );
    await bothDecode('after the drain');
    for (const [i, [page, who]] of pages.entries()) {
      assert.equal(await clientState(page), 'joined', `${who}'s client`);
      assert.equal(await page.evaluate('window.sb.error'), null, `${who}'s page shows no error`);
      assert.deepEqual(
        await page.evaluate('window.sawReconnecting'),
        { banner: true, tile: true },
        `${who}'s page showed Reconnecting…`,
      );
      assert.equal(await page.locator('#reconnecting').isVisible(), false, `${who}'s banner is gone`);
      assert.equal(await page.locator('.tile.reconnecting').count(), 0, `${who}'s tiles are live again`);
      // The SDK republished the same MediaStream: the other page's tile shows the same stream again.
      assert.deepEqual(
        (await remoteTiles(page)).map((t) => t.streamId),
        tilesBefore[i]!.map((t) => t.streamId),
      );
    }
    assert.equal(owner.sfu!.sfu.getSession(ROOM), undefined, 'the drained node has no session left');
  });
});
