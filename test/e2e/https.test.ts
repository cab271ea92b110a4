// The demo page reached by another machine's address (a non-loopback IPv4 address of the test
// namespace): over HTTPS with the --tls-self-signed certificate (Chromium told to accept it) it gets
// camera and microphone and publishes; over plain http it says why it can only watch, and watches.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { localNames } from '../../src/server/selfSignedCert.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const MEDIA_TIMEOUT = 30_000;

/** An address other machines would use: not loopback, so only https:// makes the page a secure context. */
const LAN = localNames().ips.find((ip) => ip !== '127.0.0.1');

async function pageState(page: Page): Promise<{ secure: boolean; notice: string | null; sending: number }> {
  return page.evaluate(() => ({
    secure: window.isSecureContext,
    notice: document.getElementById('secure-origin-notice')?.textContent ?? null,
    sending:
      window.sb.client?.publisher?.getSenders().filter((s: RTCRtpSender) => s.track?.readyState === 'live')
        .length ?? 0,
  }));
}

void describe(
  'the demo page from a LAN address',
  { timeout: 180_000, skip: LAN ? false : 'no non-loopback IPv4 address' },
  () => {
    let browser: TestBrowser | undefined;
    const servers: RunningSwitchboard[] = [];

    before(async () => {
      browser = await launchBrowser({ ignoreHTTPSErrors: true });
    });

    after(async () => {
      await browser?.close();
      for (const sb of servers) {
        await sb.close();
      }
    });

    void it('over https:// with the self-signed certificate, two pages publish camera and microphone and decode each other', async () => {
      const sb = await startSwitchboard((c) => {
        c.signal.host = LAN!;
        c.signal.tlsselfsigned = true;
      });
      servers.push(sb);
      assert.equal(sb.url, `https://${LAN}:${sb.port}`);
      const pages: Page[] = [];
      for (const name of ['alice', 'bob']) {
        const page = await browser!.newPage(name);
        await page.goto(`${sb.url}/?room=https&name=${name}&autojoin=1`);
        pages.push(page);
      }
      for (const [i, page] of pages.entries()) {
        const who = i === 0 ? 'alice' : 'bob';
        await waitFor(async () => ((await inboundStats(page))?.framesDecoded ?? 0) > 30, {
          timeout: MEDIA_TIMEOUT,
          what: `${who}'s page to decode 30 frames of the other's camera`,
        });
        const state = await pageState(page);
        assert.equal(state.secure, true);
        assert.equal(state.notice, null, 'no insecure-origin notice over https');
        assert.ok(state.sending >= 2, `${who} sends a live camera and microphone track`);
      }
      // Two publishing pages are the heaviest thing here: the next test runs without them.
      for (const page of pages) {
        await page.close();
      }
    });

    void it('over plain http:// the page says why it cannot send, joins to watch, and decodes a publisher', async () => {
      const sb = await startSwitchboard((c) => {
        c.signal.host = '0.0.0.0';
      });
      servers.push(sb);
      // The publisher is on localhost (a secure context even over http); the watcher on the LAN address.
      const publisher = await browser!.newPage('publisher');
      await publisher.goto(`http://127.0.0.1:${sb.port}/?room=plain&name=pub&autojoin=1`);
      const watcher = await browser!.newPage('watcher');
      await watcher.goto(`http://${LAN}:${sb.port}/?room=plain&name=watcher&autojoin=1`);
      const notice = watcher.locator('#secure-origin-notice');
      await notice.waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(
        await notice.textContent(),
        `Camera and microphone need a secure page (https:// or localhost). You are on http://${LAN}:${sb.port}; ` +
          'you can watch but not send. Start the server with --tls-self-signed or put it behind HTTPS ' +
          '(docs/deployment.md, "HTTPS without a proxy").',
      );
      await waitFor(async () => ((await inboundStats(watcher))?.framesDecoded ?? 0) > 30, {
        timeout: 2 * MEDIA_TIMEOUT, // the publisher starts its camera and joins meanwhile
        what: "the watcher's page to decode 30 frames of the publisher",
      });
      const state = await pageState(watcher);
      assert.equal(state.secure, false);
      assert.equal(state.sending, 0);
      assert.equal(
        (await pageState(publisher)).notice,
        null,
        'http://127.0.0.1 is a secure context: no notice',
      );
    });
  },
);
