/**
 * Active-speaker detection from RFC 6464 levels, with ion-sfu's semantics: over each interval a stream
 * is active when at least `interval × filter / 2000` of its packets (20 ms each) were at or above the
 * loudness threshold (levels are -dBov: lower is louder). Active streams are ordered by that count,
 * then by the sum of their levels (quieter sum = louder).
 */
export class AudioObserver {
  readonly #threshold: number;
  readonly #expected: number;
  readonly #streams = new Map<string, { count: number; sum: number }>();
  #last: string[] = [];

  constructor(threshold: number, intervalMs: number, filterPercent: number) {
    this.#threshold = threshold;
    this.#expected = (intervalMs * filterPercent) / 2000;
  }

  addStream(streamId: string): void {
    if (!this.#streams.has(streamId)) {
      this.#streams.set(streamId, { count: 0, sum: 0 });
    }
  }

  removeStream(streamId: string): void {
    this.#streams.delete(streamId);
  }

  observe(streamId: string, level: number): void {
    const s = this.#streams.get(streamId);
    if (s && level <= this.#threshold) {
      s.count++;
      s.sum += level;
    }
  }

  /** The loudest-first list, or undefined when it equals the previous one. Resets the interval. */
  calc(): string[] | undefined {
    const active: [string, { count: number; sum: number }][] = [];
    for (const [id, s] of this.#streams) {
      if (s.count >= this.#expected && s.count > 0) {
        active.push([id, { ...s }]);
      }
      s.count = 0;
      s.sum = 0;
    }
    active.sort((a, b) => b[1].count - a[1].count || a[1].sum - b[1].sum);
    const ids = active.map(([id]) => id);
    if (ids.length === this.#last.length && ids.every((id, i) => id === this.#last[i])) {
      return undefined;
    }
    this.#last = ids;
    return ids;
  }
}
