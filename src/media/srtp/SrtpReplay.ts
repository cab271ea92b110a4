/** Packets kept in the replay list: libwebrtc's SRTP window (late NACK answers keep their old index). */
export const REPLAY_WINDOW = 1024;

/**
 * The receive state of one SRTP stream (one SSRC): its highest authenticated packet index
 * (ROC · 2^16 + SEQ) and the replay list below it (RFC 3711 §3.3.1–3.3.2). `estimate` guesses a new
 * packet's index from its sequence number (Appendix A) and refuses replays and packets older than
 * the window; `commit` records a packet once it authenticated, so a forged packet never moves the state.
 */
export class SrtpReplay {
  #highest = -1;
  readonly #bits = new Uint32Array(REPLAY_WINDOW / 32);

  /** Highest authenticated index, -1 before the first packet. */
  get highest(): number {
    return this.#highest;
  }

  /** The packet's index, or -1 for a replay or a packet older than the window. */
  estimate(seq: number): number {
    const highest = this.#highest;
    if (highest < 0) {
      return seq;
    }
    const sl = highest & 0xffff;
    const roc = Math.floor(highest / 65536);
    let v = roc;
    if (sl < 0x8000) {
      if (seq - sl > 0x8000) {
        v = roc - 1;
      }
    } else if (sl - 0x8000 > seq) {
      v = roc + 1;
    }
    if (v < 0) {
      return -1;
    }
    const index = v * 65536 + seq;
    const delta = index - highest;
    if (delta > 0) {
      return index;
    }
    if (delta <= -REPLAY_WINDOW) {
      return -1;
    }
    const bit = index % REPLAY_WINDOW;
    return (this.#bits[bit >>> 5]! & (1 << (bit & 31))) !== 0 ? -1 : index;
  }

  commit(index: number): void {
    const bits = this.#bits;
    if (index > this.#highest) {
      if (this.#highest < 0 || index - this.#highest >= REPLAY_WINDOW) {
        bits.fill(0);
      } else {
        for (let i = this.#highest + 1; i < index; i++) {
          const b = i % REPLAY_WINDOW;
          bits[b >>> 5] = bits[b >>> 5]! & ~(1 << (b & 31));
        }
      }
      this.#highest = index;
    }
    const bit = index % REPLAY_WINDOW;
    bits[bit >>> 5] = bits[bit >>> 5]! | (1 << (bit & 31));
  }
}
