// The published ion-sdk-js 1.8.2 bundles, loaded unchanged into Chromium, against Switchboard's /ws,
// with a demo page as the other participant.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { AbortWait, waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const require = createRequire(import.meta.url);
const MEDIA_TIMEOUT = 30000;
const ROOM = 'ion-room';
/** The ion-sdk-js client's subscriber PC (Role.sub = 1). */
const ION_SUBSCRIBER = 'window.ion && window.ion.client.transports && window.ion.client.transports[1].pc';

interface IonPageState {
  joined: boolean;
  published: boolean;
  error: string | null;
  localStreamId: string | null;
  /** ontrack calls: stream id → track kinds. */
  streams: Record<string, string[]>;
  /** onspeaker calls, oldest first. */
  speakers: string[][];
}

/** Joins and publishes with ion-sdk-js exactly as its README does; progress lands in `window.ion`. */
function ionScript(wsUrl: string): string {
  return `(() => {
    const state = { joined: false, published: false, error: null, localStreamId: null, streams: {}, speakers: [] };
    const signal = new Signal.IonSFUJSONRPCSignal(${JSON.stringify(wsUrl)});
    const client = new IonSDK.Client(signal, { codec: 'vp8', iceServers: [] });
    window.ion = Object.assign(state, { client, signal });
    client.ontrack = (track, stream) => {
      (state.streams[stream.id] = state.streams[stream.id] || []).push(track.kind);
    };
    client.onspeaker = (list) => { state.speakers.push(list); };
    const run = async () => {
      await new Promise((resolve, reject) => {
        signal.onopen = () => client.join(${JSON.stringify(ROOM)}, 'ion-user').then(resolve, reject);
        signal.onerror = () => reject(new Error('signal socket error'));
      });
      state.joined = true;
      const local = await IonSDK.LocalStream.getUserMedia({ resolution: 'vga', audio: true, video: true, codec: 'vp8' });
      state.localStreamId = local.id;
      client.publish(local);
      state.published = true;
    };
    run().catch((err) => { state.error = String((err && (err.message || JSON.stringify(err))) || err); });
  })()`;
}

void describe('ion-sdk-js 1.8.2 client', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let demo: Page;
  let ion: Page;

  const ionState = (): Promise<IonPageState | null> =>
    ion.evaluate<IonPageState | null>(
      `window.ion ? (({ joined, published, error, localStreamId, streams, speakers }) =>
        ({ joined, published, error, localStreamId, streams, speakers }))(window.ion) : null`,
    );
  /** The page's state once `check` holds; fails at once if the page recorded an error. */
  const waitForIon = (check: (s: IonPageState) => boolean, what: string): Promise<IonPageState> =>
    waitFor(
      async () => {
        const s = await ionState();
        if (s?.error) {
          throw new AbortWait(`ion-sdk page failed: ${s.error}`);
        }
        return s && check(s) ? s : undefined;
      },
      { timeout: MEDIA_TIMEOUT, what },
    );

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
    demo = await browser.newPage('demo');
    await demo.goto(`${sb.url}/?room=${ROOM}&name=demo&autojoin=1`);

    ion = await browser.newPage('ion-sdk');
    // Served by the route, so the page's origin is the server's.
    await ion.route(`${sb.url}/ion-test.html`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><html><head><meta charset="utf-8"><title>ion-sdk-js</title></head><body></body></html>',
      }),
    );
    await ion.goto(`${sb.url}/ion-test.html`);
    await ion.addScriptTag({ path: require.resolve('ion-sdk-js/dist/ion-sdk.min.js') });
    await ion.addScriptTag({ path: require.resolve('ion-sdk-js/dist/json-rpc.min.js') });
    await ion.evaluate(ionScript(wsUrlOf(sb.url)));
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  void it('Client.join resolves and the published stream goes out', async () => {
    await waitForIon((s) => s.joined && s.published, 'ion-sdk client to join and publish');
  });

  void it("client.ontrack delivers the demo page's stream with audio and video", async () => {
    const s = await waitForIon(
      (st) =>
        Object.entries(st.streams).some(
          ([id, kinds]) => id !== st.localStreamId && kinds.includes('audio') && kinds.includes('video'),
        ),
      "ontrack to deliver the demo page's audio and video",
    );
    assert.ok(!(s.localStreamId! in s.streams), 'the ion client does not get its own stream back');
  });

  void it("the ion client's subscriber PC decodes more than 30 video frames, and keeps decoding", async () => {
    const first = await waitFor(
      async () => {
        const st = await inboundStats(ion, ION_SUBSCRIBER);
        return st && st.framesDecoded > 30 ? st : undefined;
      },
      { timeout: MEDIA_TIMEOUT, what: 'the ion subscriber PC to decode 30 frames' },
    );
    await waitFor(
      async () => ((await inboundStats(ion, ION_SUBSCRIBER))?.framesDecoded ?? 0) > first.framesDecoded + 10,
      {
        timeout: MEDIA_TIMEOUT,
        what: 'framesDecoded on the ion subscriber PC to keep growing',
      },
    );
  });

  void it('client.onspeaker is called with a non-empty list of stream ids', async () => {
    const s = await waitForIon(
      (st) => st.speakers.some((l) => Array.isArray(l) && l.length > 0),
      'a non-empty onspeaker call',
    );
    const ids = s.speakers.flat();
    assert.ok(
      ids.every((id) => typeof id === 'string' && id.length > 0),
      `speaker ids are stream ids: ${JSON.stringify(s.speakers.slice(0, 3))}`,
    );
  });

  void it("the demo page shows the ion client's stream and decodes it", async () => {
    const { localStreamId } = await waitForIon((s) => s.localStreamId !== null, 'the ion local stream id');
    await waitFor(async () => (await remoteTiles(demo)).some((t) => t.streamId === localStreamId), {
      timeout: MEDIA_TIMEOUT,
      what: "the demo page to show a tile for the ion client's stream",
    });
    await waitFor(async () => ((await inboundStats(demo))?.framesDecoded ?? 0) > 30, {
      timeout: MEDIA_TIMEOUT,
      what: "the demo page to decode 30 frames of the ion client's video",
    });
  });
});
