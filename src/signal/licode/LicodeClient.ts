/**
 * One erizo.js client on the socket.io endpoint (Licode's ErizoController, licode.md §3): a member
 * of its token's room like a `/ws` client, with Licode's events, acknowledgements and error strings.
 * The room's Licode streams (attributes, data-only streams) live in the Store and travel between
 * signal instances on the room's Bus subject, so clients on different instances see one room.
 */
import type { z } from 'zod';
import type { Bus, Store, Subscription } from '../../backbone/index.ts';
import {
  dataStreamId,
  licodeEvents,
  licodeKeys,
  licodeRoomEvent,
  licodeStreamRecord,
  licodeSubjects,
  UNAUTHORIZED,
  type LicodeRoomEvent,
  type LicodeStreamRecord,
  type PublicStream,
} from '../../protocol/licode.ts';
import { roomNotifications, roomSubjects, type MemberRecord } from '../../protocol/room.ts';
import { RECONNECT_NOTIFICATION } from '../../protocol/cluster.ts';
import { logger } from '../../util/logger.ts';
import type { JoinIdentity } from '../Authenticator.ts';
import type { Ack, ReliableSocket } from './ReliableSocket.ts';

/** Licode's `connected` bandwidth fields (kbps): erizo.js clamps a subscriber's maxVideoBW to them. */
export interface LicodeBandwidth {
  defaultVideoBW: number;
  maxVideoBW: number;
}

export interface LicodeClientOptions {
  conn: string;
  signalNode: string;
  dc: string;
  bus: Bus;
  store: Store;
  ident: JoinIdentity;
  /** The room's id, as the room role admitted us. */
  room: string;
  member: MemberRecord | undefined;
  iceServers: unknown[];
  bandwidth: LicodeBandwidth;
}

/** Room-service notifications after which the client is disconnected. */
const CLOSING = new Set<string>([roomNotifications.kicked, roomNotifications.ended, RECONNECT_NOTIFICATION]);

/** What erizo.js gets for a call Switchboard does not serve (yet): said plainly, in its error callback. */
const unsupported = (what: string) => `${what} is not supported by Switchboard`;

/** A payload `schema` refused: the first issue, named by its path. */
function invalid(event: string, err: z.ZodError): string {
  const i = err.issues[0];
  return `invalid ${event}: ${i ? `${i.path.join('.') || 'payload'}: ${i.message}` : 'bad payload'}`;
}

export class LicodeClient {
  readonly conn: string;
  readonly #o: LicodeClientOptions;
  readonly #socket: ReliableSocket;
  /** Ids of the data streams this client subscribed to (it gets their messages and attribute updates). */
  readonly #dataSubscriptions = new Set<number>();
  /** Ids of the streams this client published. */
  readonly #own = new Set<number>();
  #sub: Subscription | undefined;
  #record: MemberRecord | undefined;
  #closed = false;

  constructor(socket: ReliableSocket, o: LicodeClientOptions) {
    this.conn = o.conn;
    this.#o = o;
    this.#socket = socket;
    this.#record = o.member;
  }

  /** Subscribes to the room's events, sends `connected` with the room's streams, and listens. */
  async start(): Promise<void> {
    const o = this.#o;
    this.#sub = o.bus.subscribe(licodeSubjects.room(o.dc, o.room), (data) => {
      const e = licodeRoomEvent.safeParse(data);
      if (e.success) {
        this.#onRoomEvent(e.data);
      }
    });
    await o.bus.flush();
    const streams = await this.#streams();
    this.#socket.emit('connected', {
      streams,
      id: o.room,
      clientId: this.conn,
      singlePC: false,
      p2p: false,
      defaultVideoBW: o.bandwidth.defaultVideoBW,
      maxVideoBW: o.bandwidth.maxVideoBW,
      iceServers: o.iceServers,
    });
    this.#listen();
    o.bus.publish(roomSubjects.joined(o.dc), { room: o.room, uid: o.ident.identity, conn: this.conn });
  }

  // ---- what SignalRole routes to its clients

  get membership(): { room: string; member: MemberRecord } | undefined {
    return this.#record ? { room: this.#o.room, member: this.#record } : undefined;
  }

  updateRecord(m: MemberRecord): void {
    if (this.#record && m.conn === this.conn) {
      this.#record = m;
    }
  }

  get node(): string | undefined {
    return undefined; // no media yet
  }

  notify(method: string, _params: unknown): void {
    if (CLOSING.has(method)) {
      this.#socket.socket.disconnect(true);
    }
  }

  notifyFrame(method: string, _frame: string): void {
    this.notify(method, undefined);
  }

  nodeLost(): void {}

  ping(): void {} // socket.io pings on its own (pingInterval)

  /** The socket closed: its streams leave the room, and so does its member. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#sub?.unsubscribe();
    for (const id of this.#own) {
      void this.#removeStream(id);
    }
    this.#own.clear();
    if (this.#record) {
      const o = this.#o;
      o.bus.publish(roomSubjects.leave(o.dc), {
        room: o.room,
        uid: o.ident.identity,
        conn: this.conn,
        reason: 'client-leave',
      });
      this.#record = undefined;
    }
  }

  // ---- client events

  #listen(): void {
    const s = this.#socket;
    const on = <T>(
      event: string,
      schema: z.ZodType<T>,
      failure: (ack: Ack, reason: string) => void,
      handler: (p: T, ack: Ack) => Promise<void> | void,
    ) => {
      s.on(event, (msg, ack) => {
        const p = schema.safeParse(msg);
        if (!p.success) {
          failure(ack, invalid(event, p.error));
          return;
        }
        Promise.resolve(handler(p.data, ack)).catch((err: unknown) => {
          logger.warn({ err, event, conn: this.conn }, 'Licode event failed');
          failure(ack, 'internal error');
        });
      });
    };
    /** `sendSDP` calls (publish, subscribe) fail with (null, null, reason), `sendMessage` ones with (null, reason). */
    const sdpFailure = (ack: Ack, reason: string) => ack(null, null, reason);
    const messageFailure = (ack: Ack, reason: string) => ack(null, reason);

    on('publish', licodeEvents.publish, sdpFailure, (p, ack) => this.#publish(p, ack));
    on('subscribe', licodeEvents.subscribe, sdpFailure, (p, ack) => this.#subscribe(p, ack));
    on('unpublish', licodeEvents.unpublish, messageFailure, (id, ack) => this.#unpublish(id, ack));
    on('unsubscribe', licodeEvents.unsubscribe, messageFailure, (id, ack) => {
      if (!this.#dataSubscriptions.delete(id)) {
        ack(null, `not subscribed to stream ${id}`);
        return;
      }
      ack(true);
    });
    on('sendDataStream', licodeEvents.sendDataStream, messageFailure, (p, ack) =>
      this.#ownStream(p.id, ack, () => {
        this.#publishRoom({ type: 'data', id: p.id, msg: p.msg });
      }),
    );
    on('updateStreamAttributes', licodeEvents.updateStreamAttributes, messageFailure, (p, ack) =>
      this.#ownStream(p.id, ack, async (rec) => {
        rec.stream.attributes = p.attrs;
        await this.#o.store.hset(licodeKeys.streams(this.#o.dc, this.#o.room), {
          [String(p.id)]: JSON.stringify(rec),
        });
        this.#publishRoom({ type: 'attributes', id: p.id, attrs: p.attrs });
      }),
    );
    s.on('clientDisconnection', () => s.socket.disconnect(true));
    for (const event of [
      'connectionMessage',
      'streamMessage',
      'startRecorder',
      'stopRecorder',
      'getStreamStats',
      'setStreamPriorityStrategy',
      'setConnectionTargetBandwidth',
      'streamMessageP2P',
    ]) {
      s.on(event, (_msg, ack) => ack(null, unsupported(event)));
    }
  }

  async #publish(p: z.infer<typeof licodeEvents.publish>, ack: Ack): Promise<void> {
    const { options } = p;
    const g = this.#o.ident;
    if (options.state === 'data') {
      if (!g.canPublishData) {
        ack(null, null, UNAUTHORIZED);
        return;
      }
      const stream: PublicStream = {
        id: dataStreamId(),
        audio: false,
        video: false,
        data: true,
        label: options.label ?? '',
        ...(options.screen !== undefined ? { screen: options.screen } : {}),
        ...(options.attributes ? { attributes: options.attributes } : {}),
      };
      const rec: LicodeStreamRecord = { stream, owner: this.conn };
      await this.#o.store.hset(licodeKeys.streams(this.#o.dc, this.#o.room), {
        [String(stream.id)]: JSON.stringify(rec),
      });
      this.#own.add(stream.id);
      ack(stream.id);
      this.#publishRoom({ type: 'add', record: rec });
      return;
    }
    if (!g.canPublish) {
      ack(null, null, UNAUTHORIZED);
      return;
    }
    ack(null, null, unsupported(`publishing a stream in state "${options.state}"`));
  }

  async #subscribe(p: z.infer<typeof licodeEvents.subscribe>, ack: Ack): Promise<void> {
    if (!this.#o.ident.canSubscribe) {
      ack(null, null, UNAUTHORIZED);
      return;
    }
    const { streamId } = p.options;
    const rec = await this.#stream(streamId);
    if (!rec) {
      ack(null, null, `stream ${streamId} does not exist`);
      return;
    }
    if (rec.stream.data && !rec.msid) {
      if (p.options.data !== false) {
        this.#dataSubscriptions.add(streamId);
      }
      ack(true);
      return;
    }
    ack(null, null, unsupported('subscribing to a media stream'));
  }

  async #unpublish(id: number, ack: Ack): Promise<void> {
    if (!this.#own.has(id)) {
      ack(null, UNAUTHORIZED); // only its publisher unpublishes a stream
      return;
    }
    this.#own.delete(id);
    await this.#removeStream(id);
    ack(true);
  }

  /** Runs `then` for a stream of this client's own; anything else is refused. */
  async #ownStream(
    id: number,
    ack: Ack,
    then: (rec: LicodeStreamRecord) => Promise<void> | void,
  ): Promise<void> {
    const rec = this.#own.has(id) ? await this.#stream(id) : undefined;
    if (!rec) {
      ack(null, this.#own.has(id) ? `stream ${id} does not exist` : UNAUTHORIZED);
      return;
    }
    await then(rec);
    ack(true);
  }

  async #removeStream(id: number): Promise<void> {
    const o = this.#o;
    try {
      await o.store.hdel(licodeKeys.streams(o.dc, o.room), String(id));
    } catch (err) {
      logger.warn({ err, room: o.room, id }, 'removing a Licode stream from the Store failed');
    }
    this.#publishRoom({ type: 'remove', id });
  }

  // ---- the room's streams

  async #stream(id: number): Promise<LicodeStreamRecord | undefined> {
    const o = this.#o;
    const all = await o.store.hgetall(licodeKeys.streams(o.dc, o.room));
    const raw = all[String(id)];
    if (raw === undefined) {
      return undefined;
    }
    const r = licodeStreamRecord.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  }

  async #streams(): Promise<PublicStream[]> {
    const o = this.#o;
    const all = await o.store.hgetall(licodeKeys.streams(o.dc, o.room));
    const out: PublicStream[] = [];
    for (const raw of Object.values(all)) {
      const r = licodeStreamRecord.safeParse(JSON.parse(raw));
      if (r.success) {
        out.push(r.data.stream);
      }
    }
    return out;
  }

  #publishRoom(e: LicodeRoomEvent): void {
    this.#o.bus.publish(licodeSubjects.room(this.#o.dc, this.#o.room), e);
  }

  #onRoomEvent(e: LicodeRoomEvent): void {
    switch (e.type) {
      case 'add':
        this.#socket.emit('onAddStream', e.record.stream);
        return;
      case 'remove':
        this.#dataSubscriptions.delete(e.id);
        this.#socket.emit('onRemoveStream', { id: e.id });
        return;
      case 'data':
        if (this.#dataSubscriptions.has(e.id)) {
          this.#socket.emit('onDataStream', { id: e.id, msg: e.msg });
        }
        return;
      case 'attributes':
        if (this.#dataSubscriptions.has(e.id)) {
          this.#socket.emit('onUpdateAttributeStream', { id: e.id, attrs: e.attrs });
        }
        return;
    }
  }
}
