/**
 * ION's cluster API (ION v1.10's signal service; shared/reference/ion.md §1.2, §2c–§2e) on the signal
 * role: `rtc.RTC/Signal`, `room.RoomSignal/Signal` and `room.RoomService/*`, over gRPC-web WebSockets
 * on the HTTP port (what ion-sdk-js's `Ion.Connector` opens: any path, subprotocol `grpc-websockets`)
 * and, with `[signal.grpc] enabled`, over native gRPC (GrpcServer.ts). Both transports hand each call
 * to `serve`, which checks the token as ION's signal does (at stream start) and gives the call to its
 * service: IonRtc (media), IonRoom (membership), RoomService (administration).
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Bus, Store } from '../../backbone/index.ts';
import type { ClientLimits } from '../ClientLimits.ts';
import type { SignalClient } from '../SignalClient.ts';
import { endWithError, Status, type GrpcCall } from './GrpcCall.ts';
import { GRPC_WEBSOCKETS, serveGrpcWebSocket } from './GrpcWebSocket.ts';
import type { IonAuth, IonToken } from './ionAuth.ts';
import { IonRoom } from './IonRoom.ts';
import { IonRtc } from './IonRtc.ts';
import { ionMethod } from './protos.ts';
import { RoomService } from './RoomService.ts';

export interface IonServerOptions {
  signalNode: string;
  cluster: string;
  /** This signal instance's region (`[global] dc`): its clients are placed on media nodes of it. */
  dc: string;
  bus: Bus;
  store: Store;
  auth: IonAuth;
  limits: ClientLimits;
  /** `[signal] allowedorigins` (empty: any). */
  origins: readonly string[];
  /** `[signal] maxmessagesize`: the largest request message. */
  maxMessageSize: number;
  /** `[signal.limits] jointimeout` in ms (0 = none): a stream that has not joined by then ends. */
  joinTimeoutMs: number;
  /** A client stream is live (SignalRole routes the media and room nodes' notifications to it). */
  added: (c: SignalClient) => void;
  removed: (c: SignalClient) => void;
}

function isGrpcWebSocket(req: IncomingMessage): boolean {
  const protocols = req.headers['sec-websocket-protocol'];
  return (
    typeof protocols === 'string' &&
    protocols.split(',').some((p) => p.trim().toLowerCase() === GRPC_WEBSOCKETS)
  );
}

export class IonServer {
  readonly #o: IonServerOptions;
  readonly #wss: WebSocketServer;
  readonly #roomService: RoomService;
  /** Room streams by `room\nuid`, so a client's RTC stream finds the membership its Room stream holds. */
  readonly #members = new Map<string, IonRoom>();

  constructor(o: IonServerOptions) {
    this.#o = o;
    this.#wss = new WebSocketServer({
      noServer: true,
      // A message may arrive in one frame with its 5-byte gRPC prefix and our 1-byte control prefix.
      maxPayload: o.maxMessageSize + 6,
      handleProtocols: (protocols) => (protocols.has(GRPC_WEBSOCKETS) ? GRPC_WEBSOCKETS : false),
    });
    this.#roomService = new RoomService({ bus: o.bus, store: o.store, cluster: o.cluster, auth: o.auth });
  }

  /**
   * Takes gRPC-web WebSocket upgrades (subprotocol `grpc-websockets`, any path: an unknown method gets
   * its gRPC status) from the HTTP server before the other upgrade listeners (Licode's socket.io,
   * @fastify/websocket) see them.
   */
  attach(server: HttpServer): void {
    const others = server.listeners('upgrade') as ((req: IncomingMessage, s: Duplex, head: Buffer) => void)[];
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (isGrpcWebSocket(req)) {
        this.#upgrade(req, socket, head);
        return;
      }
      for (const l of others) {
        l.call(server, req, socket, head);
      }
    });
  }

  close(): void {
    for (const ws of this.#wss.clients) {
      ws.terminate();
    }
    this.#wss.close();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const o = this.#o;
    const origin = req.headers.origin;
    if (o.origins.length > 0 && origin && !o.origins.includes(origin)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const ip = o.limits.addressOf(req);
    const refused = o.limits.openSocket(ip);
    if (refused !== undefined) {
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(refused)}\r\n\r\n${refused}`,
      );
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', () => o.limits.closeSocket(ip));
      serveGrpcWebSocket(ws, path, ionMethod(path), ip, {
        maxMessageBytes: o.maxMessageSize,
        started: (call) => this.serve(call),
      });
    });
  }

  /** Serves one call, whatever its transport. */
  serve(call: GrpcCall): void {
    const o = this.#o;
    if (call.path.startsWith('/room.RoomService/')) {
      this.#roomService.handle(call); // management tokens, checked there
      return;
    }
    const service = /^\/([a-z]+)\./.exec(call.path)?.[1] ?? '';
    const authorized: Promise<IonToken | undefined> = o.auth.check(call.metadata, service, call.path);
    // Unobserved until the handler's first step: end the call here if the token is refused.
    authorized.catch((err: unknown) => endWithError(call, err));
    switch (call.path) {
      case '/rtc.RTC/Signal': {
        const rtc = new IonRtc(call, authorized, {
          signalNode: o.signalNode,
          cluster: o.cluster,
          dc: o.dc,
          bus: o.bus,
          auth: o.auth,
          joinTimeoutMs: o.joinTimeoutMs,
          room: (room, uid) => this.#members.get(`${room}\n${uid}`),
          beginPeer: () => o.limits.beginPeer(call.address),
          endPeer: () => o.limits.endPeer(call.address),
        });
        o.added(rtc);
        call.once('close', () => o.removed(rtc));
        return;
      }
      case '/room.RoomSignal/Signal': {
        const room = new IonRoom(call, authorized, {
          signalNode: o.signalNode,
          cluster: o.cluster,
          bus: o.bus,
          auth: o.auth,
          joinTimeoutMs: o.joinTimeoutMs,
          joined: (r, key) => this.#members.set(key, r),
          left: (r, key) => {
            if (this.#members.get(key) === r) {
              this.#members.delete(key);
            }
          },
        });
        o.added(room);
        call.once('close', () => o.removed(room));
        return;
      }
      default:
        call.end(Status.UNIMPLEMENTED, `unknown service or method ${call.path}`);
    }
  }
}
