// A Licode client written for the tests from shared/reference/licode-client.md (erizo.js itself is
// not on npm and may not be copied here): socket.io-client 4, websocket only, the token's four parts
// in the query, every emit wrapped as ReliableSocket does ({socketgd: n, msg}), acks as positional
// arguments, server events recorded in order.
import { io, type Socket } from 'socket.io-client';
import { apiCall, type Credentials } from './nuve.ts';
import { countFrames, newPeerConnection, syntheticMedia } from './wrtcPeer.ts';
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
  static async connect(
    token: string,
    override: Partial<LicodeTokenParts> = {},
    /** Where to connect instead of the token's host (a signal instance of a cluster). */
    at?: string,
    /** The `Origin` header a browser page would send. */
    origin?: string,
  ): Promise<LicodeTestClient> {
    const genuine = decodeToken(token);
    const t = { ...genuine, ...override }; // `override` changes the query only, not where we connect
    const socket = io(`${genuine.secure ? 'wss' : 'ws'}://${at ?? genuine.host}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      query: { tokenId: t.tokenId, host: t.host, secure: String(t.secure), signature: t.signature },
      ...(origin !== undefined ? { extraHeaders: { origin } } : {}),
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

/** A received track of a subscription: its MediaStream id (erizo.js matches it to the label) and frames. */
export interface LicodeRemoteTrack {
  kind: string;
  streamId: string;
  frames: number;
}

interface Connection {
  pc: RTCPeerConnection;
  erizoId: unknown;
  /** Candidates that came before the remote description (erizo.js queues them too). */
  early: RTCIceCandidateInit[];
  tracks: LicodeRemoteTrack[];
  stop: () => void;
}

/**
 * The media half of erizo.js's non-singlePC flow (licode-client.md §3), with @roamhq/wrtc: a peer
 * connection per published stream (we offer) and per subscription (the server offers), candidates
 * as `a=candidate:` lines both ways, end-of-candidates as Licode marks it.
 */
export class LicodeMediaClient {
  readonly client: LicodeTestClient;
  /** Peer connections by connection id. */
  readonly connections = new Map<string, Connection>();
  #queue: Promise<void> = Promise.resolve();

  constructor(client: LicodeTestClient) {
    this.client = client;
    // In arrival order: a candidate must not overtake the offer before it.
    client.socket.on('connection_message_erizo', (m: any) => {
      this.#queue = this.#queue.then(() => this.#onMessage(m)).catch(() => undefined);
    });
  }

  /** Publishes a synthetic camera and microphone; resolves with the stream id and label once acked. */
  async publish(
    attributes: Record<string, unknown> = {},
  ): Promise<{ id: number; label: string; connectionId: string }> {
    const media = syntheticMedia();
    const label = media.stream.id;
    const ack = await this.client.call('publish', {
      options: { state: 'erizo', audio: true, video: true, data: false, label, attributes },
    });
    const [id, erizoId, connectionId] = ack as [number, unknown, string];
    if (typeof id !== 'number') {
      throw new Error(`publish refused: ${JSON.stringify(ack)}`);
    }
    const pc = this.#connection(String(connectionId), erizoId, () => {
      for (const t of media.timers) {
        clearInterval(t);
      }
      for (const t of media.stream.getTracks()) {
        t.stop();
      }
    });
    for (const track of media.stream.getTracks()) {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [media.stream] });
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await this.#send(String(connectionId), erizoId, { type: 'offer', sdp: offer.sdp });
    return { id, label, connectionId: String(connectionId) };
  }

  /** Subscribes to stream `id`; resolves with the connection id once acked (media follows the server's offer). */
  async subscribe(id: number): Promise<string> {
    const ack = await this.client.call('subscribe', {
      options: { streamId: id, audio: true, video: true, data: false },
    });
    const [ok, erizoId, connectionId] = ack as [boolean, unknown, string];
    if (ok !== true) {
      throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
    }
    this.#connection(String(connectionId), erizoId, () => undefined);
    return String(connectionId);
  }

  /** Video frames decoded on connection `connectionId` (all its tracks). */
  frames(connectionId: string): number {
    return (this.connections.get(connectionId)?.tracks ?? []).reduce((n, t) => n + t.frames, 0);
  }

  close(): void {
    for (const c of this.connections.values()) {
      c.stop();
      c.pc.close();
    }
    this.connections.clear();
    this.client.close();
  }

  #connection(id: string, erizoId: unknown, stop: () => void): RTCPeerConnection {
    const pc = newPeerConnection();
    const tracks: LicodeRemoteTrack[] = [];
    const sinks: { stop(): void }[] = [];
    this.connections.set(id, {
      pc,
      erizoId,
      early: [],
      tracks,
      stop: () => {
        stop();
        for (const s of sinks) {
          s.stop();
        }
      },
    });
    pc.onicecandidate = ({ candidate }) => {
      const c = candidate?.candidate
        ? {
            sdpMLineIndex: candidate.sdpMLineIndex,
            sdpMid: candidate.sdpMid,
            candidate: `a=${candidate.candidate}`,
          }
        : { sdpMLineIndex: -1, sdpMid: 'end', candidate: 'end' };
      void this.#send(id, erizoId, { type: 'candidate', candidate: c }).catch(() => undefined);
    };
    pc.ontrack = (ev) => {
      const t: LicodeRemoteTrack = { kind: ev.track.kind, streamId: ev.streams[0]?.id ?? '', frames: 0 };
      tracks.push(t);
      if (ev.track.kind === 'video') {
        sinks.push(countFrames(ev.track, () => t.frames++));
      }
    };
    return pc;
  }

  #send(connectionId: string, erizoId: unknown, msg: unknown): Promise<unknown[]> {
    return this.client.call('connectionMessage', {
      options: { connectionId, erizoId, msg, browser: 'node' },
    });
  }

  async #onMessage(m: {
    connectionId: string;
    evt: { type: string; sdp?: string; candidate?: any };
  }): Promise<void> {
    const c = this.connections.get(String(m.connectionId));
    if (!c) {
      return;
    }
    const { evt } = m;
    const flush = async () => {
      for (const cand of c.early.splice(0)) {
        await c.pc.addIceCandidate(cand);
      }
    };
    if (evt.type === 'answer') {
      await c.pc.setRemoteDescription({ type: 'answer', sdp: evt.sdp! });
      await flush();
    } else if (evt.type === 'offer') {
      await c.pc.setRemoteDescription({ type: 'offer', sdp: evt.sdp! });
      await flush();
      const answer = await c.pc.createAnswer();
      await c.pc.setLocalDescription(answer);
      await this.#send(String(m.connectionId), c.erizoId, { type: 'answer', sdp: answer.sdp });
    } else if (evt.type === 'candidate') {
      const cand = typeof evt.candidate === 'string' ? JSON.parse(evt.candidate) : evt.candidate;
      if (cand.candidate === 'end') {
        return;
      }
      const init = {
        candidate: String(cand.candidate).replace(/^a=/, ''),
        sdpMid: cand.sdpMid,
        sdpMLineIndex: cand.sdpMLineIndex,
      };
      if (c.pc.remoteDescription) {
        await c.pc.addIceCandidate(init);
      } else {
        c.early.push(init);
      }
    }
  }
}
