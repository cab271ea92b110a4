/**
 * With a certificate the one port speaks TLS only, so a browser sent to `http://<host>:7000` (the
 * address people typed before HTTPS, or the one a colleague shares) got an empty answer and a browser
 * error with no word on why. This makes that port answer plain HTTP too, with a redirect to the same
 * URL over https: each new connection's first byte tells (22 = a TLS handshake record) which server
 * gets it, the TLS one (Node's own handler, so everything after it is unchanged) or a tiny HTTP server
 * that only redirects. The same trick as httpolyglot; done here because only the redirect is wanted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

/** The first byte of a TLS record of type handshake (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing is dropped after this long (the TLS handshake has its own timeout). */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

/** `https://` + the request's Host (its port included) + its path; the server's address without a Host. */
export function httpsLocation(req: IncomingMessage, fallbackHost: string): string {
  const host =
    req.headers.host !== undefined && /^[A-Za-z0-9.:[\]-]+$/.test(req.headers.host)
      ? req.headers.host
      : fallbackHost;
  const path = (req.url ?? '/').startsWith('/') ? (req.url ?? '/') : '/';
  return `https://${host}${path}`;
}

export interface PlainHttpRedirect {
  /** Ends the redirect server's connections (the TLS server's are its owner's to close). */
  close(): void;
}

/** Makes `server` (listening or not) answer plain-HTTP connections with a 308 to https. */
export function redirectPlainHttp(server: TlsServer): PlainHttpRedirect {
  const tlsHandlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  // Only for a request without a usable Host (HTTP/1.0): the bound address, localhost for a wildcard.
  const fallbackHost = () => {
    const a = server.address();
    if (a === null || typeof a !== 'object') {
      return 'localhost';
    }
    const host = a.address === '0.0.0.0' || a.address === '::' ? 'localhost' : a.address;
    return `${host.includes(':') ? `[${host}]` : host}:${a.port}`;
  };
  const redirect = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(308, {
      Location: httpsLocation(req, fallbackHost()),
      Connection: 'close',
      'Content-Type': 'text/plain',
    });
    res.end('This server speaks https only: use https:// (the address above).\n');
  });
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) {
        for (const h of tlsHandlers) {
          h.call(server, socket);
        }
      } else {
        redirect.emit('connection', socket);
      }
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => socket.destroy());
  });
  return { close: () => redirect.closeAllConnections() };
}
