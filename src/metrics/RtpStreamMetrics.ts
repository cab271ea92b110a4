import { Counter, Histogram, type Registry } from 'prom-client';
import type { Layer, Receiver, SFU } from '../media/index.ts';

/** How often every incoming stream is sampled (ION observes once per receiver report, about as often). */
export const STREAM_SAMPLE_MS = 1000;

/** A layer's counters at the previous sample. */
interface Mark {
  packets: number;
  lost: number;
}

/**
 * `[sfu] withstats`: ION's per-stream `rtp_*` metrics. Once a second every incoming stream (simulcast
 * layer) is observed: packets expected and received since the last sample, their difference and the
 * loss rate, its interarrival jitter, and per published stream (msid) the drift between its tracks'
 * capture clocks (audio against video, from the publisher's sender reports; ION's `rtp_drift_millis`).
 * Read from counters the ingress keeps anyway: nothing is added per packet but one timestamp.
 */
export class RtpStreamMetrics {
  readonly #sfu: SFU;
  readonly #marks = new WeakMap<Layer, Mark>();
  readonly #timer: NodeJS.Timeout;
  readonly #expected: Counter;
  readonly #received: Counter;
  readonly #missing: Histogram;
  readonly #lostRate: Histogram;
  readonly #jitter: Histogram;
  readonly #drift: Histogram;

  constructor(sfu: SFU, registry: Registry) {
    this.#sfu = sfu;
    const registers = [registry];
    this.#expected = new Counter({
      name: 'rtp_expected',
      help: 'RTP packets expected from publishers (sequence numbers spanned; withstats)',
      registers,
    });
    this.#received = new Counter({
      name: 'rtp_received',
      help: 'RTP packets received from publishers (withstats)',
      registers,
    });
    this.#missing = new Histogram({
      name: 'rtp_expected_minus_received',
      help: 'Per incoming stream and second: packets expected but not received (withstats)',
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.#lostRate = new Histogram({
      name: 'rtp_lost_rate',
      help: 'Per incoming stream and second: share of the expected packets lost on the way in (withstats)',
      buckets: [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
      registers,
    });
    this.#jitter = new Histogram({
      name: 'rtp_jitter',
      help: 'Per incoming stream and second: interarrival jitter, ms (RFC 3550; withstats)',
      buckets: [1, 2, 5, 10, 20, 40, 80, 160],
      registers,
    });
    this.#drift = new Histogram({
      name: 'rtp_drift_millis',
      help: "Per published stream and second: how far apart its tracks' latest packets are in capture time, ms (withstats)",
      buckets: [5, 10, 20, 40, 80, 160],
      registers,
    });
    this.#timer = setInterval(() => this.sample(Date.now()), STREAM_SAMPLE_MS);
    this.#timer.unref();
  }

  /** One observation per live stream (exposed for tests: the timer calls it). */
  sample(now: number): void {
    for (const session of this.#sfu.sessions) {
      for (const peer of session.peers) {
        if (peer.relay) {
          continue; // a relayed copy: the publisher's node observes the stream
        }
        const streams = new Map<string, number[]>();
        for (const r of peer.receivers) {
          for (const l of r.layers) {
            this.#observeLayer(l, now);
          }
          const capture = captureMs(r, now);
          if (capture !== undefined) {
            const list = streams.get(r.streamId) ?? [];
            list.push(capture);
            streams.set(r.streamId, list);
          }
        }
        for (const times of streams.values()) {
          if (times.length > 1) {
            this.#drift.observe(Math.max(...times) - Math.min(...times));
          }
        }
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #observeLayer(l: Layer, now: number): void {
    const prev = this.#marks.get(l);
    this.#marks.set(l, { packets: l.packets, lost: l.packetsLost });
    if (!prev || now - l.lastPacketMs > STREAM_SAMPLE_MS) {
      return; // new, or stopped (paused by dynacast, muted): nothing to say about this second
    }
    const received = Math.max(0, l.packets - prev.packets);
    const missing = Math.max(0, l.packetsLost - prev.lost);
    const expected = received + missing;
    if (expected === 0) {
      return;
    }
    this.#expected.inc(expected);
    this.#received.inc(received);
    this.#missing.observe(missing);
    this.#lostRate.observe(missing / expected);
    this.#jitter.observe(l.jitter);
  }
}

/**
 * The capture time (publisher's wall clock, ms) of the track's latest packet, from the sender report
 * of its most recently active layer; undefined without one or when the track is idle.
 */
function captureMs(r: Receiver, now: number): number | undefined {
  let best: Layer | undefined;
  for (const l of r.layers) {
    if (
      l.senderReport &&
      now - l.lastPacketMs <= STREAM_SAMPLE_MS &&
      (!best || l.lastPacketMs > best.lastPacketMs)
    ) {
      best = l;
    }
  }
  const sr = best?.senderReport;
  if (!best || !sr) {
    return undefined;
  }
  const ticks = (best.lastTimestamp - sr.rtpTimestamp) | 0; // signed: across the 32-bit wrap
  return sr.ntpMs + (ticks * 1000) / r.codec.clockRate;
}
