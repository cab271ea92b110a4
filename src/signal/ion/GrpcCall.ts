/**
 * One call of an ION service, whatever carries it: gRPC-web over a WebSocket (`Ion.Connector`,
 * GrpcWebSocket.ts) or native gRPC over HTTP/2 (ion-sdk-go, ion-sdk-flutter; GrpcServer.ts). The
 * service handlers (IonRtc, IonRoom, RoomService) see only this.
 */
import { logger } from '../../util/logger.ts';
import { TypedEmitter } from '../../util/TypedEmitter.ts';

/** gRPC status codes (grpc/doc/statuscodes.md). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

export type GrpcCallEvents<Req> = {
  /** A request message, decoded. */
  message: [msg: Req];
  /** The client finished sending (half-close); the call may still answer. */
  halfClose: [];
  /** The call is over (ended by us, cancelled by the client, transport gone). */
  close: [];
};

export abstract class GrpcCall<Req = unknown, Res = unknown> extends TypedEmitter<GrpcCallEvents<Req>> {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** Request metadata, keys lower-case, repeated values joined by `, ` (as gRPC-web sends them). */
  readonly metadata: ReadonlyMap<string, string>;
  /** The client's address (for per-address limits). */
  readonly address: string;
  #ended = false;

  constructor(path: string, metadata: ReadonlyMap<string, string>, address: string) {
    super();
    this.path = path;
    this.metadata = metadata;
    this.address = address;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Sends one response message (ignored once the call ended). */
  write(msg: Res): void {
    if (!this.#ended) {
      this.writeMessage(msg);
    }
  }

  /** Ends the call with a status; later writes and ends are ignored. */
  end(code: StatusCode, message = ''): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    this.finish(code, message);
    this.closed();
  }

  /**
   * Every `[signal.limits] pinginterval`: a transport that can tell a vanished client (no FIN) ends
   * the call when the last ping went unanswered. Native gRPC leaves it to HTTP/2 keepalives.
   */
  ping(): void {}

  protected abstract writeMessage(msg: Res): void;
  protected abstract finish(code: StatusCode, message: string): void;

  /** The transport reports the call over (also after `end`): `close` goes out once. */
  protected closed(): void {
    this.#ended = true;
    if (!this.#closeEmitted) {
      this.#closeEmitted = true;
      this.safeEmit('close');
      this.removeAllListeners();
    }
  }
  #closeEmitted = false;

  protected received(msg: Req): void {
    if (!this.#ended) {
      this.safeEmit('message', msg);
    }
  }

  protected halfClosed(): void {
    if (!this.#ended) {
      this.safeEmit('halfClose');
    }
  }
}

/** An error a handler throws to end a call with this status (its message is the client's). */
export class GrpcError extends Error {
  readonly code: StatusCode;
  constructor(code: StatusCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Ends a call with the status of `err` (a GrpcError's, else INTERNAL with a log line). */
export function endWithError(call: GrpcCall, err: unknown): void {
  if (err instanceof GrpcError) {
    call.end(err.code, err.message);
    return;
  }
  logger.error({ err, path: call.path }, 'ION call failed');
  call.end(Status.INTERNAL, 'internal error');
}
