/**
 * Maps one SSRC's RTP timestamps to wall-clock ms on this node: timestamps are unwrapped (32-bit), and
 * the offset between arrival time and media time is the smallest ever seen, i.e. the packet that met the
 * least queueing. Audio and video of one publisher are captured on one clock and travel the same path, so
 * their mapped times line up within the difference of their encoder delays (tens of ms), and a new
 * simulcast layer (its own SSRC and timestamp base) lines up with the one it replaces.
 */
export class RtpClock {
  readonly clockRate: number;
  /** Extended (unwrapped) timestamp of the newest packet; undefined before the first. */
  #highest: number | undefined;
  #offsetMs = Infinity;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  /** The 32-bit timestamp extended around the newest one seen (older packets stay older). */
  extend(ts: number): number {
    if (this.#highest === undefined) {
      this.#highest = ts >>> 0;
      return this.#highest;
    }
    const delta = ((ts >>> 0) - (this.#highest % 0x1_0000_0000)) | 0; // signed 32-bit distance
    const ext = this.#highest + delta;
    if (delta > 0) {
      this.#highest = ext;
    }
    return ext;
  }

  /** Records a packet's arrival (ms); returns its extended timestamp. */
  observe(ts: number, arrivalMs: number): number {
    const ext = this.extend(ts);
    this.#offsetMs = Math.min(this.#offsetMs, arrivalMs - (ext * 1000) / this.clockRate);
    return ext;
  }

  /** Wall-clock ms of an extended timestamp (after at least one `observe`). */
  wallMs(ext: number): number {
    return (ext * 1000) / this.clockRate + this.#offsetMs;
  }

  get synced(): boolean {
    return Number.isFinite(this.#offsetMs);
  }
}
