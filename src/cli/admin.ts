/**
 * `switchboard token` and `switchboard room …`: operator commands. Keys come, in order, from the
 * environment (`SWITCHBOARD_SECRET`, `SWITCHBOARD_SUPERSERVICE_ID` / `SWITCHBOARD_SUPERSERVICE_KEY`),
 * the configuration (`--config`: `[auth] secret`, `[api] superserviceid` / `superservicekey`) and,
 * when the server generated them, `<[api] datadir>/secrets.json` (datadir relative to the working
 * directory, as the server resolves it). The server URL: `--url`, `SWITCHBOARD_URL`, `[signal]`.
 */
import { resolve } from 'node:path';
import { buildMAuthHeader } from '../api/mauth.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { signLiveKitToken } from '../protocol/livekit.ts';
import { parseDuration, parseGrantArgs, signToken } from '../protocol/tokens.ts';
import { readSecretsFile } from '../server/secrets.ts';
import { untrustedCertificate } from '../util/untrustedCertificate.ts';
import { signIonToken } from '../signal/ion/ionAuth.ts';

export class CliError extends Error {
  override readonly name = 'CliError';
}

interface Keys {
  config: Config;
  authSecret?: string | undefined;
  superserviceId?: string | undefined;
  superserviceKey?: string | undefined;
  datadir: string;
}

/** The environment variables the operator commands read (docs/cli.md). */
export const ENV = {
  url: 'SWITCHBOARD_URL',
  secret: 'SWITCHBOARD_SECRET',
  superserviceId: 'SWITCHBOARD_SUPERSERVICE_ID',
  superserviceKey: 'SWITCHBOARD_SUPERSERVICE_KEY',
} as const;

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

async function keys(configPath: string | undefined): Promise<Keys> {
  const config = await loadConfig(configPath);
  // The server resolves a relative [api] datadir against its working directory: so does the CLI.
  const datadir = resolve(config.api.datadir);
  const authSecret = env(ENV.secret) ?? config.auth.secret;
  const superserviceId = env(ENV.superserviceId) ?? config.api.superserviceid;
  const superserviceKey = env(ENV.superserviceKey) ?? config.api.superservicekey;
  const file = authSecret && superserviceId && superserviceKey ? {} : await readSecretsFile(datadir);
  return {
    config,
    datadir,
    authSecret: authSecret ?? file.authSecret,
    superserviceId: superserviceId ?? file.superserviceId,
    superserviceKey: superserviceKey ?? file.superserviceKey,
  };
}

export interface TokenOptions {
  room?: string;
  identity: string;
  name?: string;
  grant: string[];
  ttl: string;
  config?: string;
  singleUse?: boolean;
  /** ION's token (claims uid, sid, publish, subscribe, services) for `Ion.Connector` and ION's SDKs. */
  ion?: boolean;
  /** A LiveKit access token for livekit-client (`/rtc`), signed with an API key's secret. */
  livekit?: boolean;
}

/** A JWT of the built-in service (HS256 with `[auth] secret`). */
export async function makeToken(o: TokenOptions): Promise<string> {
  const k = await keys(o.config);
  const authSecret = k.authSecret;
  const noSecret = () =>
    new CliError(
      `no token secret: set ${ENV.secret}, pass --config <the server's file> ([auth] secret or its ` +
        `[api] datadir), or run where the server's data/ is (no secrets.json in ${k.datadir})`,
    );
  if (!authSecret && !o.livekit) {
    throw noSecret(); // before the arguments: the likelier mistake
  }
  let grants;
  let ttlSeconds;
  try {
    grants = parseGrantArgs(o.grant);
    ttlSeconds = parseDuration(o.ttl);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (o.room === undefined && !grants.api) {
    throw new CliError('--room is required (or --grant api=true for a management token)');
  }
  if (o.livekit) {
    if (o.room === undefined || grants.api || o.singleUse) {
      throw new CliError('--livekit needs --room and takes no api grant nor --single-use');
    }
    return livekitToken(k, o, o.room, grants, ttlSeconds);
  }
  if (!authSecret) {
    throw noSecret();
  }
  if (o.ion) {
    if (o.room === undefined || grants.api || grants.roomAdmin || grants.hidden || o.singleUse) {
      throw new CliError(
        '--ion needs --room and takes only canPublish / canSubscribe grants (ION tokens have no other claims)',
      );
    }
    return signIonToken({
      key: k.config.signal.jwt.key ?? authSecret,
      uid: o.identity,
      sid: o.room,
      publish: grants.canPublish !== false,
      subscribe: grants.canSubscribe !== false,
      ttlSeconds,
    });
  }
  return signToken({
    secret: authSecret,
    identity: o.identity,
    room: o.room,
    name: o.name,
    grants,
    ttlSeconds,
    issuer: k.superserviceId,
    singleUse: o.singleUse,
  });
}

/**
 * A LiveKit access token signed with the first `[livekit] keys` entry, else the superservice's id and
 * key (docs/protocols/livekit.md#api-keys).
 */
async function livekitToken(
  k: Keys,
  o: TokenOptions,
  room: string,
  grants: ReturnType<typeof parseGrantArgs>,
  ttlSeconds: number,
): Promise<string> {
  const [apiKey, secret] = Object.entries(k.config.livekit.keys)[0] ?? [k.superserviceId, k.superserviceKey];
  if (!apiKey || !secret) {
    throw new CliError(
      `no LiveKit API key: set [livekit] keys in --config, or ${ENV.superserviceId} and ` +
        `${ENV.superserviceKey}, or run where the server's data/ is (no secrets.json in ${k.datadir})`,
    );
  }
  return signLiveKitToken({
    apiKey,
    secret,
    identity: o.identity,
    room,
    name: o.name,
    ttlSeconds,
    grants,
  });
}

export interface RoomOptions {
  url?: string;
  config?: string;
  json?: boolean;
  maxPeers?: number;
  password?: string;
}

interface RoomJson {
  _id: string;
  name: string;
  locked?: boolean;
  hasPassword?: boolean;
  maxPeers?: number;
}

function tlsOn(c: { signal: { cert?: string | undefined; tlsselfsigned: boolean } }): boolean {
  return c.signal.cert !== undefined || c.signal.tlsselfsigned;
}

/** A certificate Node does not trust (self-signed): how to make the CLI trust it. */
function certHint(err: unknown, datadir: string): string {
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  return untrustedCertificate(code)
    ? ` (${code}: for a self-signed certificate set NODE_EXTRA_CA_CERTS=${datadir}/tls/cert.pem)`
    : '';
}

export interface ApiClientOptions {
  url?: string;
  config?: string;
}

export interface ApiClient {
  /** The server's base URL. */
  base: string;
  /** Calls `/api<path>` as the superservice; a 4xx/5xx answer throws a CliError with the server's message. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }>;
  /** The same, with the raw Response (for downloads). */
  fetch(method: string, path: string): Promise<Response>;
}

/**
 * A REST client signed as the superservice (MAuth), for `--url` or `http(s)://<[signal] host>:<port>`
 * (https when the configuration has a certificate).
 */
export async function apiClient(o: ApiClientOptions): Promise<ApiClient> {
  const k = await keys(o.config);
  if (!k.superserviceId || !k.superserviceKey) {
    throw new CliError(
      `no superservice credentials: set ${ENV.superserviceId} and ${ENV.superserviceKey}, pass ` +
        `--config <the server's file> ([api] superserviceid / superservicekey or its [api] datadir), ` +
        `or run where the server's data/ is (no secrets.json in ${k.datadir})`,
    );
  }
  const host = ['0.0.0.0', '::'].includes(k.config.signal.host) ? '127.0.0.1' : k.config.signal.host;
  const base = (
    o.url ??
    env(ENV.url) ??
    `${tlsOn(k.config) ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${k.config.signal.port}`
  ).replace(/\/+$/, '');
  const send = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = {
      authorization: buildMAuthHeader({ serviceId: k.superserviceId!, key: k.superserviceKey! }),
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(`${base}/api${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CliError(`cannot reach ${base}: ${(err as Error).message}${certHint(err, k.datadir)}`);
    }
    if (res.status >= 400) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // plain text
      }
      throw new CliError(`${method} ${path}: ${res.status} ${message}`);
    }
    return res;
  };
  return {
    base,
    call: async (method, path, body) => {
      const res = await send(method, path, body);
      return { status: res.status, text: await res.text() };
    },
    fetch: (method, path) => send(method, path),
  };
}

interface UserJson {
  id: string;
  name: string;
  role?: string;
  host?: boolean;
  hidden?: boolean;
  joinedAt: number;
  node?: string;
  dc?: string;
  protocol?: string;
  tracks?: { kind: string; muted: boolean }[];
}

/** "42s ago", "5m ago", "3h ago", "2d ago". */
export function ago(t: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) {
    return `${s}s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ago`;
  }
  return `${Math.floor(s / 86400)}d ago`;
}

/** Columns padded to the widest cell (the last one unpadded). */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function usersTable(users: UserJson[]): string {
  if (users.length === 0) {
    return '(no participants)';
  }
  const rows = users.map((u) => [
    u.id,
    u.name,
    `${u.role ?? ''}${u.host && u.role !== 'host' ? ' (host)' : ''}${u.hidden ? ' hidden' : ''}`,
    u.protocol ?? '-',
    (u.tracks ?? []).map((t) => `${t.kind}${t.muted ? ' (muted)' : ''}`).join(', ') || '-',
    u.node === undefined ? '-' : u.dc !== undefined ? `${u.node}/${u.dc}` : u.node,
    ago(u.joinedAt),
  ]);
  return table([['UID', 'NAME', 'ROLE', 'PROTOCOL', 'TRACKS', 'NODE/REGION', 'JOINED'], ...rows]);
}

interface StatsJson {
  participants: {
    uid: string;
    node: string;
    dc?: string;
    tracks: {
      kind: string;
      codec: string;
      muted: boolean;
      layers: { rid: string; bitrate: number; width: number; height: number }[];
    }[];
    subscriptions: {
      kind: string;
      trackId: string;
      layer: number;
      targetLayer: number;
      bitrate: number;
      loss: number;
      rtt?: number | null;
      paused?: string | null;
    }[];
  }[];
}

const kbps = (bps: number): string => `${Math.round(bps / 1000)} kbit/s`;

/** One line per published track and per subscription, under its participant. */
function statsTable(s: StatsJson): string {
  if (s.participants.length === 0) {
    return '(no media)';
  }
  const rows: string[][] = [];
  for (const p of s.participants) {
    const where = p.dc !== undefined ? `${p.node}/${p.dc}` : p.node;
    for (const t of p.tracks) {
      const layers = t.layers
        .map(
          (l) =>
            `${l.rid ? `${l.rid}:` : ''}${l.width > 0 ? `${l.width}x${l.height} ` : ''}${kbps(l.bitrate)}`,
        )
        .join(', ');
      rows.push([p.uid, where, 'publishes', `${t.kind} ${t.codec}${t.muted ? ' muted' : ''}`, layers]);
    }
    for (const x of p.subscriptions) {
      const layer =
        x.kind === 'video' ? `layer ${x.layer}${x.targetLayer !== x.layer ? `→${x.targetLayer}` : ''}, ` : '';
      rows.push([
        p.uid,
        where,
        'receives',
        `${x.kind} ${x.trackId}`,
        `${layer}${kbps(x.bitrate)}, loss ${Math.round(x.loss * 100)} %` +
          (typeof x.rtt === 'number' ? `, rtt ${Math.round(x.rtt)} ms` : '') +
          (x.paused ? `, paused (${x.paused})` : ''),
      ]);
    }
  }
  return table([['UID', 'NODE/REGION', '', 'TRACK', 'FIGURES'], ...rows]);
}

/** Runs `room list|create|delete|users|stats` against the REST API as the superservice; returns what to print. */
export async function roomCommand(action: string, name: string | undefined, o: RoomOptions): Promise<string> {
  const api = await apiClient(o);
  const call = (method: string, path: string, body?: unknown) => api.call(method, path, body);
  const line = (r: RoomJson): string =>
    [
      r._id,
      r.name,
      r.locked ? 'locked' : '',
      r.hasPassword ? 'password' : '',
      r.maxPeers ? `max ${r.maxPeers}` : '',
    ]
      .filter((s) => s !== '')
      .join('  ');

  switch (action) {
    case 'list': {
      const rooms = JSON.parse((await call('GET', '/rooms')).text) as RoomJson[];
      if (o.json) {
        return JSON.stringify(rooms, null, 2);
      }
      return rooms.length === 0 ? '(no rooms)' : rooms.map(line).join('\n');
    }
    case 'create': {
      if (!name) {
        throw new CliError('room create needs a name');
      }
      const options: Record<string, unknown> = {};
      if (o.maxPeers !== undefined) {
        options.maxPeers = o.maxPeers;
      }
      if (o.password !== undefined) {
        options.password = o.password;
      }
      const room = JSON.parse((await call('POST', '/rooms', { name, options })).text) as RoomJson;
      return o.json ? JSON.stringify(room, null, 2) : line(room);
    }
    case 'delete': {
      if (!name) {
        throw new CliError('room delete needs a room name or id');
      }
      return (await call('DELETE', `/rooms/${encodeURIComponent(name)}`)).text;
    }
    case 'users': {
      if (!name) {
        throw new CliError('room users needs a room name or id');
      }
      const users = JSON.parse(
        (await call('GET', `/rooms/${encodeURIComponent(name)}/users`)).text,
      ) as UserJson[];
      return o.json ? JSON.stringify(users, null, 2) : usersTable(users);
    }
    case 'stats': {
      if (!name) {
        throw new CliError('room stats needs a room name or id');
      }
      const stats = JSON.parse(
        (await call('GET', `/rooms/${encodeURIComponent(name)}/stats`)).text,
      ) as StatsJson;
      return o.json ? JSON.stringify(stats, null, 2) : statsTable(stats);
    }
    default:
      throw new CliError(`unknown room action "${action}" (list, create, delete, users, stats)`);
  }
}
