import type { Bus, Store, Subscription } from '../backbone/index.ts';
import { placeRequest, ROOM_LEASE_MS, storeKeys, subjects } from '../protocol/cluster.ts';
import { SwitchboardError } from '../util/errors.ts';
import type { NodeLoad } from '../protocol/cluster.ts';
import { selectNode } from './selectNode.ts';

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
      (data) => this.place(placeRequest.parse(data).room),
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

  /** The owner of `room`, claiming it atomically for the least-loaded live node when it has none. */
  async place(room: string): Promise<{ node: string }> {
    if (!room) {
      throw new SwitchboardError('invalid-params', 'room is required');
    }
    // Fast path, without queueing behind claims: the room has a live owner.
    const owner = await this.#store.get(storeKeys.roomOwner(this.#dc, room));
    if (owner && (await this.#store.get(storeKeys.node(this.#dc, owner))) !== undefined) {
      return { node: owner };
    }
    const claim = this.#claims.then(() => this.#claim(room));
    this.#claims = claim.catch(() => undefined);
    return claim;
  }

  async #claim(room: string): Promise<{ node: string }> {
    const key = storeKeys.roomOwner(this.#dc, room);
    for (let attempt = 0; attempt < 3; attempt++) {
      const nodes = await this.nodes();
      const owner = await this.#store.get(key);
      if (owner && nodes.some((n) => n.node === owner)) {
        return { node: owner };
      }
      if (owner) {
        await this.#store.compareAndDelete(key, owner); // its node stopped heartbeating
      }
      const best = selectNode(nodes, await this.leasedRooms(nodes));
      if (!best) {
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
}
