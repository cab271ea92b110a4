import type { SenderReport } from '../media/Receiver.ts';

/**
 * Reports whose senders' clocks disagree with the arrival of their packets by more than this are not
 * used: a track's delay over the least delayed one is encoder and pacer time, tens to a few hundred
 * ms. (@roamhq/wrtc's reports put its audio 150–650 ms, at times 1.3 s, off its video although the
 * test feeds both at once.)
 */
const MAX_REPORT_SKEW_MS = 750;

/**
 * The capture clock of one publisher, shared by the RtpClocks of its tracks: maps the sender's wall
 * clock (the NTP time of its RTCP sender reports) to this node's, by the smallest offset between a
 * packet's arrival and its capture time seen over all its tracks (the least delayed packet). When the
 * tracks' reports disagree by more than MAX_REPORT_SKEW_MS (a sender that stamps one track from another
 * clock), none is used and each track keeps its own arrival-based time.
 */
export class CaptureClock {
  readonly #clocks = new Set<RtpClock>();

  add(clock: RtpClock): void {
    this.#clocks.add(clock);
  }

  /** Sender ms → this node's ms, or undefined without consistent reports. */
  offsetMs(): number | undefined {
    let min = Infinity;
    let max = -Infinity;
    for (const c of this.#clocks) {
      const o = c.reportOffsetMs;
      if (o !== undefined) {
        min = Math.min(min, o);
        max = Math.max(max, o);
      }
    }
    return Number.isFinite(min) && max - min <= MAX_REPORT_SKEW_MS ? min : undefined;
  }
}

/**
 * Maps one SSRC's RTP timestamps to capture time on this node's clock, ms. Timestamps are unwrapped
 * (32-bit).
 *
 * With the publisher's sender reports (RFC 3550 6.4.1), RTP time goes to the sender's NTP clock, which
 * all its tracks share, and then through the publisher's CaptureClock: audio and video keep the sync the
 * sender gave them, whatever their encoder and pacer delays (Chromium's video trails its audio by 50–200
 * ms under CPU load), and a new simulcast layer lines up with the one it replaces. Until a report is
 * known, the offset between arrival and media time is the smallest seen for this SSRC alone, which is
 * off by the track's own delay over the publisher's least delayed track.
 */
export class RtpClock {
  readonly clockRate: number;
  readonly #capture: CaptureClock;
  /** Extended (unwrapped) timestamp of the newest packet; undefined before the first. */
  #highest: number | undefined;
  #arrivalOffsetMs = Infinity;
  #report: SenderReport | undefined;
  /** Sender ms at extended RTP time 0, from `#report`. */
  #senderOffsetMs = 0;

  constructor(clockRate: number, capture: CaptureClock = new CaptureClock()) {
    this.clockRate = clockRate;
    this.#capture = capture;
    capture.add(this);
  }

  /** The 32-bit timestamp extended around the newest one seen (older packets stay older). */
  extend(ts: number): number {
    const ext = this.#near(ts); // signed 32-bit distance from the newest
    if (this.#highest === undefined || ext > this.#highest) {
      this.#highest = ext;
    }
    return ext;
  }

  /**
   * Records a packet's arrival (ms) and the latest sender report of its SSRC, if any; returns the
   * packet's extended timestamp.
   */
  observe(ts: number, arrivalMs: number, report?: SenderReport): number {
    const ext = this.extend(ts);
    const mediaMs = (ext * 1000) / this.clockRate;
    this.#arrivalOffsetMs = Math.min(this.#arrivalOffsetMs, arrivalMs - mediaMs);
    if (report !== undefined && report !== this.#report) {
      this.#report = report;
      // A report may run ahead of the packets: it must not move the newest one.
      this.#senderOffsetMs = report.ntpMs - (this.#near(report.rtpTimestamp) * 1000) / this.clockRate;
    }
    return ext;
  }

  /** Capture time on this node's clock, ms, of an extended timestamp (after at least one `observe`). */
  wallMs(ext: number): number {
    const mediaMs = (ext * 1000) / this.clockRate;
    const offset = this.#report !== undefined ? this.#capture.offsetMs() : undefined;
    return offset !== undefined ? mediaMs + this.#senderOffsetMs + offset : mediaMs + this.#arrivalOffsetMs;
  }

  /**
   * The smallest arrival − capture offset of this SSRC's packets on the sender's clock (by its latest
   * report), or undefined without a report.
   */
  get reportOffsetMs(): number | undefined {
    return this.#report !== undefined && Number.isFinite(this.#arrivalOffsetMs)
      ? this.#arrivalOffsetMs - this.#senderOffsetMs
      : undefined;
  }

  /** Capture time of a 32-bit timestamp near the newest packet's (after at least one `observe`). */
  wallMsOf(ts: number): number {
    return this.wallMs(this.#near(ts));
  }

  /** `ts` extended around the newest timestamp, which stays as it is. */
  #near(ts: number): number {
    const highest = this.#highest ?? ts >>> 0;
    return highest + (((ts >>> 0) - (highest % 0x1_0000_0000)) | 0);
  }

  get synced(): boolean {
    return Number.isFinite(this.#arrivalOffsetMs);
  }
}
