// A Switchboard node as a real child process (`node bin/switchboard.js start --config … --role …`), for
// tests that kill processes (kill -9, SIGTERM) or need the agent's worker processes. Its configuration
// points at the test's nats-server and redis-server; it is stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'smol-toml';
import { freePort, type NatsServer, type RedisServer } from './services.ts';
import { AbortWait, waitFor } from './waitFor.ts';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/** Node processes still running; killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

export interface NodeProcessOptions {
  nats: NatsServer;
  redis: RedisServer;
  dc?: string;
  /** `[global] cluster` (absent: the namespace is `dc`, as before). */
  cluster?: string;
  roles?: string[];
  /** Extra TOML sections, merged over the generated ones (e.g. `{ sfu: { workers: 2 } }`). */
  config?: Record<string, Record<string, unknown>>;
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #dir: string;
  #output = '';

  private constructor(child: ChildProcess, port: number, dir: string) {
    this.child = child;
    this.port = port;
    this.#dir = dir;
    running.add(child);
    const collect = (b: Buffer): void => {
      this.#output = (this.#output + b.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      running.delete(child);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** Starts the process and resolves once it answers /healthz. */
  static async start(o: NodeProcessOptions): Promise<NodeProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'sb-node-'));
    const sections: Record<string, Record<string, unknown>> = {
      global: { dc: o.dc ?? 'dc1', ...(o.cluster !== undefined ? { cluster: o.cluster } : {}) },
      nats: { url: o.nats.url },
      redis: { addrs: [o.redis.addr] },
      signal: { host: '127.0.0.1' },
      sfu: { workers: 1 },
      api: { datadir: dir },
      log: { level: 'warn' },
    };
    for (const [k, v] of Object.entries(o.config ?? {})) {
      sections[k] = { ...sections[k], ...v };
    }
    const file = join(dir, 'node.toml');
    await writeFile(file, stringify(sections));
    const port = await freePort();
    const args = [BIN, 'start', '--config', file, '--port', String(port)];
    if (o.roles) {
      args.push('--role', o.roles.join(','));
    }
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const node = new NodeProcess(child, port, dir);
    let gone = false;
    void node.exited.then(() => (gone = true));
    try {
      await waitFor(
        async () => {
          if (gone) {
            throw new AbortWait(`node process exited during start:\n${node.output}`);
          }
          return (await fetch(`${node.url}/healthz`)).ok;
        },
        { timeout: 60_000, interval: 200, what: `the node process on port ${port} to answer /healthz` },
      );
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The last 20 kB of its stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `/healthz` of the process (its roles; `workers` lists the agent's worker node ids). */
  async health(): Promise<{ roles: { workers?: string[] } & Record<string, unknown> }> {
    return (await (await fetch(`${this.url}/healthz`)).json()) as {
      roles: { workers?: string[] } & Record<string, unknown>;
    };
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGINT (SIGKILL after 15 s), waits for the exit, removes its folder. Idempotent. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGINT');
      const force = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(force);
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}
