/**
 * `room.RoomSignal/Signal` (ion-sdk-js's `Ion.Room`, ion-sdk-go's room client): one client's room
 * membership on the room role, the same membership a `/ws` or Licode client has, so they all see each
 * other. Join checks what ION's room service never did (lock, password, max peers: reference/ion.md
 * §1.6); peer events, messages and room info come from the room role's notifications. ION's peer
 * fields that Switchboard's model lacks (avatar, destination, protocol, direction, vendor, extraInfo)
 * ride in the member's free-form `info` as `{ ion: {…} }`, so other ION clients get them back.
 */
import type { Bus } from '../../backbone/index.ts';
import {
  roomNotifications,
  roomSubjects,
  type MemberRecord,
  type PeerInfo,
  type RoomInfo,
} from '../../protocol/room.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { admit, roomCall } from '../admission.ts';
import { Status, type GrpcCall } from './GrpcCall.ts';
import { IonStream } from './IonStream.ts';
import type { IonAuth, IonToken } from './ionAuth.ts';
import type {
  IonMessage,
  IonPeer,
  IonRoomInfo,
  RoomError,
  RoomErrorType,
  RoomReply,
  RoomRequest,
} from './protos.ts';

export interface IonRoomOptions {
  signalNode: string;
  cluster: string;
  bus: Bus;
  auth: IonAuth;
  joinTimeoutMs: number;
  /** The stream holds the membership of `key` (`room\nuid`), so the client's RTC stream can find it. */
  joined: (r: IonRoom, key: string) => void;
  left: (r: IonRoom, key: string) => void;
}

/** ION's peer fields kept in the member's `info.ion`. */
interface IonPeerExtras {
  avatar?: string;
  destination?: string;
  protocol?: IonPeer['protocol'];
  direction?: IonPeer['direction'];
  vendor?: string;
  /** base64 */
  extraInfo?: string;
}

const PROTOCOLS = new Set(['ProtocolUnknown', 'WebRTC', 'SIP', 'RTMP', 'RTSP']);
const DIRECTIONS = new Set(['INCOMING', 'OUTGOING', 'BILATERAL']);

/** A peer as ION clients see it, from the room role's PeerInfo. */
export function ionPeer(sid: string, p: PeerInfo): Partial<IonPeer> {
  const ion = (p.info as { ion?: IonPeerExtras } | undefined)?.ion ?? {};
  return {
    sid,
    uid: p.uid,
    displayName: p.name,
    role: p.role === 'host' ? 'Host' : 'Guest',
    extraInfo: typeof ion.extraInfo === 'string' ? Buffer.from(ion.extraInfo, 'base64') : Buffer.alloc(0),
    destination: typeof ion.destination === 'string' ? ion.destination : '',
    protocol: ion.protocol !== undefined && PROTOCOLS.has(ion.protocol) ? ion.protocol : 'WebRTC',
    avatar: typeof ion.avatar === 'string' ? ion.avatar : '',
    direction: ion.direction !== undefined && DIRECTIONS.has(ion.direction) ? ion.direction : 'INCOMING',
    vendor: typeof ion.vendor === 'string' ? ion.vendor : '',
  };
}

/** ION's room as a client sees it (the password is never sent back: it is not stored). */
export function ionRoomInfo(sid: string, r: RoomInfo): IonRoomInfo {
  return {
    sid,
    name: r.name,
    lock: r.locked,
    password: '',
    description: r.description ?? '',
    maxPeers: r.maxPeers,
  };
}

/** A SwitchboardError of admission or of a room call, as ION's `room.Error`. */
export function roomError(err: unknown): RoomError {
  const reason = err instanceof Error ? err.message : String(err);
  if (!(err instanceof SwitchboardError)) {
    return { code: 'UnkownError', reason: 'internal error' };
  }
  let code: RoomErrorType = 'UnkownError';
  if (/locked/.test(reason)) {
    code = 'RoomLocked';
  } else if (/password/.test(reason)) {
    code = 'PasswordRequired';
  } else if (err.code === 'forbidden' || err.code === 'unauthorized') {
    code = 'PermissionDenied';
  } else if (err.code === 'unavailable' || err.code === 'timeout' || err.code === 'no-responder') {
    code = 'ServiceUnavailable';
  } else if (err.code === 'invalid-params' || err.code === 'invalid-state') {
    code = 'InvalidParams';
  } else if (err.code === 'not-found') {
    code = /peer/.test(reason) ? 'PeerNotExist' : 'RoomNotExist';
  } else if (err.code === 'conflict') {
    code = 'InvalidParams';
  }
  const internal = code === 'UnkownError' || code === 'ServiceUnavailable';
  return { code, reason: internal && err.code !== 'unavailable' ? 'room service unavailable' : reason };
}

/** The message payload as the room role's JSON `data`: parsed JSON, else the text. */
function payloadData(payload: Uint8Array): unknown {
  const text = Buffer.from(payload).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The room role's `data` as ION's payload bytes: text as it is, anything else as JSON. */
function dataPayload(data: unknown): Buffer {
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data ?? null), 'utf8');
}

export class IonRoom extends IonStream<RoomRequest> {
  readonly #o: IonRoomOptions;
  /** While in a room: the sid the client named, the room's id, our uid, the member record. */
  #in: { sid: string; room: string; uid: string; name: string; record: MemberRecord } | undefined;
  #closed = false;
  /** The client's RTC streams on this instance that joined under our membership (IonRtc). */
  readonly #companions = new Set<(reason: string) => void>();

  constructor(call: GrpcCall, authorized: Promise<IonToken | undefined>, o: IonRoomOptions) {
    super(call, authorized, o);
    this.#o = o;
  }

  protected get joining(): boolean {
    return this.#in !== undefined;
  }

  get node(): string | undefined {
    return undefined; // no media: the client's RTC stream has its own peer
  }

  get membership(): { room: string; member: MemberRecord } | undefined {
    return this.#in ? { room: this.#in.room, member: this.#in.record } : undefined;
  }

  /** The member's display name and room id, for the client's RTC stream that joins under it. */
  get member(): { room: string; uid: string; name: string; address: string } | undefined {
    return this.#in
      ? { room: this.#in.room, uid: this.#in.uid, name: this.#in.name, address: this.call.address }
      : undefined;
  }

  /**
   * An RTC stream joined under our membership: `removed` is called when the member is kicked or the
   * room ends, so that stream ends too (its media node closes the peer, but tells nobody). Returns
   * the unregistration.
   */
  companion(removed: (reason: string) => void): () => void {
    this.#companions.add(removed);
    return () => this.#companions.delete(removed);
  }

  // ---- requests

  protected async handle(token: IonToken | undefined, req: RoomRequest): Promise<void> {
    switch (req.payload) {
      case 'join':
        return this.#join(token, req.join.peer, req.join.password);
      case 'leave':
        this.#leave('client-leave');
        this.#reply({ leave: { success: true } });
        return;
      case 'sendMessage':
        return this.#sendMessage(req.sendMessage.message);
      case 'updateRoom':
        return this.#updateRoom(req.updateRoom.room);
      default:
        this.call.end(Status.INVALID_ARGUMENT, 'empty request');
    }
  }

  async #join(token: IonToken | undefined, peer: IonPeer | null, password: string): Promise<void> {
    const fail = (code: RoomErrorType, reason: string): void =>
      this.#reply({ join: { success: false, error: { code, reason } } });
    if (this.#in) {
      fail('PeerAlreadyExist', 'already joined: leave first');
      return;
    }
    if (!peer || peer.sid === '' || peer.uid === '' || peer.sid.length > 256 || peer.uid.length > 256) {
      fail('InvalidParams', 'peer.sid and peer.uid are required (at most 256 characters)');
      return;
    }
    const o = this.#o;
    try {
      const ident = await o.auth.authorize(token, peer.sid, peer.uid);
      const name = peer.displayName !== '' ? peer.displayName.slice(0, 256) : (ident.name ?? ident.identity);
      const extras: IonPeerExtras = {
        avatar: peer.avatar.slice(0, 2048),
        destination: peer.destination.slice(0, 2048),
        protocol: peer.protocol,
        direction: peer.direction,
        vendor: peer.vendor.slice(0, 256),
        ...(peer.extraInfo.length > 0 ? { extraInfo: Buffer.from(peer.extraInfo).toString('base64') } : {}),
      };
      let a;
      try {
        a = await admit(
          { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode, protocol: 'ion' },
          ident,
          name,
          password === '' ? undefined : password,
          { info: { ion: extras } },
        );
      } catch (err) {
        await ident.release?.().catch(() => undefined);
        throw err;
      }
      if (!a.member || !a.info) {
        throw new SwitchboardError('unavailable', 'room service unavailable');
      }
      this.#in = { sid: peer.sid, room: a.room, uid: ident.identity, name, record: a.member };
      this.joined();
      o.joined(this, `${peer.sid}\n${ident.identity}`);
      this.#reply({
        join: {
          success: true,
          role: a.member.role === 'host' ? 'Host' : 'Guest',
          room: ionRoomInfo(peer.sid, a.info),
        },
      });
      // Confirmed at once (there is no media to wait for): the room role announces us to the others
      // and sends us `room.joined` with those already there.
      o.bus.publish(roomSubjects.joined(o.cluster), { room: a.room, uid: ident.identity, conn: this.conn });
    } catch (err) {
      const e = roomError(err);
      if (e.code === 'UnkownError') {
        logger.error({ err }, 'ION room join failed');
      }
      fail(e.code, e.reason);
    }
  }

  async #sendMessage(m: IonMessage | null): Promise<void> {
    if (!m) {
      this.#reply({
        sendMessage: { success: false, error: { code: 'InvalidParams', reason: 'message required' } },
      });
      return;
    }
    try {
      await this.#roomCall('room.message', {
        to: m.to === '' ? 'all' : m.to,
        data: payloadData(m.payload),
        ...(m.type !== '' ? { type: m.type.slice(0, 64) } : {}),
      });
      this.#reply({ sendMessage: { success: true } });
    } catch (err) {
      this.#reply({ sendMessage: { success: false, error: roomError(err) } });
    }
  }

  /** ION's signal-side updateRoom (which ION never answered): the host changes lock, password, max peers. */
  async #updateRoom(r: IonRoomInfo | null): Promise<void> {
    if (!r || !this.#in) {
      return;
    }
    try {
      await this.#roomCall(r.lock ? 'room.lock' : 'room.unlock', {});
      await this.#roomCall('room.setPassword', {
        password: r.password === '' ? null : r.password.slice(0, 256),
      });
      await this.#roomCall('room.setMaxPeers', { maxPeers: Math.min(r.maxPeers, 100_000) });
    } catch (err) {
      // Reply has no field for it (ION's own service never answered); the room info that follows a
      // change is the answer, and a refusal is logged for the operator.
      logger.debug({ err, conn: this.conn }, 'ION updateRoom refused');
    }
  }

  async #roomCall(method: string, params: unknown): Promise<unknown> {
    const m = this.#in;
    if (!m) {
      throw new SwitchboardError('invalid-state', 'join a room first');
    }
    const o = this.#o;
    return roomCall(
      { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode },
      m,
      method,
      params,
    );
  }

  #reply(r: RoomReply): void {
    this.call.write(r);
  }

  #leave(reason: string): void {
    const m = this.#in;
    if (!m) {
      return;
    }
    this.#in = undefined;
    this.#o.left(this, `${m.sid}\n${m.uid}`);
    this.#o.bus.publish(roomSubjects.leave(this.#o.cluster), {
      room: m.room,
      uid: m.uid,
      conn: this.conn,
      reason,
    });
  }

  // ---- SignalClient: the room role's notifications

  notify(method: string, params: unknown): void {
    const m = this.#in;
    if (!m) {
      return;
    }
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case roomNotifications.joined:
        for (const peer of (p.peers as PeerInfo[] | undefined) ?? []) {
          this.#reply({ peer: { peer: ionPeer(m.sid, peer), state: 'JOIN' } });
        }
        return;
      case roomNotifications.peer: {
        const state = p.state === 'join' ? 'JOIN' : p.state === 'leave' ? 'LEAVE' : 'UPDATE';
        this.#reply({ peer: { peer: ionPeer(m.sid, p.peer as PeerInfo), state } });
        return;
      }
      case roomNotifications.message:
        this.#reply({
          message: {
            from: typeof p.from === 'string' ? p.from : '',
            to: typeof p.to === 'string' ? p.to : '',
            type: typeof p.type === 'string' ? p.type : 'application/json',
            payload: dataPayload(p.data),
          },
        });
        return;
      case roomNotifications.updated:
        this.#reply({ room: ionRoomInfo(m.sid, p.room as RoomInfo) });
        return;
      case roomNotifications.kicked:
      case roomNotifications.ended: {
        const reason = typeof p.reason === 'string' ? p.reason : method;
        this.#reply({ disconnect: { sid: m.sid, reason } });
        this.#leave(method === roomNotifications.kicked ? 'kicked' : 'room-ended');
        this.call.end(Status.OK);
        for (const removed of [...this.#companions]) {
          removed(reason);
        }
        return;
      }
      default:
        return;
    }
  }

  updateRecord(m: MemberRecord): void {
    if (this.#in && m.conn === this.conn) {
      this.#in.record = m;
    }
  }

  nodeLost(): void {}

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#leave('client-leave');
    this.call.end(Status.CANCELLED, 'closed');
  }
}
