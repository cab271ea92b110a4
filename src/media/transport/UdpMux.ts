import { createSocket, type Socket } from 'node:dgram';
import { logger } from '../../util/logger.ts';
import { BINDING_REQUEST, iceUsername, isStun, stunType, verifyIntegrity, type Address } from './stun.ts';

/**
 * One ICE agent's end of a shared socket (a werift `Connection`, adapted in werift.ts). The mux
 * knows nothing of werift: it asks the endpoint for the password of a ufrag and hands it datagrams.
 */
export interface MuxEndpoint {
  /** The ICE password of `ufrag` if it is one of this endpoint's (current or earlier generation). */
  password(ufrag: string): string | undefined;
  /** The remote agent's current ufrag, to tell apart endpoints that share a local ufrag. */
  readonly remoteUfrag: string;
  /** A datagram from `from` routed to this endpoint. Must not throw. */
  receive(data: Buffer, from: Address): void;
}

interface Route {
  endpoint: MuxEndpoint;
  /** Learnt from an integrity-checked Binding request (rather than from one of our own sends). */
  authenticated: boolean;
}

export interface UdpMuxStats {
  /** Datagrams delivered to an endpoint. */
  received: number;
  /** Datagrams from unknown sources that were not an integrity-checked Binding request for us. */
  dropped: number;
  /** Remote addresses learnt (from checks or our own sends). */
  learned: number;
}

const key = (host: string, port: number): string => `${host}:${port}`;

/** Bigger than the default so a burst of ingress survives a busy event loop (capped by net.core.rmem_max). */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * One UDP socket shared by many ICE agents (mediasoup's WebRtcServer, LiveKit's UDP mux):
 * datagrams are demultiplexed by the remote address. An address is learnt only from a STUN Binding
 * request whose USERNAME names one of our ufrags and whose MESSAGE-INTEGRITY verifies with that
 * ufrag's password, or from an endpoint sending to it first (a full-ICE check: its response must
 * come back to the sender). A send never takes an address away from another endpoint; an
 * authenticated request does. Anything else from an unknown address is dropped.
 *
 * The forwarding path may send on `socket` directly to an endpoint's nominated remote address.
 */
export class UdpMux {
  readonly socket: Socket;
  readonly stats: UdpMuxStats = { received: 0, dropped: 0, learned: 0 };
  readonly #routes = new Map<string, Route>();
  /** Route keys per endpoint, to drop them on unregister. */
  readonly #byEndpoint = new Map<MuxEndpoint, Set<string>>();
  readonly #ufrags = new Map<string, MuxEndpoint[]>();
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => this.#onMessage(data, rinfo.address, rinfo.port));
    socket.on('error', (err) => logger.debug({ err, port: this.port }, 'udp mux socket error'));
  }

  /**
   * Binds a UDP socket (IPv4) on `port` (0 = any free port) of `address` (default all). Rejects
   * with the socket error (EADDRINUSE, EACCES…) instead of emitting it.
   */
  static bind(port: number, address = '0.0.0.0'): Promise<UdpMux> {
    const socket = createSocket({ type: 'udp4' });
    return new Promise<UdpMux>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ port, address, exclusive: true }, () => {
        socket.off('error', onError);
        try {
          socket.setRecvBufferSize(RECV_BUFFER_BYTES);
        } catch {
          // best effort: the kernel caps it
        }
        resolve(new UdpMux(socket));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Number of endpoints registered. */
  get endpoints(): number {
    return this.#byEndpoint.size;
  }

  /** Makes `endpoint` answer to Binding requests for local ufrag `ufrag`. Idempotent. */
  register(ufrag: string, endpoint: MuxEndpoint): void {
    if (!this.#byEndpoint.has(endpoint)) {
      this.#byEndpoint.set(endpoint, new Set());
    }
    const list = this.#ufrags.get(ufrag);
    if (!list) {
      this.#ufrags.set(ufrag, [endpoint]);
    } else if (!list.includes(endpoint)) {
      list.push(endpoint);
    }
  }

  /** Forgets `endpoint`: its ufrags and every address routed to it. */
  unregister(endpoint: MuxEndpoint): void {
    for (const k of this.#byEndpoint.get(endpoint) ?? []) {
      if (this.#routes.get(k)?.endpoint === endpoint) {
        this.#routes.delete(k);
      }
    }
    this.#byEndpoint.delete(endpoint);
    for (const [ufrag, list] of this.#ufrags) {
      const rest = list.filter((e) => e !== endpoint);
      if (rest.length === 0) {
        this.#ufrags.delete(ufrag);
      } else if (rest.length !== list.length) {
        this.#ufrags.set(ufrag, rest);
      }
    }
  }

  /** The endpoint that datagrams from `addr` go to, if any. */
  endpointFor(addr: Address): MuxEndpoint | undefined {
    return this.#routes.get(key(addr[0], addr[1]))?.endpoint;
  }

  /** Sends for `endpoint`, learning `to` for it unless another endpoint owns that address. */
  send(endpoint: MuxEndpoint, data: Buffer, to: Address): void {
    if (this.#closed) {
      return;
    }
    const k = key(to[0], to[1]);
    if (!this.#routes.has(k) && this.#byEndpoint.has(endpoint)) {
      this.#learn(k, endpoint, false);
    }
    this.socket.send(data, to[1], to[0]);
  }

  close(): Promise<void> {
    if (this.#closed) {
      return Promise.resolve();
    }
    this.#closed = true;
    this.#routes.clear();
    this.#byEndpoint.clear();
    this.#ufrags.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  #learn(k: string, endpoint: MuxEndpoint, authenticated: boolean): void {
    const previous = this.#routes.get(k);
    if (previous) {
      this.#byEndpoint.get(previous.endpoint)?.delete(k);
    }
    this.#routes.set(k, { endpoint, authenticated });
    this.#byEndpoint.get(endpoint)?.add(k);
    this.stats.learned++;
  }

  #onMessage(data: Buffer, host: string, port: number): void {
    const k = key(host, port);
    const route = this.#routes.get(k);
    // Binding requests are authenticated whatever their source: werift itself does not check them.
    if (data.length > 0 && data[0]! < 2 && isStun(data) && stunType(data) === BINDING_REQUEST) {
      const target = this.#authenticate(data);
      if (!target) {
        this.stats.dropped++;
        return;
      }
      if (route?.endpoint !== target || !route.authenticated) {
        this.#learn(k, target, true);
      }
      this.stats.received++;
      target.receive(data, [host, port]);
      return;
    }
    if (!route) {
      this.stats.dropped++;
      return;
    }
    this.stats.received++;
    route.endpoint.receive(data, [host, port]);
  }

  /** The endpoint a Binding request is for, if its USERNAME and MESSAGE-INTEGRITY say so. */
  #authenticate(data: Buffer): MuxEndpoint | undefined {
    const user = iceUsername(data);
    const candidates = user ? this.#ufrags.get(user.local) : undefined;
    if (!user || !candidates) {
      return undefined;
    }
    // Several agents may share a local ufrag (werift copies it to a PC's second transport): prefer
    // the one that expects this remote ufrag.
    const ordered =
      candidates.length > 1
        ? [...candidates].sort(
            (a, b) => Number(b.remoteUfrag === user.remote) - Number(a.remoteUfrag === user.remote),
          )
        : candidates;
    for (const e of ordered) {
      const password = e.password(user.local);
      if (password !== undefined && verifyIntegrity(data, password)) {
        return e;
      }
    }
    return undefined;
  }
}
