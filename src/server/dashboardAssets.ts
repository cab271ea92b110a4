/**
 * The operator's dashboard page (web/dashboard/), bundled in memory with esbuild as the demo page is
 * (demoAssets.ts). The api role builds it on the first authenticated request to `/dashboard`, so a
 * server that nobody opens it on pays nothing at start.
 */
import { readFile } from 'node:fs/promises';
import { bundle, type DemoAsset } from './demoAssets.ts';

const dashboardDir = new URL('../../web/dashboard/', import.meta.url);

/**
 * Entries under `/dashboard`: `/` (index.html), `/dashboard.js` (the page script, inline source map)
 * and `/style.css`. Rejects if a source is missing or does not compile.
 */
export async function buildDashboardAssets(): Promise<Map<string, DemoAsset>> {
  const [html, css, js] = await Promise.all([
    readFile(new URL('index.html', dashboardDir)),
    readFile(new URL('style.css', dashboardDir)),
    bundle(new URL('dashboard.ts', dashboardDir), 'dashboard.js', true),
  ]);
  return new Map<string, DemoAsset>([
    ['/', { contentType: 'text/html; charset=utf-8', body: html }],
    ['/dashboard.js', { contentType: 'text/javascript; charset=utf-8', body: js }],
    ['/style.css', { contentType: 'text/css; charset=utf-8', body: css }],
  ]);
}
