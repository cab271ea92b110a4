/**
 * Native gRPC (HTTP/2 without TLS, @grpc/grpc-js) for ION's services: what ion-sdk-go and
 * ion-sdk-flutter connect to (ION's signal listened on :5551; `[signal.grpc]`). Every method of
 * `rtc.RTC`, `room.RoomSignal` and `room.RoomService` becomes a GrpcCall handed to `serve`, the same
 * handlers gRPC-web calls reach (IonServer.serve). grpc-js itself answers what never reaches a
 * handler: unknown services or methods (UNIMPLEMENTED), messages over `maxMessageBytes`
 * (RESOURCE_EXHAUSTED), undecodable messages and broken framing (a status, never a crash).
 */
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { logger } from '../../util/logger.ts';
import { GrpcCall, Status, type StatusCode } from './GrpcCall.ts';
import { ionPackage } from './protos.ts';

/** The services served (package-qualified names in protos.ts's package definition). */
export const GRPC_SERVICES = ['rtc.RTC', 'room.RoomSignal', 'room.RoomService'] as const;

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port (`start` resolves with it). */
  port: number;
  /** Largest request message grpc-js accepts (`[signal] maxmessagesize`). */
  maxMessageBytes: number;
  /** HTTP/2 keepalive ping interval and timeout in ms (`[signal.limits] pinginterval`); 0 = none. */
  keepaliveMs?: number;
  /** Takes each call (IonServer.serve). */
  serve: (call: GrpcCall) => void;
}

/** A call's metadata as GrpcCall has it: keys lower-case, repeated values joined by ", ", binary base64. */
export function metadataMap(md: grpc.Metadata): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of Object.keys(md.getMap())) {
    const values = md.get(key).map((v) => (typeof v === 'string' ? v : v.toString('base64')));
    out.set(key.toLowerCase(), values.join(', '));
  }
  return out;
}

/** grpc-js's peer (`address:port`, an IPv6 address unbracketed) without the port. */
export function peerAddress(peer: string): string {
  const m = /^\[?(.+?)\]?:(\d+)$/.exec(peer);
  return m ? m[1]! : peer;
}

type Callback = grpc.sendUnaryData<unknown>;
type ServerCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

/**
 * One grpc-js call as a GrpcCall. Unary responses (and client-streaming ones) go out through the
 * callback when the call ends: the written reply with OK, or the status; streamed responses are
 * written as they come and the status ends the stream.
 */
class NativeGrpcCall extends GrpcCall {
  readonly #call: ServerCall;
  readonly #callback: Callback | undefined;
  #reply: unknown;

  constructor(path: string, call: ServerCall, callback: Callback | undefined) {
    super(path, metadataMap(call.metadata), peerAddress(call.getPeer()));
    this.#call = call;
    this.#callback = callback;
  }

  /** Wires the request side once the handler listens (`serve` returned). */
  begin(requestStream: boolean): void {
    const call = this.#call;
    (call as NodeJS.EventEmitter).on('cancelled', () => this.closed());
    if (requestStream) {
      const stream = call as grpc.ServerReadableStream<unknown, unknown>;
      stream.on('data', (msg: unknown) => this.received(msg));
      stream.on('end', () => this.halfClosed());
      stream.on('error', (err: unknown) => {
        logger.debug({ err, path: this.path }, 'gRPC stream error');
        this.closed();
      });
      return;
    }
    this.received((call as grpc.ServerUnaryCall<unknown, unknown>).request);
    this.halfClosed();
  }

  protected writeMessage(msg: unknown): void {
    if (this.#callback) {
      this.#reply ??= msg; // one reply: the first
      return;
    }
    (this.#call as grpc.ServerWritableStream<unknown, unknown>).write(msg);
  }

  protected finish(code: StatusCode, message: string): void {
    const call = this.#call;
    if (call.cancelled) {
      return;
    }
    try {
      if (this.#callback) {
        if (code === Status.OK) {
          this.#callback(null, this.#reply ?? {});
        } else {
          this.#callback({ code, details: message });
        }
        return;
      }
      const stream = call as grpc.ServerWritableStream<unknown, unknown>;
      if (code === Status.OK) {
        stream.end();
      } else {
        // grpc-js's own 'error' listener takes the status and ends the stream with it.
        stream.emit('error', { code, details: message });
      }
    } catch (err) {
      logger.debug({ err, path: this.path }, 'ending a gRPC call failed');
    }
  }
}

export class GrpcServer {
  readonly #o: GrpcServerOptions;
  readonly #server: grpc.Server;

  constructor(o: GrpcServerOptions) {
    this.#o = o;
    this.#server = new grpc.Server({
      'grpc.max_receive_message_length': o.maxMessageBytes,
      // HTTP/2 pings find clients that vanished without a FIN (their streams then close), as the
      // WebSocket pings of `[signal.limits] pinginterval` do for gRPC-web.
      ...(o.keepaliveMs
        ? { 'grpc.keepalive_time_ms': o.keepaliveMs, 'grpc.keepalive_timeout_ms': o.keepaliveMs }
        : {}),
    });
    for (const name of GRPC_SERVICES) {
      const service = ionPackage[name] as unknown as grpc.ServiceDefinition;
      const impl: grpc.UntypedServiceImplementation = {};
      for (const [method, def] of Object.entries(service)) {
        impl[method] = this.#handler(def as unknown as MethodDefinition<unknown, unknown>);
      }
      this.#server.addService(service, impl);
    }
  }

  #handler(def: MethodDefinition<unknown, unknown>): grpc.UntypedHandleCall {
    const open = (call: ServerCall, callback: Callback | undefined): void => {
      const c = new NativeGrpcCall(def.path, call, callback);
      try {
        this.#o.serve(c);
      } catch (err) {
        logger.error({ err, path: def.path }, 'ION call failed');
        c.end(Status.INTERNAL, 'internal error');
        return;
      }
      c.begin(def.requestStream);
    };
    if (def.requestStream) {
      return def.responseStream
        ? (call: grpc.ServerDuplexStream<unknown, unknown>) => open(call, undefined)
        : (call: grpc.ServerReadableStream<unknown, unknown>, callback: Callback) => open(call, callback);
    }
    return def.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => open(call, undefined)
      : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback) => open(call, callback);
  }

  /** Binds `host:port` (plain HTTP/2); resolves with the bound port. */
  start(): Promise<number> {
    const host = isIP(this.#o.host) === 6 ? `[${this.#o.host}]` : this.#o.host;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(
        `${host}:${this.#o.port}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => {
          if (err) {
            reject(err);
            return;
          }
          logger.info({ host: this.#o.host, port }, 'ION gRPC listening');
          resolve(port);
        },
      );
    });
  }

  /** Stops listening and cancels the calls in progress (their streams close as a dropped client's). */
  close(): Promise<void> {
    this.#server.forceShutdown();
    return Promise.resolve();
  }
}
