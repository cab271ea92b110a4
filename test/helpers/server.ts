// Starts an in-process Switchboard on 127.0.0.1, port 0, quiet logs (STYLE.md §6: each test its own server).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/index.ts';
import { Switchboard } from '../../src/server/Switchboard.ts';

export type SwitchboardConfig = ReturnType<typeof defaultConfig>;
export type RunningSwitchboard = Awaited<ReturnType<typeof Switchboard.start>>;

export async function startSwitchboard(
  configure?: (cfg: SwitchboardConfig) => void,
): Promise<RunningSwitchboard> {
  const cfg = defaultConfig();
  cfg.signal.port = 0;
  cfg.signal.host = '127.0.0.1';
  cfg.log.level = 'warn';
  // A data folder of its own (the embedded Store's snapshot, generated secrets), removed on close
  // unless the test chose one (a restart test reuses it).
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  cfg.api.datadir = dir;
  configure?.(cfg);
  const sb = await Switchboard.start(cfg).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const close = sb.close.bind(sb);
  sb.close = async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  };
  return sb;
}

/** GET `/metrics` and return the Prometheus text; throws on a non-200 answer. */
export async function fetchMetrics(sb: { url: string }): Promise<string> {
  const res = await fetch(`${sb.url}/metrics`);
  if (res.status !== 200) {
    throw new Error(`/metrics answered ${res.status}`);
  }
  return res.text();
}

/**
 * The value of metric `name` in Prometheus text, summed over its label sets (those that have every
 * label of `labels`, when given); `undefined` when no such sample is present.
 */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m?.[1] === name && m[3] !== undefined) {
      const set = (m[2] ?? '').split(',');
      if (wanted.every((l) => set.includes(l))) {
        found = true;
        sum += Number(m[3]);
      }
    }
  }
  return found ? sum : undefined;
}
