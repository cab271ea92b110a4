// `npm run bench:loss`: media under loss, Switchboard's demo page against Janus VideoRoom's own demo,
// side by side (issue #26). Two headless Chromium pages (fake camera, simulcast) join one room on
// each server in turn, inside a private network namespace; nftables drops a share of every UDP
// datagram (both directions, RTCP alike), then polices what one page receives; every second each
// page's getStats is sampled. See `--help`; the pages are in bench/lossPages.ts, the figures and
// tables in bench/lossReport.ts.
//
// Outer process (as root): creates namespace sbloss-<pid> (the sbb0/sbb1 veth pair of `npm run
// bench`, plus a default route over it so that browsers gather candidates), re-runs itself inside it
// (`--inside`), and afterwards stops the processes left there (all started by this run) by PID and
// deletes the namespace, also on Ctrl-C, SIGTERM and errors. Inner process: servers, pages, steps,
// results. Traffic stays on lo and the veth pair inside the namespace.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { createNamespace, deleteNamespace, hasCommand, isAlive, namespacePids } from './system.ts';
import { metricValue, startJanus, startSwitchboard, type Server, type ServerKind } from './servers.ts';
import {
  DEMOS,
  joinPages,
  launchChromium,
  PAGE_NAMES,
  POLICED,
  selectedPorts,
  serveDemos,
  snapshot,
  type DemoServer,
  type PageName,
  type Snapshot,
} from './lossPages.ts';
import {
  cellOf,
  medianOf,
  policerBit,
  progressLine,
  serverTable,
  sideBySide,
  type Cell,
  type StepKind,
  type StepResult,
} from './lossReport.ts';

const HELP = `npm run bench:loss [-- options]

Two Chromium pages (Ada and Grace) publish and watch each other on Switchboard's demo page and on
Janus VideoRoom's demo (Debian packages \`janus\`, \`janus-demos\`), one server after the other, in a
private network namespace. Steps: 0 %, 2 %, 5 %, 10 % of every UDP datagram dropped (both
directions, RTCP alike), then a policer on what Grace receives, then the policer lifted
("recovery"); a pause between steps is not counted. Prints per server, step and page: frames
decoded per second, kbit/s received, frame height (last and lowest 1 s sample), seconds frozen
(totalFreezesDuration, counted when a freeze ends) and seconds without a decoded frame, NACKs and
PLIs sent, packets lost, concealed audio, the lowest height the other page sent at (a received
height below it is the server's choice), and for the policer and recovery steps the seconds until
Grace moved below her top height and until she stayed back on it; then both servers side by side.
Progress lines add Switchboard's counters per step (RTP in/out, NACKed, resent). Writes
bench/results/loss-<time>.json and loss-latest.json (with every 1 s sample). Root only.

  --only <server>     switchboard | janus
  --runs <n>          repeat the sequence n times per server; cells are medians (default 1)
  --seconds <s>       length of each step (default 15)
  --settle <s>        wait after both pages show video (default 10)
  --pause <s>         pause between steps, not counted (default 3)
  --policer <kbit/s>  rate of the policer step (default 700); N% is N % of what Grace received
                      at 0 % (a fixed rate may sit above a stream that the machine's CPU keeps low)
  -h, --help`;

const NS_PREFIX = 'sbloss-';
const LOSS_STEPS = [0, 2, 5, 10];
/** The policer's bucket: what passes at once above the rate. */
const POLICER_BURST_BYTES = 16_000;
/** Before the policer step: at most this long for Grace to be back on her top height. */
const TOP_WAIT_MS = 30_000;
const root = fileURLToPath(new URL('..', import.meta.url));

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '15' },
    settle: { type: 'string', default: '10' },
    pause: { type: 'string', default: '3' },
    policer: { type: 'string', default: '700' },
    inside: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} wants a number ≥ ${min}, not ${v}`);
    process.exit(2);
  }
  return n;
};
const RUNS = Math.round(num('runs', opt.runs, 1));
const STEP_MS = num('seconds', opt.seconds, 2) * 1000;
const SETTLE_MS = num('settle', opt.settle, 0) * 1000;
const PAUSE_MS = num('pause', opt.pause, 0) * 1000;
const POLICER_SHARE = opt.policer.endsWith('%')
  ? num('policer', opt.policer.slice(0, -1), 1) / 100
  : undefined;
const POLICER_KBIT = POLICER_SHARE === undefined ? num('policer', opt.policer, 10) : undefined;
const POLICER_LABEL = `policer ${POLICER_KBIT === undefined ? `${opt.policer} of her 0 % kbit/s` : `${POLICER_KBIT} kbit/s`}`;
if (opt.only !== undefined && opt.only !== 'switchboard' && opt.only !== 'janus') {
  console.error(`--only wants switchboard or janus, not ${opt.only}`);
  process.exit(2);
}
const servers: ServerKind[] = opt.only ? [opt.only] : ['switchboard', 'janus'];

// ------------------------------------------------------------------ outer: the namespace

function outside(): void {
  if (process.getuid?.() !== 0) {
    console.error('bench:loss must run as root (it creates a network namespace and nftables rules)');
    process.exit(2);
  }
  for (const cmd of ['ip', 'nft', ...(servers.includes('janus') ? ['janus'] : [])]) {
    if (!hasCommand(cmd)) {
      console.error(`bench:loss needs \`${cmd}\``);
      process.exit(2);
    }
  }
  if (servers.includes('janus') && !existsSync(join(DEMOS, 'videoroomtest.html'))) {
    console.error(`bench:loss needs Janus's demos in ${DEMOS} (apt-get install janus-demos)`);
    process.exit(2);
  }
  // Namespaces of earlier runs that died without cleaning up (their PID suffix is gone).
  for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(NS_PREFIX) && !isAlive(Number(name.slice(NS_PREFIX.length)))) {
      deleteNamespace(name);
    }
  }
  const ns = `${NS_PREFIX}${process.pid}`;
  const failed = createNamespace(ns, 1, { defaultRoute: true });
  if (failed) {
    console.error(failed);
    deleteNamespace(ns);
    process.exit(1);
  }
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) {
      return;
    }
    cleaned = true;
    // Only this run's processes live in the namespace: the inner process, servers, Chromium.
    for (const pid of namespacePids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    deleteNamespace(ns);
  };
  const args = ['netns', 'exec', ns, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url)];
  const child = spawn('ip', [...args, '--inside', ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      child.kill(sig);
      // The inner process clears its rules and exits; if it hangs, the namespace goes anyway.
      setTimeout(() => {
        cleanup();
        process.exit(130);
      }, 10_000).unref();
    });
  }
  child.on('error', (err) => {
    console.error(err.message);
    cleanup();
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    cleanup();
    process.exit(code ?? (signal ? 130 : 1));
  });
}

// ------------------------------------------------------------------ inner: nftables in the namespace

const TABLE = 'sbloss';

function clearRules(): void {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', TABLE], { stdio: 'ignore' });
  } catch {
    // no table
  }
}

/** Replaces the bench's rules with `rules` in its output chain (every datagram any process sends). */
function setRules(...rules: string[]): void {
  clearRules();
  const chain = rules.map((r) => `  ${r}\n`).join('');
  execFileSync('nft', ['-f', '-'], {
    input: `table inet ${TABLE} {\n chain out {\n  type filter hook output priority 0;\n${chain} }\n}\n`,
  });
}

/** Packets counted by the rules whose comment is `name`. */
function counted(name: string): number {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', TABLE], { encoding: 'utf8' }));
  let packets = 0;
  for (const item of out.nftables ?? []) {
    if (item.rule?.comment === name) {
      for (const e of item.rule.expr ?? []) {
        packets += e.counter?.packets ?? 0;
      }
    }
  }
  return packets;
}

const lossRule = (pct: number) => `meta l4proto udp numgen random mod 1000 < ${Math.round(pct * 10)} drop`;

/** Rules that police the UDP datagrams toward `ports` to `kbit`/s, counting them. */
function policerRules(ports: number[], kbit: number): string[] {
  const set = `udp dport { ${ports.join(', ')} }`;
  const bytes = Math.round((kbit * 1000) / 8);
  return [
    `${set} counter comment "toward"`,
    `${set} limit rate over ${bytes} bytes/second burst ${POLICER_BURST_BYTES} bytes counter drop comment "dropped"`,
  ];
}

// ------------------------------------------------------------------ inner: one sequence per server

type Pages = Record<PageName, Page>;

interface Sampled {
  series: Record<PageName, Snapshot[]>;
  server?: Record<string, number>;
}

/** Switchboard's counters (room-wide) that tell what it did about loss; Janus: none. */
const SB_COUNTERS: Record<string, [name: string, label?: string]> = {
  rtpIn: ['rtp_packets', 'direction="in"'],
  rtpOut: ['rtp_packets', 'direction="out"'],
  subscriberNacks: ['sfu_subscriber_nacks'],
  retransmissions: ['sfu_retransmissions'],
  nackRequests: ['sfu_nack_requests'],
};

async function serverCounters(server: Server): Promise<Record<string, number> | undefined> {
  if (server.kind !== 'switchboard') {
    return undefined;
  }
  const res = await fetch(`${server.url.replace(/^ws/, 'http').replace(/\/ws$/, '')}/metrics`);
  const text = await res.text();
  return Object.fromEntries(
    Object.entries(SB_COUNTERS).map(([k, [name, label]]) => [k, metricValue(text, name, label) ?? 0]),
  );
}

/**
 * Snapshots of every page: one, then `begin()` (the step's rule goes in), then one a second for
 * STEP_MS; and the server's counters over the same time.
 */
async function sample(pages: Pages, server: Server, begin: () => void): Promise<Sampled> {
  const series = {} as Record<PageName, Snapshot[]>;
  const before = await serverCounters(server);
  for (const n of PAGE_NAMES) {
    series[n] = [await snapshot(pages[n])];
  }
  begin();
  const t0 = Date.now();
  for (let k = 1; k * 1000 <= STEP_MS; k++) {
    await sleep(Math.max(0, t0 + k * 1000 - Date.now()));
    for (const n of PAGE_NAMES) {
      series[n].push(await snapshot(pages[n]));
    }
  }
  const after = await serverCounters(server);
  if (!before || !after) {
    return { series };
  }
  return { series, server: Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!])) };
}

function stepResult(
  step: string,
  kind: StepKind,
  { series, server }: Sampled,
  settle?: { to: 'below' | 'back'; top: number },
): StepResult {
  const pages = {} as Record<PageName, Cell>;
  for (const n of PAGE_NAMES) {
    const peer = series[PAGE_NAMES.find((m) => m !== n)!];
    pages[n] = cellOf(series[n], peer, n === POLICED ? settle : undefined);
  }
  return { step, kind, pages, ...(server ? { server } : {}) };
}

async function sequence(kind: ServerKind, browser: Browser, dir: string): Promise<StepResult[]> {
  let server: Server;
  let demos: DemoServer | undefined;
  if (kind === 'switchboard') {
    server = await startSwitchboard(join(dir, 'switchboard'), 0);
  } else {
    // As Janus's sample room 1234: a 1.5 Mbit/s cap per publisher, a keyframe request every 10 s.
    server = await startJanus(join(dir, 'janus'), 0, 0, { bitrate: 1_500_000, firFreq: 10 });
  }
  const steps: StepResult[] = [];
  const done = (r: StepResult) => {
    steps.push(r);
    console.log(progressLine(kind, r));
  };
  try {
    if (kind === 'janus') {
      demos = await serveDemos(server.url);
    }
    const pages = await joinPages(browser, server, demos, 'loss');
    // Each page's top height: the tallest 1 s sample while settling and without loss.
    const top = { Ada: 0, Grace: 0 } as Record<PageName, number>;
    for (const settleStart = Date.now(); Date.now() - settleStart < SETTLE_MS;) {
      await sleep(1000);
      for (const n of PAGE_NAMES) {
        top[n] = Math.max(top[n], (await snapshot(pages[n])).height);
      }
    }
    let kbit = POLICER_KBIT ?? 0;
    for (const loss of LOSS_STEPS) {
      const sampled = await sample(pages, server, () => (loss > 0 ? setRules(lossRule(loss)) : clearRules()));
      clearRules();
      const r = { ...stepResult(`${loss} %`, 'loss', sampled), lossPct: loss };
      if (loss === 0) {
        for (const n of PAGE_NAMES) {
          top[n] = Math.max(top[n], ...r.pages[n].seconds.map((s) => s.height));
        }
        kbit = POLICER_KBIT ?? Math.round(POLICER_SHARE! * r.pages[POLICED].kbps);
      }
      done(r);
      await sleep(PAUSE_MS);
    }
    // The time to a lower layer means something only from the top: wait (not counted) for it.
    const waitStart = Date.now();
    let height = (await snapshot(pages[POLICED])).height;
    while (height < top[POLICED] && Date.now() - waitStart < TOP_WAIT_MS) {
      await sleep(1000);
      height = (await snapshot(pages[POLICED])).height;
    }
    const start = { height, waitedS: Math.round((Date.now() - waitStart) / 1000) };
    const ports = await selectedPorts(pages[POLICED]);
    if (ports.length === 0) {
      throw new Error(`${kind}: no selected candidate pair on ${POLICED}'s page`);
    }
    const policed = await sample(pages, server, () => setRules(...policerRules(ports, kbit)));
    const policer = { kbit, ports, packets: counted('toward'), dropped: counted('dropped') };
    // The recovery step begins as the policer is lifted: its settle time counts from the lifting.
    const lifted = await sample(pages, server, clearRules);
    const p = stepResult(`${POLICER_LABEL} on ${POLICED}`, 'policer', policed, {
      to: 'below',
      top: top[POLICED],
    });
    done({ ...p, policer, start });
    // Back to the top means something only if the policer moved Grace below it.
    const fell = p.pages[POLICED].minHeight < top[POLICED];
    done(stepResult('recovery', 'recovery', lifted, fell ? { to: 'back', top: top[POLICED] } : undefined));
    await Promise.all(browser.contexts().map((c) => c.close()));
  } finally {
    clearRules();
    demos?.close();
    await server.stop();
  }
  return steps;
}

function janusVersion(): string | undefined {
  try {
    return execFileSync('janus', ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

async function inside(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-loss-'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      clearRules();
      rmSync(dir, { recursive: true, force: true });
      process.exit(130); // the outer process stops what is left in the namespace
    });
  }
  const browser = await launchChromium();
  const chromiumVersion = browser.version();
  const all: Partial<Record<ServerKind, StepResult[][]>> = {};
  try {
    for (const kind of servers) {
      for (let run = 1; run <= RUNS; run++) {
        console.log(`${kind}, run ${run} of ${RUNS}`);
        (all[kind] ??= []).push(await sequence(kind, browser, join(dir, `${kind}-${run}`)));
      }
    }
  } finally {
    clearRules();
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const medians: Partial<Record<ServerKind, StepResult[]>> = {};
  const what = `${RUNS === 1 ? 'one run' : `medians of ${RUNS} runs`}, steps of ${STEP_MS / 1000} s`;
  for (const k of servers) {
    medians[k] = medianOf(all[k]!);
    console.log(`\n${k} (${what})\n`);
    console.log(serverTable(medians[k]));
  }
  console.log(
    `\nSwitchboard / Janus (${what}); settle s: ${POLICED} below her top height under the policer, back on it after\n`,
  );
  console.log(sideBySide(medians));
  for (const k of servers) {
    const idle = all[k]!.filter((run) => !run.some(policerBit)).length;
    if (idle > 0) {
      console.log(
        `\nnote: on ${k} the policer dropped under 1 % of ${POLICED}'s datagrams in ${idle} of ${RUNS} run(s):` +
          ` what she received was below the policer's rate (see kbit/s at 0 %), so its step and the` +
          ' recovery say nothing about congestion; a lower --policer would bite',
      );
    }
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = join(root, 'bench/results');
  mkdirSync(out, { recursive: true });
  const json = JSON.stringify(
    {
      date: new Date().toISOString(),
      chromium: chromiumVersion,
      janus: servers.includes('janus') ? janusVersion() : undefined,
      runs: RUNS,
      stepSeconds: STEP_MS / 1000,
      settleSeconds: SETTLE_MS / 1000,
      pauseSeconds: PAUSE_MS / 1000,
      policer: { rate: opt.policer, burstBytes: POLICER_BURST_BYTES },
      medians,
      all,
    },
    null,
    1,
  );
  writeFileSync(join(out, `loss-${stamp}.json`), json);
  writeFileSync(join(out, 'loss-latest.json'), json);
  console.log(`\nbench/results/loss-${stamp}.json`);
}

if (opt.inside) {
  await inside();
} else {
  outside();
}
