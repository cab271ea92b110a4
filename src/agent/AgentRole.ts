/**
 * The agent role (Licode's ErizoAgent, mediasoup's Workers): one media worker process per core. Each
 * worker is `switchboard worker` running the sfu role alone, a node of its own in the registry, with
 * its own slice of `[webrtc] portrange`. Workers reach the other roles over NATS and Redis only, which
 * is why several workers need `[nats]` and `[redis]` (workerCount.ts).
 *
 * A worker that dies is restarted (after 0.5 s, doubling while it keeps dying, at most 30 s), and
 * its rooms are placed again at once: the agent releases the dead node's leases and heartbeat in the
 * Store, the signal instances notice that the node stopped answering pings and tell its clients to
 * reconnect, and the registry places each room on a live worker (or the restarted one).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Store } from '../backbone/index.ts';
import { clusterOf, type Config } from '../config/index.ts';
import { storeKeys } from '../protocol/cluster.ts';
import { DRAIN_TIMEOUT_MS } from '../sfu/index.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { portSlice } from './workerCount.ts';

/** Agent → worker. */
export type AgentMessage = { type: 'start'; config: Config } | { type: 'drain' } | { type: 'close' };
/** Worker → agent. */
export type WorkerMessage =
  | { type: 'hello' }
  | { type: 'ready'; node: string; pid: number; url: string }
  | { type: 'failed'; message: string };

/** The command line entry: it loads tsx, so the worker runs the TypeScript sources as `start` does. */
const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;
/** After `close`, a worker that has not exited in this time is killed. */
const CLOSE_TIMEOUT_MS = 10_000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** Deaths within this window count towards the restart back-off. */
const CRASH_WINDOW_MS = 60_000;

const log = logger.child({ role: 'agent' });

/** One worker slot: its process comes and goes, the slot (and its port slice) stays. */
interface Slot {
  index: number;
  child: ChildProcess | undefined;
  node: string | undefined;
  /** Times of recent unexpected exits (back-off). */
  deaths: number[];
  restart: NodeJS.Timeout | undefined;
}

export class AgentRole {
  readonly count: number;
  readonly #config: Config;
  readonly #store: Store;
  readonly #slots: Slot[] = [];
  #closing = false;

  constructor(config: Config, store: Store, count: number) {
    if (count < 1) {
      throw new TypeError('agent: at least one worker');
    }
    this.#config = config;
    this.#store = store;
    this.count = count;
    for (let index = 0; index < count; index++) {
      this.#slots.push({ index, child: undefined, node: undefined, deaths: [], restart: undefined });
    }
  }

  /** Node ids of the running workers (a slot being restarted has none). */
  get nodes(): string[] {
    return this.#slots.flatMap((s) => (s.node ? [s.node] : []));
  }

  /** Process ids of the running workers. */
  get pids(): number[] {
    return this.#slots.flatMap((s) => (s.child?.pid !== undefined && s.node ? [s.child.pid] : []));
  }

  /** Starts every worker; rejects (after stopping those that started) if one cannot start. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.#slots.map((s) => this.#spawn(s)));
    } catch (err) {
      await this.close();
      throw err;
    }
    log.info({ workers: this.count, nodes: this.nodes }, 'media workers running');
  }

  /** SIGTERM: every worker drains (its clients move to other nodes), then exits. */
  drain(): Promise<void> {
    return this.#stop('drain', DRAIN_TIMEOUT_MS + CLOSE_TIMEOUT_MS);
  }

  close(): Promise<void> {
    return this.#stop('close', CLOSE_TIMEOUT_MS);
  }

  async #stop(how: 'drain' | 'close', timeoutMs: number): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        clearTimeout(s.restart);
        const child = s.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) {
          return;
        }
        const exited = once(child, 'exit');
        if (child.connected) {
          child.send({ type: how } satisfies AgentMessage);
        } else {
          child.kill('SIGTERM');
        }
        const force = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(force);
      }),
    );
  }

  /** Forks the slot's worker and resolves once it reports its node id. */
  #spawn(slot: Slot): Promise<void> {
    const config = this.#workerConfig(slot.index);
    const child = fork(BIN, ['worker'], { stdio: 'inherit', serialization: 'json' });
    slot.child = child;
    slot.node = undefined;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new SwitchboardError('timeout', `media worker ${slot.index} did not start`));
      }, START_TIMEOUT_MS);
      child.on('message', (raw: unknown) => {
        const m = raw as WorkerMessage;
        if (m.type === 'hello') {
          child.send({ type: 'start', config } satisfies AgentMessage);
        } else if (m.type === 'ready') {
          clearTimeout(timer);
          slot.node = m.node;
          log.info({ worker: slot.index, node: m.node, workerPid: m.pid, url: m.url }, 'media worker ready');
          resolve();
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(
            new SwitchboardError('internal', `media worker ${slot.index} failed to start: ${m.message}`),
          );
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new SwitchboardError('internal', `media worker ${slot.index} exited (${signal ?? code})`));
        void this.#exited(slot, child, code, signal);
      });
    });
  }

  /** A worker exited: when nobody asked it to, release its rooms and start another. */
  async #exited(slot: Slot, child: ChildProcess, code: number | null, signal: string | null): Promise<void> {
    if (slot.child !== child) {
      return;
    }
    const node = slot.node;
    slot.child = undefined;
    slot.node = undefined;
    if (this.#closing) {
      return;
    }
    log.error({ worker: slot.index, node, code, signal }, 'media worker died; restarting it');
    if (node) {
      await this.#release(node);
    }
    const now = Date.now();
    slot.deaths = [...slot.deaths.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (slot.deaths.length - 1));
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (!this.#closing) {
        this.#spawn(slot).catch((err: unknown) => log.error({ err, worker: slot.index }, 'restart failed'));
      }
    }, delay);
  }

  /**
   * The dead node's rooms are placed again at once instead of after their leases expire: its
   * heartbeat, its room leases and its lease table go (compare-and-delete: only what is still its).
   */
  async #release(node: string): Promise<void> {
    const cluster = clusterOf(this.#config);
    try {
      await this.#store.del(storeKeys.node(cluster, node));
      const leases = storeKeys.nodeRooms(cluster, node);
      for (const room of Object.keys(await this.#store.hgetall(leases))) {
        await this.#store.compareAndDelete(storeKeys.roomOwner(cluster, room), node);
      }
      await this.#store.del(leases);
    } catch (err) {
      log.warn({ err, node }, 'releasing a dead worker’s rooms failed (its leases will expire)');
    }
  }

  /** The sfu role alone, on an HTTP port of its own (/metrics, /healthz), with its port slice. */
  #workerConfig(index: number): Config {
    const c = structuredClone(this.#config);
    c.sfu.workers = 1;
    c.turn.enabled = false; // the agent's process runs the host's one coturn
    c.signal.port = 0;
    c.signal.host = '127.0.0.1';
    // Its /metrics and /healthz stay plain HTTP on loopback, whatever certificate the main port has.
    delete c.signal.cert;
    delete c.signal.key;
    c.signal.tlsselfsigned = false;
    const range = this.#config.webrtc.portrange;
    if (range) {
      c.webrtc.portrange = portSlice(range, this.count, index);
    }
    return c;
  }
}
