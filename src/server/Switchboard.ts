import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { MemoryBus, MemoryStore, type Bus, type Store } from '../backbone/index.ts';
import { logLevel, validateSupported, ConfigError, type Config } from '../config/index.ts';
import { Metrics } from '../metrics/Metrics.ts';
import { RegistryRole } from '../registry/index.ts';
import { SfuRole } from '../sfu/index.ts';
import { SignalRole } from '../signal/index.ts';
import { logger, setLogLevel } from '../util/logger.ts';
import { buildDemoAssets } from './demoAssets.ts';

export type RoleName = 'signal' | 'registry' | 'sfu';
export const ALL_ROLES: readonly RoleName[] = ['signal', 'registry', 'sfu'];

export interface StartOptions {
  roles?: readonly RoleName[];
  /** Defaults: the in-process Bus and in-memory Store (the embedded server). */
  bus?: Bus;
  store?: Store;
}

function nodeId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * A Switchboard process: the chosen roles, the Bus and Store they talk through, and one HTTP
 * server for `/ws`, `/metrics` and the demo page. Roles never call each other directly.
 */
export class Switchboard {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly bus: Bus;
  readonly store: Store;
  readonly sfu: SfuRole | undefined;
  readonly signal: SignalRole | undefined;
  readonly registry: RegistryRole | undefined;
  #closed = false;

  private constructor(
    config: Config,
    app: FastifyInstance,
    bus: Bus,
    store: Store,
    roles: readonly RoleName[],
  ) {
    this.config = config;
    this.app = app;
    this.bus = bus;
    this.store = store;
    const dc = config.global.dc;
    this.registry = roles.includes('registry') ? new RegistryRole(dc, bus, store) : undefined;
    this.sfu = roles.includes('sfu') ? new SfuRole(config, bus, store, nodeId('sfu')) : undefined;
    this.signal = roles.includes('signal') ? new SignalRole(config, bus, nodeId('signal')) : undefined;
  }

  static async start(config: Config, opts: StartOptions = {}): Promise<Switchboard> {
    const unsupported = validateSupported(config);
    if (unsupported.length > 0) {
      throw new ConfigError(unsupported);
    }
    setLogLevel(logLevel(config));
    const app = Fastify({
      // Requests are not logged at info: signalling and metrics scrapes would drown everything else.
      loggerInstance: logger.child({ role: 'http' }, { level: 'warn' }),
      bodyLimit: 1024 * 1024,
    }) as unknown as FastifyInstance;
    await app.register(fastifyWebsocket, {
      options: { maxPayload: config.signal.maxmessagesize },
      // A client's protocol fault (oversized frame, bad opcode) is its own problem: ws has already sent
      // the close code (1009 etc.); log it quietly instead of as a server error.
      errorHandler: (err, socket) => {
        const code = (err as { code?: string }).code ?? '';
        logger[code.startsWith('WS_ERR_') ? 'debug' : 'warn']({ err }, 'client websocket error');
        socket.terminate();
      },
    });
    const sb = new Switchboard(
      config,
      app,
      opts.bus ?? new MemoryBus(),
      opts.store ?? new MemoryStore(),
      opts.roles ?? ALL_ROLES,
    );
    await sb.#routes();
    await sb.registry?.start();
    await sb.sfu?.start();
    await sb.signal?.start();
    await app.listen({ host: config.signal.host, port: config.signal.port });
    logger.info({ url: sb.url, roles: opts.roles ?? ALL_ROLES }, 'switchboard listening');
    return sb;
  }

  get port(): number {
    return (this.app.server.address() as AddressInfo).port;
  }

  /** The HTTP base URL; a wildcard bind address is shown as localhost. */
  get url(): string {
    const host = this.config.signal.host;
    const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${this.port}`;
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.signal?.close();
    await this.sfu?.close();
    await this.registry?.close();
    await this.app.close();
    await this.bus.close();
    await this.store.close();
  }

  async #routes(): Promise<void> {
    const app = this.app;
    const metrics = new Metrics(this.sfu?.sfu);
    app.get('/metrics', async (_req, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
    app.get('/healthz', () => ({
      ok: true,
      roles: { signal: !!this.signal, sfu: !!this.sfu, registry: !!this.registry },
    }));
    this.signal?.register(app);
    if (this.signal) {
      const assets = await buildDemoAssets();
      for (const [path, asset] of assets) {
        app.get(path, (_req, reply) =>
          reply.type(asset.contentType).header('cache-control', 'no-cache').send(asset.body),
        );
      }
    }
  }
}
