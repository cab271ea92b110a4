/**
 * One LiveKit client on `/rtc` (livekit-client's two-PC "v0" path, livekit-protocol.md §1): binary
 * protobuf `SignalRequest` / `SignalResponse` frames translated onto the media node's peer requests
 * (join without offer, offer, answer, trickle, mute, subscription, leave) and its notifications
 * (subscriber offers, trickles, rosters, audio levels) back. A member of its token's room like any
 * other client, so LiveKit clients share rooms with every other protocol.
 */
import type { WebSocket } from 'ws';
import {
  ClientConfigSetting,
  ClientConfiguration,
  DisconnectReason,
  ICEServer,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantUpdate,
  Pong,
  Room,
  ServerInfo,
  ServerInfo_Edition,
  SessionDescription,
  SignalRequest,
  SignalResponse,
  SignalTarget,
  SpeakersChanged,
  TrackPublishedResponse,
  TrackSource,
  TrickleRequest,
  VideoQuality,
  type AddTrackRequest,
  type ParticipantInfo,
} from '@livekit/protocol';
import type { Bus } from '../../backbone/index.ts';
import { RECONNECT_NOTIFICATION, rosterMessage, subjects, type PeerRequest } from '../../protocol/cluster.ts';
import {
  grantsOfVideo,
  LIVEKIT_LEVELS_NOTIFICATION,
  LIVEKIT_PROTOCOL,
  LIVEKIT_SERVER_VERSION,
  livekitSid,
  type LiveKitMemberInfo,
  type LiveKitToken,
} from '../../protocol/livekit.ts';
import { livekitInfoOf, participantInfo } from '../../protocol/livekitParticipant.ts';
import { roomNotifications, roomSubjects, type MemberRecord, type PeerInfo } from '../../protocol/room.ts';
import type { ClientIceServer } from '../../turn/index.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { admit, mediaGrantsOf, roomCall } from '../admission.ts';
import type { JoinIdentity } from '../Authenticator.ts';
import { placeAndJoin } from '../placement.ts';
import type { SignalClient } from '../SignalClient.ts';
import { regroupStreams, renameMsids } from './msid.ts';
import { PublishedTracks, SOURCE_NAMES } from './PublishedTracks.ts';
import { RoomState } from './RoomState.ts';
import { SocketLiveness } from '../SocketLiveness.ts';
import { Speakers } from './Speakers.ts';

/** livekit-client pings every 5 s and gives up after 15 s of silence (JoinResponse ping fields). */
const PING_INTERVAL_S = 5;
const PING_TIMEOUT_S = 15;
/** The join response waits this long for the room's first roster (it lists the other participants). */
const FIRST_ROSTER_MS = 1500;
/** A subscriber offer naming a track the roster does not know yet waits this long for the roster. */
const OFFER_HOLD_MS = 2000;
const REQUEST_TIMEOUT_MS = 15_000;
/** Frames waiting to be handled; more close the socket (a client awaits its answers). */
const MAX_PENDING_FRAMES = 256;

/** Notifications that end the connection, with the reason the client is told. */
const ENDING: Record<string, DisconnectReason> = {
  [roomNotifications.kicked]: DisconnectReason.PARTICIPANT_REMOVED,
  [roomNotifications.ended]: DisconnectReason.ROOM_DELETED,
};

/** LiveKit's qualities as layer ceilings of the media node (`layer` f/h/q). */
const QUALITY_LAYER: Partial<Record<VideoQuality, 'q' | 'h' | 'f'>> = {
  [VideoQuality.LOW]: 'q',
  [VideoQuality.MEDIUM]: 'h',
  [VideoQuality.HIGH]: 'f',
};

export interface LiveKitClientOptions {
  conn: string;
  signalNode: string;
  cluster: string;
  dc: string;
  bus: Bus;
  token: LiveKitToken;
  /** `auto_subscribe` of the URL (default on). */
  autoSubscribe: boolean;
  iceServers: (identity: string) => ClientIceServer[];
  beginPeer: () => string | undefined;
  endPeer: () => void;
}

export class LiveKitClient implements SignalClient {
  readonly conn: string;
  readonly #ws: WebSocket;
  readonly #o: LiveKitClientOptions;
  readonly #ident: JoinIdentity;
  /** The room's name (the token's `room`), what LiveKit clients call it. */
  readonly #roomName: string;
  /** The room's id (from its admission): LiveKit sids derive from it, as on the media node. */
  #roomId: string;
  #roomMetadata: string | undefined;
  #state: RoomState;
  #node: string | undefined;
  #member: { room: string; uid: string } | undefined;
  #record: MemberRecord | undefined;
  #joined = false;
  #closed = false;
  #holdsPeer = false;
  /** Notifications that came before the join response went out. */
  #early: { method: string; params: unknown }[] = [];
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Server offers (subscriber PC) are numbered; the client answers with the id. */
  #offerId = 0;
  #heldOffer: { sdp: string; timer: NodeJS.Timeout } | undefined;
  #firstRoster: (() => void) | undefined;
  /** What we publish (add_track), with the room's id once admitted. */
  #tracks: PublishedTracks;
  readonly #speakers = new Speakers();
  readonly #liveness: SocketLiveness;
  /** Versions of our own ParticipantInfo after the join response's (0). */
  #selfVersion = 0;
  readonly #joinedAt = Date.now();

  constructor(ws: WebSocket, o: LiveKitClientOptions) {
    this.#ws = ws;
    this.#o = o;
    this.conn = o.conn;
    const t = o.token;
    const g = t.video;
    this.#roomName = g.room ?? '';
    this.#roomId = this.#roomName;
    this.#ident = {
      identity: t.identity,
      name: t.name,
      room: this.#roomName,
      exp: t.exp,
      service: t.service,
      anonymous: false,
      ...grantsOfVideo(g),
      api: false,
    };
    this.#state = new RoomState(this.#roomName, t.identity);
    this.#tracks = this.#publishedTracks();
    this.#liveness = new SocketLiveness(ws, o.conn);
  }

  // ---- SignalClient

  get node(): string | undefined {
    return this.#node;
  }

  get membership(): { room: string; member: MemberRecord } | undefined {
    return this.#member && this.#record ? { room: this.#member.room, member: this.#record } : undefined;
  }

  /**
   * The room role changed our record (RoomService UpdateParticipant, a host, our own update): the
   * client hears of its new name, metadata or attributes as LiveKit's server tells it, by an update
   * of its own participant.
   */
  updateRecord(m: MemberRecord): void {
    if (this.#record && m.conn === this.conn) {
      const before = this.#joined ? this.#selfInfo().toJsonString() : undefined;
      this.#record = m;
      if (before !== undefined && this.#selfInfo().toJsonString() !== before) {
        const self = this.#selfInfo();
        self.version = ++this.#selfVersion;
        this.#send(
          new SignalResponse({
            message: { case: 'update', value: new ParticipantUpdate({ participants: [self] }) },
          }),
        );
      }
    }
  }

  /** Our own ParticipantInfo (version 0: the caller numbers it). */
  #selfInfo(): ParticipantInfo {
    const t = this.#o.token;
    const self = participantInfo(this.#roomId, {
      uid: t.identity,
      name: this.#record?.name ?? t.name ?? t.identity,
      joinedAt: this.#record?.joinedAt ?? this.#joinedAt,
      info: this.#memberInfo(),
      grants: this.#ident,
      tracks: [],
    });
    self.permission!.canPublishSources = (t.video.canPublishSources ?? [])
      .map((s) => SOURCE_NAMES[s])
      .filter((s): s is TrackSource => s !== undefined);
    self.permission!.canUpdateMetadata = t.video.canUpdateOwnMetadata ?? false;
    return self;
  }

  notify(method: string, params: unknown): void {
    if (this.#closed) {
      return;
    }
    if (!this.#joined) {
      this.#early.push({ method, params });
      if (method === 'participants') {
        this.#onRoster(params, false);
        this.#firstRoster?.();
      } else if (method === roomNotifications.joined || method === roomNotifications.peer) {
        this.#onRoomEvent(method, params, false);
      }
      return;
    }
    this.#onNotification(method, params);
  }

  notifyFrame(method: string, frame: string): void {
    // Only JSON-RPC frames come this way: take the params back out.
    try {
      this.notify(method, (JSON.parse(frame) as { params?: unknown }).params);
    } catch {
      logger.debug({ conn: this.conn, method }, 'unreadable notification frame');
    }
  }

  nodeLost(): void {
    if (this.#node) {
      this.#leave(DisconnectReason.UNKNOWN_REASON, LeaveRequest_Action.RECONNECT);
    }
  }

  /** WebSocket pings besides LiveKit's own: a client gone without a FIN is noticed. */
  ping(): void {
    if (this.#closed) {
      return;
    }
    this.#liveness.ping();
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#heldOffer?.timer);
    this.#firstRoster?.();
    if (this.#node) {
      this.#forward('leave', null).catch(() => undefined);
    }
    this.#leaveRoom('client-leave');
    this.#endPeer();
  }

  // ---- joining

  /** Admits the participant, joins its media node and sends the join response. */
  async start(): Promise<void> {
    const o = this.#o;
    try {
      await this.#join();
    } catch (err) {
      const message = err instanceof SwitchboardError ? err.message : 'internal error';
      if (!(err instanceof SwitchboardError)) {
        logger.error({ err, conn: this.conn }, 'LiveKit join failed');
      } else {
        logger.info({ conn: this.conn, reason: err.message }, 'LiveKit join refused');
      }
      this.#send(
        new SignalResponse({
          message: {
            case: 'leave',
            value: new LeaveRequest({
              canReconnect: false,
              reason: DisconnectReason.JOIN_FAILURE,
              action: LeaveRequest_Action.DISCONNECT,
            }),
          },
        }),
      );
      this.#ws.close(4403, message.slice(0, 120));
      return;
    }
    if (this.#closed) {
      return;
    }
    // The first roster names the others; it follows the join within the node's debounce.
    if (!this.#state.rosterSeen) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FIRST_ROSTER_MS);
        this.#firstRoster = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#firstRoster = undefined;
    }
    if (this.#closed) {
      return;
    }
    const t = o.token;
    const self = this.#selfInfo();
    const others = this.#state.snapshot();
    const join = new JoinResponse({
      room: new Room({
        sid: livekitSid.room(this.#roomId),
        name: this.#roomName,
        numParticipants: others.length + 1,
        creationTime: BigInt(Math.floor(Date.now() / 1000)),
        metadata: this.#roomMetadata ?? '',
      }),
      participant: self,
      otherParticipants: others,
      serverVersion: LIVEKIT_SERVER_VERSION,
      serverInfo: new ServerInfo({
        edition: ServerInfo_Edition.Standard,
        version: LIVEKIT_SERVER_VERSION,
        protocol: LIVEKIT_PROTOCOL,
        region: o.dc,
        nodeId: this.#node ?? o.signalNode,
      }),
      iceServers: o.iceServers(t.identity).map(
        (s) =>
          new ICEServer({
            urls: Array.isArray(s.urls) ? s.urls : [s.urls],
            ...(s.username !== undefined ? { username: s.username } : {}),
            ...(s.credential !== undefined ? { credential: s.credential } : {}),
          }),
      ),
      // The subscriber PC comes first (its offer went out with the join); publishing negotiates the other.
      subscriberPrimary: this.#ident.canSubscribe,
      pingInterval: PING_INTERVAL_S,
      pingTimeout: PING_TIMEOUT_S,
      // No session resumption yet: a lost connection rejoins in full.
      clientConfiguration: new ClientConfiguration({ resumeConnection: ClientConfigSetting.DISABLED }),
    });
    this.#send(new SignalResponse({ message: { case: 'join', value: join } }));
    this.#joined = true;
    logger.info(
      { conn: this.conn, room: this.#roomName, identity: t.identity },
      'LiveKit participant joined',
    );
    for (const n of this.#early.splice(0)) {
      this.#onNotification(n.method, n.params, true);
    }
  }

  async #join(): Promise<void> {
    const o = this.#o;
    const ident = this.#ident; // roomJoin, room and identity: LiveKitEndpoint checked them before the upgrade
    const limited = o.beginPeer();
    if (limited !== undefined) {
      throw new SwitchboardError('limited', limited);
    }
    this.#holdsPeer = true;
    const a = await admit(
      { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode, protocol: 'livekit' },
      ident,
      ident.name ?? ident.identity,
      undefined,
      { info: this.#memberInfo() },
    );
    if (a.member) {
      this.#member = { room: a.room, uid: ident.identity };
      this.#record = a.member;
    }
    this.#roomId = a.room;
    this.#state = new RoomState(a.room, ident.identity);
    this.#tracks = this.#publishedTracks();
    this.#roomMetadata = (a.info as { metadata?: string } | undefined)?.metadata;
    const forwarded = {
      sid: a.room,
      uid: ident.identity,
      name: ident.name ?? ident.identity,
      grants: mediaGrantsOf(ident),
      livekit: { autoSubscribe: o.autoSubscribe },
    };
    try {
      await placeAndJoin(
        o.bus,
        o,
        a.room,
        (node) => (this.#node = node),
        () => this.#forward('join', forwarded),
      );
    } catch (err) {
      this.#node = undefined;
      this.#leaveRoom('join-failed');
      throw err;
    }
    if (this.#member) {
      o.bus.publish(roomSubjects.joined(o.cluster), { ...this.#member, conn: this.conn });
    }
  }

  /** What our member record's `info` holds: the token's metadata and attributes, our tracks. */
  #memberInfo(): LiveKitMemberInfo & { screen?: string } {
    const t = this.#o.token;
    // Once admitted, the record holds our metadata and attributes (RoomService may have changed them).
    const now = this.#record ? livekitInfoOf(this.#record.info) : undefined;
    const metadata = now ? now.metadata : t.metadata !== '' ? t.metadata.slice(0, 4096) : undefined;
    const attributes = now ? now.attributes : Object.keys(t.attributes).length > 0 ? t.attributes : undefined;
    const { tracks, screen } = this.#tracks.recorded();
    return {
      // The demo page and SDK show the stream a member marks as its screen large (web/, client/).
      ...(screen !== undefined ? { screen } : {}),
      livekit: {
        ...(metadata !== undefined ? { metadata } : {}),
        ...(attributes !== undefined ? { attributes } : {}),
        ...(tracks !== undefined ? { tracks } : {}),
      },
    };
  }

  #publishedTracks(): PublishedTracks {
    return new PublishedTracks(
      livekitSid.participant(this.#roomId, this.#ident.identity),
      this.#o.token.video.canPublishSources ?? [],
    );
  }

  // ---- client frames

  /** Queues a frame; frames are handled in arrival order. */
  receive(data: Buffer, isBinary: boolean): void {
    this.#liveness.heard();
    if (this.#pending >= MAX_PENDING_FRAMES) {
      this.#ws.close(1008, 'too many requests in flight');
      return;
    }
    let req: SignalRequest;
    try {
      req = isBinary ? SignalRequest.fromBinary(data) : SignalRequest.fromJsonString(data.toString('utf8'));
    } catch (err) {
      logger.debug({ err, conn: this.conn }, 'malformed LiveKit signal request');
      return;
    }
    this.#pending++;
    this.#queue = this.#queue
      .then(() => this.#handle(req))
      .catch((err: unknown) => {
        const known = err instanceof SwitchboardError;
        logger[known ? 'info' : 'error'](
          { err, conn: this.conn, request: req.message.case },
          'LiveKit signal request failed',
        );
      })
      .finally(() => this.#pending--);
  }

  async #handle(req: SignalRequest): Promise<void> {
    const m = req.message;
    if (this.#closed) {
      return;
    }
    switch (m.case) {
      case 'ping':
        this.#send(new SignalResponse({ message: { case: 'pong', value: BigInt(Date.now()) } }));
        return;
      case 'pingReq':
        this.#send(
          new SignalResponse({
            message: {
              case: 'pongResp',
              value: new Pong({ lastPingTimestamp: m.value.timestamp, timestamp: BigInt(Date.now()) }),
            },
          }),
        );
        return;
      case 'leave':
        logger.info({ conn: this.conn }, 'LiveKit participant left');
        this.close();
        this.#ws.close(1000, 'left');
        return;
      default:
    }
    if (!this.#node) {
      return; // not joined (yet, or the join failed): nothing to act on
    }
    switch (m.case) {
      case 'offer': {
        const answer = (await this.#forward('offer', {
          desc: { type: 'offer', sdp: regroupStreams(m.value.sdp, (cid) => this.#tracks.streamOf(cid)) },
        })) as { sdp: string };
        this.#send(
          new SignalResponse({
            message: {
              case: 'answer',
              value: new SessionDescription({ type: 'answer', sdp: answer.sdp, id: m.value.id }),
            },
          }),
        );
        return;
      }
      case 'answer':
        if (m.value.id !== 0 && m.value.id < this.#offerId) {
          return; // answers an offer superseded since
        }
        await this.#forward('answer', { desc: { type: 'answer', sdp: m.value.sdp } });
        return;
      case 'trickle':
        await this.#trickle(m.value);
        return;
      case 'addTrack':
        await this.#addTrack(m.value);
        return;
      case 'mute':
        await this.#mute(m.value.sid, m.value.muted);
        return;
      case 'subscription': {
        const sids = [...m.value.trackSids, ...m.value.participantTracks.flatMap((p) => p.trackSids)];
        await this.#subscription(sids.map((sid) => ({ sid, subscribe: m.value.subscribe })));
        return;
      }
      case 'trackSetting': {
        const layer = m.value.disabled ? undefined : QUALITY_LAYER[m.value.quality];
        await this.#subscription(
          m.value.trackSids.map((sid) => ({
            sid,
            subscribe: true,
            mute: m.value.disabled,
            ...(layer !== undefined ? { layer } : {}),
          })),
        );
        return;
      }
      case 'updateMetadata': {
        if (!(this.#o.token.video.canUpdateOwnMetadata ?? false) || !this.#member) {
          return;
        }
        const info = this.#memberInfo();
        info.livekit.metadata = m.value.metadata.slice(0, 4096);
        if (Object.keys(m.value.attributes).length > 0) {
          info.livekit.attributes = { ...info.livekit.attributes, ...m.value.attributes };
        }
        await this.#updateRecord({
          ...(m.value.name !== '' ? { name: m.value.name.slice(0, 256) } : {}),
          info,
        });
        return;
      }
      default:
        logger.debug({ conn: this.conn, request: m.case }, 'LiveKit request not served');
    }
  }

  async #trickle(t: TrickleRequest): Promise<void> {
    let candidate: unknown;
    try {
      candidate = JSON.parse(t.candidateInit);
    } catch {
      throw new SwitchboardError('invalid-params', 'trickle: candidateInit is not JSON');
    }
    const c = candidate as { candidate?: unknown };
    if (typeof c?.candidate !== 'string' || c.candidate === '') {
      return; // end of candidates
    }
    await this.#forward('trickle', { target: t.target === SignalTarget.SUBSCRIBER ? 1 : 0, candidate });
  }

  /** `add_track`: the track's sid at once (the client gives up after 10 s); its media comes by the offer. */
  async #addTrack(r: AddTrackRequest): Promise<void> {
    const info = this.#ident.canPublish ? this.#tracks.add(r) : 'the token does not grant canPublish';
    if (typeof info === 'string') {
      logger.info({ conn: this.conn, cid: r.cid.slice(0, 256), reason: info }, 'LiveKit add_track refused');
      return;
    }
    this.#send(
      new SignalResponse({
        message: { case: 'trackPublished', value: new TrackPublishedResponse({ cid: r.cid, track: info }) },
      }),
    );
    // Others' clients learn the track's name and source from our member record.
    if (this.#member) {
      await this.#updateRecord({ info: this.#memberInfo() }).catch((err: unknown) =>
        logger.debug({ err, conn: this.conn }, 'track info not recorded'),
      );
    }
  }

  async #mute(sid: string, muted: boolean): Promise<void> {
    const own = this.#tracks.bySid(sid);
    if (!own) {
      return;
    }
    const streamId = this.#state.ownTracks().find((t) => t.id === own.cid)?.streamId;
    if (streamId === undefined) {
      return; // its media has not come yet; the client sends the state again (reconcile)
    }
    await this.#forward('mute', { streamId, kind: own.kind, muted }).catch((err: unknown) =>
      logger.debug({ err, conn: this.conn }, 'mute of a track not here'),
    );
  }

  async #subscription(
    changes: { sid: string; subscribe: boolean; mute?: boolean; layer?: 'q' | 'h' | 'f' }[],
  ): Promise<void> {
    const subscriptions = [];
    for (const c of changes) {
      const trackId = this.#state.trackIdOf(c.sid);
      if (trackId !== undefined) {
        subscriptions.push({
          trackId,
          subscribe: c.subscribe,
          ...(c.mute !== undefined ? { mute: c.mute } : {}),
          ...(c.layer !== undefined ? { layer: c.layer } : {}),
        });
      }
    }
    if (subscriptions.length > 0) {
      await this.#forward('subscription', { subscriptions });
    }
  }

  // ---- notifications

  #onNotification(method: string, params: unknown, replay = false): void {
    switch (method) {
      case 'offer':
        this.#offer((params as { sdp?: unknown } | null)?.sdp);
        return;
      case 'trickle': {
        const p = params as { candidate?: unknown; target?: unknown } | null;
        if (p?.candidate) {
          this.#send(
            new SignalResponse({
              message: {
                case: 'trickle',
                value: new TrickleRequest({
                  candidateInit: JSON.stringify(p.candidate),
                  target: p.target === 1 ? SignalTarget.SUBSCRIBER : SignalTarget.PUBLISHER,
                }),
              },
            }),
          );
        }
        return;
      }
      case 'participants':
        if (!replay) {
          this.#onRoster(params, true);
        }
        return;
      case 'layers':
        this.#dynacast(params);
        return;
      case LIVEKIT_LEVELS_NOTIFICATION:
        this.#levels(params);
        return;
      case RECONNECT_NOTIFICATION:
        this.#leave(DisconnectReason.UNKNOWN_REASON, LeaveRequest_Action.RECONNECT);
        return;
      case roomNotifications.updated: {
        const md = (params as { room?: { metadata?: unknown } } | null)?.room?.metadata;
        if (typeof md === 'string') {
          this.#roomMetadata = md;
          this.#send(
            new SignalResponse({
              message: {
                case: 'roomUpdate',
                value: {
                  room: new Room({ sid: livekitSid.room(this.#roomId), name: this.#roomName, metadata: md }),
                },
              },
            }),
          );
        }
        return;
      }
      default:
    }
    const ending = ENDING[method];
    if (ending !== undefined) {
      const why = (params as { reason?: unknown } | null)?.reason;
      const replaced = typeof why === 'string' && why.includes('replaced');
      this.#leave(replaced ? DisconnectReason.DUPLICATE_IDENTITY : ending, LeaveRequest_Action.DISCONNECT);
      return;
    }
    if (method === roomNotifications.joined || method === roomNotifications.peer) {
      if (!replay) {
        this.#onRoomEvent(method, params, true);
      }
    }
  }

  #onRoster(params: unknown, tell: boolean): void {
    const r = rosterMessage.shape.peers.safeParse((params as { peers?: unknown } | null)?.peers);
    if (!r.success) {
      return;
    }
    this.#state.setRoster(r.data);
    if (tell) {
      this.#tellChanges();
    }
    if (this.#heldOffer && this.#joined) {
      this.#offer(this.#heldOffer.sdp);
    }
  }

  #onRoomEvent(method: string, params: unknown, tell: boolean): void {
    if (method === roomNotifications.joined) {
      const p = params as { peers?: PeerInfo[] } | null;
      if (Array.isArray(p?.peers)) {
        this.#state.setMembers(p.peers);
      }
    } else {
      const p = params as { state?: string; peer?: PeerInfo; reason?: string } | null;
      if (p?.peer && typeof p.peer.uid === 'string' && typeof p.state === 'string') {
        this.#state.memberEvent(p.state, p.peer, p.reason);
      }
    }
    if (tell) {
      this.#tellChanges();
    }
  }

  #tellChanges(): void {
    const changed: ParticipantInfo[] = this.#state.changes();
    if (changed.length > 0) {
      this.#send(
        new SignalResponse({
          message: { case: 'update', value: new ParticipantUpdate({ participants: changed }) },
        }),
      );
    }
  }

  /**
   * A subscriber offer, its msids renamed for livekit-client. When it names a track the roster does not
   * show yet, it waits for the roster (the client must know the participant before the track comes).
   */
  #offer(sdp: unknown): void {
    if (typeof sdp !== 'string') {
      return;
    }
    const renamed = renameMsids(this.#roomId, sdp, this.#state.trackOwner);
    if (renamed.unknown.length > 0 && !this.#heldOffer) {
      const timer = setTimeout(() => {
        const held = this.#heldOffer;
        this.#heldOffer = undefined;
        if (held && !this.#closed) {
          logger.warn({ conn: this.conn }, 'subscriber offer sent with tracks the roster does not show');
          this.#sendOffer(renameMsids(this.#roomId, held.sdp, this.#state.trackOwner));
        }
      }, OFFER_HOLD_MS);
      this.#heldOffer = { sdp, timer };
      return;
    }
    if (renamed.unknown.length > 0 && this.#heldOffer) {
      this.#heldOffer.sdp = sdp; // a newer offer replaces the held one; the timer stays
      return;
    }
    clearTimeout(this.#heldOffer?.timer);
    this.#heldOffer = undefined;
    this.#sendOffer(renamed);
  }

  #sendOffer(renamed: { sdp: string; midToTrackId: Record<string, string> }): void {
    // Participants first: livekit-client binds a track to a participant it already knows.
    this.#tellChanges();
    this.#send(
      new SignalResponse({
        message: {
          case: 'offer',
          value: new SessionDescription({
            type: 'offer',
            sdp: renamed.sdp,
            id: ++this.#offerId,
            midToTrackId: renamed.midToTrackId,
          }),
        },
      }),
    );
  }

  /** Dynacast's `layers` for one of our tracks, as LiveKit's subscribed_quality_update. */
  #dynacast(params: unknown): void {
    const p = params as { trackId?: unknown; active?: unknown } | null;
    const update =
      typeof p?.trackId === 'string' && Array.isArray(p.active)
        ? this.#tracks.qualityUpdate(p.trackId, p.active)
        : undefined;
    if (update) {
      this.#send(new SignalResponse({ message: { case: 'subscribedQualityUpdate', value: update } }));
    }
  }

  /** The media node's speakers (stream ids, loudest first) as `speakers_changed` deltas. */
  #levels(params: unknown): void {
    if (!Array.isArray(params)) {
      return;
    }
    const speakers = this.#speakers.update(params, (streamId) => {
      const uid = this.#state.streamOwner(streamId);
      return uid === undefined ? undefined : livekitSid.participant(this.#roomId, uid);
    });
    if (speakers.length > 0) {
      this.#send(
        new SignalResponse({
          message: { case: 'speakersChanged', value: new SpeakersChanged({ speakers }) },
        }),
      );
    }
  }

  // ---- plumbing

  /** The server ends the session: `leave` to the client, then the socket closes. */
  #leave(reason: DisconnectReason, action: LeaveRequest_Action): void {
    if (this.#closed) {
      return;
    }
    this.#send(
      new SignalResponse({
        message: {
          case: 'leave',
          value: new LeaveRequest({
            canReconnect: action !== LeaveRequest_Action.DISCONNECT,
            reason,
            action,
          }),
        },
      }),
    );
    this.close();
    this.#ws.close(1000, 'leave');
  }

  #send(res: SignalResponse): void {
    if (this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(res.toBinary());
    }
  }

  #leaveRoom(reason: string): void {
    const m = this.#member;
    if (m) {
      this.#member = undefined;
      this.#record = undefined;
      this.#o.bus.publish(roomSubjects.leave(this.#o.cluster), { ...m, conn: this.conn, reason });
    }
  }

  #endPeer(): void {
    if (this.#holdsPeer) {
      this.#holdsPeer = false;
      this.#o.endPeer();
    }
  }

  /** `room.updatePeer` of our own record; kept here at once (the room role's copy comes later). */
  async #updateRecord(change: { name?: string; info: unknown }): Promise<void> {
    await this.#roomCall('room.updatePeer', change);
    if (this.#record) {
      this.updateRecord({ ...this.#record, ...change });
    }
  }

  #roomCall(method: string, params: unknown): Promise<unknown> {
    const o = this.#o;
    return roomCall(
      { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode },
      this.#member!,
      method,
      params,
    );
  }

  #forward(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: this.conn, signal: this.#o.signalNode, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, this.#node!), req, {
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  }
}
