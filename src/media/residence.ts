/**
 * Time each incoming packet spends in our forwarding code (from the Receiver's handler until its
 * last subscriber's datagram is handed to the kernel), for `/metrics`: a cumulative histogram
 * (`sfu_forward_residence_seconds`, exact over any scrape interval) and quantiles of the latest
 * samples (`sfu_forward_residence_microseconds{quantile}`). Recording costs two clock reads and a
 * short bucket search per packet; the media core keeps the numbers, src/metrics formats them.
 */
const SIZE = 8192;
const samples = new Float64Array(SIZE);
let count = 0;

/** Upper bounds of the histogram buckets, in seconds (+Inf is implied). */
export const RESIDENCE_BUCKETS = [
  0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025,
  0.05, 0.1,
] as const;
const buckets = new Float64Array(RESIDENCE_BUCKETS.length + 1);
let sumSeconds = 0;

export function observeResidence(ms: number): void {
  samples[count++ % SIZE] = ms * 1000;
  const s = ms / 1000;
  sumSeconds += s;
  let i = 0;
  while (i < RESIDENCE_BUCKETS.length && s > RESIDENCE_BUCKETS[i]!) {
    i++;
  }
  buckets[i]!++;
}

/** Quantiles (0..1) of the recent samples in µs, or undefined with no traffic yet. */
export function residenceQuantiles(qs: readonly number[]): number[] | undefined {
  const n = Math.min(count, SIZE);
  if (n === 0) {
    return undefined;
  }
  const sorted = samples.slice(0, n).sort();
  return qs.map((q) => sorted[Math.min(n - 1, Math.floor(q * n))]!);
}

/** Cumulative counts per bucket (the last is +Inf = every sample) and the sum in seconds. */
export function residenceHistogram(): { cumulative: number[]; sum: number; count: number } {
  const cumulative: number[] = [];
  let acc = 0;
  for (const b of buckets) {
    acc += b;
    cumulative.push(acc);
  }
  return { cumulative, sum: sumSeconds, count: acc };
}
