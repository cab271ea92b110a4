// ion-sfu JSON-RPC over a WebSocket (`/ws`), as the load clients speak it: calls with ids and a
// timeout, notifications both ways.
import WebSocket from 'ws';
import { withTimeout } from './withTimeout.ts';

const CALL_TIMEOUT_MS = 20_000;

/** An error answer to a call: ion-sfu's `{code, message}` (401, 403, 500, or a JSON-RPC fault). */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly method: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

/** A werift session description as the JSON the servers expect. */
export const sdpOf = (d: { type: string; sdp: string }) => ({ type: d.type, sdp: d.sdp });

type Notification = (method: string, params: any) => void;

export class IonSignal {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (v: any) => void; reject: (e: Error) => void; method: string }
  >();
  onNotification: Notification = () => undefined;
  closed = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      let msg: any;
      try {
        msg = JSON.parse((data as Buffer).toString('utf8'));
      } catch {
        return;
      }
      if (msg.id !== undefined && msg.id !== null && this.#pending.has(msg.id)) {
        const p = this.#pending.get(msg.id)!;
        this.#pending.delete(msg.id);
        if (msg.error) {
          p.reject(new RpcError(Number(msg.error.code), String(msg.error.message), p.method));
        } else {
          p.resolve(msg.result);
        }
      } else if (typeof msg.method === 'string') {
        this.onNotification(msg.method, msg.params);
      }
    });
    ws.on('close', () => {
      this.closed = true;
      for (const p of this.#pending.values()) {
        p.reject(new Error('socket closed'));
      }
      this.#pending.clear();
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string, timeoutMs = CALL_TIMEOUT_MS): Promise<IonSignal> {
    const ws = new WebSocket(url);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        }),
        timeoutMs,
        'websocket connect',
      );
    } catch (err) {
      ws.on('error', () => undefined);
      ws.terminate();
      throw err;
    }
    return new IonSignal(ws);
  }

  call(method: string, params: unknown): Promise<any> {
    const id = this.#nextId++;
    const p = new Promise<any>((resolve, reject) => this.#pending.set(id, { resolve, reject, method }));
    this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return withTimeout(p, CALL_TIMEOUT_MS, method);
  }

  notify(method: string, params: unknown): void {
    if (this.#ws.readyState === WebSocket.OPEN) {
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
    }
  }

  close(): void {
    this.#ws.close();
  }
}
