import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Bus, Subscription } from '../backbone/index.ts';
import type { Config } from '../config/index.ts';
import { peerNotification, subjects } from '../protocol/cluster.ts';
import { ClientConnection } from './ClientConnection.ts';
import { rpcNotification } from './jsonRpc.ts';
import { logger } from '../util/logger.ts';

/**
 * The signal role: the client gateway on `/ws` (ion-sfu JSON-RPC). It owns sockets only; every
 * peer operation goes over the Bus to the media node that owns the room, and that node's
 * notifications come back on this instance's subject.
 */
export class SignalRole {
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #config: Config;
  readonly #conns = new Map<string, ClientConnection>();
  #sub: Subscription | undefined;

  constructor(config: Config, bus: Bus, nodeId: string) {
    this.#config = config;
    this.#bus = bus;
    this.nodeId = nodeId;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Registers `/ws` on the HTTP server (which must have @fastify/websocket registered). */
  register(app: FastifyInstance): void {
    const origins = this.#config.signal.allowedorigins;
    app.get('/ws', { websocket: true }, (socket, req) => {
      const origin = req.headers.origin;
      if (origins.length > 0 && origin && !origins.includes(origin)) {
        socket.close(1008, 'origin not allowed');
        return;
      }
      const conn = new ClientConnection(
        socket,
        `${this.nodeId}/${randomUUID()}`,
        this.nodeId,
        this.#config.global.dc,
        this.#bus,
      );
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
        conn.close();
      });
      socket.on('error', (err) => logger.debug({ err }, 'client socket error'));
    });
  }

  start(): Promise<void> {
    this.#sub = this.#bus.subscribe(subjects.signalNotify(this.#config.global.dc, this.nodeId), (data) => {
      const n = peerNotification.safeParse(data);
      if (!n.success) {
        logger.warn({ issues: n.error.issues }, 'malformed notification on the bus');
        return;
      }
      this.#conns.get(n.data.conn)?.send(rpcNotification(n.data.method, n.data.params));
    });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#sub?.unsubscribe();
    for (const c of this.#conns.values()) {
      c.close();
    }
    this.#conns.clear();
    return Promise.resolve();
  }
}
