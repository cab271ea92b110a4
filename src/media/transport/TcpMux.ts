import { createServer, type Server, type Socket } from 'node:net';
import { logger } from '../../util/logger.ts';
import { BINDING_REQUEST, iceUsername, isStun, stunType, verifyIntegrity, type Address } from './stun.ts';

/** One ICE agent's passive TCP candidate (werift's `TcpPassiveProtocol`, adapted in werift.ts). */
export interface TcpEndpoint {
  /** The ICE password of `ufrag` if it is one of this endpoint's. */
  password(ufrag: string): string | undefined;
  readonly remoteUfrag: string;
  /**
   * Takes over an accepted connection whose first RFC 4571 frame was an integrity-checked Binding
   * request for this endpoint. `buffered` holds every byte read so far (that frame included) and
   * must be processed before anything else the socket delivers; the socket is paused.
   */
  accept(socket: Socket, buffered: Buffer, from: Address): void;
}

/** How long an accepted connection may take to send its first Binding request. */
const FIRST_FRAME_TIMEOUT_MS = 10_000;
/** A first frame longer than this is not an ICE check. */
const MAX_FIRST_FRAME = 2048;

/**
 * ICE-TCP (RFC 6544) passive candidates of every agent on one listening port: an accepted
 * connection is handed to the agent named by the USERNAME of its first framed STUN Binding request,
 * once MESSAGE-INTEGRITY verifies with that agent's password; anything else is closed.
 */
export class TcpMux {
  readonly server: Server;
  readonly #ufrags = new Map<string, TcpEndpoint[]>();
  readonly #pending = new Set<Socket>();
  #closed = false;

  private constructor(server: Server) {
    this.server = server;
    server.on('connection', (socket) => this.#onConnection(socket));
    server.on('error', (err) => logger.warn({ err }, 'ice-tcp listener error'));
  }

  /** Listens on `port` of `address` (default all IPv4 addresses). Rejects on EADDRINUSE etc. */
  static listen(port: number, address = '0.0.0.0'): Promise<TcpMux> {
    const server = createServer({ noDelay: true });
    return new Promise<TcpMux>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: address, exclusive: true }, () => {
        server.off('error', reject);
        resolve(new TcpMux(server));
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  register(ufrag: string, endpoint: TcpEndpoint): void {
    const list = this.#ufrags.get(ufrag);
    if (!list) {
      this.#ufrags.set(ufrag, [endpoint]);
    } else if (!list.includes(endpoint)) {
      list.push(endpoint);
    }
  }

  unregister(endpoint: TcpEndpoint): void {
    for (const [ufrag, list] of this.#ufrags) {
      const rest = list.filter((e) => e !== endpoint);
      if (rest.length === 0) {
        this.#ufrags.delete(ufrag);
      } else if (rest.length !== list.length) {
        this.#ufrags.set(ufrag, rest);
      }
    }
  }

  close(): Promise<void> {
    if (this.#closed) {
      return Promise.resolve();
    }
    this.#closed = true;
    for (const s of this.#pending) {
      s.destroy();
    }
    this.#pending.clear();
    this.#ufrags.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #onConnection(socket: Socket): void {
    const host = socket.remoteAddress;
    const port = socket.remotePort;
    if (this.#closed || !host || !port) {
      socket.destroy();
      return;
    }
    const from: Address = [host.startsWith('::ffff:') ? host.slice(7) : host, port];
    this.#pending.add(socket);
    let buffered: Buffer = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      this.#pending.delete(socket);
    };
    const reject = (why: string): void => {
      done();
      logger.debug({ from, why }, 'ice-tcp connection refused');
      socket.destroy();
    };
    const timer = setTimeout(() => reject('no binding request'), FIRST_FRAME_TIMEOUT_MS);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) {
        return;
      }
      const len = buffered.readUInt16BE(0);
      if (len > MAX_FIRST_FRAME) {
        reject('first frame too long');
        return;
      }
      if (buffered.length < 2 + len) {
        return;
      }
      const frame = buffered.subarray(2, 2 + len);
      const target =
        isStun(frame) && stunType(frame) === BINDING_REQUEST ? this.#authenticate(frame) : undefined;
      if (!target) {
        reject('not an authenticated binding request for us');
        return;
      }
      done();
      socket.pause();
      target.accept(socket, buffered, from);
    };
    socket.on('data', onData);
    socket.on('error', (err) => logger.debug({ err, from }, 'ice-tcp socket error'));
  }

  #authenticate(frame: Buffer): TcpEndpoint | undefined {
    const user = iceUsername(frame);
    const candidates = user ? this.#ufrags.get(user.local) : undefined;
    if (!user || !candidates) {
      return undefined;
    }
    const ordered = [...candidates].sort(
      (a, b) => Number(b.remoteUfrag === user.remote) - Number(a.remoteUfrag === user.remote),
    );
    for (const e of ordered) {
      const password = e.password(user.local);
      if (password !== undefined && verifyIntegrity(frame, password)) {
        return e;
      }
    }
    return undefined;
  }
}
