/**
 * `switchboard cluster`: a whole cluster on this machine with one command, for trying distributed
 * mode and cascading: Debian's `nats-server` and `redis-server` on free ports (nothing persisted),
 * then N nodes (`switchboard start`, every role, one media worker each) on consecutive HTTP ports,
 * sharing them. Ctrl-C (or SIGTERM) stops the nodes, then the servers, and removes the temporary
 * folder. The nodes' configuration files stay readable there while it runs, so
 * `switchboard token --config <dir>/node1.toml …` signs tokens the cluster accepts.
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
  nodes: number;
  /** HTTP port of node 1; node i listens on port + i - 1. */
  port: number;
}

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
  if (opts.nodes < 1) {
    fail('--nodes must be at least 1');
  }
  const base = opts.config ? await readBase(opts.config) : {};
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
    const natsPort = await freePort();
    const redisPort = await freePort();
    const nats = launch('nats-server', 'nats-server', ['-a', HOST, '-p', String(natsPort)]);
    // prettier-ignore
    const redis = launch('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir]);
    await Promise.all([accepting(natsPort, nats.child), accepting(redisPort, redis.child)]);

    const files: string[] = [];
    for (let i = 1; i <= opts.nodes; i++) {
      const file = join(dir, `node${i}.toml`);
      await mkdir(join(dir, `node${i}`)); // the node's data folder (secrets.json)
      await writeFile(file, nodeConfig(base, i, opts.nodes, dir, natsPort, redisPort), { mode: 0o600 });
      files.push(file);
    }
    // Node 1 first: it generates the shared secrets in Redis that the others adopt.
    const urls: string[] = [];
    for (let i = 1; i <= opts.nodes; i++) {
      const port = opts.port + i - 1;
      const node = launch(`node${i}`, process.execPath, [
        BIN,
        'start',
        '--config',
        files[i - 1]!,
        '--port',
        String(port),
      ]);
      await healthy(port, node.child);
      urls.push(`http://localhost:${port}`);
    }

    console.log(`\nSwitchboard cluster ready: ${opts.nodes} node(s), Ctrl-C stops everything`);
    for (const [i, url] of urls.entries()) {
      const pid = members.find((m) => m.name === `node${i + 1}`)!.child.pid;
      console.log(`  node${i + 1}         ${url.padEnd(26)} pid ${pid}   config ${files[i]}`);
    }
    console.log(`  nats-server   nats://${HOST}:${natsPort}`.padEnd(42) + ` pid ${nats.child.pid}`);
    console.log(`  redis-server  ${HOST}:${redisPort}`.padEnd(42) + ` pid ${redis.child.pid}`);
    console.log(`Open ${urls[0]} and ${urls[1] ?? urls[0]} in two tabs and join the same room.\n`);
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

/**
 * Node `i`'s configuration: the base file with the cluster's NATS and Redis, one media worker, its
 * own data folder, its slice of `[webrtc] portrange`, and a shared `[auth] secret` so that
 * `switchboard token --config <file>` works.
 */
function nodeConfig(
  base: Record<string, unknown>,
  i: number,
  nodes: number,
  dir: string,
  natsPort: number,
  redisPort: number,
): string {
  const section = (k: string): Record<string, unknown> => ({
    ...((base[k] as Record<string, unknown>) ?? {}),
  });
  const sfu = { workers: 1, ...section('sfu') };
  const auth = { secret: sharedSecret, ...section('auth') };
  const api = { ...section('api'), datadir: join(dir, `node${i}`) };
  const webrtc = section('webrtc');
  const range = webrtc.portrange as [number, number] | undefined;
  if (range) {
    webrtc.portrange = portSlice(range, nodes, i - 1);
  }
  const doc = {
    ...base,
    nats: { url: `nats://${HOST}:${natsPort}` },
    redis: { addrs: [`${HOST}:${redisPort}`] },
    sfu,
    auth,
    api,
    ...(Object.keys(webrtc).length > 0 ? { webrtc } : {}),
  };
  const text = stringifyToml(doc);
  parseConfig(text, `node${i}.toml`); // our own output must be valid
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
