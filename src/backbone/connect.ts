import type { Config } from '../config/index.ts';
import type { Bus } from './Bus.ts';
import { MemoryBus } from './MemoryBus.ts';
import { MemoryStore } from './MemoryStore.ts';
import { NatsBus } from './NatsBus.ts';
import { RedisStore } from './RedisStore.ts';
import type { Store } from './Store.ts';

export interface Backbone {
  bus: Bus;
  store: Store;
}

/**
 * Chooses the Bus and the Store once, at start: `[nats] url` set → NATS, else the in-process bus;
 * `[redis] addrs` non-empty → Redis, else the in-memory store. `given` overrides either (tests,
 * embedding). Rejects when a configured server cannot be reached, closing what it had opened.
 * `name` labels this process's connections on the servers; `mirror` are the prefixes of durable records
 * a Redis Store keeps a copy of, to write back if Redis loses its data.
 */
export async function connectBackbone(
  config: Pick<Config, 'nats' | 'redis'>,
  name: string,
  given: Partial<Backbone> = {},
  mirror: readonly string[] = [],
): Promise<Backbone> {
  const bus = given.bus ?? (config.nats.url ? await NatsBus.connect(config.nats.url, name) : new MemoryBus());
  try {
    const store =
      given.store ??
      (config.redis.addrs.length > 0
        ? await RedisStore.connect({ ...config.redis, name, mirror })
        : new MemoryStore());
    return { bus, store };
  } catch (err) {
    if (!given.bus) {
      await bus.close();
    }
    throw err;
  }
}
