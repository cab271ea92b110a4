/**
 * The dashboard's REST client: management tokens from `/dashboard/session` (one per service the
 * signed-in operator may see), renewed before they expire, and the `/api` calls the page makes with
 * them. Answers are typed loosely on purpose: fields added on the server later (a room's `owner`, a
 * peer's `transport`) are shown when present and missed quietly when not.
 */

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

export interface LayerStats {
  rid: string;
  bitrate: number;
  packets: number;
  width: number;
  height: number;
  /** Dynacast paused it at the publisher: no subscriber wants it. */
  paused?: boolean;
  packetsLost?: number;
}

export interface TrackStats {
  trackId: string;
  streamId: string;
  kind: 'audio' | 'video';
  codec: string;
  muted: boolean;
  packets: number;
  bytes: number;
  layers: LayerStats[];
  subscribers: number;
}

export interface SubscriptionStats {
  trackId: string;
  kind: 'audio' | 'video';
  layer: number;
  targetLayer: number;
  bitrate: number;
  packetsSent: number;
  loss: number;
  nacks: number;
  retransmitted: number;
  muted: boolean;
  /** Why nothing is forwarded (subscriber, publisher, bandwidth, dynacast); null while it is. */
  paused?: string | null;
  /** From the subscriber's receiver reports, ms; null before one came. */
  rtt?: number | null;
  jitter?: number | null;
}

/** A peer connection's transport: its selected ICE pair and byte counts. */
export interface TransportStats {
  state?: string;
  /** udp or tcp. */
  protocol?: string | null;
  /** Candidate types: host, srflx, prflx, relay. */
  localType?: string | null;
  remoteType?: string | null;
  remoteAddress?: string | null;
  /** ms; null when not measured. */
  rtt?: number | null;
  bytesSent?: number;
  bytesReceived?: number;
}

export interface ParticipantStats {
  uid: string;
  name: string;
  joinedAt: number;
  node: string;
  dc?: string;
  tracks: TrackStats[];
  subscriptions: SubscriptionStats[];
  estimate: number | null;
  /** Its publisher and subscriber peer connections. */
  transport?: { publisher?: TransportStats; subscriber?: TransportStats };
}

export interface RoomStats {
  room: string;
  name: string;
  at: number;
  owner?: string | null;
  nodes: { node: string; dc?: string; answered: boolean }[];
  participants: ParticipantStats[];
}

export interface NodeInfo {
  node: string;
  dc?: string;
  peers: number;
  tracks: number;
  rooms: number;
  cpu: number;
  at: number;
  packetRate?: number;
  relays?: number;
  maxPeers?: number;
  maxPacketRate?: number;
  draining?: boolean;
  rss?: number;
  eventLoopDelayMs?: number;
  host?: string;
  owns: string[];
}

export interface RecordingInfo {
  id: string;
  room: string;
  /** The recorded participant. */
  participant: { identity: string; name: string };
  streamId?: string;
  node: string;
  /** recording, finished or failed. */
  state: string;
  format: string;
  tracks: { kind: string; codec: string }[];
  startedAt: number;
  endedAt?: number;
  size?: number;
  duration?: number;
  error?: string;
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
