import type { WebSocket } from 'ws';
import { logger } from '../util/logger.ts';

/**
 * WebSocket pings for a client socket, one per `[signal.limits] pinginterval`: a socket that answered
 * neither the last ping nor sent anything since is dead (its client vanished without a FIN) and is
 * terminated, which ends its peer and its room membership like any other close.
 */
export class SocketLiveness {
  readonly #ws: WebSocket;
  readonly #conn: string;
  #awaitingPong = false;

  constructor(ws: WebSocket, conn: string) {
    this.#ws = ws;
    this.#conn = conn;
    ws.on('pong', () => this.heard());
  }

  /** The client sent something: it is alive. */
  heard(): void {
    this.#awaitingPong = false;
  }

  ping(): void {
    if (this.#awaitingPong) {
      logger.info({ conn: this.#conn }, 'client did not answer a ping: socket closed');
      this.#ws.terminate();
      return;
    }
    this.#awaitingPong = true;
    this.#ws.ping();
  }
}
