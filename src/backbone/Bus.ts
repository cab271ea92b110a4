import { SwitchboardError, type ErrorCode } from '../util/errors.ts';

/** What a request handler's caller receives: a value, or an error with a stable code. */
export type BusReply = { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } };

export type BusHandler = (data: unknown, subject: string) => unknown;

export interface Subscription {
  unsubscribe(): void;
}

/**
 * The message seam between roles: request/reply with timeout, publish/subscribe, queue groups.
 * Subjects use NATS syntax (`*` one token, `>` the rest) and are namespaced `sb.<cluster>.<role>.<node>.<verb>`.
 * Payloads are plain JSON; implementations serialise them so in-process and NATS behave alike.
 */
export interface Bus {
  /** Resolves with the handler's return value; rejects with BusRequestError (cause: timeout / no responder / remote error). */
  request<T = unknown>(subject: string, data: unknown, opts?: { timeoutMs?: number }): Promise<T>;
  publish(subject: string, data: unknown): void;
  /** With `queue`, each message goes to one member of the group; the handler's return value answers requests. */
  subscribe(subject: string, handler: BusHandler, opts?: { queue?: string }): Subscription;
  /**
   * Resolves once every earlier `subscribe`/`unsubscribe` of this bus is in effect for other
   * processes (NATS: one round trip to the server; in-process: at once). A role that announces
   * itself elsewhere (a heartbeat in the Store) flushes first, so nobody calls it too early.
   */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class BusRequestError extends SwitchboardError {
  constructor(
    code: string,
    message: string,
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(code as ErrorCode, message, options);
  }
}

export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') {
      return s.length > i;
    }
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) {
      return false;
    }
  }
  return p.length === s.length;
}

export function toReply(value: unknown): BusReply {
  return { ok: true, data: value === undefined ? null : value };
}

export function toErrorReply(err: unknown): BusReply {
  const code = err instanceof SwitchboardError ? err.code : 'internal';
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, error: { code, message } };
}
