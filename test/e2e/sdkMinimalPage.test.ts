// docs/sdk.md's "A minimal page", as written there, served from the Switchboard's origin (so its
// `/sdk/switchboard.js` import is the server's bundle): two pages see each other, chat reaches the
// other, and a shared screen arrives marked as one.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const MEDIA_TIMEOUT = 45_000;

/** The first ```html block after the "## A minimal page" heading. */
async function minimalPage(): Promise<string> {
  const doc = await readFile(new URL('../../docs/sdk.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## A minimal page'));
  const m = /```html\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'docs/sdk.md has the minimal page');
  return m[1]!;
}

/** Frames the page has shown of its remote videos, the screen ones apart. */
function remoteFrames(page: Page): Promise<{ camera: number; screen: number; videos: number }> {
  // A string: functions passed from tsx-compiled code would carry its __name helper into the page.
  return page.evaluate(`(() => {
    const videos = [...document.querySelectorAll('#others video')];
    const frames = (list) => list.reduce((n, v) => n + v.getVideoPlaybackQuality().totalVideoFrames, 0);
    return {
      camera: frames(videos.filter((v) => !v.classList.contains('screen'))),
      screen: frames(videos.filter((v) => v.classList.contains('screen'))),
      videos: videos.length,
    };
  })()`);
}

void describe("docs/sdk.md's minimal page", { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let alice: Page;
  let bob: Page;

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
    const html = await minimalPage();
    await browser.context.route(`${sb.url}/minimal.html`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
    );
    alice = await browser.newPage('alice');
    await alice.goto(`${sb.url}/minimal.html`);
    bob = await browser.newPage('bob');
    await bob.goto(`${sb.url}/minimal.html`);
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('each page plays the other one camera video', async () => {
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      await waitFor(async () => (await remoteFrames(page)).camera > 20, {
        timeout: MEDIA_TIMEOUT,
        what: `${who}'s page to play the other's camera`,
      });
    }
  });

  void it("a chat message shows on the other page under the sender's name", async () => {
    await alice.fill('#text', 'hello from the minimal page');
    await alice.click('#send');
    await waitFor(
      async () => ((await bob.textContent('#chat')) ?? '').includes('Alice: hello from the minimal page'),
      { what: "bob's chat to show alice's message" },
    );
    assert.match((await alice.textContent('#chat')) ?? '', /You: hello from the minimal page/);
  });

  void it("alice's shared screen reaches bob as a video marked .screen", async () => {
    await alice.click('#share');
    await waitFor(async () => (await remoteFrames(bob)).screen > 5, {
      timeout: MEDIA_TIMEOUT,
      what: "bob's page to play alice's screen",
    });
    assert.equal((await remoteFrames(bob)).videos, 2);
  });
});
