// The demo page when the browser refuses camera and microphone (Chromium told to deny every media
// prompt): the pre-join screen says they are blocked, and the call, joined to watch, keeps saying why
// the others neither see nor hear us, until we leave; a refused screen share says so in words.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

void describe('demo page with camera and microphone blocked', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;

  before(async () => {
    sb = await startSwitchboard();
    // The later switch wins: prompts are answered "block"; the context's grants are taken back.
    browser = await launchBrowser({ extraArgs: ['--use-fake-ui-for-media-stream=deny'] });
    await browser.context.clearPermissions();
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('the pre-join screen says they are blocked; the call says it is watching only and why, until leaving', async () => {
    const page = await browser!.newPage('dora');
    await page.goto(`${sb!.url}/?room=blocked&name=dora`);
    await waitFor(async () => /blocked for this page/.test((await page.textContent('#error')) ?? ''), {
      what: 'the pre-join screen to say camera and microphone are blocked',
    });
    await page.click('#join');
    await waitFor(() => page.evaluate<boolean>('window.sb.joined === true'), { what: 'dora to join' });
    const notice = await page.textContent('#media-notice');
    assert.match(notice ?? '', /browser blocks your camera and microphone.*watching only.*address bar/);
    assert.equal(await page.isVisible('#media-notice'), true);
    // The screen picker is refused too: one line, in words rather than "Permission denied".
    await page.click('#share');
    await waitFor(
      async () =>
        (await page.textContent('#status')) === 'Screen not shared (cancelled, or blocked by the browser)',
      {
        what: 'the status to say the screen was not shared',
      },
    );
    await page.click('#leave');
    await waitFor(async () => (await page.$('#media-notice')) === null, {
      what: 'the notice to go on leaving',
    });
  });
});
