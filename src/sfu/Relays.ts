/**
 * Cascading: one room on several media nodes (DESIGN.md "Placement and cascading").
 *
 * Topology: a star around the room's **owner** (the node holding its lease in the Store). When the
 * registry sends a peer to another node (the owner is full, or refused it), that node's session of
 * the room joins the owner's session through one RelayLink (RelayLink.ts), using the same signalling
 * a client uses. So:
 *
 * - the owner holds one *inbound* relay peer per other node hosting the room; every other node holds
 *   exactly one *outbound* link, to the owner. Only the owner has inbound relays, only the others have
 *   a link (reconcile() restores this each heartbeat).
 * - each node sends the owner only its local publishers' tracks (a Session never forwards a peer's
 *   own tracks back to it, and a non-owner's only relay peer is its link), and the owner sends each
 *   node every track of the room but that node's own: one upstream copy of each track per node, no
 *   loops with any number of nodes. A track from node B reaches node C through the owner (two hops).
 * - rosters cross as `participants` both ways (the far node's clients, not its relay peers), so every
 *   client sees the whole room; data-channel messages and audio levels cross with the media.
 *
 * Ownership moves when the owner goes away: a node hosting the room takes the lease over when the
 * owner's heartbeat is gone (crash) or the owner released it (drain), and the others re-link to it.
 * Leases and the per-room host table (`storeKeys.roomNodes`) are renewed here, once per heartbeat.
 */
import type { Bus, Store, Subscription } from '../backbone/index.ts';
import type { CloseReason, Participant, Peer, SFU, Session } from '../media/index.ts';
import {
  notificationTargets,
  peerNotification,
  RECONNECT_NOTIFICATION,
  RELAY_UID_PREFIX,
  ROOM_LEASE_MS,
  storeKeys,
  subjects,
  type NodeLoad,
  type ReconnectReason,
} from '../protocol/cluster.ts';
import { dict } from '../util/dict.ts';
import { logger } from '../util/logger.ts';
import { RelayLink } from './RelayLink.ts';

export interface RelaysOptions {
  sfu: SFU;
  bus: Bus;
  store: Store;
  cluster: string;
  node: string;
  /** Sends a notification to a conn (a client's, or another node's relay link). */
  notify(conn: string, method: string, params: unknown): void;
  /** The same notification to many connections (grouped per signal instance). */
  notifyAll(conns: readonly string[], method: string, params: unknown): void;
  /** The conn of a peer that joined through `join` (clients and inbound relays). */
  connOf(peer: Peer): string | undefined;
  /** The roster without hidden peers (grants). */
  visible(session: Session, list: Participant[]): Participant[];
  /** The room's whole roster changed on the node that owns it (signal instances watch it for Licode). */
  publishRoster(room: string, peers: Participant[]): void;
}

interface Inbound {
  conn: string;
  /** The node at the far end of the link. */
  node: string;
  room: string;
  /** That node's clients, as it last reported them. */
  roster: Participant[];
  /** JSON of the roster last sent to it. */
  lastSent: string;
}

export function isRelayUid(uid: string): boolean {
  return uid.startsWith(RELAY_UID_PREFIX);
}

/** Client peers of a session (relay peers left out). */
export function clientPeers(session: Session): Peer[] {
  return [...session.peers].filter((p) => !p.relay);
}

export class Relays {
  readonly #o: RelaysOptions;
  /** Outbound links, by room (this node is not the room's owner). */
  readonly #links = new Map<string, RelayLink>();
  /** Relay peers other nodes joined to our sessions (this node owns those rooms). */
  readonly #inbound = new Map<Peer, Inbound>();
  /** Per room, the reconcile in flight: a join and the heartbeat must not both make a link. */
  readonly #busy = new Map<string, Promise<void>>();
  #sub: Subscription | undefined;
  #closed = false;

  constructor(o: RelaysOptions) {
    this.#o = o;
    o.sfu.on('peer', (peer, session) => {
      if (peer.relay) {
        return;
      }
      peer.once('close', () => {
        // The last client left: a node that only relays the room for nobody drops its link, and the
        // session closes with its last peer.
        if (!session.closed && clientPeers(session).length === 0) {
          this.#links.get(session.id)?.close('idle');
        }
      });
    });
  }

  /** Listens for what other nodes send our links (their notifications come to our node id). */
  start(): void {
    this.#sub = this.#o.bus.subscribe(subjects.signalNotify(this.#o.cluster, this.#o.node), (data) => {
      const n = peerNotification.safeParse(data);
      if (!n.success) {
        return;
      }
      for (const target of notificationTargets(n.data)) {
        for (const link of this.#links.values()) {
          if (link.conn === target) {
            link.receive(n.data.method, n.data.params);
            break;
          }
        }
      }
    });
  }

  /** Outbound links and inbound relay peers (both ends count as relays in the heartbeat). */
  get count(): number {
    return this.#links.size + this.#inbound.size;
  }

  /** The outbound link of `room`, if this node relays it to its owner. */
  link(room: string): RelayLink | undefined {
    return this.#links.get(room);
  }

  /** Nodes whose relay links joined our session of `room` (room actions are forwarded to them). */
  inboundNodes(room: string): string[] {
    return [...this.#inbound.values()].filter((i) => i.room === room).map((i) => i.node);
  }

  /** A relay join succeeded here (SfuRole): remember the link's far end. */
  addInbound(peer: Peer, conn: string, node: string, room: string): void {
    this.#inbound.set(peer, { conn, node, room, roster: [], lastSent: '' });
    peer.once('close', (reason) => {
      this.#inbound.delete(peer);
      // Whatever closed it (drain, room end, ICE), the far node re-evaluates; after its own `leave`
      // the notification finds no link there and is dropped.
      this.#o.notify(conn, RECONNECT_NOTIFICATION, { reason });
    });
  }

  /**
   * The participant (uid) that publishes stream `streamId` which relay peer `peer` carries, from the
   * roster its far node reported; undefined while it has not reported that stream.
   */
  publisherOf(session: Session, peer: Peer, streamId: string): string | undefined {
    const link = this.#links.get(session.id);
    const list = link?.peer === peer ? link.remoteRoster : this.#inbound.get(peer)?.roster;
    return list?.find((p) => p.streams.some((s) => s.streamId === streamId))?.uid;
  }

  /** An inbound relay peer reported its node's clients. */
  setInboundRoster(peer: Peer, peers: Participant[]): void {
    const i = this.#inbound.get(peer);
    if (i) {
      i.roster = peers;
    }
  }

  /** Tells every inbound relay peer's node to go (this node drains or closes). */
  dropInbound(reason: Extract<CloseReason, ReconnectReason>): void {
    for (const peer of [...this.#inbound.keys()]) {
      peer.close(reason); // its close listener (addInbound) tells the far node
    }
  }

  /**
   * Sends every peer of `session` the roster it should see: this node's visible clients plus what the
   * relays reported; a relay gets everything but its own node's clients (and only when it changed).
   */
  broadcastRoster(session: Session): void {
    if (session.closed) {
      return;
    }
    // A relayed track's publisher may be known only now (WHEP viewers of one participant wait for it).
    session.refill();
    const local = this.#o.visible(
      session,
      session.participants().filter((p) => !isRelayUid(p.uid)),
    );
    const remote: [Peer, readonly Participant[]][] = [];
    const link = this.#links.get(session.id);
    for (const p of session.peers) {
      if (link?.peer === p) {
        remote.push([p, link.remoteRoster]);
      } else {
        const i = this.#inbound.get(p);
        if (i) {
          remote.push([p, i.roster]);
        }
      }
    }
    const roster = (except?: Peer): Participant[] =>
      mergeParticipants([...local, ...remote.filter(([p]) => p !== except).flatMap(([, l]) => l)]);
    const everyone = roster();
    const clients: string[] = [];
    for (const p of session.peers) {
      if (!p.relay) {
        const conn = this.#o.connOf(p);
        if (conn) {
          clients.push(conn);
        }
      } else if (link?.peer === p) {
        link.sendRoster(roster(p));
      } else {
        const i = this.#inbound.get(p);
        const peers = roster(p);
        const json = JSON.stringify(peers);
        if (i && json !== i.lastSent) {
          i.lastSent = json;
          this.#o.notify(i.conn, 'participants', { peers });
        }
      }
    }
    if (clients.length > 0) {
      this.#o.notifyAll(clients, 'participants', { peers: everyone });
    }
    if (!link) {
      this.#o.publishRoster(session.id, everyone); // the owner's roster is the room's
    }
  }

  /** The room's roster as this node sees it: its own clients and those the relay links report. */
  roster(session: Session): Participant[] {
    const local = this.#o.visible(
      session,
      session.participants().filter((p) => !isRelayUid(p.uid)),
    );
    const remote: Participant[] = [];
    const link = this.#links.get(session.id);
    for (const p of session.peers) {
      const list = link?.peer === p ? link.remoteRoster : this.#inbound.get(p)?.roster;
      remote.push(...(list ?? []));
    }
    return mergeParticipants([...local, ...remote]);
  }

  /** A client joined `session` here: link it to the owner now rather than at the next heartbeat. */
  joined(session: Session): void {
    void this.#reconcileRoom(session, false);
  }

  /**
   * One heartbeat of ownership for every session here: renew our leases, take over rooms whose owner
   * is gone, link the others to their owner, and keep the per-room host table current. Returns the
   * rooms we own with their lease expiry (the node's lease table). While draining nothing is claimed
   * or linked (the node releases its rooms and its clients go elsewhere).
   */
  async reconcile(draining: boolean): Promise<Record<string, string>> {
    const held = dict<string>(); // room ids are client-chosen
    for (const s of [...this.#o.sfu.sessions]) {
      if (await this.#reconcileRoom(s, draining)) {
        held[s.id] = String(Date.now() + ROOM_LEASE_MS);
      }
    }
    return held;
  }

  /** Forgets this node in the host tables and closes every link (the node is closing). */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#sub?.unsubscribe();
    for (const link of [...this.#links.values()]) {
      link.close('node-closed');
    }
    this.dropInbound('node-drain');
    await Promise.allSettled([...this.#busy.values()]); // none may write our entry back afterwards
    for (const s of this.#o.sfu.sessions) {
      await this.#o.store
        .hdel(storeKeys.roomNodes(this.#o.cluster, s.id), this.#o.node)
        .catch(() => undefined);
    }
  }

  /** Serialised per room; resolves true when this node owns the room afterwards. */
  #reconcileRoom(session: Session, draining: boolean): Promise<boolean> {
    const room = session.id;
    const run = (this.#busy.get(room) ?? Promise.resolve()).then(() =>
      this.#ownership(session, draining).catch((err: unknown) => {
        logger.warn({ err, room }, 'room ownership check failed');
        return false;
      }),
    );
    const done = run.then(() => undefined);
    this.#busy.set(room, done);
    void done.then(() => {
      if (this.#busy.get(room) === done) {
        this.#busy.delete(room);
      }
    });
    return run;
  }

  async #ownership(session: Session, draining: boolean): Promise<boolean> {
    const { store, cluster, node } = this.#o;
    const room = session.id;
    if (session.closed || this.#closed) {
      return false;
    }
    await this.#hostTable(room);
    if (draining) {
      return false;
    }
    const key = storeKeys.roomOwner(cluster, room);
    let owner: string | undefined;
    if (await store.refresh(key, node, ROOM_LEASE_MS)) {
      owner = node;
    } else {
      owner = await store.get(key);
      if (owner !== undefined && owner !== node) {
        const load = await store.get(storeKeys.node(cluster, owner));
        if (load === undefined) {
          // The owner stopped heartbeating (crashed): whoever hosts the room takes it over.
          await store.compareAndDelete(key, owner);
          owner = undefined;
        } else if ((JSON.parse(load) as NodeLoad).draining === true) {
          return false; // it releases its rooms itself; until then, keep things as they are
        }
      }
      if (owner === undefined && (await store.setIfAbsent(key, node, ROOM_LEASE_MS))) {
        logger.info({ room, node }, 'took over the room lease');
        owner = node;
      }
      owner ??= await store.get(key);
    }
    if (owner === node) {
      // Owner: no outbound link (its far end would be ourselves or a former owner).
      this.#links.get(room)?.close('owner-changed');
      return true;
    }
    // Not the owner: no inbound relays (their nodes must link to the real owner) ...
    for (const [peer, i] of [...this.#inbound]) {
      if (i.room === room) {
        peer.close('owner-closed');
      }
    }
    // ... and one link to the owner while clients are here.
    const link = this.#links.get(room);
    if (owner === undefined || clientPeers(session).length === 0 || session.closed) {
      link?.close(owner === undefined ? 'owner-changed' : 'idle');
      return false;
    }
    if (link && !link.closed && link.far === owner) {
      return false;
    }
    link?.close('owner-changed');
    this.#link(session, owner);
    return false;
  }

  #link(session: Session, owner: string): void {
    const link = new RelayLink({
      sfu: this.#o.sfu,
      bus: this.#o.bus,
      cluster: this.#o.cluster,
      node: this.#o.node,
      room: session.id,
      far: owner,
    });
    this.#links.set(session.id, link);
    link.on('roster', () => this.broadcastRoster(session));
    link.once('close', () => {
      if (this.#links.get(session.id) === link) {
        this.#links.delete(session.id);
      }
      this.broadcastRoster(session);
    });
    logger.info({ room: session.id, owner, node: this.#o.node }, 'relaying the room to its owner');
  }

  /** Renews our entry in the room's host table and drops entries of nodes that stopped renewing. */
  async #hostTable(room: string): Promise<void> {
    const { store, cluster, node } = this.#o;
    const key = storeKeys.roomNodes(cluster, room);
    const now = Date.now();
    await store.hset(key, { [node]: String(now + ROOM_LEASE_MS) }, ROOM_LEASE_MS);
    for (const [other, expires] of Object.entries(await store.hgetall(key))) {
      if (other !== node && Number(expires) <= now) {
        await store.hdel(key, other);
      }
    }
  }
}

/**
 * One entry per participant: a Licode client's peers (one per stream) may sit on several nodes of a
 * cascaded room, each node reporting it with the streams it holds.
 */
export function mergeParticipants(list: readonly Participant[]): Participant[] {
  const byUid = new Map<string, Participant>();
  for (const p of list) {
    const seen = byUid.get(p.uid);
    if (!seen) {
      byUid.set(p.uid, { ...p, streams: [...p.streams] });
      continue;
    }
    for (const st of p.streams) {
      if (!seen.streams.some((x) => x.streamId === st.streamId)) {
        seen.streams.push(st);
      }
    }
  }
  return [...byUid.values()];
}
