/** Microseconds on CLOCK_MONOTONIC: the same clock in every process of the machine. */
export const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);
