// Shapes of the bench's results (written as JSON to bench/results/).
import type { ServerKind } from './servers.ts';

/** One measurement window. */
export interface Window {
  /** Subscribers (broadcast) or participants (meeting shapes) connected during the window. */
  n: number;
  seconds: number;
  /** RTP packets/s the server reports it sent (Switchboard /metrics, Janus admin API). */
  fwdPps: number;
  /** RTP packets/s the load clients received. */
  rxPps: number;
  rxMbps: number;
  /** Server CPU (utime + stime) as a fraction of one core. */
  serverCpu: number;
  /** Server CPU µs per forwarded packet. */
  usPerPkt: number | undefined;
  /** Subscriber-side loss (sequence gaps + streams that went silent), 0..1. */
  loss: number;
  streamsExpected: number;
  streamsActive: number;
  /** One-way latency publisher → SFU → subscriber, from sampled packets (ms). */
  latencyP50Ms: number | undefined;
  latencyP99Ms: number | undefined;
  latencySamples: number;
  /** Switchboard's `sfu_forward_residence_seconds` histogram over the window (ms). */
  residenceP50Ms: number | undefined;
  residenceP99Ms: number | undefined;
  serverRssMB: number;
  /** Datagrams dropped at full UDP receive buffers during the window: the server's sockets, the load's. */
  udpDropsServer: number;
  udpDropsLoad: number;
  /** Packets dropped at the load core's full input backlog (host-wide counter) during the window. */
  backlogDrops: number;
  /** Busy share of the load core, of the server core and of the whole machine (/proc/stat). */
  loadCoreBusy: number;
  serverCoreBusy: number;
  machineBusy: number;
  /** CPU of the load processes, fraction of one core. */
  loadCpu: number;
  /** RSS of the load processes together, MB. */
  loadRssMB: number;
  /** Switchboard: RTP packets/s received from publishers (`rtp_packets{direction="in"}`). */
  inPps: number | undefined;
  /** Event-loop delay p99 / max over the window (ms): Switchboard (prom-client) and the worst load process. */
  serverLoopP99Ms: number | undefined;
  serverLoopMaxMs: number | undefined;
  loadLoopP99Ms: number;
  loadLoopMaxMs: number;
  /** Joins made for this step: join → first RTP packet (ms), and failures. */
  joins: number;
  joinFailures: number;
  joinP50Ms: number | undefined;
  joinP95Ms: number | undefined;
  /** Join → first packet of a VP8 keyframe (ms): when a viewer can decode; from this step's joins. */
  joinKeyframeP50Ms: number | undefined;
  joinKeyframeP95Ms: number | undefined;
  /** Broadcast steps: this step's join → first keyframe samples (ms), for percentiles over steps both servers passed. */
  joinKeyframeSamplesMs?: number[];
}

export type Limit =
  | 'loss'
  | 'publisher-lost'
  | 'server-cpu'
  | 'load-core'
  | 'join-failures'
  | 'last-step'
  | 'deadline'
  | 'error';

export interface SweepResult {
  /** Subscriber counts tried, with their windows (failed steps included). */
  steps: (Window & { pass: boolean; target: number })[];
  /** Most subscribers of the one 1 Mbit/s publisher with loss ≤ 1 %. */
  maxSubs: number;
  limitedBy: Limit;
  joinP50Ms: number | undefined;
  joinP95Ms: number | undefined;
  joinKeyframeP50Ms: number | undefined;
  joinKeyframeP95Ms: number | undefined;
  joins: number;
  joinFailures: number;
  rssIdleMB: number;
  rssPublisherMB: number;
  /** (RSS at the largest passing step − RSS with the publisher alone) / subscribers, MB. */
  memPerSubMB: number | undefined;
  /** Least-squares slope of server CPU over forwarded pps, over all passing steps. */
  marginalUsPerPkt: number | undefined;
  error?: string | undefined;
}

export interface ShapeResult {
  window: Window | undefined;
  participants: number;
  error?: string | undefined;
}

export interface ServerResult {
  kind: ServerKind;
  version: string;
  /** What the server reported about itself (Switchboard: `srtpNative` from `sfu_srtp_native`). */
  info?: Record<string, unknown> | undefined;
  broadcast?: SweepResult | undefined;
  meeting?: ShapeResult | undefined;
  audio?: ShapeResult | undefined;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  interrupted: string | undefined;
  machine: { cpus: number; model: string; node: string; kernel: string; loadavgAtStart: number[] };
  config: Record<string, unknown>;
  servers: Partial<Record<ServerKind, ServerResult>>;
  /** Headline numbers (Switchboard vs Janus) as printed in the table. */
  summary: SummaryRow[];
}

export interface SummaryRow {
  metric: string;
  switchboard: string;
  janus: string;
  ratio: string;
  /** What a ratio below / above 1 means. */
  better: 'lower' | 'higher' | '';
}
