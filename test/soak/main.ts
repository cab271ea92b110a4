// `npm run soak -- --minutes 10`: peers join, publish and leave at a steady rate for a while; the
// server's RSS, heap, open fds, peers and sessions are printed every --interval seconds. Exits 1 if
// RSS, heap or fds grew beyond a margin between the first sample after warm-up and the last sample
// under load, if peers/sessions do not return to zero at the end, or if joins kept failing.
//
// The server runs as a child process of the soak (`bin/switchboard.js start`), so the figures are the
// server's alone, not the wrtc clients'; `--url` soaks a running server instead. WebRTC stacks do not
// gather on loopback, so as root (and without --url) the soak re-runs itself inside a network
// namespace of its own, as test/run.js does, and no media leaves it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { metricValue } from '../fuzz/afterFuzz.ts';
import { freePort } from '../helpers/services.ts';
import { ip, setUpNamespace } from '../namespace.js';

const HELP = `npm run soak -- [options]

  --minutes <m>      how long peers come and go (default 10)
  --interval <s>     seconds between samples (default 30); the first interval is warm-up
  --rate <ms>        a new peer (join + publish, then leave) every <ms> (default 500)
  --max-peers <n>    at most this many peers at once (default 4)
  --lifetime <ms>    how long each peer stays after publishing (default 2000)
  --rooms <n>        peers spread over this many rooms (default 2)
  --url <ws-url>     soak a running server (ws://host:port/ws) instead of starting one
  --rss-mb <n> --heap-pct <n> --fds <n>   allowed growth (default 30 MB, 20 %, 20)
  -h, --help`;

const { values: a } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '30' },
    rate: { type: 'string', default: '500' },
    'max-peers': { type: 'string', default: '4' },
    lifetime: { type: 'string', default: '2000' },
    rooms: { type: 'string', default: '2' },
    url: { type: 'string' },
    'rss-mb': { type: 'string', default: '30' },
    'heap-pct': { type: 'string', default: '20' },
    fds: { type: 'string', default: '20' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (k: keyof typeof a): number => {
  const v = Number(a[k]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`--${k} takes a non-negative number`);
    process.exit(2);
  }
  return v;
};
const o = {
  minutes: num('minutes'),
  intervalMs: num('interval') * 1000,
  rateMs: num('rate'),
  maxPeers: num('max-peers'),
  lifetimeMs: num('lifetime'),
  rooms: Math.max(1, num('rooms')),
  rssMb: num('rss-mb'),
  heapPct: num('heap-pct'),
  fds: num('fds'),
};

const root = fileURLToPath(new URL('../..', import.meta.url));

/** As root: re-run this script inside namespace sbsoak-<pid> (veth pair sk0/sk1); returns its exit code. */
async function runInNamespace(): Promise<number> {
  const ns = `sbsoak-${process.pid}`;
  process.on('exit', () => ip('netns', 'delete', ns));
  const failure = setUpNamespace(ns, [
    ['sk0', '10.204.0.1'],
    ['sk1', '10.204.0.2'],
  ]);
  if (failure !== undefined) {
    console.error(`soak: ${failure}`);
    return 1;
  }
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'env',
      `SB_NETNS=${ns}`,
      process.execPath,
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

interface Server {
  wsUrl: string;
  httpUrl: string;
  /** Runs a full garbage collection in the server (so heap samples compare live data, not garbage). */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Loaded into the soak's server only: SIGUSR2 runs `gc()` (with --expose-gc). A sample taken without
 * it mostly measures when V8 last collected, not what the server holds.
 */
const GC_ON_SIGNAL = "data:text/javascript,process.on('SIGUSR2',()=>globalThis.gc())";

/** `bin/switchboard.js start` with a generated config (media in the main process); stopped by PID. */
async function startServer(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-soak-'));
  const port = await freePort();
  const config = join(dir, 'switchboard.toml');
  writeFileSync(
    config,
    [
      '[signal]',
      'host = "127.0.0.1"',
      `port = ${port}`,
      // Every soak peer comes from one address, at any --rate: the per-address limits are not under test.
      '[signal.limits]',
      'socketsperip = 0',
      'peersperip = 0',
      'joinrate = 0',
      '[sfu]',
      'workers = 1',
      '[api]',
      `datadir = "${dir}"`,
      '[log]',
      'level = "warn"',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    ['--expose-gc', '--import', GC_ON_SIGNAL, join(root, 'bin/switchboard.js'), 'start', '--config', config],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const httpUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the server exited during start (code ${child.exitCode})`);
    }
    if (
      await fetch(`${httpUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    ) {
      break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the server did not answer /healthz within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl,
    async gc() {
      child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 300));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number;
  fds: number;
  peers: number;
  sessions: number;
}

async function sample(httpUrl: string, t0: number, server: Server | undefined): Promise<Sample> {
  await server?.gc();
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const v = (n: string): number => metricValue(text, n) ?? NaN;
  return {
    t: Math.round((Date.now() - t0) / 1000),
    rssMb: v('process_resident_memory_bytes') / 2 ** 20,
    heapMb: v('nodejs_heap_size_used_bytes') / 2 ** 20,
    fds: v('process_open_fds'),
    peers: v('sfu_peers'),
    sessions: v('sfu_sessions'),
  };
}

const line = (s: Sample, extra: string): string =>
  `t=${String(s.t).padStart(5)} s  rss ${s.rssMb.toFixed(1).padStart(6)} MB  heap ${s.heapMb.toFixed(1).padStart(6)} MB  fds ${String(s.fds).padStart(4)}  peers ${String(s.peers).padStart(3)}  sessions ${String(s.sessions).padStart(2)}  ${extra}`;

async function soak(): Promise<number> {
  // Loaded after the namespace decision: @roamhq/wrtc is native and needs no namespace to load.
  const { WrtcPeer } = await import('../helpers/wrtcPeer.ts');
  const server = a.url ? undefined : await startServer();
  const wsUrl = a.url ?? server!.wsUrl;
  const httpUrl = wsUrl.replace(/^ws/, 'http').replace(/\/ws\/?$/, '');
  if (!server) {
    console.log(
      'note: with --url the server cannot be made to collect garbage before a sample: heap figures are noisier',
    );
  }
  console.log(
    `soak of ${wsUrl}: ${o.minutes} min, a peer every ${o.rateMs} ms (at most ${o.maxPeers} at once, ${o.lifetimeMs} ms each), samples every ${o.intervalMs / 1000} s`,
  );
  const stats = { started: 0, done: 0, failed: 0, errors: new Map<string, number>() };
  const active = new Set<Promise<void>>();
  let n = 0;
  const cycle = async (): Promise<void> => {
    const k = n++;
    const peer = await WrtcPeer.connect(wsUrl, `soak-${k}`);
    try {
      await peer.join(`soak-room-${k % o.rooms}`, `soak-${k}`);
      await peer.publish();
      await new Promise((r) => setTimeout(r, o.lifetimeMs));
      stats.done++;
    } catch (err) {
      stats.failed++;
      const msg = (err instanceof Error ? err.message : String(err))
        .replace(/soak-\d+/g, 'soak-N')
        .slice(0, 120);
      stats.errors.set(msg, (stats.errors.get(msg) ?? 0) + 1);
    } finally {
      await peer.close();
    }
  };
  const t0 = Date.now();
  const end = t0 + o.minutes * 60_000;
  const samples: Sample[] = [];
  let nextSample = t0 + o.intervalMs;
  let crashed = false;
  while (Date.now() < end) {
    if (active.size < o.maxPeers) {
      stats.started++;
      const p: Promise<void> = cycle()
        .catch((err: unknown) => {
          stats.failed++;
          const msg = err instanceof Error ? err.message : String(err);
          stats.errors.set(msg, (stats.errors.get(msg) ?? 0) + 1);
        })
        .finally(() => active.delete(p));
      active.add(p);
    }
    if (Date.now() >= nextSample) {
      nextSample += o.intervalMs;
      try {
        const s = await sample(httpUrl, t0, server);
        samples.push(s);
        console.log(
          line(
            s,
            `cycles ${stats.done} ok, ${stats.failed} failed${samples.length === 1 ? '  (warm-up: baseline)' : ''}`,
          ),
        );
      } catch (err) {
        console.log(
          `t=${Math.round((Date.now() - t0) / 1000)} s  /metrics failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        crashed = true;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, o.rateMs));
  }
  await Promise.all(active);
  // Peers and sessions must drain; then one more sample at rest.
  let rest: Sample | undefined;
  const drainDeadline = Date.now() + 30_000;
  while (!crashed && Date.now() < drainDeadline) {
    rest = await sample(httpUrl, t0, server).catch(() => undefined);
    if (rest && rest.peers === 0 && rest.sessions === 0) {
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  if (rest) {
    console.log(line(rest, 'at rest, after every peer left'));
  }
  const failures: string[] = [];
  if (crashed || !rest) {
    failures.push('the server stopped answering /metrics');
  } else if (rest.peers !== 0 || rest.sessions !== 0) {
    failures.push(`peers/sessions did not return to zero (peers ${rest.peers}, sessions ${rest.sessions})`);
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first && last && samples.length >= 2) {
    const rss = last.rssMb - first.rssMb;
    const heap = ((last.heapMb - first.heapMb) / first.heapMb) * 100;
    const fds = last.fds - first.fds;
    console.log(
      `growth from t=${first.t} s to t=${last.t} s under load: rss ${rss >= 0 ? '+' : ''}${rss.toFixed(1)} MB, heap ${heap >= 0 ? '+' : ''}${heap.toFixed(1)} %, fds ${fds >= 0 ? '+' : ''}${fds}`,
    );
    if (rss > o.rssMb) {
      failures.push(`RSS grew by ${rss.toFixed(1)} MB (allowed ${o.rssMb})`);
    }
    if (heap > o.heapPct) {
      failures.push(`heap grew by ${heap.toFixed(1)} % (allowed ${o.heapPct})`);
    }
    if (fds > o.fds) {
      failures.push(`open fds grew by ${fds} (allowed ${o.fds})`);
    }
    if (rest && rest.fds > first.fds + o.fds) {
      failures.push(`open fds at rest ${rest.fds}, baseline ${first.fds}`);
    }
  } else {
    failures.push('fewer than two samples: run longer than two intervals');
  }
  const cycles = stats.done + stats.failed;
  if (cycles > 0 && stats.failed / cycles > 0.05) {
    failures.push(`${stats.failed} of ${cycles} join/publish cycles failed`);
  }
  console.log(`cycles: ${stats.done} completed, ${stats.failed} failed`);
  for (const [msg, k] of stats.errors) {
    console.log(`  ×${k} ${msg}`);
  }
  await server?.stop();
  console.log(failures.length === 0 ? 'soak passed' : `soak FAILED:\n  ${failures.join('\n  ')}`);
  return failures.length === 0 ? 0 : 1;
}

const inNamespace = process.env.SB_NETNS !== undefined;
if (!a.url && !inNamespace && process.getuid?.() === 0) {
  process.exit(await runInNamespace());
}
if (!a.url && !inNamespace) {
  console.error(
    "soak: not root, so no network namespace: media goes over this host's own non-loopback addresses",
  );
}
process.exit(await soak());
