/**
 * gRPC-web over a WebSocket, as improbable-eng's `grpc.WebsocketTransport` speaks it (the transport of
 * ion-sdk-js's `Ion.Connector`; shared/reference/ion.md §2d, improbable-eng/grpc-web
 * go/grpcweb/websocket_wrapper.go):
 * - client → server, binary messages: the first is the request metadata as HTTP header lines; then
 *   `0x00` + a piece of the gRPC byte stream (`flag(1) length(4, BE) message`, pieces may split or
 *   join frames), or the single byte `0x01` when the client finished sending (half-close);
 * - server → client, one byte stream: a header frame `0x80 length(4)` + header lines, gRPC data frames
 *   `0x00 length message`, a second `0x80` frame with the trailers (`grpc-status`, `grpc-message`
 *   percent-encoded), then the WebSocket closes. A trailers-only answer is one `0x80` frame.
 */
import type { WebSocket } from 'ws';
import type { MethodDefinition } from '@grpc/proto-loader';
import { logger } from '../../util/logger.ts';
import { GrpcCall, Status, type StatusCode } from './GrpcCall.ts';

/** The WebSocket subprotocol of gRPC-web. */
export const GRPC_WEBSOCKETS = 'grpc-websockets';

/** Largest request metadata block, in bytes. */
const MAX_HEADER_BYTES = 16 * 1024;
/** Most metadata entries. */
const MAX_HEADERS = 64;

/** Parses the metadata block (`key: value\r\n` lines); undefined when it is not one. */
export function parseMetadata(block: Buffer): Map<string, string> | undefined {
  if (block.length > MAX_HEADER_BYTES) {
    return undefined;
  }
  const out = new Map<string, string>();
  for (const line of block.toString('latin1').split('\r\n')) {
    if (line === '') {
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || out.size >= MAX_HEADERS) {
      return undefined;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9_.-]+$/.test(key)) {
      return undefined;
    }
    const value = line.slice(colon + 1).trim();
    const prev = out.get(key);
    out.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return out;
}

function headerFrame(lines: Record<string, string>): Buffer {
  const text = Object.entries(lines)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const body = Buffer.from(text, 'latin1');
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function dataFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec); the client decodes it. */
function encodeGrpcMessage(message: string): string {
  return encodeURIComponent(message);
}

export interface GrpcWebSocketOptions {
  /** Largest request message, in bytes (`[signal] maxmessagesize`). */
  maxMessageBytes: number;
  /** Called once the metadata arrived: the call's handler attaches here. */
  started: (call: GrpcWebSocketCall) => void;
}

/**
 * One call on one WebSocket. `method` is undefined for a path we do not serve: the call answers
 * UNIMPLEMENTED as soon as the metadata arrived.
 */
export class GrpcWebSocketCall extends GrpcCall {
  readonly #ws: WebSocket;
  readonly #method: MethodDefinition<unknown, unknown>;
  #headersSent = false;
  #awaitingPong = false;

  constructor(
    ws: WebSocket,
    path: string,
    method: MethodDefinition<unknown, unknown>,
    metadata: Map<string, string>,
    address: string,
  ) {
    super(path, metadata, address);
    this.#ws = ws;
    this.#method = method;
    ws.on('pong', () => (this.#awaitingPong = false));
    ws.on('message', () => (this.#awaitingPong = false));
  }

  override ping(): void {
    if (this.ended) {
      return;
    }
    if (this.#awaitingPong) {
      logger.info({ path: this.path }, 'gRPC-web client did not answer a ping: socket closed');
      this.#ws.terminate();
      return;
    }
    this.#awaitingPong = true;
    this.#ws.ping();
  }

  get streaming(): boolean {
    return this.#method.requestStream;
  }

  protected writeMessage(msg: unknown): void {
    this.#sendHeaders();
    this.#send(dataFrame(this.#method.responseSerialize(msg)));
  }

  protected finish(code: StatusCode, message: string): void {
    const trailers: Record<string, string> = { 'grpc-status': String(code) };
    if (message !== '') {
      trailers['grpc-message'] = encodeGrpcMessage(message);
    }
    if (!this.#headersSent) {
      // Trailers-only: the one header frame carries the status.
      this.#headersSent = true;
      this.#send(headerFrame({ 'content-type': 'application/grpc-web+proto', ...trailers }));
    } else {
      this.#send(headerFrame(trailers));
    }
    if (this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.close(1000);
    }
  }

  /** A decoded request message from the transport. */
  deliver(bytes: Buffer): void {
    let msg: unknown;
    try {
      msg = this.#method.requestDeserialize(bytes);
    } catch (err) {
      this.end(Status.INVALID_ARGUMENT, `malformed ${this.path} request: ${(err as Error).message}`);
      return;
    }
    this.received(msg);
  }

  clientHalfClosed(): void {
    this.halfClosed();
  }

  transportClosed(): void {
    this.closed();
  }

  #sendHeaders(): void {
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.#send(headerFrame({ 'content-type': 'application/grpc-web+proto' }));
    }
  }

  #send(b: Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(b, { binary: true });
    }
  }
}

/**
 * Drives one WebSocket: metadata, then frames into the call, until either side ends. Frames that break
 * the framing end the call with a gRPC status, never anything beyond this socket.
 */
export function serveGrpcWebSocket(
  ws: WebSocket,
  path: string,
  method: MethodDefinition<unknown, unknown> | undefined,
  address: string,
  o: GrpcWebSocketOptions,
): void {
  let call: GrpcWebSocketCall | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let halfClosed = false;
  const fail = (code: StatusCode, message: string): void => {
    if (call) {
      call.end(code, message);
      return;
    }
    // Before a call exists (bad metadata, unknown method): a trailers-only answer.
    const frame = headerFrame({
      'content-type': 'application/grpc-web+proto',
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
    });
    if (ws.readyState === ws.OPEN) {
      ws.send(frame, { binary: true });
      ws.close(1000);
    }
  };
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
    if (call?.ended) {
      return;
    }
    if (!call) {
      if (!isBinary && buf.length === 0) {
        return;
      }
      const metadata = parseMetadata(buf);
      if (!metadata) {
        fail(Status.INVALID_ARGUMENT, 'malformed request metadata');
        return;
      }
      if (!method) {
        fail(Status.UNIMPLEMENTED, `unknown service or method ${path}`);
        return;
      }
      call = new GrpcWebSocketCall(ws, path, method, metadata, address);
      o.started(call);
      return;
    }
    if (!isBinary) {
      fail(Status.INVALID_ARGUMENT, 'text frame on a gRPC-web WebSocket');
      return;
    }
    if (buf.length === 1 && buf[0] === 1) {
      halfClosed = true;
      call.clientHalfClosed();
      return;
    }
    if (buf.length === 0 || buf[0] !== 0 || halfClosed) {
      fail(Status.INVALID_ARGUMENT, halfClosed ? 'data after finish-send' : 'malformed gRPC-web frame');
      return;
    }
    pending = pending.length === 0 ? buf.subarray(1) : Buffer.concat([pending, buf.subarray(1)]);
    while (pending.length >= 5 && call && !call.ended) {
      const flags = pending[0]!;
      const length = pending.readUInt32BE(1);
      if (flags !== 0) {
        fail(
          flags & 1 ? Status.UNIMPLEMENTED : Status.INVALID_ARGUMENT,
          flags & 1 ? 'compressed messages are not supported' : 'malformed gRPC frame',
        );
        return;
      }
      if (length > o.maxMessageBytes) {
        fail(
          Status.RESOURCE_EXHAUSTED,
          `message of ${length} bytes is larger than the limit of ${o.maxMessageBytes}`,
        );
        return;
      }
      if (pending.length < 5 + length) {
        break;
      }
      const message = Buffer.from(pending.subarray(5, 5 + length));
      pending = pending.subarray(5 + length);
      call.deliver(message);
    }
    if (pending.length > o.maxMessageBytes + 5) {
      fail(Status.RESOURCE_EXHAUSTED, 'request too large');
    }
  });
  ws.on('close', () => call?.transportClosed());
  ws.on('error', (err) => logger.debug({ err }, 'gRPC-web socket error'));
}
