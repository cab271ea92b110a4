// Real nats-server and redis-server (Debian packages) as child processes on free ports, for the
// contract and distributed tests. Each is stopped by its PID; never the system services on 4222/6379.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortWait, waitFor } from './waitFor.ts';

const HOST = '127.0.0.1';

/** Servers still running; killed if the test process exits without stopping them (a failed before()). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

/** A port nobody listens on right now: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, HOST);
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Resolves true when something accepts TCP connections on `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: HOST, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/**
 * One server process on a fixed port; `stop()` and `start()` can be repeated (the port stays),
 * which is how tests take a server away and bring it back.
 */
class ServiceProcess {
  readonly port: number;
  readonly #cmd: string;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #output = '';

  constructor(cmd: string, args: readonly string[], port: number) {
    this.#cmd = cmd;
    this.#args = args;
    this.port = port;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Spawns the server and resolves once it accepts connections; rejects (with its output) if it exits. */
  async start(): Promise<void> {
    if (this.#child) {
      return;
    }
    const child = spawn(this.#cmd, this.#args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
    this.#child = child;
    running.add(child);
    this.#output = '';
    const collect = (b: Buffer): void => {
      this.#output = (this.#output + b.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `exited (${signal ?? code})`;
      running.delete(child);
      if (this.#child === child) {
        this.#child = undefined;
      }
    });
    child.once('error', (err) => {
      exited = err.message; // e.g. ENOENT: not installed
      running.delete(child);
      if (this.#child === child) {
        this.#child = undefined;
      }
    });
    try {
      await waitFor(
        async () => {
          if (exited) {
            throw new AbortWait(`${this.#cmd} ${exited}: ${this.#output.trim()}`);
          }
          // Accepting while our process is gone would mean someone else holds the port.
          return (await accepts(this.port)) && exited === undefined;
        },
        { timeout: 10_000, interval: 50, what: `${this.#cmd} to accept connections on port ${this.port}` },
      );
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** SIGTERM to our PID (SIGKILL after 5 s) and wait for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      this.#child = undefined;
      return;
    }
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(force);
    this.#child = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** A `nats-server` (no JetStream) on 127.0.0.1. */
export class NatsServer extends ServiceProcess {
  get url(): string {
    return `nats://${HOST}:${this.port}`;
  }
}

/** A `redis-server` on 127.0.0.1 that persists nothing. */
export class RedisServer extends ServiceProcess {
  /** For `[redis] addrs`. */
  get addr(): string {
    return `${HOST}:${this.port}`;
  }
}

/** Starts a server on a free port; tries another port if it lost the race for the first. */
async function launch<T extends ServiceProcess>(make: (port: number) => T): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const s = make(await freePort());
    try {
      await s.start();
      return s;
    } catch (err) {
      if (attempt >= 3) {
        throw err;
      }
    }
  }
}

/** Starts `nats-server -a 127.0.0.1 -p <free port>`; stop it with `stop()` in `after()`. */
export function startNats(): Promise<NatsServer> {
  return launch((port) => new NatsServer('nats-server', ['-a', HOST, '-p', String(port)], port));
}

/** Starts `redis-server` on a free port, without RDB or AOF; stop it with `stop()` in `after()`. */
export function startRedis(): Promise<RedisServer> {
  return launch((port) => {
    // prettier-ignore
    const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', tmpdir()];
    return new RedisServer('redis-server', args, port);
  });
}

/** Gateways a server of a supercluster reports on its monitoring endpoint (`/gatewayz`). */
interface Gatewayz {
  outbound_gateways?: Record<string, unknown>;
  inbound_gateways?: Record<string, unknown>;
}

/** One region's `nats-server` of a supercluster (`startNatsSupercluster`). */
export class RegionalNatsServer extends NatsServer {
  readonly region: string;
  /** HTTP monitoring port (`/gatewayz`), on 127.0.0.1. */
  readonly monitorPort: number;

  constructor(region: string, config: string, port: number, monitorPort: number) {
    super('nats-server', ['-c', config], port);
    this.region = region;
    this.monitorPort = monitorPort;
  }

  /** Names of the other regions this server has a gateway connection to, both ways. */
  async gateways(): Promise<string[]> {
    const res = await fetch(`http://${HOST}:${this.monitorPort}/gatewayz`);
    const z = (await res.json()) as Gatewayz;
    const inbound = new Set(Object.keys(z.inbound_gateways ?? {}));
    return Object.keys(z.outbound_gateways ?? {})
      .filter((name) => inbound.has(name))
      .sort();
  }
}

/** A NATS supercluster: one server per region, joined by gateways; `stop()` stops them all. */
export class NatsSupercluster {
  readonly servers: readonly RegionalNatsServer[];
  readonly #dir: string;

  constructor(servers: readonly RegionalNatsServer[], dir: string) {
    this.servers = servers;
    this.#dir = dir;
  }

  /** The server of `region`. */
  of(region: string): RegionalNatsServer {
    const s = this.servers.find((x) => x.region === region);
    if (!s) {
      throw new Error(`no nats-server for region ${region}`);
    }
    return s;
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      await s.stop();
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Starts one `nats-server` per region (names: NATS gateway names, e.g. `['eu', 'us']`) on free ports
 * of 127.0.0.1, each from a config file with a `gateway` block naming every region, and resolves
 * once every server has a gateway connection to every other region in both directions (its
 * `/gatewayz`). Stop it with `stop()` in `after()`.
 */
export async function startNatsSupercluster(regions: readonly string[]): Promise<NatsSupercluster> {
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'sb-nats-'));
    const taken = new Set<number>();
    const port = async (): Promise<number> => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    const ports: { client: number; gateway: number; monitor: number }[] = [];
    for (let i = 0; i < regions.length; i++) {
      ports.push({ client: await port(), gateway: await port(), monitor: await port() });
    }
    const gateways = regions
      .map((name, i) => `    { name: "${name}", url: "nats://${HOST}:${ports[i]!.gateway}" }`)
      .join(',\n');
    const servers = await Promise.all(
      regions.map(async (region, i) => {
        const p = ports[i]!;
        const file = join(dir, `${region}.conf`);
        await writeFile(
          file,
          [
            `server_name: "${region}-1"`,
            `listen: "${HOST}:${p.client}"`,
            `http: "${HOST}:${p.monitor}"`,
            'gateway {',
            `  name: "${region}"`,
            `  listen: "${HOST}:${p.gateway}"`,
            '  gateways: [',
            gateways,
            '  ]',
            '}',
            '',
          ].join('\n'),
        );
        return new RegionalNatsServer(region, file, p.client, p.monitor);
      }),
    );
    const sc = new NatsSupercluster(servers, dir);
    try {
      for (const s of servers) {
        await s.start();
      }
      await waitFor(
        async () => {
          for (const s of servers) {
            const others = regions.filter((r) => r !== s.region).sort();
            if ((await s.gateways()).join() !== others.join()) {
              return false;
            }
          }
          return true;
        },
        { timeout: 15_000, interval: 100, what: `the gateways of ${regions.join(', ')} to connect` },
      );
      return sc;
    } catch (err) {
      await sc.stop();
      if (attempt >= 3) {
        throw err;
      }
    }
  }
}
