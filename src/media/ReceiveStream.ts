import { RtcpReceiverInfo } from 'werift';

/** Gaps longer than this are not NACKed packet by packet (a restart or a long outage: wait for a keyframe). */
export const NACK_MAX_GAP = 256;
/** Packets waited for at once per stream; the oldest are given up first. */
const NACK_MAX_PENDING = 512;
/** Asked again this often while missing, until a round trip has been measured. */
export const NACK_RETRY_MS = 40;
/**
 * Once measured (a packet that came back after one NACK: the round trip plus the sender's reaction),
 * a retry waits one and a half of it, within these bounds: sooner would only ask for a packet already
 * on its way; the upper bound keeps a few tries inside NACK_GIVE_UP_MS.
 */
export const NACK_MIN_RETRY_MS = 20;
export const NACK_MAX_RETRY_MS = 250;
/** Asked at most this many times, and never once older than NACK_GIVE_UP_MS. */
const NACK_MAX_TRIES = 10;
const NACK_GIVE_UP_MS = 1000;

/**
 * What we know of one incoming SSRC, for our RTCP toward its publisher: RFC 3550 reception
 * statistics (A.3 loss, A.8 jitter, LSR/DLSR from its sender reports) for the receiver report, and the
 * packets missing from the sequence (by extended sequence number, the SRTP index) for generic NACKs
 * (RFC 4585 §6.2.1). Fed by the ingress with each authenticated packet.
 */
export class ReceiveStream {
  readonly ssrc: number;
  readonly clockRate: number;
  readonly nack: boolean;
  #base = -1;
  #max = -1;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #jitter = 0;
  #transit = NaN;
  /** Middle 32 bits of the last sender report's NTP time, and when it arrived (ms). */
  #lsr = 0;
  #lsrAtMs = 0;
  /** Missing extended sequence numbers → [first missed at ms, times asked, last asked at ms]. */
  readonly #missing = new Map<number, [number, number, number]>();
  /** Packets that arrived after being NACKed (or reordered past a gap). */
  recovered = 0;
  /** Smoothed time from a NACK to its packet, ms; -1 until one came back after a single NACK. */
  #answerMs = -1;

  constructor(ssrc: number, clockRate: number, nack: boolean) {
    this.ssrc = ssrc;
    this.clockRate = clockRate;
    this.nack = nack;
  }

  get pendingNacks(): number {
    return this.#missing.size;
  }

  /** How long a NACKed packet is waited for before it is asked again, ms. */
  get retryMs(): number {
    if (this.#answerMs < 0) {
      return NACK_RETRY_MS;
    }
    return Math.min(NACK_MAX_RETRY_MS, Math.max(NACK_MIN_RETRY_MS, Math.round(this.#answerMs * 1.5)));
  }

  /** One authenticated packet with extended sequence number `ext`, RTP `timestamp`, arrived at `nowMs`. */
  received(ext: number, timestamp: number, nowMs: number): void {
    this.#received++;
    if (this.#max < 0) {
      this.#base = ext;
      this.#max = ext;
    } else if (ext > this.#max) {
      const gap = ext - this.#max - 1;
      if (this.nack && gap > 0) {
        if (gap > NACK_MAX_GAP) {
          this.#missing.clear();
        } else {
          for (let s = this.#max + 1; s < ext; s++) {
            this.#missing.set(s, [nowMs, 0, 0]);
          }
          for (const s of this.#missing.keys()) {
            if (this.#missing.size <= NACK_MAX_PENDING) {
              break;
            }
            this.#missing.delete(s); // insertion order: the oldest first
          }
        }
      }
      this.#max = ext;
    } else {
      const e = this.#missing.get(ext);
      if (e) {
        this.#missing.delete(ext);
        this.recovered++;
        if (e[1] === 1) {
          const sample = nowMs - e[2];
          this.#answerMs = this.#answerMs < 0 ? sample : this.#answerMs + (sample - this.#answerMs) / 8;
        }
      }
    }
    // Interarrival jitter (RFC 3550 A.8), in RTP units; retransmissions and reordered packets skew it
    // a little, as in every receiver that does not tell them apart.
    const arrival = (nowMs * this.clockRate) / 1000;
    const transit = arrival - timestamp;
    if (!Number.isNaN(this.#transit)) {
      let d = transit - this.#transit;
      // RTP timestamps wrap at 2^32.
      if (d > 2 ** 31) {
        d -= 2 ** 32;
      } else if (d < -(2 ** 31)) {
        d += 2 ** 32;
      }
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    }
    this.#transit = transit;
  }

  /** A sender report of this SSRC arrived: `ntp` is its 64-bit NTP timestamp. */
  senderReport(ntp: bigint, nowMs: number): void {
    this.#lsr = Number((ntp >> 16n) & 0xffffffffn);
    this.#lsrAtMs = nowMs;
  }

  /**
   * The sequence numbers (16-bit, ascending by extended number) to NACK now: new gaps at once, older
   * ones again every `retryMs`, each up to NACK_MAX_TRIES times and for NACK_GIVE_UP_MS at most.
   */
  nacks(nowMs: number): number[] {
    const out: number[] = [];
    const retry = this.retryMs;
    for (const [ext, e] of this.#missing) {
      if (nowMs - e[0] > NACK_GIVE_UP_MS || e[1] >= NACK_MAX_TRIES) {
        this.#missing.delete(ext);
        continue;
      }
      if (e[1] === 0 || nowMs - e[2] >= retry) {
        e[1]++;
        e[2] = nowMs;
        out.push(ext & 0xffff);
      }
    }
    return out;
  }

  /** The report block for a receiver report (RFC 3550 §6.4.1, A.3); starts a new interval. */
  report(nowMs: number): RtcpReceiverInfo | undefined {
    if (this.#max < 0) {
      return undefined;
    }
    const expected = this.#max - this.#base + 1;
    const lost = expected - this.#received;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction =
      expectedInterval === 0 || lostInterval <= 0
        ? 0
        : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
    return new RtcpReceiverInfo({
      ssrc: this.ssrc,
      fractionLost: fraction,
      // 24-bit signed on the wire; duplicates can make it negative, which we report as 0.
      packetsLost: Math.max(0, Math.min(lost, 0x7fffff)),
      highestSequence: this.#max % 2 ** 32,
      jitter: Math.floor(this.#jitter) >>> 0,
      lsr: this.#lsr,
      dlsr:
        this.#lsrAtMs === 0 ? 0 : Math.min(0xffffffff, Math.floor(((nowMs - this.#lsrAtMs) * 65536) / 1000)),
    });
  }
}
