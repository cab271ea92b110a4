/**
 * WHIP (RFC 9725) ingest and WHEP playback on the signal role's HTTP port:
 *
 *     POST    /whip/rooms/:room                      application/sdp offer → 201, the answer
 *     POST    /whep/rooms/:room[/participants/:uid]  (WHEP, see docs/protocols/whip-whep.md)
 *     PATCH   /whip/sessions/:id                     application/trickle-ice-sdpfrag → 204
 *     DELETE  /whip/sessions/:id                     → 200
 *     OPTIONS any of them                            CORS, Accept-Post / Accept-Patch
 *
 * Tokens are Switchboard access tokens in `Authorization: Bearer` (or `?access_token=`), as on `/ws`;
 * a WHIP session needs `canPublish`, a WHEP one `canSubscribe`. Any signal instance takes a session's
 * PATCH or DELETE: the resource record in the Store names the media node and the connection.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import sdpTransform from 'sdp-transform';
import type { Bus, Store } from '../../backbone/index.ts';
import { subjects, type PeerRequest } from '../../protocol/cluster.ts';
import { roomSubjects } from '../../protocol/room.ts';
import {
  WHIP_ENDED_NOTIFICATION,
  WHIP_RESOURCE_TTL_MS,
  whipKeys,
  whipResource,
  type WhipResource,
} from '../../protocol/whip.ts';
import type { ClientIceServer } from '../../turn/iceServers.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import type { Authenticator } from '../Authenticator.ts';
import type { ClientLimits } from '../ClientLimits.ts';
import type { SignalClient } from '../SignalClient.ts';
import { iceServerLinks } from './iceLinks.ts';
import { buildSdpFrag, parseSdpFrag, SdpFragError, type SdpFrag } from './sdpFrag.ts';
import { WhipSession } from './WhipSession.ts';

const SDP = 'application/sdp';
const SDP_FRAG = 'application/trickle-ice-sdpfrag';
/** Seconds a client is told to wait when no media node takes it (503). */
const RETRY_AFTER_S = 5;

export interface WhipEndpointOptions {
  signalNode: string;
  cluster: string;
  dc: string;
  bus: Bus;
  store: Store;
  auth: Authenticator;
  limits: ClientLimits;
  /** `[signal] allowedorigins` (empty: any). */
  origins: readonly string[];
  /** Largest SDP body, bytes. */
  maxBody: number;
  iceServers(identity: string, host: string | undefined): ClientIceServer[];
  added(client: SignalClient): void;
  removed(client: SignalClient): void;
}

type Kind = 'whip' | 'whep';
const KINDS: readonly Kind[] = ['whip', 'whep'];

/** An HTTP refusal: status, plain-text reason, extra headers. */
class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const STATUS: Partial<Record<SwitchboardError['code'], number>> = {
  'invalid-params': 400,
  negotiation: 400,
  'invalid-state': 409,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  limited: 429,
  unavailable: 503,
  'no-responder': 503,
  timeout: 503,
};

export class WhipEndpoint {
  readonly #o: WhipEndpointOptions;
  /** Sessions this instance created, by resource id. */
  readonly #sessions = new Map<string, WhipSession>();

  constructor(o: WhipEndpointOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#sessions.size;
  }

  register(app: FastifyInstance): void {
    void app.register((scope, _opts, done) => {
      // Bodies of these two types arrive as strings; everything else is refused with 415 below.
      scope.addContentTypeParser(
        [SDP, SDP_FRAG],
        { parseAs: 'string', bodyLimit: this.#o.maxBody },
        (_req, body, done) => done(null, body),
      );
      scope.addHook('onRequest', (req, reply, next) => {
        this.#cors(req, reply);
        next();
      });
      for (const kind of KINDS) {
        const endpoints =
          kind === 'whip'
            ? ['/whip/rooms/:room']
            : ['/whep/rooms/:room', '/whep/rooms/:room/participants/:uid'];
        for (const path of endpoints) {
          scope.post(path, (req, reply) => this.#handle(reply, () => this.#post(kind, req, reply)));
          scope.options(path, (req, reply) =>
            this.#handle(reply, () => this.#options(req, reply, 'endpoint')),
          );
          scope.get(path, (_req, reply) => reply.code(204).send());
        }
        const session = `/${kind}/sessions/:id`;
        scope.patch(session, (req, reply) => this.#handle(reply, () => this.#patch(kind, req, reply)));
        scope.delete(session, (req, reply) => this.#handle(reply, () => this.#delete(kind, req, reply)));
        scope.options(session, (req, reply) =>
          this.#handle(reply, () => this.#options(req, reply, 'session')),
        );
        scope.get(session, (req, reply) =>
          this.#handle(reply, async () => {
            await this.#resource(kind, req);
            return reply.code(204).send();
          }),
        );
      }
      done();
    });
  }

  /** Ends every session of this instance (the signal role is closing). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#sessions.values()].map((s) => s.end('signal-closing')));
  }

  async #post(kind: Kind, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const o = this.#o;
    requireType(req, SDP);
    const offer = req.body;
    if (typeof offer !== 'string' || offer.trim() === '') {
      throw new HttpRefusal(400, 'the body must be an SDP offer');
    }
    assertOffer(kind, offer);
    const { room, uid: participant } = req.params as { room: string; uid?: string };
    const query = (req.query ?? {}) as Record<string, unknown>;
    const token = tokenOf(req);
    const authorized = await o.auth.authorize(token, room, undefined);
    // A viewer is a hidden participant: rosters of a broadcast stay the size of its speakers.
    const ident = kind === 'whep' ? { ...authorized, hidden: true } : authorized;
    if (kind === 'whip' && !ident.canPublish) {
      await ident.release?.();
      throw new HttpRefusal(403, 'the token does not allow publishing (canPublish)');
    }
    if (kind === 'whep' && !ident.canSubscribe) {
      await ident.release?.();
      throw new HttpRefusal(403, 'the token does not allow subscribing (canSubscribe)');
    }
    const ip = req.ip;
    const limited = o.limits.beginPeer(ip);
    if (limited !== undefined) {
      await ident.release?.();
      throw new HttpRefusal(429, limited, { 'retry-after': String(RETRY_AFTER_S) });
    }
    const named = typeof query.name === 'string' && query.name !== '' ? query.name.slice(0, 256) : undefined;
    const name = ident.anonymous ? (named ?? kind.toUpperCase()) : (ident.name ?? named ?? ident.identity);
    const session = new WhipSession({
      kind,
      signalNode: o.signalNode,
      cluster: o.cluster,
      dc: o.dc,
      bus: o.bus,
      store: o.store,
      ended: (s) => {
        this.#sessions.delete(s.id);
        o.removed(s);
        o.limits.endPeer(ip);
      },
    });
    this.#sessions.set(session.id, session);
    o.added(session);
    const params =
      kind === 'whip'
        ? { offer: { type: 'offer', sdp: offer }, whip: true }
        : { whep: { offer, ...(participant !== undefined ? { participant } : {}) } };
    let started;
    try {
      started = await session.start(ident, name, params, offer);
    } catch (err) {
      await ident.release?.().catch(() => undefined);
      throw err;
    }
    const location = `/${kind}/sessions/${session.id}`;
    logger.info(
      { room: started.resource.room, uid: ident.identity, kind, location },
      `${kind.toUpperCase()} session created`,
    );
    return reply
      .code(201)
      .header('content-type', SDP)
      .header('location', location)
      .header('etag', started.resource.etag)
      .header('accept-patch', SDP_FRAG)
      .header('link', iceServerLinks(o.iceServers(ident.identity, req.headers.host)))
      .send(started.answer);
  }

  async #patch(kind: Kind, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    requireType(req, SDP_FRAG);
    const res = await this.#resource(kind, req);
    await this.#authorizeSession(req, res);
    // @eyevinn/whip-web-client (1.1.7) sends the session's tag in an `ETag` request header, an early
    // WHIP draft's way; taken as `If-Match` when that is absent.
    const ifMatch = req.headers['if-match'] ?? headerValue(req.headers.etag);
    if (ifMatch === undefined) {
      throw new HttpRefusal(428, 'If-Match is required: the ETag of the session (RFC 9725 §4.3.1)');
    }
    if (ifMatch !== '*' && !ifMatch.split(',').some((t) => t.trim() === res.etag)) {
      throw new HttpRefusal(412, 'If-Match does not name the current ICE session');
    }
    let frag;
    try {
      frag = parseSdpFrag(typeof req.body === 'string' ? req.body : '');
    } catch (err) {
      throw new HttpRefusal(400, err instanceof SdpFragError ? err.message : 'malformed SDP fragment');
    }
    if (ifMatch === '*' || (frag.ufrag !== undefined && frag.ufrag !== res.ufrag)) {
      return this.#restart(res, frag, reply);
    }
    const target = kind === 'whip' ? 0 : 1;
    try {
      for (const c of frag.candidates) {
        await this.#toNode(res, 'trickle', { candidate: c, target });
      }
    } catch (err) {
      if ((err as { code?: unknown }).code === 'invalid-state') {
        throw new HttpRefusal(404, 'no such session (it ended)'); // a DELETE overtook this PATCH
      }
      throw err;
    }
    return reply.code(204).send();
  }

  /**
   * An ICE restart (RFC 9725 §4.3.2): the client's offer is applied again with its new credentials,
   * the media node's ICE agent restarts with credentials of its own, and those and its candidates
   * go back in a fragment with the new ETag. WHEP sessions (an answering subscriber) do not restart.
   */
  async #restart(res: WhipResource, frag: SdpFrag, reply: FastifyReply): Promise<unknown> {
    if (res.kind !== 'whip' || res.offer === undefined) {
      throw new HttpRefusal(422, 'ICE restarts of WHEP sessions are not supported: DELETE and POST again');
    }
    if (frag.ufrag === undefined || frag.pwd === undefined) {
      throw new HttpRefusal(400, 'an ICE restart carries the new a=ice-ufrag and a=ice-pwd');
    }
    const offer = withIceCredentials(res.offer, frag.ufrag, frag.pwd);
    const answered = (await this.#toNode(res, 'offer', { desc: { type: 'offer', sdp: offer } })) as {
      sdp?: string;
    } | null;
    const answer = answered?.sdp;
    const ufrag = answer && /^a=ice-ufrag:(\S+)/m.exec(answer)?.[1];
    const pwd = answer && /^a=ice-pwd:(\S+)/m.exec(answer)?.[1];
    if (!answer || !ufrag || !pwd) {
      throw new Error('the media node answered an ICE restart without ICE credentials');
    }
    const next: WhipResource = {
      ...res,
      etag: `"${randomBytes(9).toString('base64url')}"`,
      ufrag: frag.ufrag,
      offer,
    };
    await this.#o.store.set(
      whipKeys.resource(this.#o.cluster, res.id),
      JSON.stringify(next),
      WHIP_RESOURCE_TTL_MS,
    );
    for (const c of frag.candidates) {
      await this.#toNode(next, 'trickle', { candidate: c, target: 0 });
    }
    const mid = /^a=mid:(\S+)/m.exec(answer)?.[1] ?? '0';
    const candidates = [...answer.matchAll(/^a=(candidate:[^\r\n]+)/gm)].map((m) => m[1]!);
    logger.info({ id: res.id, room: res.room }, 'WHIP session restarted ICE');
    return reply
      .code(200)
      .header('content-type', SDP_FRAG)
      .header('etag', next.etag)
      .send(buildSdpFrag(ufrag, pwd, mid, candidates));
  }

  async #delete(kind: Kind, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const res = await this.#resource(kind, req);
    await this.#authorizeSession(req, res);
    const local = this.#sessions.get(res.id);
    if (local) {
      await local.end('deleted');
    } else {
      // Created on another instance: end it from here and tell that instance to forget it.
      const o = this.#o;
      if (!(await o.store.compareAndDelete(whipKeys.resource(o.cluster, res.id), JSON.stringify(res)))) {
        throw new HttpRefusal(404, 'no such session');
      }
      await this.#toNode(res, 'leave', null).catch(() => undefined);
      o.bus.publish(roomSubjects.leave(o.cluster), {
        room: res.room,
        uid: res.uid,
        conn: res.conn,
        reason: 'deleted',
      });
      o.bus.publish(subjects.signalNotify(o.cluster, res.signal), {
        conn: res.conn,
        method: WHIP_ENDED_NOTIFICATION,
        params: {},
      });
    }
    return reply.code(200).send();
  }

  async #options(req: FastifyRequest, reply: FastifyReply, what: 'endpoint' | 'session'): Promise<unknown> {
    if (what === 'endpoint') {
      reply.header('accept-post', SDP);
    } else {
      reply.header('accept-patch', SDP_FRAG);
    }
    // A CORS preflight gets no ICE servers (RFC 9725 §4.6: TURN credentials cost something to make).
    if (what === 'endpoint' && req.headers['access-control-request-method'] === undefined) {
      const identity = await this.#o.auth.identify(tokenOf(req), undefined).catch(() => undefined);
      if (identity !== undefined) {
        reply.header('link', iceServerLinks(this.#o.iceServers(identity, req.headers.host)));
      }
    }
    return reply.code(204).send();
  }

  /** The session's record, if it exists and is of this kind (a WHEP session is not at /whip/…). */
  async #resource(kind: Kind, req: FastifyRequest): Promise<WhipResource> {
    const { id } = req.params as { id: string };
    const raw = id.length <= 64 ? await this.#o.store.get(whipKeys.resource(this.#o.cluster, id)) : undefined;
    const parsed = raw === undefined ? undefined : whipResource.safeParse(JSON.parse(raw));
    if (!parsed?.success || parsed.data.kind !== kind) {
      throw new HttpRefusal(404, 'no such session');
    }
    return parsed.data;
  }

  /**
   * A session's PATCH and DELETE carry the token of its POST (RFC 9725 §4.5): when one comes, it must
   * name the session's participant. In anonymous mode the resource URL alone is the credential.
   */
  async #authorizeSession(req: FastifyRequest, res: WhipResource): Promise<void> {
    const identity = await this.#o.auth.identify(tokenOf(req), res.uid);
    if (identity !== res.uid) {
      throw new HttpRefusal(403, 'the token is not the session’s');
    }
  }

  #toNode(res: WhipResource, method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: res.conn, signal: res.signal, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, res.node), req, { timeoutMs: 10_000 });
  }

  #cors(req: FastifyRequest, reply: FastifyReply): void {
    const origin = req.headers.origin;
    const origins = this.#o.origins;
    if (origin !== undefined && origins.length > 0 && !origins.includes(origin)) {
      return; // no CORS headers: the browser refuses the response
    }
    reply.header('access-control-allow-origin', origin ?? '*');
    reply.header('vary', 'Origin');
    reply.header('access-control-allow-methods', 'GET, POST, PATCH, DELETE, OPTIONS');
    reply.header('access-control-allow-headers', 'Authorization, Content-Type, If-Match');
    reply.header(
      'access-control-expose-headers',
      'Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After',
    );
  }

  /** Runs a route; refusals and errors become plain-text answers with the status the RFC wants. */
  async #handle(reply: FastifyReply, run: () => Promise<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (err) {
      let status: number;
      let message: string;
      let headers: Record<string, string> = {};
      if (err instanceof HttpRefusal) {
        status = err.status;
        message = err.message;
        headers = err.headers;
      } else if (err instanceof SwitchboardError && STATUS[err.code] !== undefined) {
        // Also the Bus's own errors (BusRequestError is one): their text names subjects, not for clients.
        status = STATUS[err.code]!;
        message =
          err.code === 'no-responder' || err.code === 'timeout' ? 'no media node available' : err.message;
      } else {
        const logId = randomBytes(4).toString('hex');
        logger.error({ err, logId }, 'WHIP/WHEP request failed');
        status = 500;
        message = `internal error (log id ${logId})`;
      }
      if (status === 503) {
        headers = { 'retry-after': String(RETRY_AFTER_S), ...headers };
      }
      return reply.code(status).headers(headers).type('text/plain; charset=utf-8').send(`${message}\n`);
    }
  }
}

function tokenOf(req: FastifyRequest): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  const query = (req.query ?? {}) as Record<string, unknown>;
  const inQuery =
    typeof query.access_token === 'string' && query.access_token !== '' ? query.access_token : undefined;
  return bearer ?? inQuery;
}

function requireType(req: FastifyRequest, type: string): void {
  const got = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (got !== type) {
    throw new HttpRefusal(
      415,
      `Content-Type must be ${type}`,
      type === SDP ? { 'accept-post': SDP } : { 'accept-patch': SDP_FRAG },
    );
  }
}

/**
 * What the media node cannot judge: a WHIP offer sends media (sendonly, or sendrecv: RFC 9725 §4.2),
 * a WHEP offer receives it. The node checks the rest (sdpCheck.ts).
 */
function assertOffer(kind: Kind, sdp: string): void {
  let media: { type: string; direction?: string | undefined }[];
  try {
    media = sdpTransform.parse(sdp).media ?? [];
  } catch {
    throw new HttpRefusal(400, 'the body is not an SDP offer');
  }
  if (!/^v=0\r?\n/.test(sdp)) {
    throw new HttpRefusal(400, 'the body is not an SDP offer (no v=0)');
  }
  const av = media.filter((m) => m.type === 'audio' || m.type === 'video');
  if (av.length === 0) {
    throw new HttpRefusal(400, 'the offer has no audio or video');
  }
  const wanted = kind === 'whip' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
  if (!av.every((m) => wanted.includes(m.direction ?? 'sendrecv'))) {
    throw new HttpRefusal(
      400,
      kind === 'whip' ? 'a WHIP offer only sends (sendonly)' : 'a WHEP offer only receives (recvonly)',
    );
  }
}

/** `sdp` with every ICE username fragment and password replaced, and its candidates left out. */
function withIceCredentials(sdp: string, ufrag: string, pwd: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
    .map((l) =>
      l.startsWith('a=ice-ufrag:')
        ? `a=ice-ufrag:${ufrag}`
        : l.startsWith('a=ice-pwd:')
          ? `a=ice-pwd:${pwd}`
          : l,
    )
    .join('\r\n');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
