/**
 * Where a client's peer goes: the registry names a node, the join is forwarded there, and a node
 * that refuses (`unavailable`: full or draining) or does not answer (`no-responder`: gone) is
 * avoided in the next placement, so the room cascades to another node or, when its owner is gone,
 * moves. The same for every protocol the signal role speaks.
 */
import type { Bus } from '../backbone/index.ts';
import { BusRequestError } from '../backbone/index.ts';
import { subjects } from '../protocol/cluster.ts';

/** Nodes a join is tried on before the client gets the last refusal (full, draining, gone). */
export const JOIN_ATTEMPTS = 4;

/**
 * Places a peer of `room` (a client of this signal instance's region, `where.dc`) and runs `join` on the node chosen; `placed(node)` is called before each
 * attempt (the caller keeps the node its peer is on). Resolves with the join's result.
 */
export async function placeAndJoin<T>(
  bus: Bus,
  where: { cluster: string; dc: string },
  room: string,
  placed: (node: string) => void,
  join: (node: string) => Promise<T>,
): Promise<T> {
  const avoid: string[] = [];
  let refusal: Error | undefined;
  for (let attempt = 1; ; attempt++) {
    const placing = bus.request<{ node: string }>(subjects.registryPlace(where.cluster), {
      room,
      dc: where.dc,
      ...(avoid.length > 0 ? { avoid } : {}),
    });
    // No other node to try: the client gets the node's own refusal (e.g. no free media port).
    const last = refusal;
    const { node } =
      last === undefined
        ? await placing
        : await placing.catch(() => {
            throw last;
          });
    placed(node);
    try {
      return await join(node);
    } catch (err) {
      const retry =
        err instanceof BusRequestError && (err.code === 'unavailable' || err.code === 'no-responder');
      if (!retry || attempt >= JOIN_ATTEMPTS) {
        throw err;
      }
      refusal = err;
      avoid.push(node);
    }
  }
}
