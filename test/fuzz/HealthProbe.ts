/**
 * Polls `GET /healthz` from a worker thread while the fuzzer runs. A thread of its own matters for an
 * in-process server: a blocked event loop would also delay a poller on the same loop, which would then
 * time nothing; from the worker, the request simply waits until the server answers.
 */
import { Worker } from 'node:worker_threads';

export interface HealthStats {
  polls: number;
  /** Longest answer, ms (a poll still pending at stop counts with its age). */
  maxMs: number;
  /** Answers slower than the limit, and polls that failed (refused, non-200, timeout). */
  slow: number;
  failures: string[];
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, intervalMs, slowMs } = workerData;
const stats = { polls: 0, maxMs: 0, slow: 0, failures: [] };
let stop = false;
let pendingSince;
parentPort.on('message', () => {
  stop = true;
  if (pendingSince !== undefined) {
    const age = Date.now() - pendingSince;
    stats.maxMs = Math.max(stats.maxMs, age);
    if (age > slowMs) { stats.slow++; stats.failures.push('no answer after ' + age + ' ms at stop'); }
  }
  parentPort.postMessage(stats);
});
(async () => {
  while (!stop) {
    pendingSince = Date.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30000) });
      await res.text();
      if (res.status !== 200) { stats.failures.push('status ' + res.status); }
    } catch (err) {
      if (!stop) { stats.failures.push(String(err && err.message || err)); }
    }
    if (stop) { break; }
    const ms = Date.now() - pendingSince;
    pendingSince = undefined;
    stats.polls++;
    stats.maxMs = Math.max(stats.maxMs, ms);
    if (ms > slowMs) { stats.slow++; stats.failures.push('answer after ' + ms + ' ms'); }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
})();
`;

export class HealthProbe {
  readonly #worker: Worker;

  /** Starts polling `httpUrl/healthz` every `intervalMs`; answers over `slowMs` count as slow. */
  constructor(httpUrl: string, intervalMs = 100, slowMs = 1000) {
    this.#worker = new Worker(WORKER, {
      eval: true,
      workerData: { url: `${httpUrl.replace(/\/$/, '')}/healthz`, intervalMs, slowMs },
    });
  }

  async stop(): Promise<HealthStats> {
    const stats = new Promise<HealthStats>((resolve) => this.#worker.once('message', resolve));
    this.#worker.postMessage('stop');
    const s = await stats;
    await this.#worker.terminate();
    return s;
  }
}
