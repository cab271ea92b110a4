import type { Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { addon, type SendBatch } from './srtp/native.ts';

/** Datagrams per sendBatch call (native/srtp.c allows 256); a longer fan-out flushes on the way. */
const CAPACITY = 128;

/** Where a datagram goes. */
export interface Remote {
  readonly host: string;
  readonly port: number;
}

/**
 * The file descriptor of a dgram socket, or -1 once it is closed. Node exposes no public way to
 * get it: the socket's internal state (the `Symbol(state symbol)` property that `socket._handle`, a
 * deprecated getter, also reads) holds the libuv handle, whose `fd` getter Node defines on Unix.
 * This is the one place that reaches into Node's dgram internals; without it, batching is off.
 */
function fdOf(socket: Socket): number {
  const state = (socket as unknown as Record<symbol, { handle?: { fd?: number } | null } | undefined>)[
    stateSymbol(socket)
  ];
  const fd = state?.handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

let kState: symbol | undefined;
function stateSymbol(socket: Socket): symbol {
  kState ??=
    Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol') ?? Symbol('none');
  return kState;
}

/**
 * `struct sockaddr_in` (Linux layout) for sendmmsg, built once per remote address; undefined for
 * IPv6, which is sent the ordinary way (rare for media here, and not worth an address parser).
 */
function sockaddr(ip: string, port: number): Buffer | undefined {
  if (!isIPv4(ip)) {
    return undefined;
  }
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0); // AF_INET, host byte order (little-endian on every Linux we run on)
  b.writeUInt16BE(port, 2);
  const parts = ip.split('.');
  for (let i = 0; i < 4; i++) {
    b[4 + i] = Number(parts[i]);
  }
  return b;
}

/**
 * The datagrams of one fan-out, sent together: the Receiver queues a packet per subscriber and
 * flushes after its loop, so N subscribers cost one native call and one sendmmsg per run of
 * datagrams on the same socket (all of them with `[webrtc] singleport`). A microtask flushes
 * whatever other senders (NACK answers) queue. Datagrams a full socket buffer refuses go out the
 * ordinary way, where libuv queues them.
 */
export class UdpBatch {
  readonly #send: SendBatch;
  readonly #sockets: (Socket | undefined)[] = [];
  readonly #bufs: (Buffer | undefined)[] = [];
  readonly #addrs: (Buffer | undefined)[] = [];
  /** Where each datagram goes, for the ones sent the ordinary way. */
  readonly #remotes: (Remote | undefined)[] = [];
  readonly #fds = new Int32Array(CAPACITY);
  readonly #offs = new Uint32Array(CAPACITY);
  readonly #lens = new Uint32Array(CAPACITY);
  /** sockaddr per remote endpoint object (werift's remote candidate: one per pair, long-lived). */
  readonly #sockaddrs = new WeakMap<Remote, Buffer>();
  #n = 0;
  #scheduled = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(send: SendBatch) {
    this.#send = send;
  }

  /**
   * Queues `buf[off, off + len)` for `remote` on `socket`. The buffer must stay untouched until the
   * flush. `remote` must be a long-lived object: its sockaddr is cached on it.
   */
  queue(socket: Socket, buf: Buffer, off: number, len: number, remote: Remote): void {
    if (this.#n === CAPACITY) {
      this.flush();
    }
    let addr = this.#sockaddrs.get(remote);
    if (!addr) {
      addr = sockaddr(remote.host, remote.port);
      if (!addr) {
        socket.send(buf.subarray(off, off + len), remote.port, remote.host);
        return;
      }
      this.#sockaddrs.set(remote, addr);
    }
    const i = this.#n++;
    this.#sockets[i] = socket;
    this.#bufs[i] = buf;
    this.#addrs[i] = addr;
    this.#offs[i] = off;
    this.#lens[i] = len;
    this.#remotes[i] = remote;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Sends everything queued. */
  flush(): void {
    const n = this.#n;
    if (n === 0) {
      return;
    }
    this.#n = 0;
    let last: Socket | undefined;
    let fd = -1;
    for (let i = 0; i < n; i++) {
      const s = this.#sockets[i]!;
      if (s !== last) {
        last = s;
        fd = fdOf(s); // read now: a socket closed since its packet was queued gives -1 (dropped)
      }
      this.#fds[i] = fd;
    }
    let done: number;
    try {
      done = this.#send(this.#fds, this.#bufs, this.#offs, this.#lens, this.#addrs, n);
    } catch {
      done = 0; // cannot happen with well-formed arguments; send them the ordinary way
    }
    for (let i = 0; i < n; i++) {
      // Past `done`: refused for a full buffer. fd < 0: no fd (closed meanwhile: send throws).
      if (i >= done || this.#fds[i]! < 0) {
        const off = this.#offs[i]!;
        const to = this.#remotes[i]!;
        try {
          this.#sockets[i]!.send(this.#bufs[i]!.subarray(off, off + this.#lens[i]!), to.port, to.host);
        } catch {
          // socket closed: dropped
        }
      }
    }
    // Drop references so closed sockets and their buffers can be collected.
    this.#sockets.fill(undefined, 0, n);
    this.#bufs.fill(undefined, 0, n);
    this.#remotes.fill(undefined, 0, n);
  }
}

/**
 * The process's batch, when the native accelerator with sendmmsg is built (Linux); SB_SENDMMSG=0
 * turns batching off (one dgram send per packet, for comparison).
 */
export const udpBatch: UdpBatch | undefined =
  addon?.sendBatch !== undefined && process.env.SB_SENDMMSG !== '0'
    ? new UdpBatch(addon.sendBatch.bind(addon))
    : undefined;
