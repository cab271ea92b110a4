/**
 * The api role's questions to the media nodes of a room: the nodes hosting it (owner and relaying
 * nodes, `storeKeys.roomNodes`) each answer an `sfuAdmin` request, with the node's region from its
 * heartbeat. A node that does not answer in time is reported without a reply rather than failing the
 * whole answer. Used for where users are (`clients`) and for the room's statistics (`stats`).
 */
import type { Bus, Store } from '../backbone/index.ts';
import { storeKeys, type NodeLoad } from '../protocol/cluster.ts';
import { roomSubjects, type SfuAdminReply, type SfuAdminRequest } from '../protocol/room.ts';

const ASK_TIMEOUT_MS = 2000;

export interface NodeAnswer {
  node: string;
  /** The node's region (`[global] dc`), from its heartbeat. */
  dc?: string;
  /** Undefined: the node did not answer (gone or busy). */
  reply?: SfuAdminReply;
}

export async function askRoomNodes(
  bus: Bus,
  store: Store,
  cluster: string,
  room: string,
  req: SfuAdminRequest,
): Promise<NodeAnswer[]> {
  const now = Date.now();
  const nodes = Object.entries(await store.hgetall(storeKeys.roomNodes(cluster, room)))
    .filter(([, expires]) => Number(expires) > now)
    .map(([node]) => node);
  return Promise.all(
    nodes.map(async (node): Promise<NodeAnswer> => {
      const [reply, heartbeat] = await Promise.all([
        bus
          .request<SfuAdminReply>(roomSubjects.sfuAdmin(cluster, node), req, { timeoutMs: ASK_TIMEOUT_MS })
          .catch(() => undefined),
        store.get(storeKeys.node(cluster, node)).catch(() => undefined),
      ]);
      const dc = heartbeat === undefined ? undefined : (JSON.parse(heartbeat) as NodeLoad).dc;
      return { node, ...(dc !== undefined ? { dc } : {}), ...(reply !== undefined ? { reply } : {}) };
    }),
  );
}
