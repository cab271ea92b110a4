// The client side of gRPC-web over a WebSocket, as improbable-eng's WebsocketTransport (Ion.Connector)
// speaks it (reference/ion.md §2d), for tests of ION's services: a header block, `0x00` + gRPC frames,
// `0x01` to finish sending; the server's byte stream of `0x80` header / trailer frames and `0x00` data
// frames is parsed back. Messages are encoded and decoded with the service definitions of protos.ts.
import WebSocket from 'ws';
import { ionMethod } from '../../src/signal/ion/protos.ts';

export interface GrpcStatus {
  /** grpc-status; -1 when the socket closed without trailers. */
  code: number;
  /** grpc-message, percent-decoded. */
  message: string;
  /** Every header and trailer line the server sent, keys lower-case. */
  headers: Record<string, string>;
}

export interface GrpcWebCall<Res = any> {
  /** Serialises and sends one request message. */
  send(msg: unknown): void;
  /** Sends raw bytes as one WebSocket message (for malformed-input tests); `0x00` prefix not added. */
  sendRaw(bytes: Uint8Array): void;
  /** Finish-send (the client's half-close). */
  finish(): void;
  /** Response messages so far, decoded. */
  readonly messages: Res[];
  /** The first message (already received or to come) for which `pred` holds; rejects when the call ends first or after `timeout` ms. */
  waitFor<T extends Res = Res>(pred: (m: Res) => boolean, timeout?: number): Promise<T>;
  /** The messages as they come, until the call ends. */
  [Symbol.asyncIterator](): AsyncIterator<Res>;
  /** The call's status (trailers). */
  readonly status: Promise<GrpcStatus>;
  /** Closes the WebSocket (a client cancel). */
  close(): void;
}

/** `http://host:port` or `ws://…` base (or a full URL whose path is replaced) → the WebSocket URL of `path`. */
function wsUrl(url: string, path: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
  u.pathname = path;
  u.search = '';
  return u.toString();
}

function parseHeaderBlock(text: string, into: Record<string, string>): void {
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      into[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
}

function grpcFrame(message: Uint8Array): Buffer {
  const head = Buffer.alloc(6);
  head[0] = 0x00; // our WebSocket message kind: data
  head[1] = 0x00; // gRPC: not compressed
  head.writeUInt32BE(message.length, 2);
  return Buffer.concat([head, message]);
}

/**
 * Opens one call. `path` is `/package.Service/Method`; `metadata` goes into the header block (e.g.
 * `{ authorization: token }`). Resolves once the WebSocket is open and the header block sent; rejects
 * if the upgrade is refused. A path our protos do not define can still be opened (messages are then
 * neither encoded nor decoded: use sendRaw).
 */
export async function openGrpcWeb<Res = any>(
  url: string,
  path: string,
  metadata: Record<string, string> = {},
): Promise<GrpcWebCall<Res>> {
  const method = ionMethod(path);
  const ws = new WebSocket(wsUrl(url, path), 'grpc-websockets');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused: HTTP ${res.statusCode ?? '?'}`)),
    );
  });
  ws.on('error', () => {
    // Reported through `status`; a write racing the server's close may fail.
  });

  const messages: Res[] = [];
  const headers: Record<string, string> = {};
  const wake: (() => void)[] = [];
  let ended = false;
  let resolveStatus!: (s: GrpcStatus) => void;
  const status = new Promise<GrpcStatus>((resolve) => (resolveStatus = resolve));
  const end = (s: GrpcStatus): void => {
    if (!ended) {
      ended = true;
      resolveStatus(s);
      for (const w of wake.splice(0)) {
        w();
      }
    }
  };
  const changed = (): void => {
    for (const w of wake.splice(0)) {
      w();
    }
  };

  let pending = Buffer.alloc(0);
  ws.on('message', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 5) {
      const flag = pending[0]!;
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) {
        break;
      }
      const body = pending.subarray(5, 5 + length);
      pending = pending.subarray(5 + length);
      if (flag & 0x80) {
        parseHeaderBlock(body.toString('latin1'), headers);
        if (headers['grpc-status'] !== undefined) {
          end({
            code: Number(headers['grpc-status']),
            message: decodeURIComponent(headers['grpc-message'] ?? ''),
            headers: { ...headers },
          });
        }
      } else if (method) {
        messages.push(method.responseDeserialize(Buffer.from(body)) as Res);
        changed();
      } else {
        messages.push(Buffer.from(body) as Res);
        changed();
      }
    }
  });
  ws.once('close', () => end({ code: -1, message: 'closed without status', headers: { ...headers } }));

  const block = Object.entries({
    'content-type': 'application/grpc-web+proto',
    'x-grpc-web': '1',
    ...metadata,
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  ws.send(Buffer.from(block, 'latin1'));

  const send = (bytes: Uint8Array): void => {
    if (ws.readyState === ws.OPEN) {
      ws.send(bytes);
    }
  };

  return {
    messages,
    status,
    send(msg: unknown): void {
      if (!method) {
        throw new Error(`no message types for ${path}: use sendRaw`);
      }
      send(grpcFrame(method.requestSerialize(msg)));
    },
    sendRaw: send,
    finish(): void {
      send(Buffer.from([0x01]));
    },
    async waitFor<T extends Res = Res>(pred: (m: Res) => boolean, timeout = 10_000): Promise<T> {
      const deadline = Date.now() + timeout;
      let seen = 0;
      for (;;) {
        for (; seen < messages.length; seen++) {
          if (pred(messages[seen]!)) {
            return messages[seen] as T;
          }
        }
        if (ended) {
          const s = await status;
          throw new Error(`${path} ended (status ${s.code} ${s.message}) before the message waited for`);
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`${path}: no such message within ${timeout} ms (got ${messages.length})`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    async *[Symbol.asyncIterator](): AsyncIterator<Res> {
      let i = 0;
      for (;;) {
        if (i < messages.length) {
          yield messages[i++]!;
          continue;
        }
        if (ended) {
          return;
        }
        await new Promise<void>((resolve) => wake.push(resolve));
      }
    },
    close(): void {
      ws.close();
    },
  };
}

/** One unary call: the request, finish-send, then the reply (if any) and the status. */
export async function grpcWebUnary<Res = any>(
  url: string,
  path: string,
  request: unknown,
  metadata: Record<string, string> = {},
): Promise<{ reply: Res | undefined; status: GrpcStatus }> {
  const call = await openGrpcWeb<Res>(url, path, metadata);
  call.send(request);
  call.finish();
  const status = await call.status;
  call.close();
  return { reply: call.messages[0], status };
}
