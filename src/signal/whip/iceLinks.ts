import type { ClientIceServer } from '../../turn/iceServers.ts';

/**
 * ICE servers as `Link` header values (RFC 9725 §4.6): one per URL, `rel="ice-server"`, with the
 * TURN credentials as `username` / `credential` target attributes (`credential-type` "password", the
 * default, left out).
 */
export function iceServerLinks(servers: readonly ClientIceServer[]): string[] {
  const out: string[] = [];
  for (const s of servers) {
    for (const url of s.urls) {
      let link = `<${url}>; rel="ice-server"`;
      if (s.username !== undefined && s.credential !== undefined) {
        link += `; username="${quoted(s.username)}"; credential="${quoted(s.credential)}"; credential-type="password"`;
      }
      out.push(link);
    }
  }
  return out;
}

/** An RFC 9110 quoted-string's content: backslash and double quote escaped. */
function quoted(s: string): string {
  return s.replace(/[\\"]/g, (c) => `\\${c}`);
}
