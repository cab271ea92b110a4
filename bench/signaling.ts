// Signalling for the load clients: ion-sfu JSON-RPC over WebSocket (Switchboard) and the Janus
// HTTP API (sessions, handles, long poll). Both carry the same werift peer connections.
import WebSocket from 'ws';
import type { RTCPeerConnection } from 'werift';

const CALL_TIMEOUT_MS = 20_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** A werift session description as the JSON the servers expect. */
export const sdpOf = (d: { type: string; sdp: string }) => ({ type: d.type, sdp: d.sdp });

/** Candidates already in an SDP: trickled duplicates of them are skipped. */
const hasCandidate = (sdp: string | undefined, candidate: string) =>
  sdp !== undefined && candidate.length > 0 && sdp.includes(candidate.replace(/^candidate:/, ''));

// ------------------------------------------------------------------ ion-sfu JSON-RPC

type Notification = (method: string, params: any) => void;

export class IonSignal {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
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
          p.reject(new Error(`${msg.error.code}: ${msg.error.message}`));
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

  static async connect(url: string): Promise<IonSignal> {
    const ws = new WebSocket(url);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
      CALL_TIMEOUT_MS,
      'websocket connect',
    );
    return new IonSignal(ws);
  }

  call(method: string, params: unknown): Promise<any> {
    const id = this.#nextId++;
    const p = new Promise<any>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
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

/**
 * ion-sfu's two-PC client: `join` with the publisher PC's offer (it has at least the `ion-sfu` data
 * channel, as ion-sdk-js does), then answer every server `offer` on the subscriber PC and apply
 * server trickles to the PC of their `target`. Our candidates travel in the SDPs (werift gathers
 * before setLocalDescription resolves), so we trickle nothing.
 */
export class IonPeer {
  readonly #signal: IonSignal;
  readonly pub: RTCPeerConnection;
  readonly sub: RTCPeerConnection;
  /** Called after the subscriber PC applied a server offer and before it answers. */
  onSubscriberOffer: () => void = () => undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #early: { target: number; candidate: any }[] = [];

  constructor(signal: IonSignal, pub: RTCPeerConnection, sub: RTCPeerConnection) {
    this.#signal = signal;
    this.pub = pub;
    this.sub = sub;
    signal.onNotification = (method, params) => {
      if (method === 'offer') {
        this.#queue = this.#queue.then(() => this.#answer(params)).catch(() => undefined);
      } else if (method === 'trickle') {
        this.#queue = this.#queue.then(() => this.#trickle(params)).catch(() => undefined);
      }
    };
  }

  async join(sid: string, uid: string): Promise<void> {
    this.pub.createDataChannel('ion-sfu');
    await this.pub.setLocalDescription(await this.pub.createOffer());
    const answer = await this.#signal.call('join', { sid, uid, offer: sdpOf(this.pub.localDescription!) });
    await this.pub.setRemoteDescription(answer);
    for (const c of this.#early.splice(0)) {
      await this.#trickle(c);
    }
  }

  async #answer(offer: { type: 'offer'; sdp: string }): Promise<void> {
    await this.sub.setRemoteDescription(offer);
    this.onSubscriberOffer();
    await this.sub.setLocalDescription(await this.sub.createAnswer());
    this.#signal.notify('answer', { desc: sdpOf(this.sub.localDescription!) });
  }

  async #trickle(p: { target: number; candidate: any }): Promise<void> {
    const pc = p.target === 0 ? this.pub : this.sub;
    const remote = pc.remoteDescription?.sdp;
    if (remote === undefined) {
      if (p.target === 0) {
        this.#early.push(p);
      }
      return; // the subscriber's offer carries the same candidates
    }
    if (!p.candidate?.candidate || hasCandidate(remote, String(p.candidate.candidate))) {
      return;
    }
    await pc.addIceCandidate(p.candidate).catch(() => undefined);
  }

  close(): void {
    this.#signal.close();
    void this.pub.close().catch(() => undefined);
    void this.sub.close().catch(() => undefined);
  }
}

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
