/**
 * Reading and checking the TOML configuration file.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { configSchema, defaultConfig, type Config } from './schema.ts';

/**
 * A config file that cannot be read, is not valid TOML, or does not match
 * the schema. `issues` holds one self-contained line per problem, each
 * naming the file, the dotted key path and the reason; `message` is those
 * lines joined with newlines, so printing the error is enough for a user.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: string[];

  constructor(issues: string[], options?: ErrorOptions) {
    super(issues.join('\n'), options);
    this.issues = issues;
  }
}

/** "webrtc.iceserver[0].urls": array indices in brackets so keys stay readable. */
function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** zod's messages start with a generic "Invalid input: " tag; the key path already says where. */
function reason(message: string): string {
  return message.replace(/^(Invalid input|Invalid option|Too small|Too big): /, '');
}

function issueLines(source: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    // zod reports all unknown keys of a table in one issue at the table's
    // path; split them so each line names the offending key itself.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${source}: ${keyPath([...issue.path, k])}: unknown key`);
    }
    const where = issue.path.length > 0 ? keyPath(issue.path) : '(top level)';
    return [`${source}: ${where}: ${reason(issue.message)}`];
  });
}

/**
 * Parse and validate TOML text. `source` names the file in error messages.
 * An empty document yields the full default configuration.
 * @throws ConfigError on TOML syntax errors and schema violations.
 */
export function parseConfig(tomlText: string, source = '<inline>'): Config {
  let data: unknown;
  try {
    data = parseToml(tomlText);
  } catch (err) {
    if (err instanceof TomlError) {
      // The first line of smol-toml's message is the reason; the rest is a code excerpt.
      const what = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw new ConfigError([`${source}:${err.line}:${err.column}: TOML syntax error: ${what}`], {
        cause: err,
      });
    }
    throw err;
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    throw new ConfigError(issueLines(source, result.error.issues));
  }
  return result.data;
}

/**
 * Load the config file at `path`, or the defaults when no path is given.
 * @throws ConfigError when the file cannot be read or is invalid.
 */
export async function loadConfig(path?: string): Promise<Config> {
  if (path === undefined) {
    return defaultConfig();
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new ConfigError([`${path}: cannot read config file: ${msg}`], { cause: err });
  }
  return parseConfig(text, path);
}

/**
 * Values the schema accepts (so ION configs load) but this server cannot
 * honour yet. Returns one message per problem; empty when all is supported.
 * Kept separate from the schema so callers can decide to warn or refuse.
 */
export function validateSupported(c: Config): string[] {
  const errors: string[] = [];
  if (c.webrtc.sdpsemantics !== 'unified-plan') {
    errors.push(`webrtc.sdpsemantics: ${c.webrtc.sdpsemantics} is not supported; only unified-plan`);
  }
  if (c.turn.enabled && c.turn.auth.secret === undefined && c.turn.auth.credentials === '') {
    errors.push('turn.auth: turn.enabled needs a secret or credentials (an open relay is refused)');
  }
  for (const ip of c.webrtc.candidates.nat1to1) {
    if (isIP(ip) !== 4) {
      errors.push(
        `webrtc.candidates.nat1to1: ${ip}: only IPv4 addresses are supported (media sockets are IPv4)`,
      );
    }
  }
  if (c.sfu.workers > 1) {
    // Workers are separate processes: they can only meet the other roles over NATS and Redis.
    if (!c.nats.url || c.redis.addrs.length === 0) {
      errors.push(`sfu.workers: ${c.sfu.workers} worker processes need [nats] url and [redis] addrs`);
    }
    if (c.webrtc.singleport !== undefined) {
      errors.push('sfu.workers: several worker processes cannot share webrtc.singleport; use portrange');
    }
    const range = c.webrtc.portrange;
    if (range && range[1] - range[0] + 1 < 2 * c.sfu.workers) {
      errors.push(`webrtc.portrange: ${c.sfu.workers} workers need at least two ports each`);
    }
  }
  return errors;
}

/** ION's `log.v` verbosity (0 info, 1 debug, 2 trace) takes precedence over `log.level`. */
const VERBOSITY_LEVELS = ['info', 'debug', 'trace'] as const;

/** The effective log level name (pino-compatible). */
export function logLevel(c: Config): string {
  return c.log.v === undefined ? c.log.level : (VERBOSITY_LEVELS[c.log.v] ?? 'trace');
}
