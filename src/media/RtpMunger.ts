/**
 * Rewrites one forwarded stream's sequence numbers and timestamps so a subscriber sees one continuous
 * stream across pauses (mute), dropped padding and, later, simulcast layer switches (LiveKit's
 * RTPMunger, ion-sfu's DownTrack offsets). Mutable output fields avoid a result object per packet.
 */
export class RtpMunger {
  /** Output of the last `update` that returned true. */
  seq = 0;
  ts = 0;

  #started = false;
  #resync = true;
  #seqOffset = 0;
  #tsOffset = 0;
  /** Highest incoming sequence number seen, extended to 32+ bits (cycles counted). */
  #highestIn = 0;
  /** Packets older than this (extended) belong to before the last resync and are dropped. */
  #floorIn = 0;
  #lastOutSeq = 0;
  #lastOutTs = 0;
  #lastOutMs = 0;

  /** The next forwarded packet starts a new run, continuing the output seq/ts (after mute or a source switch). */
  pause(): void {
    this.#resync = true;
  }

  /** Returns false when the packet must be dropped (stale: from before the last resync). */
  update(inSeq: number, inTs: number, nowMs: number, clockRate: number): boolean {
    const ext = this.#extend(inSeq);
    if (this.#resync) {
      if (!this.#started) {
        this.#seqOffset = 0;
        this.#tsOffset = 0;
        this.#started = true;
      } else {
        // Continue right after the last packet we sent; advance the clock by the wall time that passed.
        const elapsed = Math.max(1, Math.round(((nowMs - this.#lastOutMs) * clockRate) / 1000));
        this.#seqOffset = (this.#lastOutSeq + 1 - inSeq) & 0xffff;
        this.#tsOffset = (this.#lastOutTs + elapsed - inTs) >>> 0;
      }
      this.#resync = false;
      this.#highestIn = ext;
      this.#floorIn = ext;
    } else if (ext < this.#floorIn) {
      return false;
    }
    this.seq = (inSeq + this.#seqOffset) & 0xffff;
    this.ts = (inTs + this.#tsOffset) >>> 0;
    if (ext >= this.#highestIn) {
      this.#highestIn = ext;
      this.#lastOutSeq = this.seq;
      this.#lastOutTs = this.ts;
      this.#lastOutMs = nowMs;
    }
    return true;
  }

  /** Drops an in-order packet without leaving a hole in the output sequence (padding-only packets). */
  skip(inSeq: number): void {
    if (this.#resync || !this.#started) {
      return;
    }
    const ext = this.#extend(inSeq);
    if (ext === this.#highestIn + 1) {
      this.#highestIn = ext;
      this.#seqOffset = (this.#seqOffset - 1) & 0xffff;
    }
  }

  get lastOutTs(): number {
    return this.#lastOutTs;
  }

  get lastOutMs(): number {
    return this.#lastOutMs;
  }

  get started(): boolean {
    return this.#started;
  }

  #extend(seq: number): number {
    if (!this.#started && this.#highestIn === 0) {
      return seq + 0x10000; // headroom so early reordered packets stay positive
    }
    const delta = ((seq - (this.#highestIn & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    return this.#highestIn + delta;
  }
}
