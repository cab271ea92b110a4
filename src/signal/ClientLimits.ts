/**
 * What one remote address may hold of this signal instance (`[signal.limits]`): open sockets, peers
 * (joined or joining) and the rate of joins (a token bucket). A public demo server otherwise lets one
 * anonymous client open thousands of sockets or hundreds of peers (a UDP socket and PCs each) in
 * seconds. Counts are per instance; 0 turns a limit off.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/index.ts';

type Limits = Config['signal']['limits'];

interface Usage {
  sockets: number;
  peers: number;
  /** Join tokens left and when they were last refilled (ms). */
  tokens: number;
  refilled: number;
}

/** Buckets kept for addresses with no socket: pruned (when full again) past this many. */
const PRUNE_AT = 10_000;

export class ClientLimits {
  readonly #l: Limits;
  readonly #usage = new Map<string, Usage>();

  constructor(limits: Limits) {
    this.#l = limits;
  }

  /** The client's address: the socket's peer, or with `trustproxy` the last X-Forwarded-For entry. */
  addressOf(req: IncomingMessage): string {
    if (this.#l.trustproxy) {
      const xff = req.headers['x-forwarded-for'];
      const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').at(-1)?.trim();
      if (last) {
        return last;
      }
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  /** A new socket from `ip`: a refusal text (close it), or undefined and it counts until `closeSocket`. */
  openSocket(ip: string): string | undefined {
    const u = this.#get(ip);
    if (this.#l.socketsperip > 0 && u.sockets >= this.#l.socketsperip) {
      return `too many connections from your address (limit ${this.#l.socketsperip})`;
    }
    u.sockets++;
    return undefined;
  }

  closeSocket(ip: string): void {
    const u = this.#usage.get(ip);
    if (u) {
      u.sockets = Math.max(0, u.sockets - 1);
      this.#prune();
    }
  }

  /**
   * A join from `ip`: a refusal text, or undefined and the peer counts until `endPeer` (called when
   * the join fails or the joined peer leaves).
   */
  beginPeer(ip: string): string | undefined {
    const u = this.#get(ip);
    if (this.#l.peersperip > 0 && u.peers >= this.#l.peersperip) {
      return `too many peers from your address (limit ${this.#l.peersperip})`;
    }
    if (this.#l.joinrate > 0) {
      const now = Date.now();
      u.tokens = Math.min(this.#l.joinburst, u.tokens + ((now - u.refilled) / 1000) * this.#l.joinrate);
      u.refilled = now;
      if (u.tokens < 1) {
        const wait = Math.ceil((1 - u.tokens) / this.#l.joinrate);
        return `too many joins from your address (${this.#l.joinrate}/s); try again in ${wait} s`;
      }
      u.tokens -= 1;
    }
    u.peers++;
    return undefined;
  }

  endPeer(ip: string): void {
    const u = this.#usage.get(ip);
    if (u) {
      u.peers = Math.max(0, u.peers - 1);
    }
  }

  #get(ip: string): Usage {
    let u = this.#usage.get(ip);
    if (!u) {
      u = { sockets: 0, peers: 0, tokens: this.#l.joinburst, refilled: Date.now() };
      this.#usage.set(ip, u);
    }
    return u;
  }

  /** Forgets idle addresses whose bucket is full again (keeping a drained one would let it refill by reconnecting). */
  #prune(): void {
    if (this.#usage.size < PRUNE_AT) {
      return;
    }
    const now = Date.now();
    for (const [ip, u] of this.#usage) {
      const full =
        this.#l.joinrate <= 0 ||
        u.tokens + ((now - u.refilled) / 1000) * this.#l.joinrate >= this.#l.joinburst;
      if (u.sockets === 0 && u.peers === 0 && full) {
        this.#usage.delete(ip);
      }
    }
  }
}
