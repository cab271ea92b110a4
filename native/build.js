// Builds the optional SRTP accelerator at `npm ci` (package.json "install"). It must never fail the
// install: without a compiler or Node headers the TypeScript path is used (src/media/srtp/native.ts).
/* global process, console */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
if (process.env.SB_NATIVE === '0') {
  console.log('switchboard: SB_NATIVE=0, not building the SRTP accelerator');
  process.exit(0);
}
// npm sets npm_config_node_gyp for lifecycle scripts; run by hand, look for npm's bundled copy.
let gyp = process.env.npm_config_node_gyp;
const npmDirs = [
  process.env.npm_execpath ? dirname(dirname(process.env.npm_execpath)) : undefined,
  join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm'),
];
for (const npmDir of npmDirs) {
  if (gyp || !npmDir) {
    continue;
  }
  try {
    gyp = createRequire(join(npmDir, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    gyp = undefined;
  }
}
if (!gyp) {
  console.log('switchboard: node-gyp not found; the SRTP accelerator is not built (TypeScript path in use)');
  process.exit(0);
}
// Build against the running Node's own headers when they are installed (no download needed).
const prefix = dirname(dirname(process.execPath));
const nodedir =
  process.env.npm_config_nodedir ??
  (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
const args = [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, args, {
  cwd: dir,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (r.status === 0) {
  console.log('switchboard: built the native SRTP accelerator');
} else {
  console.log('switchboard: the native SRTP accelerator did not build; the TypeScript path is used.');
  console.log((r.stderr || r.stdout || '').split('\n').slice(-8).join('\n'));
}
process.exit(0);
