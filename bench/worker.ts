// One load process (forked by bench/run.ts, pinned to the load core with it): publishers, meeting
// participants and counting subscribers against Switchboard (ion-sfu JSON-RPC) or Janus VideoRoom
// (HTTP API). Commands arrive over the IPC channel; every reply carries the request's id.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MediaStream, type RTCPeerConnection, type RTCRtpTransceiver } from 'werift';
import { connected } from '../src/loadtest/connected.ts';
import { IonPeer, IonSignal, JanusSession, sdpOf } from './signaling.ts';
import {
  RxCounter,
  SyntheticSource,
  clientPc,
  markRaw,
  monoUs,
  type AudioProfile,
  type VideoProfile,
} from './rtc.ts';
import type { ServerKind } from './servers.ts';

export interface WorkerInit {
  server: ServerKind;
  /** Switchboard: ws URL; Janus: HTTP API base. */
  url: string;
  /** Switchboard session id, or the Janus room number as a string. */
  room: string;
  name: string;
}

export interface ClientSpec {
  uid: string;
  video?: VideoProfile | undefined;
  audio?: AudioProfile | undefined;
  /** A meeting participant also receives everyone else (Janus: after `subscribeOthers`). */
  receive: boolean;
  /** Streams this client should receive once the room is complete. */
  expectStreams: number;
}

export type WorkerRequest =
  | { id: number; cmd: 'init'; init: WorkerInit }
  | { id: number; cmd: 'publish'; clients: ClientSpec[]; concurrency: number }
  | {
      id: number;
      cmd: 'subscribe';
      count: number;
      feeds: number[];
      expectStreams: number;
      concurrency: number;
    }
  | { id: number; cmd: 'subscribeOthers'; feeds: number[]; concurrency: number }
  | { id: number; cmd: 'mark' }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'handles' }
  | { id: number; cmd: 'stop' };

export interface WorkerStats {
  clients: number;
  failed: number;
  /** Over the window since `mark`: */
  expected: number;
  received: number;
  bytes: number;
  streamsExpected: number;
  streamsActive: number;
  /**
   * Drained since the previous `stats`: join → first RTP packet and → first keyframe packet (may come
   * later, none if it never does), ms; one-way latency samples, µs.
   */
  joinMs: number[];
  joinKeyframeMs: number[];
  latencyUs: number[];
  errors: string[];
  /** This process's event-loop delay since the previous `mark`/`stats`, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** Cumulative: */
  cpuUs: number;
  rss: number;
  sent: number;
}

interface Client {
  uid: string;
  counter: RxCounter | undefined;
  expectStreams: number;
  sources: SyntheticSource[];
  feed?: number;
  close: () => void;
}

let init: WorkerInit | undefined;
const clients: Client[] = [];
let failed = 0;
const joinMs: number[] = [];
const joinKeyframeMs: number[] = [];
const latencyUs: number[] = [];
const errors: string[] = [];
let janus: Promise<JanusSession> | undefined;
const handles: { session: number; handle: number }[] = [];
let seq = 0;

const FIRST_PACKET_TIMEOUT_MS = 20_000;
// BENCH_PUBLISHER_SEQ=n starts every source at sequence number n (e.g. 65500: wraps at once).
const firstSeq = process.env.BENCH_PUBLISHER_SEQ ? Number(process.env.BENCH_PUBLISHER_SEQ) : undefined;
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

/** Something worth showing in the progress output that is not a failed join. */
function noteEvent(text: string): void {
  if (errors.length < 20) {
    errors.push(text);
  }
}

function session(): Promise<JanusSession> {
  janus ??= JanusSession.create(init!.url);
  return janus;
}

function noteError(err: unknown): void {
  failed++;
  if (errors.length < 20) {
    errors.push(err instanceof Error ? err.message || err.name : String(err));
  }
}

/** Consecutive failed joins after which a batch gives up (the room is broken; don't wait 20 s each). */
const GIVE_UP_AFTER = 8;

/** Runs `n` tasks with at most `concurrency` in flight; failures are counted, not thrown. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failedInARow = 0;
  const run = async () => {
    while (next < n && failedInARow < GIVE_UP_AFTER) {
      const i = next++;
      await task(i).then(
        () => {
          failedInARow = 0;
        },
        (err: unknown) => {
          failedInARow++;
          noteError(err);
        },
      );
    }
    if (failedInARow >= GIVE_UP_AFTER && next < n) {
      noteEvent(`gave up after ${GIVE_UP_AFTER} failed joins in a row (${n - next} not attempted)`);
      next = n;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, run));
}

function firstPacket(counter: RxCounter): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (counter.firstPacketUs > 0) {
        clearInterval(t);
        clearTimeout(to);
        resolve();
      }
    }, 10);
    const to = setTimeout(() => {
      clearInterval(t);
      reject(new Error(`no RTP within ${FIRST_PACKET_TIMEOUT_MS / 1000} s of joining`));
    }, FIRST_PACKET_TIMEOUT_MS);
  });
}

/** Publisher PC state changes go to the worker's log (a publisher leg that dies ends a sweep). */
function logStates(pc: RTCPeerConnection, what: string): void {
  pc.connectionStateChange.subscribe((state) => {
    console.log(`${new Date().toISOString()} ${what} ${state}`);
    if (state === 'failed' || state === 'disconnected') {
      noteEvent(`${what} ${state} at ${new Date().toISOString().slice(11, 19)}`);
    }
  });
}

function addSources(
  pc: RTCPeerConnection,
  spec: ClientSpec,
): { sources: SyntheticSource[]; ts: RTCRtpTransceiver[] } {
  const sources: SyntheticSource[] = [];
  if (spec.audio) {
    sources.push(new SyntheticSource('audio', spec.audio, { firstSeq }));
  }
  if (spec.video) {
    sources.push(new SyntheticSource('video', spec.video, { firstSeq }));
  }
  const stream = new MediaStream(sources.map((s) => s.track));
  const ts = sources.map((s) => pc.addTransceiver(s.track, { direction: 'sendonly', streams: [stream] }));
  return { sources, ts };
}

function startSources(sources: SyntheticSource[], ts: RTCRtpTransceiver[]): void {
  sources.forEach((s, i) => {
    s.watch(ts[i]!);
    s.start();
  });
}

// ------------------------------------------------------------------ Switchboard

async function ionClient(spec: ClientSpec, publish: boolean): Promise<Client> {
  const signal = await IonSignal.connect(init!.url);
  const peer = new IonPeer(signal, clientPc(publish), clientPc(false));
  const counter = spec.receive ? new RxCounter(latencyUs) : undefined;
  // BENCH_JOIN_TRACE=1: each join's steps in the worker log (ms after `join` was sent).
  let t0 = monoUs(); // reset when `join` goes out
  const trace: Record<string, number> = {};
  const mark = (what: string) => {
    trace[what] ??= Math.round((monoUs() - t0) / 100) / 10;
  };
  if (counter && !publish) {
    counter.onKeyframe = (us) => joinKeyframeMs.push((us - t0) / 1000);
  }
  peer.onSubscriberOffer = () => {
    mark('offer');
    if (counter) {
      markRaw(peer.sub, counter);
    }
  };
  peer.sub.connectionStateChange.subscribe((state) => mark(`sub-${state}`));
  const { sources, ts } = publish ? addSources(peer.pub, spec) : { sources: [], ts: [] };
  if (publish) {
    logStates(peer.pub, `${spec.uid} publisher PC`);
    logStates(peer.sub, `${spec.uid} subscriber PC`);
  }
  const client: Client = {
    uid: spec.uid,
    counter,
    expectStreams: spec.expectStreams,
    sources,
    close: () => {
      sources.forEach((s) => s.stop());
      peer.close();
    },
  };
  t0 = monoUs();
  try {
    await peer.join(init!.room, spec.uid);
    mark('joined');
    startSources(sources, ts);
    if (publish) {
      await connected(peer.pub, 'publisher PC', FIRST_PACKET_TIMEOUT_MS);
    }
    if (counter && !publish) {
      await firstPacket(counter);
      joinMs.push((counter.firstPacketUs - t0) / 1000);
      if (process.env.BENCH_JOIN_TRACE) {
        console.error(
          `join ${spec.uid}: ${JSON.stringify(trace)} first-packet ${((counter.firstPacketUs - t0) / 1000).toFixed(1)}`,
        );
      }
    }
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}

// ------------------------------------------------------------------ Janus

async function janusPublisher(spec: ClientSpec): Promise<Client> {
  const s = await session();
  const handle = await s.attach();
  const feed = 1 + Math.floor(Math.random() * 2 ** 40);
  await s.message(handle, {
    request: 'join',
    ptype: 'publisher',
    room: Number(init!.room),
    id: feed,
    display: spec.uid,
  });
  const pc = clientPc(true);
  logStates(pc, `${spec.uid} publisher PC`);
  const { sources, ts } = addSources(pc, spec);
  const client: Client = {
    uid: spec.uid,
    counter: spec.receive ? new RxCounter(latencyUs) : undefined,
    expectStreams: spec.expectStreams,
    sources,
    feed,
    close: () => {
      sources.forEach((x) => x.stop());
      void pc.close().catch(() => undefined);
    },
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    const ev = await s.message(handle, { request: 'publish' }, sdpOf(pc.localDescription!));
    if (!ev.jsep) {
      throw new Error('janus publish: no answer');
    }
    await pc.setRemoteDescription(ev.jsep);
    void s.trickleComplete(handle).catch(() => undefined);
    startSources(sources, ts);
    // Janus accepts subscribers to a feed only once its publisher is connected.
    await connected(pc, 'publisher PC', FIRST_PACKET_TIMEOUT_MS);
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}

/** A Janus subscriber handle on `feeds` (every stream of each), counting into `counter`. */
async function janusSubscribe(
  feeds: number[],
  counter: RxCounter,
  measureJoin: boolean,
): Promise<() => void> {
  const s = await session();
  const handle = await s.attach();
  const t0 = monoUs();
  const ev = await s.message(handle, {
    request: 'join',
    ptype: 'subscriber',
    room: Number(init!.room),
    streams: feeds.map((feed) => ({ feed })),
  });
  if (!ev.jsep) {
    throw new Error('janus subscribe: no offer');
  }
  const pc = clientPc(false);
  const close = () => void pc.close().catch(() => undefined);
  try {
    await pc.setRemoteDescription(ev.jsep);
    if (measureJoin) {
      counter.onKeyframe = (us) => joinKeyframeMs.push((us - t0) / 1000);
    }
    markRaw(pc, counter);
    await pc.setLocalDescription(await pc.createAnswer());
    await s.message(handle, { request: 'start' }, sdpOf(pc.localDescription!));
    void s.trickleComplete(handle).catch(() => undefined);
    handles.push({ session: s.id, handle });
    if (measureJoin) {
      await firstPacket(counter);
      joinMs.push((counter.firstPacketUs - t0) / 1000);
    }
  } catch (err) {
    close();
    void s.detach(handle);
    throw err;
  }
  return close;
}

// ------------------------------------------------------------------ commands

async function publish(specs: ClientSpec[], concurrency: number): Promise<{ feeds: number[] }> {
  await pool(specs.length, concurrency, async (i) => {
    const spec = specs[i]!;
    clients.push(init!.server === 'janus' ? await janusPublisher(spec) : await ionClient(spec, true));
  });
  return { feeds: clients.flatMap((c) => (c.feed !== undefined ? [c.feed] : [])) };
}

async function subscribe(
  count: number,
  feeds: number[],
  expectStreams: number,
  concurrency: number,
): Promise<void> {
  await pool(count, concurrency, async () => {
    const uid = `${init!.name}-s${++seq}`;
    const spec: ClientSpec = { uid, receive: true, expectStreams };
    if (init!.server === 'janus') {
      const counter = new RxCounter(latencyUs);
      const close = await janusSubscribe(feeds, counter, true);
      clients.push({ uid, counter, expectStreams, sources: [], close });
    } else {
      clients.push(await ionClient(spec, false));
    }
  });
}

/** Janus meeting: each participant of this worker subscribes to every feed but its own. */
async function subscribeOthers(feeds: number[], concurrency: number): Promise<void> {
  const participants = clients.filter((c) => c.counter && c.feed !== undefined);
  await pool(participants.length, concurrency, async (i) => {
    const c = participants[i]!;
    const closeSub = await janusSubscribe(
      feeds.filter((f) => f !== c.feed),
      c.counter!,
      false,
    );
    const closePub = c.close;
    c.close = () => {
      closeSub();
      closePub();
    };
  });
}

function stats(): WorkerStats {
  const out: WorkerStats = {
    clients: clients.length,
    failed,
    expected: 0,
    received: 0,
    bytes: 0,
    streamsExpected: 0,
    streamsActive: 0,
    joinMs: joinMs.splice(0),
    joinKeyframeMs: joinKeyframeMs.splice(0),
    latencyUs: latencyUs.splice(0),
    errors: errors.splice(0),
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    cpuUs: 0,
    rss: process.memoryUsage.rss(),
    sent: 0,
  };
  loop.reset();
  const cpu = process.cpuUsage();
  out.cpuUs = cpu.user + cpu.system;
  for (const c of clients) {
    out.sent += c.sources.reduce((a, s) => a + s.sent, 0);
    if (!c.counter) {
      continue;
    }
    out.streamsExpected += c.expectStreams;
    for (const s of c.counter.streams.values()) {
      const rec = s.received - s.winReceived;
      out.expected += s.expected - s.winExpected;
      out.received += rec;
      if (rec > 0) {
        out.streamsActive++;
      }
    }
  }
  return out;
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'init':
      init = req.init;
      return {};
    case 'publish':
      return publish(req.clients, req.concurrency);
    case 'subscribe':
      await subscribe(req.count, req.feeds, req.expectStreams, req.concurrency);
      return {};
    case 'subscribeOthers':
      await subscribeOthers(req.feeds, req.concurrency);
      return {};
    case 'mark':
      for (const c of clients) {
        c.counter?.mark();
      }
      return stats();
    case 'stats':
      return stats();
    case 'handles':
      return { handles };
    case 'stop':
      await stop();
      return {};
  }
}

async function stop(): Promise<void> {
  for (const c of clients.splice(0)) {
    c.close();
  }
  if (janus) {
    await (await janus.catch(() => undefined))?.destroy();
  }
}

process.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (result) => process.send?.({ id: req.id, result }),
    (err: unknown) => process.send?.({ id: req.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The orchestrator went away (Ctrl-C, crash): nothing left to measure for.
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
