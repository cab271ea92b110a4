// `switchboard loadtest`'s options as commander parses them, and the caps that keep a run bounded.
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../protocol/tokens.ts';

/** Caps that keep one run bounded: peers per process, seconds measured, bitrate. */
export const MAX_PEERS = 500;
export const MAX_DURATION_S = 3600;
export const MAX_BITRATE = 50_000_000;

export interface LoadtestCliOptions {
  url?: string;
  rooms: number;
  publishers: number;
  subscribers: number;
  videoBitrate: number;
  simulcast?: boolean;
  audioOnly?: boolean;
  duration: number;
  token?: string;
  secret?: string;
  json?: boolean;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PEERS) {
    throw new InvalidArgumentError(`expected a whole number 0..${MAX_PEERS}`);
  }
  return n;
}

/** "500k", "1.5M", "800000" (bit/s) → bit/s. */
export function parseBitrate(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)(?:bps|bit\/s)?$/.exec(value.trim());
  const n = m ? Math.round(Number(m[1]) * ({ k: 1e3, m: 1e6 }[m[2]!.toLowerCase()] ?? 1)) : NaN;
  if (!(n >= 10_000 && n <= MAX_BITRATE)) {
    throw new InvalidArgumentError(
      `expected a bitrate from 10k to ${MAX_BITRATE / 1e6}M bit/s (e.g. 500k, 1.5M)`,
    );
  }
  return n;
}

export function parseSeconds(value: string): number {
  let s: number;
  try {
    s = parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (s > MAX_DURATION_S) {
    throw new InvalidArgumentError(`at most ${MAX_DURATION_S / 60} minutes`);
  }
  return s;
}
