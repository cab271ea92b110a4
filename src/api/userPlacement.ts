/**
 * Where a room's users are: the media node holding each one's peers and that node's region. The nodes
 * hosting the room (owner and relaying nodes, `storeKeys.roomNodes`) are asked for their local
 * clients (`sfuAdmin` op `clients`), and each node's region comes from its heartbeat. A node that does
 * not answer in time leaves its users without a place rather than failing the listing.
 */
import type { Bus, Store } from '../backbone/index.ts';
import { storeKeys, type NodeLoad } from '../protocol/cluster.ts';
import { roomSubjects, type SfuAdminReply } from '../protocol/room.ts';

const ASK_TIMEOUT_MS = 2000;

export interface UserPlace {
  node: string;
  /** The node's region (`[global] dc`), from its heartbeat. */
  dc?: string;
}

/** uid → where its media is (a Licode client with peers on two nodes: the first node that answers). */
export async function userPlacement(
  bus: Bus,
  store: Store,
  cluster: string,
  room: string,
): Promise<Map<string, UserPlace>> {
  const now = Date.now();
  const nodes = Object.entries(await store.hgetall(storeKeys.roomNodes(cluster, room)))
    .filter(([, expires]) => Number(expires) > now)
    .map(([node]) => node);
  const out = new Map<string, UserPlace>();
  const answers = await Promise.all(
    nodes.map(async (node) => {
      try {
        const [reply, heartbeat] = await Promise.all([
          bus.request<SfuAdminReply>(
            roomSubjects.sfuAdmin(cluster, node),
            { op: 'clients', room },
            {
              timeoutMs: ASK_TIMEOUT_MS,
            },
          ),
          store.get(storeKeys.node(cluster, node)),
        ]);
        const dc = heartbeat === undefined ? undefined : (JSON.parse(heartbeat) as NodeLoad).dc;
        return { node, dc, uids: reply.uids ?? [] };
      } catch {
        return { node, dc: undefined, uids: [] }; // gone or busy: its users stay unplaced
      }
    }),
  );
  for (const a of answers) {
    for (const uid of a.uids) {
      if (!out.has(uid)) {
        out.set(uid, { node: a.node, ...(a.dc !== undefined ? { dc: a.dc } : {}) });
      }
    }
  }
  return out;
}
