// Several in-process Switchboard instances sharing one nats-server and one redis-server, each
// with the roles of its choice: a cluster on one machine (test/distributed).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { defaultConfig, type Config } from '../../src/config/index.ts';
import { storeKeys, type NodeLoad } from '../../src/protocol/cluster.ts';
import { Switchboard, type RoleName } from '../../src/server/Switchboard.ts';
import type { NatsServer, RedisServer } from './services.ts';

export class TestCluster {
  /** `[global] dc` of the instances: their region. */
  readonly dc: string;
  /** The namespace of their subjects and keys: `[global] cluster` when given, else `dc` (as before). */
  readonly cluster: string;
  readonly #clusterOption: string | undefined;
  readonly #nats: NatsServer;
  readonly #redis: RedisServer;
  readonly #members: Switchboard[] = [];
  /** Each instance's data folder (secrets.json), never the repository's ./data. */
  readonly #dirs: string[] = [];
  /** Our own view of the Store, to assert what the roles wrote. */
  readonly redis: Redis;

  /**
   * `cluster`: `[global] cluster` of every instance, so that several TestClusters of different `dc`
   * (regions, each with its own nats-server of a supercluster) form one cluster.
   */
  constructor(nats: NatsServer, redis: RedisServer, dc = 'dc1', cluster?: string) {
    this.#nats = nats;
    this.#redis = redis;
    this.dc = dc;
    this.cluster = cluster ?? dc;
    this.#clusterOption = cluster;
    this.redis = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
  }

  /** Starts one Switchboard with `roles` on 127.0.0.1, port 0, configured for the shared servers. */
  start(...roles: RoleName[]): Promise<Switchboard> {
    return this.startWith(() => undefined, ...roles);
  }

  /** As `start`, with `configure` applied to the configuration last (e.g. `[sfu] maxpeers`). */
  async startWith(configure: (cfg: Config) => void, ...roles: RoleName[]): Promise<Switchboard> {
    const cfg = defaultConfig();
    cfg.sfu.workers = 1; // media in this process: the test drives the SfuRole directly
    cfg.global.dc = this.dc;
    if (this.#clusterOption !== undefined) {
      cfg.global.cluster = this.#clusterOption;
    }
    cfg.signal.host = '127.0.0.1';
    cfg.signal.port = 0;
    cfg.log.level = 'warn';
    cfg.nats.url = this.#nats.url;
    cfg.redis.addrs = [this.#redis.addr];
    const dir = await mkdtemp(join(tmpdir(), 'sb-cluster-'));
    this.#dirs.push(dir);
    cfg.api.datadir = dir;
    configure(cfg);
    const sb = await Switchboard.start(cfg, { roles });
    this.#members.push(sb);
    return sb;
  }

  /** The heartbeat a media node last wrote, if its key is live. */
  async nodeLoad(node: string): Promise<NodeLoad | undefined> {
    const v = await this.redis.get(storeKeys.node(this.cluster, node));
    return v ? (JSON.parse(v) as NodeLoad) : undefined;
  }

  /** Every live heartbeat in the Store. */
  async nodes(): Promise<NodeLoad[]> {
    const out: NodeLoad[] = [];
    for (const key of await this.redis.keys(`${storeKeys.nodePrefix(this.cluster)}*`)) {
      const v = await this.redis.get(key);
      if (v) {
        out.push(JSON.parse(v) as NodeLoad);
      }
    }
    return out;
  }

  /** The node id a process heartbeats as (the heartbeat carries its pid). */
  async nodeOfPid(pid: number): Promise<string | undefined> {
    return (await this.nodes()).find((n) => n.pid === pid)?.node;
  }

  /** Keys of the Store that name `text` in the key or its value (string or hash), e.g. a dead node's id. */
  async keysMentioning(text: string): Promise<string[]> {
    const found: string[] = [];
    for (const key of await this.redis.keys(`sb:${this.cluster}:*`)) {
      const type = await this.redis.type(key);
      const value =
        type === 'string'
          ? ((await this.redis.get(key)) ?? '')
          : type === 'hash'
            ? JSON.stringify(await this.redis.hgetall(key))
            : '';
      if (key.includes(text) || value.includes(text)) {
        found.push(key);
      }
    }
    return found;
  }

  async roomOwner(room: string): Promise<string | null> {
    return this.redis.get(storeKeys.roomOwner(this.cluster, room));
  }

  /** Closes every instance (signal first, as a process would drain) and our Redis client. */
  async close(): Promise<void> {
    const rank = (sb: Switchboard): number => (sb.signal ? 0 : sb.sfu ? 1 : 2);
    for (const sb of [...this.#members].sort((a, b) => rank(a) - rank(b))) {
      await sb.close();
    }
    this.#members.length = 0;
    this.redis.disconnect();
    for (const dir of this.#dirs.splice(0)) {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
