/**
 * `switchboard token` and `switchboard room …`: operator commands. Keys come from the configuration
 * (`[auth] secret`, `[api] superserviceid` / `superservicekey`) or, when the server generated them,
 * from `<datadir>/secrets.json`.
 */
import { resolve } from 'node:path';
import { buildMAuthHeader } from '../api/mauth.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { parseDuration, parseGrantArgs, signToken } from '../protocol/tokens.ts';
import { readSecretsFile } from '../server/secrets.ts';
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

async function keys(configPath: string | undefined): Promise<Keys> {
  const config = await loadConfig(configPath);
  const datadir = resolve(config.api.datadir);
  const file = await readSecretsFile(datadir);
  return {
    config,
    datadir,
    authSecret: config.auth.secret ?? file.authSecret,
    superserviceId: config.api.superserviceid ?? file.superserviceId,
    superserviceKey: config.api.superservicekey ?? file.superserviceKey,
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
}

/** A JWT of the built-in service (HS256 with `[auth] secret`). */
export async function makeToken(o: TokenOptions): Promise<string> {
  const k = await keys(o.config);
  if (!k.authSecret) {
    throw new CliError(
      `no [auth] secret in the configuration and no secrets.json in ${k.datadir}: ` +
        'start the server once (it generates one) or set [auth] secret',
    );
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
  if (o.ion) {
    if (o.room === undefined || grants.api || grants.roomAdmin || grants.hidden || o.singleUse) {
      throw new CliError(
        '--ion needs --room and takes only canPublish / canSubscribe grants (ION tokens have no other claims)',
      );
    }
    return signIonToken({
      key: k.config.signal.jwt.key ?? k.authSecret,
      uid: o.identity,
      sid: o.room,
      publish: grants.canPublish !== false,
      subscribe: grants.canSubscribe !== false,
      ttlSeconds,
    });
  }
  return signToken({
    secret: k.authSecret,
    identity: o.identity,
    room: o.room,
    name: o.name,
    grants,
    ttlSeconds,
    issuer: k.superserviceId,
    singleUse: o.singleUse,
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

/** A REST client signed as the superservice (MAuth), for `--url` or `http://<[signal] host>:<port>`. */
export async function apiClient(o: ApiClientOptions): Promise<ApiClient> {
  const k = await keys(o.config);
  if (!k.superserviceId || !k.superserviceKey) {
    throw new CliError(
      `no superservice credentials in the configuration and no secrets.json in ${k.datadir}: ` +
        'start the server once or set [api] superserviceid and superservicekey',
    );
  }
  const host = ['0.0.0.0', '::'].includes(k.config.signal.host) ? '127.0.0.1' : k.config.signal.host;
  const base = (o.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${k.config.signal.port}`).replace(
    /\/+$/,
    '',
  );
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
      throw new CliError(`cannot reach ${base}: ${(err as Error).message}`);
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

/** Runs `room list|create|delete` against the REST API as the superservice; returns what to print. */
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
    default:
      throw new CliError(`unknown room action "${action}" (list, create, delete)`);
  }
}
