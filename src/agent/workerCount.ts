import { availableParallelism } from 'node:os';
import type { Config } from '../config/index.ts';

/** How many media worker processes `switchboard start` runs, and why when it is not what was asked. */
export interface WorkerPlan {
  count: number;
  /** Set when `[sfu] workers = 0` (one per core) had to become 1: said once in the log at start. */
  note?: string;
}

/**
 * `[sfu] workers`: 0 = one per CPU core, 1 = media in the main process, N = N processes. Workers are
 * separate processes that meet the other roles over NATS and Redis only, so without `[nats] url` and
 * `[redis] addrs` the default (0) means 1 (an explicit N > 1 is a configuration error, see
 * validateSupported), as it does with `[webrtc] singleport` (one UDP port cannot be shared).
 */
export function workerPlan(c: Config, cores = availableParallelism()): WorkerPlan {
  if (c.sfu.workers > 0) {
    return { count: c.sfu.workers };
  }
  if (cores <= 1) {
    return { count: 1 };
  }
  if (!c.nats.url || c.redis.addrs.length === 0) {
    return {
      count: 1,
      note: `one media worker, in this process (this host has ${cores} cores): one worker per core needs [nats] url and [redis] addrs`,
    };
  }
  if (c.webrtc.singleport !== undefined) {
    return {
      count: 1,
      note: 'one media worker: [webrtc] singleport is one UDP port, which workers cannot share',
    };
  }
  return { count: cores };
}

/**
 * Worker `index`'s share of `[webrtc] portrange` (equal contiguous slices; the last takes the rest),
 * so workers never compete for a port.
 */
export function portSlice(range: readonly [number, number], count: number, index: number): [number, number] {
  const [min, max] = range;
  const size = Math.floor((max - min + 1) / count);
  const start = min + index * size;
  return [start, index === count - 1 ? max : start + size - 1];
}
