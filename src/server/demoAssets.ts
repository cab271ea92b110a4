/**
 * The demo conference page (web/) and the browser SDK (client/), bundled in memory with esbuild. The server
 * calls `buildDemoAssets()` once at start and serves the map by URL path.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface DemoAsset {
  contentType: string;
  body: Buffer;
}

const webDir = new URL('../../web/', import.meta.url);
const clientEntry = new URL('../../client/index.ts', import.meta.url);

const JS = 'text/javascript; charset=utf-8';

/** Bundles one ESM entry point to a single minified file, in memory (the dashboard's too). */
export async function bundle(entry: URL, outName: string, sourcemap: boolean): Promise<Buffer> {
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    outfile: outName, // nothing is written (write: false); esbuild only needs a name for the output
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: sourcemap ? 'inline' : false,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    keepNames: true, // error classes keep their names (err.name) in the minified bundle
  });
  const file = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!file) {
    throw new Error(`esbuild produced no JavaScript for ${fileURLToPath(entry)}`);
  }
  return Buffer.from(file.contents);
}

/**
 * Entries: `/` (index.html), `/app.js` (page script with the SDK, inline source map), `/style.css`,
 * `/notice.css` and `/sdk/switchboard.js` (the client SDK alone, ESM, for other apps). Rejects if a source
 * is missing or does not compile.
 */
export async function buildDemoAssets(): Promise<Map<string, DemoAsset>> {
  const [html, css, noticeCss, app, sdk] = await Promise.all([
    readFile(new URL('index.html', webDir)),
    readFile(new URL('style.css', webDir)),
    readFile(new URL('notice.css', webDir)),
    bundle(new URL('app.ts', webDir), 'app.js', true),
    bundle(clientEntry, 'switchboard.js', false),
  ]);
  return new Map<string, DemoAsset>([
    ['/', { contentType: 'text/html; charset=utf-8', body: html }],
    ['/app.js', { contentType: JS, body: app }],
    ['/style.css', { contentType: 'text/css; charset=utf-8', body: css }],
    ['/notice.css', { contentType: 'text/css; charset=utf-8', body: noticeCss }],
    ['/sdk/switchboard.js', { contentType: JS, body: sdk }],
  ]);
}
