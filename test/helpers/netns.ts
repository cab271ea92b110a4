// Network namespaces a connectivity test makes for itself (inside test/run.js's namespace, which is
// the clients' side), a Switchboard started as a child process inside one of them, firewall rules
// (nftables), and `ss` views of the server's sockets. Interface names must not start with "veth":
// WebRTC stacks ignore such interfaces when gathering.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/** Runs a command; throws with its stderr when it fails. */
export function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return r.stdout;
}

function base(): string {
  const ns = process.env.SB_NETNS;
  if (!ns) {
    throw new Error('needs the test namespace (run through test/run.js as root)');
  }
  return ns;
}

/** A namespace of ours: `exec` runs a command inside it; `close` deletes it (and its links). */
export class Namespace {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  static create(suffix: string): Namespace {
    const ns = new Namespace(`${base()}-${suffix}`);
    spawnSync('ip', ['netns', 'del', ns.name]); // left over from a crashed run
    sh('ip', 'netns', 'add', ns.name);
    ns.exec('ip', 'link', 'set', 'lo', 'up');
    return ns;
  }
  exec(cmd: string, ...args: string[]): string {
    return sh('ip', 'netns', 'exec', this.name, cmd, ...args);
  }
  /** Loads an nftables ruleset (text) into this namespace. */
  nft(ruleset: string): void {
    const r = spawnSync('ip', ['netns', 'exec', this.name, 'nft', '-f', '-'], {
      input: ruleset,
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new Error(`nft in ${this.name}: ${r.stderr.trim()}`);
    }
  }
  close(): void {
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** A veth pair `a` (in the namespace running this test) ↔ `b` (in `ns`), each with its /24 address. */
function link(ns: Namespace, a: string, aAddr: string, b: string, bAddr: string): void {
  spawnSync('ip', ['link', 'del', a]);
  sh('ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', ns.name);
  sh('ip', 'addr', 'add', `${aAddr}/24`, 'dev', a);
  sh('ip', 'link', 'set', a, 'up');
  ns.exec('ip', 'addr', 'add', `${bAddr}/24`, 'dev', b);
  ns.exec('ip', 'link', 'set', b, 'up');
}

export interface ServerSide {
  readonly ns: Namespace;
  /** The address clients use to reach the server (signalling, media, TURN). */
  readonly address: string;
  close(): void;
}

/** The server's namespace, directly linked to ours: 10.210.0.1 (clients) ↔ 10.210.0.2 (server). */
export function directLink(): ServerSide {
  const ns = Namespace.create('srv');
  try {
    link(ns, 'sbc0', '10.210.0.1', 'sbc1', '10.210.0.2');
  } catch (err) {
    ns.close();
    throw err;
  }
  return { ns, address: '10.210.0.2', close: () => ns.close() };
}

export interface NatSide extends ServerSide {
  /** The server's own address, which clients cannot reach. */
  readonly privateAddress: string;
}

/**
 * A 1:1 NAT: the server's namespace (10.212.0.2) sits behind a router namespace that maps the
 * public address 10.213.0.10 (owned by nobody) to it with DNAT (and SNAT back), like a cloud VM.
 * Clients (our namespace, 10.211.0.1) have a route to the public address only; the router forwards
 * new connections from the client side only (a stateful firewall), so the server cannot reach the
 * clients' host candidates on its own either.
 */
export function natLink(): NatSide {
  const router = Namespace.create('rtr');
  const server = Namespace.create('nsrv');
  try {
    natRouting(router, server);
  } catch (err) {
    server.close();
    router.close();
    throw err;
  }
  return {
    ns: server,
    address: '10.213.0.10',
    privateAddress: '10.212.0.2',
    close: () => {
      server.close();
      router.close();
    },
  };
}

function natRouting(router: Namespace, server: Namespace): void {
  link(router, 'sbr0', '10.211.0.1', 'sbr1', '10.211.0.2');
  // router ↔ server: made inside the router namespace
  router.exec('ip', 'link', 'add', 'sbn0', 'type', 'veth', 'peer', 'name', 'sbn1', 'netns', server.name);
  router.exec('ip', 'addr', 'add', '10.212.0.1/24', 'dev', 'sbn0');
  router.exec('ip', 'link', 'set', 'sbn0', 'up');
  server.exec('ip', 'addr', 'add', '10.212.0.2/24', 'dev', 'sbn1');
  server.exec('ip', 'link', 'set', 'sbn1', 'up');
  server.exec('ip', 'route', 'add', 'default', 'via', '10.212.0.1');
  router.exec('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  router.nft(`
table ip sbnat {
  chain sb_pre { type nat hook prerouting priority dstnat; ip daddr 10.213.0.10 dnat to 10.212.0.2; }
  chain sb_post { type nat hook postrouting priority srcnat; ip saddr 10.212.0.2 snat to 10.213.0.10; }
  chain sb_forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept;
    iifname "sbr1" oifname "sbn0" accept;
  }
}
`);
  sh('ip', 'route', 'add', '10.213.0.0/24', 'via', '10.211.0.2');
}

/** A table of nftables rules in our own namespace (the clients'); `remove()` deletes it. */
export function clientFirewall(name: string, chainBody: string): { remove(): void } {
  const table = `sbfw_${name}`;
  spawnSync('nft', ['delete', 'table', 'inet', table]);
  const r = spawnSync('nft', ['-f', '-'], {
    input: `table inet ${table} {\n  chain sb_out {\n    type filter hook output priority filter;\n${chainBody}\n  }\n}\n`,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`nft: ${r.stderr.trim()}`);
  }
  return { remove: () => void spawnSync('nft', ['delete', 'table', 'inet', table]) };
}

export interface ServerProcess {
  readonly pid: number;
  /** `http://<address>:<port>` as clients reach it. */
  readonly url: string;
  readonly port: number;
  /** Every line the server printed (pino JSON). */
  readonly output: string[];
  /** Local ports of the server process's UDP sockets (`ss -uanp` in its namespace, by pid). */
  udpPorts(): number[];
  /** Pids of the server's direct children (coturn). */
  children(): number[];
  stop(): Promise<void>;
}

/**
 * Starts `switchboard start` inside `side.ns` with `toml` appended to a base configuration
 * (signalling on all addresses, an ephemeral port, its own data folder) and resolves once it listens.
 */
export async function startServerIn(side: ServerSide, toml: string): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-netns-'));
  const file = join(dir, 'switchboard.toml');
  await writeFile(
    file,
    `[signal]\nhost = "0.0.0.0"\nport = 0\n[api]\ndatadir = ${JSON.stringify(dir)}\n${toml}\n`,
  );
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', side.ns.name, process.execPath, BIN, 'start', '--config', file],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SB_LOG_LEVEL: 'info' },
    },
  );
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join('\n')}`)), 30_000);
    const onLine = (line: string): void => {
      output.push(line);
      const m = /"msg":"switchboard listening"/.test(line) ? /"url":"http:\/\/[^"]*:(\d+)"/.exec(line) : null;
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        lines.forEach(onLine);
      });
    }
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited (${child.exitCode}):\n${output.join('\n')}`));
    });
  });
  const pid = child.pid!;
  return {
    pid,
    port,
    url: `http://${side.address}:${port}`,
    output,
    udpPorts() {
      return side.ns
        .exec('ss', '-H', '-uanp')
        .split('\n')
        .filter((l) => l.includes(`pid=${pid},`))
        .map((l) => Number(/:(\d+)\s/.exec(l.trim().split(/\s+/).slice(3, 4).join(' ') + ' ')?.[1]));
    },
    children() {
      const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
      return r.stdout.split('\n').filter(Boolean).map(Number);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(kill);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
