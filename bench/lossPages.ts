// The browser side of `npm run bench:loss` (bench/loss.ts): headless Chromium, the two pages that join
// a room on Switchboard's demo page or on Janus VideoRoom's own demo, and what each page receives read
// from getStats. Page code is passed as strings: tsx's esbuild transform may wrap functions in helpers
// (`__name`) that do not exist inside the page (test/helpers/pageStats.ts).
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/browser.ts';
import { JANUS_ROOM, type Server } from './servers.ts';

export const PAGE_NAMES = ['Ada', 'Grace'] as const;
export type PageName = (typeof PAGE_NAMES)[number];
/** Grace's page is the one the policer step limits. */
export const POLICED: PageName = 'Grace';

/** Where Debian's janus-demos package puts Janus's demo pages. */
export const DEMOS = '/usr/share/janus/demos';
const DEMO_PORT = 18090;

/** Cumulative inbound figures of a page (video and audio of every open RTCPeerConnection). */
export interface Snapshot {
  /** Date.now() in the bench process when the stats were read. */
  at: number;
  /** Height of the last decoded frame (the tallest over the page's inbound video), 0 before any. */
  height: number;
  frames: number;
  /** Video payload bytes received. */
  bytes: number;
  /** totalFreezesDuration, s. */
  frozen: number;
  nack: number;
  pli: number;
  lost: number;
  /** Inbound audio: concealedSamples and totalSamplesReceived. */
  concealed: number;
  samples: number;
  /** The page's own publishing: height of its tallest active layer, and that layer's quality limitation. */
  sent: number;
  limit: string;
}

// Every RTCPeerConnection the page makes, so that the stats cover the demo's own PCs (Janus's demo
// makes one to publish and one per remote feed; Switchboard's demo a publisher and a subscriber).
const HOOK = `(() => { const Orig = window.RTCPeerConnection; if (!Orig || window.__pcs) return; window.__pcs = [];
  window.RTCPeerConnection = function (...a) { const pc = new Orig(...a); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Orig.prototype; Object.setPrototypeOf(window.RTCPeerConnection, Orig); })();`;

const SNAP = `(async () => {
  const o = { at: 0, height: 0, frames: 0, bytes: 0, frozen: 0, nack: 0, pli: 0, lost: 0, concealed: 0, samples: 0, sent: 0, limit: '' };
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video' && r.active !== false && (r.frameHeight || 0) > o.sent) {
        o.sent = r.frameHeight; o.limit = r.qualityLimitationReason || '';
      }
      if (r.type !== 'inbound-rtp') return;
      if (r.kind === 'video') {
        o.height = Math.max(o.height, r.frameHeight || 0);
        o.frames += r.framesDecoded || 0; o.bytes += r.bytesReceived || 0; o.frozen += r.totalFreezesDuration || 0;
        o.nack += r.nackCount || 0; o.pli += r.pliCount || 0; o.lost += r.packetsLost || 0;
      } else if (r.kind === 'audio') {
        o.concealed += r.concealedSamples || 0; o.samples += r.totalSamplesReceived || 0;
      }
    });
  }
  return o;
})()`;

/**
 * The local UDP ports of the selected candidate pairs of the page's PCs that receive video (what the
 * policer matches): not its publishing PC, whose feedback (REMB, NACK, PLI) must keep flowing.
 */
const PORTS = `(async () => {
  const ports = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    const s = await pc.getStats();
    let receives = false;
    s.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) receives = true; });
    if (!receives) continue;
    s.forEach((t) => {
      if (t.type !== 'transport' || !t.selectedCandidatePairId) return;
      const pair = s.get(t.selectedCandidatePairId);
      const local = pair && s.get(pair.localCandidateId);
      if (local && local.port && !ports.includes(local.port)) ports.push(local.port);
    });
  }
  return ports;
})()`;

export async function snapshot(page: Page): Promise<Snapshot> {
  const s = await page.evaluate<Snapshot>(SNAP);
  s.at = Date.now();
  return s;
}

export function selectedPorts(page: Page): Promise<number[]> {
  return page.evaluate<number[]>(PORTS);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export interface DemoServer {
  readonly url: string;
  close(): void;
}

/**
 * Janus's demo pages (Janus serves none), read from DEMOS and never changed there. settings.js is
 * Debian's with `server` pointed at our Janus and the `token` and `apisecret` globals that
 * videoroomtest.js reads but Debian's settings.js leaves out.
 */
export function serveDemos(janusUrl: string): Promise<DemoServer> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.png': 'image/png',
    '.svg': 'image/svg+xml',
    '.woff': 'font/woff',
    '.woff2': 'font/woff2',
  };
  const settings =
    readFileSync(join(DEMOS, 'settings.js'), 'utf8') +
    `\n// bench/lossPages.ts\nserver = ${JSON.stringify(janusUrl)};\nvar token = null;\nvar apisecret = null;\n`;
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    if (path === '/settings.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(settings);
      return;
    }
    const file = join(DEMOS, path);
    if (!file.startsWith(`${DEMOS}/`) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(DEMO_PORT, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${DEMO_PORT}`, close: () => server.close() }),
    );
  });
}

/**
 * Opens Ada's and Grace's pages (a browser context each) on `server` and waits until each decodes
 * the other's video. Switchboard: its demo page, which publishes three simulcast layers of a
 * 960x540 capture by default. Janus: videoroomtest.html with `simulcast=yes`, through its UI.
 */
export async function joinPages(
  browser: Browser,
  server: Server,
  demos: DemoServer | undefined,
  room: string,
): Promise<Record<PageName, Page>> {
  const pages: Partial<Record<PageName, Page>> = {};
  for (const name of PAGE_NAMES) {
    const ctx = await browser.newContext();
    await ctx.grantPermissions(['camera', 'microphone']);
    await ctx.addInitScript(HOOK);
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error(`  [${name}] page error: ${err.message}`));
    if (server.kind === 'switchboard') {
      const http = server.url.replace(/^ws/, 'http').replace(/\/ws$/, '');
      await page.goto(`${http}/?room=${room}&name=${name}&autojoin=1`);
    } else {
      if (!demos) {
        throw new Error('Janus needs the demo pages served');
      }
      await page.goto(`${demos.url}/videoroomtest.html?simulcast=yes&room=${JANUS_ROOM}`);
      await page.click('#start');
      await page.waitForSelector('#username', { state: 'visible', timeout: 20_000 });
      await page.fill('#username', name);
      await page.click('#register');
    }
    pages[name] = page;
    await sleep(2000);
  }
  const deadline = Date.now() + 60_000;
  for (const name of PAGE_NAMES) {
    for (;;) {
      const s = await snapshot(pages[name]!);
      if (s.frames > 10 && s.height > 0) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`${server.kind}: ${name} decoded no video within 60 s`);
      }
      await sleep(500);
    }
  }
  return pages as Record<PageName, Page>;
}
