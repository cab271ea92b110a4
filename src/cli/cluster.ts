/**
 * `switchboard cluster`: a whole cluster on this machine with one command, for trying distributed
 * mode and cascading: Debian's `nats-server` and `redis-server` on free ports (nothing persisted),
 * then N nodes (`switchboard start`, every role, one media worker each) on consecutive HTTP ports,
 * sharing them. Ctrl-C (or SIGTERM) stops the nodes, then the servers, and removes the temporary
 * folder. The nodes' configuration files stay readable there while it runs, so
 * `switchboard token --config <dir>/node1.toml …` signs tokens the cluster accepts.
 *
 * With `--regions R` (> 1) it is one cluster across R regions (data centres): one nats-server per
 * region, joined into a supercluster by gateways (config files in the temporary folder), one
 * redis-server for all, and N nodes per region, each with `[global] cluster` shared and `[global] dc`
 * its region, connected to its region's nats-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { portSlice } from '../agent/index.ts';
import { ConfigError, parseConfig } from '../config/index.ts';

export interface ClusterOptions {
  /** A base configuration file for every node; `[nats]` and `[redis]` are replaced. */
  config?: string;
  /** Nodes per region (absent: 3 in one region, 1 per region with several). */
  nodes?: number;
  /** HTTP port of node 1; node i listens on port + i - 1. */
  port: number;
  /** Regions (data centres), each with its own nats-server (default 1: no gateways, `[global]` untouched). */
  regions?: number;
}

/** The shared `[global] cluster` of a several-region cluster whose base file names none. */
export const DEFAULT_REGIONS_CLUSTER = 'local';

/** Region `r`'s `[global] dc` (1-based). */
export const regionName = (r: number): string => `region${r}`;

const HOST = '127.0.0.1';
const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

interface Member {
  name: string;
  child: ChildProcess;
  /** Stopping it was our idea. */
  stopping: boolean;
}

export async function runCluster(opts: ClusterOptions): Promise<void> {
  const regions = opts.regions ?? 1;
  const perRegion = opts.nodes ?? (regions > 1 ? 1 : 3);
  if (perRegion < 1) {
    fail('--nodes must be at least 1');
  }
  if (regions < 1) {
    fail('--regions must be at least 1');
  }
  const total = perRegion * regions;
  const base = opts.config ? await readBase(opts.config) : {};
  const baseGlobal = (base.global as Record<string, unknown> | undefined) ?? {};
  const cluster = (baseGlobal.cluster as string | undefined) ?? DEFAULT_REGIONS_CLUSTER;
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-cluster-'));
  const members: Member[] = [];
  let stopping = false;
  const killAll = (): void => {
    for (const m of members) {
      if (m.child.exitCode === null && m.child.signalCode === null) {
        m.child.kill('SIGKILL');
      }
    }
  };
  // Children run in process groups of their own (Ctrl-C reaches only us and we stop them in order);
  // if this process dies on an error, they go with it.
  process.once('exit', killAll);

  const launch = (name: string, cmd: string, args: string[]): Member => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    const m: Member = { name, child, stopping: false };
    members.push(m);
    prefixLines(child, name);
    child.once('error', (err) => {
      console.error(`switchboard cluster: cannot run ${cmd}: ${err.message}${hint(cmd)}`);
      void stop(1);
    });
    child.once('exit', (code, signal) => {
      if (!m.stopping && !stopping) {
        console.error(`switchboard cluster: ${name} exited (${signal ?? code})`);
        if (!name.startsWith('node')) {
          void stop(1); // without NATS or Redis the nodes cannot work
        }
      }
    });
    return m;
  };

  const stop = async (code: number): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.log('switchboard cluster: stopping the nodes, then redis-server and nats-server');
    const halt = async (list: Member[], sig: NodeJS.Signals): Promise<void> => {
      await Promise.all(
        list.map(async (m) => {
          m.stopping = true;
          if (m.child.exitCode !== null || m.child.signalCode !== null || m.child.pid === undefined) {
            return;
          }
          const exited = once(m.child, 'exit');
          m.child.kill(sig);
          const force = setTimeout(() => m.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(force);
        }),
      );
    };
    await halt(
      members.filter((m) => m.name.startsWith('node')),
      'SIGINT',
    );
    await halt(
      members.filter((m) => !m.name.startsWith('node')),
      'SIGTERM',
    );
    await rm(dir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
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
    const redisPort = await port();
    // prettier-ignore
    const redis = launch('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir]);
    const nats: NatsMember[] = [];
    if (regions === 1) {
      const natsPort = await port();
      const m = launch('nats-server', 'nats-server', ['-a', HOST, '-p', String(natsPort)]);
      nats.push({ member: m, region: undefined, port: natsPort, gateway: 0, monitor: 0 });
    } else {
      const ports: { client: number; gateway: number; monitor: number }[] = [];
      for (let r = 1; r <= regions; r++) {
        ports.push({ client: await port(), gateway: await port(), monitor: await port() });
      }
      const gateways = ports.map((p, i) => ({ name: regionName(i + 1), port: p.gateway }));
      for (const [i, p] of ports.entries()) {
        const region = regionName(i + 1);
        const file = join(dir, `nats-${region}.conf`);
        await writeFile(file, natsConfig(region, p.client, p.gateway, p.monitor, gateways));
        const m = launch(`nats-${region}`, 'nats-server', ['-c', file]);
        nats.push({ member: m, region, port: p.client, gateway: p.gateway, monitor: p.monitor, file });
      }
    }
    await Promise.all([
      accepting(redisPort, redis.child),
      ...nats.map((n) => accepting(n.port, n.member.child)),
    ]);
    if (regions > 1) {
      // Subjects cross regions only once the gateways are up, both ways, between every pair.
      await Promise.all(nats.map((n) => gatewaysUp(n, regions, n.member.child)));
    }

    const nodes: { name: string; region: string | undefined; file: string; port: number }[] = [];
    for (let i = 1; i <= total; i++) {
      const r = Math.ceil(i / perRegion);
      const region = regions > 1 ? regionName(r) : undefined;
      const file = join(dir, `node${i}.toml`);
      await mkdir(join(dir, `node${i}`)); // the node's data folder (secrets.json)
      const where = {
        i,
        total,
        dir,
        natsUrl: `nats://${HOST}:${nats[r - 1]!.port}`,
        redisPort,
        global: region === undefined ? undefined : { cluster, dc: region },
      };
      await writeFile(file, nodeConfig(base, where), { mode: 0o600 });
      nodes.push({ name: `node${i}`, region, file, port: opts.port + i - 1 });
    }
    // Node 1 first: it generates the shared secrets in Redis that the others adopt.
    for (const n of nodes) {
      const node = launch(n.name, process.execPath, [
        BIN,
        'start',
        '--config',
        n.file,
        '--port',
        String(n.port),
      ]);
      await healthy(n.port, node.child);
    }

    const url = (n: (typeof nodes)[number]): string => `http://localhost:${n.port}`;
    const pidOf = (name: string): number | undefined => members.find((m) => m.name === name)?.child.pid;
    const nodeLine = (n: (typeof nodes)[number]): string =>
      `  ${n.name.padEnd(13)} ${url(n).padEnd(26)} pid ${pidOf(n.name)}   config ${n.file}`;
    const redisLine = `  redis-server  ${HOST}:${redisPort}`.padEnd(42) + ` pid ${redis.child.pid}`;
    if (regions === 1) {
      const n = nats[0]!;
      console.log(`\nSwitchboard cluster ready: ${total} node(s), Ctrl-C stops everything`);
      for (const node of nodes) {
        console.log(nodeLine(node));
      }
      console.log(`  nats-server   nats://${HOST}:${n.port}`.padEnd(42) + ` pid ${n.member.child.pid}`);
      console.log(redisLine);
      const [first, second] = [nodes[0]!, nodes[1] ?? nodes[0]!];
      console.log(`Open ${url(first)} and ${url(second)} in two tabs and join the same room.\n`);
    } else {
      console.log(
        `\nSwitchboard cluster ready: ${regions} regions of cluster "${cluster}", ${perRegion} node(s) each, ` +
          'Ctrl-C stops everything',
      );
      for (const n of nats) {
        console.log(`${n.region}:`);
        for (const node of nodes.filter((x) => x.region === n.region)) {
          console.log(nodeLine(node));
        }
        const name = n.member.name.padEnd(13);
        console.log(
          `  ${name} nats://${HOST}:${n.port}`.padEnd(42) +
            ` pid ${n.member.child.pid}   gateway ${HOST}:${n.gateway}   config ${n.file}`,
        );
      }
      console.log('every region:');
      console.log(redisLine);
      const first = nodes[0]!;
      const second = nodes.find((x) => x.region !== first.region)!;
      console.log(
        `Open ${url(first)} (${first.region}) and ${url(second)} (${second.region}) in two tabs and join ` +
          'the same room:\neach is placed on a node of its region, and the room crosses between them.\n',
      );
    }
  } catch (err) {
    console.error(`switchboard cluster: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
  }
}

function fail(message: string): never {
  console.error(`switchboard cluster: ${message}`);
  process.exit(1);
}

async function readBase(file: string): Promise<Record<string, unknown>> {
  try {
    const text = await readFile(file, 'utf8');
    parseConfig(text, file); // fail early, naming the key
    return parseToml(text);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`switchboard: invalid configuration\n${err.message}`);
      process.exit(2);
    }
    return fail(err instanceof Error ? err.message : String(err));
  }
}

interface NatsMember {
  member: Member;
  /** Its region, when there are several (a supercluster). */
  region: string | undefined;
  port: number;
  gateway: number;
  /** HTTP monitoring port (`/gatewayz`); 0 with one region. */
  monitor: number;
  file?: string;
}

/**
 * A region's nats-server configuration: its client port, its monitoring port (for `/gatewayz`), and a
 * gateway named after the region that connects to every region's gateway (its own included, as NATS
 * allows), which makes the servers one supercluster.
 */
export function natsConfig(
  region: string,
  port: number,
  gatewayPort: number,
  monitorPort: number,
  gateways: readonly { name: string; port: number }[],
): string {
  return [
    '# generated by `switchboard cluster --regions`; removed when it stops',
    `server_name: "${region}-1"`,
    `listen: "${HOST}:${port}"`,
    `http: "${HOST}:${monitorPort}"`,
    'gateway {',
    `  name: "${region}"`,
    `  listen: "${HOST}:${gatewayPort}"`,
    '  gateways: [',
    gateways.map((g) => `    { name: "${g.name}", url: "nats://${HOST}:${g.port}" }`).join(',\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}

/**
 * Node `i`'s configuration: the base file with its region's NATS and the cluster's Redis, one media
 * worker, its own data folder, its slice of `[webrtc] portrange`, and a shared `[auth] secret` so
 * that `switchboard token --config <file>` works; with several regions, `[global] cluster` (shared)
 * and `dc` (its region).
 */
function nodeConfig(
  base: Record<string, unknown>,
  o: {
    i: number;
    total: number;
    dir: string;
    natsUrl: string;
    redisPort: number;
    global: { cluster: string; dc: string } | undefined;
  },
): string {
  const section = (k: string): Record<string, unknown> => ({
    ...((base[k] as Record<string, unknown>) ?? {}),
  });
  const sfu = { workers: 1, ...section('sfu') };
  const auth = { secret: sharedSecret, ...section('auth') };
  const api = { ...section('api'), datadir: join(o.dir, `node${o.i}`) };
  const webrtc = section('webrtc');
  const range = webrtc.portrange as [number, number] | undefined;
  if (range) {
    webrtc.portrange = portSlice(range, o.total, o.i - 1);
  }
  const doc = {
    ...base,
    ...(o.global ? { global: { ...section('global'), ...o.global } } : {}),
    nats: { url: o.natsUrl },
    redis: { addrs: [`${HOST}:${o.redisPort}`] },
    sfu,
    auth,
    api,
    ...(Object.keys(webrtc).length > 0 ? { webrtc } : {}),
  };
  const text = stringifyToml(doc);
  parseConfig(text, `node${o.i}.toml`); // our own output must be valid
  return `# generated by \`switchboard cluster\`; removed when it stops\n${text}\n`;
}

const sharedSecret = randomBytes(24).toString('base64url');

function hint(cmd: string): string {
  return cmd === 'nats-server' || cmd === 'redis-server' ? ` (Debian: apt-get install ${cmd})` : '';
}

function prefixLines(child: ChildProcess, name: string): void {
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    let rest = '';
    stream?.on('data', (b: Buffer) => {
      const lines = (rest + b.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        out.write(`[${name}] ${line}\n`);
      }
    });
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, HOST);
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  srv.close();
  await once(srv, 'close');
  return port;
}

/** Resolves once something accepts TCP connections on `port`; rejects if `child` exits first. */
async function accepting(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnfile} exited before accepting connections on port ${port}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: HOST, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing accepts connections on port ${port}`);
}

/** Resolves once `n`'s `/gatewayz` shows a gateway connection to every other region, both ways. */
async function gatewaysUp(n: NatsMember, regions: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const others = Array.from({ length: regions }, (_, i) => regionName(i + 1)).filter((r) => r !== n.region);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server of ${n.region} exited while its gateways were connecting`);
    }
    try {
      const res = await fetch(`http://${HOST}:${n.monitor}/gatewayz`);
      const z = (await res.json()) as {
        outbound_gateways?: Record<string, unknown>;
        inbound_gateways?: Record<string, unknown>;
      };
      if (others.every((r) => r in (z.outbound_gateways ?? {}) && r in (z.inbound_gateways ?? {}))) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateways of ${n.region} did not connect to the other regions`);
}

/** Resolves once the node on `port` answers /healthz. */
async function healthy(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the node for port ${port} exited during start (is the port free?)`);
    }
    try {
      const res = await fetch(`http://${HOST}:${port}/healthz`);
      if (res.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the node for port ${port} did not become healthy`);
}
