/**
 * LiveKit's signalling endpoint on the signal port: `/rtc` (WebSocket, livekit-client's two-PC path),
 * `/rtc/validate` (why a WebSocket was refused), and `/rtc/v1` + `/rtc/v1/validate` answered 404 so that
 * livekit-client ≥ 2.17, which tries single-PC first, falls back to `/rtc` (livekit-protocol.md §1).
 * Validate answers carry `Access-Control-Allow-Origin: *`: browsers fetch them cross-origin, and a
 * CORS failure reads as "server unreachable" and stops the fallback.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bus } from '../../backbone/index.ts';
import { verifyLiveKitToken, type LiveKitSecretLookup, type LiveKitToken } from '../../protocol/livekit.ts';
import type { ClientIceServer } from '../../turn/index.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import type { ClientLimits } from '../ClientLimits.ts';
import type { SignalClient } from '../SignalClient.ts';
import type { LiveKitClient } from './LiveKitClient.ts';

export interface LiveKitEndpointOptions {
  signalNode: string;
  cluster: string;
  dc: string;
  bus: Bus;
  secrets: LiveKitSecretLookup;
  limits: ClientLimits;
  origins: readonly string[];
  iceServers: (identity: string, host: string | undefined) => ClientIceServer[];
  added: (c: SignalClient) => void;
  removed: (c: SignalClient) => void;
}

/**
 * LiveKitClient and `@livekit/protocol` (≈ 0.3 s to import) load with the first LiveKit connection, not
 * with every process that has a signal role (the CLI imports the server).
 */
let clientModule: Promise<typeof import('./LiveKitClient.ts')> | undefined;
const loadClient = () => (clientModule ??= import('./LiveKitClient.ts'));

/** What /rtc/v1/validate says: not "requested room does not exist", which would stop the fallback. */
const V1_UNSUPPORTED = 'single peer connection signalling (/rtc/v1) is not served here: use /rtc';

export class LiveKitEndpoint {
  readonly #o: LiveKitEndpointOptions;
  /** Tokens verified before the upgrade, for the WebSocket handler of the same request. */
  readonly #verified = new WeakMap<FastifyRequest, LiveKitToken>();

  constructor(o: LiveKitEndpointOptions) {
    this.#o = o;
  }

  register(app: FastifyInstance): void {
    const cors = (reply: FastifyReply): FastifyReply =>
      reply
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-headers', 'authorization')
        .header('cache-control', 'no-store');
    app.get('/rtc/v1/validate', async (_req, reply) =>
      cors(reply).code(404).type('text/plain').send(V1_UNSUPPORTED),
    );
    // A WebSocket route refusing before the upgrade: on a plain route @fastify/websocket would complete
    // the upgrade and close the socket, which livekit-client reads as an error, not as "no v1 here".
    app.get(
      '/rtc/v1',
      {
        websocket: true,
        preValidation: async (_req, reply) => cors(reply).code(404).type('text/plain').send(V1_UNSUPPORTED),
      },
      (socket) => socket.close(1008, V1_UNSUPPORTED),
    );
    for (const path of ['/rtc/validate', '/rtc/v1/validate']) {
      app.options(path, async (_req, reply) =>
        cors(reply).header('access-control-allow-methods', 'GET').code(204).send(),
      );
    }
    app.get('/rtc/validate', async (req, reply) => {
      cors(reply).type('text/plain');
      try {
        await this.#verify(req);
        return await reply.code(200).send('success');
      } catch (err) {
        return reply.code(statusOf(err)).send(messageOf(err));
      }
    });
    app.get(
      '/rtc',
      {
        websocket: true,
        // Refused before the upgrade: livekit-client then asks /rtc/validate for the reason.
        preValidation: async (req, reply) => {
          const origin = req.headers.origin;
          if (this.#o.origins.length > 0 && origin && !this.#o.origins.includes(origin)) {
            return reply.code(403).type('text/plain').send('origin not allowed');
          }
          try {
            this.#verified.set(req, await this.#verify(req));
          } catch (err) {
            return reply.code(statusOf(err)).type('text/plain').send(messageOf(err));
          }
          return undefined;
        },
      },
      (socket, req) => {
        const token = this.#verified.get(req);
        if (!token) {
          socket.close(1008, 'not verified');
          return;
        }
        this.#open(socket, req, token);
      },
    );
  }

  #open(socket: import('ws').WebSocket, req: FastifyRequest, token: LiveKitToken): void {
    const o = this.#o;
    const ip = o.limits.addressOf(req.raw);
    const refused = o.limits.openSocket(ip);
    if (refused !== undefined) {
      socket.close(1008, refused);
      return;
    }
    // Frames that come while the client's module loads wait for it (livekit-client sends none before
    // the join response, but a client need not be livekit-client).
    const early: [Buffer, boolean][] = [];
    let client: LiveKitClient | undefined;
    let closed = false;
    socket.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      if (client) {
        client.receive(buf, isBinary);
      } else if (early.length < 64) {
        early.push([buf, isBinary]);
      }
    });
    socket.on('close', () => {
      closed = true;
      o.limits.closeSocket(ip);
      if (client) {
        o.removed(client);
        client.close();
      }
    });
    socket.on('error', (err) => logger.debug({ err }, 'LiveKit socket error'));
    loadClient().then(
      ({ LiveKitClient }) => {
        if (closed) {
          return;
        }
        client = this.#client(LiveKitClient, socket, req, token, ip);
        o.added(client);
        for (const [buf, isBinary] of early.splice(0)) {
          client.receive(buf, isBinary);
        }
        void client.start();
      },
      (err: unknown) => {
        logger.error({ err }, 'LiveKit client module failed to load');
        socket.close(1011, 'internal error');
      },
    );
  }

  #client(
    Client: typeof LiveKitClient,
    socket: import('ws').WebSocket,
    req: FastifyRequest,
    token: LiveKitToken,
    ip: string,
  ): LiveKitClient {
    const o = this.#o;
    const query = (req.query ?? {}) as Record<string, unknown>;
    return new Client(socket, {
      conn: `${o.signalNode}/lk-${randomUUID()}`,
      signalNode: o.signalNode,
      cluster: o.cluster,
      dc: o.dc,
      bus: o.bus,
      token,
      autoSubscribe: query.auto_subscribe !== '0' && query.auto_subscribe !== 'false',
      iceServers: (identity) => o.iceServers(identity, req.headers.host),
      beginPeer: () => o.limits.beginPeer(ip),
      endPeer: () => o.limits.endPeer(ip),
    });
  }

  /** The request's token (query `access_token` or `Authorization: Bearer`), verified for joining. */
  async #verify(req: FastifyRequest): Promise<LiveKitToken> {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const raw =
      typeof query.access_token === 'string' && query.access_token !== '' ? query.access_token : bearer;
    if (raw === undefined) {
      throw new SwitchboardError('unauthorized', 'no access token (access_token or Authorization: Bearer)');
    }
    const token = await verifyLiveKitToken(raw, this.#o.secrets);
    if (token.video.roomJoin !== true) {
      throw new SwitchboardError('unauthorized', 'permissions denied: token does not grant roomJoin');
    }
    if (!token.video.room) {
      throw new SwitchboardError('unauthorized', 'permissions denied: token names no room');
    }
    if (token.identity === '') {
      throw new SwitchboardError('unauthorized', 'token has no identity (sub)');
    }
    return token;
  }
}

function statusOf(err: unknown): number {
  if (err instanceof SwitchboardError) {
    return err.code === 'unauthorized' ? 401 : err.code === 'forbidden' ? 403 : 400;
  }
  return 500;
}

function messageOf(err: unknown): string {
  if (err instanceof SwitchboardError) {
    return err.message;
  }
  logger.error({ err }, 'LiveKit validate failed');
  return 'internal error';
}
