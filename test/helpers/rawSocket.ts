// A bare `ws` client for protocol-fault tests: send any frame, read replies in order, see the close code.
import WebSocket from 'ws';

/** A JSON-RPC message as a test reads it. */
export interface RpcMessage {
  id?: unknown;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string };
}

/** An ion-sfu `join` frame with an offer. */
export const joinFrame = (id: number, sid: string, sdp: string): string =>
  JSON.stringify({ id, method: 'join', params: { sid, offer: { type: 'offer', sdp } } });

export interface CloseInfo {
  code: number;
  reason: string;
}

export class RawSocket {
  /** Resolves when the socket closes, with the close code the peer sent (1006 if none). */
  readonly closed: Promise<CloseInfo>;
  readonly #ws: WebSocket;
  readonly #queue: unknown[] = [];
  readonly #waiters: ((msg: unknown) => void)[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    // binaryType is the default 'nodebuffer', so frames arrive as one Buffer.
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        msg = text;
      }
      const waiter = this.#waiters.shift();
      if (waiter) {
        waiter(msg);
      } else {
        this.#queue.push(msg);
      }
    });
    ws.on('error', () => {
      // Reported through `closed`; a write racing the server's close may fail with EPIPE/ECONNRESET.
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
  }

  /**
   * `autoPong: false` leaves the server's pings unanswered, like a client that vanished without a FIN;
   * `ca` trusts that PEM certificate for a `wss://` URL (a self-signed server).
   */
  static async connect(url: string, o: { autoPong?: boolean; ca?: string } = {}): Promise<RawSocket> {
    const ws = new WebSocket(url, {
      autoPong: o.autoPong ?? true,
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new RawSocket(ws);
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  send(data: string | Buffer): void {
    this.#ws.send(data);
  }

  /** The next message (parsed JSON, or the raw text); rejects if none arrives within `timeout` ms. */
  next<T = any>(timeout = 5000): Promise<T> {
    if (this.#queue.length > 0) {
      return Promise.resolve(this.#queue.shift() as T);
    }
    return new Promise<T>((resolve, reject) => {
      const onMessage = (msg: unknown): void => {
        clearTimeout(timer);
        resolve(msg as T);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(onMessage), 1);
        reject(new Error(`no message within ${timeout} ms`));
      }, timeout);
      this.#waiters.push(onMessage);
    });
  }

  /** Reads until the reply to `id`; the notifications before it are returned too. */
  async replyTo(id: number, timeout = 20_000): Promise<{ reply: RpcMessage; seen: RpcMessage[] }> {
    const seen: RpcMessage[] = [];
    const deadline = Date.now() + timeout;
    for (;;) {
      const msg = await this.next<RpcMessage>(Math.max(1, deadline - Date.now()));
      if (msg.id === id) {
        return { reply: msg, seen };
      }
      seen.push(msg);
    }
  }

  /** Sends `data` and returns the next message. */
  async request<T = any>(data: string | Buffer, timeout?: number): Promise<T> {
    this.send(data);
    return this.next<T>(timeout);
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) {
      return;
    }
    const force = setTimeout(() => this.#ws.terminate(), 2000);
    this.#ws.close();
    await this.closed;
    clearTimeout(force);
  }
}
