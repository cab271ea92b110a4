/**
 * Licode's MAuth request signing (nuve/nuveAPI/auth/mauthParser.js, nuveClient N.API.js), byte for
 * byte, with Switchboard's replay protection:
 *
 *   Authorization: MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1
 *     [,mauth_username=U,mauth_role=R],mauth_serviceid=ID,mauth_cnonce=N,mauth_timestamp=T,mauth_signature=S
 *   S = base64( hex( HMAC-SHA1(serviceKey, "T,N" or "T,N,U,R") ) )   (base64 of the hex *string*)
 *
 * Licode keeps the last (T, N) of each service in one process's memory and accepts any old-enough
 * timestamp after a restart. Here T must lie within `[api] mauthwindow` seconds of the server clock,
 * and each (service, T, N) is claimed once with the Store's set-if-absent (`sb:<cluster>:mauth:<svc>:<T>:<N>`,
 * expiring when T leaves the window), so a replay is refused by every instance and after a restart.
 */
import type { Store } from '../backbone/index.ts';
import { roomKeys, type ServiceRecord } from '../protocol/room.ts';
import { licodeHmac, safeEqual } from '../protocol/tokens.ts';
import { dict } from '../util/dict.ts';
import { SwitchboardError } from '../util/errors.ts';

export const MAUTH_REALM = 'http://marte3.dit.upm.es';
export const MAUTH_CHALLENGE = `MAuth realm="${MAUTH_REALM}"`;

/**
 * Licode's parser: split on ",", then on "="; the key is the first part minus its first 6 characters
 * ("mauth_", and "MAuth " of the realm segment); empty parts (base64 padding) become "=".
 */
export function parseMAuthHeader(header: string): Record<string, string> {
  const params = dict<string>(); // names are the client's
  for (const segment of header.split(',')) {
    const parts = segment.split('=');
    let val = '';
    for (let j = 1; j < parts.length; j++) {
      val += parts[j] === '' ? '=' : parts[j];
    }
    params[(parts[0] ?? '').slice(6)] = val;
  }
  return params;
}

/** The text a client signs: "T,N", plus ",U,R" when both username and role are given. */
export function mauthToSign(timestamp: string, cnonce: string, username?: string, role?: string): string {
  let toSign = `${timestamp},${cnonce}`;
  if (username !== undefined && role !== undefined) {
    toSign += `,${username},${role}`;
  }
  return toSign;
}

export function mauthSignature(
  key: string,
  timestamp: string,
  cnonce: string,
  username?: string,
  role?: string,
): string {
  return licodeHmac(key, mauthToSign(timestamp, cnonce, username, role));
}

/** Builds a header as Licode's nuve client does (for the CLI). */
export function buildMAuthHeader(o: {
  serviceId: string;
  key: string;
  username?: string | undefined;
  role?: string | undefined;
  timestamp?: number | undefined;
  cnonce?: number | undefined;
}): string {
  const timestamp = String(o.timestamp ?? Date.now());
  const cnonce = String(o.cnonce ?? Math.floor(Math.random() * 99999));
  let header = `MAuth realm=${MAUTH_REALM},mauth_signature_method=HMAC_SHA1`;
  const withUser = o.username !== undefined && o.role !== undefined && o.username !== '' && o.role !== '';
  if (withUser) {
    header += `,mauth_username=${o.username},mauth_role=${o.role}`;
  }
  const sig = mauthSignature(
    o.key,
    timestamp,
    cnonce,
    withUser ? o.username : undefined,
    withUser ? o.role : undefined,
  );
  return `${header},mauth_serviceid=${o.serviceId},mauth_cnonce=${cnonce},mauth_timestamp=${timestamp},mauth_signature=${sig}`;
}

export interface MAuthResult {
  service: ServiceRecord;
  username?: string;
  role?: string;
}

export interface MAuthVerifierOptions {
  cluster: string;
  store: Store;
  /** Accepted clock skew in seconds (`[api] mauthwindow`). */
  windowSeconds: number;
  lookupService(id: string): Promise<ServiceRecord | undefined>;
  /** Clock in ms (tests). Default Date.now. */
  now?: () => number;
}

function refuse(message: string): never {
  throw new SwitchboardError('unauthorized', message);
}

export class MAuthVerifier {
  readonly #o: MAuthVerifierOptions;

  constructor(o: MAuthVerifierOptions) {
    this.#o = o;
  }

  /** Verifies one Authorization header; throws `unauthorized` with the reason. */
  async verify(header: string): Promise<MAuthResult> {
    const p = parseMAuthHeader(header);
    if (p.signature_method === undefined) {
      refuse(
        'MAuth: malformed header (expected MAuth realm=…,mauth_signature_method=HMAC_SHA1,' +
          'mauth_serviceid=…,mauth_cnonce=…,mauth_timestamp=…,mauth_signature=…)',
      );
    }
    if (p.signature_method !== 'HMAC_SHA1') {
      refuse('MAuth: signature method must be HMAC_SHA1');
    }
    const { serviceid, timestamp, cnonce, signature } = p;
    if (!serviceid || !timestamp || !cnonce || !signature) {
      refuse('MAuth: serviceid, cnonce, timestamp and signature are required');
    }
    if (!/^\d{1,16}$/.test(timestamp) || !/^[A-Za-z0-9_-]{1,64}$/.test(cnonce)) {
      refuse('MAuth: malformed timestamp or cnonce');
    }
    const service = await this.#o.lookupService(serviceid);
    if (!service) {
      refuse('MAuth: unknown service');
    }
    const now = (this.#o.now ?? Date.now)();
    const windowMs = this.#o.windowSeconds * 1000;
    const ts = Number(timestamp);
    if (Math.abs(now - ts) > windowMs) {
      refuse(`MAuth: timestamp outside the allowed window of ${this.#o.windowSeconds} s`);
    }
    const withUser = p.username !== undefined && p.role !== undefined;
    const expected = mauthSignature(
      service.key,
      timestamp,
      cnonce,
      withUser ? p.username : undefined,
      withUser ? p.role : undefined,
    );
    if (!safeEqual(signature, expected)) {
      refuse('MAuth: wrong signature');
    }
    // Only a correctly signed header claims its (timestamp, cnonce): forgeries cannot fill the Store.
    const key = roomKeys.mauth(this.#o.cluster, service.id, timestamp, cnonce);
    const ttl = Math.max(1000, ts + windowMs - now + 1000);
    if (!(await this.#o.store.setIfAbsent(key, '1', ttl))) {
      refuse('MAuth: replayed request (timestamp and cnonce already used)');
    }
    return {
      service,
      ...(withUser ? { username: p.username, role: p.role } : {}),
    };
  }
}
