import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Bus, Store, Subscription } from '../backbone/index.ts';
import { clusterOf, type Config } from '../config/index.ts';
import { notificationTargets, peerNotification, subjects } from '../protocol/cluster.ts';
import {
  memberRecord,
  MEMBER_RECORD_NOTIFICATION,
  roomKeys,
  roomSubjects,
  SIGNAL_HEARTBEAT_MS,
  SIGNAL_TTL_MS,
} from '../protocol/room.ts';
import { Authenticator } from './Authenticator.ts';
import { ClientConnection } from './ClientConnection.ts';
import { LicodeServer } from './licode/LicodeServer.ts';
import { IonAuth } from './ion/ionAuth.ts';
import { GrpcServer } from './ion/GrpcServer.ts';
import { IonServer } from './ion/IonServer.ts';
import type { SignalClient } from './SignalClient.ts';
import { ClientLimits } from './ClientLimits.ts';
import { rpcNotification } from './jsonRpc.ts';
import { WhipEndpoint } from './whip/WhipEndpoint.ts';
import { LiveKitEndpoint } from './livekit/LiveKitEndpoint.ts';
import { livekitSecrets } from '../protocol/livekit.ts';
import { NodeWatch } from './NodeWatch.ts';
import { logger } from '../util/logger.ts';
import { SwitchboardError } from '../util/errors.ts';
import { clientIceServers, type ClientIceServer } from '../turn/index.ts';

/** Licode's bandwidth fields when `[router] maxbandwidth` is 0 (no cap), in kbps. */
const UNCAPPED_KBPS = 10_000;

/** Keys a signal instance needs to check tokens (from `[auth]`, `[api]` or generated at start). */
export interface SignalSecrets {
  authSecret: string;
  superserviceId: string;
  superserviceKey: string;
}

/**
 * The signal role: the client gateway on `/ws` (ion-sfu JSON-RPC), `/socket.io/` (Licode) and ION's
 * gRPC-web services (src/signal/ion). It owns sockets only; every
 * peer operation goes over the Bus to the media node that owns the room, and that node's
 * notifications come back on this instance's subject.
 */
export class SignalRole {
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #store: Store;
  readonly #config: Config;
  readonly #auth: Authenticator;
  readonly #ionAuth: IonAuth;
  readonly #limits: ClientLimits;
  readonly #superserviceId: string;
  #pinger: NodeJS.Timeout | undefined;
  readonly #conns = new Map<string, SignalClient>();
  #sub: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unregisterReset: (() => void) | undefined;
  #licode: LicodeServer | undefined;
  #ion: IonServer | undefined;
  #whip: WhipEndpoint | undefined;
  /** ION's services over native gRPC (`[signal.grpc] enabled`). */
  #grpc: GrpcServer | undefined;
  /** The port of the native gRPC listener, once started. */
  grpcPort: number | undefined;
  /** Tells the clients of a crashed media node to reconnect (NodeWatch.ts). */
  readonly #watch: NodeWatch;

  constructor(config: Config, bus: Bus, store: Store, nodeId: string, secrets: SignalSecrets) {
    this.#config = config;
    this.#bus = bus;
    this.#store = store;
    this.nodeId = nodeId;
    this.#watch = new NodeWatch(bus, clusterOf(config), () => this.#conns.values());
    this.#limits = new ClientLimits(config.signal.limits);
    this.#superserviceId = secrets.superserviceId;
    this.#auth = new Authenticator({
      cluster: clusterOf(config),
      store,
      anonymous: config.auth.anonymous,
      ...secrets,
    });
    this.#ionAuth = new IonAuth({
      auth: this.#auth,
      ionKey: config.signal.jwt.key ?? secrets.authSecret,
      anonymous: config.auth.anonymous && !config.signal.jwt.enabled,
      superserviceId: secrets.superserviceId,
    });
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Registers `/ws` on the HTTP server (which must have @fastify/websocket registered). */
  register(app: FastifyInstance): void {
    const origins = this.#config.signal.allowedorigins;
    // For apps that need the list before they connect (ion-sdk-js takes iceServers in its constructor).
    app.get('/ice', async (req, reply) => {
      const query = (req.query ?? {}) as Record<string, unknown>;
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const token =
        typeof query.access_token === 'string' && query.access_token !== '' ? query.access_token : bearer;
      const uid = typeof query.uid === 'string' ? query.uid : undefined;
      reply.header('cache-control', 'no-store');
      try {
        return await this.iceServers(token, uid, req.headers.host);
      } catch (err) {
        if (err instanceof SwitchboardError && err.code === 'unauthorized') {
          return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: err.message });
        }
        throw err;
      }
    });
    this.#registerLicode(app);
    this.#registerIon(app);
    this.#registerWhip(app);
    this.#registerLiveKit(app);
    app.get('/ws', { websocket: true }, (socket, req) => {
      const origin = req.headers.origin;
      if (origins.length > 0 && origin && !origins.includes(origin)) {
        socket.close(1008, 'origin not allowed');
        return;
      }
      const ip = this.#limits.addressOf(req.raw);
      const refused = this.#limits.openSocket(ip);
      if (refused !== undefined) {
        socket.close(1008, refused);
        return;
      }
      const limits = this.#config.signal.limits;
      // ion-sdk-js passes the URL through unchanged, so a token rides in the query string.
      const query = req.query as Record<string, unknown> | undefined;
      const token = query?.access_token;
      const conn = new ClientConnection(socket, {
        conn: `${this.nodeId}/${randomUUID()}`,
        signalNode: this.nodeId,
        cluster: clusterOf(this.#config),
        dc: this.#config.global.dc,
        bus: this.#bus,
        auth: this.#auth,
        queryToken: typeof token === 'string' && token !== '' ? token : undefined,
        iceServers: (t, uid) => this.iceServers(t, uid, req.headers.host),
        beginPeer: () => this.#limits.beginPeer(ip),
        endPeer: () => this.#limits.endPeer(ip),
        joinTimeoutMs: limits.jointimeout * 1000,
        joinRetries: limits.joinretries,
      });
      this.#conns.set(conn.conn, conn);
      socket.on('message', (data, isBinary) => {
        if (isBinary) {
          conn.send(
            JSON.stringify({
              jsonrpc: '2.0',
              id: null,
              error: { code: -32600, message: 'Invalid Request: binary frame' },
            }),
          );
          return;
        }
        conn.receive(
          Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'),
        );
      });
      socket.on('close', () => {
        this.#conns.delete(conn.conn);
        this.#limits.closeSocket(ip);
        conn.close();
      });
      socket.on('error', (err) => logger.debug({ err }, 'client socket error'));
    });
  }

  /** Licode's ErizoController endpoint (socket.io at `/socket.io/`) on the same port. */
  #registerLicode(app: FastifyInstance): void {
    const c = this.#config;
    // erizo.js clamps a subscriber's maxVideoBW to these (kbps); no cap is Licode's "a lot".
    const max = c.router.maxbandwidth > 0 ? c.router.maxbandwidth : UNCAPPED_KBPS;
    this.#licode = new LicodeServer({
      signalNode: this.nodeId,
      cluster: clusterOf(c),
      dc: c.global.dc,
      bus: this.#bus,
      store: this.#store,
      auth: this.#auth,
      limits: this.#limits,
      origins: c.signal.allowedorigins,
      maxMessageSize: c.signal.maxmessagesize,
      bandwidth: { defaultVideoBW: Math.min(c.router.startbitrate || max, max), maxVideoBW: max },
      iceServers: (identity, host) => clientIceServers(c, identity, host),
      added: (client) => this.#conns.set(client.conn, client),
      removed: (client) => this.#conns.delete(client.conn),
    });
    this.#licode.attach(app.server);
  }

  /** WHIP ingest and WHEP playback over HTTP (src/signal/whip). */
  #registerWhip(app: FastifyInstance): void {
    const c = this.#config;
    this.#whip = new WhipEndpoint({
      signalNode: this.nodeId,
      cluster: clusterOf(c),
      dc: c.global.dc,
      bus: this.#bus,
      store: this.#store,
      auth: this.#auth,
      limits: this.#limits,
      origins: c.signal.allowedorigins,
      maxBody: c.signal.maxmessagesize,
      iceServers: (identity, host) => clientIceServers(c, identity, host),
      added: (client) => this.#conns.set(client.conn, client),
      removed: (client) => this.#conns.delete(client.conn),
    });
    this.#whip.register(app);
  }

  /** LiveKit's signalling (`/rtc`, src/signal/livekit) for livekit-client and its siblings. */
  #registerLiveKit(app: FastifyInstance): void {
    const c = this.#config;
    if (!c.livekit.enabled) {
      return;
    }
    new LiveKitEndpoint({
      signalNode: this.nodeId,
      cluster: clusterOf(c),
      dc: c.global.dc,
      bus: this.#bus,
      secrets: livekitSecrets({
        keys: c.livekit.keys,
        store: this.#store,
        cluster: clusterOf(c),
        superserviceId: this.#superserviceId,
      }),
      limits: this.#limits,
      origins: c.signal.allowedorigins,
      iceServers: (identity, host) => clientIceServers(c, identity, host),
      added: (client) => this.#conns.set(client.conn, client),
      removed: (client) => this.#conns.delete(client.conn),
    }).register(app);
  }

  /** ION's cluster API (`Ion.Connector`): gRPC-web WebSockets on the same port. */
  #registerIon(app: FastifyInstance): void {
    const c = this.#config;
    this.#ion = new IonServer({
      signalNode: this.nodeId,
      cluster: clusterOf(c),
      dc: c.global.dc,
      bus: this.#bus,
      store: this.#store,
      auth: this.#ionAuth,
      limits: this.#limits,
      origins: c.signal.allowedorigins,
      maxMessageSize: c.signal.maxmessagesize,
      joinTimeoutMs: c.signal.limits.jointimeout * 1000,
      added: (client) => this.#conns.set(client.conn, client),
      removed: (client) => this.#conns.delete(client.conn),
    });
    // After Licode's: gRPC-web upgrades are taken first, then socket.io's, then fastify's.
    this.#ion.attach(app.server);
  }

  /**
   * The ICE servers for a client (`iceServers` on /ws, `GET /ice`): `[[webrtc.iceserver]]` and the
   * embedded TURN server with credentials for the token's identity (anonymous mode: `uid` or a
   * random id). `host` is the HTTP Host the client used, the TURN host when nothing else says.
   */
  async iceServers(
    token: string | undefined,
    uid: string | undefined,
    host: string | undefined,
  ): Promise<{ iceServers: ClientIceServer[] }> {
    const identity = await this.#auth.identify(token, uid);
    return { iceServers: clientIceServers(this.#config, identity, host) };
  }

  async start(): Promise<void> {
    this.#sub = this.#bus.subscribe(subjects.signalNotify(clusterOf(this.#config), this.nodeId), (data) => {
      const n = peerNotification.safeParse(data);
      if (!n.success) {
        logger.warn({ issues: n.error.issues }, 'malformed notification on the bus');
        return;
      }
      const { method, params } = n.data;
      if (method === MEMBER_RECORD_NOTIFICATION) {
        const m = memberRecord.safeParse(params);
        if (m.success) {
          this.#conns.get(n.data.conn)?.updateRecord(m.data);
        }
        return;
      }
      if (!n.data.also) {
        this.#conns.get(n.data.conn)?.notify(method, params);
        return;
      }
      const frame = rpcNotification(method, params); // serialized once for all of them
      for (const target of notificationTargets(n.data)) {
        this.#conns.get(target)?.notifyFrame(method, frame);
      }
    });
    this.#unregisterReset = this.#store.onReset(() => this.#restore());
    await this.#bus.flush(); // media nodes can reach us before the first client connects
    // The room role reaps members of signal instances that stop beating (a crashed process).
    await this.#heartbeat();
    this.#timer = setInterval(() => void this.#heartbeat(), SIGNAL_HEARTBEAT_MS);
    this.#timer.unref();
    this.#watch.start();
    const g = this.#config.signal.grpc;
    if (g.enabled && this.#ion) {
      const ion = this.#ion;
      this.#grpc = new GrpcServer({
        host: g.host ?? this.#config.signal.host,
        port: g.port,
        maxMessageBytes: this.#config.signal.maxmessagesize,
        keepaliveMs: this.#config.signal.limits.pinginterval * 1000,
        serve: (call) => ion.serve(call),
      });
      this.grpcPort = await this.#grpc.start();
      logger.info({ port: this.grpcPort }, "ION's gRPC services listening");
    }
    const ping = this.#config.signal.limits.pinginterval;
    if (ping > 0) {
      // Without pings a client that vanishes without a FIN keeps its member and maxPeers slot for ever.
      this.#pinger = setInterval(() => {
        for (const c of this.#conns.values()) {
          c.ping();
        }
      }, ping * 1000);
      this.#pinger.unref();
    }
  }

  /**
   * The Store lost its data (Redis restarted): our heartbeat first (or the room role would reap what
   * follows), then every member of our connections, written back by the room role.
   */
  async #restore(): Promise<void> {
    await this.#heartbeat();
    let n = 0;
    for (const c of this.#conns.values()) {
      const m = c.membership;
      if (m) {
        this.#bus.publish(roomSubjects.restore(clusterOf(this.#config)), m);
        n++;
      }
    }
    logger.info({ members: n }, 'members of this signal instance written back after a redis data loss');
  }

  async #heartbeat(): Promise<void> {
    try {
      await this.#store.set(roomKeys.signalAlive(clusterOf(this.#config), this.nodeId), '1', SIGNAL_TTL_MS);
    } catch (err) {
      logger.warn({ err }, 'signal heartbeat failed');
    }
  }

  async close(): Promise<void> {
    this.#unregisterReset?.();
    this.#licode?.close();
    this.#ion?.close();
    await this.#grpc?.close();
    clearInterval(this.#timer);
    clearInterval(this.#pinger);
    await this.#watch.close();
    this.#sub?.unsubscribe();
    await this.#whip?.close(); // their peers leave their nodes before the Bus goes
    for (const c of this.#conns.values()) {
      c.close();
    }
    this.#conns.clear();
    await this.#store.del(roomKeys.signalAlive(clusterOf(this.#config), this.nodeId)).catch(() => undefined);
  }
}
