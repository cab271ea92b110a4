// Before any peer joins: is --url a Switchboard that takes clients? One clear line when it is not.
import { untrustedCertificate } from '../util/untrustedCertificate.ts';
import { LoadTestError } from './LoadTestError.ts';

/** How long the check waits for the server. */
export const PREFLIGHT_TIMEOUT_MS = 5000;

export interface Target {
  /** `http(s)://host:port` (with any path prefix), no trailing slash. */
  base: string;
  /** `ws(s)://host:port/ws`. */
  wsUrl: string;
}

/** `--url` as the HTTP base and the `/ws` URL; ws(s):// and a trailing /ws are accepted too. */
export function targetOf(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoadTestError(`--url: "${url}" is not a URL (expected e.g. http://localhost:7000)`);
  }
  const scheme = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' }[u.protocol];
  if (scheme === undefined) {
    throw new LoadTestError(`--url: expected http(s)://host:port, not ${u.protocol}//`);
  }
  u.protocol = scheme;
  u.search = '';
  u.hash = '';
  const base = u.toString().replace(/\/+$/, '').replace(/\/ws$/, '');
  return { base, wsUrl: `${base.replace(/^http/, 'ws')}/ws` };
}

/** Why a fetch failed, in words (the codes Node's fetch puts in `cause`). */
function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return `no answer within ${PREFLIGHT_TIMEOUT_MS / 1000} s`;
  }
  switch (e.cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      if (untrustedCertificate(e.cause?.code)) {
        return (
          `${e.cause?.message ?? e.cause?.code}: trust it with NODE_EXTRA_CA_CERTS=<the server's certificate> ` +
          "(a --tls-self-signed server's is <datadir>/tls/cert.pem)"
        );
      }
      return e.cause?.message ?? e.cause?.code ?? e.message ?? String(err);
  }
}

/** Checks `GET /healthz`: a Switchboard answers `{ok: true, roles: {signal: true, …}}`. */
export async function preflight(target: Target): Promise<void> {
  const url = `${target.base}/healthz`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS), redirect: 'manual' });
  } catch (err) {
    throw new LoadTestError(`cannot reach ${target.base}: ${reason(err)}`);
  }
  let body: { ok?: unknown; roles?: { signal?: unknown } } | undefined;
  try {
    body = (await res.json()) as typeof body;
  } catch {
    body = undefined;
  }
  if (res.status !== 200 || body?.ok !== true || typeof body.roles !== 'object') {
    throw new LoadTestError(
      `${target.base} is not a Switchboard (GET /healthz answered ${res.status}${body ? '' : ', not JSON'})`,
    );
  }
  if (body.roles?.signal !== true) {
    throw new LoadTestError(
      `${target.base} runs no signal role (no /ws): point --url at a node that takes clients`,
    );
  }
}
