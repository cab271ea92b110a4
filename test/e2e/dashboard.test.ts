// The operator's dashboard (/dashboard) in headless Chromium: refused without credentials (page, assets
// and session alike), opened with a management token given once in the URL (then a cookie), it shows
// the live room with two libwebrtc publishers and a video bitrate that changes between refreshes;
// mute, record and stop from the page; a kick removes the participant; ending the meeting empties the
// room and keeps it. Screenshots go to test-output/dashboard/; with SB_DOC_IMAGES=1 also to
// docs/images/dashboard.png (the README's).
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { signToken } from '../../src/protocol/tokens.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { apiCall } from '../helpers/nuve.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const SUPER = { service: 'superservice-dash', key: 'superservice-key-for-the-dashboard' };
const ROOM = 'dashboard-room';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT = join(ROOT, 'test-output', 'dashboard');
const TIMEOUT = 30_000;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

void describe('operator dashboard', { timeout: 240_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let page: Page;
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;
  let recordings = '';
  let token = '';

  const room = () => page.locator(`section.room[data-room-name="${ROOM}"]`);
  const row = (uid: string) => room().locator(`tr.participant[data-uid="${uid}"]`);
  /** The bitrate figure (bps) of the first video track row after `uid`'s participant row. */
  const videoBitrate = (uid: string): Promise<number> =>
    page.evaluate(
      ([name, who]) => {
        const rows = [...document.querySelectorAll(`section.room[data-room-name="${name}"] tbody tr`)];
        const at = rows.findIndex((r) => r.getAttribute('data-uid') === who);
        const video = rows.slice(at + 1).find((r) => r.matches('tr.track[data-kind="video"]'));
        return Number(video?.querySelector('td.figure.bitrate')?.getAttribute('data-value') ?? NaN);
      },
      [ROOM, uid] as const,
    );
  const refreshes = () => page.evaluate(() => window.dashboard.refreshes);

  before(async () => {
    recordings = await mkdtemp(join(tmpdir(), 'sb-dashboard-rec-'));
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.recording.path = recordings;
    });
    token = await signToken({
      secret: sb.secrets.authSecret,
      identity: 'ops',
      grants: { api: true },
      ttlSeconds: 600,
    });
    // A room of its own record (not an ad hoc one), so that it outlives the meeting ended below.
    const created = await apiCall(sb.url, 'POST', '/rooms', { creds: SUPER, body: { name: ROOM } });
    assert.equal(created.status, 200, created.text);
    alice = await WrtcPeer.connect(wsUrlOf(sb.url), 'alice');
    bob = await WrtcPeer.connect(wsUrlOf(sb.url), 'bob');
    await alice.join(ROOM, 'alice');
    await bob.join(ROOM, 'bob');
    await alice.publish();
    await bob.publish();
    const a = alice;
    await waitFor(() => a.videoFrames(bob!.publishedStreamId) > 30, { what: 'media to flow' });
    browser = await launchBrowser();
    page = await browser.newPage('dashboard');
    await page.setViewportSize({ width: 1440, height: 1000 });
    page.on('dialog', (d) => void d.accept()); // kick and end room ask first
  });

  after(async () => {
    await browser?.close();
    await alice?.close();
    await bob?.close();
    await sb?.close();
    if (recordings !== '') {
      await rm(recordings, { recursive: true, force: true });
    }
  });

  void it('refuses the page, its assets and the session without valid credentials (401, Basic challenge)', async () => {
    const participant = await signToken({ secret: sb!.secrets.authSecret, identity: 'x', ttlSeconds: 60 });
    const forged = await signToken({
      secret: 'not-the-secret',
      identity: 'ops',
      grants: { api: true },
      ttlSeconds: 60,
    });
    const paths = [
      '/dashboard',
      '/dashboard/',
      '/dashboard/dashboard.js',
      '/dashboard/style.css',
      '/dashboard/session',
    ];
    const refusals: [string, Record<string, string>][] = [
      ...paths.map((p): [string, Record<string, string>] => [p, {}]),
      ['/dashboard/nothing-here', {}],
      ['/dashboard?token=not-a-jwt', {}],
      [`/dashboard?token=${forged}`, {}],
      [`/dashboard?token=${participant}`, {}],
      ['/dashboard/session', { authorization: basic(SUPER.service, 'wrong-key') }],
      ['/dashboard/session', { authorization: basic('token', forged) }],
      ['/dashboard/session', { authorization: `Bearer ${participant}` }],
      ['/dashboard/session', { cookie: `sb_dashboard=${forged}` }],
    ];
    for (const [path, headers] of refusals) {
      const res = await fetch(`${sb!.url}${path}`, { headers, redirect: 'manual' });
      const body = await res.text();
      assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}: ${body}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="Switchboard dashboard"/);
      assert.doesNotMatch(body, /<html|function|"token"/, `${path} leaks nothing`);
    }
  });

  void it('[api] dashboard = false: no dashboard at all (404, even with the key)', async () => {
    const off = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.api.dashboard = false;
    });
    try {
      const res = await fetch(`${off.url}/dashboard`, {
        headers: { authorization: basic(SUPER.service, SUPER.key) },
      });
      assert.equal(res.status, 404);
      assert.equal((await apiCall(off.url, 'GET', '/rooms', { creds: SUPER })).status, 200, 'the API stays');
    } finally {
      await off.close();
    }
  });

  void it("accepts the superservice's id and key as Basic credentials, and hands out /api tokens", async () => {
    const res = await fetch(`${sb!.url}/dashboard/session`, {
      headers: { authorization: basic(SUPER.service, SUPER.key) },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const s = (await res.json()) as { services: { service: string; superservice: boolean; token: string }[] };
    const mine = s.services.find((x) => x.superservice);
    assert.equal(mine?.service, SUPER.service);
    const rooms = await fetch(`${sb!.url}/api/rooms`, { headers: { authorization: `Bearer ${mine.token}` } });
    assert.equal(rooms.status, 200);
    const js = await fetch(`${sb!.url}/dashboard/dashboard.js`, {
      headers: { authorization: basic('token', token) },
    });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
  });

  void it('a management token in the URL becomes an HttpOnly cookie, and the address loses it', async () => {
    await page.goto(`${sb!.url}/dashboard?token=${token}`);
    assert.equal(page.url(), `${sb!.url}/dashboard`);
    const cookie = (await browser!.context.cookies(`${sb!.url}/dashboard`)).find(
      (c) => c.name === 'sb_dashboard',
    );
    assert.ok(cookie, 'the dashboard cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/dashboard');
  });

  void it('shows the live room, both participants and a video bitrate that changes between refreshes', async () => {
    await row('alice').waitFor({ timeout: TIMEOUT });
    await row('bob').waitFor({ timeout: TIMEOUT });
    const first = await waitFor(
      async () => {
        const b = await videoBitrate('alice');
        return b > 0 ? b : undefined;
      },
      { timeout: TIMEOUT, what: "alice's video bitrate on the dashboard" },
    );
    const seen = await refreshes();
    await waitFor(async () => (await refreshes()) >= seen + 2 && (await videoBitrate('alice')) !== first, {
      timeout: TIMEOUT,
      what: "alice's video bitrate to change between refreshes",
    });
    assert.equal(await page.evaluate(() => window.dashboard.error), null);
    // The node map names this process's media node, owning the room.
    const node = sb!.sfu!.nodeId;
    await page.locator(`#node-map g.node[data-node="${node}"]`).waitFor({ timeout: TIMEOUT });
    assert.match(await page.locator(`#nodes-body tr[data-node="${node}"]`).innerText(), new RegExp(ROOM));
  });

  void it("mutes a participant's video from the page", async () => {
    await row('bob').locator('button[data-action="mute-video"]').click();
    await waitFor(
      async () =>
        (await row('bob').locator('button[data-action="mute-video"]').innerText()) === 'Unmute video',
      { timeout: TIMEOUT, what: "bob's video to show as muted" },
    );
  });

  void it('starts a recording from the page; it is listed in progress, and stopped from there', async () => {
    await row('alice').locator('button[data-action="record"]').click();
    const listed = page.locator('#recordings-body tr');
    await listed.first().waitFor({ timeout: TIMEOUT });
    assert.match(await listed.first().innerText(), new RegExp(`${ROOM}[\\s\\S]*alice`));
    // Let the sparklines fill a little, then the screenshots.
    const seen = await refreshes();
    await waitFor(async () => (await refreshes()) >= seen + 4, {
      timeout: TIMEOUT,
      what: 'four more refreshes',
    });
    await mkdir(OUTPUT, { recursive: true });
    const shot = join(OUTPUT, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.SB_DOC_IMAGES === '1') {
      await copyFile(shot, join(ROOT, 'docs', 'images', 'dashboard.png'));
    }
    await listed.first().locator('button[data-action="stop-recording"]').click();
    await waitFor(async () => (await listed.count()) === 0, {
      timeout: TIMEOUT,
      what: 'the recording to leave the in-progress list',
    });
  });

  void it('kicks a participant: it disappears from the page and its socket is closed', async () => {
    await row('bob').locator('button[data-action="kick"]').click();
    await row('bob').waitFor({ state: 'detached', timeout: TIMEOUT });
    await bob!.socketClosed;
    const users = await apiCall(sb!.url, 'GET', `/rooms/${ROOM}/users`, { creds: SUPER });
    assert.deepEqual(
      (users.json as { id: string }[]).map((u) => u.id),
      ['alice'],
    );
    assert.equal(await row('alice').count(), 1);
  });

  void it('ends the meeting: everyone leaves, and the room stays', async () => {
    await room().locator('button[data-action="end-room"]').click();
    await alice!.socketClosed;
    await row('alice').waitFor({ state: 'detached', timeout: TIMEOUT });
    await room().locator('.empty', { hasText: 'Nobody is in this room.' }).waitFor({ timeout: TIMEOUT });
    const rooms = await apiCall(sb!.url, 'GET', '/rooms', { creds: SUPER });
    assert.deepEqual(
      (rooms.json as { name: string }[]).map((r) => r.name),
      [ROOM],
    );
  });
});
