// The demo page's meeting features in headless Chromium (fake camera and microphone), three
// participants: screen sharing, chat, the people list with host mute and remove, room lock, stats.
// getDisplayMedia is the real one: with --use-fake-ui-for-media-stream and
// --use-fake-device-for-media-stream headless Chromium picks its fake screen ("screen:-3:0", 1280x720).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { signToken } from '../../src/protocol/tokens.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const MEDIA_TIMEOUT = 45000;
const ROOM = 'meeting-e2e';

void describe('demo page meeting features', { timeout: 360_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  const uid: Record<string, string> = {};

  /** `token`: joins with it (its identity is the uid), else with the page's dev token. */
  async function openDemo(name: string, token?: string): Promise<Page> {
    const page = await browser!.newPage(name);
    const withToken = token === undefined ? '' : `&token=${token}`;
    await page.goto(`${sb!.url}/?room=${ROOM}&name=${name}&autojoin=1${withToken}`);
    await waitFor(() => page.evaluate<boolean>('window.sb.joined === true'), {
      timeout: MEDIA_TIMEOUT,
      what: `${name}'s page to join`,
    });
    // The room's uid: a token's identity, else the page's own.
    uid[name] = await waitFor(() =>
      page.evaluate<string | null>(
        `document.querySelector('.person[data-role] .person-name')?.textContent?.endsWith('(you)') ? document.querySelector('.person').getAttribute('data-uid') : null`,
      ),
    );
    return page;
  }

  async function waitTiles(page: Page, who: string, n: number): Promise<void> {
    await waitFor(async () => (await remoteTiles(page)).length === n, {
      timeout: MEDIA_TIMEOUT,
      what: `${who}'s page to show ${n} remote tiles`,
    });
  }

  /** framesDecoded of the video of a page's screen tile (`data-screen="1"`), null without one. */
  async function screenFrames(page: Page): Promise<number | null> {
    const track = await page.evaluate<string | null>(`(() => {
      const v = document.querySelector('.tile.remote[data-screen="1"] video');
      const t = v && v.srcObject && v.srcObject.getVideoTracks()[0];
      return t ? t.id : null;
    })()`);
    if (track === null) {
      return null;
    }
    return (await inboundStats(page))?.video.find((v) => v.track === track)?.framesDecoded ?? null;
  }

  function person(page: Page, who: string, attr: string): Promise<string | null> {
    return page.evaluate<string | null>(
      `document.querySelector('.person[data-uid="${uid[who]}"]')?.getAttribute('${attr}') ?? null`,
    );
  }

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
    // alice hosts by her token's roomAdmin grant (the first in an anonymous room hosts it too, until
    // she reconnects: a loaded machine may fail ICE, and then whoever rejoins first hosts).
    const aliceToken = await signToken({
      secret: sb.secrets.authSecret,
      identity: 'alice',
      room: ROOM,
      name: 'alice',
      ttlSeconds: 600,
      grants: { roomAdmin: true },
    });
    alice = await openDemo('alice', aliceToken);
    bob = await openDemo('bob');
    carol = await openDemo('carol');
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      await waitTiles(page, who, 2);
    }
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it("alice shares her screen: bob and carol decode it in a screen tile of alice's", async () => {
    await alice.click('#share');
    await waitFor(() => alice.evaluate<boolean>(`!!document.querySelector('.tile.local.screen video')`), {
      what: "alice's page to preview her screen",
    });
    assert.equal(await alice.textContent('#share'), 'Stop sharing');
    for (const [page, who] of [
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      await waitTiles(page, who, 3);
      const screenUid = await waitFor(
        () =>
          page.evaluate<string | null>(
            `document.querySelector('.tile.remote[data-screen="1"]')?.getAttribute('data-uid') || null`,
          ),
        { timeout: MEDIA_TIMEOUT, what: `${who}'s page to mark a screen tile` },
      );
      assert.equal(screenUid, uid.alice, 'the screen tile is alice');
      const first = await waitFor(
        async () => {
          const n = await screenFrames(page);
          return n !== null && n > 10 ? n : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: `${who}'s page to decode 10 frames of the screen` },
      ).catch(async (err: unknown) => {
        const stats = JSON.stringify(await inboundStats(page));
        throw new Error(`${String(err)}; screen frames ${await screenFrames(page)}; inbound ${stats}`);
      });
      await waitFor(async () => ((await screenFrames(page)) ?? 0) > first + 10, {
        timeout: MEDIA_TIMEOUT,
        what: `${who}'s screen frames to keep advancing`,
      });
    }
    // Exactly one camera tile of alice's besides it.
    const aliceTiles = (await remoteTiles(bob)).filter((t) => t.uid === uid.alice);
    assert.equal(aliceTiles.length, 2);
    // In grid mode too, the screen is the large tile: wider than every other tile on bob's page.
    assert.equal(await bob.getAttribute('#grid', 'data-layout'), 'grid');
    const widths = await bob.evaluate<{ screen: number; others: number[] }>(`(() => {
      const w = (t) => t.getBoundingClientRect().width;
      const tiles = [...document.querySelectorAll('.tile')].filter((t) => !t.hidden);
      const screen = tiles.find((t) => t.dataset.screen === '1');
      return { screen: w(screen), others: tiles.filter((t) => t !== screen).map(w) };
    })()`);
    assert.ok(
      widths.others.every((o) => widths.screen > 1.5 * o),
      `the screen tile is the large one: ${JSON.stringify(widths)}`,
    );
    assert.equal(await person(bob, 'alice', 'data-uid'), uid.alice);
  });

  void it('alice stops sharing: the screen tile leaves the others', async () => {
    await alice.click('#share');
    for (const [page, who] of [
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      await waitTiles(page, who, 2);
      assert.equal(await page.$('.tile[data-screen="1"]'), null, `${who} has no screen tile`);
    }
    assert.equal(await alice.$('.tile.local.screen'), null);
    assert.equal(await alice.textContent('#share'), 'Share screen');
  });

  void it('the browser ending the shared track (its "Stop sharing") stops the share', async () => {
    await alice.click('#share');
    await waitTiles(bob, 'bob', 3);
    await alice.evaluate(`(() => {
      const v = document.querySelector('.tile.local.screen video');
      const t = v.srcObject.getVideoTracks()[0];
      t.stop();
      t.dispatchEvent(new Event('ended'));
    })()`);
    await waitTiles(bob, 'bob', 2);
    assert.equal(await alice.textContent('#share'), 'Share screen');
  });

  void it("a chat message reaches bob's closed panel as an unread count, then shows in it", async () => {
    assert.equal(await bob.isHidden('#chat-panel'), true);
    await alice.click('#chat-toggle');
    await alice.fill('#chat-input', 'hello from alice');
    await alice.press('#chat-input', 'Enter');
    await waitFor(() => alice.evaluate<boolean>(`!!document.querySelector('.chat-message.self')`), {
      what: "alice's own message in her chat",
    });
    await waitFor(
      async () => (await bob.isVisible('#chat-badge')) && (await bob.textContent('#chat-badge')) === '1',
      {
        what: "bob's unread badge to show 1",
      },
    );
    await bob.click('#chat-toggle');
    const shown = await bob.textContent(`.chat-message[data-from="${uid.alice}"] .chat-text`);
    assert.equal(shown, 'hello from alice');
    assert.equal(await bob.textContent(`.chat-message[data-from="${uid.alice}"] .chat-name`), 'alice');
    assert.equal(await bob.isHidden('#chat-badge'), true);
    // On a wide window (1280x720) the open panel takes its room from the tiles, covering none.
    await waitFor(
      () =>
        bob.evaluate<boolean>(`(() => {
          const p = document.querySelector('#chat-panel').getBoundingClientRect();
          const tiles = [...document.querySelectorAll('.tile')].filter((t) => t.offsetWidth > 0);
          return window.innerWidth >= 900 && tiles.length === 3 &&
            tiles.every((t) => t.getBoundingClientRect().right <= p.left);
        })()`),
      { what: "bob's tiles to leave room for the open chat panel" },
    );
    await waitFor(
      () => carol.evaluate<boolean>(`document.querySelector('#chat-badge')?.textContent === '1'`),
      {
        what: "carol's unread badge",
      },
    );
  });

  void it('the people list: alice is host with controls, bob and carol see none', async () => {
    await alice.click('#people-toggle');
    await waitFor(async () => (await person(alice, 'bob', 'data-audio')) === 'on', {
      what: "alice's list to show bob's microphone on",
    });
    assert.equal(await person(alice, 'alice', 'data-role'), 'host');
    assert.equal(await alice.isVisible('#lock-room'), true);
    await bob.click('#people-toggle');
    assert.equal(await person(bob, 'alice', 'data-role'), 'host');
    assert.equal(await bob.$('.person .kick'), null, 'a guest has no host controls');
    assert.equal(await bob.isHidden('#lock-room'), true);
  });

  void it("the host mutes bob's microphone: the lists show it, and bob's page says so", async () => {
    await alice.click(`.person[data-uid="${uid.bob}"] .mute-audio`);
    for (const [page, who] of [
      [alice, 'alice'],
      [carol, 'carol'],
      [bob, 'bob'],
    ] as const) {
      if (who === 'carol') {
        await carol.click('#people-toggle');
      }
      await waitFor(async () => (await person(page, 'bob', 'data-audio')) === 'muted', {
        what: `${who}'s list to show bob muted`,
      });
    }
    await waitFor(
      () => bob.evaluate<boolean>(`document.querySelector('#mic').getAttribute('aria-pressed') === 'true'`),
      {
        what: "bob's mic button to show muted",
      },
    );
    await waitFor(
      async () => (await bob.textContent('#status'))?.includes('host muted your microphone') === true,
      {
        what: "bob's status line",
      },
    );
    // carol's tile of bob shows the mute too.
    await waitFor(
      () =>
        carol.evaluate<boolean>(
          `Array.from(document.querySelectorAll('.tile.remote[data-uid="${uid.bob}"]')).some((t) => t.classList.contains('audio-muted'))`,
        ),
      { what: "bob's tile on carol's page to show muted" },
    );
  });

  void it('stats: quality bars on tiles and an overlay with bitrate and resolution', async () => {
    await waitFor(
      () =>
        carol.evaluate<boolean>(
          `Array.from(document.querySelectorAll('.tile.remote .quality')).some((q) => q.getAttribute('data-quality') === 'good' || q.getAttribute('data-quality') === 'fair')`,
        ),
      { timeout: MEDIA_TIMEOUT, what: "carol's tiles to show a measured quality" },
    );
    await carol.click('#stats-toggle');
    const row = await waitFor(
      () =>
        carol.evaluate<{ bps: number; resolution: string; codec: string } | null>(`(() => {
          for (const tr of document.querySelectorAll('#stats-overlay tr[data-direction="inbound"][data-kind="video"]')) {
            const bps = Number(tr.querySelector('.bitrate').getAttribute('data-bps'));
            const resolution = tr.querySelector('.resolution').textContent;
            if (bps > 0 && /^\\d+×\\d+$/.test(resolution)) {
              return { bps, resolution, codec: tr.querySelector('.codec').textContent };
            }
          }
          return null;
        })()`),
      { timeout: MEDIA_TIMEOUT, what: "carol's overlay to show inbound video with bitrate and resolution" },
    );
    assert.ok(row.bps > 10_000, `bitrate ${row.bps}`);
    assert.equal(row.codec.toLowerCase(), 'vp8');
    await waitFor(
      () =>
        carol.evaluate<boolean>(`(() => {
          const tr = document.querySelector('#stats-overlay tr[data-direction="outbound"][data-kind="video"]');
          return !!tr && Number(tr.querySelector('.bitrate').getAttribute('data-bps')) > 0;
        })()`),
      { timeout: MEDIA_TIMEOUT, what: "carol's overlay to show her outbound video" },
    );
  });

  void it('the host removes carol: carol sees why, the others see her go', async () => {
    await alice.click(`.person[data-uid="${uid.carol}"] .kick`);
    const error = await waitFor(() => carol.evaluate<string | null>('window.sb.error'), {
      timeout: MEDIA_TIMEOUT,
      what: "carol's page to say she was removed",
    });
    assert.match(error, /removed from the room/);
    assert.match(error, /alice \(host\) removed you/);
    assert.equal(await carol.isVisible('#error'), true);
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      await waitFor(async () => (await person(page, 'carol', 'data-uid')) === null, {
        what: `carol to leave ${who}'s list`,
      });
      await waitTiles(page, who, 1);
    }
  });

  void it('the host locks the room: bob sees it, a newcomer is refused', async () => {
    await alice.click('#lock-room');
    await waitFor(() => bob.isVisible('#room-locked'), { what: "bob's page to show the room locked" });
    // Bob's notice may come before alice's own answer has relabelled her button.
    await waitFor(async () => (await alice.textContent('#lock-room')) === 'Unlock room', {
      what: "alice's button to offer unlocking",
    });
    const dave = await browser!.newPage('dave');
    await dave.goto(`${sb!.url}/?room=${ROOM}&name=dave&autojoin=1`);
    const error = await waitFor(() => dave.evaluate<string | null>('window.sb.error'), {
      timeout: MEDIA_TIMEOUT,
      what: "dave's page to fail to join",
    });
    assert.match(error, /locked/);
  });
});
