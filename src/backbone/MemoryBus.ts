import {
  BusRequestError,
  subjectMatches,
  toErrorReply,
  toReply,
  type Bus,
  type BusHandler,
  type BusReply,
  type Subscription,
} from './Bus.ts';
import { logger } from '../util/logger.ts';

interface Sub {
  pattern: string;
  handler: BusHandler;
  queue?: string;
}

/** In-process Bus for the embedded server. Payloads go through JSON so behaviour matches NATS. */
export class MemoryBus implements Bus {
  #subs: Sub[] = [];
  #closed = false;
  #rr = 0;

  request<T>(subject: string, data: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const targets = this.#targets(subject);
    const first = targets[0];
    if (this.#closed || !first) {
      return Promise.reject(new BusRequestError('no-responder', `no responder for ${subject}`, subject));
    }
    const payload = JSON.stringify(data ?? null);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new BusRequestError('timeout', `request to ${subject} timed out after ${timeoutMs} ms`, subject),
          ),
        timeoutMs,
      );
      // Run the handler on a later tick, as a network round trip would.
      setImmediate(() => {
        void (async () => {
          let reply: BusReply;
          try {
            reply = toReply(await first.handler(JSON.parse(payload), subject));
          } catch (err) {
            reply = toErrorReply(err);
          }
          clearTimeout(timer);
          const r = JSON.parse(JSON.stringify(reply)) as BusReply;
          if (r.ok) {
            resolve(r.data as T);
          } else {
            reject(new BusRequestError(r.error.code, r.error.message, subject));
          }
        })();
      });
    });
  }

  publish(subject: string, data: unknown): void {
    if (this.#closed) {
      return;
    }
    const payload = JSON.stringify(data ?? null);
    for (const sub of this.#targets(subject)) {
      setImmediate(() => {
        try {
          const r = sub.handler(JSON.parse(payload), subject);
          if (r instanceof Promise) {
            r.catch((err: unknown) => logger.error({ err, subject }, 'bus handler failed'));
          }
        } catch (err) {
          logger.error({ err, subject }, 'bus handler failed');
        }
      });
    }
  }

  subscribe(pattern: string, handler: BusHandler, opts: { queue?: string } = {}): Subscription {
    const sub: Sub = { pattern, handler, ...(opts.queue ? { queue: opts.queue } : {}) };
    this.#subs.push(sub);
    return { unsubscribe: () => (this.#subs = this.#subs.filter((s) => s !== sub)) };
  }

  flush(): Promise<void> {
    return Promise.resolve(); // subscriptions take effect at once in-process
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#subs = [];
    return Promise.resolve();
  }

  /** Every plain subscriber, plus one member per queue group (round robin). */
  #targets(subject: string): Sub[] {
    const matching = this.#subs.filter((s) => subjectMatches(s.pattern, subject));
    const out: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const s of matching) {
      if (s.queue === undefined) {
        out.push(s);
      } else {
        const g = groups.get(s.queue) ?? [];
        g.push(s);
        groups.set(s.queue, g);
      }
    }
    for (const g of groups.values()) {
      out.push(g[this.#rr++ % g.length]!);
    }
    return out;
  }
}
