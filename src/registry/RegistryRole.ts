import { BusRequestError, type Bus, type Store, type Subscription } from '../backbone/index.ts';
import { nodeAccepts, placeRequest, ROOM_LEASE_MS, storeKeys, subjects } from '../protocol/cluster.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import type { NodeLoad } from '../protocol/cluster.ts';
import { selectNode } from './selectNode.ts';

/** How long the registry waits for a media node's ping before it counts as alive but busy. */
const PING_TIMEOUT_MS = 1000;

/**
 * The registry role: answers "which media node owns room R?" for signal instances. The node table
 * and the leases live in the Store, so any number of registry instances can answer (queue group).
 */
export class RegistryRole {
  readonly #bus: Bus;
  readonly #store: Store;
  readonly #cluster: string;
  #sub: Subscription | undefined;
  /** Placements made by this instance: in the client's region, or (none of its nodes took peers) another. */
  readonly placements = { local: 0, otherRegion: 0 };
  /** Claims run one at a time per instance, so each sees the leases of the one before. */
  #claims: Promise<unknown> = Promise.resolve();

  constructor(cluster: string, bus: Bus, store: Store) {
    this.#cluster = cluster;
    this.#bus = bus;
    this.#store = store;
  }

  async start(): Promise<void> {
    this.#sub = this.#bus.subscribe(
      subjects.registryPlace(this.#cluster),
      (data) => {
        const req = placeRequest.parse(data);
        return this.place(req.room, req.avoid, req.dc);
      },
      { queue: 'registry' },
    );
    await this.#bus.flush();
  }

  close(): Promise<void> {
    this.#sub?.unsubscribe();
    return Promise.resolve();
  }

  /** Live media nodes: those whose heartbeat has not expired. */
  async nodes(): Promise<NodeLoad[]> {
    const keys = await this.#store.keys(storeKeys.nodePrefix(this.#cluster));
    const out: NodeLoad[] = [];
    for (const k of keys) {
      const v = await this.#store.get(k);
      if (v) {
        out.push(JSON.parse(v) as NodeLoad);
      }
    }
    return out;
  }

  /** Rooms leased to each of `nodes` now (unexpired entries of its lease hash); drops expired entries. */
  async leasedRooms(nodes: readonly NodeLoad[], now = Date.now()): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of nodes) {
      const key = storeKeys.nodeRooms(this.#cluster, n.node);
      let live = 0;
      for (const [room, expires] of Object.entries(await this.#store.hgetall(key))) {
        if (Number(expires) > now) {
          live++;
        } else {
          await this.#store.hdel(key, room);
        }
      }
      out.set(n.node, live);
    }
    return out;
  }

  /** Nodes with a live session of `room` (its owner and the nodes relaying it), from `roomNodes`. */
  async hosts(room: string, now = Date.now()): Promise<Set<string>> {
    const out = new Set<string>();
    for (const [node, expires] of Object.entries(
      await this.#store.hgetall(storeKeys.roomNodes(this.#cluster, room)),
    )) {
      if (Number(expires) > now) {
        out.add(node);
      }
    }
    return out;
  }

  /**
   * Where a new peer of `room` goes, for a client of region `dc` (absent: any region).
   *
   * - **Its region first.** The room's owner when it is in the client's region and takes peers; else
   *   a node of the region already hosting the room (one upstream copy per node), else the region's
   *   least-loaded node, which then relays the room with its owner (src/sfu/Relays.ts: a **cascade**,
   *   across regions when the owner is elsewhere).
   * - **Another region** only when the client's has no node that takes peers (none, full, draining,
   *   or in `avoid`): the owner, else a node of the owner's region, else any node (those hosting the
   *   room first, then the least loaded); the log and `placements.otherRegion` say so.
   * - **Ownership.** A room without a live owner gets one, claimed atomically: a node still hosting it
   *   (the room stays where its relays are, in any region), else the node the peer goes to.
   *
   * `avoid`: nodes that just refused the join (full, draining) or did not answer (gone). Throws
   * `unavailable` when every node is full or draining, `no-responder` when there are none.
   */
  async place(room: string, avoid: readonly string[] = [], dc?: string): Promise<{ node: string }> {
    if (!room) {
      throw new SwitchboardError('invalid-params', 'room is required');
    }
    // Fast path, without scanning the node table or queueing behind claims: the room has a live owner
    // in the client's region with room to spare, or a node of that region relaying it (a far region's
    // Redis round trips make the slow path slow).
    const owner = await this.#store.get(storeKeys.roomOwner(this.#cluster, room));
    if (owner && !avoid.includes(owner)) {
      const load = await this.#load(owner);
      if (load && nodeAccepts(load)) {
        if (inRegion(load, dc)) {
          this.placements.local++;
          return { node: owner };
        }
        // The owner is in another region: a node of the client's region that relays the room already.
        for (const node of await this.hosts(room)) {
          const host = node === owner || avoid.includes(node) ? undefined : await this.#load(node);
          if (host && nodeAccepts(host) && inRegion(host, dc)) {
            this.placements.local++;
            return { node };
          }
        }
      }
    }
    const claim = this.#claims.then(() => this.#claim(room, avoid, dc));
    this.#claims = claim.catch(() => undefined);
    return claim;
  }

  async #claim(room: string, avoid: readonly string[], dc: string | undefined): Promise<{ node: string }> {
    const key = storeKeys.roomOwner(this.#cluster, room);
    for (let attempt = 0; attempt < 3; attempt++) {
      const nodes = await this.nodes();
      const owner = await this.#store.get(key);
      let ownerLoad = owner ? nodes.find((n) => n.node === owner) : undefined;
      if (ownerLoad && avoid.includes(ownerLoad.node) && (await this.#gone(ownerLoad.node))) {
        ownerLoad = undefined; // crashed: its heartbeat key has not expired yet
      }
      if (ownerLoad?.draining === true) {
        ownerLoad = undefined; // it releases its rooms: the room moves
      }
      const usable = nodes.filter((n) => nodeAccepts(n) && !avoid.includes(n.node));
      const hosts = await this.hosts(room);
      const local = usable.filter((n) => inRegion(n, dc));
      const ownerTakes = ownerLoad !== undefined && usable.includes(ownerLoad);
      // The peer's node: the owner or a node hosting the room, of the client's region; else the
      // region's least loaded; else (no node of the region takes peers) the owner, a node of the
      // owner's region, any node (hosts first each time).
      let target: NodeLoad | undefined;
      if (ownerTakes && local.includes(ownerLoad!)) {
        target = ownerLoad;
      } else {
        target =
          (await this.#best(local, hosts)) ??
          (ownerTakes ? ownerLoad : undefined) ??
          (ownerLoad
            ? await this.#best(
                usable.filter((n) => n.dc === ownerLoad.dc),
                hosts,
              )
            : undefined) ??
          (await this.#best(usable, hosts));
      }
      if (!target) {
        if (nodes.length > 0) {
          throw noNodeTakesPeers(nodes.filter((n) => !avoid.includes(n.node)));
        }
        throw new SwitchboardError('no-responder', 'no media node available');
      }
      if (ownerLoad) {
        if (target !== ownerLoad) {
          await this.#hosting(room, target.node);
        }
        return this.#placed(room, target, dc); // the owner keeps the room; another node cascades it
      }
      if (owner) {
        await this.#store.compareAndDelete(key, owner); // stopped heartbeating, draining or crashed
      }
      // A node still hosting the room (it relayed it) takes it over, so the room stays together.
      const heirs = nodes.filter((n) => hosts.has(n.node) && n.draining !== true && !avoid.includes(n.node));
      const heir =
        heirs.find((n) => n.node === target.node) ?? heirs.find((n) => inRegion(n, dc)) ?? heirs[0] ?? target;
      if (await this.#store.setIfAbsent(key, heir.node, ROOM_LEASE_MS)) {
        const leases = storeKeys.nodeRooms(this.#cluster, heir.node);
        await this.#store.hset(leases, { [room]: String(Date.now() + ROOM_LEASE_MS) }, ROOM_LEASE_MS);
        if (target !== heir) {
          await this.#hosting(room, target.node);
        }
        return this.#placed(room, target, dc);
      }
    }
    throw new SwitchboardError('internal', `could not place room ${room}`);
  }

  /** The least-loaded node of `pool`, those hosting the room (`hosts`) first. */
  async #best(pool: readonly NodeLoad[], hosts: ReadonlySet<string>): Promise<NodeLoad | undefined> {
    const hosting = pool.filter((n) => hosts.has(n.node));
    const from = hosting.length > 0 ? hosting : pool;
    return selectNode(from, await this.leasedRooms(from));
  }

  /**
   * Enters a cascade's node in the room's host table at once (the node renews the entry once it
   * hosts the room, or it expires): the next peers of its region, placed before the node's first
   * heartbeat with the room, join it there instead of opening a second copy on another node.
   */
  async #hosting(room: string, node: string): Promise<void> {
    await this.#store.hset(
      storeKeys.roomNodes(this.#cluster, room),
      { [node]: String(Date.now() + ROOM_LEASE_MS) },
      ROOM_LEASE_MS,
    );
  }

  /** Counts a placement, and says so when it left the client's region. */
  #placed(room: string, target: NodeLoad, dc: string | undefined): { node: string } {
    if (inRegion(target, dc)) {
      this.placements.local++;
    } else {
      this.placements.otherRegion++;
      logger.warn(
        { room, region: dc, node: target.node, nodeRegion: target.dc },
        'no media node of the region takes peers: placed in another region',
      );
    }
    return { node: target.node };
  }

  /** A node's last heartbeat, if its key is live. */
  async #load(node: string): Promise<NodeLoad | undefined> {
    const raw = await this.#store.get(storeKeys.node(this.#cluster, node));
    return raw === undefined ? undefined : (JSON.parse(raw) as NodeLoad);
  }

  /** A node whose ping finds no subscriber is gone (crashed), even while its heartbeat key lives on. */
  async #gone(node: string): Promise<boolean> {
    try {
      await this.#bus.request(subjects.sfuPing(this.#cluster, node), null, { timeoutMs: PING_TIMEOUT_MS });
      return false;
    } catch (err) {
      return err instanceof BusRequestError && err.code === 'no-responder';
    }
  }
}

/** Whether `n` serves clients of region `dc` (no region asked: every node). */
function inRegion(n: NodeLoad, dc: string | undefined): boolean {
  return dc === undefined || n.dc === dc;
}

/** Seconds a client is told to wait before joining again while every media node drains. */
export const DRAINING_RETRY_S = 5;

/**
 * The refusal when no media node takes peers: draining nodes (a restart or a shutdown under way)
 * make room for their successors within seconds, so the client is told to come back; full ones are not.
 */
function noNodeTakesPeers(nodes: readonly NodeLoad[]): SwitchboardError {
  const draining = nodes.filter((n) => n.draining === true).length;
  if (draining > 0 && draining === nodes.length) {
    return new SwitchboardError(
      'unavailable',
      `every media node is draining (a restart or shutdown is under way): join again in ${DRAINING_RETRY_S} s`,
    );
  }
  if (draining > 0) {
    return new SwitchboardError(
      'unavailable',
      `every media node is full or draining: join again in ${DRAINING_RETRY_S} s`,
    );
  }
  return new SwitchboardError('unavailable', 'every media node is full');
}
