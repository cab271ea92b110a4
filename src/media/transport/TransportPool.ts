import { networkInterfaces } from 'node:os';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { IceMonitor, type IceTimeouts } from './IceMonitor.ts';
import { TcpMux } from './TcpMux.ts';
import { UdpMux } from './UdpMux.ts';

/** Socket settings of a media node, from `[webrtc]` and `[webrtc.candidates]`. */
export interface TransportPoolOptions {
  /** `[webrtc] singleport`: one UDP socket for every peer. */
  singlePort?: number | undefined;
  /** `[webrtc] portrange`: each peer's UDP socket is bound inside `[min, max]`. */
  portRange?: readonly [number, number] | undefined;
  /** `[webrtc] tcpport`: passive ICE-TCP candidates of every peer on this port. */
  tcpPort?: number | undefined;
  /** `[webrtc.candidates] nat1to1`: addresses advertised instead of the host's own. */
  announcedAddresses: readonly string[];
  /** `[webrtc.timeouts]`. */
  timeouts: IceTimeouts;
  /** Bind address of every socket. Default "0.0.0.0". */
  bindAddress?: string;
}

/**
 * The host's IPv4 addresses that get candidates: not loopback or link-local, and not on interfaces
 * a WebRTC stack skips (virtual NICs named veth*, vmnet*, tun*, tap*, as werift and Chromium do).
 */
export function hostAddresses(): string[] {
  const skip = ['veth', 'vmnet', 'tun', 'utun', 'tap', 'ipsec'];
  const out: string[] = [];
  const nics = networkInterfaces();
  for (const name of Object.keys(nics).sort()) {
    if (skip.some((p) => name.startsWith(p))) {
      continue;
    }
    for (const a of nics[name] ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) {
        out.push(a.address);
      }
    }
  }
  return out;
}

/**
 * Every media socket of a node. Each peer leases its sockets: with `singleport`, the one shared UDP
 * socket; otherwise a UDP socket of its own (inside `portrange` when set, else an ephemeral port),
 * which its publisher and subscriber PCs share (demultiplexed like the shared one) and which closes
 * with the peer. The ICE-TCP listener (`tcpport`) is always shared. werift binds nothing itself.
 */
export class TransportPool {
  readonly options: TransportPoolOptions;
  readonly monitor: IceMonitor;
  #shared: UdpMux | undefined;
  #tcp: TcpMux | undefined;
  #opening: Promise<void> | undefined;
  readonly #leases = new Set<PeerSockets>();
  /** Ports of `portrange` held by our own per-peer sockets. */
  readonly #usedPorts = new Set<number>();
  #nextPort: number;
  #closed = false;

  constructor(options: TransportPoolOptions) {
    this.options = options;
    this.monitor = new IceMonitor(options.timeouts);
    this.#nextPort = options.portRange?.[0] ?? 0;
  }

  /** Binds the shared sockets (`singleport`, `tcpport`); a port in use fails here, at start. */
  open(): Promise<void> {
    this.#opening ??= this.#open();
    return this.#opening;
  }

  get sharedUdp(): UdpMux | undefined {
    return this.#shared;
  }

  get tcp(): TcpMux | undefined {
    return this.#tcp;
  }

  /** Addresses put in candidates: `nat1to1` when set, else the host's own. */
  addresses(): string[] {
    return this.options.announcedAddresses.length > 0
      ? [...this.options.announcedAddresses]
      : hostAddresses();
  }

  /** The sockets of one peer (bound lazily, by `PeerSockets.udp()`); release them when the peer closes. */
  lease(): PeerSockets {
    if (this.#closed) {
      throw new SwitchboardError('invalid-state', 'media transports are closed');
    }
    const l = new PeerSockets(this);
    this.#leases.add(l);
    return l;
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    this.monitor.close();
    const leases = [...this.#leases];
    this.#leases.clear();
    await Promise.all(leases.map((l) => l.release()));
    await this.#shared?.close();
    await this.#tcp?.close();
  }

  /** @internal PeerSockets: the UDP socket for a new peer. */
  async bindPeerSocket(): Promise<{ mux: UdpMux; own: boolean }> {
    await this.open();
    if (this.#closed) {
      throw new SwitchboardError('invalid-state', 'media transports are closed');
    }
    if (this.#shared) {
      return { mux: this.#shared, own: false };
    }
    const bind = this.options.bindAddress ?? '0.0.0.0';
    const range = this.options.portRange;
    if (!range) {
      return { mux: await UdpMux.bind(0, bind), own: true };
    }
    const [min, max] = range;
    const size = max - min + 1;
    for (let i = 0; i < size; i++) {
      const port = this.#nextPort;
      this.#nextPort = port >= max ? min : port + 1;
      if (this.#usedPorts.has(port)) {
        continue;
      }
      this.#usedPorts.add(port); // before the await: concurrent joins never try the same port
      try {
        return { mux: await UdpMux.bind(port, bind), own: true };
      } catch (err) {
        this.#usedPorts.delete(port);
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') {
          throw err;
        }
      }
    }
    throw new SwitchboardError(
      'unavailable',
      `no free UDP port for media: all ${size} ports of [webrtc] portrange ${min}-${max} are in use`,
    );
  }

  /** @internal PeerSockets: gives back a per-peer socket. */
  async returnPeerSocket(l: PeerSockets, mux: UdpMux | undefined, own: boolean): Promise<void> {
    this.#leases.delete(l);
    if (mux && own) {
      const port = mux.port;
      await mux.close();
      this.#usedPorts.delete(port);
    }
  }

  async #open(): Promise<void> {
    const o = this.options;
    const bind = o.bindAddress ?? '0.0.0.0';
    if (o.singlePort !== undefined) {
      this.#shared = await UdpMux.bind(o.singlePort, bind).catch((err: Error) => {
        throw new SwitchboardError('unavailable', `[webrtc] singleport ${o.singlePort}: ${err.message}`, {
          cause: err,
        });
      });
    }
    if (o.tcpPort !== undefined) {
      this.#tcp = await TcpMux.listen(o.tcpPort, bind).catch(async (err: Error) => {
        await this.#shared?.close();
        throw new SwitchboardError('unavailable', `[webrtc] tcpport ${o.tcpPort}: ${err.message}`, {
          cause: err,
        });
      });
    }
    logger.debug(
      {
        udp: this.#shared?.port ?? o.portRange ?? 'per peer',
        tcp: this.#tcp?.port,
        addresses: this.addresses(),
      },
      'media transports ready',
    );
  }
}

/** The sockets one peer's PCs use; see TransportPool. */
export class PeerSockets {
  readonly pool: TransportPool;
  #udp: Promise<{ mux: UdpMux; own: boolean }> | undefined;
  #released = false;

  constructor(pool: TransportPool) {
    this.pool = pool;
  }

  /** The peer's UDP mux, bound on first call; rejects with a SwitchboardError when no port is free. */
  udp(): Promise<UdpMux> {
    if (this.#released) {
      return Promise.reject(new SwitchboardError('invalid-state', 'peer sockets released'));
    }
    this.#udp ??= this.pool.bindPeerSocket();
    return this.#udp.then((u) => u.mux);
  }

  get tcp(): TcpMux | undefined {
    return this.pool.tcp;
  }

  get monitor(): IceMonitor {
    return this.pool.monitor;
  }

  addresses(): string[] {
    return this.pool.addresses();
  }

  get released(): boolean {
    return this.#released;
  }

  async release(): Promise<void> {
    if (this.#released) {
      return;
    }
    this.#released = true;
    const u = await this.#udp?.catch(() => undefined);
    await this.pool.returnPeerSocket(this, u?.mux, u?.own ?? false);
  }
}
