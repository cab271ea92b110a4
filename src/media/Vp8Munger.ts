/**
 * Keeps VP8 picture IDs and TL0PICIDX continuous for one subscriber across simulcast switches
 * (LiveKit's VP8 munger). Each simulcast stream numbers its pictures independently; after a switch
 * the receiver would otherwise see the picture ID jump, and a jump of more than half the 15-bit
 * space reads as "older than the last frame": libwebrtc then drops the frames after the keyframe
 * until its next keyframe request (a freeze of about three seconds, seen in the simulcast e2e test).
 *
 * The descriptor is patched in the subscriber's own copy of the packet (the egress buffer), never in
 * the publisher's payload that other subscribers and the NACK cache share.
 */
export class Vp8Munger {
  #rebase = true;
  #pidOffset = 0;
  #tl0Offset = 0;
  #lastPid = -1;
  #lastTl0 = -1;
  #lastDropped = -1;

  /** The next forwarded packet (a keyframe of the new source) continues the numbering. */
  rebase(): void {
    this.#rebase = true;
  }

  /**
   * Rewrites the VP8 descriptor of the payload at `buf[off .. off + len)` in place.
   * A retransmission never re-bases (it is an old packet of the stream already numbered).
   */
  patch(buf: Buffer, off: number, len: number, retransmission = false): void {
    if (len < 3 || (buf[off]! & 0x80) === 0) {
      return;
    }
    const x = buf[off + 1]!;
    let o = off + 2;
    let pid = -1;
    let pidAt = -1;
    let wide = false;
    if (x & 0x80) {
      wide = (buf[o]! & 0x80) !== 0;
      if (wide && len < 4) {
        return;
      }
      pid = wide ? ((buf[o]! & 0x7f) << 8) | buf[o + 1]! : buf[o]! & 0x7f;
      pidAt = o;
      o += wide ? 2 : 1;
    }
    const tl0At = x & 0x40 && o < off + len ? o : -1;
    const tl0 = tl0At >= 0 ? buf[tl0At]! : -1;
    if (this.#rebase && !retransmission) {
      this.#rebase = false;
      this.#pidOffset = pid >= 0 && this.#lastPid >= 0 ? (this.#lastPid + 1 - pid) & 0x7fff : 0;
      this.#tl0Offset = tl0 >= 0 && this.#lastTl0 >= 0 ? (this.#lastTl0 + 1 - tl0) & 0xff : 0;
    }
    if (pid >= 0) {
      const out = (pid + this.#pidOffset) & 0x7fff;
      if (wide) {
        buf[pidAt] = 0x80 | (out >> 8);
        buf[pidAt + 1] = out & 0xff;
      } else {
        buf[pidAt] = out & 0x7f;
      }
      if (this.#lastPid < 0 || ((out - this.#lastPid) & 0x7fff) < 0x4000) {
        this.#lastPid = wide ? out : out & 0x7f;
      }
    }
    if (tl0 >= 0) {
      const out = (tl0 + this.#tl0Offset) & 0xff;
      buf[tl0At] = out;
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
}
