// `switchboard loadtest`: rooms of synthetic publishers and subscribers against one server, joined
// publishers first, then run for a fixed time; progress snapshots once a second, a result at the end.
import { randomBytes } from 'node:crypto';
import { signToken } from '../protocol/tokens.ts';
import { RpcError } from './IonSignal.ts';
import { LoadPeer, type PeerRole } from './LoadPeer.ts';
import { LoadTestError } from './LoadTestError.ts';
import { percentile } from './percentile.ts';

export interface LoadTestOptions {
  /** `ws(s)://host:port/ws`. */
  wsUrl: string;
  rooms: number;
  /** Per room. */
  publishers: number;
  /** Per room. */
  subscribers: number;
  /** bit/s; 0 with `audioOnly`. */
  videoBitrate: number;
  simulcast: boolean;
  audioOnly: boolean;
  /** How long to measure once every peer has joined, ms. */
  durationMs: number;
  /** Room names are `<roomPrefix>-1`, `-2`, …; a single room with `token` is the token's own. */
  roomPrefix: string;
  /** One participant's token, used as given (`rooms` 1, one peer). */
  token?: string | undefined;
  /** Signs a token per peer (HS256, the server's `[auth] secret`). */
  secret?: string | undefined;
  /** Joins in flight at once. Default 5. */
  concurrency?: number | undefined;
}

/** Figures so far, once a second and at the end. */
export interface Snapshot {
  phase: 'joining' | 'running' | 'done';
  /** Seconds since the start, and since the measurement started (0 while joining). */
  elapsedS: number;
  measuredS: number;
  peers: number;
  connected: number;
  failed: number;
  packetsSent: number;
  packetsReceived: number;
  /** Lost share of the packets expected by the receivers (sequence gaps), 0..1; null before any. */
  loss: number | null;
  joinMs: { p50: number | null; p95: number | null; max: number | null };
}

export interface LoadTestResult extends Snapshot {
  url: string;
  rooms: number;
  publishers: number;
  subscribers: number;
  videoBitrate: number;
  simulcast: boolean;
  /** Measurement window, s (after the joins). */
  durationS: number;
  bytesReceived: number;
  /** Subscribers that received RTP, of all subscribers. */
  subscribersReceiving: number;
  /** Streams (tracks × receivers) expected, and those that carried packets in the window. */
  streamsExpected: number;
  streamsActive: number;
  /** Join sent → first RTP packet at a subscriber, ms. */
  firstPacketMs: { p50: number | null; p95: number | null; max: number | null };
  /** One-way latency publisher → SFU → subscriber (this machine's clock at both ends), ms. */
  latencyMs: { p50: number | null; p95: number | null };
  /** Why peers failed (at most 10, each once). */
  errors: string[];
  /** All peers connected and every subscriber received packets. */
  ok: boolean;
  /** Ended early by `stop()` (Ctrl-C). */
  interrupted: boolean;
}

const round1 = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 10) / 10);
const spread = (v: number[]) => ({
  p50: round1(percentile(v, 50)),
  p95: round1(percentile(v, 95)),
  max: round1(v.length > 0 ? Math.max(...v) : undefined),
});

/** One-way latency samples kept (4 a second per receiving peer come in); past it, every other goes. */
const MAX_LATENCY_SAMPLES = 100_000;

/** How long a join refused for the join rate (429 "try again in N s") is tried again, ms. */
const RATE_RETRY_MS = 120_000;

export class LoadTest {
  readonly #o: LoadTestOptions;
  readonly #peers: LoadPeer[] = [];
  readonly #latencies: number[] = [];
  readonly #errors = new Map<string, number>();
  #failed = 0;
  #phase: Snapshot['phase'] = 'joining';
  #t0 = performance.now();
  #measureT0 = 0;
  #measureT1 = 0;
  #fatal: LoadTestError | undefined;
  #stop: () => void = () => undefined;
  #stopped = false;

  constructor(o: LoadTestOptions) {
    this.#o = o;
  }

  get peers(): number {
    return this.#o.rooms * (this.#o.publishers + this.#o.subscribers);
  }

  /** Ends the run early (Ctrl-C): joins stop, the measurement ends now, `run` resolves. */
  stop(): void {
    this.#stopped = true;
    this.#stop();
  }

  /** Joins every peer, measures for the duration, closes them; throws a LoadTestError on a fatal refusal. */
  async run(): Promise<LoadTestResult> {
    const o = this.#o;
    this.#t0 = performance.now();
    const kinds = o.audioOnly ? 1 : 2;
    const make = (role: PeerRole, room: string, i: number) =>
      new LoadPeer({
        role,
        wsUrl: o.wsUrl,
        room,
        uid: `${room}-${role === 'publisher' ? 'pub' : 'sub'}${i}`,
        videoBitrate: o.audioOnly ? 0 : o.videoBitrate,
        simulcast: o.simulcast,
        expectStreams: (role === 'publisher' ? o.publishers - 1 : o.publishers) * kinds,
        latencies: this.#latencies,
      });
    const rooms = Array.from({ length: o.rooms }, (_, r) => this.#roomName(r));
    const publishers = rooms.flatMap((room) =>
      Array.from({ length: o.publishers }, (_, i) => make('publisher', room, i + 1)),
    );
    const subscribers = rooms.flatMap((room) =>
      Array.from({ length: o.subscribers }, (_, i) => make('subscriber', room, i + 1)),
    );
    try {
      // Publishers first, so that a subscriber's first packet measures the SFU, not a publisher's join.
      await this.#joinAll(publishers);
      // No publisher got its media through (UDP blocked on the way?): subscribers would only wait for
      // nothing, 20 s each. The result says why the publishers failed.
      const noMedia =
        publishers.length > 0 && !this.#peers.some((p) => p.o.role === 'publisher' && p.connected);
      if (!noMedia) {
        await this.#joinAll(subscribers);
      }
      if (this.#fatal) {
        throw this.#fatal;
      }
      this.#phase = 'running';
      this.#measureT0 = performance.now();
      for (const p of this.#peers) {
        p.counter.mark();
      }
      if (!this.#stopped && !noMedia) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.durationMs);
          this.#stop = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.#measureT1 = performance.now();
      const result = this.#result();
      this.#phase = 'done';
      result.phase = 'done';
      return result;
    } finally {
      // Those joined (a retried join's peer replaces its first) and those never tried.
      for (const p of new Set([...this.#peers, ...publishers, ...subscribers])) {
        p.close();
      }
    }
  }

  #roomName(r: number): string {
    const o = this.#o;
    if (o.token !== undefined) {
      const room = tokenRoom(o.token);
      if (room !== undefined) {
        return room;
      }
    }
    return `${o.roomPrefix}-${r + 1}`;
  }

  async #tokenFor(peer: LoadPeer): Promise<string | undefined> {
    const o = this.#o;
    if (o.token !== undefined) {
      return o.token;
    }
    if (o.secret === undefined) {
      return undefined;
    }
    return signToken({
      secret: o.secret,
      identity: peer.o.uid,
      room: peer.o.room,
      name: peer.o.uid,
      ttlSeconds: Math.ceil(o.durationMs / 1000) + 600,
    });
  }

  async #joinAll(peers: LoadPeer[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < peers.length && !this.#stopped && !this.#fatal) {
        const peer = peers[next++]!;
        this.#peers.push(peer);
        await this.#join(peer);
      }
    };
    const n = Math.max(1, Math.min(this.#o.concurrency ?? 5, peers.length));
    await Promise.all(Array.from({ length: n }, worker));
  }

  async #join(peer: LoadPeer): Promise<void> {
    const token = await this.#tokenFor(peer);
    const giveUp = performance.now() + RATE_RETRY_MS;
    for (;;) {
      try {
        await peer.join(token);
        return;
      } catch (err) {
        peer.close();
        if (this.#stopped) {
          return;
        }
        const wait = err instanceof RpcError ? retryAfterS(err) : undefined;
        if (wait !== undefined && performance.now() + wait * 1000 < giveUp) {
          await new Promise((r) => setTimeout(r, wait * 1000));
          if (this.#stopped) {
            return;
          }
          const again = new LoadPeer(peer.o);
          this.#peers[this.#peers.indexOf(peer)] = again;
          peer = again;
          continue;
        }
        if (err instanceof RpcError && err.method === 'join' && err.code >= 400 && err.code < 500) {
          this.#fatal ??= new LoadTestError(refusal(err));
          return;
        }
        const status = /^Unexpected server response: (\d+)/.exec(err instanceof Error ? err.message : '');
        if (status) {
          this.#fatal ??= new LoadTestError(
            `${this.#o.wsUrl} answered ${status[1]} instead of a WebSocket (a proxy that does not pass /ws upgrades?)`,
          );
          return;
        }
        this.#failed++;
        const text = err instanceof Error ? err.message : String(err);
        this.#errors.set(text, (this.#errors.get(text) ?? 0) + 1);
        return;
      }
    }
  }

  /** The figures now (the progress line). */
  snapshot(): Snapshot {
    const now = performance.now();
    if (this.#latencies.length > MAX_LATENCY_SAMPLES) {
      // Every other sample: the distribution stays, the memory of a long run does not grow.
      const l = this.#latencies;
      let j = 0;
      for (let i = 0; i < l.length; i += 2) {
        l[j++] = l[i]!;
      }
      l.length = j;
    }
    let sent = 0;
    let received = 0;
    let expected = 0;
    for (const p of this.#peers) {
      sent += p.sent;
      for (const s of p.counter.streams.values()) {
        received += s.received;
        expected += s.expected;
      }
    }
    const joins = this.#peers.flatMap((p) => (p.joinMs !== undefined ? [p.joinMs] : []));
    return {
      phase: this.#phase,
      elapsedS: Math.round((now - this.#t0) / 100) / 10,
      measuredS:
        this.#measureT0 > 0 ? Math.round(((this.#measureT1 || now) - this.#measureT0) / 100) / 10 : 0,
      peers: this.peers,
      connected: this.#peers.filter((p) => p.connected).length,
      failed: this.#failed,
      packetsSent: sent,
      packetsReceived: received,
      loss: expected > 0 ? Math.max(0, 1 - received / expected) : null,
      joinMs: spread(joins),
    };
  }

  #result(): LoadTestResult {
    const o = this.#o;
    const snap = this.snapshot();
    let bytes = 0;
    let winExpected = 0;
    let winReceived = 0;
    let streamsExpected = 0;
    let streamsActive = 0;
    for (const p of this.#peers) {
      streamsExpected += p.o.expectStreams;
      for (const s of p.counter.streams.values()) {
        bytes += s.bytes;
        winExpected += s.expected - s.winExpected;
        winReceived += s.received - s.winReceived;
        if (s.received > s.winReceived) {
          streamsActive++;
        }
      }
    }
    const subs = this.#peers.filter((p) => p.o.role === 'subscriber');
    const receiving = subs.filter((p) => p.counter.firstPacketUs > 0).length;
    const firstPackets = subs.flatMap((p) => (p.firstPacketMs !== undefined ? [p.firstPacketMs] : []));
    const lat = this.#latencies.map((us) => us / 1000);
    return {
      ...snap,
      // Loss over the measurement window (the progress line's counts from each stream's first packet).
      loss: winExpected > 0 ? Math.max(0, 1 - winReceived / winExpected) : snap.loss,
      url: o.wsUrl,
      rooms: o.rooms,
      publishers: o.publishers,
      subscribers: o.subscribers,
      videoBitrate: o.audioOnly ? 0 : o.videoBitrate,
      simulcast: o.simulcast && !o.audioOnly,
      durationS: snap.measuredS,
      bytesReceived: bytes,
      subscribersReceiving: receiving,
      streamsExpected,
      streamsActive,
      firstPacketMs: spread(firstPackets),
      latencyMs: { p50: round1(percentile(lat, 50)), p95: round1(percentile(lat, 95)) },
      errors: [...this.#errors].slice(0, 10).map(([text, n]) => (n > 1 ? `${text} (×${n})` : text)),
      ok: snap.connected === this.peers && receiving === o.rooms * o.subscribers,
      interrupted: this.#stopped,
    };
  }
}

/** The seconds a 429 join-rate refusal asks to wait ("try again in N s"); undefined for other errors. */
function retryAfterS(err: RpcError): number | undefined {
  const m = err.code === 429 ? /try again in (\d+(?:\.\d+)?) s/.exec(err.reason) : null;
  return m ? Math.min(30, Math.max(1, Number(m[1]))) : undefined;
}

/** One line for a refused join, with the way out when it is a well-known one. */
function refusal(err: RpcError): string {
  const hint = /too many peers from your address/.test(err.reason)
    ? ' (raise [signal.limits] peersperip on the server, or run fewer peers per machine)'
    : err.code === 401 && /token required/.test(err.reason)
      ? ' (the server needs tokens: pass --secret <its [auth] secret> or --token)'
      : '';
  return `the server refused to join: ${err.code} ${err.reason}${hint}`;
}

/** The `room` claim of a JWT, unverified (the server checks it); undefined when there is none. */
export function tokenRoom(token: string): string | undefined {
  const part = token.split('.')[1];
  if (part === undefined) {
    return undefined;
  }
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { room?: unknown };
    return typeof claims.room === 'string' ? claims.room : undefined;
  } catch {
    return undefined;
  }
}

/** A fresh room name prefix: `loadtest-<6 hex>`. */
export const newRoomPrefix = (): string => `loadtest-${randomBytes(3).toString('hex')}`;
