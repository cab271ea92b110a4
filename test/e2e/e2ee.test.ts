// End-to-end encrypted media passes through (issue #15): Chromium pages encrypt every frame with an
// encoded transform (RTCRtpScriptTransform; every byte XORed with a key, a marker byte appended) and
// decrypt on receive, so the SFU sees VP8 payload descriptors in clear and garbage after them. Video
// decodes (only possible after decryption), simulcast switches, and a late joiner gets a picture.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'e2ee';
/** The demo page captures 960x540 for simulcast: layers 960 / 480 / 240 wide. */
const WIDTH = { high: 960, low: 240 } as const;

/**
 * Runs before the page's scripts: every RTCPeerConnection of the page encrypts what it sends and
 * decrypts what it receives. The worker counts frames, so the test can tell the transforms ran.
 */
const E2EE_INIT = `(() => {
  const src = \`
    const KEY = [0x5a, 0xa5, 0x3c, 0xc3, 0x99, 0x66, 0x0f, 0xf0, 0x13];
    const count = { encrypted: 0, decrypted: 0, plain: 0 };
    const xor = (d) => { for (let i = 0; i < d.length; i++) d[i] ^= KEY[i % KEY.length]; };
    const encrypt = (frame, ctl) => {
      const d = new Uint8Array(frame.data);
      const out = new Uint8Array(d.length + 1);
      out.set(d);
      xor(out.subarray(0, d.length));
      out[d.length] = 0xe2;
      frame.data = out.buffer;
      count.encrypted++;
      ctl.enqueue(frame);
    };
    const decrypt = (frame, ctl) => {
      const d = new Uint8Array(frame.data);
      if (d.length > 0 && d[d.length - 1] === 0xe2) {
        const out = d.slice(0, d.length - 1);
        xor(out);
        frame.data = out.buffer;
        count.decrypted++;
      } else {
        count.plain++;
      }
      ctl.enqueue(frame);
    };
    onrtctransform = (ev) => {
      const t = ev.transformer;
      t.readable.pipeThrough(new TransformStream({ transform: t.options.side === 'send' ? encrypt : decrypt })).pipeTo(t.writable);
    };
    onmessage = () => postMessage(count);
  \`;
  const worker = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
  window.e2ee = {
    count: () => new Promise((resolve) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.postMessage('count');
    }),
  };
  const Native = window.RTCPeerConnection;
  const encrypting = (sender) => {
    if (sender && !sender.transform) sender.transform = new RTCRtpScriptTransform(worker, { side: 'send' });
  };
  const addTransceiver = Native.prototype.addTransceiver;
  Native.prototype.addTransceiver = function (...args) {
    const t = addTransceiver.apply(this, args);
    encrypting(t.sender);
    return t;
  };
  const addTrack = Native.prototype.addTrack;
  Native.prototype.addTrack = function (...args) {
    const s = addTrack.apply(this, args);
    encrypting(s);
    return s;
  };
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('track', (ev) => {
        ev.receiver.transform = new RTCRtpScriptTransform(worker, { side: 'receive' });
      });
    }
  };
})()`;

interface FrameCount {
  encrypted: number;
  decrypted: number;
  plain: number;
}

async function e2eePage(browser: TestBrowser, label: string, url: string): Promise<Page> {
  const page = await browser.newPage(label);
  await page.addInitScript(E2EE_INIT);
  await page.goto(url);
  return page;
}

const video = async (page: Page) => (await inboundStats(page))?.video[0];

const decodesAt = (page: Page, width: number, what: string, after = 0) =>
  waitFor(
    async () => {
      const v = await video(page);
      return v && v.frameWidth === width && v.framesDecoded > after ? v : undefined;
    },
    { timeout: 60_000, interval: 250, what },
  );

void describe('end-to-end encrypted media', { timeout: 300_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let pub: Page;
  let viewer: Page;
  let streamId = '';

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
    pub = await e2eePage(browser, 'publisher', `${sb.url}/?room=${ROOM}&name=pub&autojoin=1`);
    viewer = await e2eePage(browser, 'viewer', `${sb.url}/?room=${ROOM}&name=viewer&autojoin=1&publish=0`);
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('every frame is encrypted on the way, and the viewer decodes the full resolution after decrypting', async () => {
    streamId = await waitFor(
      () => viewer.evaluate<string | undefined>(`document.querySelector('.tile.remote')?.dataset.streamId`),
      { timeout: 30_000, what: 'a remote tile on the viewer page' },
    );
    const v = await decodesAt(viewer, WIDTH.high, 'the viewer to decode the full-resolution layer', 30);
    assert.ok(v.framesDecoded > 30);
    const sent = await pub.evaluate<FrameCount>('window.e2ee.count()');
    const got = await viewer.evaluate<FrameCount>('window.e2ee.count()');
    assert.ok(sent.encrypted > 100, `the publisher encrypted ${sent.encrypted} frames`);
    assert.ok(got.decrypted > 30, `the viewer decrypted ${got.decrypted} frames`);
    assert.equal(got.plain, 0, 'no frame reached the viewer unencrypted');
  });

  void it('simulcast switches between encrypted layers: low, then high again', async () => {
    for (const layer of ['low', 'high'] as const) {
      const before = (await video(viewer))!.framesDecoded;
      await viewer.evaluate(
        `window.sb.client.preferLayer(${JSON.stringify(streamId)}, ${JSON.stringify(layer)})`,
      );
      await decodesAt(viewer, WIDTH[layer], `the viewer to decode the ${layer} layer`, before + 20);
    }
  });

  void it('a late joiner gets a picture', async () => {
    const late = await e2eePage(browser!, 'late', `${sb!.url}/?room=${ROOM}&name=late&autojoin=1&publish=0`);
    const v = await waitFor(
      async () => {
        const s = await video(late);
        return s && s.framesDecoded > 10 && s.frameWidth > 0 ? s : undefined;
      },
      { timeout: 30_000, interval: 250, what: 'the late joiner to decode video' },
    );
    assert.ok(v.frameWidth > 0);
    const got = await late.evaluate<FrameCount>('window.e2ee.count()');
    assert.ok(got.decrypted > 10 && got.plain === 0, `late joiner: ${JSON.stringify(got)}`);
    await late.close();
  });
});
