/**
 * A load test that cannot go on (the URL is not a Switchboard, the server refused a token, a bad
 * option): its message is the one line `switchboard loadtest` prints before exiting 1.
 */
export class LoadTestError extends Error {
  override readonly name = 'LoadTestError';
}
