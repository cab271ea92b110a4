import type { RTCDtlsTransport } from 'werift';
import { createProtector, PROTECT_HEADROOM, type Protector } from './srtp/index.ts';
import { MediaRoute, srtpKeysOf } from './werift.ts';

/** Largest RTP packet we build (header + payload + tag); bigger ones get a buffer of their own. */
const SLOT = 2048;
/**
 * Packets are built in a ring of buffers shared by every DownTrack of the process: a slot is only
 * reused after RING other packets, longer than a send batch stays queued (UdpBatch flushes every
 * 128) and than libuv keeps a buffer it had to queue (EAGAIN).
 */
const RING = 512;
const ring: Buffer[] = [];
let next = 0;

/** A buffer for one outgoing packet: the packet goes at `PROTECT_HEADROOM`. */
export function packetBuffer(size: number): Buffer {
  if (size + PROTECT_HEADROOM > SLOT) {
    return Buffer.allocUnsafe(size + PROTECT_HEADROOM);
  }
  if (ring.length < RING) {
    ring.push(Buffer.allocUnsafeSlow(SLOT)); // own ArrayBuffer: 4-byte aligned for the XOR
    return ring[ring.length - 1]!;
  }
  next = (next + 1) % RING;
  return ring[next]!;
}

const egresses = new WeakMap<RTCDtlsTransport, Egress>();

/**
 * Our SRTP egress for one subscriber transport: a Protector keyed with the transport's session keys
 * (native when built, else TypeScript), re-keyed if werift restarts DTLS. Shared by the transport's
 * DownTracks; each owns its SSRC's rollover counter.
 */
export class Egress {
  readonly #dtls: RTCDtlsTransport;
  readonly #route: MediaRoute;
  #stamp: object | undefined;
  #protector: Protector | undefined;

  private constructor(dtls: RTCDtlsTransport) {
    this.#dtls = dtls;
    this.#route = new MediaRoute(dtls);
  }

  static of(dtls: RTCDtlsTransport): Egress {
    let e = egresses.get(dtls);
    if (!e) {
      e = new Egress(dtls);
      egresses.set(dtls, e);
    }
    return e;
  }

  get protector(): Protector {
    const session = this.#dtls.srtp;
    if (session !== this.#stamp || !this.#protector) {
      this.#stamp = session;
      this.#protector = createProtector(srtpKeysOf(this.#dtls));
    }
    return this.#protector;
  }

  /** Protects the packet at `buf[PROTECT_HEADROOM…]` in place and sends it. */
  send(buf: Buffer, hdrLen: number, payloadLen: number, ssrc: number, seq: number, roc: number): void {
    const len = this.protector.protect(buf, PROTECT_HEADROOM, hdrLen, payloadLen, ssrc, seq, roc);
    this.#dtls.bytesSent += len;
    this.#dtls.packetsSent++;
    this.#route.send(buf, PROTECT_HEADROOM, len);
  }
}
