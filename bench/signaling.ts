// Signalling for the load clients: ion-sfu JSON-RPC over WebSocket (Switchboard, shared with
// `switchboard loadtest` in src/loadtest/) and the Janus HTTP API (sessions, handles, long poll).
// Both carry the same werift peer connections.
import { withTimeout } from '../src/loadtest/withTimeout.ts';

export { IonPeer } from '../src/loadtest/IonPeer.ts';
export { IonSignal, sdpOf } from '../src/loadtest/IonSignal.ts';

const CALL_TIMEOUT_MS = 20_000;

// ------------------------------------------------------------------ Janus HTTP API

interface JanusEvent {
  janus: string;
  transaction?: string;
  sender?: number;
  plugindata?: { data?: any };
  jsep?: { type: 'offer' | 'answer'; sdp: string };
  error?: { code: number; reason: string };
}

/** One Janus session with a long-poll loop; plugin events are matched to requests by transaction. */
export class JanusSession {
  readonly id: number;
  readonly #base: string;
  readonly #waiters = new Map<string, (e: JanusEvent) => void>();
  #closed = false;
  #tx = 0;

  private constructor(base: string, id: number) {
    this.#base = base;
    this.id = id;
    void this.#poll();
  }

  static async create(base: string): Promise<JanusSession> {
    const r = await post(base, { janus: 'create', transaction: 'create' });
    if (r.janus !== 'success') {
      throw new Error(`janus create: ${JSON.stringify(r.error ?? r)}`);
    }
    return new JanusSession(base, (r as any).data.id as number);
  }

  async attach(): Promise<number> {
    const r = await post(`${this.#base}/${this.id}`, {
      janus: 'attach',
      plugin: 'janus.plugin.videoroom',
      transaction: this.#nextTx(),
    });
    if (r.janus !== 'success') {
      throw new Error(`janus attach: ${JSON.stringify(r.error ?? r)}`);
    }
    return (r as any).data.id as number;
  }

  /** A plugin request; resolves with its (possibly asynchronous) event. */
  async message(handle: number, body: Record<string, unknown>, jsep?: unknown): Promise<JanusEvent> {
    const transaction = this.#nextTx();
    const event = new Promise<JanusEvent>((resolve) => this.#waiters.set(transaction, resolve));
    const r = await post(`${this.#base}/${this.id}/${handle}`, {
      janus: 'message',
      transaction,
      body,
      ...(jsep ? { jsep } : {}),
    });
    if (r.janus === 'ack') {
      const e = await withTimeout(event, CALL_TIMEOUT_MS, `janus ${String(body.request)}`).finally(() =>
        this.#waiters.delete(transaction),
      );
      return checked(e, body);
    }
    this.#waiters.delete(transaction);
    return checked(r, body);
  }

  async trickleComplete(handle: number): Promise<void> {
    await post(`${this.#base}/${this.id}/${handle}`, {
      janus: 'trickle',
      transaction: this.#nextTx(),
      candidate: { completed: true },
    });
  }

  async detach(handle: number): Promise<void> {
    await post(`${this.#base}/${this.id}/${handle}`, { janus: 'detach', transaction: this.#nextTx() }).catch(
      () => undefined,
    );
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    await post(`${this.#base}/${this.id}`, { janus: 'destroy', transaction: this.#nextTx() }).catch(
      () => undefined,
    );
  }

  #nextTx(): string {
    return `t${++this.#tx}`;
  }

  async #poll(): Promise<void> {
    while (!this.#closed) {
      try {
        const res = await fetch(`${this.#base}/${this.id}?maxev=20&rid=${Date.now()}`);
        const body = (await res.json()) as JanusEvent | JanusEvent[];
        for (const e of Array.isArray(body) ? body : [body]) {
          if (e.transaction && this.#waiters.has(e.transaction)) {
            this.#waiters.get(e.transaction)!(e);
            this.#waiters.delete(e.transaction);
          }
        }
      } catch {
        if (!this.#closed) {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }
}

function checked(e: JanusEvent, body: Record<string, unknown>): JanusEvent {
  const data = e.plugindata?.data;
  if (e.janus === 'error' || data?.error) {
    throw new Error(`janus ${String(body.request)}: ${e.error?.reason ?? data?.error ?? 'error'}`);
  }
  return e;
}

async function post(url: string, body: unknown): Promise<JanusEvent> {
  const res = await withTimeout(
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    CALL_TIMEOUT_MS,
    'janus http',
  );
  return (await res.json()) as JanusEvent;
}
