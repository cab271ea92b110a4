/**
 * Access tokens: what the api role (and `switchboard token`) issues and the signal role verifies.
 *
 * - JWT, HS256 (jose). Claims: `sub` = identity, `name`, `room`, `grants` {canPublish, canSubscribe,
 *   canPublishData, roomAdmin, hidden, api}, `exp` (required), optional `iss` (service id; absent or the
 *   superservice id = the built-in service, whose key is `[auth] secret`) and `jti` (single use).
 * - Licode's token (reference/licode.md §2): base64(JSON {tokenId, host, secure, signature}) with
 *   signature = base64(hex(HMAC-SHA1(superserviceKey, "tokenId,host"))); the token document itself is
 *   kept in the Store and consumed on first use.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { dict } from '../util/dict.ts';
import { SwitchboardError } from '../util/errors.ts';

/** What a token lets its bearer do. Defaults: publish, subscribe and data allowed; not admin, not hidden. */
export const grantsSchema = z
  .object({
    /** May send audio/video (publisher offers with send tracks). Default true. */
    canPublish: z.boolean().default(true),
    /** Receives the other participants' tracks. Default true. */
    canSubscribe: z.boolean().default(true),
    /** Own data channels are fanned out; may send `room.message`. Default true. */
    canPublishData: z.boolean().default(true),
    /** Host of the room: lock, password, max peers, kick, mute others, end. Default false. */
    roomAdmin: z.boolean().default(false),
    /** Not listed in rosters and peer lists. Default false. */
    hidden: z.boolean().default(false),
    /** A management token: accepted as a bearer token on `/api` (not for joining). Default false. */
    api: z.boolean().default(false),
  })
  .strict();
export type GrantFlags = z.infer<typeof grantsSchema>;
export const GRANT_NAMES = Object.keys(grantsSchema.shape) as (keyof GrantFlags)[];

/**
 * Overrides of some grants (on top of a role's): only the flags named are set. Not
 * `grantsSchema.partial()`: zod keeps each `.default()` under `.partial()`, so every flag left out would
 * come back with its default and overwrite the role's (a viewer's `canPublish: false`, a host's
 * `roomAdmin: true`).
 */
export const grantOverridesSchema = z
  .object({
    canPublish: z.boolean().optional(),
    canSubscribe: z.boolean().optional(),
    canPublishData: z.boolean().optional(),
    roomAdmin: z.boolean().optional(),
    hidden: z.boolean().optional(),
    api: z.boolean().optional(),
  })
  .strict();
export type GrantOverrides = z.infer<typeof grantOverridesSchema>;

/** `base` with the flags `overrides` names (and only those) replaced. */
export function applyGrantOverrides(
  base: Partial<GrantFlags>,
  overrides: GrantOverrides | undefined,
): Partial<GrantFlags> {
  const out: Partial<GrantFlags> = { ...base };
  for (const name of GRANT_NAMES) {
    const v = overrides?.[name];
    if (v !== undefined) {
      out[name] = v;
    }
  }
  return out;
}

const idClaim = z.string().min(1).max(256);

export const claimsSchema = z
  .object({
    sub: idClaim,
    name: z.string().max(256).optional(),
    room: idClaim.optional(),
    grants: grantsSchema.prefault({}),
    exp: z.number().int(),
    iat: z.number().optional(),
    nbf: z.number().optional(),
    iss: z.string().max(256).optional(),
    jti: z.string().max(256).optional(),
  })
  .loose();
export type TokenClaims = z.infer<typeof claimsSchema>;

/** The verified outcome of a token, whatever its format. `service` is the issuing service's id. */
export interface Grants extends GrantFlags {
  identity: string;
  name?: string | undefined;
  room?: string | undefined;
  /** Expiry, seconds since the epoch. */
  exp: number;
  service: string;
  jti?: string | undefined;
  /** Licode role when the token came from Nuve's `/tokens` (presenter, viewer, …). */
  role?: string | undefined;
}

/** The subset of grants the media node enforces; travels with the forwarded `join`. */
export const mediaGrantsSchema = z.object({
  canPublish: z.boolean(),
  canSubscribe: z.boolean(),
  canPublishData: z.boolean(),
  hidden: z.boolean(),
  /** May record (`startRecorder` / `stopRecorder`); absent = false. */
  roomAdmin: z.boolean().optional(),
});
export type MediaGrants = z.infer<typeof mediaGrantsSchema>;
export const ALL_MEDIA_GRANTS: MediaGrants = {
  canPublish: true,
  canSubscribe: true,
  canPublishData: true,
  hidden: false,
};

function fail(code: 'unauthorized' | 'forbidden' | 'invalid-params', message: string): never {
  throw new SwitchboardError(code, message);
}

function keyBytes(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export interface SignOptions {
  secret: string;
  identity: string;
  room?: string | undefined;
  name?: string | undefined;
  grants?: Partial<GrantFlags> | undefined;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** The issuing service's id; omit for the built-in service. */
  issuer?: string | undefined;
  /** A random `jti`: the signal role accepts the token once. */
  singleUse?: boolean | undefined;
  /** For tests: the issue time, seconds since the epoch. Default now. */
  now?: number | undefined;
}

/** Signs a token (HS256). */
export async function signToken(o: SignOptions): Promise<string> {
  if (!Number.isFinite(o.ttlSeconds) || o.ttlSeconds <= 0) {
    throw new TypeError('ttlSeconds must be positive');
  }
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { grants: grantsSchema.parse(o.grants ?? {}) };
  if (o.room !== undefined) {
    payload.room = o.room;
  }
  if (o.name !== undefined) {
    payload.name = o.name;
  }
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.identity)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(o.ttlSeconds));
  if (o.issuer !== undefined) {
    jwt.setIssuer(o.issuer);
  }
  if (o.singleUse) {
    jwt.setJti(randomUUID());
  }
  return jwt.sign(keyBytes(o.secret));
}

/** Three base64url parts: a JWT (a Licode token is one base64 string with no dots). */
export function isJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** The `iss` of a JWT without verifying it (to pick the key); undefined when unreadable. */
export function peekIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a JWT with `secret` and returns its grants. Throws SwitchboardError `unauthorized` with a
 * message naming the reason: "token expired", "invalid token signature", "malformed token", … .
 */
export async function verifyToken(
  token: string,
  secret: string,
  service: string,
  nowSeconds?: number,
): Promise<Grants> {
  let payload: unknown;
  try {
    const opts = nowSeconds === undefined ? {} : { currentDate: new Date(nowSeconds * 1000) };
    ({ payload } = await jwtVerify(token, keyBytes(secret), { algorithms: ['HS256'], ...opts }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      fail('unauthorized', 'token expired');
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      fail('unauthorized', 'invalid token signature');
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      fail('unauthorized', `invalid token: ${err.message}`);
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) {
      fail('unauthorized', 'invalid token: only HS256 is accepted');
    }
    fail('unauthorized', 'malformed token');
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    const first = claims.error.issues[0];
    const where = first?.path.join('.') || 'claims';
    fail('unauthorized', `invalid token: ${where}: ${first?.message ?? 'bad claims'}`);
  }
  const c = claims.data;
  return {
    ...c.grants,
    identity: c.sub,
    name: c.name,
    room: c.room,
    exp: c.exp,
    service,
    jti: c.jti,
  };
}

// ---- Licode tokens ------------------------------------------------------------------------------------

export interface LicodeToken {
  tokenId: string;
  host: string;
  secure: boolean;
  signature: string;
}

/** base64(hex(HMAC-SHA1(key, text))), Licode's signature shape (MAuth and tokens). */
export function licodeHmac(key: string, text: string): string {
  return Buffer.from(createHmac('sha1', key).update(text).digest('hex'), 'utf8').toString('base64');
}

export function licodeTokenSignature(superserviceKey: string, tokenId: string, host: string): string {
  return licodeHmac(superserviceKey, `${tokenId},${host}`);
}

/** The client string Nuve returns from `POST /rooms/:room/tokens`. */
export function encodeLicodeToken(
  t: { tokenId: string; host: string; secure: boolean },
  superserviceKey: string,
): string {
  const body: LicodeToken = { ...t, signature: licodeTokenSignature(superserviceKey, t.tokenId, t.host) };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
}

/** A token string from its four parts, as erizo.js sends them in its socket.io query. */
export function encodeLicodeTokenParts(t: LicodeToken): string {
  return Buffer.from(JSON.stringify(t), 'utf8').toString('base64');
}

const licodeTokenSchema = z.object({
  tokenId: z.string().min(1).max(128),
  host: z.string().max(512),
  secure: z.boolean().optional().default(false),
  signature: z.string().min(1).max(512),
});

/** Parses a Licode token string; undefined when it is not one. */
export function decodeLicodeToken(s: string): LicodeToken | undefined {
  if (s.length > 4096 || !/^[A-Za-z0-9+/=]+$/.test(s)) {
    return undefined;
  }
  try {
    const r = licodeTokenSchema.safeParse(JSON.parse(Buffer.from(s, 'base64').toString('utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Licode's roles (`erizoController.roles`) as grants; `host` is ours (roomAdmin). */
export const LICODE_ROLES: Record<string, Partial<GrantFlags>> = dict(
  Object.entries({
    presenter: {},
    viewer: { canPublish: false, canPublishData: false },
    viewerWithData: { canPublish: false },
    host: { roomAdmin: true },
  }),
); // looked up by a client's role name

/** Unconsumed Licode tokens are valid this long (Nuve purges them after 3 minutes). */
export const LICODE_TOKEN_TTL_MS = 3 * 60 * 1000;

/** What the Store keeps for a Licode token until it is used (Nuve's token document). */
export const licodeTokenDoc = z.object({
  tokenId: z.string(),
  room: z.string(),
  userName: z.string(),
  role: z.string(),
  service: z.string(),
  host: z.string(),
  secure: z.boolean(),
  creationDate: z.number(),
});
export type LicodeTokenDoc = z.infer<typeof licodeTokenDoc>;

// ---- CLI helpers -------------------------------------------------------------------------------------

/** "1h", "30m", "45s", "2d" or a plain number of seconds → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) {
    throw new TypeError(`bad duration "${text}" (expected e.g. 90, 30s, 15m, 1h, 2d)`);
  }
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (n <= 0) {
    throw new TypeError(`bad duration "${text}": must be positive`);
  }
  return Math.ceil(n);
}

/** `["canPublish=false", "roomAdmin"]` → `{canPublish: false, roomAdmin: true}`; unknown names throw. */
export function parseGrantArgs(args: readonly string[]): Partial<GrantFlags> {
  const out: Partial<GrantFlags> = {};
  for (const a of args) {
    const [name = '', value = 'true', ...rest] = a.split('=');
    if (rest.length > 0) {
      throw new TypeError(`bad grant "${a}" (expected name=true|false)`);
    }
    const key = GRANT_NAMES.find((g) => g.toLowerCase() === name.trim().toLowerCase());
    if (!key) {
      throw new TypeError(`unknown grant "${name}" (known: ${GRANT_NAMES.join(', ')})`);
    }
    const v = value.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') {
      throw new TypeError(`bad grant value "${a}" (expected true or false)`);
    }
    out[key] = v === 'true';
  }
  return out;
}
