/**
 * One peer connection of a Licode client (erizo.js opens one per published and one per subscribed
 * stream): a media peer of its own on the node the registry places it on, joined and driven over the
 * Bus like a `/ws` client's peer. Its conn id is the client's plus a suffix, so the media node's
 * notifications (answers, offers, candidates, reconnect) come back to it through SignalRole, and it
 * turns them into Licode's `connection_message_erizo` / `connection_failed`.
 */
import type { Bus } from '../../backbone/index.ts';
import { RECONNECT_NOTIFICATION, subjects, type PeerRequest } from '../../protocol/cluster.ts';
import type { LicodePeerJoin } from '../../protocol/licode.ts';
import type { MemberRecord } from '../../protocol/room.ts';
import { logger } from '../../util/logger.ts';
import { placeAndJoin } from '../placement.ts';
import type { SignalClient } from '../SignalClient.ts';

/** A candidate as erizo.js sends and takes it: the SDP line with its `a=` prefix. */
export interface LicodeCandidate {
  sdpMLineIndex?: number | null | undefined;
  sdpMid?: string | null | undefined;
  candidate: string;
}

export interface LicodeConnectionOptions {
  /** The connection id erizo.js keys its RTCPeerConnection by (also the suffix of our conn id). */
  id: string;
  /** Our conn id on the Bus: `<signal>/<socket id>.<id>`. */
  conn: string;
  signalNode: string;
  cluster: string;
  /** This signal instance's region (`[global] dc`): its clients are placed on media nodes of it. */
  dc: string;
  bus: Bus;
  room: string;
  kind: 'publish' | 'subscribe';
  /** The Licode stream id this connection carries. */
  streamId: number;
  /** Server → client Licode events of this connection. */
  emit: (event: string, payload: unknown) => void;
}

/** Candidates a client sends before its peer exists on a node are kept (and the rest dropped). */
const MAX_EARLY_CANDIDATES = 32;

/** How long an ending subscription waits for the client's answer to the re-offer that ends it. */
const END_TIMEOUT_MS = 5000;

export class LicodeConnection implements SignalClient {
  readonly id: string;
  readonly conn: string;
  readonly kind: 'publish' | 'subscribe';
  readonly streamId: number;
  readonly #o: LicodeConnectionOptions;
  #node: string | undefined;
  #joined = false;
  #early: LicodeCandidate[] = [];
  #closed = false;
  /** Resolves an ending subscription's wait for the client's answer. */
  #answered: (() => void) | undefined;

  constructor(o: LicodeConnectionOptions) {
    this.#o = o;
    this.id = o.id;
    this.conn = o.conn;
    this.kind = o.kind;
    this.streamId = o.streamId;
  }

  get node(): string | undefined {
    return this.#node;
  }

  get membership(): undefined {
    return undefined; // the Licode client is the member, not each of its connections
  }

  /** Creates the media peer (with the publisher's offer, or subscribing to one msid); resolves with the answer. */
  async join(params: LicodePeerJoin): Promise<string | undefined> {
    const o = this.#o;
    const reply = await placeAndJoin(
      o.bus,
      o,
      o.room,
      (node) => (this.#node = node),
      () => this.#forward('join', params),
    );
    this.#joined = true;
    for (const c of this.#early.splice(0)) {
      void this.candidate(c);
    }
    return (reply as { sdp?: string } | null)?.sdp;
  }

  /** A renegotiation offer of the publisher (erizo.js offers again when its tracks change). */
  async offer(sdp: string): Promise<string> {
    const reply = (await this.#forward('offer', { desc: { type: 'offer', sdp } })) as { sdp: string };
    return reply.sdp;
  }

  /** Another call on the media peer (`mute`, `layer`). */
  request(method: 'mute' | 'layer', params: unknown): Promise<unknown> {
    if (this.#node === undefined) {
      return Promise.reject(new Error('not connected yet'));
    }
    return this.#forward(method, params);
  }

  /** The client's answer to our subscriber offer. */
  async answer(sdp: string): Promise<void> {
    await this.#forward('answer', { desc: { type: 'answer', sdp } });
    this.#answered?.();
  }

  /**
   * Ends a subscription as erizo.js expects (licode-client.md §3, Unsubscribe): the media node
   * re-offers the stream's m-lines inactive, the client answers (its tracks end: `removetrack`, then
   * `stream-unsubscribed`), and only then does the peer go (`close`). Resolves once answered, or
   * after END_TIMEOUT_MS.
   */
  async end(msid: string): Promise<void> {
    if (this.#node === undefined || this.#closed) {
      return;
    }
    const answered = new Promise<void>((resolve) => (this.#answered = resolve));
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.#forward('unsubscribe', { streamId: msid });
      await Promise.race([answered, new Promise((resolve) => (timer = setTimeout(resolve, END_TIMEOUT_MS)))]);
    } finally {
      clearTimeout(timer);
      this.#answered = undefined;
    }
  }

  /** A client candidate (`a=candidate:…`); end-of-candidates (`sdpMid: 'end'`) has nothing to add. */
  async candidate(c: LicodeCandidate): Promise<void> {
    if (c.sdpMid === 'end' || c.candidate === 'end' || c.candidate === '') {
      return;
    }
    if (!this.#joined) {
      if (this.#early.length < MAX_EARLY_CANDIDATES) {
        this.#early.push(c);
      }
      return;
    }
    await this.#forward('trickle', {
      target: this.kind === 'publish' ? 0 : 1,
      candidate: {
        candidate: c.candidate.replace(/^a=/, ''),
        sdpMid: c.sdpMid ?? undefined,
        sdpMLineIndex: c.sdpMLineIndex ?? undefined,
      },
    });
  }

  // ---- SignalClient: what the media node sends this connection

  notify(method: string, params: unknown): void {
    const o = this.#o;
    const p = (params ?? {}) as { type?: string; sdp?: string; candidate?: LicodeCandidate; target?: number };
    switch (method) {
      case 'offer': // our subscriber PC's (re)offer
        o.emit('connection_message_erizo', {
          connectionId: this.id,
          info: 202,
          evt: { type: 'offer', sdp: p.sdp },
        });
        return;
      case 'trickle':
        // Not sent on: the media node's SDP already carries every candidate it has (its sockets are
        // bound before it writes a description), and erizo.js adds a candidate without waiting for
        // the remote description, so one arriving before our offer (trickles go out first) fails.
        return;
      case RECONNECT_NOTIFICATION:
        this.#failed();
        return;
      default:
        return; // rosters, audio levels, layers: the Licode client gets the room's roster on its own
    }
  }

  notifyFrame(method: string, frame: string): void {
    try {
      this.notify(method, (JSON.parse(frame) as { params?: unknown }).params);
    } catch {
      // not ours to parse
    }
  }

  updateRecord(_m: MemberRecord): void {}

  nodeLost(): void {
    this.#failed();
  }

  ping(): void {}

  /** The client unpublished, unsubscribed or left: the media peer goes. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#node) {
      this.#forward('leave', null).catch((err: unknown) =>
        logger.debug({ err, conn: this.conn }, 'Licode connection leave failed'),
      );
    }
  }

  /** The media node lost the peer (ICE failed, node gone): erizo.js shows `stream-failed`. */
  #failed(): void {
    if (!this.#closed) {
      this.#o.emit('connection_failed', { type: this.kind, streamId: this.streamId });
    }
  }

  #forward(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const o = this.#o;
    const req: PeerRequest = { conn: this.conn, signal: o.signalNode, method, params };
    return o.bus.request(subjects.sfuRpc(o.cluster, this.#node!), req, { timeoutMs: 15_000 });
  }
}
