import { nodeAccepts, type NodeLoad } from '../protocol/cluster.ts';

/** A room costs as much as one peer before anyone has joined it: placing it predicts at least one. */
export const ROOM_WEIGHT = 10;
/** Each peer costs fan-out on every packet of its room. */
export const PEER_WEIGHT = 10;

/**
 * Placement score: lower is better. Rooms count as the larger of the node's own session count
 * (its last heartbeat) and `leased`, the rooms leased to it in the Store right now: a heartbeat
 * is up to a second old, and without the leases a burst of placements in that second would all
 * land on the same node. Peers dominate once rooms fill; tracks and CPU break ties between nodes
 * of similar size. Pure, so it is unit-tested on literal tables.
 */
export function placementScore(n: NodeLoad, leased = 0): number {
  return Math.max(n.rooms, leased) * ROOM_WEIGHT + n.peers * PEER_WEIGHT + n.tracks + n.cpu;
}

/**
 * The node with the lowest score (the first listed on a tie) among those that take new peers (not
 * draining, under their `[sfu] maxpeers` / `maxpacketrate`); `leased` maps node id → rooms leased
 * to it now (missing = 0).
 */
export function selectNode(
  nodes: readonly NodeLoad[],
  leased: ReadonlyMap<string, number> = new Map(),
): NodeLoad | undefined {
  let best: NodeLoad | undefined;
  let bestScore = Infinity;
  for (const n of nodes) {
    if (!nodeAccepts(n)) {
      continue;
    }
    const score = placementScore(n, leased.get(n.node));
    if (score < bestScore) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}
