import { Emitter } from './Emitter.ts';
import { InvalidStateError, RpcError, SwitchboardClientError, TimeoutError } from './errors.ts';

export type JsonRpcSocketEvents = {
  /** A server notification (a message with `method` and no `id`). */
  notification: [method: string, params: unknown];
  /** A message that belongs to no call: an unparsable frame, or an error response nobody waits for (id 0). */
  error: [err: Error];
  /** The socket closed (by either side); every pending call has been rejected. */
  close: [code: number, reason: string];
};

export interface JsonRpcSocketOptions {
  /** How long a call waits for its response before rejecting with `TimeoutError`. Default 10 000 ms. */
  callTimeoutMs?: number;
  /** WebSocket constructor to use; defaults to the global one. */
  WebSocket?: typeof WebSocket;
}

interface PendingCall {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

type JsonRpcId = string | number | null;

interface IncomingMessage {
  jsonrpc?: string;
  id?: JsonRpcId;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** `WebSocket.OPEN`, spelled out so a substituted WebSocket class works too. */
const WS_OPEN = 1;

/**
 * JSON-RPC 2.0 over one WebSocket, one JSON object per text frame (ion-sfu's `jsonrpc2` ObjectStream).
 * Calls get increasing integer ids (the server accepts any JSON id; ion-sdk-js sends uuids, which need a
 * secure context for `crypto.randomUUID`). Messages sent before the socket opens are queued in order.
 */
export class JsonRpcSocket extends Emitter<JsonRpcSocketEvents> {
  readonly url: string;
  /** Resolves when the socket opens; rejects if it closes first. */
  readonly opened: Promise<void>;
  readonly #ws: WebSocket;
  readonly #callTimeoutMs: number;
  readonly #pending = new Map<number, PendingCall>();
  #queue: string[] = [];
  #nextId = 1;
  #closed = false;
  #resolveOpened!: () => void;
  #rejectOpened!: (err: Error) => void;

  constructor(url: string, options: JsonRpcSocketOptions = {}) {
    super();
    this.url = url;
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    // Nobody may be awaiting `opened`; a close before open is reported through the `close` event too.
    this.opened.catch(() => undefined);
    const WS = options.WebSocket ?? WebSocket;
    this.#ws = new WS(url);
    this.#ws.addEventListener('open', this.#onOpen);
    this.#ws.addEventListener('message', this.#onMessage);
    this.#ws.addEventListener('close', this.#onClose);
    // 'error' is always followed by 'close', which does the teardown.
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a call and resolves with its `result`; rejects with `RpcError` (carrying `code`) on an error response. */
  call<T = unknown>(method: string, params: unknown, timeoutMs = this.#callTimeoutMs): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new InvalidStateError(`cannot call ${method}: socket closed`));
    }
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`${method}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, timer });
      this.#send({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends a notification (no `id`, no response). Throws `InvalidStateError` once closed. */
  notify(method: string, params: unknown): void {
    if (this.#closed) {
      throw new InvalidStateError(`cannot notify ${method}: socket closed`);
    }
    this.#send({ jsonrpc: '2.0', method, params });
  }

  /** Closes the socket and rejects pending calls. Idempotent. */
  close(code = 1000, reason = 'client close'): void {
    if (this.#closed) {
      return;
    }
    try {
      this.#ws.close(code, reason);
    } catch {
      this.#ws.close();
    }
    this.#teardown(code, reason);
  }

  #send(message: object): void {
    const text = JSON.stringify(message);
    if (this.#ws.readyState === WS_OPEN) {
      this.#ws.send(text);
    } else {
      this.#queue.push(text);
    }
  }

  readonly #onOpen = (): void => {
    const queue = this.#queue;
    this.#queue = [];
    for (const text of queue) {
      this.#ws.send(text);
    }
    this.#resolveOpened();
  };

  readonly #onClose = (ev: CloseEvent): void => {
    this.#teardown(ev.code, ev.reason);
  };

  readonly #onMessage = (ev: MessageEvent): void => {
    if (typeof ev.data !== 'string') {
      this.emit('error', new SwitchboardClientError(-32700, 'binary frame on JSON-RPC socket'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(ev.data);
    } catch (err) {
      this.emit('error', new SwitchboardClientError(-32700, 'unparsable JSON-RPC frame', { cause: err }));
      return;
    }
    for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
      if (msg !== null && typeof msg === 'object') {
        this.#dispatch(msg as IncomingMessage);
      }
    }
  };

  #dispatch(msg: IncomingMessage): void {
    const hasId = msg.id !== undefined && msg.id !== null;
    if (typeof msg.method === 'string') {
      if (!hasId) {
        this.emit('notification', msg.method, msg.params);
        return;
      }
      // The server never calls the client in this protocol; say so rather than drop it silently.
      this.#send({
        jsonrpc: '2.0',
        id: msg.id,
        error: { code: -32601, message: `method not found: ${msg.method}` },
      });
      return;
    }
    const call = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined;
    if (msg.error !== undefined && msg.error !== null) {
      const code = typeof msg.error.code === 'number' ? msg.error.code : -32603;
      const message = typeof msg.error.message === 'string' ? msg.error.message : 'unknown error';
      const err = new RpcError(code, call ? `${call.method}: ${message}` : message, msg.error.data);
      if (call) {
        this.#settle(msg.id as number, call);
        call.reject(err);
      } else {
        // ion-sfu answers a failed notification (`trickle`, `answer`) with id 0.
        this.emit('error', err);
      }
      return;
    }
    if (call) {
      this.#settle(msg.id as number, call);
      call.resolve(msg.result);
    }
  }

  #settle(id: number, call: PendingCall): void {
    clearTimeout(call.timer);
    this.#pending.delete(id);
  }

  #teardown(code: number, reason: string): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#ws.removeEventListener('open', this.#onOpen);
    this.#ws.removeEventListener('message', this.#onMessage);
    this.#ws.removeEventListener('close', this.#onClose);
    this.#queue = [];
    this.#rejectOpened(new InvalidStateError(`socket closed before open (code ${code})`));
    for (const call of this.#pending.values()) {
      clearTimeout(call.timer);
      call.reject(new InvalidStateError(`${call.method}: socket closed (code ${code})`));
    }
    this.#pending.clear();
    this.emit('close', code, reason);
    this.removeAllListeners();
  }
}
