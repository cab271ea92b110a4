import { RtpView } from './RtpView.ts';

/**
 * A ring of the last N packets of one receiver, keyed by sequence number, for answering NACKs. It
 * keeps each packet's own buffer (a datagram the ingress decrypted in place) and its plaintext
 * length: no object per packet. `get` parses a kept packet into a view of its own, reused by the
 * next `get`.
 */
export class PacketCache {
  readonly #mask: number;
  readonly #bufs: (Buffer | undefined)[];
  readonly #lengths: Uint16Array;
  readonly #view = new RtpView();

  constructor(capacity: number) {
    let size = 1;
    while (size < capacity) {
      size <<= 1;
    }
    this.#mask = size - 1;
    this.#bufs = new Array<Buffer | undefined>(size);
    this.#lengths = new Uint16Array(size);
  }

  /** Packets kept (a power of two). */
  get capacity(): number {
    return this.#mask + 1;
  }

  put(packet: RtpView): void {
    const i = packet.seq & this.#mask;
    this.#bufs[i] = packet.buf;
    this.#lengths[i] = packet.length;
  }

  get(seq: number): RtpView | undefined {
    const i = seq & this.#mask;
    const buf = this.#bufs[i];
    const view = this.#view;
    return buf &&
      view.parseHeader(buf, this.#lengths[i]!) &&
      view.setLength(this.#lengths[i]!) &&
      view.seq === seq
      ? view
      : undefined;
  }
}
