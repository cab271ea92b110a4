// Simulcast from Chromium (three layers, rids f/h/q as ion-sdk-js and our SDK send them): manual layer
// choice, automatic choice on a slow downlink, dynacast, and ion-sdk-js's RemoteStream.preferLayer.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { createShapedLink, type ShapedLink } from '../helpers/shapedLink.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const require = createRequire(import.meta.url);
const ROOM = 'simulcast';
/** The demo page captures 960x540 for simulcast: layers 960 / 480 / 240 wide. */
const WIDTH = { high: 960, medium: 480, low: 240 } as const;
const DEMO_SUBSCRIBER = 'window.sb.client.subscriber';
const ION_SUBSCRIBER = 'window.ion.client.transports[1].pc';

interface VideoIn {
  frameWidth: number;
  framesDecoded: number;
  freezes: number;
}

function videoIn(page: Page, pc = DEMO_SUBSCRIBER): Promise<VideoIn | null> {
  return page.evaluate(`(async () => {
    const pc = ${pc};
    if (!pc) return null;
    let out = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out = { frameWidth: s.frameWidth || 0, framesDecoded: s.framesDecoded || 0, freezes: s.totalFreezesDuration || 0 };
      }
    });
    return out;
  })()`);
}

/** The publisher's outbound video per rid. */
function videoOut(page: Page): Promise<Record<string, { packetsSent: number; active: boolean }>> {
  return page.evaluate(`(async () => {
    const out = {};
    (await window.sb.client.publisher.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) out[s.rid] = { packetsSent: s.packetsSent, active: s.active !== false };
    });
    return out;
  })()`);
}

const widthIs = (page: Page, width: number, what: string, timeout = 45_000, pc = DEMO_SUBSCRIBER) =>
  waitFor(
    async () => {
      const v = await videoIn(page, pc);
      return v && v.frameWidth === width ? v : undefined;
    },
    { timeout, interval: 250, what },
  );

void describe('simulcast', { timeout: 420_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let shaped: ShapedLink | undefined;
  let slowBrowser: TestBrowser | undefined;
  let pub: Page;
  let viewer: Page;
  let streamId = '';

  const prefer = (page: Page, layer: string) =>
    page.evaluate(`window.sb.client.preferLayer(${JSON.stringify(streamId)}, ${JSON.stringify(layer)})`);

  before(async () => {
    // 0.0.0.0: the shaped subscriber reaches the server over its own link (10.204.0.1).
    sb = await startSwitchboard((cfg) => {
      cfg.signal.host = '0.0.0.0';
    });
    browser = await launchBrowser();
    pub = await browser.newPage('publisher');
    await pub.goto(`${sb.url}/?room=${ROOM}&name=pub&autojoin=1`);
    viewer = await browser.newPage('viewer');
    await viewer.goto(`${sb.url}/?room=${ROOM}&name=viewer&autojoin=1&publish=0`);
  });

  after(async () => {
    await slowBrowser?.close();
    await shaped?.close();
    await browser?.close();
    await sb?.close();
  });

  void it('the publisher sends three layers and a viewer first gets the full resolution', async () => {
    streamId = await waitFor(
      () => viewer.evaluate<string | undefined>(`document.querySelector('.tile.remote')?.dataset.streamId`),
      { timeout: 30_000, what: 'a remote tile on the viewer page' },
    );
    const tileAt = Date.now();
    await widthIs(viewer, WIDTH.high, 'the viewer to decode the full-resolution layer', 90_000);
    // A figure for the notes (issue #15's top-layer target), not an assertion: speed is the bench's job.
    console.log(
      `simulcast: the viewer decoded the top layer ${Date.now() - tileAt} ms after its remote tile appeared`,
    );
    const out = await videoOut(pub);
    assert.deepEqual(Object.keys(out).sort(), ['f', 'h', 'q']);
  });

  void it('low decodes a quarter of the width, high the full one: five switches, no freeze over 500 ms', async () => {
    for (const layer of ['low', 'high', 'low', 'high', 'low'] as const) {
      const before = (await videoIn(viewer))!;
      await prefer(viewer, layer);
      const at = await widthIs(
        viewer,
        WIDTH[layer],
        `the viewer to switch to ${layer} (${WIDTH[layer]} wide)`,
      );
      const later = await waitFor(
        async () => {
          const v = await videoIn(viewer);
          return v && v.framesDecoded >= at.framesDecoded + 20 ? v : undefined;
        },
        { timeout: 20_000, what: `frames to keep decoding on ${layer}` },
      );
      assert.equal(later.frameWidth, WIDTH[layer]);
      const frozen = later.freezes - before.freezes;
      assert.ok(frozen < 0.5, `switching to ${layer} froze the picture for ${frozen.toFixed(3)} s`);
    }
  });

  void it('dynacast: with only low viewers the f encoding stops, and resumes when a high viewer arrives', async () => {
    // The viewer is on low (last step above): nobody may receive f or h.
    const paused = await waitFor(
      async () => {
        const f = (await videoOut(pub)).f;
        return f && !f.active ? { ...f, at: Date.now() } : undefined;
      },
      { timeout: 20_000, what: "the publisher's f encoding to go inactive" },
    );
    const still = await waitFor(
      async () => (Date.now() - paused.at >= 1500 ? (await videoOut(pub)).f : undefined),
      { what: 'a second sample of f' },
    );
    assert.equal(still.packetsSent, paused.packetsSent, 'an inactive f sends no packets');
    const high = await browser!.newPage('high-viewer');
    await high.goto(`${sb!.url}/?room=${ROOM}&name=high&autojoin=1&publish=0`);
    await waitFor(
      async () => {
        const f = (await videoOut(pub)).f;
        return f && f.active && f.packetsSent > still.packetsSent + 50;
      },
      { timeout: 30_000, what: "the publisher's f encoding to resume for a high viewer" },
    );
    await widthIs(high, WIDTH.high, 'the new viewer to get the full resolution', 60_000);
    await high.close();
  });

  void it("ion-sdk-js's RemoteStream.preferLayer('low') switches its stream to the low layer", async () => {
    const ion = await browser!.newPage('ion-sdk');
    await ion.route(`${sb!.url}/ion-test.html`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><html><body></body></html>' }),
    );
    await ion.goto(`${sb!.url}/ion-test.html`);
    await ion.addScriptTag({ path: require.resolve('ion-sdk-js/dist/ion-sdk.min.js') });
    await ion.addScriptTag({ path: require.resolve('ion-sdk-js/dist/json-rpc.min.js') });
    await ion.evaluate(`(() => {
      const signal = new Signal.IonSFUJSONRPCSignal(${JSON.stringify(wsUrlOf(sb!.url))});
      const client = new IonSDK.Client(signal, { codec: 'vp8', iceServers: [] });
      window.ion = { client, streams: {} };
      client.ontrack = (track, stream) => { window.ion.streams[stream.id] = stream; };
      signal.onopen = () => client.join(${JSON.stringify(ROOM)}, 'ion-viewer').then(() => { window.ion.joined = true; });
    })()`);
    // ion-sdk-js drops a preferLayer sent before its `ion-sfu` channel is open (join resolved).
    await waitFor(
      () => ion.evaluate<boolean>(`!!window.ion.joined && !!window.ion.streams[${JSON.stringify(streamId)}]`),
      {
        timeout: 30_000,
        what: "the ion client to join and get the publisher's stream",
      },
    );
    await ion.evaluate(`window.ion.streams[${JSON.stringify(streamId)}].preferLayer('low')`);
    await widthIs(ion, WIDTH.low, 'the ion client to decode the low layer', 45_000, ION_SUBSCRIBER);
    await ion.close();
  });

  void it('a viewer on a 300 kbit/s downlink ends on the low layer by itself and climbs back when it is lifted', async () => {
    shaped = await createShapedLink();
    slowBrowser = await launchBrowser({ executablePath: shaped.chromiumWrapper });
    const slow = await slowBrowser.newPage('slow-viewer');
    await slow.goto(
      `http://${shaped.serverAddress}:${sb!.port}/?room=${ROOM}&name=slow&autojoin=1&publish=0`,
    );
    await waitFor(async () => ((await videoIn(slow))?.framesDecoded ?? 0) > 30, {
      timeout: 60_000,
      what: 'the shaped viewer to decode video',
    });
    shaped.limit(300);
    await widthIs(slow, WIDTH.low, 'the throttled viewer to fall to the low layer', 60_000);
    // It stays there: the link cannot carry more (probes up fail and back off).
    const settled = await waitFor(
      async () => {
        const v = await videoIn(slow);
        return v && v.framesDecoded > 0 ? v : undefined;
      },
      { what: 'stats of the throttled viewer' },
    );
    assert.equal(settled.frameWidth, WIDTH.low);
    shaped.unlimit();
    await waitFor(
      async () => {
        const v = await videoIn(slow);
        return v && v.frameWidth > WIDTH.low ? v : undefined;
      },
      { timeout: 90_000, interval: 250, what: 'the viewer to climb back above the low layer' },
    );
  });
});
