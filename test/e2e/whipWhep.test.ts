// WHIP ingest and WHEP playback with independent clients from npm, unchanged, in headless Chromium:
// @eyevinn/whip-web-client 1.1.7 publishes the fake camera into a room where a demo page decodes it, and
// @eyevinn/webrtc-player 0.13.0 (its WHEP adapter) plays a room where a demo page publishes.
// Both packages ship module builds with bare imports (`events`, `sdp-transform`, `@eyevinn/…`), so the
// test bundles a one-line entry that re-exports the package with esbuild into a browser script.
//
// whip-web-client 1.1.7 trickles with a PATCH that carries the session's entity-tag in an `ETag`
// request header, not `If-Match` (RFC 9725 §4.3.1); the server takes it as If-Match (WhipEndpoint).
// ICE does not depend on those trickles: the server's answer has its candidates, and it learns the
// browser's address from the browser's connectivity checks (peer-reflexive).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { AbortWait, waitFor } from '../helpers/waitFor.ts';

const MEDIA_TIMEOUT = 20_000;
const WHIP_ROOM = 'whip-room';
const WHEP_ROOM = 'whep-room';
const WHIP_NAME = 'whip-cam';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** webrtc-player keeps its RTCPeerConnection in the (TypeScript-private) field `peer`. */
const PLAYER_PC = 'window.whep && window.whep.player && window.whep.player.peer';

/** `export { name } from pkg`, bundled for the browser; the export lands on `window[global]`. */
async function bundle(pkg: string, name: string, global: string): Promise<string> {
  const out = await build({
    stdin: { contents: `export { ${name} } from '${pkg}';`, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    write: false,
    format: 'iife',
    globalName: global,
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** A blank page of the server's origin (fulfilled by a route), with `script` added. */
async function libraryPage(page: Page, url: string, script: string, body = ''): Promise<void> {
  await page.route(url, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html><head><meta charset="utf-8"></head><body>${body}</body></html>`,
    }),
  );
  await page.goto(url);
  await page.addScriptTag({ content: script });
}

interface PageState {
  error: string | null;
  started: boolean;
}

/** The page's `window[handle]` state once `check` holds; fails at once if the page recorded an error. */
function waitForState<S extends PageState>(
  page: Page,
  handle: string,
  fields: string,
  check: (s: S) => boolean,
  what: string,
): Promise<S> {
  return waitFor(
    async () => {
      const s = await page.evaluate<S | null>(
        `window.${handle} ? (({ error, started, ${fields} }) => ({ error, started, ${fields} }))(window.${handle}) : null`,
      );
      if (s?.error) {
        throw new AbortWait(`${what}: the page failed: ${s.error}`);
      }
      return s && check(s) ? s : undefined;
    },
    { timeout: MEDIA_TIMEOUT, what },
  );
}

void describe('WHIP and WHEP with @eyevinn clients in Chromium', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  /** HTTP requests the library pages made to /whip and /whep: "METHOD path → status". */
  const exchanges: string[] = [];

  const watchExchanges = (page: Page): void => {
    page.on('response', (res) => {
      const u = new URL(res.url());
      if (/^\/(whip|whep)\//.test(u.pathname)) {
        exchanges.push(`${res.request().method()} ${u.pathname} → ${res.status()}`);
      }
    });
  };

  before(async () => {
    sb = await startSwitchboard();
    browser = await launchBrowser();
  });

  after(async () => {
    if (exchanges.length > 0) {
      console.log(`WHIP/WHEP requests of the library pages:\n  ${exchanges.join('\n  ')}`);
    }
    await browser?.close();
    await sb?.close();
  });

  void describe('WHIP: @eyevinn/whip-web-client publishes, a demo page decodes', () => {
    let whip: Page;
    let viewer: Page;

    before(async () => {
      const script = await bundle('@eyevinn/whip-web-client', 'WHIPClient', 'EyevinnWhip');
      viewer = await browser!.newPage('whip-viewer');
      await viewer.goto(`${sb!.url}/?room=${WHIP_ROOM}&name=viewer&autojoin=1&publish=0`);
      whip = await browser!.newPage('whip-web-client');
      watchExchanges(whip);
      await libraryPage(
        whip,
        `${sb!.url}/whip-test.html`,
        script,
        '<video id="local" autoplay muted playsinline></video>',
      );
      // As the package's README: getUserMedia, new WHIPClient({ endpoint, opts }), ingest(stream).
      // iceServers: [] keeps the browser from looking up the library's default Google STUN server.
      const endpoint = `${sb!.url}/whip/rooms/${WHIP_ROOM}?name=${WHIP_NAME}`;
      await whip.evaluate(`(() => {
        const state = { error: null, started: false, streamId: null, resource: null };
        window.whip = state;
        (async () => {
          const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
          document.getElementById('local').srcObject = stream;
          state.streamId = stream.id;
          const client = new EyevinnWhip.WHIPClient({ endpoint: ${JSON.stringify(endpoint)}, opts: { debug: true, iceServers: [] } });
          state.client = client;
          await client.ingest(stream);
          state.started = true;
          state.resource = await client.getResourceUrl();
        })().catch((err) => { state.error = String((err && err.message) || err); });
      })()`);
    });

    void it('ingest() resolves with a session resource at /whip/sessions/…', async () => {
      const s = await waitForState<PageState & { resource: string | null }>(
        whip,
        'whip',
        'resource',
        (st) => st.started && st.resource !== null,
        'WHIPClient.ingest() and its resource URL',
      );
      assert.match(new URL(s.resource!).pathname, /^\/whip\/sessions\/[^/]+$/);
      // ingest() first asks OPTIONS whether PATCH is allowed (then it trickles), then POSTs its offer.
      assert.deepEqual(exchanges.slice(0, 2), [
        `OPTIONS /whip/rooms/${WHIP_ROOM} → 204`,
        `POST /whip/rooms/${WHIP_ROOM} → 201`,
      ]);
    });

    void it("the WHIP client's peer connection connects", async () => {
      await waitFor(
        () =>
          whip.evaluate<boolean>(
            `window.whip.client.peer && window.whip.client.peer.connectionState === 'connected'`,
          ),
        { timeout: MEDIA_TIMEOUT, what: "the WHIP client's RTCPeerConnection to connect" },
      );
      const patches = exchanges.filter((e) => e.startsWith('PATCH '));
      assert.ok(
        patches.every((e) => e.endsWith('→ 204')),
        `trickles: ${patches.join(', ')}`,
      );
    });

    void it('the demo page decodes more than 30 frames of the WHIP video, and keeps decoding', async () => {
      const first = await waitFor(
        async () => {
          const st = await inboundStats(viewer);
          return st && st.framesDecoded > 30 ? st : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: 'the demo page to decode 30 frames of the WHIP video' },
      );
      await waitFor(
        async () => ((await inboundStats(viewer))?.framesDecoded ?? 0) > first.framesDecoded + 10,
        {
          timeout: MEDIA_TIMEOUT,
          what: "the demo page's framesDecoded to keep growing",
        },
      );
    });

    void it("the demo page's roster has the WHIP publisher, by its ?name=, with its stream", async () => {
      const streamId = await whip.evaluate<string>('window.whip.streamId');
      const roster = await waitFor(
        async () => {
          const peers = await viewer.evaluate<{ uid: string; name: string; streams: string[] }[]>(
            `(window.sb.client ? window.sb.client.participants : []).map((p) => ({ uid: p.uid, name: p.name, streams: p.streams.map((s) => s.streamId) }))`,
          );
          return peers.some((p) => p.name === WHIP_NAME) ? peers : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: `a participant named ${WHIP_NAME} in the demo page's roster` },
      );
      const publisher = roster.find((p) => p.name === WHIP_NAME)!;
      assert.deepEqual(
        publisher.streams,
        [streamId],
        'the WHIP participant publishes the stream of its MediaStream',
      );
    });

    void it('destroy() ends the session: DELETE, and the publisher leaves the roster', async () => {
      await whip.evaluate(`window.whip.client.destroy()`);
      await waitFor(
        async () =>
          !(await viewer.evaluate<boolean>(
            `(window.sb.client ? window.sb.client.participants : []).some((p) => p.name === ${JSON.stringify(WHIP_NAME)})`,
          )),
        { timeout: MEDIA_TIMEOUT, what: 'the WHIP publisher to leave the roster' },
      );
      assert.ok(
        exchanges.some((e) => /^DELETE \/whip\/sessions\/\S+ → 200$/.test(e)),
        `a DELETE of the session answered 200: ${exchanges.join('; ')}`,
      );
    });
  });

  void describe('WHEP: a demo page publishes, @eyevinn/webrtc-player plays', () => {
    let publisher: Page;
    let player: Page;

    before(async () => {
      const script = await bundle('@eyevinn/webrtc-player', 'WebRTCPlayer', 'EyevinnPlayer');
      publisher = await browser!.newPage('whep-publisher');
      await publisher.goto(`${sb!.url}/?room=${WHEP_ROOM}&name=presenter&autojoin=1`);
      // The room is live (WHEP on a room that is not gives 404) once the demo page has joined and
      // its publisher connection is up.
      await waitFor(
        () =>
          publisher.evaluate<boolean>(
            `window.sb.joined && window.sb.client.publisher.connectionState === 'connected'`,
          ),
        { timeout: MEDIA_TIMEOUT, what: "the demo page's publisher connection to connect" },
      );
      player = await browser!.newPage('webrtc-player');
      watchExchanges(player);
      await libraryPage(
        player,
        `${sb!.url}/whep-test.html`,
        script,
        '<video id="player" autoplay muted playsinline></video>',
      );
      // As the package's README: new WebRTCPlayer({ video, type: 'whep' }), load(new URL(channel)).
      const channel = `${sb!.url}/whep/rooms/${WHEP_ROOM}`;
      await player.evaluate(`(() => {
        const state = { error: null, started: false, events: [] };
        window.whep = state;
        const video = document.getElementById('player');
        const player = new EyevinnPlayer.WebRTCPlayer({ video, type: 'whep', iceServers: [], debug: true });
        state.player = player;
        for (const ev of ['no-media', 'media-recovered', 'peer-connection-failed', 'initial-connection-failed', 'connect-error']) {
          player.on(ev, () => state.events.push(ev));
        }
        player.on('initial-connection-failed', () => { state.error = 'initial-connection-failed'; });
        player.on('connect-error', () => { state.error = 'connect-error'; });
        player.load(new URL(${JSON.stringify(channel)})).then(() => { state.started = true; },
          (err) => { state.error = String((err && err.message) || err); });
      })()`);
    });

    void it("the player's peer connection connects", async () => {
      await waitFor(
        async () => {
          const s = await player.evaluate<{ error: string | null; pc: string | null }>(
            `({ error: window.whep.error, pc: window.whep.player.peer ? window.whep.player.peer.connectionState : null })`,
          );
          if (s.error) {
            throw new AbortWait(`the player failed: ${s.error}`);
          }
          return s.pc === 'connected';
        },
        { timeout: MEDIA_TIMEOUT, what: "webrtc-player's RTCPeerConnection to connect" },
      );
    });

    void it('the <video> element plays the room: more than 30 frames, and growing', async () => {
      const frames = (): Promise<number> =>
        player.evaluate<number>(
          `document.getElementById('player').getVideoPlaybackQuality().totalVideoFrames`,
        );
      const first = await waitFor(
        async () => {
          const n = await frames();
          return n > 30 ? n : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: 'the video element to present 30 frames' },
      );
      await waitFor(async () => (await frames()) > first + 10, {
        timeout: MEDIA_TIMEOUT,
        what: "the video element's frame count to keep growing",
      });
      const size = await player.evaluate<{ w: number; h: number }>(
        `({ w: document.getElementById('player').videoWidth, h: document.getElementById('player').videoHeight })`,
      );
      assert.ok(size.w > 0 && size.h > 0, `the video has a size: ${JSON.stringify(size)}`);
    });

    void it("the player's peer connection decodes the video and receives audio", async () => {
      await waitFor(
        async () => {
          const st = await inboundStats(player, PLAYER_PC);
          return st && st.framesDecoded > 30 && st.audioPackets > 50 ? st : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: "the player's PC to decode 30 frames and receive 50 audio packets" },
      );
      const streams = await player.evaluate<string[]>(
        `window.whep.player.peer.getReceivers().map((r) => r.track.kind).sort()`,
      );
      assert.deepEqual(streams, ['audio', 'video']);
    });

    void it('the player used the client-offer WHEP flow: one POST answered 201', () => {
      const posts = exchanges.filter((e) => e.startsWith('POST /whep/'));
      assert.deepEqual(posts, [`POST /whep/rooms/${WHEP_ROOM} → 201`]);
    });
  });
});
