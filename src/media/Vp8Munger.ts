/**
 * Keeps VP8 picture IDs and TL0PICIDX continuous for one subscriber across simulcast switches
 * (LiveKit's VP8 munger). Each simulcast stream numbers its pictures independently; after a switch
 * the receiver would otherwise see the picture ID jump, and a jump of more than half the 15-bit
 * space reads as "older than the last frame": libwebrtc then drops the frames after the keyframe
 * until its next keyframe request (a freeze of about three seconds, seen in the simulcast e2e test).
 *
 * The descriptor is patched in place in the shared payload, encrypted, and restored (`restore`), so a
 * forwarded packet costs no copy: the fan-out loop is synchronous and SRTP encryption copies.
 */
export class Vp8Munger {
  #rebase = true;
  #pidOffset = 0;
  #tl0Offset = 0;
  #lastPid = -1;
  #lastTl0 = -1;
  #lastDropped = -1;
  /** Where the last patch wrote, and the bytes it replaced. */
  #pidAt = -1;
  #pidWide = false;
  #tl0At = -1;
  readonly #saved = [0, 0, 0];

  /** The next forwarded packet (a keyframe of the new source) continues the numbering. */
  rebase(): void {
    this.#rebase = true;
  }

  /**
   * Rewrites the descriptor of `payload` in place; call `restore(payload)` once it is encrypted.
   * A retransmission never re-bases (it is an old packet of the stream already numbered).
   */
  patch(payload: Buffer, retransmission = false): void {
    this.#pidAt = -1;
    this.#tl0At = -1;
    if (payload.length < 3 || (payload[0]! & 0x80) === 0) {
      return;
    }
    const x = payload[1]!;
    let o = 2;
    let pid = -1;
    if (x & 0x80) {
      this.#pidWide = (payload[o]! & 0x80) !== 0;
      if (this.#pidWide && payload.length < o + 2) {
        return;
      }
      pid = this.#pidWide ? ((payload[o]! & 0x7f) << 8) | payload[o + 1]! : payload[o]! & 0x7f;
      this.#pidAt = o;
      o += this.#pidWide ? 2 : 1;
    }
    const tl0 = x & 0x40 && payload.length > o ? payload[o]! : -1;
    if (tl0 >= 0) {
      this.#tl0At = o;
    }
    if (this.#rebase && !retransmission) {
      this.#rebase = false;
      this.#pidOffset = pid >= 0 && this.#lastPid >= 0 ? (this.#lastPid + 1 - pid) & 0x7fff : 0;
      this.#tl0Offset = tl0 >= 0 && this.#lastTl0 >= 0 ? (this.#lastTl0 + 1 - tl0) & 0xff : 0;
    }
    if (pid >= 0) {
      const out = (pid + this.#pidOffset) & 0x7fff;
      const at = this.#pidAt;
      this.#saved[0] = payload[at]!;
      if (this.#pidWide) {
        this.#saved[1] = payload[at + 1]!;
        payload[at] = 0x80 | (out >> 8);
        payload[at + 1] = out & 0xff;
      } else {
        payload[at] = out & 0x7f;
      }
      if (this.#lastPid < 0 || ((out - this.#lastPid) & 0x7fff) < 0x4000) {
        this.#lastPid = this.#pidWide ? out : out & 0x7f;
      }
    }
    if (tl0 >= 0) {
      const out = (tl0 + this.#tl0Offset) & 0xff;
      this.#saved[2] = payload[this.#tl0At]!;
      payload[this.#tl0At] = out;
      if (this.#lastTl0 < 0 || ((out - this.#lastTl0) & 0xff) < 0x80) {
        this.#lastTl0 = out;
      }
    }
  }

  /**
   * A packet of a dropped frame (temporal layer above the subscriber's ceiling): later picture IDs
   * move down by one per dropped picture so the subscriber sees no gap. TL0PICIDX needs nothing:
   * base-layer frames are never dropped.
   */
  drop(payload: Buffer): void {
    if (payload.length < 3 || (payload[0]! & 0x80) === 0 || (payload[1]! & 0x80) === 0) {
      return;
    }
    const wide = (payload[2]! & 0x80) !== 0;
    const pid = wide && payload.length > 3 ? ((payload[2]! & 0x7f) << 8) | payload[3]! : payload[2]! & 0x7f;
    if (pid !== this.#lastDropped) {
      this.#lastDropped = pid;
      this.#pidOffset = (this.#pidOffset - 1) & 0x7fff;
    }
  }

  restore(payload: Buffer): void {
    if (this.#pidAt >= 0) {
      payload[this.#pidAt] = this.#saved[0]!;
      if (this.#pidWide) {
        payload[this.#pidAt + 1] = this.#saved[1]!;
      }
    }
    if (this.#tl0At >= 0) {
      payload[this.#tl0At] = this.#saved[2]!;
    }
  }
}
