import type { Config } from '../config/index.ts';
import { parseStaticCredentials, turnRestCredentials } from './credentials.ts';

/** One entry of `RTCConfiguration.iceServers` as clients get it. */
export interface ClientIceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** `"host:port"` of `[turn] address` (IPv6 in brackets allowed). */
export function turnListenAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The hostname of an HTTP `Host` header value (`example.org:7000`, `[::1]:7000`), or undefined. */
export function hostOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) {
    return undefined;
  }
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader) ?? /^([^:]+)(?::\d+)?$/.exec(hostHeader);
  return m?.[1];
}

/**
 * Where clients reach the embedded TURN server: `[turn] address`'s host when it is not a wildcard,
 * else the first `nat1to1` address, else the host the client used to reach this HTTP server.
 */
export function turnPublicHost(config: Config, requestHost: string | undefined): string | undefined {
  const { host } = turnListenAddress(config.turn.address);
  if (!WILDCARD.has(host)) {
    return host;
  }
  return config.webrtc.candidates.nat1to1[0] ?? hostOf(requestHost);
}

/**
 * The ICE servers a client should use: every `[[webrtc.iceserver]]` entry as configured, then, with
 * `[turn] enabled`, the embedded TURN server over UDP and TCP (and TLS when a certificate is set)
 * with credentials for `identity`: time-limited REST credentials from `[turn.auth] secret`, else the
 * first static pair of `credentials`.
 */
export function clientIceServers(
  config: Config,
  identity: string,
  requestHost: string | undefined,
  nowMs = Date.now(),
): ClientIceServer[] {
  const out: ClientIceServer[] = config.webrtc.iceserver.map((s) => ({
    urls: [...s.urls],
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.credential !== undefined ? { credential: s.credential } : {}),
  }));
  const turn = config.turn;
  const host = turn.enabled ? turnPublicHost(config, requestHost) : undefined;
  if (!host) {
    return out;
  }
  const h = host.includes(':') ? `[${host}]` : host;
  const { port } = turnListenAddress(turn.address);
  const urls = [`turn:${h}:${port}?transport=udp`, `turn:${h}:${port}?transport=tcp`];
  if (turn.cert !== undefined && turn.key !== undefined) {
    urls.push(`turns:${h}:${port}?transport=tcp`);
  }
  if (turn.auth.secret !== undefined) {
    const c = turnRestCredentials(turn.auth.secret, identity, undefined, nowMs);
    out.push({ urls, username: c.username, credential: c.credential });
  } else {
    const first = parseStaticCredentials(turn.auth.credentials)[0];
    if (first) {
      out.push({ urls, username: first.username, credential: first.password });
    }
  }
  return out;
}
