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

  constructor(dc: string, bus: Bus, store: Store) {
    this.#dc = dc;
    this.#bus = bus;
    this.#store = store;
  }

  start(): Promise<void> {
    this.#sub = this.#bus.subscribe(
      subjects.registryPlace(this.#dc),
      (data) => this.place(placeRequest.parse(data).room),
      { queue: 'registry' },
    );
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#sub?.unsubscribe();
    return Promise.resolve();
  }

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

  /** The owner of `room`, claiming it atomically for the least-loaded live node when it has none. */
  async place(room: string): Promise<{ node: string }> {
    if (!room) {
      throw new SwitchboardError('invalid-params', 'room is required');
    }
    const key = storeKeys.roomOwner(this.#dc, room);
    const nodes = await this.nodes();
    for (let attempt = 0; attempt < 3; attempt++) {
      const owner = await this.#store.get(key);
      if (owner && nodes.some((n) => n.node === owner)) {
        return { node: owner };
      }
      if (owner) {
        await this.#store.compareAndDelete(key, owner); // its node stopped heartbeating
      }
      const best = selectNode(nodes);
      if (!best) {
        throw new SwitchboardError('no-responder', 'no media node available');
      }
      if (await this.#store.setIfAbsent(key, best.node, ROOM_LEASE_MS)) {
        return { node: best.node };
      }
    }
    throw new SwitchboardError('internal', `could not place room ${room}`);
  }
}
