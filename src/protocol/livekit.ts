/**
 * LiveKit's protocol as Switchboard serves it (shared/reference/livekit-protocol.md): the ids clients
 * see, access tokens, and what the LiveKit front of the signal role forwards to media nodes. The wire
 * messages themselves are `@livekit/protocol`'s generated classes, never written by hand here.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import type { Store } from '../backbone/index.ts';
import { getService } from './records.ts';
import { mediaGrantsSchema } from './tokens.ts';
import { SwitchboardError } from '../util/errors.ts';

/**
 * `server_info.version` of our JoinResponse: livekit-client gates features on it (RPC needs ≥ 1.8.0;
 * above 1.13.6 it would publish SVC codecs we do not forward; 0.15.1 turns dynacast off).
 */
export const LIVEKIT_SERVER_VERSION = '1.9.0';
/** The signalling protocol version we speak (livekit-client 2.23 sends `protocol=17`). */
export const LIVEKIT_PROTOCOL = 16;

/** Data channel labels of LiveKit clients: ordered + reliable, and unordered without retransmits. */
export const LIVEKIT_RELIABLE = '_reliable';
export const LIVEKIT_LOSSY = '_lossy';
export const LIVEKIT_CHANNELS = [LIVEKIT_RELIABLE, LIVEKIT_LOSSY] as const;

/**
 * The notification a media node sends a LiveKit peer's signal connection with the room's audio levels
 * (stream ids, loudest first; `[]` when nobody speaks): LiveKit clients get `speakers_changed` over
 * signalling, not on a data channel as ion-sfu's do.
 */
export const LIVEKIT_LEVELS_NOTIFICATION = 'audioLevels';

/** 12 hex digits of a SHA-256: stable across processes, so every signal instance names alike. */
function short(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);
}

/** LiveKit ids of Switchboard's names: the same on every signal instance, for every client. */
export const livekitSid = {
  room: (room: string) => `RM_${short('room', room)}`,
  /** `room`: the room's id (what media nodes know it by), not its name. */
  participant: (room: string, uid: string) => `PA_${short('participant', room, uid)}`,
  /** A track's id is its publisher's MediaStreamTrack id (msid), unique in a room. */
  track: (trackId: string) => `TR_${short('track', trackId)}`,
};

// ---- access tokens -----------------------------------------------------------------------------------

/** LiveKit's `video` grant (auth/grants.go), camelCase as livekit-server-sdk writes it. */
export const videoGrant = z
  .object({
    roomCreate: z.boolean().optional(),
    roomJoin: z.boolean().optional(),
    roomList: z.boolean().optional(),
    roomRecord: z.boolean().optional(),
    roomAdmin: z.boolean().optional(),
    room: z.string().max(256).optional(),
    ingressAdmin: z.boolean().optional(),
    canPublish: z.boolean().optional(),
    canPublishSources: z.array(z.string().max(64)).max(16).optional(),
    canSubscribe: z.boolean().optional(),
    canPublishData: z.boolean().optional(),
    canUpdateOwnMetadata: z.boolean().optional(),
    hidden: z.boolean().optional(),
    recorder: z.boolean().optional(),
    agent: z.boolean().optional(),
    destinationRoom: z.string().max(256).optional(),
  })
  .loose();
export type VideoGrant = z.infer<typeof videoGrant>;

const livekitClaims = z
  .object({
    iss: z.string().min(1).max(256),
    sub: z.string().min(1).max(256).optional(),
    jti: z.string().max(256).optional(),
    exp: z.number(),
    name: z.string().max(256).optional(),
    metadata: z
      .string()
      .max(64 * 1024)
      .optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    kind: z.string().max(64).optional(),
    video: videoGrant.optional(),
  })
  .loose();

/** A verified LiveKit access token. */
export interface LiveKitToken {
  /** The API key that signed it (`iss`). */
  apiKey: string;
  /** The Switchboard service its rooms belong to. */
  service: string;
  /** `sub` (old tokens: `jti`); may be empty for server-API tokens. */
  identity: string;
  name: string | undefined;
  metadata: string;
  attributes: Record<string, string>;
  video: VideoGrant;
  /** Seconds since the epoch. */
  exp: number;
}

/** Where an API key's secret comes from: `[livekit] keys`, else a service of that id. */
export type LiveKitSecretLookup = (
  apiKey: string,
) => Promise<{ secret: string; service: string } | undefined>;

/**
 * API keys: `[livekit] keys` (their rooms are the superservice's), else a service whose id is the key
 * and whose key is the secret (the superservice's own out of the box).
 */
export function livekitSecrets(o: {
  keys: Readonly<Record<string, string>>;
  store: Store;
  cluster: string;
  superserviceId: string;
}): LiveKitSecretLookup {
  return async (apiKey) => {
    const secret = Object.hasOwn(o.keys, apiKey) ? o.keys[apiKey] : undefined;
    if (secret !== undefined) {
      return { secret, service: o.superserviceId };
    }
    const s = await getService(o.store, o.cluster, apiKey);
    return s ? { secret: s.key, service: s.id } : undefined;
  };
}

function unauthorized(message: string): never {
  throw new SwitchboardError('unauthorized', message);
}

/**
 * Verifies a LiveKit access token: HS256 with its API key's secret, `exp` required, `exp` / `nbf` with
 * 10 s of tolerance for clock skew. Errors are SwitchboardErrors `unauthorized` with a client message.
 */
export async function verifyLiveKitToken(
  token: string,
  secretOf: LiveKitSecretLookup,
): Promise<LiveKitToken> {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    unauthorized('invalid token: not a JWT');
  }
  if (typeof iss !== 'string' || iss === '') {
    unauthorized('invalid token: no issuer (API key)');
  }
  const key = await secretOf(iss);
  if (!key) {
    unauthorized('invalid token: unknown API key');
  }
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(key.secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      clockTolerance: 10,
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') {
      unauthorized('token expired');
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      unauthorized('invalid token signature');
    }
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      unauthorized(`invalid token: ${(err as Error).message}`);
    }
    unauthorized('invalid token');
  }
  const c = livekitClaims.safeParse(payload);
  if (!c.success) {
    const i = c.error.issues[0];
    unauthorized(`invalid token: ${i ? `${i.path.join('.')}: ${i.message}` : 'bad claims'}`);
  }
  return {
    apiKey: c.data.iss,
    service: key.service,
    identity: c.data.sub ?? c.data.jti ?? '',
    name: c.data.name,
    metadata: c.data.metadata ?? '',
    attributes: c.data.attributes ?? {},
    video: c.data.video ?? {},
    exp: c.data.exp,
  };
}

/**
 * A LiveKit access token, as livekit-server-sdk's AccessToken makes it (HS256, `iss` = API key, `sub` =
 * identity, a `video` grant for `room`); grants left undefined keep LiveKit's defaults.
 */
export function signLiveKitToken(o: {
  apiKey: string;
  secret: string;
  identity: string;
  room: string;
  name?: string | undefined;
  ttlSeconds: number;
  grants: Pick<VideoGrant, 'canPublish' | 'canSubscribe' | 'canPublishData' | 'roomAdmin' | 'hidden'>;
}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const g = o.grants;
  return new SignJWT({
    ...(o.name !== undefined ? { name: o.name } : {}),
    video: {
      roomJoin: true,
      room: o.room,
      ...(g.canPublish !== undefined ? { canPublish: g.canPublish } : {}),
      ...(g.canSubscribe !== undefined ? { canSubscribe: g.canSubscribe } : {}),
      ...(g.canPublishData !== undefined ? { canPublishData: g.canPublishData } : {}),
      ...(g.roomAdmin ? { roomAdmin: true } : {}),
      ...(g.hidden ? { hidden: true } : {}),
    },
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(o.apiKey)
    .setSubject(o.identity)
    .setNotBefore(now)
    .setExpirationTime(now + o.ttlSeconds)
    .sign(new TextEncoder().encode(o.secret));
}

/** Switchboard's grants of a LiveKit `video` grant, with LiveKit's defaults (auth/grants.go). */
export function grantsOfVideo(v: VideoGrant): {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  roomAdmin: boolean;
  hidden: boolean;
} {
  const canPublish = v.canPublish ?? true;
  return {
    canPublish,
    canSubscribe: v.canSubscribe ?? true,
    canPublishData: v.canPublishData ?? canPublish,
    roomAdmin: v.roomAdmin ?? false,
    hidden: v.hidden ?? false,
  };
}

// ---- what travels to the media node -------------------------------------------------------------------

/**
 * A LiveKit participant's join, as the LiveKit front forwards it to the media node: no offer (its
 * subscriber PC is offered first, its publisher PC is negotiated when it publishes), its grants, and
 * whether it receives every track or only those it subscribes to.
 */
export const livekitPeerJoin = z.object({
  sid: z.string().min(1).max(256),
  uid: z.string().min(1).max(256),
  name: z.string().max(256).optional(),
  grants: mediaGrantsSchema.optional(),
  livekit: z.object({ autoSubscribe: z.boolean() }).strict(),
});
export type LiveKitPeerJoin = z.infer<typeof livekitPeerJoin>;

/**
 * What a LiveKit member keeps in its member record's `info` (so every signal instance can tell the
 * room's LiveKit clients): the token's metadata and attributes, and what its `add_track` said of each
 * track it publishes (by MediaStreamTrack id). Other members' `info` is theirs.
 */
export const livekitMemberInfo = z.object({
  livekit: z
    .object({
      metadata: z.string().max(4096).optional(),
      attributes: z.record(z.string().max(256), z.string().max(1024)).optional(),
      tracks: z
        .record(
          z.string().max(256),
          z.object({
            name: z.string().max(256).optional(),
            /** `@livekit/protocol` TrackSource number. */
            source: z.number().int().min(0).max(16).optional(),
            width: z.number().int().min(0).max(16384).optional(),
            height: z.number().int().min(0).max(16384).optional(),
          }),
        )
        .optional(),
    })
    .loose(),
});
export type LiveKitMemberInfo = z.infer<typeof livekitMemberInfo>;
