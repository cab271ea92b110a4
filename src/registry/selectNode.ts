import type { NodeLoad } from '../protocol/cluster.ts';

/**
 * Placement score: lower is better. Peers dominate (each costs fan-out on every packet of the room),
 * CPU breaks ties between nodes of similar size. Pure, so it is unit-tested on literal tables.
 */
export function placementScore(n: NodeLoad): number {
  return n.peers * 10 + n.tracks + n.cpu;
}

export function selectNode(nodes: readonly NodeLoad[]): NodeLoad | undefined {
  let best: NodeLoad | undefined;
  for (const n of nodes) {
    if (!best || placementScore(n) < placementScore(best)) {
      best = n;
    }
  }
  return best;
}
