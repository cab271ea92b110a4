/**
 * Remembers which incoming sequence number (and outgoing timestamp) each recently sent outgoing
 * packet came from, so a subscriber's NACK, in its own numbering, finds the packet in the
 * publisher's cache and is resent exactly as first sent (ion-sfu's sequencer).
 */
export class Sequencer {
  readonly #size: number;
  readonly #out: Int32Array;
  readonly #in: Uint16Array;
  readonly #ts: Uint32Array;
  readonly #layer: Uint8Array;
  /** Reused result: lookups happen inside NACK loops. */
  readonly #entry = { inSeq: 0, outTs: 0, layer: 0 };

  constructor(size = 1024) {
    this.#size = size;
    this.#out = new Int32Array(size).fill(-1);
    this.#in = new Uint16Array(size);
    this.#ts = new Uint32Array(size);
    this.#layer = new Uint8Array(size);
  }

  /** `layer` is the simulcast layer (index into the Receiver's layers) the packet came from. */
  push(outSeq: number, inSeq: number, outTs: number, layer = 0): void {
    const i = outSeq % this.#size;
    this.#out[i] = outSeq;
    this.#in[i] = inSeq;
    this.#ts[i] = outTs;
    this.#layer[i] = layer;
  }

  /** The entry for `outSeq` (valid until the next lookup), or undefined when no longer remembered. */
  lookup(outSeq: number): { inSeq: number; outTs: number; layer: number } | undefined {
    const i = outSeq % this.#size;
    if (this.#out[i] !== outSeq) {
      return undefined;
    }
    this.#entry.inSeq = this.#in[i]!;
    this.#entry.outTs = this.#ts[i]!;
    this.#entry.layer = this.#layer[i]!;
    return this.#entry;
  }
}
