import type { RtpPacket } from 'werift';

/** A ring of the last N packets of one receiver, keyed by sequence number, for answering NACKs. */
export class PacketCache {
  readonly #mask: number;
  readonly #packets: (RtpPacket | undefined)[];

  constructor(capacity: number) {
    let size = 1;
    while (size < capacity) {
      size <<= 1;
    }
    this.#mask = size - 1;
    this.#packets = new Array<RtpPacket | undefined>(size);
  }

  put(packet: RtpPacket): void {
    this.#packets[packet.header.sequenceNumber & this.#mask] = packet;
  }

  get(seq: number): RtpPacket | undefined {
    const p = this.#packets[seq & this.#mask];
    return p && p.header.sequenceNumber === seq ? p : undefined;
  }
}
