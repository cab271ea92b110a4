import { randomUUID } from 'node:crypto';
import { Peer } from './Peer.ts';
import { Session } from './Session.ts';
import { Subscriptions } from './Subscriptions.ts';
import type { IngressStats } from './Ingress.ts';
import type { DataPolicy } from './DataPolicy.ts';
import type { MediaOptions, Participant, SignalSink } from './types.ts';
import { TransportPool } from './transport/TransportPool.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { InvalidStateError } from '../util/errors.ts';

export type SFUEvents = {
  session: [Session];
  peer: [Peer, Session];
  participants: [Session, Participant[]];
};

export interface JoinRequest {
  sid: string;
  uid: string;
  name: string;
  /** The client's publisher offer; none for a peer that only receives (its subscriber PC offers first). */
  offer?: string | undefined;
  sink: SignalSink;
  /** The peer is another node's relay link (Peer.relay); its media options are `relayOptions`. */
  relay?: boolean;
  /** What it receives (default `Subscriptions.all()`: every track and data channel of the room). */
  subscribes?: Subscriptions | undefined;
  /** The participant it belongs to, when that is not `uid` (a Licode client has a peer per stream). */
  member?: string | undefined;
  /**
   * A viewer's offer (WHEP): the client offers its recvonly m-lines and the subscriber PC answers
   * (Subscriber.answerOffer), every track in stream `view.streamId`. Exclusive with `offer`.
   */
  view?: { offer: string; streamId: string } | undefined;
  /** Its protocol's data rules (DataPolicy.ts); default ion-sfu's. */
  data?: DataPolicy | undefined;
}

/**
 * Media options of relay links: no REMB cap (a link carries many tracks, and the far node's
 * subscribers apply their own), and a full ICE agent on the side that offers (two ICE-lite
 * agents cannot connect).
 */
export function relayOptions(o: MediaOptions): MediaOptions {
  return { ...o, maxBandwidthKbps: 0, iceLite: false, maxMediaSections: 0 };
}

/** The media core of one node: sessions by id. It knows nothing of the Bus, the Store or sockets. */
export class SFU extends TypedEmitter<SFUEvents> {
  readonly options: MediaOptions;
  readonly #sessions = new Map<string, Session>();
  /** Packets and bytes of receivers and downtracks that have closed, so counters stay monotonic. */
  readonly totals = {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    fastStarts: 0,
    nacksIn: 0,
    retransmitted: 0,
  };
  /** Ingress counters of closed peers (live ones: `ingressTotals`). */
  readonly #ingressClosed = { packets: 0, dropped: 0, unrouted: 0, nacksSent: 0 };

  /** Every media socket of this node (`[webrtc]` ports, ICE-TCP, timeouts). */
  readonly transports: TransportPool;

  constructor(options: MediaOptions) {
    super();
    this.options = options;
    const t = options.iceTimeouts ?? { disconnected: 5, failed: 25, keepalive: 2 };
    this.transports = new TransportPool({
      singlePort: options.singlePort,
      portRange: options.portRange,
      tcpPort: options.tcpPort,
      announcedAddresses: options.nat1to1 ?? [],
      timeouts: {
        disconnectedMs: t.disconnected * 1000,
        failedMs: t.failed * 1000,
        keepaliveMs: t.keepalive * 1000,
      },
    });
  }

  /** Binds the shared sockets (`singleport`, `tcpport`): a port in use fails the start, not a join. */
  async start(): Promise<void> {
    await this.transports.open();
  }

  get sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  getSession(sid: string): Session | undefined {
    return this.#sessions.get(sid);
  }

  /**
   * Creates the peer and answers its publisher offer (`answer` is undefined for a peer without one).
   * A second join with the same uid replaces the first.
   */
  async join(req: JoinRequest): Promise<{ peer: Peer; answer: string | undefined }> {
    const session = this.#session(req.sid);
    session.findByUid(req.uid)?.close('duplicate-identity');
    const relay = req.relay === true;
    // A relay link's offers carry a whole room (and come from our own nodes): no section limit.
    const opts = relay ? { ...this.options, maxBandwidthKbps: 0, maxMediaSections: 0 } : this.options;
    const sockets = this.transports.lease();
    // A relay peer's subscriber PC gets a socket of its own (see addRelayPeer).
    const subSockets = relay ? this.transports.lease() : sockets;
    const peer = new Peer(
      randomUUID(),
      req.uid,
      req.name,
      { ...opts, sockets },
      req.sink,
      session.observeAudio,
      relay,
      { ...opts, sockets: subSockets },
      {
        subscribes: req.subscribes ?? Subscriptions.all(),
        member: req.member ?? req.uid,
        answering: req.view !== undefined,
        ...(req.data ? { data: req.data } : {}),
      },
    );
    peer.once('close', () => {
      void sockets.release();
      if (subSockets !== sockets) {
        void subSockets.release();
      }
    });
    this.#account(peer);
    try {
      const answer =
        req.view !== undefined
          ? await peer.view(req.view.offer, req.view.streamId)
          : req.offer === undefined
            ? undefined
            : await peer.offer(req.offer);
      if (peer.closed) {
        throw new InvalidStateError('peer closed during join');
      }
      session.addPeer(peer);
      this.safeEmit('peer', peer, session);
      return { peer, answer };
    } catch (err) {
      peer.close('client-leave');
      if (session.size === 0) {
        session.close();
      }
      throw err;
    }
  }

  /**
   * Adds a relay link's peer (src/sfu/Relays.ts) to session `sid`, creating the session if needed. It has
   * no client offer to answer: its subscriber PC offers first (the far node answers as it answers a
   * client's publisher offer), and it answers the far node's offers on its publisher PC.
   */
  addRelayPeer(
    sid: string,
    uid: string,
    name: string,
    sink: SignalSink,
    data?: DataPolicy,
  ): { peer: Peer; session: Session } {
    const session = this.#session(sid);
    session.findByUid(uid)?.close('duplicate-identity');
    // Both PCs of a relay link talk to the same far node (whose two PCs may share one socket): on one
    // shared socket, demultiplexed by remote address, their datagrams would go to the wrong PC. So
    // each PC of a relay peer, here and on the far node (join with `relay`), has a socket of its own.
    // (With `[webrtc] singleport` every lease is the one socket: relay links need portrange.)
    const sockets = this.transports.lease();
    const subSockets = this.transports.lease();
    const peer = new Peer(
      randomUUID(),
      uid,
      name,
      { ...relayOptions(this.options), sockets },
      sink,
      session.observeAudio,
      true,
      { ...relayOptions(this.options), sockets: subSockets },
      { subscribes: Subscriptions.all(), member: uid, ...(data ? { data } : {}) },
    );
    peer.once('close', () => {
      void sockets.release();
      void subSockets.release();
    });
    this.#account(peer);
    session.addPeer(peer);
    this.safeEmit('peer', peer, session);
    return { peer, session };
  }

  close(): void {
    for (const s of [...this.#sessions.values()]) {
      s.close();
    }
    this.#sessions.clear();
    void this.transports.close();
  }

  #session(sid: string): Session {
    let s = this.#sessions.get(sid);
    if (!s) {
      const o = this.options;
      const session = new Session(sid, {
        threshold: o.audioLevelThreshold,
        intervalMs: o.audioLevelIntervalMs,
        filter: o.audioLevelFilter,
      });
      session.once('close', () => {
        if (this.#sessions.get(sid) === session) {
          this.#sessions.delete(sid);
        }
      });
      session.on('participants', (list) => this.safeEmit('participants', session, list));
      this.#sessions.set(sid, session);
      this.safeEmit('session', session);
      s = session;
    }
    return s;
  }

  #account(peer: Peer): void {
    peer.on('receiver', (r) =>
      r.once('close', () => {
        this.totals.packetsIn += r.packets;
        this.totals.bytesIn += r.bytes;
      }),
    );
    peer.on('downTrackClose', (dt) => {
      this.totals.packetsOut += dt.packetsSent;
      this.totals.bytesOut += dt.bytesSent;
      this.totals.fastStarts += dt.fastStarts;
      this.totals.nacksIn += dt.nacksReceived;
      this.totals.retransmitted += dt.retransmitted;
    });
    peer.once('close', () => addIngress(this.#ingressClosed, peer.publisher.ingress));
  }

  /** SRTP packets our ingress took, dropped (authentication, replay, malformed) and could not route; NACKs sent. */
  ingressTotals(): IngressStats {
    const sum = { ...this.#ingressClosed };
    for (const s of this.#sessions.values()) {
      for (const p of s.peers) {
        addIngress(sum, p.publisher.ingress);
      }
    }
    return sum;
  }
}

function addIngress(to: IngressStats, from: IngressStats): void {
  to.packets += from.packets;
  to.dropped += from.dropped;
  to.unrouted += from.unrouted;
  to.nacksSent += from.nacksSent;
}
