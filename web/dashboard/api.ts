/**
 * The dashboard's REST client: management tokens from `/dashboard/session` (one per service the
 * signed-in operator may see), renewed before they expire, and the `/api` calls the page makes with
 * them. The answers' types are the server's own (type-only imports, nothing of the server is bundled),
 * so a renamed field fails the typecheck rather than the page.
 */
import type { SubscriptionStats, TrackStats, ParticipantMediaStats } from '../../src/media/stats.ts';
import type { TransportStats } from '../../src/media/werift.ts';
import type { NodeLoad } from '../../src/protocol/cluster.ts';
import type { RecordingInfo } from '../../src/protocol/recording.ts';

export type { RecordingInfo, SubscriptionStats, TrackStats, TransportStats };

export interface ServiceToken {
  service: string;
  name: string;
  superservice: boolean;
  token: string;
}

interface SessionAnswer {
  expiresAt: number;
  services: ServiceToken[];
}

export interface RoomInfo {
  _id: string;
  name: string;
  locked?: boolean;
  hasPassword?: boolean;
  maxPeers?: number;
  description?: string;
}

export interface UserInfo {
  id: string;
  name: string;
  role?: string;
  host?: boolean;
  node?: string;
  dc?: string;
  joinedAt?: number;
  /** The signalling protocol it joined with (jsonrpc, licode, ion, whip, …). */
  protocol?: string;
}

/** A participant's media figures as `/stats` answers them: the media node's, with its node and region. */
export interface ParticipantStats extends ParticipantMediaStats {
  node: string;
  dc?: string;
}

export interface RoomStats {
  room: string;
  name: string;
  at: number;
  /** The node holding the room's lease; null when none does. */
  owner: string | null;
  nodes: { node: string; dc?: string; answered: boolean }[];
  participants: ParticipantStats[];
}

/** A media node's last heartbeat and the rooms it owns (`GET /api/nodes`). */
export interface NodeInfo extends NodeLoad {
  owns: string[];
}

/** A failed call, with the server's own words when it sent some. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Renew the tokens this long before they expire. */
const RENEW_BEFORE_S = 60;

async function messageOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '') {
      return m;
    }
  } catch {
    // not JSON: the text itself
  }
  return text.trim().slice(0, 300) || `${res.status} ${res.statusText}`;
}

/** Wraps fetch's own failures (server gone, network down) in plain words. */
async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'the server does not answer (is it running, is the network up?)');
  }
}

export class Api {
  #session: SessionAnswer | undefined;
  #renewing: Promise<SessionAnswer> | undefined;

  /** The services the operator may see, with fresh tokens. */
  async services(): Promise<ServiceToken[]> {
    return (await this.#fresh()).services;
  }

  async #fresh(): Promise<SessionAnswer> {
    const s = this.#session;
    if (s && s.expiresAt - Date.now() / 1000 > RENEW_BEFORE_S) {
      return s;
    }
    this.#renewing ??= (async () => {
      try {
        const res = await send('/dashboard/session', {});
        if (res.status === 401) {
          throw new ApiError(
            401,
            'your sign-in has expired or was refused: reload the page to sign in again',
          );
        }
        if (!res.ok) {
          throw new ApiError(res.status, await messageOf(res));
        }
        this.#session = (await res.json()) as SessionAnswer;
        return this.#session;
      } finally {
        this.#renewing = undefined;
      }
    })();
    return this.#renewing;
  }

  /** One `/api` call as `service`; a 401 (token just expired) renews the session once and retries. */
  async call<T>(service: string, method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const s = await this.#fresh();
      const token = s.services.find((x) => x.service === service)?.token;
      if (token === undefined) {
        throw new ApiError(403, `no access to service ${service}`);
      }
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
      }
      const res = await send(`/api${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      if (res.status === 401 && attempt === 0) {
        this.#session = undefined;
        continue;
      }
      if (!res.ok) {
        throw new ApiError(res.status, await messageOf(res));
      }
      const type = res.headers.get('content-type') ?? '';
      return (type.includes('json') ? await res.json() : await res.text()) as T;
    }
  }
}

/** `/api/rooms/{room}…` with the room's id escaped. */
export function roomPath(room: string, rest = ''): string {
  return `/rooms/${encodeURIComponent(room)}${rest}`;
}
