import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bus, Store, Subscription } from '../backbone/index.ts';
import { clusterOf, type Config } from '../config/index.ts';
import { eventSubjects, type SwitchboardEvent } from '../protocol/events.ts';
import { livekitSecrets, verifyLiveKitToken } from '../protocol/livekit.ts';
import { getRoom, getService } from '../protocol/records.ts';
import { peekIssuer, signToken, verifyToken, type Grants } from '../protocol/tokens.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { Dashboard, type DashboardAssets } from './dashboard.ts';
import { apiErrorHandler, HttpError, sendError } from './httpErrors.ts';
import { MAuthVerifier } from './mauth.ts';
import { useJsonBodyParser } from './jsonBody.ts';
import { registerNuveRoutes, type AuthContext, type RouteContext } from './nuveRoutes.ts';
import { registerRecordingRoutes } from './recordingRoutes.ts';
import { openApiDocument } from './openapi.ts';
import { devTokenQuery } from './schemas.ts';
import type { LiveKitRoomService } from './twirp/LiveKitRoomService.ts';
import { registerTwirp } from './twirp/twirpRoutes.ts';
import { Webhooks } from './Webhooks.ts';

/** Keys the api role needs (from `[auth]`, `[api]`, or generated at start). */
export interface ApiSecrets {
  authSecret: string;
  superserviceId: string;
  superserviceKey: string;
}

const DEV_TOKEN_TTL_S = 3600;

/**
 * The api role (Licode's Nuve): REST management under `/api` on the server's HTTP port (rooms,
 * tokens, users, services; MAuth or bearer JWT), the OpenAPI document, the demo's dev-token endpoint,
 * LiveKit's Twirp RoomService under `/twirp` (`[livekit] enabled`), and webhook delivery of the room
 * and media events published on the Bus.
 */
export class ApiRole {
  readonly webhooks: Webhooks;
  readonly #config: Config;
  readonly #bus: Bus;
  readonly #store: Store;
  readonly #cluster: string;
  readonly #secrets: ApiSecrets;
  readonly #mauth: MAuthVerifier;
  readonly #auth = new WeakMap<FastifyRequest, AuthContext>();
  #sub: Subscription | undefined;

  constructor(config: Config, bus: Bus, store: Store, secrets: ApiSecrets) {
    this.#config = config;
    this.#bus = bus;
    this.#store = store;
    this.#cluster = clusterOf(config);
    this.#secrets = secrets;
    this.#mauth = new MAuthVerifier({
      cluster: this.#cluster,
      store,
      windowSeconds: config.api.mauthwindow,
      lookupService: (id) => getService(store, this.#cluster, id),
    });
    const w = config.webhooks;
    this.webhooks = new Webhooks({
      urls: w.urls,
      retries: w.retries,
      timeoutMs: w.timeout * 1000,
      queueSize: w.queuesize,
      signer: (e) => this.#signer(e),
    });
  }

  async start(): Promise<void> {
    if (this.#config.webhooks.urls.length > 0) {
      // One api instance delivers each event (queue group).
      this.#sub = this.#bus.subscribe(
        eventSubjects.all(this.#cluster),
        (data) => this.#enrich(data as SwitchboardEvent).then((e) => this.webhooks.enqueue(e)),
        { queue: 'webhooks' },
      );
      await this.#bus.flush();
    }
  }

  async close(): Promise<void> {
    this.#sub?.unsubscribe();
    await this.webhooks.close();
  }

  /**
   * Registers `/api/*` on the server (before it listens), and the operator's dashboard at `/dashboard`
   * (src/api/dashboard.ts) when its page is given.
   */
  async register(app: FastifyInstance, dashboardAssets?: DashboardAssets): Promise<void> {
    await app.register(
      (api) => {
        api.setErrorHandler(apiErrorHandler);
        useJsonBodyParser(api);
        api.setNotFoundHandler((_req, reply) => sendError(reply, 404, 'Resource not found'));
        // Nuve answers CORS for any origin; browsers' preflights need no credentials.
        api.addHook('onRequest', async (req, reply) => {
          void reply.header('access-control-allow-origin', '*');
          void reply.header('access-control-allow-methods', 'POST, GET, PUT, PATCH, OPTIONS, DELETE');
          void reply.header('access-control-allow-headers', 'origin, authorization, content-type, accept');
          if ((req.routeOptions.config as { public?: boolean } | undefined)?.public !== true) {
            this.#auth.set(req, await this.#authenticate(req));
          }
        });
        api.options('/*', { config: { public: true } }, (_req, reply) => reply.status(200).send());
        api.get('/openapi.json', { config: { public: true } }, () => openApiDocument());
        api.get('/dev/token', { config: { public: true } }, (req, reply) => this.#devToken(req, reply));
        const routes: RouteContext = {
          cluster: this.#cluster,
          store: this.#store,
          bus: this.#bus,
          authSecret: this.#secrets.authSecret,
          superserviceKey: this.#secrets.superserviceKey,
          publicUrl: this.#config.signal.publicurl,
          auth: (req) => {
            const a = this.#auth.get(req);
            if (!a) {
              throw new HttpError(401, 'not authenticated');
            }
            return a;
          },
        };
        registerNuveRoutes(api, routes);
        registerRecordingRoutes(api, routes);
        return Promise.resolve();
      },
      { prefix: '/api' },
    );
    if (this.#config.livekit.enabled) {
      // LiveKit's RoomService (livekit-server-sdk) at /twirp, with LiveKit's API keys and tokens.
      const secretOf = livekitSecrets({
        keys: this.#config.livekit.keys,
        store: this.#store,
        cluster: this.#cluster,
        superserviceId: this.#secrets.superserviceId,
      });
      let service: Promise<LiveKitRoomService> | undefined;
      await registerTwirp(app, {
        service: () =>
          (service ??= import('./twirp/LiveKitRoomService.ts').then(
            (m) => new m.LiveKitRoomService({ bus: this.#bus, store: this.#store, cluster: this.#cluster }),
          )),
        verify: (token) => verifyLiveKitToken(token, secretOf),
      });
    }
    if (dashboardAssets) {
      await new Dashboard({
        store: this.#store,
        cluster: this.#cluster,
        ...this.#secrets,
        verifyManagementToken: async (token) => (await this.#bearer(token)).service,
        assets: dashboardAssets,
      }).register(app);
    }
  }

  /** MAuth (Licode) or `Authorization: Bearer <JWT with grants.api>`. */
  async #authenticate(req: FastifyRequest): Promise<AuthContext> {
    const header = req.headers.authorization;
    if (header === undefined || header === '') {
      throw new HttpError(401, 'MAuth header or bearer token required');
    }
    const scheme = /^\S*/.exec(header)![0];
    if (/^bearer$/i.test(scheme)) {
      const token = header.slice(scheme.length).trim();
      if (token === '') {
        throw new HttpError(401, 'Bearer: the token is missing (Authorization: Bearer <JWT>)');
      }
      return this.#bearer(token);
    }
    if (!/^mauth$/i.test(scheme)) {
      const shown = scheme.length > 24 ? `${scheme.slice(0, 24)}…` : scheme;
      throw new HttpError(
        401,
        `unsupported authorization scheme "${shown}": use MAuth (Licode's signed header) or Bearer <JWT>`,
      );
    }
    const r = await this.#mauth.verify(header);
    return { service: r.service, username: r.username, role: r.role, via: 'mauth' };
  }

  async #bearer(token: string): Promise<AuthContext> {
    const iss = peekIssuer(token);
    const serviceId = iss ?? this.#secrets.superserviceId;
    const service = await getService(this.#store, this.#cluster, serviceId);
    if (!service) {
      throw new SwitchboardError('unauthorized', 'invalid token: unknown issuer');
    }
    const key = service.superservice ? this.#secrets.authSecret : service.key;
    const grants: Grants = await verifyToken(token, key, service.id);
    if (!grants.api) {
      throw new SwitchboardError('forbidden', 'not a management token (needs the api grant)');
    }
    return { service, via: 'bearer' };
  }

  /** Development only (anonymous mode): a token for the demo page, so it exercises the token path. */
  async #devToken(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (!this.#config.auth.anonymous) {
      return sendError(reply, 404, 'Resource not found');
    }
    const q = devTokenQuery.parse(req.query ?? {});
    const identity = q.identity ?? randomUUID();
    const token = await signToken({
      secret: this.#secrets.authSecret,
      identity,
      room: q.room,
      ...(q.name !== undefined && q.name !== '' ? { name: q.name } : {}),
      ttlSeconds: DEV_TOKEN_TTL_S,
    });
    return { token, room: q.room, identity, expiresAt: Math.floor(Date.now() / 1000) + DEV_TOKEN_TTL_S };
  }

  /** Media events name the room by id only: add its name and service from the room's record. */
  async #enrich(e: SwitchboardEvent): Promise<SwitchboardEvent> {
    if (e.service !== undefined) {
      return e;
    }
    const rec = await getRoom(this.#store, this.#cluster, e.room.sid).catch(() => undefined);
    return rec ? { ...e, room: { sid: rec.id, name: rec.name }, service: rec.service } : e;
  }

  /** Webhooks are signed with the key of the service that owns the room (the superservice's otherwise). */
  async #signer(e: SwitchboardEvent): Promise<{ service: string; key: string }> {
    const id =
      e.service ??
      (await getRoom(this.#store, this.#cluster, e.room.sid))?.service ??
      this.#secrets.superserviceId;
    const s = await getService(this.#store, this.#cluster, id);
    if (s) {
      return { service: s.id, key: s.key };
    }
    logger.debug({ service: id }, 'webhook for an unknown service: signed with the superservice key');
    return { service: this.#secrets.superserviceId, key: this.#secrets.superserviceKey };
  }
}
