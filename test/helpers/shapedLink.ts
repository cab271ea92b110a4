// A second network namespace joined to the test's own by a veth pair whose server-side end can be
// rate-limited with tc's token bucket filter: a subscriber on a slow downlink, for real (Chromium's
// DevTools network throttling does not apply to WebRTC media). Runs only inside test/run.js's namespace.
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_PATH } from './browser.ts';

export interface ShapedLink {
  /** The test namespace's end: the address the shaped client reaches the server on. */
  readonly serverAddress: string;
  /** The shaped namespace's own address (what the server sends to). */
  readonly clientAddress: string;
  /** Launches Chromium inside the shaped namespace (pass as `executablePath`). */
  readonly chromiumWrapper: string;
  /** Limits what the server sends to the shaped namespace (its download). */
  limit(kbit: number): void;
  unlimit(): void;
  close(): Promise<void>;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  }
}

function tc(...args: string[]): void {
  const r = spawnSync('tc', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`tc ${args.join(' ')}: ${r.stderr.trim()}`);
  }
}

export async function createShapedLink(): Promise<ShapedLink> {
  const base = process.env.SB_NETNS;
  if (!base) {
    throw new Error('shapedLink needs the test namespace (run through test/run.js as root)');
  }
  const ns = `${base}-shaped`;
  // Interface names must not start with "veth": werift ignores such interfaces when gathering.
  ip('netns', 'add', ns);
  ip('link', 'add', 'sbs0', 'type', 'veth', 'peer', 'name', 'sbs1', 'netns', ns);
  ip('addr', 'add', '10.204.0.1/24', 'dev', 'sbs0');
  ip('link', 'set', 'sbs0', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'add', '10.204.0.2/24', 'dev', 'sbs1');
  ip('-n', ns, 'link', 'set', 'sbs1', 'up');
  const dir = await mkdtemp(join(tmpdir(), 'sb-shaped-'));
  const wrapper = join(dir, 'chromium');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM_PATH} "$@"\n`);
  await chmod(wrapper, 0o755);
  let limited = false;
  return {
    serverAddress: '10.204.0.1',
    clientAddress: '10.204.0.2',
    chromiumWrapper: wrapper,
    limit(kbit: number) {
      tc(
        'qdisc',
        limited ? 'replace' : 'add',
        'dev',
        'sbs0',
        'root',
        'tbf',
        'rate',
        `${kbit}kbit`,
        'burst',
        '16kbit',
        'latency',
        '200ms',
      );
      limited = true;
    },
    unlimit() {
      if (limited) {
        tc('qdisc', 'del', 'dev', 'sbs0', 'root');
        limited = false;
      }
    },
    async close() {
      spawnSync('ip', ['netns', 'del', ns]); // removes sbs1 and, with it, sbs0
      await rm(dir, { recursive: true, force: true });
    },
  };
}
