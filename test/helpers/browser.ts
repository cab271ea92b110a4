// Debian chromium, headless, driven by playwright-core, with fake camera and microphone
// (DESIGN.md "Tests and benchmarks", reference/werift-findings.md Step 3).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.SB_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebRtcHideLocalIpsWithMdns: raw host candidates instead of mDNS names (the SFU does not resolve .local).
  // LocalNetworkAccessChecks: a document fulfilled by page.route() has no IP address space, so Chromium
  // counts it as public and blocks its WebSocket to 127.0.0.1 (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
  // Pages the server itself serves are loopback-to-loopback and never hit this check.
  '--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks',
  '--autoplay-policy=no-user-gesture-required',
];

export interface TestBrowser {
  readonly context: BrowserContext;
  /** Opens a page whose console errors and uncaught exceptions go to the test log. */
  newPage(label?: string): Promise<Page>;
  /** Closes the browser and removes its profile directory. Idempotent. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Another launcher, e.g. a wrapper that runs Chromium in another network namespace (shapedLink.ts). */
  executablePath?: string;
  extraArgs?: string[];
  /** Accept any server certificate (a self-signed https:// server); default false. */
  ignoreHTTPSErrors?: boolean;
}

export async function launchBrowser(opts: LaunchOptions = {}): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'sb-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.executablePath ?? CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
      permissions: ['camera', 'microphone'],
      ...(opts.ignoreHTTPSErrors ? { ignoreHTTPSErrors: true } : {}),
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  let pages = 0;
  let closing: Promise<void> | undefined;
  return {
    context,
    async newPage(label?: string): Promise<Page> {
      const name = label ?? `page${++pages}`;
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error') {
          console.error(`[${name}] console.error: ${msg.text()}`);
        }
      });
      page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`));
      return page;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        try {
          await context.close();
        } finally {
          await rm(userDataDir, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
}
