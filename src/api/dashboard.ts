/**
 * The operator's dashboard at `/dashboard` (issue #18): a page (web/dashboard/) that polls the REST API
 * and shows rooms, participants, tracks, nodes and recordings, with the room service's actions.
 *
 * Every `/dashboard` path (the page, its assets, the session) needs credentials, one of:
 * - `Authorization: Basic base64(<superservice id>:<superservice key>)`: the browser's own login
 *   prompt, answered by the 401's `WWW-Authenticate: Basic realm="Switchboard dashboard"`;
 * - a management token (JWT with the `api` grant, verified as `/api` verifies bearer tokens), given
 *   once as `/dashboard?token=<JWT>`: it goes into an HttpOnly, SameSite=Lax cookie on
 *   `/dashboard` until it expires, and the browser is sent on to `/dashboard` without it in the URL;
 *   also taken as `Basic` with user name `token` and the JWT as password, or as `Bearer <JWT>`.
 *
 * The page does not read the Store itself: `GET /dashboard/session` hands it short-lived management
 * tokens (one per service it may see: every service for the superservice) and it calls `/api` with
 * them, so the dashboard can do nothing the REST API does not allow.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../backbone/index.ts';
import { getService, listServices } from '../protocol/records.ts';
import type { ServiceRecord } from '../protocol/room.ts';
import { safeEqual, signToken } from '../protocol/tokens.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

/** One file of the page, built once (src/server/dashboardAssets.ts). */
export interface DashboardAsset {
  contentType: string;
  body: Buffer;
}

/** The page's files by path under `/dashboard` (`/` is the page). */
export type DashboardAssets = () => Promise<Map<string, DashboardAsset>>;

export interface DashboardOptions {
  store: Store;
  cluster: string;
  superserviceId: string;
  superserviceKey: string;
  /** HS256 key of the superservice's JWTs (`[auth] secret`). */
  authSecret: string;
  /** `/api`'s bearer check: the service of a valid management token; throws otherwise. */
  verifyManagementToken(token: string): Promise<ServiceRecord>;
  assets: DashboardAssets;
}

/** Lifetime of the tokens `/dashboard/session` hands the page (it asks again before they expire). */
export const SESSION_TTL_S = 600;
export const DASHBOARD_REALM = 'Switchboard dashboard';
const COOKIE = 'sb_dashboard';
const CHALLENGE = `Basic realm="${DASHBOARD_REALM}", charset="UTF-8"`;
const SIGN_IN =
  'Sign in with the superservice id and key, or open /dashboard?token=<management token> ' +
  '(switchboard token --grant api).';

/**
 * The page's headers: no framing, no referrer (its first URL may hold a token), nothing cached, and
 * only its own scripts, styles and connections.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

interface Session {
  service: ServiceRecord;
  /** The management token given (`?token=`, cookie): the cookie lives as long as it does. */
  token?: string;
}

/** `name=value` pairs of a Cookie header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/** The `exp` of a JWT already verified, seconds since the epoch. */
function expiryOf(token: string): number {
  const payload = token.split('.')[1] ?? '';
  const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
  return typeof exp === 'number' ? exp : 0;
}

function unauthorized(message: string): never {
  throw new SwitchboardError('unauthorized', message);
}

export class Dashboard {
  readonly #o: DashboardOptions;
  readonly #sessions = new WeakMap<FastifyRequest, Session>();
  #assets: Promise<Map<string, DashboardAsset>> | undefined;

  constructor(o: DashboardOptions) {
    this.#o = o;
  }

  /** Registers `/dashboard` and `/dashboard/*` (every path behind the credentials). */
  async register(app: FastifyInstance): Promise<void> {
    await app.register(
      (dash) => {
        dash.addHook('onRequest', async (req, reply) => {
          for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
            void reply.header(k, v);
          }
          try {
            this.#sessions.set(req, await this.#authenticate(req));
          } catch (err) {
            return this.#refuse(reply, err);
          }
          return undefined;
        });
        dash.setNotFoundHandler((_req, reply) => reply.status(404).type('text/plain').send('Not found'));
        dash.get('/', (req, reply) => this.#page(req, reply));
        dash.get('/session', (req) => this.#session(req));
        dash.get('/*', (req, reply) => this.#asset(req, reply));
        return Promise.resolve();
      },
      { prefix: '/dashboard' },
    );
  }

  async #authenticate(req: FastifyRequest): Promise<Session> {
    const given = (req.query as { token?: unknown } | undefined)?.token;
    if (typeof given === 'string' && given !== '') {
      return this.#byToken(given);
    }
    const header = req.headers.authorization ?? '';
    const scheme = /^\S*/.exec(header)![0].toLowerCase();
    const rest = header.slice(scheme.length).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        unauthorized('malformed Basic credentials');
      }
      const user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      if (user === 'token') {
        return { service: await this.#o.verifyManagementToken(password) };
      }
      // Both compared, in constant time, whichever is wrong.
      const idOk = safeEqual(user, this.#o.superserviceId);
      const keyOk = safeEqual(password, this.#o.superserviceKey);
      const service = idOk && keyOk ? await getService(this.#o.store, this.#o.cluster, user) : undefined;
      if (!service) {
        unauthorized('wrong superservice id or key');
      }
      return { service };
    }
    if (scheme === 'bearer' && rest !== '') {
      return { service: await this.#o.verifyManagementToken(rest) };
    }
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    if (cookie !== undefined && cookie !== '') {
      return this.#byToken(cookie);
    }
    return unauthorized('credentials required');
  }

  async #byToken(token: string): Promise<Session> {
    return { service: await this.#o.verifyManagementToken(token), token };
  }

  /** Every failure is a 401 with the Basic challenge (a wrong or expired token too: sign in again). */
  #refuse(reply: FastifyReply, err: unknown): FastifyReply {
    const known = err instanceof SwitchboardError;
    if (!known) {
      logger.warn({ err }, 'dashboard: credentials check failed');
    }
    const reason = known ? err.message : 'the credentials could not be checked';
    // A stale cookie is dropped, so the browser's prompt can take over.
    void reply.header('set-cookie', `${COOKIE}=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Lax`);
    return reply
      .status(401)
      .header('www-authenticate', CHALLENGE)
      .type('text/plain; charset=utf-8')
      .send(`401 Unauthorized: ${reason}. ${SIGN_IN}\n`);
  }

  async #page(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const s = this.#sessions.get(req)!;
    const query = req.query as { token?: unknown } | undefined;
    if (typeof query?.token === 'string' && s.token !== undefined) {
      const maxAge = Math.max(0, expiryOf(s.token) - Math.floor(Date.now() / 1000));
      const secure = req.protocol === 'https' || req.headers['x-forwarded-proto'] === 'https';
      // Lax, not Strict: a link to `?token=` opened from another site (a chat, a mail) must sign in, and
      // Strict would withhold the cookie after the redirect. Nothing acts on the cookie but GETs of the
      // page and its session tokens, which another site cannot read (no CORS on /dashboard).
      return reply
        .header(
          'set-cookie',
          `${COOKIE}=${s.token}; Path=/dashboard; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
        )
        .redirect('/dashboard', 303);
    }
    return this.#send(reply, '/');
  }

  async #asset(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const path = new URL(req.url, 'http://x').pathname.slice('/dashboard'.length);
    return this.#send(reply, path);
  }

  async #send(reply: FastifyReply, path: string): Promise<FastifyReply> {
    this.#assets ??= this.#o.assets();
    let assets: Map<string, DashboardAsset>;
    try {
      assets = await this.#assets;
    } catch (err) {
      this.#assets = undefined; // the next request tries again
      logger.error({ err }, 'dashboard: building the page failed');
      return reply.status(500).type('text/plain').send('the dashboard page could not be built (see the log)');
    }
    const a = assets.get(path);
    if (!a) {
      return reply.status(404).type('text/plain').send('Not found');
    }
    return reply.type(a.contentType).send(a.body);
  }

  /**
   * Management tokens for the page: the superservice's sees every service (one token each, as each
   * service's rooms answer only its own tokens), any other service's only its own.
   */
  async #session(req: FastifyRequest): Promise<unknown> {
    const s = this.#sessions.get(req)!;
    const services = s.service.superservice
      ? await listServices(this.#o.store, this.#o.cluster)
      : [s.service];
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      services.map(async (svc) => ({
        service: svc.id,
        name: svc.name,
        superservice: svc.superservice === true,
        token: await signToken({
          secret: svc.superservice ? this.#o.authSecret : svc.key,
          identity: 'dashboard',
          grants: { api: true, canPublish: false, canSubscribe: false, canPublishData: false },
          ttlSeconds: SESSION_TTL_S,
          issuer: svc.id,
          now,
        }),
      })),
    );
    return { expiresAt: now + SESSION_TTL_S, services: tokens };
  }
}
