import { BusRequestError, type Bus, type Store, type Subscription } from '../backbone/index.ts';
import { nodeAccepts, placeRequest, ROOM_LEASE_MS, storeKeys, subjects } from '../protocol/cluster.ts';
import { SwitchboardError } from '../util/errors.ts';
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
  readonly #dc: string;
  #sub: Subscription | undefined;
  /** Claims run one at a time per instance, so each sees the leases of the one before. */
  #claims: Promise<unknown> = Promise.resolve();

  constructor(dc: string, bus: Bus, store: Store) {
    this.#dc = dc;
    this.#bus = bus;
    this.#store = store;
  }

  async start(): Promise<void> {
    this.#sub = this.#bus.subscribe(
      subjects.registryPlace(this.#dc),
      (data) => {
        const req = placeRequest.parse(data);
        return this.place(req.room, req.avoid);
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
    const keys = await this.#store.keys(storeKeys.nodePrefix(this.#dc));
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
      const key = storeKeys.nodeRooms(this.#dc, n.node);
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
      await this.#store.hgetall(storeKeys.roomNodes(this.#dc, room)),
    )) {
      if (Number(expires) > now) {
        out.add(node);
      }
    }
    return out;
  }

  /**
   * Where a new peer of `room` goes. Normally its owner, claimed atomically for the least-loaded node
   * that takes peers when the room has none (or its owner stopped heartbeating, is draining, or is in
   * `avoid` and does not answer a ping). When the owner is full (`[sfu] maxpeers`/`maxpacketrate`) or
   * in `avoid` but alive, the room **cascades**: the peer goes to another node, which relays the
   * room's tracks with the owner (src/sfu/Relays.ts) — a node already hosting the room first (one
   * upstream copy per node), else the least-loaded one. Throws `unavailable` when every node is full.
   */
  async place(room: string, avoid: readonly string[] = []): Promise<{ node: string }> {
    if (!room) {
      throw new SwitchboardError('invalid-params', 'room is required');
    }
    // Fast path, without queueing behind claims: the room has a live owner with room to spare.
    const owner = await this.#store.get(storeKeys.roomOwner(this.#dc, room));
    if (owner && !avoid.includes(owner)) {
      const load = await this.#store.get(storeKeys.node(this.#dc, owner));
      if (load !== undefined && nodeAccepts(JSON.parse(load) as NodeLoad)) {
        return { node: owner };
      }
    }
    const claim = this.#claims.then(() => this.#claim(room, avoid));
    this.#claims = claim.catch(() => undefined);
    return claim;
  }

  async #claim(room: string, avoid: readonly string[]): Promise<{ node: string }> {
    const key = storeKeys.roomOwner(this.#dc, room);
    for (let attempt = 0; attempt < 3; attempt++) {
      const nodes = await this.nodes();
      const owner = await this.#store.get(key);
      let ownerLoad = owner ? nodes.find((n) => n.node === owner) : undefined;
      if (ownerLoad && avoid.includes(ownerLoad.node) && (await this.#gone(ownerLoad.node))) {
        ownerLoad = undefined; // crashed: its heartbeat key has not expired yet
      }
      const usable = nodes.filter((n) => nodeAccepts(n) && !avoid.includes(n.node));
      const hosts = await this.hosts(room);
      const hosting = usable.filter((n) => hosts.has(n.node));
      if (ownerLoad && ownerLoad.draining !== true) {
        if (!avoid.includes(ownerLoad.node) && nodeAccepts(ownerLoad)) {
          return { node: ownerLoad.node };
        }
        // Cascade: the owner keeps the room, the peer goes to a node that relays it.
        const others = (hosting.length > 0 ? hosting : usable).filter((n) => n.node !== ownerLoad.node);
        const target = selectNode(others, await this.leasedRooms(others));
        if (!target) {
          throw noNodeTakesPeers(nodes.filter((n) => !avoid.includes(n.node)));
        }
        return { node: target.node };
      }
      if (owner) {
        await this.#store.compareAndDelete(key, owner); // stopped heartbeating, draining or crashed
      }
      // A node that still hosts the room (it relayed it) keeps its peers together.
      const pool = hosting.length > 0 ? hosting : usable;
      const best = selectNode(pool, await this.leasedRooms(pool));
      if (!best) {
        if (nodes.length > 0) {
          throw noNodeTakesPeers(nodes.filter((n) => !avoid.includes(n.node)));
        }
        throw new SwitchboardError('no-responder', 'no media node available');
      }
      if (await this.#store.setIfAbsent(key, best.node, ROOM_LEASE_MS)) {
        const leases = storeKeys.nodeRooms(this.#dc, best.node);
        await this.#store.hset(leases, { [room]: String(Date.now() + ROOM_LEASE_MS) }, ROOM_LEASE_MS);
        return { node: best.node };
      }
    }
    throw new SwitchboardError('internal', `could not place room ${room}`);
  }

  /** A node whose ping finds no subscriber is gone (crashed), even while its heartbeat key lives on. */
  async #gone(node: string): Promise<boolean> {
    try {
      await this.#bus.request(subjects.sfuPing(this.#dc, node), null, { timeoutMs: PING_TIMEOUT_MS });
      return false;
    } catch (err) {
      return err instanceof BusRequestError && err.code === 'no-responder';
    }
  }
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
