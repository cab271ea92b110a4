/**
 * Time each incoming packet spends in our forwarding code (from the Receiver's handler to the last
 * subscriber's send), for `sfu_forward_residence_microseconds{quantile}`. A ring of the latest
 * samples, so the quantiles describe recent traffic; recording costs two clock reads per packet.
 */
const SIZE = 8192;
const samples = new Float64Array(SIZE);
let count = 0;

export function observeResidence(ms: number): void {
  samples[count++ % SIZE] = ms * 1000;
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
