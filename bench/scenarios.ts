// The measurements: load workers, one measurement window, the 1→N broadcast sweep and the N×N
// shapes. bench/run.ts decides what runs and writes the results.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import {
  backlogDrops,
  busyShare,
  cpuSeconds,
  cpuTimes,
  rssBytes,
  udpDrops,
  type CpuTimes,
} from './system.ts';
import {
  JANUS_ROOM,
  startJanus,
  startSwitchboard,
  type JanusHandleRef,
  type Scrape,
  type Server,
  type ServerKind,
} from './servers.ts';
import { AUDIO_OPUS, VIDEO_1M, VIDEO_500K } from './rtc.ts';
import { histogramDelta, histogramPercentile, linearFit, percentile } from './stats.ts';
import type { ClientSpec, WorkerInit, WorkerRequest, WorkerStats } from './worker.ts';
import type { Limit, ShapeResult, SweepResult, Window } from './types.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface Plan {
  steps: number[];
  windowS: number;
  warmS: number;
  meetingN: number;
  audioN: number;
  joinConcurrency: number;
  subsPerWorker: number;
  deadlineMs: number;
}

/** What the orchestrator decides once per run. */
export interface ScenarioSetup {
  /** Server and worker logs, generated configs. */
  logDir: string;
  serverCpu: number;
  loadCpu: number;
  janusEventLoops: number;
  /** Switchboard's `[log] level` (its log is in `logDir`). */
  switchboardLog: string;
  /** Aborted on Ctrl-C or at the deadline: sleeps reject, the current shape ends. */
  signal: AbortSignal;
  /** Progress output. */
  say: (msg: string) => void;
}

let setup: ScenarioSetup;

export function configureScenarios(s: ScenarioSetup): void {
  setup = s;
}

/** Every load process alive (the orchestrator kills leftovers by PID on exit). */
export const children = new Set<ChildProcess>();
/** What each server reported about itself (recorded with the results). */
export const serverInfo: Partial<Record<ServerKind, Record<string, unknown>>> = {};

const say = (msg: string) => setup.say(msg);
const sleep = (ms: number) => delay(ms, undefined, { signal: setup.signal });
const mb = (bytes: number | undefined) => (bytes ?? 0) / 2 ** 20;
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
const ms = (x: number | undefined) => (x === undefined ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(0));

/** A load process on the load core (it inherits our affinity), driven over IPC. */
class LoadWorker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  #id = 0;
  subscribers = 0;

  constructor(readonly name: string) {
    const fd = openSync(join(setup.logDir, `worker-${name}.log`), 'a');
    this.#child = fork(join(root, 'bench', 'worker.ts'), [], {
      // BENCH_WORKER_PROF=1: a V8 CPU profile per worker in the log folder (with --keep-logs).
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${setup.logDir}`] : []),
      ],
      stdio: ['ignore', fd, fd, 'ipc'],
      cwd: root,
    });
    closeSync(fd);
    children.add(this.#child);
    this.#child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error !== undefined) {
        p?.reject(new Error(`${name}: ${m.error}`));
      } else {
        p?.resolve(m.result);
      }
    });
    this.#child.on('exit', (code, signal) => {
      children.delete(this.#child);
      for (const p of this.#pending.values()) {
        p.reject(new Error(`worker ${name} exited (${code ?? signal})`));
      }
      this.#pending.clear();
    });
  }

  call<T>(req: DistributiveOmit<WorkerRequest, 'id'>, timeoutMs = 30_000): Promise<T> {
    const id = ++this.#id;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`worker ${this.name}: ${req.cmd} timed out after ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v: T) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.send({ ...req, id });
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    await this.call({ cmd: 'stop' }, 10_000).catch(() => undefined);
    this.#child.kill('SIGTERM');
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

async function newWorker(name: string, server: Server, room: string): Promise<LoadWorker> {
  const w = new LoadWorker(name);
  const init: WorkerInit = { server: server.kind, url: server.url, room, name };
  await w.call({ cmd: 'init', init });
  return w;
}

interface Snapshot extends Scrape {
  t: number;
  cpu: number;
  times: CpuTimes;
  drops: { server: number; others: number };
  backlog: number;
}

async function snapshot(server: Server, handles: JanusHandleRef[]): Promise<Snapshot> {
  const a = performance.now();
  const cpuA = cpuSeconds(server.pid) ?? NaN;
  const times = cpuTimes();
  const drops = udpDrops(server.pid);
  const backlog = backlogDrops(setup.loadCpu);
  const scrape = await server.scrape(handles);
  const cpuB = cpuSeconds(server.pid) ?? NaN;
  const b = performance.now();
  return { ...scrape, t: (a + b) / 2000, cpu: (cpuA + cpuB) / 2, times, drops, backlog };
}

/** Everything the workers reported, accumulated across calls (arrays drain on each call). */
interface Drained {
  joinMs: number[];
  joinKeyframeMs: number[];
  latencyUs: number[];
  errors: string[];
}

function drain(into: Drained, stats: WorkerStats[]): void {
  for (const s of stats) {
    into.joinMs.push(...s.joinMs);
    into.joinKeyframeMs.push(...s.joinKeyframeMs);
    into.latencyUs.push(...s.latencyUs);
    into.errors.push(...s.errors);
  }
}

async function janusHandles(server: Server, workers: LoadWorker[]): Promise<JanusHandleRef[]> {
  if (server.kind !== 'janus') {
    return [];
  }
  const lists = await Promise.all(
    workers.map((w) => w.call<{ handles: JanusHandleRef[] }>({ cmd: 'handles' })),
  );
  return lists.flatMap((l) => l.handles);
}

/** The window's figures about the joins made for its step: filled in by `measure`'s caller. */
type JoinFields =
  'joins' | 'joinFailures' | 'joinP50Ms' | 'joinP95Ms' | 'joinKeyframeP50Ms' | 'joinKeyframeP95Ms';

/** One window: server CPU and forwarded packets, client-side loss and latency, machine load. */
async function measure(
  server: Server,
  workers: LoadWorker[],
  plan: Plan,
  drained: Drained,
): Promise<Omit<Window, JoinFields>> {
  const handles = await janusHandles(server, workers);
  const before = await Promise.all(workers.map((w) => w.call<WorkerStats>({ cmd: 'mark' })));
  drain(drained, before);
  drained.latencyUs.length = 0; // only samples from inside the window
  const a = await snapshot(server, handles);
  await sleep(plan.windowS * 1000);
  const b = await snapshot(server, handles);
  const after = await Promise.all(workers.map((w) => w.call<WorkerStats>({ cmd: 'stats' })));
  const latencies = after.flatMap((s) => s.latencyUs);
  drain(drained, after);
  const sum = (f: (s: WorkerStats) => number) => after.reduce((x, s) => x + f(s), 0);
  const seconds = b.t - a.t;
  const out = b.out - a.out;
  const cpu = b.cpu - a.cpu;
  const expected = sum((s) => s.expected);
  const received = sum((s) => s.received);
  const streamsExpected = sum((s) => s.streamsExpected);
  const streamsActive = sum((s) => s.streamsActive);
  // A stream that went silent counts as lost with what an active stream expected on average.
  const perStream = streamsActive > 0 ? expected / streamsActive : 0;
  const silent = Math.max(0, streamsExpected - streamsActive) * perStream;
  const loss = expected + silent > 0 ? (expected - received + silent) / (expected + silent) : 1;
  const hist = histogramDelta(a.residence?.hist, b.residence?.hist);
  const loadCpuUs = after.reduce((x, s, i) => x + s.cpuUs - (before[i]?.cpuUs ?? s.cpuUs), 0);
  const p = (q: number) => {
    const v = percentile(latencies, q);
    return v === undefined ? undefined : v / 1000;
  };
  // Histogram: exact for the window. Quantile gauge: the server's most recent packets at window end.
  const r = (q: 50 | 99) => {
    const v = histogramPercentile(hist, q);
    return v !== undefined ? v * 1000 : q === 50 ? b.residence?.p50Ms : b.residence?.p99Ms;
  };
  return {
    n: 0,
    seconds,
    fwdPps: out / seconds,
    rxPps: received / seconds,
    rxMbps: (sum((s) => s.bytes) * 8) / seconds / 1e6,
    serverCpu: cpu / seconds,
    usPerPkt: out > 0 ? (cpu * 1e6) / out : undefined,
    loss: Math.max(0, loss),
    streamsExpected,
    streamsActive,
    latencyP50Ms: p(50),
    latencyP99Ms: p(99),
    latencySamples: latencies.length,
    residenceP50Ms: r(50),
    residenceP99Ms: r(99),
    serverRssMB: mb(rssBytes(server.pid)),
    udpDropsServer: Math.max(0, b.drops.server - a.drops.server),
    udpDropsLoad: Math.max(0, b.drops.others - a.drops.others),
    backlogDrops: Math.max(0, b.backlog - a.backlog),
    loadCoreBusy: busyShare(a.times, b.times, `cpu${setup.loadCpu}`),
    serverCoreBusy: busyShare(a.times, b.times, `cpu${setup.serverCpu}`),
    machineBusy: busyShare(a.times, b.times, 'cpu'),
    loadCpu: loadCpuUs / 1e6 / seconds,
    loadRssMB: mb(sum((s) => s.rss)),
    inPps: a.in !== undefined && b.in !== undefined ? (b.in - a.in) / seconds : undefined,
    serverLoopP99Ms: b.loopP99Ms,
    serverLoopMaxMs: b.loopMaxMs,
    loadLoopP99Ms: Math.max(0, ...after.map((s) => s.loopP99Ms)),
    loadLoopMaxMs: Math.max(0, ...after.map((s) => s.loopMaxMs)),
  };
}

function windowLine(label: string, w: Window): string {
  const res =
    w.residenceP50Ms !== undefined
      ? `, residence p50/p99 ${ms(w.residenceP50Ms)}/${ms(w.residenceP99Ms)} ms`
      : '';
  return (
    `${label}: fwd ${w.fwdPps.toFixed(0)} pps, server ${pct(w.serverCpu)} of a core` +
    ` (${w.usPerPkt === undefined ? 'n/a' : w.usPerPkt.toFixed(1)} µs/pkt), loss ${pct(w.loss)}` +
    ` (${w.streamsActive}/${w.streamsExpected} streams), latency p50/p99 ${ms(w.latencyP50Ms)}/${ms(w.latencyP99Ms)} ms${res},` +
    ` event-loop delay p99${w.serverLoopP99Ms !== undefined ? ` server ${ms(w.serverLoopP99Ms)} /` : ''} load ${ms(w.loadLoopP99Ms)} ms,` +
    ` cores busy: server ${pct(w.serverCoreBusy)}, load ${pct(w.loadCoreBusy)}` +
    (w.udpDropsServer + w.udpDropsLoad > 0
      ? `, UDP receive-buffer drops: server ${w.udpDropsServer}, load ${w.udpDropsLoad}`
      : '') +
    (w.backlogDrops > 0 ? `, load core input-backlog drops ${w.backlogDrops}` : '')
  );
}

async function startServer(kind: ServerKind, tag: string): Promise<Server> {
  const dir = join(setup.logDir, `${kind}-${tag}`);
  mkdirSync(dir, { recursive: true });
  const server =
    kind === 'janus'
      ? await startJanus(dir, setup.serverCpu, setup.janusEventLoops)
      : await startSwitchboard(dir, setup.serverCpu, setup.switchboardLog);
  const info = await server.info().catch(() => ({}));
  serverInfo[kind] = { ...serverInfo[kind], ...info };
  const facts = Object.entries(info)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
  say(
    `${kind} started (pid ${server.pid}, core ${setup.serverCpu}), rss ${mb(rssBytes(server.pid)).toFixed(0)} MB${facts ? `, ${facts}` : ''}`,
  );
  return server;
}

async function stopAll(server: Server | undefined, workers: LoadWorker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
  await server?.stop().catch(() => undefined);
}

const roomOf = (server: Server, name: string) =>
  server.kind === 'janus' ? String(JANUS_ROOM) : `bench-${name}`;

/** 1 → N broadcast of one 1 Mbit/s video publisher, N stepped up until loss > 1 % or saturation. */
export async function sweep(kind: ServerKind, plan: Plan): Promise<SweepResult> {
  const result: SweepResult = {
    steps: [],
    maxSubs: 0,
    limitedBy: 'last-step',
    joinP50Ms: undefined,
    joinP95Ms: undefined,
    joinKeyframeP50Ms: undefined,
    joinKeyframeP95Ms: undefined,
    joins: 0,
    joinFailures: 0,
    rssIdleMB: 0,
    rssPublisherMB: 0,
    memPerSubMB: undefined,
    marginalUsPerPkt: undefined,
  };
  let server: Server | undefined;
  const workers: LoadWorker[] = [];
  const joinsOfPassing: number[] = [];
  const keyframesOfPassing: number[] = [];
  try {
    server = await startServer(kind, 'broadcast');
    const room = roomOf(server, 'broadcast');
    result.rssIdleMB = mb(rssBytes(server.pid));
    const pub = await newWorker(`${kind}-pub`, server, room);
    workers.push(pub);
    const spec: ClientSpec = { uid: 'publisher', video: VIDEO_1M, receive: false, expectStreams: 0 };
    const { feeds } = await pub.call<{ feeds: number[] }>({
      cmd: 'publish',
      clients: [spec],
      concurrency: 1,
    });
    await sleep(2000);
    result.rssPublisherMB = mb(rssBytes(server.pid));
    say(
      `${kind} broadcast: publisher up (1 Mbit/s VP8-like, ${VIDEO_1M.fps} fps), server rss ${result.rssPublisherMB.toFixed(0)} MB`,
    );
    const subs: LoadWorker[] = [];
    let failedBefore = 0;
    const drained: Drained = { joinMs: [], joinKeyframeMs: [], latencyUs: [], errors: [] };
    for (const target of plan.steps) {
      const t = Date.now();
      let need = target - subs.reduce((x, w) => x + w.subscribers, 0);
      while (need > 0) {
        let w = subs.find((x) => x.subscribers < plan.subsPerWorker);
        if (!w) {
          w = await newWorker(`${kind}-sub${subs.length + 1}`, server, room);
          subs.push(w);
          workers.push(w);
        }
        const k = Math.min(need, plan.subsPerWorker - w.subscribers);
        await w.call(
          { cmd: 'subscribe', count: k, feeds, expectStreams: 1, concurrency: plan.joinConcurrency },
          60_000 + k * 25_000,
        );
        w.subscribers += k;
        need -= k;
      }
      drained.joinMs.length = 0;
      drained.joinKeyframeMs.length = 0;
      drained.errors.length = 0;
      // Joins made for this step (drained by the first call below).
      const pre = await Promise.all(subs.map((w) => w.call<WorkerStats>({ cmd: 'stats' })));
      drain(drained, pre);
      const stepJoins = [...drained.joinMs];
      const joinErrors = new Set(drained.errors);
      const failedNow = pre.reduce((x, s) => x + s.failed, 0);
      const stepFailures = failedNow - failedBefore;
      failedBefore = failedNow;
      const connected = pre.reduce((x, s) => x + s.clients, 0);
      say(
        `${kind} broadcast: ${connected} subscribers joined in ${((Date.now() - t) / 1000).toFixed(1)} s` +
          `${stepFailures > 0 ? `, ${stepFailures} failed (${[...joinErrors].slice(0, 2).join('; ')})` : ''}`,
      );
      await sleep(plan.warmS * 1000);
      const m = await measure(server, [pub, ...subs], plan, drained);
      // A keyframe may follow a join's first packet (Janus forwards at once): by the window's end
      // this step's joins have had theirs.
      const stepKeyframes = [...drained.joinKeyframeMs];
      const w: Window & { pass: boolean; target: number } = {
        ...m,
        n: connected,
        target,
        joins: stepJoins.length,
        joinFailures: stepFailures,
        joinP50Ms: percentile(stepJoins, 50),
        joinP95Ms: percentile(stepJoins, 95),
        joinKeyframeP50Ms: percentile(stepKeyframes, 50),
        joinKeyframeP95Ms: percentile(stepKeyframes, 95),
        joinKeyframeSamplesMs: stepKeyframes.map((x) => Math.round(x * 10) / 10),
        pass: false,
      };
      const attempted = stepJoins.length + stepFailures;
      const events = [...new Set(drained.errors)];
      const publisherLost = events.some((e) => e.startsWith('publisher publisher PC failed'));
      let limit: Limit | undefined;
      if (w.loss > 0.01) {
        limit = publisherLost ? 'publisher-lost' : 'loss';
      } else if (attempted > 0 && stepFailures / attempted > 0.1) {
        limit = 'join-failures';
      }
      w.pass = limit === undefined;
      result.steps.push(w);
      say(`${windowLine(`${kind} broadcast N=${w.n}`, w)}${w.pass ? '' : `  ✗ ${limit}`}`);
      const news = events.filter((e) => !joinErrors.has(e));
      if (news.length > 0) {
        say(`${kind} broadcast: load clients reported: ${news.slice(0, 4).join('; ')}`);
      }
      if (w.pass) {
        result.maxSubs = w.n;
        joinsOfPassing.push(...stepJoins);
        keyframesOfPassing.push(...stepKeyframes);
        result.joins += stepJoins.length;
        result.joinFailures += stepFailures;
        // Our own processes' CPU, not the cores' busy share: the machine is shared, and other
        // jobs' load shows up as loss (the gate) rather than as a reason to stop early. But a load
        // core busy all the time stops the sweep too, whatever our processes' share: the clients'
        // receive work (IP/UDP input, steered there) runs in softirq and counts for no process, and a
        // saturated load core fails the next step's joins and publisher (2026-12-05: 85 % load CPU,
        // 97 % busy at N = 300; the next step lost its publisher).
        if (w.serverCpu >= 0.95) {
          limit = 'server-cpu';
        } else if (w.loadCpu >= 0.9 || w.loadCoreBusy >= 0.95) {
          limit = 'load-core';
        }
      }
      if (limit !== undefined) {
        result.limitedBy = limit;
        break;
      }
    }
    const passing = result.steps.filter((s) => s.pass && s.n > 0);
    const top = passing.at(-1);
    if (top) {
      result.memPerSubMB = (top.serverRssMB - result.rssPublisherMB) / top.n;
    }
    result.marginalUsPerPkt = linearFit(passing.map((s) => ({ x: s.fwdPps, y: s.serverCpu * 1e6 })))?.b;
  } catch (err) {
    result.limitedBy = setup.signal.aborted ? 'deadline' : 'error';
    result.error = err instanceof Error ? err.message : String(err);
    say(`${kind} broadcast stopped: ${result.error}`);
  } finally {
    await stopAll(server, workers);
  }
  result.joinP50Ms = percentile(joinsOfPassing, 50);
  result.joinP95Ms = percentile(joinsOfPassing, 95);
  result.joinKeyframeP50Ms = percentile(keyframesOfPassing, 50);
  result.joinKeyframeP95Ms = percentile(keyframesOfPassing, 95);
  return result;
}

/** N×N: every participant publishes (video and/or audio) and receives everyone else. */
export async function meeting(
  kind: ServerKind,
  plan: Plan,
  shape: 'meeting' | 'audio',
): Promise<ShapeResult> {
  const n = shape === 'meeting' ? plan.meetingN : plan.audioN;
  const video = shape === 'meeting' ? VIDEO_500K : undefined;
  const audio = AUDIO_OPUS;
  const tracks = (video ? 1 : 0) + 1;
  const result: ShapeResult = { window: undefined, participants: n };
  let server: Server | undefined;
  const workers: LoadWorker[] = [];
  try {
    server = await startServer(kind, shape);
    const w = await newWorker(`${kind}-${shape}`, server, roomOf(server, shape));
    workers.push(w);
    const specs: ClientSpec[] = Array.from({ length: n }, (_, i) => ({
      uid: `p${i + 1}`,
      video,
      audio,
      receive: true,
      expectStreams: (n - 1) * tracks,
    }));
    const t = Date.now();
    const { feeds } = await w.call<{ feeds: number[] }>(
      { cmd: 'publish', clients: specs, concurrency: 2 },
      60_000 + n * 20_000,
    );
    if (kind === 'janus') {
      await w.call({ cmd: 'subscribeOthers', feeds, concurrency: 2 }, 60_000 + n * 20_000);
    }
    // Wait until every participant receives every other one (Switchboard renegotiates per join).
    const deadline = Date.now() + 30_000;
    const errors: string[] = [];
    for (;;) {
      errors.push(...(await w.call<WorkerStats>({ cmd: 'mark' })).errors);
      await sleep(1000);
      const s = await w.call<WorkerStats>({ cmd: 'stats' });
      errors.push(...s.errors);
      if (s.streamsActive >= s.streamsExpected || Date.now() > deadline) {
        say(
          `${kind} ${shape}: ${s.clients} participants, ${s.streamsActive}/${s.streamsExpected} streams flowing` +
            ` after ${((Date.now() - t) / 1000).toFixed(1)} s` +
            `${s.failed > 0 ? `, ${s.failed} failed (${[...new Set(errors)].slice(0, 2).join('; ')})` : ''}`,
        );
        break;
      }
    }
    await sleep(plan.warmS * 1000);
    const m = await measure(server, workers, plan, {
      joinMs: [],
      joinKeyframeMs: [],
      latencyUs: [],
      errors: [],
    });
    result.window = {
      ...m,
      n,
      joins: 0,
      joinFailures: 0,
      joinP50Ms: undefined,
      joinP95Ms: undefined,
      joinKeyframeP50Ms: undefined,
      joinKeyframeP95Ms: undefined,
    };
    say(windowLine(`${kind} ${shape} ${n}×${n}`, result.window));
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    say(`${kind} ${shape} stopped: ${result.error}`);
  } finally {
    await stopAll(server, workers);
  }
  return result;
}
