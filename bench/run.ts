// `npm run bench`: Switchboard and Janus VideoRoom under the same synthetic load, one after the
// other, in a network namespace of the bench's own. See docs/performance.md and `--help`.
//
// Outer process (as root): creates namespace sbbench-<pid> with the veth pair sbb0/sbb1, re-runs
// itself inside it pinned to the load core (`--inside`), and afterwards stops whatever is left in
// the namespace (only processes it started live there) and deletes the namespace, also on Ctrl-C.
// Inner process: starts each server pinned to the server core, forks load workers (which inherit
// the load core), measures, prints progress, writes bench/results/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createNamespace,
  deleteNamespace,
  hasCommand,
  holdIdlePoll,
  isAlive,
  namespacePids,
  NAMESPACE_PREFIX,
  onlineCpus,
  raiseBacklog,
  staleNamespaces,
} from './system.ts';
import type { ServerKind } from './servers.ts';
import { AUDIO_OPUS, VIDEO_1M, VIDEO_500K } from './rtc.ts';
import { renderSvg, renderTable, summarize } from './report.ts';
import { children, configureScenarios, meeting, serverInfo, sweep, type Plan } from './scenarios.ts';
import type { BenchResult } from './types.ts';

const HELP = `npm run bench [-- options]

Runs Switchboard and Janus VideoRoom (Debian package \`janus\`) under the same synthetic load inside
a private network namespace, prints a table of Switchboard/Janus ratios and writes JSON + SVG to
bench/results/. Must run as root (it creates the namespace with \`ip netns\`).

  --quick            short run (< 3 min): fewer steps, 5 s windows
  --only <server>    switchboard | janus
  --shapes <list>    broadcast,meeting,audio (default: all)
  --max-subs <n>     cap for the broadcast sweep (default 600)
  --steps <list>     the broadcast sweep's subscriber counts (e.g. 150,150: one size, measured twice)
  --window <s>       measurement window per step (default 10, quick 5)
  --server-cpu <n>   core for the server under test (default 0)
  --load-cpu <n>     core for the load generator (default 1)
  --janus-event-loops <n>  Janus static event loops (default 0 = Janus default, a thread per handle)
  --nice <n>         run servers and load at this niceness (e.g. -10: other jobs on a shared
                     machine disturb the measurement less; default 0)
  --idle-poll        idle cores poll instead of halting during the run (PM QoS; host-wide,
                     released at exit): takes the inter-processor interrupts that hand the
                     servers' datagrams to the load core out of the servers' CPU time (a VM
                     traps each one; see bench/system.ts holdIdlePoll)
  --install          if janus is missing, run \`apt-get install -y janus\` first (root only)
  --keep-logs        keep server/worker logs and configs (printed path)
  --server-log <lvl> Switchboard's log level (default info: joins and ICE failures)
  -h, --help`;

/** Input backlog per CPU during the run (see raiseBacklog). */
const BACKLOG = 20_000;

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(root, 'bench', 'results');

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    shapes: { type: 'string', default: 'broadcast,meeting,audio' },
    'max-subs': { type: 'string', default: '600' },
    steps: { type: 'string' },
    window: { type: 'string' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    install: { type: 'boolean', default: false },
    'idle-poll': { type: 'boolean', default: false },
    'janus-event-loops': { type: 'string', default: '0' },
    nice: { type: 'string', default: '0' },
    'server-log': { type: 'string', default: 'info' },
    'keep-logs': { type: 'boolean', default: false },
    inside: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const SERVER_CPU = Number(opt['server-cpu']);
const LOAD_CPU = Number(opt['load-cpu']);

// ================================================================== outer: namespace lifecycle

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function outer(): void {
  if (process.platform !== 'linux') {
    fail('Linux only (network namespaces, /proc, taskset)');
  }
  if (process.getuid?.() !== 0) {
    fail(
      'must run as root: it creates a network namespace (`ip netns add`) with a veth pair so that\n' +
        'the servers and the load clients talk only to each other. Run it as root, e.g. `sudo npm run bench`.',
    );
  }
  for (const cmd of ['ip', 'taskset']) {
    if (!hasCommand(cmd)) {
      fail(`\`${cmd}\` not found: apt-get install -y ${cmd === 'ip' ? 'iproute2' : 'util-linux'}`);
    }
  }
  const n = onlineCpus();
  if (n < 2 || SERVER_CPU === LOAD_CPU || Math.max(SERVER_CPU, LOAD_CPU) >= n) {
    fail(`needs two distinct cores (server ${SERVER_CPU}, load ${LOAD_CPU}); this machine has ${n}`);
  }
  const args = process.argv.slice(2);
  if (opt.only !== 'switchboard' && !hasCommand('janus')) {
    if (opt.install) {
      console.log('bench: janus is missing; running `apt-get install -y janus` (--install)');
      const r = spawnSync('apt-get', ['install', '-y', 'janus'], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      if (r.status !== 0) {
        console.log(
          'bench: `apt-get install -y janus` failed (try `apt-get update` first); running Switchboard only',
        );
      }
    } else {
      console.log(
        'bench: janus is not installed. Install it with\n\n    apt-get install -y janus\n\n' +
          '(or pass --install to let the bench do it). Running Switchboard only.\n',
      );
    }
    if (!hasCommand('janus')) {
      args.push('--only', 'switchboard');
    }
  }
  for (const stale of staleNamespaces()) {
    deleteNamespace(stale); // left by a bench that was killed (its PID is gone)
  }
  // Before the namespace and the backlog: failing here leaves nothing behind to clean up.
  const idlePoll = opt['idle-poll'] ? holdIdlePoll() : undefined;
  if (typeof idlePoll === 'string') {
    fail(`--idle-poll: cannot hold /dev/cpu_dma_latency: ${idlePoll}`);
  }
  const ns = `${NAMESPACE_PREFIX}${process.pid}`;
  const err = createNamespace(ns, LOAD_CPU);
  const restoreBacklog = raiseBacklog(BACKLOG);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) {
      return;
    }
    cleaned = true;
    // Only our processes live in our namespace: stop whatever the inner run left behind.
    let pids = namespacePids(ns);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 3000;
    while (pids.some(isAlive) && Date.now() < deadline) {
      spawnSync('sleep', ['0.1']);
      pids = pids.filter(isAlive);
    }
    for (const pid of pids.filter(isAlive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    deleteNamespace(ns);
    restoreBacklog();
    idlePoll?.();
  };
  process.on('exit', cleanup);
  if (err !== undefined) {
    fail(`cannot create network namespace ${ns}: ${err}`);
  }
  const nice = Number(opt.nice);
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    fail('--nice takes an integer from -20 to 19');
  }
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'nice',
      '-n',
      String(nice),
      'taskset',
      '-c',
      String(LOAD_CPU),
      process.execPath,
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--inside',
      ns,
      ...args,
    ],
    { stdio: 'inherit', cwd: root },
  );
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!interrupted) {
      interrupted = true;
      console.error(`\nbench: ${sig}: stopping (servers and load clients, then the namespace)…`);
      // From a terminal the whole process group got the signal; from `kill` only we did.
      if (child.pid !== undefined && isAlive(child.pid)) {
        child.kill('SIGTERM');
      }
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  child.on('exit', (code, signal) => {
    cleanup();
    process.exit(interrupted ? 130 : (code ?? (signal ? 1 : 0)));
  });
}

// ================================================================== inner: the measurements

const t0 = Date.now();
const abort = new AbortController();
const elapsed = () => {
  const s = Math.floor((Date.now() - t0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const say = (msg: string) => console.log(`[${elapsed()}] ${msg}`);

function janusVersion(): string {
  const r = spawnSync('janus', ['--version'], { encoding: 'utf8' });
  return /\(([\d.]+)\)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

function switchboardVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function inner(ns: string): Promise<void> {
  const quick = opt.quick;
  const maxSubs = Number(opt['max-subs']);
  const allSteps = quick ? [10, 30, 60] : [10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600];
  const plan: Plan = {
    steps: opt.steps !== undefined ? opt.steps.split(',').map(Number) : allSteps.filter((s) => s <= maxSubs),
    windowS: opt.window !== undefined ? Number(opt.window) : quick ? 5 : 10,
    warmS: quick ? 2 : 3,
    meetingN: quick ? 4 : 6,
    audioN: quick ? 6 : 10,
    joinConcurrency: 4,
    subsPerWorker: 50,
    deadlineMs: quick ? 170_000 : 28 * 60_000,
  };
  const kinds: ServerKind[] =
    opt.only === 'switchboard' || opt.only === 'janus' ? [opt.only] : ['switchboard', 'janus'];
  const shapes = new Set((opt.shapes ?? '').split(',').map((s) => s.trim()));
  const logDir = mkdtempSync(join(tmpdir(), 'sbbench-'));
  configureScenarios({
    logDir,
    serverCpu: SERVER_CPU,
    loadCpu: LOAD_CPU,
    janusEventLoops: Number(opt['janus-event-loops']),
    switchboardLog: opt['server-log'] ?? 'info',
    signal: abort.signal,
    say,
  });
  let interrupted: string | undefined;
  let exiting = false;
  const killChildren = () => {
    for (const c of children) {
      if (c.pid !== undefined && isAlive(c.pid)) {
        c.kill('SIGKILL');
      }
    }
  };
  process.on('exit', killChildren);
  const onSignal = (sig: string) => {
    if (exiting) {
      return;
    }
    exiting = true;
    interrupted = sig;
    abort.abort(new Error(sig));
    say(`${sig}: stopping`);
    setTimeout(() => process.exit(130), 15_000).unref();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const deadline = setTimeout(() => {
    interrupted = `deadline (${plan.deadlineMs / 60_000} min)`;
    say(`deadline reached: finishing with what was measured`);
    abort.abort(new Error('deadline'));
  }, plan.deadlineMs);
  deadline.unref();

  say(
    `Switchboard bench${quick ? ' (quick)' : ''} in namespace ${ns}: servers on core ${SERVER_CPU}, load on core ${LOAD_CPU};` +
      `${opt.nice !== '0' ? ` nice ${opt.nice};` : ''}${opt['idle-poll'] ? ' idle cores poll;' : ''} ${kinds.join(' vs ')}; shapes ${[...shapes].join(', ')}; logs in ${logDir}`,
  );
  const result: BenchResult = {
    startedAt: new Date(t0).toISOString(),
    finishedAt: '',
    quick,
    interrupted: undefined,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      kernel: release(),
      loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
    },
    config: {
      ...plan,
      video: VIDEO_1M,
      meetingVideo: VIDEO_500K,
      audio: AUDIO_OPUS,
      serverCpu: SERVER_CPU,
      loadCpu: LOAD_CPU,
      iceLite: true,
      nice: Number(opt.nice),
      idlePoll: opt['idle-poll'],
      janusEventLoops: Number(opt['janus-event-loops']),
      rx: 'raw (SRTP not decrypted; 1 packet per subscriber every 250 ms decrypted for latency)',
    },
    servers: {},
    summary: [],
  };
  for (const k of kinds) {
    result.servers[k] = { kind: k, version: k === 'janus' ? janusVersion() : switchboardVersion() };
  }
  // Interleaved: each shape runs on both servers back to back, so both see similar machine noise.
  const run = async (shape: string, f: (k: ServerKind) => Promise<void>) => {
    if (!shapes.has(shape)) {
      return;
    }
    for (const k of kinds) {
      if (abort.signal.aborted) {
        return;
      }
      await f(k);
    }
  };
  await run('broadcast', async (k) => {
    result.servers[k]!.broadcast = await sweep(k, plan);
  });
  await run('meeting', async (k) => {
    result.servers[k]!.meeting = await meeting(k, plan, 'meeting');
  });
  await run('audio', async (k) => {
    result.servers[k]!.audio = await meeting(k, plan, 'audio');
  });
  clearTimeout(deadline);
  for (const k of kinds) {
    result.servers[k]!.info = serverInfo[k];
  }
  result.finishedAt = new Date().toISOString();
  result.interrupted = interrupted;
  if (exiting) {
    say('interrupted: no results written');
    killChildren();
    if (!opt['keep-logs']) {
      rmSync(logDir, { recursive: true, force: true });
    }
    process.exit(130);
  }
  result.summary = summarize(result);
  console.log(`\n${renderTable(result)}\n`);
  mkdirSync(resultsDir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const svg = renderSvg(result);
  for (const [name, text] of [
    [`${stamp}.json`, json],
    ['latest.json', json],
    [`${stamp}.svg`, svg],
    ['latest.svg', svg],
  ] as const) {
    writeFileSync(join(resultsDir, `${name}.tmp`), text);
    renameSync(join(resultsDir, `${name}.tmp`), join(resultsDir, name));
  }
  say(`wrote bench/results/${stamp}.json and .svg (also latest.json, latest.svg)`);
  const broken = kinds.filter((k) => {
    const b = result.servers[k]?.broadcast?.limitedBy;
    return b === 'publisher-lost' || b === 'error';
  });
  if (opt['keep-logs'] || broken.length > 0) {
    say(
      `logs kept in ${logDir}${broken.length > 0 ? ` (${broken.join(', ')}: the broadcast sweep ended abnormally)` : ''}`,
    );
  } else {
    rmSync(logDir, { recursive: true, force: true });
  }
  process.exit(0);
}

// Last, so every module-level binding above is initialised.
if (opt.inside === undefined) {
  outer();
} else {
  await inner(opt.inside);
}
