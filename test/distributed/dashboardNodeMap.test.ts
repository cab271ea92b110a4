// The dashboard's node map in a cluster: a room cascades from its owner A (at most one peer) to B, and
// the page shows both media nodes, which owns the room, and the relay from A to B; each participant's
// row names its node. Screenshot: test-output/dashboard/node-map.png.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { signToken } from '../../src/protocol/tokens.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'map-room';
const OUTPUT = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));
const TIMEOUT = 45_000;

void describe('dashboard node map of a cascaded room', { timeout: 240_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let front: Switchboard | undefined;
  let browser: TestBrowser | undefined;
  let page: Page;
  const nodes: Switchboard[] = [];
  const peers: WrtcPeer[] = [];

  async function joinRoom(uid: string): Promise<void> {
    const p = await WrtcPeer.connect(wsUrlOf(front!.url), uid);
    peers.push(p);
    await p.join(ROOM, uid);
    await p.publish();
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.start('registry', 'room', 'signal', 'api');
    nodes.push(await cluster.startWith((c) => (c.sfu.maxpeers = 1), 'sfu'));
    await joinRoom('p1');
    nodes.push(await cluster.start('sfu'));
    await joinRoom('p2');
    const token = await signToken({
      secret: front.secrets.authSecret,
      identity: 'ops',
      grants: { api: true },
      ttlSeconds: 600,
    });
    browser = await launchBrowser();
    page = await browser.newPage('dashboard');
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.goto(`${front.url}/dashboard?token=${token}`);
  });

  after(async () => {
    await browser?.close();
    for (const p of peers) {
      await p.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('shows both media nodes, the owner of the room, and the relay from the owner to the other', async () => {
    const [a, b] = nodes.map((n) => n.sfu!.nodeId);
    assert.equal(await cluster!.roomOwner(ROOM), a);
    await page.locator(`#node-map g.relay[data-from="${a}"][data-to="${b}"]`).waitFor({ timeout: TIMEOUT });
    assert.match(await page.locator(`#node-map g.relay[data-from="${a}"]`).innerHTML(), new RegExp(ROOM));
    assert.match(await page.locator(`#nodes-body tr[data-node="${a}"]`).innerText(), new RegExp(ROOM));
    assert.match(await page.locator(`#nodes-body tr[data-node="${b}"]`).innerText(), /–/);
    const head = page.locator(`section.room[data-room-name="${ROOM}"] .room-head`);
    assert.match(await head.innerText(), new RegExp(`owner ${a}[\\s\\S]*relayed on 1 more node`));
    for (const [uid, node] of [
      ['p1', a],
      ['p2', b],
    ] as const) {
      const where = page.locator(`tr.participant[data-uid="${uid}"] td.where`);
      await where.waitFor({ timeout: TIMEOUT });
      assert.match(await where.innerText(), new RegExp(node!));
    }
    // A few refreshes for the sparklines, then the screenshot.
    const seen = await page.evaluate(() => window.dashboard.refreshes);
    await waitFor(async () => (await page.evaluate(() => window.dashboard.refreshes)) >= seen + 4, {
      timeout: TIMEOUT,
      what: 'four more refreshes',
    });
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'node-map.png'), fullPage: true });
  });
});
