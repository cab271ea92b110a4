import {
  connect,
  DebugEvents,
  ErrorCode,
  Events,
  JSONCodec,
  NatsError,
  type Msg,
  type NatsConnection,
  type Subscription as NatsSubscription,
} from 'nats';
import {
  BusRequestError,
  toErrorReply,
  toReply,
  type Bus,
  type BusHandler,
  type BusReply,
  type Subscription,
} from './Bus.ts';
import { logger } from '../util/logger.ts';

/** Where the connection stands; `reconnecting` lasts until the server is back (we never give up). */
export type NatsBusStatus =
  { state: 'connected'; server: string } | { state: 'reconnecting'; since: number } | { state: 'closed' };

const DEFAULT_TIMEOUT_MS = 10_000;
/** Between reconnect attempts; short, because every role stalls while the Bus is down. */
const RECONNECT_WAIT_MS = 250;
/** `close()` drains in-flight messages for at most this long, then closes hard. */
const DRAIN_TIMEOUT_MS = 2_000;

const codec = JSONCodec<unknown>();
const log = logger.child({ component: 'nats' });

/**
 * The Bus over NATS (distributed mode). Payloads are JSON; a request's reply is the same `BusReply`
 * envelope the in-process bus uses, so a remote handler's error code reaches the caller intact.
 * The client reconnects forever and re-subscribes by itself; messages published while the
 * server is away are buffered by the client and requests time out as usual.
 */
export class NatsBus implements Bus {
  readonly #nc: NatsConnection;
  readonly #subs = new Set<NatsSubscription>();
  /** Handlers still working on a message; `close()` lets them answer first. */
  readonly #inflight = new Set<Promise<void>>();
  #status: NatsBusStatus;
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#status = { state: 'connected', server: nc.getServer() };
    void this.#watch();
  }

  /**
   * Connects to `url` (comma-separated for several servers); `name` shows in the server's
   * connection list. Rejects if the first connection fails, so a wrong URL stops the start.
   */
  static async connect(url: string, name: string): Promise<NatsBus> {
    const nc = await connect({
      servers: url.split(',').map((s) => s.trim()),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      reconnectJitter: 100,
      // A dead server is noticed within a few seconds even when no TCP reset arrives.
      pingInterval: 5_000,
      maxPingOut: 2,
    });
    log.info({ server: nc.getServer(), name }, 'nats connected');
    return new NatsBus(nc);
  }

  get status(): NatsBusStatus {
    return this.#status;
  }

  async request<T>(subject: string, data: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let msg: Msg;
    try {
      msg = await this.#nc.request(subject, codec.encode(data ?? null), { timeout: timeoutMs });
    } catch (err) {
      throw requestError(err, subject, timeoutMs);
    }
    const reply = decodeReply(msg);
    if (!reply) {
      throw new BusRequestError('internal', `malformed reply from ${subject}`, subject);
    }
    if (!reply.ok) {
      throw new BusRequestError(reply.error.code, reply.error.message, subject);
    }
    return reply.data as T;
  }

  publish(subject: string, data: unknown): void {
    if (this.#closing || this.#nc.isClosed()) {
      return; // as the in-process bus: publishing on a closed bus is a no-op
    }
    try {
      this.#nc.publish(subject, codec.encode(data ?? null));
    } catch (err) {
      log.warn({ err, subject }, 'nats publish failed');
    }
  }

  subscribe(subject: string, handler: BusHandler, opts: { queue?: string } = {}): Subscription {
    const sub: NatsSubscription = this.#nc.subscribe(subject, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, msg) => {
        if (err) {
          log.error({ err, subject }, 'nats subscription failed');
          return;
        }
        const work = this.#deliver(handler, msg).finally(() => this.#inflight.delete(work));
        this.#inflight.add(work);
      },
    });
    this.#subs.add(sub);
    return {
      unsubscribe: () => {
        this.#subs.delete(sub);
        if (!sub.isClosed() && !this.#nc.isClosed()) {
          sub.unsubscribe();
        }
      },
    };
  }

  /** A round trip to the server: afterwards every earlier subscribe/unsubscribe is in effect cluster-wide. */
  async flush(): Promise<void> {
    if (!this.#nc.isClosed()) {
      await this.#nc.flush();
    }
  }

  /**
   * Stops taking messages, lets handlers in flight answer, sends what is buffered, then closes;
   * bounded by DRAIN_TIMEOUT_MS (draining needs the server, which may be away). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#drain();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    if (this.#nc.isClosed()) {
      return;
    }
    const drain = async (): Promise<void> => {
      await Promise.all([...this.#subs].map((sub) => sub.drain().catch(() => undefined)));
      this.#subs.clear();
      await Promise.allSettled([...this.#inflight]);
      await this.#nc.drain();
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), DRAIN_TIMEOUT_MS);
    });
    try {
      if ((await Promise.race([drain().then(() => 'drained' as const), timedOut])) === 'timeout') {
        log.warn({ inflight: this.#inflight.size }, 'nats drain timed out; closing');
      }
    } catch (err) {
      log.debug({ err }, 'nats drain failed; closing');
    } finally {
      clearTimeout(timer);
    }
    if (!this.#nc.isClosed()) {
      await this.#nc.close();
    }
    await this.#nc.closed();
    this.#status = { state: 'closed' };
  }

  async #deliver(handler: BusHandler, msg: Msg): Promise<void> {
    let reply: BusReply;
    try {
      reply = toReply(await handler(codec.decode(msg.data), msg.subject));
    } catch (err) {
      reply = toErrorReply(err);
      if (!msg.reply) {
        log.error({ err, subject: msg.subject }, 'bus handler failed');
      }
    }
    if (!msg.reply) {
      return;
    }
    try {
      msg.respond(codec.encode(reply));
    } catch (err) {
      // A reply that cannot be encoded (or a closed connection) must still answer the caller.
      log.error({ err, subject: msg.subject }, 'bus reply failed');
      if (!this.#nc.isClosed()) {
        msg.respond(codec.encode(toErrorReply(err)));
      }
    }
  }

  /** Follows the client's status events: logs each change and keeps `status` current. */
  async #watch(): Promise<void> {
    for await (const s of this.#nc.status()) {
      switch (s.type) {
        case Events.Disconnect:
          this.#status = { state: 'reconnecting', since: Date.now() };
          log.warn({ server: s.data }, 'nats disconnected; reconnecting');
          break;
        case Events.Reconnect:
          this.#status = { state: 'connected', server: this.#nc.getServer() };
          log.info({ server: s.data }, 'nats reconnected');
          break;
        case Events.LDM:
          log.warn({ server: s.data }, 'nats server entering lame duck mode');
          break;
        case Events.Error:
          log.error({ data: s.data }, 'nats async error');
          break;
        case DebugEvents.Reconnecting:
        case DebugEvents.StaleConnection:
          log.debug({ type: s.type, data: s.data }, 'nats status');
          break;
        default:
          break;
      }
    }
    this.#status = { state: 'closed' };
  }
}

function requestError(err: unknown, subject: string, timeoutMs: number): BusRequestError {
  const code = err instanceof NatsError ? err.code : undefined;
  if (code === ErrorCode.NoResponders) {
    return new BusRequestError('no-responder', `no responder for ${subject}`, subject, { cause: err });
  }
  if (code === ErrorCode.Timeout) {
    const message = `request to ${subject} timed out after ${timeoutMs} ms`;
    return new BusRequestError('timeout', message, subject, { cause: err });
  }
  if (code === ErrorCode.ConnectionClosed || code === ErrorCode.ConnectionDraining) {
    // As the in-process bus: nobody can answer on a closed bus.
    return new BusRequestError('no-responder', `bus closed: no responder for ${subject}`, subject, {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BusRequestError('internal', `request to ${subject} failed: ${message}`, subject, { cause: err });
}

function decodeReply(msg: Msg): BusReply | undefined {
  let v: unknown;
  try {
    v = codec.decode(msg.data);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !('ok' in v)) {
    return undefined;
  }
  if (v.ok === true) {
    return { ok: true, data: 'data' in v ? v.data : null };
  }
  const e = 'error' in v ? v.error : undefined;
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) {
    return { ok: false, error: { code: String(e.code), message: String(e.message) } };
  }
  return undefined;
}
