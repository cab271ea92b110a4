// A Licode client written for the tests from shared/reference/licode-client.md (erizo.js itself is
// not on npm and may not be copied here): socket.io-client 4, websocket only, the token's four parts
// in the query, every emit wrapped as ReliableSocket does ({socketgd: n, msg}), acks as positional
// arguments, server events recorded in order.
import { io, type Socket } from 'socket.io-client';
import { apiCall, type Credentials } from './nuve.ts';
import { waitFor } from './waitFor.ts';

export interface LicodeTokenParts {
  tokenId: string;
  host: string;
  secure: boolean;
  signature: string;
}

export function decodeToken(token: string): LicodeTokenParts {
  return JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as LicodeTokenParts;
}

/** Nuve's createToken for `user` with `role` in room `roomId` (a text token). */
export async function nuveToken(
  baseUrl: string,
  creds: Credentials,
  roomId: string,
  user: string,
  role: string,
): Promise<string> {
  const a = await apiCall(baseUrl, 'POST', `/rooms/${roomId}/tokens`, { creds, user: { name: user, role } });
  if (a.status !== 200) {
    throw new Error(`createToken answered ${a.status}: ${a.text}`);
  }
  return a.text;
}

/** Nuve's createRoom; resolves with the room's id. */
export async function nuveRoom(baseUrl: string, creds: Credentials, name: string): Promise<string> {
  const a = await apiCall(baseUrl, 'POST', '/rooms', { creds, body: { name } });
  if (a.status !== 200) {
    throw new Error(`createRoom answered ${a.status}: ${a.text}`);
  }
  return (a.json as { _id: string })._id;
}

export interface Received {
  event: string;
  payload: any;
}

export class LicodeTestClient {
  readonly socket: Socket;
  readonly received: Received[] = [];
  connected: any;
  #next = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.onAny((event: string, payload: unknown) => this.received.push({ event, payload }));
  }

  /** Connects as erizo.js does with `token`; rejects with the server's `connect_error` data. */
  static async connect(token: string, override: Partial<LicodeTokenParts> = {}): Promise<LicodeTestClient> {
    const genuine = decodeToken(token);
    const t = { ...genuine, ...override }; // `override` changes the query only, not where we connect
    const socket = io(`${genuine.secure ? 'wss' : 'ws'}://${genuine.host}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      query: { tokenId: t.tokenId, host: t.host, secure: String(t.secure), signature: t.signature },
    });
    const client = new LicodeTestClient(socket);
    try {
      client.connected = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no connected within 10 s')), 10_000);
        socket.once('connected', (payload: unknown) => {
          clearTimeout(timer);
          resolve(payload);
        });
        socket.once('connect_error', (err: Error & { data?: string }) => {
          clearTimeout(timer);
          reject(Object.assign(new Error(err.data ?? err.message), { data: err.data }));
        });
      });
    } catch (err) {
      socket.close();
      throw err;
    }
    return client;
  }

  /** Emits `event` wrapped as ReliableSocket does and resolves with the ack's arguments. */
  call(event: string, msg?: unknown, timeoutMs = 5000): Promise<unknown[]> {
    const wrapped = { socketgd: this.#next++, msg };
    return this.callRaw(event, wrapped, timeoutMs);
  }

  /** Emits `payload` as is (no ReliableSocket wrapping). */
  callRaw(event: string, payload: unknown, timeoutMs = 5000): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ack for ${event} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.socket.emit(event, payload, (...args: unknown[]) => {
        clearTimeout(timer);
        resolve(args);
      });
    });
  }

  /** The payloads of `event` received so far. */
  events(event: string): any[] {
    return this.received.filter((r) => r.event === event).map((r) => r.payload);
  }

  /** Waits for a received `event` whose payload `match` accepts. */
  waitFor(event: string, match: (p: any) => boolean = () => true, timeout = 5000): Promise<any> {
    return waitFor(() => this.events(event).find(match), { timeout, what: `${event} on the Licode client` });
  }

  close(): void {
    this.socket.close();
  }
}
