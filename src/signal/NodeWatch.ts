import { BusRequestError, type Bus } from '../backbone/index.ts';
import { HEARTBEAT_MS, subjects } from '../protocol/cluster.ts';
import { logger } from '../util/logger.ts';
import type { SignalClient } from './SignalClient.ts';

/** A ping slower than this is a busy node, not a dead one. */
const PING_TIMEOUT_MS = 1000;
/**
 * Consecutive pings without a subscriber before a node counts as lost. One is not enough: right after
 * a NATS server restart this instance may be back a moment before the media node has re-subscribed.
 */
const STRIKES = 2;

/**
 * Notices a media node that died under this signal instance's clients, within about two seconds: each
 * second it pings every node its clients are on (`subjects.sfuPing`). Over NATS a crashed node's
 * subject has no subscriber, so the ping fails at once with `no-responder` (its heartbeat key would
 * take 3 s more to expire). The clients of a lost node are told to `reconnect`; they join again and
 * the registry, finding the old owner silent, places the room on a live node.
 */
export class NodeWatch {
  readonly #bus: Bus;
  readonly #cluster: string;
  readonly #conns: () => Iterable<SignalClient>;
  readonly #strikes = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(bus: Bus, cluster: string, conns: () => Iterable<SignalClient>) {
    this.#bus = bus;
    this.#cluster = cluster;
    this.#conns = conns;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.#check().finally(() => (this.#running = undefined));
    }, HEARTBEAT_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #check(): Promise<void> {
    const nodes = new Set<string>();
    for (const c of this.#conns()) {
      if (c.node) {
        nodes.add(c.node);
      }
    }
    for (const n of this.#strikes.keys()) {
      if (!nodes.has(n)) {
        this.#strikes.delete(n);
      }
    }
    await Promise.all([...nodes].map((n) => this.#ping(n)));
  }

  async #ping(node: string): Promise<void> {
    try {
      await this.#bus.request(subjects.sfuPing(this.#cluster, node), null, { timeoutMs: PING_TIMEOUT_MS });
      this.#strikes.delete(node);
    } catch (err) {
      if (!(err instanceof BusRequestError && err.code === 'no-responder')) {
        return; // a timeout: busy, or the Bus itself is away; not evidence of death
      }
      const strikes = (this.#strikes.get(node) ?? 0) + 1;
      this.#strikes.set(node, strikes);
      if (strikes < STRIKES) {
        return;
      }
      this.#strikes.delete(node);
      logger.warn({ node }, 'media node lost: its clients are asked to reconnect');
      for (const c of this.#conns()) {
        if (c.node === node) {
          c.nodeLost();
        }
      }
    }
  }
}
