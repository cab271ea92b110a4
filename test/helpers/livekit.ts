// livekit-client pages for the e2e tests: test/e2e/livekit/page.ts (which imports npm `livekit-client`
// unchanged) bundled by esbuild into test-output/livekit/, served by page.route() on another origin
// than the server's (http://localhost:<port>, the server being http://127.0.0.1:<port>), as an app's
// page would be: the SDK's fetches of /rtc/…/validate are cross-origin and need the server's CORS
// header. Tokens are livekit-server-sdk's AccessToken.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { AccessToken, type VideoGrant } from 'livekit-server-sdk';
import type { Page } from 'playwright-core';
import type { TestBrowser } from './browser.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LIVEKIT_OUTPUT = join(ROOT, 'test-output', 'livekit');
const ENTRY = join(ROOT, 'test', 'e2e', 'livekit', 'page.ts');

/** The API key and secret the test server's `[livekit] keys` has. */
export const LK_KEY = 'e2eKey';
export const LK_SECRET = 'e2e-secret-of-the-livekit-test-key';

/** Bundles the page script (livekit-client included) into test-output/livekit/; returns its text. */
export async function bundleLivekitPage(): Promise<string> {
  await mkdir(LIVEKIT_OUTPUT, { recursive: true });
  const out = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const text = out.outputFiles[0]!.text;
  await writeFile(join(LIVEKIT_OUTPUT, 'livekit-page.js'), text);
  return text;
}

export interface TokenOptions {
  identity: string;
  name?: string;
  grant: VideoGrant;
  /** Default: the test key's secret. */
  secret?: string;
  /** Default: the test key. */
  apiKey?: string;
  /** AccessToken's ttl (e.g. '-1m' for an expired token); default its 6 h. */
  ttl?: string;
}

export function livekitToken(o: TokenOptions): Promise<string> {
  const at = new AccessToken(o.apiKey ?? LK_KEY, o.secret ?? LK_SECRET, {
    identity: o.identity,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
  });
  at.addGrant(o.grant);
  return at.toJwt();
}

export interface LivekitPage {
  readonly page: Page;
  readonly label: string;
  /** The page's console (livekit-client logs at debug level), with timestamps. */
  readonly log: string[];
  /**
   * What the page did on the signal server: "ws /rtc/v1", "GET /rtc/v1/validate → 404 (12 ms)",
   * "ws /rtc", "ws /rtc closed" …, in order (the time is the request's start to its response's).
   */
  readonly exchanges: string[];
  /** Writes the console log to test-output/livekit/<label>.log; returns the path. */
  saveLog(): Promise<string>;
}

/** A page of http://localhost:<server port>/ that has `window.lk` (test/e2e/livekit/page.ts). */
export async function openLivekitPage(
  browser: TestBrowser,
  serverUrl: string,
  script: string,
  label: string,
): Promise<LivekitPage> {
  const server = new URL(serverUrl);
  const origin = `http://localhost:${server.port}`;
  const page = await browser.newPage(label);
  const log: string[] = [];
  const exchanges: string[] = [];
  const t0 = Date.now();
  const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(3)}s`;
  page.on('console', (msg) => log.push(`${stamp()} [${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => log.push(`${stamp()} [pageerror] ${err.message}`));
  page.on('websocket', (ws) => {
    const path = new URL(ws.url()).pathname;
    exchanges.push(`ws ${path}`);
    ws.on('socketerror', (e) => exchanges.push(`ws ${path} error ${e}`));
    ws.on('close', () => exchanges.push(`ws ${path} closed`));
  });
  page.on('response', (res) => {
    const u = new URL(res.url());
    if (u.host === server.host && u.pathname.startsWith('/rtc')) {
      const t = res.request().timing();
      const ms = t.responseStart >= 0 ? ` (${Math.round(t.responseStart)} ms)` : '';
      exchanges.push(`${res.request().method()} ${u.pathname} → ${res.status()}${ms}`);
    }
  });
  page.on('requestfailed', (req) => {
    const u = new URL(req.url());
    if (u.host === server.host) {
      exchanges.push(`${req.method()} ${u.pathname} failed: ${req.failure()?.errorText ?? '?'}`);
    }
  });
  await page.route(`${origin}/livekit.html`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><html><head><meta charset="utf-8"><title>livekit-client</title></head><body><script src="/livekit-page.js"></script></body></html>',
    }),
  );
  await page.route(`${origin}/livekit-page.js`, (route) =>
    route.fulfill({ contentType: 'text/javascript', body: script }),
  );
  await page.goto(`${origin}/livekit.html`);
  await page.waitForFunction('window.lk !== undefined');
  return {
    page,
    label,
    log,
    exchanges,
    async saveLog() {
      const file = join(LIVEKIT_OUTPUT, `${label}.log`);
      await writeFile(file, `${exchanges.map((e) => `# ${e}`).join('\n')}\n${log.join('\n')}\n`);
      return file;
    },
  };
}
