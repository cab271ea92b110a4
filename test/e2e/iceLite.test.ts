// `[webrtc.candidates] icelite = true` as Chromium sees it: the remote description it applied says
// a=ice-lite at session level on both PCs, and Chromium is the controlling agent on each.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { DEMO_SUBSCRIBER, inboundStats } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const DEMO_PUBLISHER = 'window.sb && window.sb.client && window.sb.client.publisher';

interface IceView {
  /** `a=ice-lite` lines before the first m= line of the applied remote description. */
  sessionIceLite: number;
  /** The ICE role of the PC's transport (`RTCTransportStats.iceRole`). */
  iceRole: string;
}

function iceView(page: Page, pc: string): Promise<IceView | null> {
  return page.evaluate<IceView | null>(`(async () => {
    const pc = ${pc};
    if (!pc || !pc.remoteDescription) return null;
    const sdp = pc.remoteDescription.sdp;
    const session = sdp.slice(0, sdp.indexOf('\\r\\nm='));
    const sessionIceLite = session.split('\\r\\n').filter((l) => l === 'a=ice-lite').length;
    let iceRole;
    (await pc.getStats()).forEach((s) => { if (s.type === 'transport' && s.iceRole) iceRole = s.iceRole; });
    // Chromium reports no role (or 'unknown') until its ICE agent has started checks.
    return iceRole && iceRole !== 'unknown' ? { sessionIceLite, iceRole } : null;
  })()`);
}

void describe('ICE-lite server and Chromium', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  const pages: Page[] = [];

  before(async () => {
    sb = await startSwitchboard((cfg) => {
      cfg.webrtc.candidates.icelite = true;
    });
    browser = await launchBrowser();
    for (const name of ['alice', 'bob']) {
      const page = await browser.newPage(name);
      await page.goto(`${sb.url}/?room=lite&name=${name}&autojoin=1`);
      pages.push(page);
    }
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('each page decodes the other (media flows with a lite server)', async () => {
    for (const page of pages) {
      await waitFor(async () => ((await inboundStats(page))?.framesDecoded ?? 0) > 10, {
        timeout: 30_000,
        what: 'a page to decode 10 frames',
      });
    }
  });

  for (const [which, pc] of [
    ['publisher', DEMO_PUBLISHER],
    ['subscriber', DEMO_SUBSCRIBER],
  ] as const) {
    void it(`the ${which} PC applied a session-level a=ice-lite and controls ICE`, async () => {
      for (const page of pages) {
        const view = await waitFor(async () => (await iceView(page, pc)) ?? undefined, {
          timeout: 10_000,
          what: `the ${which} PC's remote description`,
        });
        assert.equal(view.sessionIceLite, 1, `${which}: one a=ice-lite at session level`);
        assert.equal(view.iceRole, 'controlling', `${which}: Chromium controls a lite server`);
      }
    });
  }
});
