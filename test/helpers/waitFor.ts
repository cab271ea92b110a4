import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this many ms. Default 15000. */
  timeout?: number;
  /** Poll interval in ms. Default 100. */
  interval?: number;
  /** What we are waiting for; goes into the timeout error. */
  what?: string;
}

/** Throw this from a `waitFor` callback to fail at once instead of polling on (e.g. the page reported an error). */
export class AbortWait extends Error {
  override name = 'AbortWait';
}

/**
 * Polls `fn` until it returns something other than `undefined` (or `false`/`null`), and resolves
 * with that value. Errors thrown by `fn` count as "not yet" (a page mid-navigation, a server still
 * starting), except `AbortWait`, which is rethrown at once. Throws on timeout, naming `what` and the
 * last error `fn` threw, if any. Tests use this instead of sleeps.
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeout = 15000, interval = 100, what = 'condition' }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    // A call that never settles (a hung page.evaluate) must not outlive the deadline either.
    const timer = new AbortController();
    const outcome = await Promise.race([
      Promise.resolve()
        .then(fn)
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
      // null = the deadline passed first
      delay(Math.max(0, deadline - Date.now()), null, { signal: timer.signal }).catch(() => null),
    ]);
    timer.abort();
    if (outcome !== null) {
      if ('error' in outcome) {
        if (outcome.error instanceof AbortWait) {
          throw outcome.error;
        }
        lastError = outcome.error;
      } else {
        const v = outcome.value;
        if (v !== undefined && v !== null && v !== false) {
          return v;
        }
        lastError = undefined;
      }
    }
    if (outcome === null || Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`, { cause: lastError });
    }
    await delay(interval);
  }
}
