import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { connectBackbone, type Bus, type Store } from '../backbone/index.ts';
import { clusterOf, logLevel, validateSupported, ConfigError, type Config } from '../config/index.ts';
import { AgentRole, workerPlan } from '../agent/index.ts';
import { ApiRole } from '../api/index.ts';
import { Metrics } from '../metrics/Metrics.ts';
import { mirroredPrefixes, persistentPrefixes } from '../protocol/room.ts';
import { RegistryRole } from '../registry/index.ts';
import { RoomRole } from '../room/index.ts';
import { SfuRole } from '../sfu/index.ts';
import { SignalRole } from '../signal/index.ts';
import { TurnServer } from '../turn/index.ts';
import { logger, setLogLevel } from '../util/logger.ts';
import { buildDashboardAssets } from './dashboardAssets.ts';
import { buildDemoAssets } from './demoAssets.ts';
import { PersistentMemoryStore } from './PersistentMemoryStore.ts';
import { keepSecrets, resolveSecrets, writeSecretsFile, type Secrets } from './secrets.ts';
import { localNames } from './selfSignedCert.ts';
import { redirectPlainHttp, type PlainHttpRedirect } from './plainHttpRedirect.ts';
import { tlsCredentials, type TlsCredentials } from './tlsCredentials.ts';

export type RoleName = 'signal' | 'registry' | 'sfu' | 'room' | 'api';
export const ALL_ROLES: readonly RoleName[] = ['signal', 'registry', 'sfu', 'room', 'api'];

export interface StartOptions {
  roles?: readonly RoleName[];
  /**
   * Override the Bus / Store chosen from the configuration (`[nats] url` → NATS, `[redis] addrs` →
   * Redis, else in-process). Switchboard closes them on `close()`.
   */
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
/** Requests still running when the HTTP server closes get this long to finish. */
const HTTP_CLOSE_GRACE_MS = 2000;

export class Switchboard {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly bus: Bus;
  readonly store: Store;
  /** The sfu role in this process (`[sfu] workers` = 1, or a worker process). */
  readonly sfu: SfuRole | undefined;
  /** The sfu role as worker processes (`[sfu] workers` > 1, src/agent): then `sfu` is undefined. */
  readonly agent: AgentRole | undefined;
  readonly signal: SignalRole | undefined;
  readonly registry: RegistryRole | undefined;
  readonly room: RoomRole | undefined;
  /** Undefined when not among the roles or `[api] enabled = false`. */
  readonly api: ApiRole | undefined;
  /** The JWT key and superservice credentials in effect (configured or generated). */
  readonly secrets: Secrets;
  /** coturn, run for this media node's clients with `[turn] enabled` (sfu role only). */
  readonly turn: TurnServer | undefined;
  /**
   * The certificate of the listener (`[signal] cert`/`key` or `tlsselfsigned`): then everything on the
   * port is HTTPS and WSS. Undefined: plain HTTP.
   */
  readonly tls: Omit<TlsCredentials, 'cert' | 'key'> | undefined;
  #stopKeepingSecrets: (() => void) | undefined;
  #plainHttp: PlainHttpRedirect | undefined;
  #closed = false;
  #metrics: Metrics | undefined;

  private constructor(
    config: Config,
    app: FastifyInstance,
    bus: Bus,
    store: Store,
    roles: readonly RoleName[],
    secrets: Secrets,
    tls: TlsCredentials | undefined,
  ) {
    this.config = config;
    this.tls = tls && {
      certPath: tls.certPath,
      fingerprint256: tls.fingerprint256,
      validTo: tls.validTo,
      ...(tls.selfSigned ? { selfSigned: tls.selfSigned } : {}),
    };
    this.app = app;
    this.bus = bus;
    this.store = store;
    this.secrets = secrets;
    const cluster = clusterOf(config);
    this.registry = roles.includes('registry') ? new RegistryRole(cluster, bus, store) : undefined;
    const workers = roles.includes('sfu') ? workerPlan(config) : { count: 0 };
    if (workers.note) {
      logger.info(workers.note);
    }
    this.agent = workers.count > 1 ? new AgentRole(config, store, workers.count) : undefined;
    this.sfu = workers.count === 1 ? new SfuRole(config, bus, store, nodeId('sfu')) : undefined;
    // One coturn per host: with workers it runs here, not in each of them (see AgentRole's config).
    this.turn = (this.sfu || this.agent) && config.turn.enabled ? new TurnServer(config) : undefined;
    this.room = roles.includes('room') ? new RoomRole(config, bus, store, secrets.superserviceId) : undefined;
    this.api =
      roles.includes('api') && config.api.enabled ? new ApiRole(config, bus, store, secrets) : undefined;
    this.signal = roles.includes('signal')
      ? new SignalRole(config, bus, store, nodeId('signal'), secrets)
      : undefined;
  }

  static async start(config: Config, opts: StartOptions = {}): Promise<Switchboard> {
    const unsupported = validateSupported(config);
    if (unsupported.length > 0) {
      throw new ConfigError(unsupported);
    }
    setLogLevel(logLevel(config));
    const datadir = resolve(config.api.datadir);
    const tls = await tlsCredentials(config, datadir);
    const app = Fastify({
      // One port for everything: with a certificate the page, /ws, /api, /whip, /metrics are all TLS.
      ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
      // Requests are not logged at info: signalling and metrics scrapes would drown everything else.
      loggerInstance: logger.child({ role: 'http' }, { level: 'warn' }),
      bodyLimit: 1024 * 1024,
      // Nuve clients call `services/` and `rooms/:room/users/` with a trailing slash.
      routerOptions: { ignoreTrailingSlash: true },
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
    const roles = opts.roles ?? ALL_ROLES;
    const name = `switchboard ${roles.join(',')} pid ${process.pid}`;
    // Without Redis, the in-memory Store keeps rooms, services and secrets in the data folder.
    let store = opts.store;
    if (!store && config.redis.addrs.length === 0) {
      store = await PersistentMemoryStore.open(datadir, persistentPrefixes(clusterOf(config))).catch(
        async (err: unknown) => {
          await app.close();
          throw err;
        },
      );
    }
    const ownStore = store !== opts.store ? store : undefined;
    const mirror = roles.includes('api') || roles.includes('room') ? mirroredPrefixes(clusterOf(config)) : [];
    const backbone = await connectBackbone(config, name, { bus: opts.bus, store }, mirror).catch(
      async (err: unknown) => {
        await app.close();
        await ownStore?.close();
        throw err;
      },
    );
    const resolved = await resolveSecrets(config, backbone.store, backbone.bus).catch(
      async (err: unknown) => {
        await app.close();
        await backbone.bus.close();
        await backbone.store.close();
        throw err;
      },
    );
    const sb = new Switchboard(config, app, backbone.bus, backbone.store, roles, resolved.secrets, tls);
    // With TLS, plain http:// on the same port is answered with a redirect to https://.
    sb.#plainHttp = tls ? redirectPlainHttp(app.server as unknown as TlsServer) : undefined;
    sb.#stopKeepingSecrets = keepSecrets(config, backbone.bus, backbone.store, resolved);
    try {
      await sb.#routes();
      await sb.registry?.start();
      await sb.sfu?.start();
      await sb.agent?.start();
      await sb.turn?.start();
      await sb.room?.start();
      await sb.api?.start();
      await sb.signal?.start();
      await app.listen({ host: config.signal.host, port: config.signal.port });
    } catch (err) {
      await sb
        .close()
        .catch((closeErr: unknown) => logger.warn({ err: closeErr }, 'cleanup after failed start'));
      throw err;
    }
    logger.info({ url: sb.url, roles }, 'switchboard listening');
    await sb.#announce(resolved, datadir);
    return sb;
  }

  /** Tells the operator what they need once: generated credentials, and that anyone can join. */
  async #announce(r: Awaited<ReturnType<typeof resolveSecrets>>, datadir: string): Promise<void> {
    if (this.tls) {
      const { certPath, fingerprint256, validTo, selfSigned } = this.tls;
      logger.info(
        { certPath, fingerprint256, validTo: validTo.toISOString(), urls: this.urls },
        selfSigned
          ? `serving HTTPS and WSS with a self-signed certificate (${selfSigned.created ? 'made now' : 'reused'}): ` +
              'browsers warn once; compare its SHA-256 fingerprint before accepting it'
          : 'serving HTTPS and WSS',
      );
      if (validTo.getTime() < Date.now()) {
        logger.warn(
          { certPath, validTo: validTo.toISOString() },
          'the TLS certificate has expired: browsers refuse it',
        );
      }
    }
    if (Object.keys(r.generated).length > 0) {
      await writeSecretsFile(datadir, r.generated).catch((err: unknown) =>
        logger.warn({ err, datadir }, 'could not write secrets.json (the CLI reads generated keys from it)'),
      );
    }
    if (r.created.superservice && this.api) {
      logger.info(
        { superserviceId: r.secrets.superserviceId, superserviceKey: r.secrets.superserviceKey, datadir },
        'generated the superservice credentials (shown once; also in secrets.json of the data folder)',
      );
    }
    if (this.signal && this.config.auth.anonymous) {
      logger.warn(
        '[auth] anonymous = true: ANYONE who can reach this server can join any room without a token. ' +
          'Set [auth] anonymous = false and issue tokens (REST /api, `switchboard token`) in production.',
      );
    }
  }

  get port(): number {
    return (this.app.server.address() as AddressInfo).port;
  }

  /** The base URL, `https://` with a certificate; a wildcard bind address is shown as localhost. */
  get url(): string {
    const host = this.config.signal.host;
    return this.#urlOf(host === '0.0.0.0' || host === '::' ? 'localhost' : host);
  }

  /**
   * Every base URL clients may use: `url`, then for a wildcard bind address one per non-loopback IPv4
   * address of this machine (what another machine of the LAN types in).
   */
  get urls(): string[] {
    const host = this.config.signal.host;
    const lan =
      host === '0.0.0.0' || host === '::' ? localNames().ips.filter((ip) => ip !== '127.0.0.1') : [];
    return [this.url, ...lan.map((ip) => this.#urlOf(ip))];
  }

  #urlOf(host: string): string {
    return `${this.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /**
   * SIGTERM: media nodes drain first (no new rooms or peers, leases released, clients told to
   * `reconnect` and given time to move; see SfuRole.drain), then `close()`.
   */
  async drain(): Promise<void> {
    await Promise.all([this.sfu?.drain(), this.agent?.drain()]);
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#stopKeepingSecrets?.();
    await this.signal?.close();
    await this.api?.close();
    await this.room?.close();
    await this.sfu?.close();
    await this.agent?.close();
    await this.turn?.close();
    await this.registry?.close();
    this.#metrics?.close();
    // A keep-alive connection Node does not count as idle (seen after a WHIP PATCH answered while its
    // session ended) would hold the close for fastify's keepAliveTimeout (72 s): requests get a grace.
    this.#plainHttp?.close();
    const force = setTimeout(() => this.app.server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
    force.unref();
    await this.app.close();
    clearTimeout(force);
    await this.bus.close();
    await this.store.close();
  }

  async #routes(): Promise<void> {
    const app = this.app;
    const metrics = new Metrics({
      cluster: clusterOf(this.config),
      dc: this.config.global.dc,
      sfu: this.sfu ? { node: this.sfu.nodeId, sfu: this.sfu.sfu } : undefined,
      placements: this.registry?.placements,
      withStats: this.config.sfu.withstats,
    });
    this.#metrics = metrics;
    app.get('/metrics', async (_req, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
    app.get('/healthz', () => ({
      ok: true,
      roles: {
        signal: !!this.signal,
        sfu: !!this.sfu || !!this.agent,
        ...(this.agent ? { workers: this.agent.nodes } : {}),
        registry: !!this.registry,
        room: !!this.room,
        api: !!this.api,
      },
    }));
    await this.api?.register(app, this.config.api.dashboard ? buildDashboardAssets : undefined);
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
