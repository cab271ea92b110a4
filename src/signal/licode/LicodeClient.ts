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
  LICODE_PRESENTER_ROLES,
  licodeConnectionMessage,
  licodeEvents,
  licodeRecorderEvents,
  licodeStreamMessage,
  mediaStreamId,
  UNAUTHORIZED,
  type LicodeRoomEvent,
  type LicodeStreamRecord,
  type PublicStream,
} from '../../protocol/licode.ts';
import { roomNotifications, roomSubjects, type MemberRecord } from '../../protocol/room.ts';
import { RECONNECT_NOTIFICATION, type RosterMessage } from '../../protocol/cluster.ts';
import { recordingSubjects, type RecordingInfo, type RecordingRequest } from '../../protocol/recording.ts';
import type { SignalClient } from '../SignalClient.ts';
import { LicodeConnection } from './LicodeConnection.ts';
import { LicodeRoom } from './LicodeRoom.ts';
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
  cluster: string;
  /** This signal instance's region (`[global] dc`): its clients are placed on media nodes of it. */
  dc: string;
  bus: Bus;
  store: Store;
  ident: JoinIdentity;
  /** The room's id, as the room role admitted us. */
  room: string;
  member: MemberRecord | undefined;
  iceServers: unknown[];
  bandwidth: LicodeBandwidth;
  /** A peer connection of this client starts or stops taking notifications (SignalRole routes them). */
  added: (c: SignalClient) => void;
  removed: (c: SignalClient) => void;
  /** `[signal.limits]` per address: a refusal text, or undefined and the peer counts until `endPeer`. */
  beginPeer: () => string | undefined;
  endPeer: () => void;
}

/** erizo.js sends the erizoId back with every connection message; one media service answers them all. */
const ERIZO_ID = 'switchboard';

/** Room-service notifications after which the client is disconnected. */
const CLOSING = new Set<string>([roomNotifications.kicked, roomNotifications.ended, RECONNECT_NOTIFICATION]);

/** What erizo.js gets for a call Switchboard does not serve (yet): said plainly, in its error callback. */
const unsupported = (what: string) => `${what} is not supported by Switchboard`;

/**
 * A refused `publish` or `subscribe`. erizo.js reads the reason from the 4th argument of a media
 * call's ack (`(id, erizoId, connectionId, error)`) and the 2nd of a data call's (`(id, error)`);
 * Licode's own server puts it 2nd or 3rd. The reason goes in each of those places.
 */
function refuse(ack: Ack, reason: string): void {
  ack(null, reason, reason, reason);
}

/** A payload `schema` refused: the first issue, named by its path. */
function invalid(event: string, err: z.ZodError): string {
  const i = err.issues[0];
  return `invalid ${event}: ${i ? `${i.path.join('.') || 'payload'}: ${i.message}` : 'bad payload'}`;
}

export class LicodeClient {
  readonly conn: string;
  readonly #o: LicodeClientOptions;
  readonly #socket: ReliableSocket;
  readonly #room: LicodeRoom;
  /** Ids of the data streams this client subscribed to (it gets their messages and attribute updates). */
  readonly #dataSubscriptions = new Set<number>();
  /** The streams this client published: id → msid (its label) for a media stream. */
  readonly #own = new Map<number, string | undefined>();
  /** Streams the client was told of (`connected`, `onAddStream`) and not yet told are gone. */
  readonly #announced = new Map<number, { stream: PublicStream; msid?: string | undefined }>();
  /** Media streams of the room's roster, msid → Licode id. */
  #media = new Map<string, number>();
  /** Its peer connections by Licode connection id, each with its queue of messages. */
  readonly #connections = new Map<string, { c: LicodeConnection; queue: Promise<void> }>();
  #nextConnection = 1;
  /** A roster arrived on the Bus: the snapshot asked of the owner at start is older. */
  #rosterSeen = false;
  /** `connected` went out: from now on streams are announced one by one. */
  #connectedSent = false;
  #sub: Subscription | undefined;
  #rosterSub: Subscription | undefined;
  #record: MemberRecord | undefined;
  #closed = false;

  constructor(socket: ReliableSocket, o: LicodeClientOptions) {
    this.conn = o.conn;
    this.#o = o;
    this.#room = new LicodeRoom({
      bus: o.bus,
      store: o.store,
      cluster: o.cluster,
      room: o.room,
      signalNode: o.signalNode,
    });
    this.#socket = socket;
    this.#record = o.member;
  }

  /** Subscribes to the room's events, sends `connected` with the room's streams, and listens. */
  async start(): Promise<void> {
    const o = this.#o;
    this.#sub = this.#room.watch((e) => this.#onRoomEvent(e));
    this.#rosterSub = this.#room.watchRoster((peers) => {
      this.#rosterSeen = true;
      void this.#onRoster(peers);
    });
    await o.bus.flush();
    for (const rec of await this.#room.records()) {
      if (!rec.msid) {
        this.#announced.set(rec.stream.id, { stream: rec.stream });
      }
    }
    const peers = await this.#room.roster();
    if (!this.#rosterSeen) {
      await this.#onRoster(peers, true);
    }
    this.#connectedSent = true;
    this.#socket.emit('connected', {
      streams: [...this.#announced.values()].map((a) => a.stream),
      id: o.room,
      clientId: this.conn,
      singlePC: false,
      p2p: false,
      defaultVideoBW: o.bandwidth.defaultVideoBW,
      maxVideoBW: o.bandwidth.maxVideoBW,
      iceServers: o.iceServers,
    });
    this.#listen();
    o.bus.publish(roomSubjects.joined(o.cluster), { room: o.room, uid: o.ident.identity, conn: this.conn });
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
    this.#rosterSub?.unsubscribe();
    for (const { c } of [...this.#connections.values()]) {
      this.#endConnection(c);
    }
    for (const id of this.#own.keys()) {
      void this.#room.remove(id);
    }
    this.#own.clear();
    if (this.#record) {
      const o = this.#o;
      o.bus.publish(roomSubjects.leave(o.cluster), {
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
    /** `sendSDP` calls (publish, subscribe) fail as `refuse` says, `sendMessage` ones with (null, reason). */
    const sdpFailure = refuse;
    const messageFailure = (ack: Ack, reason: string) => ack(null, reason);

    on('publish', licodeEvents.publish, sdpFailure, (p, ack) => this.#publish(p, ack));
    on('subscribe', licodeEvents.subscribe, sdpFailure, (p, ack) => this.#subscribe(p, ack));
    on('unpublish', licodeEvents.unpublish, messageFailure, (id, ack) => this.#unpublish(id, ack));
    on('unsubscribe', licodeEvents.unsubscribe, messageFailure, (id, ack) => {
      const data = this.#dataSubscriptions.delete(id);
      const media = this.#connectionOf('subscribe', id);
      if (!data && !media) {
        ack(null, `not subscribed to stream ${id}`);
        return;
      }
      ack(true);
      const msid = media ? this.#announced.get(id)?.msid : undefined;
      if (media && msid !== undefined) {
        // Outside the connection's queue: the client's answer to the ending re-offer goes through it.
        void media
          .end(msid)
          .catch((err: unknown) => logger.debug({ err, conn: media.conn }, 'ending a subscription'))
          .finally(() => this.#endConnection(media));
      } else if (media) {
        this.#endConnection(media);
      }
    });
    on('sendDataStream', licodeEvents.sendDataStream, messageFailure, (p, ack) =>
      this.#ownStream(p.id, ack, () => {
        this.#room.publish({ type: 'data', id: p.id, msg: p.msg });
      }),
    );
    on('updateStreamAttributes', licodeEvents.updateStreamAttributes, messageFailure, (p, ack) =>
      this.#ownStream(p.id, ack, async (rec) => {
        rec.stream.attributes = p.attrs;
        await this.#room.put(rec);
        this.#room.publish({ type: 'attributes', id: p.id, attrs: p.attrs });
      }),
    );
    on('connectionMessage', licodeConnectionMessage, messageFailure, (p, ack) => {
      this.#connectionMessage(p.options.connectionId, p.options.msg, ack);
    });
    on('streamMessage', licodeStreamMessage, messageFailure, (p, ack) => this.#streamMessage(p.options, ack));
    on('startRecorder', licodeRecorderEvents.startRecorder, messageFailure, (p, ack) =>
      this.#recorder(ack, () => {
        const msid = this.#announced.get(p.to)?.msid;
        return msid === undefined
          ? `stream ${p.to} does not exist`
          : { op: 'start', room: this.#o.room, streamId: msid };
      }),
    );
    on('stopRecorder', licodeRecorderEvents.stopRecorder, messageFailure, (p, ack) =>
      this.#recorder(ack, () => ({ op: 'stop', room: this.#o.room, id: p.id })),
    );
    on('getStreamStats', licodeRecorderEvents.getStreamStats, messageFailure, (id, ack) =>
      this.#streamStats(id, ack),
    );
    s.on('clientDisconnection', () => s.socket.disconnect(true));
    for (const event of ['setStreamPriorityStrategy', 'setConnectionTargetBandwidth', 'streamMessageP2P']) {
      s.on(event, (_msg, ack) => ack(null, unsupported(event)));
    }
  }

  async #publish(p: z.infer<typeof licodeEvents.publish>, ack: Ack): Promise<void> {
    const { options } = p;
    const g = this.#o.ident;
    if (options.state === 'data') {
      if (!g.canPublishData) {
        refuse(ack, UNAUTHORIZED);
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
      await this.#room.put(rec);
      this.#own.set(stream.id, undefined);
      ack(stream.id);
      this.#room.publish({ type: 'add', record: rec });
      return;
    }
    if (!g.canPublish) {
      refuse(ack, UNAUTHORIZED);
      return;
    }
    if (options.state !== 'erizo') {
      refuse(ack, unsupported(`publishing a stream in state "${options.state}"`));
      return;
    }
    // erizo.js labels a stream with its MediaStream's id, which is the msid of its offer: the media
    // node's roster knows the stream by it, and so does every other client.
    const label = options.label;
    if (label === undefined || label === '') {
      refuse(ack, 'invalid publish: options.label: the MediaStream id is required');
      return;
    }
    const id = mediaStreamId(this.#o.room, label);
    if (this.#own.has(id)) {
      refuse(ack, `stream ${label} is published already`);
      return;
    }
    const stream: PublicStream = {
      id,
      audio: options.audio ?? false,
      video: options.video ?? false,
      data: options.data ?? false,
      label,
      ...(options.screen !== undefined ? { screen: options.screen } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
    };
    const c = this.#newConnection('publish', id);
    if (typeof c === 'string') {
      refuse(ack, c);
      return;
    }
    this.#own.set(id, label); // from here on, its leaving removes the record below
    const rec: LicodeStreamRecord = { stream, owner: this.#o.conn, msid: label };
    await this.#room.put(rec);
    ack(id, ERIZO_ID, c.id);
    // onAddStream goes out once the media node's roster has the stream (its media arrived).
  }

  #subscribe(p: z.infer<typeof licodeEvents.subscribe>, ack: Ack): void {
    if (!this.#o.ident.canSubscribe) {
      refuse(ack, UNAUTHORIZED);
      return;
    }
    const { streamId } = p.options;
    const known = this.#announced.get(streamId);
    if (!known) {
      refuse(ack, `stream ${streamId} does not exist`);
      return;
    }
    const wantsData = p.options.data !== false && known.stream.data;
    if (!known.msid) {
      if (wantsData) {
        this.#dataSubscriptions.add(streamId);
      }
      ack(true);
      return;
    }
    if (this.#connectionOf('subscribe', streamId)) {
      refuse(ack, `already subscribed to stream ${streamId}`);
      return;
    }
    const c = this.#newConnection('subscribe', streamId);
    if (typeof c === 'string') {
      refuse(ack, c);
      return;
    }
    if (wantsData) {
      this.#dataSubscriptions.add(streamId);
    }
    ack(true, ERIZO_ID, c.id);
    // The media node offers first: its offer reaches the client as connection_message_erizo.
    this.#enqueue(c.id, async () => {
      await c.join(this.#joinParams(c, undefined, known.msid));
    });
  }

  async #unpublish(id: number, ack: Ack): Promise<void> {
    if (!this.#own.has(id)) {
      ack(null, UNAUTHORIZED); // only its publisher unpublishes a stream
      return;
    }
    this.#own.delete(id);
    const c = this.#connectionOf('publish', id);
    if (c) {
      this.#endConnection(c);
    }
    await this.#room.remove(id);
    ack(true);
  }

  /** Runs `then` for a stream of this client's own; anything else is refused. */
  async #ownStream(
    id: number,
    ack: Ack,
    then: (rec: LicodeStreamRecord) => Promise<void> | void,
  ): Promise<void> {
    const rec = this.#own.has(id) ? await this.#room.get(id) : undefined;
    if (!rec) {
      ack(null, this.#own.has(id) ? `stream ${id} does not exist` : UNAUTHORIZED);
      return;
    }
    await then(rec);
    ack(true);
  }

  // ---- the room's streams

  /**
   * The room's media streams changed: new ones are announced (`onAddStream`, with what a Licode
   * publisher said of its stream), gone ones retracted (`onRemoveStream`). `quiet`: the first
   * roster, which goes out in `connected`.
   */
  async #onRoster(peers: RosterMessage['peers'], quiet = false): Promise<void> {
    const now = new Map<string, { audio: boolean; video: boolean }>();
    for (const p of peers) {
      for (const st of p.streams) {
        now.set(st.streamId, { audio: st.audio, video: st.video });
      }
    }
    const fresh = [...now.keys()].filter((m) => !this.#media.has(m));
    const records = fresh.length > 0 ? await this.#room.records() : [];
    if (this.#closed) {
      return;
    }
    for (const [msid, id] of this.#media) {
      if (!now.has(msid)) {
        this.#media.delete(msid);
        this.#retract(id);
      }
    }
    for (const msid of fresh) {
      const rec = records.find((r) => r.msid === msid);
      const kinds = now.get(msid)!;
      const stream: PublicStream = rec?.stream ?? {
        id: mediaStreamId(this.#o.room, msid),
        audio: kinds.audio,
        video: kinds.video,
        data: false,
        label: msid,
      };
      this.#media.set(msid, stream.id);
      this.#announce(stream, msid, quiet);
    }
  }

  #announce(stream: PublicStream, msid: string | undefined, quiet = false): void {
    if (this.#announced.has(stream.id)) {
      return;
    }
    this.#announced.set(stream.id, { stream, msid });
    // Before `connected` nothing is told: that list carries what is announced by then.
    if (!quiet && this.#connectedSent) {
      this.#socket.emit('onAddStream', stream);
    }
  }

  #retract(id: number): void {
    if (!this.#announced.delete(id)) {
      return;
    }
    this.#dataSubscriptions.delete(id);
    const sub = this.#connectionOf('subscribe', id);
    if (sub) {
      this.#endConnection(sub); // its publisher left: nothing more to receive
    }
    if (this.#connectedSent) {
      this.#socket.emit('onRemoveStream', { id });
    }
  }

  // ---- peer connections

  /** A new peer connection, or the refusal of `[signal.limits]` (peers per address, join rate). */
  #newConnection(kind: 'publish' | 'subscribe', streamId: number): LicodeConnection | string {
    const o = this.#o;
    const refused = o.beginPeer();
    if (refused !== undefined) {
      return refused;
    }
    const id = String(this.#nextConnection++);
    const c = new LicodeConnection({
      id,
      conn: `${o.conn}.${id}`,
      signalNode: o.signalNode,
      cluster: o.cluster,
      dc: o.dc,
      bus: o.bus,
      room: o.room,
      kind,
      streamId,
      emit: (event, payload) => this.#socket.emit(event, payload),
    });
    this.#connections.set(id, { c, queue: Promise.resolve() });
    o.added(c);
    return c;
  }

  #connectionOf(kind: 'publish' | 'subscribe', streamId: number): LicodeConnection | undefined {
    for (const { c } of this.#connections.values()) {
      if (c.kind === kind && c.streamId === streamId) {
        return c;
      }
    }
    return undefined;
  }

  #endConnection(c: LicodeConnection): void {
    if (this.#connections.delete(c.id)) {
      this.#o.endPeer();
    }
    this.#o.removed(c);
    c.close();
  }

  /** Messages of one connection run one after the other (a candidate waits for the join before it). */
  #enqueue(id: string, task: () => Promise<void>): void {
    const entry = this.#connections.get(id);
    if (!entry) {
      return;
    }
    entry.queue = entry.queue.then(task).catch((err: unknown) => {
      logger.info({ err, conn: entry.c.conn }, 'Licode connection failed');
      this.#socket.emit('connection_failed', { type: entry.c.kind, streamId: entry.c.streamId });
      if (this.#connections.get(id) === entry) {
        this.#endConnection(entry.c);
      }
    });
  }

  #joinParams(c: LicodeConnection, offer: string | undefined, subscribe: string | undefined) {
    const g = this.#o.ident;
    return {
      sid: this.#o.room,
      uid: `${g.identity}~licode~${c.conn.split('/')[1]!}`,
      name: g.name ?? g.identity,
      ...(offer !== undefined ? { offer: { type: 'offer' as const, sdp: offer } } : {}),
      grants: {
        canPublish: g.canPublish,
        canSubscribe: g.canSubscribe,
        canPublishData: g.canPublishData,
        hidden: g.hidden,
        roomAdmin: g.roomAdmin,
      },
      licode: { member: g.identity, ...(subscribe !== undefined ? { subscribe } : {}) },
    };
  }

  /**
   * `streamMessage` `updatestream`: `muteStream` of its own stream stops (and restarts) forwarding it
   * to everyone; of a subscription, to this client only, where `qualityLayer` caps the simulcast
   * layer (spatial 0 low, 1 medium, 2 and up or -1 for automatic: high). Other settings are taken and
   * left alone (bandwidth, slideshow, priorities: the layer selection decides).
   */
  async #streamMessage(o: z.infer<typeof licodeStreamMessage>['options'], ack: Ack): Promise<void> {
    if (o.msg.type !== 'updatestream') {
      ack(null, unsupported(`stream message "${o.msg.type}"`));
      return;
    }
    const { muteStream, qualityLayer } = o.msg.config;
    const own = this.#connectionOf('publish', o.streamId);
    const sub = own ? undefined : this.#connectionOf('subscribe', o.streamId);
    const msid = own ? this.#own.get(o.streamId) : this.#announced.get(o.streamId)?.msid;
    if ((!own && !sub) || msid === undefined) {
      ack(null, `no connection carries stream ${o.streamId}`);
      return;
    }
    if (own) {
      for (const kind of ['audio', 'video'] as const) {
        const muted = muteStream?.[kind];
        if (muted !== undefined) {
          await own.request('mute', { streamId: msid, kind, muted }).catch(() => undefined); // no such track: nothing to mute
        }
      }
    } else if (sub && (muteStream || qualityLayer)) {
      const layer = qualityLayer ? (['low', 'medium'][qualityLayer.spatialLayer] ?? 'high') : 'high';
      await sub.request('layer', {
        streamId: msid,
        ...(muteStream?.audio !== undefined ? { audio: !muteStream.audio } : {}),
        ...(muteStream?.video !== undefined || qualityLayer
          ? { video: muteStream?.video ? 'none' : layer }
          : {}),
      });
    }
    ack(true);
  }

  /**
   * `startRecorder` / `stopRecorder` on Switchboard's recording (docs/recording.md): Licode's roles
   * with `record` (presenter; our host) or a room admin; the request goes to the room's media nodes
   * until one holds the stream (or the recording). Acks `(recordingId)` / `(true)`, or `(null, reason)`.
   */
  async #recorder(ack: Ack, build: () => RecordingRequest | string): Promise<void> {
    const g = this.#o.ident;
    if (!g.roomAdmin && !LICODE_PRESENTER_ROLES.has(g.role ?? '')) {
      ack(null, UNAUTHORIZED);
      return;
    }
    const req = build();
    if (typeof req === 'string') {
      ack(null, req);
      return;
    }
    const o = this.#o;
    const nodes = await this.#room.nodes();
    let reason = 'the room has no media yet';
    for (const node of nodes) {
      try {
        const info = await o.bus.request<RecordingInfo>(recordingSubjects.sfu(o.cluster, node), req, {
          timeoutMs: 10_000,
        });
        ack(req.op === 'start' ? info.id : true);
        return;
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
    }
    ack(null, reason);
  }

  /**
   * `getStreamStats`: what the media node receiving the stream from its publisher measures, per
   * track and simulcast layer, in Licode's shape (`publisher` by ssrc, `total`); Licode's `stats`
   * permission (presenter; our host) or a room admin.
   */
  async #streamStats(id: number, ack: Ack): Promise<void> {
    const o = this.#o;
    if (!o.ident.roomAdmin && !LICODE_PRESENTER_ROLES.has(o.ident.role ?? '')) {
      ack(null, UNAUTHORIZED);
      return;
    }
    const msid = this.#announced.get(id)?.msid;
    if (msid === undefined) {
      ack(null, `stream ${id} has no media`);
      return;
    }
    const stats = await this.#room.streamStats(msid);
    if (!stats) {
      ack(null, `stream ${id} has no media`);
      return;
    }
    const publisher: Record<string, unknown> = {};
    let bitrate = 0;
    let subscribers = 0;
    for (const t of stats.tracks) {
      subscribers = Math.max(subscribers, t.subscribers);
      for (const l of t.layers) {
        bitrate += l.bitrate;
        publisher[String(l.ssrc)] = {
          type: t.kind,
          codec: t.codec,
          ...(l.rid ? { rid: l.rid } : {}),
          packetsReceived: l.packets,
          bytesReceived: l.bytes,
          bitrateCalculated: l.bitrate,
          ...(t.kind === 'video' && l.width > 0 ? { width: l.width, height: l.height } : {}),
        };
      }
    }
    ack({ publisher: { ...publisher, total: { bitrateCalculated: bitrate } }, subscribers });
  }

  /** `connectionMessage`: the client's offer, answer or candidates for one of its connections. */
  #connectionMessage(
    id: string,
    msg: z.infer<typeof licodeConnectionMessage>['options']['msg'],
    ack: Ack,
  ): void {
    const entry = this.#connections.get(id);
    if (!entry) {
      ack(null, `connection ${id} does not exist`);
      return;
    }
    const c = entry.c;
    ack();
    switch (msg.type) {
      case 'offer':
        if (c.kind !== 'publish') {
          return; // a subscriber connection's offers are the server's
        }
        this.#enqueue(id, async () => {
          const sdp =
            c.node === undefined
              ? await c.join(this.#joinParams(c, msg.sdp, undefined))
              : await c.offer(msg.sdp);
          this.#socket.emit('connection_message_erizo', {
            connectionId: id,
            info: 202,
            evt: { type: 'answer', sdp },
          });
        });
        return;
      case 'answer':
        this.#enqueue(id, () => c.answer(msg.sdp));
        return;
      case 'candidate':
        this.#enqueue(id, () => c.candidate(msg.candidate));
        return;
      default:
        logger.debug({ conn: c.conn, type: msg.type }, 'Licode connection message');
    }
  }

  #onRoomEvent(e: LicodeRoomEvent): void {
    switch (e.type) {
      case 'add':
        if (!e.record.msid) {
          this.#announce(e.record.stream, undefined); // media streams: once the roster has them
        }
        return;
      case 'remove':
        if (!this.#announced.get(e.id)?.msid) {
          this.#retract(e.id);
        }
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
