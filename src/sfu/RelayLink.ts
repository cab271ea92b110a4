/**
 * One relay link: this node's session of a room joined to the session of the room's owner on another
 * node, as a client would join it. See Relays.ts for when links are made and the topology.
 *
 * The link is a `Peer` of the local session (`Peer.relay`), built by `SFU.addRelayPeer`, so the whole
 * forwarding path is the clients' one:
 *
 * - its **subscriber** PC (we offer) carries this node's local publishers' tracks to the owner. Its
 *   first offer goes out as the far node's `join`, later ones as `offer`, exactly the calls a client
 *   makes for its publisher PC; the far node answers with its Publisher.
 * - its **publisher** PC (we answer) receives what the far node's Subscriber offers in `offer`
 *   notifications: every track of the room this node does not have (the owner never sends a node its
 *   own tracks: they are that link's Receivers there). Those tracks become Receivers here and are
 *   forwarded to local clients like any publisher's.
 * - data channels: a client channel here is fanned out onto the link's subscriber PC, arrives on the
 *   far node as the relay peer's own channel and is fanned out there (and back the other way).
 * - audio levels: relayed audio keeps the RFC 6464 extension, so each node's AudioObserver ranks
 *   every stream of the room itself.
 *
 * Signalling goes over the Bus to the far node's `sfuRpc` subject with a `conn` of
 * `<this node>/<uuid>`, so the far node's notifications come back on our `signalNotify` subject
 * (Relays routes them here). Targets swap across the link: our publisher PC pairs with the far
 * subscriber PC, so a trickle's target `t` there is `1 - t` here.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '../backbone/index.ts';
import type { Participant, Peer, SFU } from '../media/index.ts';
import { RELAY_UID_PREFIX, subjects, type PeerRequest } from '../protocol/cluster.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { relayDataPolicy } from './livekitData.ts';
import { logger } from '../util/logger.ts';

/** Signalling calls across a link wait this long (a far node under load answers slowly, not never). */
const REQUEST_TIMEOUT_MS = 15_000;

export type RelayLinkCloseReason =
  /** This node's last client of the room left. */
  | 'idle'
  /** The room's owner changed (or we became it). */
  | 'owner-changed'
  /** The far node told us to go (`reconnect` notification: it drains, or closed the room). */
  | 'far-closed'
  /** A signalling call failed or the link's PCs failed. */
  | 'failed'
  /** This node is closing or draining. */
  | 'node-closed';

export type RelayLinkEvents = {
  close: [reason: RelayLinkCloseReason];
  /** The far node sent the roster of the rest of the room. */
  roster: [peers: Participant[]];
};

export interface RelayLinkOptions {
  sfu: SFU;
  bus: Bus;
  cluster: string;
  /** This node. */
  node: string;
  room: string;
  /** The far node (the room's owner). */
  far: string;
}

export class RelayLink extends TypedEmitter<RelayLinkEvents> {
  readonly room: string;
  readonly far: string;
  readonly conn: string;
  readonly peer: Peer;
  readonly #o: RelayLinkOptions;
  /** Signalling both ways, strictly in order (the far node handles a conn's calls in arrival order). */
  #chain: Promise<void> = Promise.resolve();
  #joined = false;
  #closed = false;
  /** The far node's view of the rest of the room. */
  #remote: Participant[] = [];
  /** JSON of the roster last sent, so an unchanged roster is not sent again (no ping-pong). */
  #lastSent = '';
  #pendingRoster: Participant[] | undefined;
  /** Our candidates gathered before the join went out (werift emits them while setting the offer). */
  #early: unknown[] = [];

  constructor(o: RelayLinkOptions) {
    super();
    this.#o = o;
    this.room = o.room;
    this.far = o.far;
    this.conn = `${o.node}/${randomUUID()}`;
    const uid = `${RELAY_UID_PREFIX}${o.node}`;
    this.peer = o.sfu.addRelayPeer(
      o.room,
      uid,
      `relay from ${o.node}`,
      (method, params) => this.#fromLocal(method, params),
      relayDataPolicy(o.room),
    ).peer;
    this.peer.once('close', () => this.close('failed'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The participants of the rest of the room, as the far node last reported them. */
  get remoteRoster(): readonly Participant[] {
    return this.#remote;
  }

  /** A notification the far node sent to our conn. */
  receive(method: string, params: unknown): void {
    if (this.#closed) {
      return;
    }
    switch (method) {
      case 'offer':
        this.#enqueue(async () => {
          const sdp = (params as { sdp?: unknown } | null)?.sdp;
          if (typeof sdp !== 'string') {
            return;
          }
          const answer = await this.peer.offer(sdp);
          await this.#request('answer', { desc: { type: 'answer', sdp: answer } });
        });
        return;
      case 'trickle':
        this.#enqueue(async () => {
          const p = params as { candidate?: unknown; target?: unknown } | null;
          if (
            p &&
            typeof p.candidate === 'object' &&
            p.candidate !== null &&
            (p.target === 0 || p.target === 1)
          ) {
            await this.peer.trickle(p.target === 0 ? 1 : 0, p.candidate);
          }
        });
        return;
      case 'participants': {
        const peers = (params as { peers?: unknown } | null)?.peers;
        if (Array.isArray(peers)) {
          this.#remote = peers as Participant[];
          this.safeEmit('roster', this.#remote);
        }
        return;
      }
      case 'reconnect':
        this.close('far-closed');
        return;
      default:
        return; // `layers` (dynacast) and the like concern clients only
    }
  }

  /** Tells the far node who is here (this node's clients); sent only when it changed. */
  sendRoster(peers: Participant[]): void {
    const json = JSON.stringify(peers);
    if (this.#closed || json === this.#lastSent) {
      return;
    }
    this.#lastSent = json;
    if (!this.#joined) {
      this.#pendingRoster = peers; // goes out right after the join
      return;
    }
    this.#enqueue(() => this.#request('participants', { peers }).then(() => undefined));
  }

  close(reason: RelayLinkCloseReason): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#joined && reason !== 'far-closed') {
      this.#request('leave', null).catch(() => undefined);
    }
    this.peer.close('owner-closed');
    logger.info({ room: this.room, far: this.far, reason }, 'relay link closed');
    this.safeEmit('close', reason);
    this.removeAllListeners();
  }

  /** What the link's Peer would send a client: offers and candidates, which go to the far node. */
  #fromLocal(method: string, params: unknown): void {
    if (this.#closed) {
      return;
    }
    if (method === 'offer') {
      this.#enqueue(async () => {
        const offer = params as { type: 'offer'; sdp: string };
        const answer = this.#joined ? await this.#request('offer', { desc: offer }) : await this.#join(offer);
        const sdp = (answer as { sdp?: unknown } | null)?.sdp;
        if (typeof sdp !== 'string') {
          throw new Error('far node answered without SDP');
        }
        await this.peer.answer(sdp);
      });
    } else if (method === 'trickle') {
      const p = params as { candidate: unknown; target: 0 | 1 };
      const far = { target: p.target === 0 ? 1 : 0, candidate: p.candidate };
      if (!this.#joined) {
        this.#early.push(far); // the far node has no peer for us before the join
        return;
      }
      this.#enqueue(() => this.#request('trickle', far).then(() => undefined));
    }
  }

  async #join(offer: { type: 'offer'; sdp: string }): Promise<unknown> {
    const answer = await this.#request('join', {
      sid: this.room,
      uid: this.peer.uid,
      name: this.peer.name,
      offer,
      relay: { node: this.#o.node },
    });
    this.#joined = true;
    logger.info({ room: this.room, far: this.far }, 'relay link joined');
    for (const t of this.#early.splice(0)) {
      this.#enqueue(() => this.#request('trickle', t).then(() => undefined));
    }
    const roster = this.#pendingRoster;
    this.#pendingRoster = undefined;
    if (roster) {
      this.#enqueue(() => this.#request('participants', { peers: roster }).then(() => undefined));
    }
    return answer;
  }

  #request(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: this.conn, signal: this.#o.node, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, this.far), req, {
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  }

  #enqueue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) {
        return;
      }
      try {
        await step();
      } catch (err) {
        if (!this.#closed) {
          logger.warn({ err, room: this.room, far: this.far }, 'relay signalling failed');
          this.close('failed');
        }
      }
    });
  }
}
