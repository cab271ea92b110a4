/**
 * Tokens on ION's services (the `authorization` metadata, raw as ION's signal takes it, or `Bearer …`):
 * - ION's own JWT (HS256; claims `uid`, `sid`, `publish`, `subscribe`, `services`; pkg/auth/claims.go),
 *   signed with `[signal.jwt] key` or `[auth] secret`. Unlike ION, the token must expire and its `sid`
 *   and `uid` must be the ones joined. Grants: canPublish = publish, canSubscribe = subscribe, data and
 *   messages allowed, never roomAdmin.
 * - Switchboard's JWT (claims `sub`, `room`, `grants`), checked by the Authenticator as on `/ws`; it
 *   opens every ION service.
 * As ION's signal does, the token and its `services` are checked when the stream starts (a refusal is
 * the gRPC status UNAUTHENTICATED), the room and identity when the client joins.
 */
import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { grantsSchema, isJwt } from '../../protocol/tokens.ts';
import { SwitchboardError } from '../../util/errors.ts';
import type { Authenticator, JoinIdentity } from '../Authenticator.ts';
import { GrpcError, Status } from './GrpcCall.ts';

const ionClaims = z
  .object({
    uid: z.string().min(1).max(256),
    sid: z.string().max(256).default(''),
    publish: z.boolean().default(false),
    subscribe: z.boolean().default(false),
    services: z.array(z.string().max(64)).max(16).default([]),
    exp: z.number().int(),
  })
  .loose();
type IonClaims = z.infer<typeof ionClaims>;

/** A token verified when its stream started, used again when the client joins. */
export type IonToken = { kind: 'ion'; claims: IonClaims } | { kind: 'switchboard'; token: string };

export interface IonAuthOptions {
  auth: Authenticator;
  /** HS256 key of ION tokens. */
  ionKey: string;
  /** Joins without a token (`[auth] anonymous` and not `[signal.jwt] enabled`). */
  anonymous: boolean;
  /** The built-in service: ION tokens' rooms belong to it. */
  superserviceId: string;
}

function unauthenticated(message: string): never {
  throw new GrpcError(Status.UNAUTHENTICATED, message);
}

/** The token of a call's metadata (`authorization`, raw or after `Bearer`). */
export function metadataToken(metadata: ReadonlyMap<string, string>): string | undefined {
  const raw = metadata.get('authorization')?.trim();
  if (raw === undefined || raw === '') {
    return undefined;
  }
  return /^bearer\s+/i.test(raw) ? raw.replace(/^bearer\s+/i, '') : raw;
}

export class IonAuth {
  readonly #o: IonAuthOptions;

  constructor(o: IonAuthOptions) {
    this.#o = o;
  }

  /**
   * At stream start: the token's signature and expiry, and that it opens `service` (`rtc`, `room`).
   * Undefined: no token, anonymous joins allowed. Throws GrpcError UNAUTHENTICATED.
   */
  async check(
    metadata: ReadonlyMap<string, string>,
    service: string,
    path: string,
  ): Promise<IonToken | undefined> {
    const token = metadataToken(metadata);
    if (token === undefined) {
      if (!this.#o.anonymous) {
        unauthenticated('valid JWT token required (authorization metadata)');
      }
      return undefined;
    }
    if (!isJwt(token)) {
      unauthenticated('malformed token: not a JWT');
    }
    if (!isIonToken(token)) {
      try {
        await this.#o.auth.identify(token, undefined);
      } catch (err) {
        unauthenticated(err instanceof Error ? err.message : 'invalid token');
      }
      return { kind: 'switchboard', token };
    }
    const claims = await this.#verifyIon(token);
    if (!claims.services.includes(service)) {
      // ION's own words (pkg/node/signal/signal.go).
      unauthenticated(`Service ${path} access denied!`);
    }
    return { kind: 'ion', claims };
  }

  /**
   * At join: the identity for room `sid` as `uid`. Throws SwitchboardError `forbidden` /
   * `unauthorized` (a token for another room or uid, a spent single-use token).
   */
  async authorize(token: IonToken | undefined, sid: string, uid: string): Promise<JoinIdentity> {
    if (token === undefined || token.kind === 'switchboard') {
      const ident = await this.#o.auth.authorize(token?.token, sid, uid === '' ? undefined : uid);
      if (!ident.anonymous && uid !== '' && uid !== ident.identity) {
        await ident.release?.();
        throw new SwitchboardError('forbidden', `token is for uid "${ident.identity}", not "${uid}"`);
      }
      return ident;
    }
    const c = token.claims;
    if (c.exp * 1000 <= Date.now()) {
      throw new SwitchboardError('unauthorized', 'token expired');
    }
    if (c.sid === '') {
      throw new SwitchboardError('forbidden', 'token has no sid (room)');
    }
    if (c.sid !== sid) {
      throw new SwitchboardError('forbidden', `token is for sid "${c.sid}", not "${sid}"`);
    }
    if (uid !== '' && uid !== c.uid) {
      throw new SwitchboardError('forbidden', `token is for uid "${c.uid}", not "${uid}"`);
    }
    return {
      ...grantsSchema.parse({ canPublish: c.publish, canSubscribe: c.subscribe }),
      identity: c.uid,
      room: sid,
      exp: c.exp,
      service: this.#o.superserviceId,
      anonymous: false,
    };
  }

  /** A management token (Switchboard JWT with the `api` grant) for RoomService; throws UNAUTHENTICATED / PERMISSION_DENIED. */
  async management(metadata: ReadonlyMap<string, string>): Promise<string> {
    const token = metadataToken(metadata);
    if (token === undefined) {
      unauthenticated('a management token is required (authorization metadata)');
    }
    if (!isJwt(token) || isIonToken(token)) {
      throw new GrpcError(
        Status.PERMISSION_DENIED,
        'not a management token (a Switchboard JWT with the api grant)',
      );
    }
    try {
      return await this.#o.auth.management(token);
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'forbidden') {
        throw new GrpcError(Status.PERMISSION_DENIED, err.message);
      }
      unauthenticated(err instanceof Error ? err.message : 'invalid token');
    }
  }

  async #verifyIon(token: string): Promise<IonClaims> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(this.#o.ionKey), {
        algorithms: ['HS256'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        unauthenticated('token expired');
      }
      if (
        err instanceof joseErrors.JWTClaimValidationFailed ||
        err instanceof joseErrors.JWSSignatureVerificationFailed
      ) {
        unauthenticated(`invalid token: ${err.message}`);
      }
      unauthenticated('invalid token signature or format');
    }
    const c = ionClaims.safeParse(payload);
    if (!c.success) {
      const issue = c.error.issues[0];
      unauthenticated(
        issue?.path[0] === 'exp'
          ? 'ION token without exp: Switchboard accepts only tokens that expire'
          : `invalid ION token claims: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      );
    }
    return c.data;
  }
}

/** ION's services a token may open. */
export const ION_SERVICES = ['rtc', 'room'] as const;

/** Signs an ION token (what an ION application server mints; `switchboard token --ion`). */
export function signIonToken(o: {
  key: string;
  uid: string;
  sid: string;
  publish: boolean;
  subscribe: boolean;
  services?: readonly string[];
  ttlSeconds: number;
}): Promise<string> {
  return new SignJWT({
    uid: o.uid,
    sid: o.sid,
    publish: o.publish,
    subscribe: o.subscribe,
    services: [...(o.services ?? ION_SERVICES)],
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + Math.ceil(o.ttlSeconds))
    .sign(new TextEncoder().encode(o.key));
}

/** ION's claims have `uid` and no `sub` (Switchboard's have `sub`). */
function isIonToken(token: string): boolean {
  try {
    const p = decodeJwt(token);
    return p.sub === undefined && typeof p.uid === 'string';
  } catch {
    return false;
  }
}
