/**
 * Licode's ErizoController endpoint on the signal role's HTTP port: socket.io 4 at `/socket.io/`,
 * websocket transport only (erizo.js never polls), pings as Licode's (10 s, 5 s timeout). The
 * connection middleware checks the Nuve token (signature, stored document, host, single use) and
 * asks the room role to admit the client, answering Licode's `token: …` errors.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, type Socket } from 'socket.io';
import type { Bus, Store } from '../../backbone/index.ts';
import { encodeLicodeTokenParts } from '../../protocol/tokens.ts';
import { LICODE_AUTH_ERRORS } from '../../protocol/licode.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { admit } from '../admission.ts';
import type { Authenticator } from '../Authenticator.ts';
import type { ClientLimits } from '../ClientLimits.ts';
import type { SignalClient } from '../SignalClient.ts';
import { LicodeClient, type LicodeBandwidth } from './LicodeClient.ts';
import { ReliableSocket } from './ReliableSocket.ts';

export const LICODE_PATH = '/socket.io/';

export interface LicodeServerOptions {
  signalNode: string;
  cluster: string;
  /** This signal instance's region (`[global] dc`): its clients are placed on media nodes of it. */
  dc: string;
  bus: Bus;
  store: Store;
  auth: Authenticator;
  limits: ClientLimits;
  /** `[signal] allowedorigins` (empty: any). */
  origins: readonly string[];
  /** Largest message a client may send, in bytes (`[signal] maxmessagesize`). */
  maxMessageSize: number;
  bandwidth: LicodeBandwidth;
  /** The ICE servers for a client (identity, Host header). */
  iceServers: (identity: string, host: string | undefined) => unknown[];
  /** A client joined (its socket is live): SignalRole routes notifications to it from now on. */
  added: (c: SignalClient) => void;
  removed: (c: SignalClient) => void;
}

/** Licode's `connect_error` for a refused token or admission: `err.data` is what erizo.js reads. */
function refusal(data: string): Error {
  return Object.assign(new Error(data), { data });
}

/** Our Authenticator's refusals in Licode's words (tokenAuthenticator.js). */
function licodeAuthError(err: unknown): string {
  if (!(err instanceof SwitchboardError)) {
    return LICODE_AUTH_ERRORS.unknown;
  }
  if (err.code === 'unauthorized') {
    if (/signature|malformed/.test(err.message)) {
      return LICODE_AUTH_ERRORS.signature;
    }
    if (/host/.test(err.message)) {
      return LICODE_AUTH_ERRORS.host;
    }
    if (/no token/.test(err.message)) {
      return LICODE_AUTH_ERRORS.noToken;
    }
    return LICODE_AUTH_ERRORS.unknown;
  }
  return `token: ${err.message}`;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export class LicodeServer {
  readonly #o: LicodeServerOptions;
  readonly #io: Server;
  /** Sockets' clients by socket id, for the connection handler. */
  readonly #pending = new Map<string, LicodeClient>();

  constructor(o: LicodeServerOptions) {
    this.#o = o;
    this.#io = new Server({
      path: LICODE_PATH,
      transports: ['websocket'],
      allowUpgrades: false,
      pingInterval: 10_000,
      pingTimeout: 5_000,
      maxHttpBufferSize: o.maxMessageSize,
      serveClient: false,
      allowRequest: (req, cb) => {
        const origin = req.headers.origin;
        cb(null, o.origins.length === 0 || !origin || o.origins.includes(origin));
      },
    });
    this.#io.use((socket, next) => {
      this.#authorize(socket).then(
        () => next(),
        (err: unknown) => next(err instanceof Error ? err : new Error(String(err))),
      );
    });
    this.#io.on('connection', (socket) => this.#connected(socket));
  }

  /**
   * Takes `/socket.io/` upgrades from the HTTP server before @fastify/websocket sees them (it would
   * route them to fastify, which answers 404 on the upgrading socket); other upgrades go on to it.
   */
  attach(server: HttpServer): void {
    const others = server.listeners('upgrade') as ((req: IncomingMessage, s: Duplex, head: Buffer) => void)[];
    server.removeAllListeners('upgrade');
    this.#io.attach(server, { destroyUpgrade: false });
    const engine = server.listeners('upgrade').filter((l) => !others.includes(l as never)) as ((
      req: IncomingMessage,
      s: Duplex,
      head: Buffer,
    ) => void)[];
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const mine = (req.url ?? '').startsWith(LICODE_PATH);
      for (const l of mine ? engine : others) {
        l.call(server, req, socket, head);
      }
    });
  }

  close(): void {
    this.#io.disconnectSockets(true);
    // The HTTP server is fastify's: closing it is the app's job.
    this.#io.engine?.close();
  }

  async #authorize(socket: Socket): Promise<void> {
    const o = this.#o;
    const q = socket.handshake.query;
    const tokenId = str(q.tokenId);
    const host = str(q.host);
    const signature = str(q.signature);
    if (!tokenId || !host || !signature) {
      throw refusal(LICODE_AUTH_ERRORS.noToken);
    }
    const token = encodeLicodeTokenParts({ tokenId, host, secure: q.secure === 'true', signature });
    let ident;
    try {
      ident = await o.auth.authorize(token, undefined, undefined);
    } catch (err) {
      logger.debug({ err }, 'Licode client refused');
      throw refusal(licodeAuthError(err));
    }
    const ip = o.limits.addressOf(socket.request); // honours [signal.limits] trustproxy
    const limited = o.limits.openSocket(ip);
    if (limited !== undefined) {
      await ident.release?.().catch(() => undefined);
      throw refusal(`token: ${limited}`);
    }
    const conn = `${o.signalNode}/${socket.id}`;
    try {
      const a = await admit(
        { bus: o.bus, cluster: o.cluster, conn, signal: o.signalNode, protocol: 'licode' },
        ident,
        ident.name ?? ident.identity,
        undefined,
      );
      const client = new LicodeClient(new ReliableSocket(socket), {
        conn,
        signalNode: o.signalNode,
        cluster: o.cluster,
        dc: o.dc,
        bus: o.bus,
        store: o.store,
        ident,
        room: a.room,
        member: a.member,
        iceServers: o.iceServers(ident.identity, socket.handshake.headers.host),
        bandwidth: o.bandwidth,
        added: o.added,
        removed: o.removed,
        // Each of its peer connections is a peer of its address, as a /ws client's join is.
        beginPeer: () => o.limits.beginPeer(ip),
        endPeer: () => o.limits.endPeer(ip),
      });
      this.#pending.set(socket.id, client);
      socket.once('disconnect', () => o.limits.closeSocket(ip));
    } catch (err) {
      o.limits.closeSocket(ip);
      await ident.release?.().catch(() => undefined);
      throw refusal(err instanceof SwitchboardError ? `token: ${err.message}` : 'token: internal error');
    }
  }

  #connected(socket: Socket): void {
    const client = this.#pending.get(socket.id);
    this.#pending.delete(socket.id);
    if (!client) {
      socket.disconnect(true);
      return;
    }
    this.#o.added(client);
    socket.once('disconnect', () => {
      this.#o.removed(client);
      client.close();
    });
    client.start().catch((err: unknown) => {
      logger.warn({ err, conn: client.conn }, 'Licode client could not start');
      socket.disconnect(true);
    });
  }
}
