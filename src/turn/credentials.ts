import { createHmac } from 'node:crypto';

/** Lifetime of the TURN REST credentials handed to clients (the REST API draft recommends one day). */
export const TURN_CREDENTIAL_TTL_S = 24 * 3600;

export interface TurnCredentials {
  username: string;
  credential: string;
  /** Unix seconds after which the TURN server refuses them. */
  expires: number;
}

/**
 * Time-limited TURN credentials of the "TURN REST API" (draft-uberti-behave-turn-rest, coturn's
 * `use-auth-secret`): `username = <expiry unix seconds>:<identity>`,
 * `credential = base64(HMAC-SHA1(secret, username))`. The TURN server recomputes the HMAC with the
 * shared secret and refuses a username whose expiry has passed.
 */
export function turnRestCredentials(
  secret: string,
  identity: string,
  ttlSeconds = TURN_CREDENTIAL_TTL_S,
  nowMs = Date.now(),
): TurnCredentials {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expires}:${identity}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expires };
}

/** ION's `credentials = "user=pass,user2=pass2"` as pairs (the schema has checked the shape). */
export function parseStaticCredentials(list: string): { username: string; password: string }[] {
  if (list === '') {
    return [];
  }
  return list.split(',').map((entry) => {
    const eq = entry.indexOf('=');
    return { username: entry.slice(0, eq), password: entry.slice(eq + 1) };
  });
}
