/**
 * Sends fuzz frames to `/ws` one at a time and checks what comes back: every request with an id gets
 * exactly one JSON-RPC reply, every error has an integer code and a message without internal text,
 * and the socket closes only where the protocol says so. It uses two sockets, one that never joined
 * (join frames) and one joined to a room (signalling and `room.*` frames), and opens a new one when
 * the server closes a socket; joins are few and retried with a pause, so a per-address join-rate
 * limit slows the run down instead of breaking it.
 */
import WebSocket from 'ws';
import { validOffer } from './hostileSdp.ts';
import { leakIn } from './leaks.ts';
import type { Frame, MutationClass } from './mutations.ts';

export interface Violation {
  cls: MutationClass | 'after';
  label: string;
  problem: string;
  /** The frame's first 200 characters. */
  frame: string;
}

interface Reply {
  jsonrpc?: unknown;
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

type Outcome = { reply: Reply } | { closed: { code: number; reason: string } } | { timeout: true };

/** One client socket: replies in arrival order, server notifications counted and dropped. */
export class FuzzSocket {
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly replies: Reply[] = [];
  /** Notifications the server sent (method → params), newest last. */
  readonly notifications: { method: string; params: unknown }[] = [];
  #closeInfo: { code: number; reason: string } | undefined;
  #wake: (() => void) | undefined;
  readonly #ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse((data as Buffer).toString('utf8'));
      } catch {
        msg = { unparseable: (data as Buffer).toString('utf8').slice(0, 200) };
      }
      const m = msg as { method?: unknown; params?: unknown };
      if (typeof m.method === 'string') {
        this.notifications.push({ method: m.method, params: m.params });
        if (this.notifications.length > 1000) {
          this.notifications.splice(0, 500);
        }
      } else {
        this.replies.push(msg as Reply);
      }
      this.#wake?.();
    });
    ws.on('error', () => undefined); // reported through `closed`
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.#closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.#closeInfo);
        this.#wake?.();
      });
    });
  }

  static async open(url: string): Promise<FuzzSocket> {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new FuzzSocket(ws);
  }

  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  send(data: string | Buffer, binary = false): void {
    this.#ws.send(data, { binary });
  }

  /** The first reply (already received or coming) that `match` accepts; removes it from `replies`. */
  async wait(match: (r: Reply) => boolean, timeoutMs: number): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.replies.findIndex(match);
      if (i >= 0) {
        return { reply: this.replies.splice(i, 1)[0]! };
      }
      if (this.#closeInfo) {
        return { closed: this.#closeInfo };
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        return { timeout: true };
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
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

export interface WsFuzzOptions {
  /** `ws://host:port/ws`. */
  wsUrl: string;
  /** How long a reply may take. Default 10000 ms. */
  replyTimeoutMs?: number;
  /** Prefix of the rooms the fuzzer joins. */
  roomPrefix?: string;
}

/** Close codes a server may use on purpose (too big, bad UTF-8, policy, kicked, ended, try later…). */
const DELIBERATE_CLOSES = new Set([1000, 1001, 1007, 1008, 1009, 1013, 4001, 4002, 4003, 4029]);

const excerpt = (d: string | Buffer): string => {
  const s = typeof d === 'string' ? d : `<${d.length} bytes> ${d.toString('latin1')}`;
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
};

/** `error -32602 Invalid params: sid: …` with quoted parts and numbers blurred, for counting. */
export function responseClass(r: Reply): string {
  if (r.error === undefined) {
    return 'result';
  }
  const msg = typeof r.error.message === 'string' ? r.error.message : JSON.stringify(r.error.message);
  const blurred = (msg ?? '')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\(log id [0-9a-f]+\)/, '(log id …)')
    .replace(/\d+/g, '#');
  return `error ${String(r.error.code)} ${blurred.length > 90 ? `${blurred.slice(0, 90)}…` : blurred}`;
}

export class WsFuzzer {
  /** Response classes per mutation class, with counts. */
  readonly responses = new Map<string, Map<string, number>>();
  readonly violations: Violation[] = [];
  sent = 0;
  /** Joins the fuzzer itself made for its member socket (not the fuzzed join frames). */
  ownJoins = 0;
  readonly #o: Required<WsFuzzOptions>;
  #fresh: FuzzSocket | undefined;
  #member: FuzzSocket | undefined;
  #memberJoined = false;
  /** When the fuzzer's own join last failed: retried after a pause, not before every frame. */
  #joinFailedAt = 0;
  #rooms = 0;
  #syncs = 0;
  readonly #answered = new Set<string | number>();

  constructor(o: WsFuzzOptions) {
    this.#o = { replyTimeoutMs: 10_000, roomPrefix: `fz-${process.pid}`, ...o };
  }

  /** Sends one frame and checks what the server owes it. */
  async send(f: Frame): Promise<void> {
    // The media node drops a peer whose ICE failed or whose negotiation broke it; the member socket
    // then only hears "no rtc transport": join again and resend, once.
    for (let attempt = 0; ; attempt++) {
      const sock = await this.#socketFor(f);
      const lost = await this.#sendOn(sock, f, attempt === 0 && sock === this.#member);
      if (!lost) {
        return;
      }
      await this.#drop(sock);
    }
  }

  /** Returns true (and counts nothing) when `retry` is set and the member's peer turned out gone. */
  async #sendOn(sock: FuzzSocket, f: Frame, retry: boolean): Promise<boolean> {
    this.#drainStray(sock, f);
    sock.send(f.data, f.binary === true);
    this.sent++;
    const timeout = this.#o.replyTimeoutMs;
    const e = f.expect;
    let outcome: Outcome;
    if (e.kind === 'reply') {
      outcome = await sock.wait((r) => r.id === e.id, timeout);
    } else if (e.kind === 'null-reply') {
      outcome = await sock.wait((r) => r.id === null, timeout);
    } else if (e.kind === 'none') {
      // A notification: whatever the server says comes before the answer to a request sent after it.
      const id = `sync-${++this.#syncs}`;
      if (sock.isOpen) {
        sock.send(`{"id":"${id}","method":"fz.sync"}`);
      }
      outcome = await sock.wait((r) => r.id === id, timeout);
      if ('reply' in outcome) {
        this.#drainStray(sock, f, true);
        this.#count(f.cls, 'notification (no reply owed)');
        return false;
      }
    } else {
      const closed = await Promise.race([sock.closed, new Promise<undefined>((r) => setTimeout(r, timeout))]);
      if (closed === undefined) {
        this.#violate(f, `expected a close ${e.code}, the socket stayed open`);
        await this.#drop(sock);
      } else {
        this.#count(f.cls, `closed ${closed.code}`);
        if (closed.code !== e.code) {
          this.#violate(f, `expected close ${e.code}, got ${closed.code} ${closed.reason}`);
        }
        this.#forget(sock);
      }
      return false;
    }
    if (retry && 'reply' in outcome && /no rtc transport/.test(String(outcome.reply.error?.message))) {
      return true;
    }
    this.#settle(f, sock, outcome);
    return false;
  }

  /** Closes both sockets (the server then drops their peers). */
  async close(): Promise<void> {
    await Promise.all([this.#fresh?.close(), this.#member?.close()]);
    this.#fresh = undefined;
    this.#member = undefined;
  }

  #settle(f: Frame, sock: FuzzSocket, outcome: Outcome): void {
    if ('timeout' in outcome) {
      this.#count(f.cls, 'no reply');
      this.#violate(f, `no reply within ${this.#o.replyTimeoutMs} ms`);
      void this.#drop(sock); // a late reply would be misread on this socket
      return;
    }
    if ('closed' in outcome) {
      const { code, reason } = outcome.closed;
      this.#count(f.cls, `closed ${code} before reply`);
      if (!DELIBERATE_CLOSES.has(code)) {
        this.#violate(f, `socket closed (${code} ${reason}) instead of a reply`);
      }
      this.#forget(sock);
      return;
    }
    const r = outcome.reply;
    this.#check(f, r);
    if (typeof r.id === 'string' || (typeof r.id === 'number' && r.id !== 0)) {
      this.#answered.add(r.id);
    }
    // A fuzzed join that worked leaves that socket joined: the next join frame needs a fresh one.
    if (sock === this.#fresh && r.error === undefined && f.needs === 'fresh') {
      this.#fresh = undefined;
      void sock.close();
    }
  }

  /** Checks one reply's shape and text. */
  #check(f: Frame, r: Reply): void {
    this.#count(f.cls, responseClass(r));
    if (r.jsonrpc !== '2.0') {
      this.#violate(f, `reply without jsonrpc "2.0": ${JSON.stringify(r).slice(0, 200)}`);
    }
    if ((r.error === undefined) === (r.result === undefined)) {
      this.#violate(f, `reply needs exactly one of result and error: ${JSON.stringify(r).slice(0, 200)}`);
    }
    if (r.error !== undefined) {
      const { code, message } = r.error;
      if (!Number.isInteger(code)) {
        this.#violate(f, `error code is not an integer: ${JSON.stringify(code)}`);
      }
      if (typeof message !== 'string') {
        this.#violate(f, `error message is not a string: ${JSON.stringify(message)}`);
      } else {
        const leak = leakIn(message);
        if (leak) {
          this.#violate(f, `error message shows ${leak}: ${JSON.stringify(message.slice(0, 300))}`);
        }
      }
    }
  }

  /**
   * Replies nobody waited for: errors to notifications (id 0 or null) are checked like others; a
   * second reply to an id, or a reply to an id never sent, is a violation.
   */
  #drainStray(sock: FuzzSocket, f: Frame, attribute = false): void {
    for (const r of sock.replies.splice(0)) {
      if ((typeof r.id === 'string' || typeof r.id === 'number') && r.id !== 0 && this.#answered.has(r.id)) {
        this.#violate(f, `a second reply to id ${r.id}: ${JSON.stringify(r).slice(0, 200)}`);
      } else if (r.id === 0 || r.id === null) {
        if (attribute) {
          this.#check(f, r);
        } else if (r.error !== undefined && typeof r.error.message === 'string' && leakIn(r.error.message)) {
          this.#violate(f, `late error shows ${leakIn(r.error.message)}: ${r.error.message.slice(0, 300)}`);
        }
      } else if (!(typeof r.id === 'string' && r.id.startsWith('sync-'))) {
        this.#violate(f, `reply to an id nobody waits for: ${JSON.stringify(r).slice(0, 200)}`);
      }
    }
  }

  async #socketFor(f: Frame): Promise<FuzzSocket> {
    const member = f.needs === 'member' || (f.needs === 'any' && this.sent % 2 === 1);
    if (!member) {
      if (!this.#fresh?.isOpen) {
        this.#fresh = await FuzzSocket.open(this.#o.wsUrl);
      }
      return this.#fresh;
    }
    if (!this.#member?.isOpen) {
      this.#member = await FuzzSocket.open(this.#o.wsUrl);
      this.#memberJoined = false;
    }
    if (!this.#memberJoined && Date.now() - this.#joinFailedAt > 5000) {
      this.#memberJoined = await this.#join(this.#member, f);
      this.#joinFailedAt = this.#memberJoined ? 0 : Date.now();
    }
    return this.#member;
  }

  /** A well-formed join on `sock` (a new room each time); retried with a pause while refused. */
  async #join(sock: FuzzSocket, f: Frame): Promise<boolean> {
    let last = '';
    for (let attempt = 0; attempt < 10; attempt++) {
      const room = `${this.#o.roomPrefix}-m${++this.#rooms}`;
      const id = `join-${room}`;
      sock.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'join',
          params: { sid: room, uid: 'fz-member', offer: { type: 'offer', sdp: validOffer() } },
        }),
      );
      this.ownJoins++;
      const o = await sock.wait((r) => r.id === id, this.#o.replyTimeoutMs);
      if ('reply' in o && o.reply.error === undefined) {
        return true;
      }
      if (!('reply' in o)) {
        last = 'timeout' in o ? 'no reply' : `closed ${o.closed.code}`;
        break;
      }
      last = JSON.stringify(o.reply.error);
      await new Promise((r) => setTimeout(r, Math.min(2000, 250 * (attempt + 1))));
    }
    this.#violate(f, `the fuzzer's own well-formed join failed (${last}); frame sent unjoined`);
    return false;
  }

  #forget(sock: FuzzSocket): void {
    if (sock === this.#fresh) {
      this.#fresh = undefined;
    }
    if (sock === this.#member) {
      this.#member = undefined;
      this.#memberJoined = false;
    }
  }

  async #drop(sock: FuzzSocket): Promise<void> {
    this.#forget(sock);
    await sock.close();
  }

  #count(cls: string, what: string): void {
    let m = this.responses.get(cls);
    if (!m) {
      m = new Map();
      this.responses.set(cls, m);
    }
    m.set(what, (m.get(what) ?? 0) + 1);
  }

  #violate(f: Frame, problem: string): void {
    this.violations.push({ cls: f.cls, label: f.label, problem, frame: excerpt(f.data) });
  }
}
