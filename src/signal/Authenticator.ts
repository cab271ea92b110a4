import { randomUUID } from 'node:crypto';
import type { Store } from '../backbone/index.ts';
import { getService } from '../protocol/records.ts';
import { roomKeys } from '../protocol/room.ts';
import {
  decodeLicodeToken,
  isJwt,
  LICODE_ROLES,
  LICODE_TOKEN_TTL_MS,
  licodeTokenDoc,
  licodeTokenSignature,
  peekIssuer,
  safeEqual,
  verifyToken,
  grantsSchema,
  type Grants,
} from '../protocol/tokens.ts';
import { SwitchboardError } from '../util/errors.ts';

/** The identity a `join` runs under: a verified token's grants, or anonymous full grants. */
export interface JoinIdentity extends Grants {
  room: string;
  anonymous: boolean;
  /**
   * Gives a single-use token back (its `jti` claim, or the Licode token document): the join it was
   * claimed for was refused, so the client's corrected retry must still get in. Undefined when the
   * token is not single-use.
   */
  release?: (() => Promise<void>) | undefined;
}

export interface AuthenticatorOptions {
  cluster: string;
  store: Store;
  /** `[auth] anonymous`: joins without a token are allowed. */
  anonymous: boolean;
  /** `[auth] secret`, the built-in service's JWT key. */
  authSecret: string;
  superserviceId: string;
  superserviceKey: string;
}

/** Gives a claimed single-use token back. */
type Release = () => Promise<void>;
/** Claims a single-use token for one join (throws when it is spent); undefined: not single-use. */
type Claim = () => Promise<Release | undefined>;

function unauthorized(message: string): never {
  throw new SwitchboardError('unauthorized', message);
}

/**
 * Checks the token of a `join` (JWT or Licode token) against the room asked for. Errors are
 * SwitchboardErrors `unauthorized` (no token, bad signature, expired, used twice) or `forbidden`
 * (valid token for another room, not a participant token), with a message for the client.
 */
export class Authenticator {
  readonly #o: AuthenticatorOptions;

  constructor(o: AuthenticatorOptions) {
    this.#o = o;
  }

  /** `sid` undefined: the token's own room (Licode's clients name no room; their token does). */
  async authorize(
    token: string | undefined,
    sid: string | undefined,
    uid: string | undefined,
  ): Promise<JoinIdentity> {
    if (token === undefined || token === '') {
      if (!this.#o.anonymous) {
        unauthorized('access token required (query access_token or join param token)');
      }
      if (sid === undefined) {
        unauthorized('no token information');
      }
      return {
        ...grantsSchema.parse({}),
        identity: uid && uid.length > 0 ? uid : randomUUID(),
        room: sid,
        exp: 0,
        service: this.#o.superserviceId,
        anonymous: true,
      };
    }
    // Every check comes before the single-use claim: a token refused here is not spent.
    const { grants, claim } = isJwt(token) ? await this.#jwt(token) : await this.#licode(token);
    if (grants.api && grants.room === undefined) {
      throw new SwitchboardError('forbidden', 'a management token cannot join a room');
    }
    if (grants.room === undefined) {
      throw new SwitchboardError('forbidden', 'token has no room grant');
    }
    if (sid !== undefined && grants.room !== sid) {
      throw new SwitchboardError('forbidden', `token is for room "${grants.room}", not "${sid}"`);
    }
    const release = await claim();
    return { ...grants, room: grants.room, anonymous: false, release };
  }

  /**
   * The identity a token names, verified but not consumed (a single-use token still joins
   * afterwards), for what a client needs before `join` (its ICE servers). Without a token: `uid`,
   * or a random id, when anonymous joins are allowed.
   */
  async identify(token: string | undefined, uid: string | undefined): Promise<string> {
    if (token === undefined || token === '') {
      if (!this.#o.anonymous) {
        unauthorized('access token required (query access_token or param token)');
      }
      return uid && uid.length > 0 ? uid : randomUUID();
    }
    if (isJwt(token)) {
      return (await this.#verifyJwt(token)).identity;
    }
    const o = this.#o;
    const t = decodeLicodeToken(token);
    if (!t || !safeEqual(t.signature, licodeTokenSignature(o.superserviceKey, t.tokenId, t.host))) {
      unauthorized('invalid token signature');
    }
    const raw = await o.store.get(roomKeys.licodeToken(o.cluster, t.tokenId));
    const doc = raw === undefined ? undefined : licodeTokenDoc.safeParse(JSON.parse(raw));
    if (!doc?.success) {
      unauthorized('token does not exist (expired or already used)');
    }
    return doc.data.userName;
  }

  /**
   * A management token (a JWT with the `api` grant, as on `/api`): resolves with the issuing service's
   * id. Throws `unauthorized` (signature, expiry) or `forbidden` (no api grant).
   */
  async management(token: string): Promise<string> {
    const grants = await this.#verifyJwt(token);
    if (!grants.api) {
      throw new SwitchboardError('forbidden', 'not a management token (needs the api grant)');
    }
    return grants.service;
  }

  async #jwt(token: string): Promise<{ grants: Grants; claim: Claim }> {
    const o = this.#o;
    const grants = await this.#verifyJwt(token);
    const jti = grants.jti;
    if (jti === undefined) {
      return { grants, claim: () => Promise.resolve(undefined) };
    }
    // Single use: a join claims the id until the token would have expired anyway. Atomic, so of two
    // concurrent joins with one token exactly one gets in; a refused join releases its own claim only.
    const claim = async (): Promise<Release> => {
      const key = roomKeys.jti(o.cluster, jti);
      const mine = randomUUID();
      const ttl = Math.max(1000, grants.exp * 1000 - Date.now() + 60_000);
      if (!(await o.store.setIfAbsent(key, mine, ttl))) {
        unauthorized('token already used');
      }
      return async () => void (await o.store.compareAndDelete(key, mine));
    };
    return { grants, claim };
  }

  /** Signature (of the issuing service), expiry and claims; does not claim a `jti`. */
  async #verifyJwt(token: string): Promise<Grants> {
    const o = this.#o;
    const iss = peekIssuer(token);
    let key = o.authSecret;
    let service = o.superserviceId;
    if (iss !== undefined && iss !== o.superserviceId) {
      const s = await getService(o.store, o.cluster, iss);
      if (!s) {
        unauthorized('invalid token: unknown issuer');
      }
      key = s.key;
      service = s.id;
    }
    return verifyToken(token, key, service);
  }

  /** Nuve's token: signature by the superservice key, then the stored document, consumed once. */
  async #licode(token: string): Promise<{ grants: Grants; claim: Claim }> {
    const o = this.#o;
    const t = decodeLicodeToken(token);
    if (!t) {
      unauthorized('malformed token');
    }
    if (!safeEqual(t.signature, licodeTokenSignature(o.superserviceKey, t.tokenId, t.host))) {
      unauthorized('invalid token signature');
    }
    const key = roomKeys.licodeToken(o.cluster, t.tokenId);
    const raw = await o.store.get(key);
    if (raw === undefined) {
      unauthorized('token does not exist (expired or already used)');
    }
    const doc = licodeTokenDoc.safeParse(JSON.parse(raw));
    if (!doc.success) {
      unauthorized('token does not exist (expired or already used)');
    }
    if (doc.data.host !== t.host) {
      unauthorized('invalid host');
    }
    const { creationDate } = doc.data;
    // Consumed on use (Nuve deletes the document); put back when the join is refused.
    const claim = async (): Promise<Release> => {
      if (!(await o.store.compareAndDelete(key, raw))) {
        unauthorized('token does not exist (expired or already used)');
      }
      return async () => {
        const left = creationDate + LICODE_TOKEN_TTL_MS - Date.now();
        if (left > 0) {
          await o.store.setIfAbsent(key, raw, left);
        }
      };
    };
    const grants: Grants = {
      ...grantsSchema.parse(
        LICODE_ROLES[doc.data.role] ?? { canPublish: false, canSubscribe: false, canPublishData: false },
      ),
      identity: doc.data.userName,
      name: doc.data.userName,
      room: doc.data.room,
      exp: Math.floor((creationDate + LICODE_TOKEN_TTL_MS) / 1000),
      service: doc.data.service,
      role: doc.data.role,
    };
    return { grants, claim };
  }
}
