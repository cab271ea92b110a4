// Small statistics helpers shared by the orchestrator and the report.
import type { Histogram } from './servers.ts';

export { percentile } from '../src/loadtest/percentile.ts';

/** The histogram of what was observed between two scrapes (same bucket layout). */
export function histogramDelta(a: Histogram | undefined, b: Histogram | undefined): Histogram | undefined {
  if (!b) {
    return undefined;
  }
  if (!a || a.le.length !== b.le.length) {
    return b;
  }
  return {
    le: b.le,
    counts: b.counts.map((c, i) => c - (a.counts[i] ?? 0)),
    sum: b.sum - a.sum,
    count: b.count - a.count,
  };
}

/** Percentile of a cumulative Prometheus histogram, linear within the bucket (as histogram_quantile). */
export function histogramPercentile(h: Histogram | undefined, p: number): number | undefined {
  if (!h || h.counts.length === 0) {
    return undefined;
  }
  const total = h.counts[h.counts.length - 1]!;
  if (total <= 0) {
    return undefined;
  }
  const rank = (p / 100) * total;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i]! >= rank) {
      const hi = h.le[i]!;
      const lo = i === 0 ? 0 : h.le[i - 1]!;
      if (!Number.isFinite(hi)) {
        return lo; // in the +Inf bucket: all we know is "more than the largest bound"
      }
      const below = i === 0 ? 0 : h.counts[i - 1]!;
      const inBucket = h.counts[i]! - below;
      return inBucket > 0 ? lo + ((hi - lo) * (rank - below)) / inBucket : hi;
    }
  }
  return undefined;
}

/** Least-squares line y = a + b·x; undefined with fewer than two distinct x. */
export function linearFit(points: readonly { x: number; y: number }[]): { a: number; b: number } | undefined {
  const n = points.length;
  if (n < 2) {
    return undefined;
  }
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) {
    return undefined;
  }
  const b = sxy / sxx;
  return { a: my - b * mx, b };
}
