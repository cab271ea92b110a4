import { createHmac } from 'node:crypto';
import type { SwitchboardEvent } from '../protocol/events.ts';
import { logger } from '../util/logger.ts';

/** Deliveries in flight at once (over all URLs). */
const CONCURRENCY = 4;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

export const SIGNATURE_HEADER = 'x-switchboard-signature';

/** `sha256=<hex HMAC-SHA256 of the raw body with the service key>`. */
export function webhookSignature(key: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export interface WebhooksOptions {
  urls: readonly string[];
  /** Attempts after the first. */
  retries: number;
  timeoutMs: number;
  /** Deliveries waiting (queued or backing off) at most; the oldest queued one is dropped beyond. */
  queueSize: number;
  /** The service whose key signs this event. */
  signer(e: SwitchboardEvent): Promise<{ service: string; key: string }>;
}

interface Delivery {
  url: string;
  event: SwitchboardEvent;
  body: string;
  service: string;
  signature: string;
  attempt: number;
}

/**
 * Delivers events as signed JSON POSTs (LiveKit's webhooks): a bounded queue, a few requests in
 * flight, retries with exponential backoff (0.5 s, 1 s, 2 s, … up to 30 s, ±20 %) on network errors,
 * timeouts and non-2xx answers. Enqueueing never waits, and only the api role runs this: a slow or
 * dead receiver costs memory up to `queueSize`, never media.
 */
export class Webhooks {
  readonly #o: WebhooksOptions;
  readonly #queue: Delivery[] = [];
  readonly #backoff = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();
  #inflight = 0;
  #closed = false;
  /** Delivered and dropped counts (tests, logs). */
  readonly stats = { delivered: 0, failedAttempts: 0, dropped: 0 };

  constructor(o: WebhooksOptions) {
    this.#o = o;
  }

  enqueue(event: SwitchboardEvent): void {
    if (this.#closed || this.#o.urls.length === 0) {
      return;
    }
    const body = JSON.stringify(event);
    this.#o.signer(event).then(
      ({ service, key }) => {
        const signature = webhookSignature(key, body);
        for (const url of this.#o.urls) {
          this.#push({ url, event, body, service, signature, attempt: 0 });
        }
      },
      (err: unknown) =>
        logger.warn({ err, event: event.event }, 'webhook: no key to sign with; event dropped'),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#backoff) {
      clearTimeout(t);
    }
    this.#backoff.clear();
    this.#queue.length = 0;
    this.#abort.abort();
    // In-flight requests reject at once on abort; wait for their bookkeeping.
    while (this.#inflight > 0) {
      await new Promise((r) => setImmediate(r));
    }
  }

  #push(d: Delivery): void {
    if (this.#closed) {
      return;
    }
    if (this.#queue.length + this.#backoff.size >= this.#o.queueSize) {
      const dropped = this.#queue.shift() ?? d;
      this.stats.dropped++;
      logger.warn(
        { url: dropped.url, event: dropped.event.event, id: dropped.event.id },
        'webhook queue full: delivery dropped',
      );
      if (dropped === d) {
        return;
      }
    }
    this.#queue.push(d);
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#inflight < CONCURRENCY && this.#queue.length > 0) {
      const d = this.#queue.shift()!;
      this.#inflight++;
      void this.#deliver(d).finally(() => {
        this.#inflight--;
        this.#pump();
      });
    }
  }

  async #deliver(d: Delivery): Promise<void> {
    let failure: string | undefined;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Switchboard-Webhooks/1',
          [SIGNATURE_HEADER]: d.signature,
          'x-switchboard-event': d.event.event,
          'x-switchboard-delivery': d.event.id,
          'x-switchboard-service': d.service,
        },
        body: d.body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined); // free the connection
      if (res.status < 200 || res.status >= 300) {
        failure = `HTTP ${res.status}`;
      }
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    if (this.#closed) {
      return;
    }
    if (failure === undefined) {
      this.stats.delivered++;
      return;
    }
    this.stats.failedAttempts++;
    if (d.attempt >= this.#o.retries) {
      this.stats.dropped++;
      logger.warn(
        { url: d.url, event: d.event.event, id: d.event.id, failure },
        'webhook delivery failed; giving up',
      );
      return;
    }
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** d.attempt) * (0.8 + 0.4 * Math.random());
    logger.debug({ url: d.url, event: d.event.event, failure, delay }, 'webhook delivery failed; retrying');
    const timer = setTimeout(() => {
      this.#backoff.delete(timer);
      this.#push({ ...d, attempt: d.attempt + 1 });
    }, delay);
    timer.unref();
    this.#backoff.add(timer);
  }
}
