/**
 * Where a room's users are: the media node holding each one's peers and that node's region, asked of
 * the nodes hosting the room (`sfuAdmin` op `clients`, roomNodes.ts).
 */
import type { Bus, Store } from '../backbone/index.ts';
import type { PublishedTrack } from '../protocol/room.ts';
import { askRoomNodes } from '../protocol/roomNodes.ts';

export interface UserPlace {
  node: string;
  /** The node's region (`[global] dc`), from its heartbeat. */
  dc?: string;
  /** What it publishes there. */
  tracks: PublishedTrack[];
}

/** uid → where its media is (a Licode client with peers on two nodes: the first node that answers; tracks of all). */
export async function userPlacement(
  bus: Bus,
  store: Store,
  cluster: string,
  room: string,
): Promise<Map<string, UserPlace>> {
  const out = new Map<string, UserPlace>();
  for (const a of await askRoomNodes(bus, store, cluster, room, { op: 'clients', room })) {
    for (const uid of a.reply?.uids ?? []) {
      const tracks = a.reply?.tracks?.[uid] ?? [];
      const known = out.get(uid);
      if (!known) {
        out.set(uid, { node: a.node, ...(a.dc !== undefined ? { dc: a.dc } : {}), tracks });
      } else {
        known.tracks.push(...tracks);
      }
    }
  }
  return out;
}
