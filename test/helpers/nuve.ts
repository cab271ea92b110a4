// A tiny Nuve client for tests: MAuth computed here with node:crypto (independent of src/api/mauth.ts).
import { createHmac } from 'node:crypto';

export interface Credentials {
  service: string;
  key: string;
}

let lastTs = 0;

/** The Authorization header exactly as Licode's nuve client (N.API.js) builds it. */
export function mauthHeader(
  c: Credentials,
  user?: { name: string; role: string },
  ts?: number,
  cnonce?: number,
): string {
  // Distinct timestamps per call: the server refuses a repeated (timestamp, cnonce).
  const timestamp = ts ?? (lastTs = Math.max(Date.now(), lastTs + 1));
  const nonce = cnonce ?? Math.floor(Math.random() * 99999);
  let toSign = `${timestamp},${nonce}`;
  let header = 'MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1';
  if (user) {
    header += `,mauth_username=${user.name},mauth_role=${user.role}`;
    toSign += `,${user.name},${user.role}`;
  }
  const signature = Buffer.from(createHmac('sha1', c.key).update(toSign).digest('hex')).toString('base64');
  return `${header},mauth_serviceid=${c.service},mauth_cnonce=${nonce},mauth_timestamp=${timestamp},mauth_signature=${signature}`;
}

export interface ApiAnswer {
  status: number;
  type: string;
  text: string;
  json: any;
  headers: Headers;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (a string) instead of JSON. */
  rawBody?: string;
  creds?: Credentials;
  user?: { name: string; role: string };
  headers?: Record<string, string>;
  /** No Authorization header at all. */
  anonymous?: boolean;
}

export async function apiCall(
  baseUrl: string,
  method: string,
  path: string,
  o: CallOptions = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...o.headers };
  if (!o.anonymous && o.creds && headers.authorization === undefined) {
    headers.authorization = mauthHeader(o.creds, o.user);
  }
  let body: string | undefined;
  if (o.rawBody !== undefined) {
    body = o.rawBody;
    headers['content-type'] ??= 'application/json';
  } else if (o.body !== undefined) {
    body = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${baseUrl}/api${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text,
    json,
    headers: res.headers,
  };
}
