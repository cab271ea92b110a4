import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Bus } from '../backbone/index.ts';
import { isMethod, methods } from '../protocol/ionSfu.ts';
import { RECONNECT_NOTIFICATION, subjects, type PeerRequest } from '../protocol/cluster.ts';
import {
  isRoomMethod,
  roomMethods,
  roomNotifications,
  roomSubjects,
  type MemberRecord,
} from '../protocol/room.ts';
import { admit, mediaGrantsOf, roomCall } from './admission.ts';
import { placeAndJoin } from './placement.ts';
import type { Authenticator, JoinIdentity } from './Authenticator.ts';
import { parseJsonRpc, rpcError, rpcNotification, rpcResult, RPC, type JsonRpcId } from './jsonRpc.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { SocketLiveness } from './SocketLiveness.ts';

/** Calls a client may make only after `join` (ion-sfu's wording for the error). */
const NOT_JOINED = 'no rtc transport exists for this Peer';

/** Our additions to ion-sfu's `join` params; they are consumed here and never forwarded. */
const joinExtras = z
  .object({
    /** An access token (JWT or Licode token); the `access_token` query parameter works too. */
    token: z.string().min(1).max(8192).optional(),
    /** The room's password, when it has one. */
    password: z.string().max(256).optional(),
  })
  .loose();

/** Room-service notifications after which the server closes the socket (code, reason). */
const CLOSING: Record<string, [number, string]> = {
  [roomNotifications.kicked]: [4001, 'kicked'],
  [roomNotifications.ended]: [4002, 'room ended'],
  // The media node drains or was lost: the client joins again (it lands on a live node).
  [RECONNECT_NOTIFICATION]: [4003, 'reconnect'],
};

/** JSON-RPC error code of a refused request (rate, limits): the server's "try later". */
const RPC_LIMITED = 429;

/** JSON-RPC error codes of our failures (ion-sfu's own failures keep 500). */
const RPC_CODES: Partial<Record<string, number>> = {
  unauthorized: 401,
  forbidden: 403,
  /** A join naming a room whose name two rooms share. */
  conflict: 409,
  limited: RPC_LIMITED,
  unavailable: 503,
};
const ROOM_RPC_CODES: Partial<Record<string, number>> = {
  ...RPC_CODES,
  'not-found': 404,
  'invalid-params': RPC.INVALID_PARAMS,
};

export interface ConnectionOptions {
  conn: string;
  signalNode: string;
  cluster: string;
  /** This signal instance's region (`[global] dc`): its clients are placed on media nodes of it. */
  dc: string;
  bus: Bus;
  auth: Authenticator;
  /** The `access_token` query parameter of the WebSocket URL. */
  queryToken?: string | undefined;
  /** Our `iceServers` method: the ICE servers (STUN/TURN with credentials) for the caller. */
  iceServers?: ((token: string | undefined, uid: string | undefined) => Promise<unknown>) | undefined;
  /** Per-address peer count and join rate (ClientLimits): a refusal text, or undefined and `endPeer` later. */
  beginPeer?: (() => string | undefined) | undefined;
  endPeer?: (() => void) | undefined;
  /** `[signal.limits] jointimeout` in ms: a socket that has not joined by then is closed. 0 = never. */
  joinTimeoutMs?: number | undefined;
  /** `[signal.limits] joinretries`: failed joins before the socket is closed. 0 = no limit. */
  joinRetries?: number | undefined;
}

/** Frames of one connection waiting to be handled; more are refused (a client must await its replies). */
const MAX_PENDING_FRAMES = 64;

/** Our `iceServers` call (any time, also before `join`): `{token?, uid?}` → `{iceServers}`. */
const iceServersParams = z
  .object({ token: z.string().min(1).max(8192).optional(), uid: z.string().max(256).optional() })
  .strict()
  .optional();

/**
 * One client WebSocket: parses its JSON-RPC frames one at a time (ion-sfu handles a connection's
 * messages sequentially), validates params, checks the join's token, asks the room role to admit the
 * peer, and forwards signalling over the Bus to the media node that owns the room and `room.*` calls
 * to the room role. Malformed input gets a JSON-RPC error and never affects anyone else.
 */
export class ClientConnection {
  readonly conn: string;
  readonly #ws: WebSocket;
  readonly #o: ConnectionOptions;
  #node: string | undefined;
  /** Set once the room role admitted us (undefined without a room service, see #admit). */
  #member: { room: string; uid: string } | undefined;
  /** The room role's record of us, kept to write it again if the Store loses it (SignalRole.#restore). */
  #record: MemberRecord | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #closed = false;
  /** Pings the socket and terminates it when it stays silent (SocketLiveness). */
  readonly #liveness: SocketLiveness;
  /** This connection holds a slot of its address's peers (ClientLimits) while joining or joined. */
  #holdsPeer = false;
  #failedJoins = 0;
  #joinTimer: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, o: ConnectionOptions) {
    this.#ws = ws;
    this.#o = o;
    this.conn = o.conn;
    this.#liveness = new SocketLiveness(ws, o.conn);
    if (o.joinTimeoutMs) {
      this.#joinTimer = setTimeout(() => {
        if (!this.#node) {
          logger.debug({ conn: this.conn }, 'no join in time: socket closed');
          this.#ws.close(4004, `no join within ${Math.round(o.joinTimeoutMs! / 1000)} s`);
        }
      }, o.joinTimeoutMs);
      this.#joinTimer.unref();
    }
  }

  /** Queues a frame; frames are handled strictly in arrival order. */
  receive(text: string): void {
    this.#liveness.heard();
    if (this.#pending >= MAX_PENDING_FRAMES) {
      const id = parseJsonRpc(text);
      const replyId = id.ok ? (id.request.id ?? null) : id.id;
      this.send(rpcError(replyId, RPC_LIMITED, `too many requests in flight (limit ${MAX_PENDING_FRAMES})`));
      return;
    }
    this.#pending++;
    this.#queue = this.#queue
      .then(() => this.#handle(text))
      .catch((err: unknown) => logger.error({ err }, 'frame handling failed'))
      .finally(() => this.#pending--)
      // Other sockets, /healthz and media get the loop between two frames of one client: promise
      // continuations alone would run a client's whole backlog (up to 64 frames of 1 MiB) in one go.
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  }

  /** Called every `[signal.limits] pinginterval` (SocketLiveness). */
  ping(): void {
    if (this.#closed) {
      return;
    }
    this.#liveness.ping();
  }

  send(text: string): void {
    if (!this.#closed && this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(text);
    }
  }

  /** A notification another role sent this client. After `room.kicked` / `room.ended` the socket closes. */
  notify(method: string, params: unknown): void {
    this.notifyFrame(method, rpcNotification(method, params));
  }

  /** `notify` with the JSON-RPC frame already serialized (one frame for many connections). */
  notifyFrame(method: string, frame: string): void {
    this.send(frame);
    const closing = CLOSING[method];
    if (closing) {
      // Out of the room at once: a vanished client never completes the close handshake, and its
      // member must not hold a maxPeers slot until ws gives up waiting.
      this.#leaveRoom(method === RECONNECT_NOTIFICATION ? 'reconnect' : method);
      // After the frame being handled (a host's own `room.end` gets its result first); ws sends the
      // close frame after everything queued before it.
      this.#queue = this.#queue.then(() => {
        if (this.#ws.readyState === this.#ws.OPEN) {
          this.#ws.close(closing[0], closing[1]);
        }
      });
    }
  }

  /** The room and member record of this connection while it is in a room (admitted by the room role). */
  get membership(): { room: string; member: MemberRecord } | undefined {
    return this.#member && this.#record ? { room: this.#member.room, member: this.#record } : undefined;
  }

  /** The room role changed our record (role, name, info): keep the latest. */
  updateRecord(m: MemberRecord): void {
    if (this.#record && m.conn === this.conn) {
      this.#record = m;
    }
  }

  /** The media node this connection's peer is on, once joined. */
  get node(): string | undefined {
    return this.#node;
  }

  /**
   * The media node of this connection is gone (it stopped answering pings): tell the client to
   * `reconnect` (the socket then closes, see CLOSING) so it joins again on a live node.
   */
  nodeLost(): void {
    if (!this.#closed && this.#node) {
      logger.info({ conn: this.conn, node: this.#node }, 'media node lost: client asked to reconnect');
      this.notify(RECONNECT_NOTIFICATION, { reason: 'node-lost' });
    }
  }

  /** The socket went away: the media node drops the peer and the room role the member. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#joinTimer);
    if (this.#node) {
      this.#forward('leave', null).catch(() => undefined);
    }
    this.#leaveRoom('client-leave');
    this.#endPeer();
  }

  #endPeer(): void {
    if (this.#holdsPeer) {
      this.#holdsPeer = false;
      this.#o.endPeer?.();
    }
  }

  async #handle(text: string): Promise<void> {
    const parsed = parseJsonRpc(text);
    if (!parsed.ok) {
      this.send(rpcError(parsed.id, parsed.code, parsed.message));
      return;
    }
    const { id, method, params } = parsed.request;
    // ion-sfu answers failed notifications too, with id 0.
    const replyId: JsonRpcId = id === undefined ? 0 : id;
    if (method === 'iceServers' && this.#o.iceServers) {
      await this.#iceServers(id, replyId, params);
      return;
    }
    const room = isRoomMethod(method);
    if (!room && !isMethod(method)) {
      this.send(rpcError(id ?? null, RPC.METHOD_NOT_FOUND, `Method not found: ${method}`));
      return;
    }
    const schema: z.ZodType = room ? roomMethods[method] : methods[method];
    let checked = schema.safeParse(params);
    if (checked.success && method === 'join') {
      checked = joinExtras.safeParse(params);
    }
    if (!checked.success) {
      const detail = checked.error.issues
        .map((i) => `${i.path.join('.') || 'params'}: ${i.message}`)
        .join('; ');
      this.send(rpcError(id ?? null, RPC.INVALID_PARAMS, `Invalid params: ${detail}`));
      return;
    }
    try {
      if (room) {
        this.#reply(id, await this.#roomCall(method, checked.data));
      } else if (method === 'join') {
        this.#reply(id, await this.#join(params as Record<string, unknown>));
      } else {
        if (!this.#node) {
          throw new SwitchboardError('invalid-state', NOT_JOINED);
        }
        this.#reply(id, await this.#forward(method, checked.data));
      }
    } catch (err) {
      // Only our deliberate errors (SwitchboardError, also from another role over the Bus) reach the
      // client with their text; anything else is a bug whose text (a TypeError, a stack overflow) is
      // no business of the client's.
      const code = err instanceof SwitchboardError ? err.code : 'internal';
      const rpcCode = (room ? ROOM_RPC_CODES : RPC_CODES)[code] ?? RPC.METHOD_FAILED;
      let message = errorText(err);
      if (code === 'internal' || code === 'timeout' || code === 'no-responder') {
        // Never leak internals (nor the Bus's subjects): the client gets a log id to quote, the log
        // gets the details.
        const logId = randomBytes(4).toString('hex');
        logger.error({ err, method, logId }, 'method failed');
        const what =
          code === 'internal' ? 'internal error' : code === 'timeout' ? 'timed out' : 'unavailable';
        message = `${what} (log id ${logId})`;
      }
      this.send(rpcError(replyId, rpcCode, message));
    }
  }

  async #join(raw: Record<string, unknown>): Promise<unknown> {
    if (this.#node) {
      throw new SwitchboardError('invalid-state', 'rtc transport already exists for this connection');
    }
    const p = methods.join.parse(raw);
    const extras = joinExtras.parse(raw);
    const limited = this.#o.beginPeer?.();
    if (limited !== undefined) {
      throw new SwitchboardError('limited', limited);
    }
    this.#holdsPeer = this.#o.beginPeer !== undefined;
    try {
      const ident = await this.#o.auth.authorize(extras.token ?? this.#o.queryToken, p.sid, p.uid);
      try {
        return await this.#admitAndJoin(raw, p, extras.password, ident);
      } catch (err) {
        // A refused join does not spend a single-use token: the client's corrected retry gets in.
        await ident.release?.().catch((e: unknown) => logger.warn({ err: e }, 'releasing a token failed'));
        throw err;
      }
    } catch (err) {
      this.#endPeer();
      this.#failedJoins++;
      const retries = this.#o.joinRetries ?? 0;
      if (retries > 0 && this.#failedJoins >= retries) {
        // After the refusal's reply (queued before the close frame).
        this.#queue = this.#queue.then(() => this.#ws.close(4005, `${retries} failed joins`));
      }
      throw err;
    }
  }

  async #admitAndJoin(
    raw: Record<string, unknown>,
    p: z.infer<typeof methods.join>,
    password: string | undefined,
    ident: JoinIdentity,
  ): Promise<unknown> {
    const name = p.name ?? ident.name;
    // The room's id: a join may name the room by its name (see RoomRole).
    const room = await this.#admit(ident, name ?? ident.identity, password);
    const grants = mediaGrantsOf(ident);
    // Only ion-sfu's params go on, with the verified identity and grants (a client's own `grants` is
    // dropped, and so are `relay`, which only media nodes may send: src/sfu/RelayLink.ts, and
    // `licode`, which only the Licode endpoint sends: it names the member a peer's streams show under,
    // `whip` / `whep`, which only the WHIP endpoint sends, and `livekit`, which only the LiveKit front sends).
    const {
      token: _t,
      password: _p,
      grants: _g,
      relay: _r,
      licode: _l,
      whip: _w,
      whep: _e,
      livekit: _k,
      ...rest
    } = raw;
    const forwarded = {
      ...rest,
      sid: room,
      uid: ident.identity,
      ...(name !== undefined ? { name } : {}),
      grants,
    };
    try {
      const answer = await this.#placeAndJoin(room, forwarded);
      if (this.#member) {
        this.#o.bus.publish(roomSubjects.joined(this.#o.cluster), { ...this.#member, conn: this.conn });
      }
      return answer;
    } catch (err) {
      this.#node = undefined;
      this.#leaveRoom('join-failed');
      throw err;
    }
  }

  /** Asks the registry for a node and forwards the join there (placement.ts: cascades, moves). */
  #placeAndJoin(room: string, forwarded: Record<string, unknown>): Promise<unknown> {
    return placeAndJoin(
      this.#o.bus,
      this.#o,
      room,
      (node) => (this.#node = node),
      () => this.#forward('join', forwarded),
    );
  }

  /** ICE servers before the PCs gather (ion-sdk-js takes them in its constructor: see docs/deployment.md). */
  async #iceServers(id: JsonRpcId | undefined, replyId: JsonRpcId, params: unknown): Promise<void> {
    const p = iceServersParams.safeParse(params);
    if (!p.success) {
      this.send(
        rpcError(id ?? null, RPC.INVALID_PARAMS, `Invalid params: ${p.error.issues[0]?.message ?? ''}`),
      );
      return;
    }
    try {
      this.#reply(id, await this.#o.iceServers!(p.data?.token ?? this.#o.queryToken, p.data?.uid));
    } catch (err) {
      const code = err instanceof SwitchboardError ? RPC_CODES[err.code] : undefined;
      this.send(rpcError(replyId, code ?? RPC.METHOD_FAILED, code ? errorText(err) : 'internal error'));
      if (!code) {
        logger.error({ err }, 'iceServers failed');
      }
    }
  }

  /** The room role decides (lock, password, max peers) before any media is set up. */
  /** Resolves with the id of the room admitted to (the join's room when no room role answers). */
  async #admit(ident: JoinIdentity, name: string, password: string | undefined): Promise<string> {
    const o = this.#o;
    const a = await admit(
      { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode, protocol: 'jsonrpc' },
      ident,
      name,
      password,
    );
    if (a.member) {
      this.#member = { room: a.room, uid: ident.identity };
      this.#record = a.member;
    }
    return a.room;
  }

  #leaveRoom(reason: string): void {
    const m = this.#member;
    if (m) {
      this.#member = undefined;
      this.#record = undefined;
      this.#o.bus.publish(roomSubjects.leave(this.#o.cluster), { ...m, conn: this.conn, reason });
    }
  }

  async #roomCall(method: string, params: unknown): Promise<unknown> {
    const m = this.#member;
    if (!m || !this.#node) {
      throw new SwitchboardError('invalid-state', 'join a room first');
    }
    const o = this.#o;
    return roomCall(
      { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode },
      m,
      method,
      params ?? {},
    );
  }

  #reply(id: JsonRpcId | undefined, result: unknown): void {
    if (id !== undefined) {
      this.send(rpcResult(id, result));
    }
  }

  #forward(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: this.conn, signal: this.#o.signalNode, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, this.#node!), req, { timeoutMs: 15_000 });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
