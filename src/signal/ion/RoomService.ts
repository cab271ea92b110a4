/**
 * `room.RoomService` (ION v1.10 `apps/room`, reference/ion.md §2c): ION's administration calls, onto
 * Switchboard's rooms. Unary; every call takes a management token (a Switchboard JWT with the `api`
 * grant) and acts on the rooms of the token's service, as `/api` does:
 * - CreateRoom / UpdateRoom / EndRoom / GetRooms: the room records of `/api` (sid = the room's id;
 *   ION's display name = the room's name, unique among the service's rooms). UpdateRoom and EndRoom go
 *   through the room role (its `control` subject), so members get `room.updated` / `room.ended`.
 * - GetPeers / UpdatePeer / RemovePeer: the room's members, whatever protocol they joined with (hidden
 *   ones too, as `GET /api/rooms/:room/users` lists them); ION's peer fields Switchboard has no place
 *   for ride in the member's `info.ion` (as IonRoom keeps them).
 * - AddPeer: implemented. ION registers a participant that has no WebRTC connection (a SIP or RTMP
 *   gateway's); the room role records a member without a connection (`external`), announces it as a
 *   join, counts it against max peers and never reaps it. It leaves through RemovePeer or EndRoom, and,
 *   as membership is live state, does not outlive a restart of an embedded (non-Redis) Store.
 * Refusals are ION's: `{success: false, error: {code: <room.ErrorType>, reason}}`; a refused token is a
 * gRPC status (UNAUTHENTICATED, PERMISSION_DENIED). Differences from ION, on purpose: UpdateRoom,
 * AddPeer and UpdatePeer need an existing room (RoomNotExist; ION answered RoomAlreadyExist or wrote
 * anyway); the role of AddPeer and UpdatePeer is ignored (proto3's default, Host, cannot be told from
 * "unset": peers are made hosts by their tokens only); room passwords are never sent back.
 */
import type { Bus, Store } from '../../backbone/index.ts';
import { BusRequestError } from '../../backbone/index.ts';
import {
  createRoom,
  deleteRoom,
  findRoomByName,
  getRoom,
  hashPassword,
  listRooms,
  putRoom,
  renameRoom,
} from '../../protocol/records.ts';
import {
  MAX_INFO_BYTES,
  memberRecord,
  peerInfo,
  roomInfo,
  roomKeys,
  roomSubjects,
  type ControlRequest,
  type MemberRecord,
  type RoomRecord,
} from '../../protocol/room.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { endWithError, Status, type GrpcCall } from './GrpcCall.ts';
import type { IonAuth } from './ionAuth.ts';
import { ionPeer, ionRoomInfo } from './IonRoom.ts';
import type { IonPeer, IonRoomInfo, Outcome, RoomErrorType } from './protos.ts';

const PREFIX = '/room.RoomService/';

/** A call whose request message does not come within this is ended (DEADLINE_EXCEEDED). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Bounds, as `/api` and the room role have them. */
const MAX_ID = 256;
const MAX_NAME = 256;
const MAX_PASSWORD = 256;
const MAX_DESCRIPTION = 1024;
const MAX_REASON = 256;
const MAX_PEERS = 100_000;

/** ION's refusal: the reply's `error`. */
class Refusal extends Error {
  readonly code: RoomErrorType;
  constructor(code: RoomErrorType, reason: string) {
    super(reason);
    this.code = code;
  }
}

function invalid(reason: string): never {
  throw new Refusal('InvalidParams', reason);
}

/** A string field of a decoded message (proto-loader gives every field; anything else reads as ""). */
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** A required identifier (sid, uid): 1 to 256 characters. */
function ident(v: unknown, what: string): string {
  const s = str(v);
  if (s === '') {
    invalid(`${what} is required`);
  }
  if (s.length > MAX_ID) {
    invalid(`${what} longer than ${MAX_ID} characters`);
  }
  return s;
}

function bounded(v: unknown, what: string, max: number): string {
  const s = str(v);
  if (s.length > max) {
    invalid(`${what} longer than ${max} characters`);
  }
  return s;
}

/** ION's `Room` of a Create/UpdateRoomRequest, checked. */
function roomFields(msg: unknown): IonRoomInfo {
  const r = obj(obj(msg)?.room);
  if (!r) {
    invalid('room is required');
  }
  const maxPeers = typeof r.maxPeers === 'number' && Number.isInteger(r.maxPeers) ? r.maxPeers : 0;
  if (maxPeers < 0 || maxPeers > MAX_PEERS) {
    invalid(`room.maxPeers must be 0 (unlimited) to ${MAX_PEERS}`);
  }
  return {
    sid: ident(r.sid, 'room.sid'),
    name: bounded(r.name, 'room.name', MAX_NAME),
    lock: r.lock === true,
    password: bounded(r.password, 'room.password', MAX_PASSWORD),
    description: bounded(r.description, 'room.description', MAX_DESCRIPTION),
    maxPeers,
  };
}

/** ION's `Peer` of an Add/UpdatePeerRequest, checked. */
function peerFields(msg: unknown): { sid: string; uid: string; name: string; ion: Record<string, unknown> } {
  const p = obj(obj(msg)?.peer);
  if (!p) {
    invalid('peer is required');
  }
  const extraInfo = p.extraInfo instanceof Uint8Array ? p.extraInfo : new Uint8Array();
  // As IonRoom keeps them (its join truncates the same way).
  const ion: Record<string, unknown> = {
    avatar: str(p.avatar).slice(0, 2048),
    destination: str(p.destination).slice(0, 2048),
    protocol: str(p.protocol) || 'ProtocolUnknown',
    direction: str(p.direction) || 'INCOMING',
    vendor: str(p.vendor).slice(0, 256),
    ...(extraInfo.length > 0 ? { extraInfo: Buffer.from(extraInfo).toString('base64') } : {}),
  };
  return {
    sid: ident(p.sid, 'peer.sid'),
    uid: ident(p.uid, 'peer.uid'),
    name: str(p.displayName).slice(0, MAX_NAME),
    ion,
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A SwitchboardError (of the room role, the Store) as ION's error; `notFound` names what was missing. */
function refusalOf(err: SwitchboardError, notFound: RoomErrorType): Refusal {
  switch (err.code) {
    case 'not-found':
      return new Refusal(notFound, err.message);
    case 'forbidden':
    case 'unauthorized':
      return new Refusal('PermissionDenied', err.message);
    case 'invalid-params':
    case 'invalid-state':
    case 'conflict':
      return new Refusal('InvalidParams', err.message);
    case 'unavailable':
    case 'timeout':
    case 'no-responder':
      return new Refusal('ServiceUnavailable', 'room service unavailable');
    default:
      logger.error({ err }, 'ION RoomService call failed');
      return new Refusal('UnkownError', 'internal error');
  }
}

export interface RoomServiceOptions {
  bus: Bus;
  store: Store;
  cluster: string;
  auth: IonAuth;
}

type Method = (service: string, msg: unknown) => Promise<Outcome>;

export class RoomService {
  readonly #o: RoomServiceOptions;
  readonly #methods: Record<string, Method> = {
    CreateRoom: (s, m) => this.#createRoom(s, m),
    UpdateRoom: (s, m) => this.#updateRoom(s, m),
    EndRoom: (s, m) => this.#endRoom(s, m),
    GetRooms: (s) => this.#getRooms(s),
    AddPeer: (s, m) => this.#addPeer(s, m),
    UpdatePeer: (s, m) => this.#updatePeer(s, m),
    RemovePeer: (s, m) => this.#removePeer(s, m),
    GetPeers: (s, m) => this.#getPeers(s, m),
  };

  constructor(o: RoomServiceOptions) {
    this.#o = o;
  }

  /**
   * One unary call: the token is checked at once (a refusal ends the call before any request), the
   * first request message is answered with one reply and status OK. A call that half-closes without a
   * message, sends a second one, or sends none in time ends with a gRPC status.
   */
  handle(call: GrpcCall): void {
    const name = call.path.startsWith(PREFIX) ? call.path.slice(PREFIX.length) : '';
    const method = Object.hasOwn(this.#methods, name) ? this.#methods[name] : undefined;
    if (!method) {
      call.end(Status.UNIMPLEMENTED, `unknown service or method ${call.path}`);
      return;
    }
    const service = this.#o.auth.management(call.metadata);
    service.catch((err: unknown) => endWithError(call, err));
    let received = false;
    const timer = setTimeout(
      () => call.end(Status.DEADLINE_EXCEEDED, 'no request message'),
      REQUEST_TIMEOUT_MS,
    );
    timer.unref();
    call.once('close', () => clearTimeout(timer));
    call.on('message', (msg) => {
      if (received) {
        call.end(Status.INVALID_ARGUMENT, `${call.path} takes one request message`);
        return;
      }
      received = true;
      clearTimeout(timer);
      void this.#run(call, service, method, msg);
    });
    call.on('halfClose', () => {
      if (!received) {
        call.end(Status.INVALID_ARGUMENT, 'no request message');
      }
    });
  }

  async #run(call: GrpcCall, service: Promise<string>, method: Method, msg: unknown): Promise<void> {
    let sid: string;
    try {
      sid = await service;
    } catch {
      return; // ended by the catch in handle
    }
    if (call.ended) {
      return;
    }
    try {
      const reply = await method(sid, msg);
      call.write(reply);
      call.end(Status.OK);
    } catch (err) {
      if (err instanceof Refusal) {
        call.write({ success: false, error: { code: err.code, reason: err.message } } satisfies Outcome);
        call.end(Status.OK);
        return;
      }
      endWithError(call, err);
    }
  }

  // ---- rooms ---------------------------------------------------------------------------------------

  async #createRoom(service: string, msg: unknown): Promise<Outcome> {
    const { store, cluster } = this.#o;
    const r = roomFields(msg);
    const name = r.name === '' ? r.sid : r.name;
    if (await getRoom(store, cluster, r.sid)) {
      throw new Refusal('RoomAlreadyExist', `room "${r.sid}" already exists`);
    }
    // A join names a room by its name before its id: no other room may be found by this sid, and
    // this room's name must not be another room's sid.
    const named = await this.#guard(
      () => findRoomByName(store, cluster, service, r.sid, true),
      'RoomAlreadyExist',
    );
    if (named) {
      throw new Refusal('RoomAlreadyExist', `room "${named.id}" is named "${r.sid}"`);
    }
    if (name !== r.sid && (await getRoom(store, cluster, name))?.service === service) {
      throw new Refusal('RoomAlreadyExist', `name "${name}" is the sid of another room`);
    }
    const rec: RoomRecord = {
      id: r.sid,
      name,
      service,
      locked: r.lock,
      maxPeers: r.maxPeers,
      adhoc: false,
      createdAt: Date.now(),
      ...(r.description !== '' ? { description: r.description } : {}),
      ...(r.password !== '' ? { passwordHash: hashPassword(r.password) } : {}),
    };
    await this.#guard(() => createRoom(store, cluster, rec), 'RoomAlreadyExist', 'RoomAlreadyExist');
    logger.info({ room: r.sid, service }, 'ION CreateRoom');
    return { success: true };
  }

  /**
   * ION replaces the room's settings with the request's: lock, max peers, password and description
   * ("" removes them) as given; the name when one is given (a room always has one).
   */
  async #updateRoom(service: string, msg: unknown): Promise<Outcome> {
    const r = roomFields(msg);
    const rec = await this.#room(service, r.sid);
    const req: Extract<ControlRequest, { op: 'update' }> = {
      op: 'update',
      room: rec.id,
      locked: r.lock,
      maxPeers: r.maxPeers,
      password: r.password === '' ? null : r.password,
      description: r.description === '' ? null : r.description,
      ...(r.name !== '' ? { name: r.name } : {}),
    };
    if (!(await this.#control(req, 'RoomNotExist', true))) {
      // No room role: nobody is in a room to be told; the record is written here.
      const { store, cluster } = this.#o;
      await this.#guard(async () => {
        if (req.name !== undefined) {
          await renameRoom(store, cluster, rec, req.name);
        }
        await putRoom(store, cluster, rec.id, {
          locked: r.lock,
          maxPeers: r.maxPeers,
          passwordHash: r.password === '' ? undefined : hashPassword(r.password),
          description: r.description === '' ? undefined : r.description,
        });
      }, 'RoomNotExist');
    }
    return { success: true };
  }

  /** Everyone in the room gets `Disconnect{reason}` (other protocols `room.ended`); `delete` drops the record. */
  async #endRoom(service: string, msg: unknown): Promise<Outcome> {
    const m = obj(msg);
    const rec = await this.#room(service, ident(m?.sid, 'sid'));
    const reason = str(m?.reason).slice(0, MAX_REASON) || 'room ended';
    await this.#control({ op: 'end', room: rec.id, reason }, 'RoomNotExist', true);
    if (m?.delete === true) {
      await deleteRoom(this.#o.store, this.#o.cluster, rec.id);
    }
    logger.info({ room: rec.id, service, deleted: m?.delete === true }, 'ION EndRoom');
    return { success: true };
  }

  async #getRooms(service: string): Promise<Outcome & { rooms: IonRoomInfo[] }> {
    const rooms = await listRooms(this.#o.store, this.#o.cluster, service);
    return { success: true, rooms: rooms.map((r) => ionRoomInfo(r.id, roomInfo(r))) };
  }

  // ---- peers ---------------------------------------------------------------------------------------

  async #getPeers(service: string, msg: unknown): Promise<Outcome & { peers: Partial<IonPeer>[] }> {
    const sid = ident(obj(msg)?.sid, 'sid');
    const rec = await this.#room(service, sid);
    const members = await this.#members(rec.id);
    return { success: true, peers: members.map((m) => ionPeer(sid, peerInfo(m))) };
  }

  /** ION's RemovePeer: the member of that uid (only) is kicked with ION's reason. */
  async #removePeer(service: string, msg: unknown): Promise<Outcome> {
    const m = obj(msg);
    const sid = ident(m?.sid, 'sid');
    const uid = ident(m?.uid, 'uid');
    const rec = await this.#room(service, sid);
    await this.#control(
      { op: 'kick', room: rec.id, user: uid, reason: 'kicked by host', uidOnly: true },
      'PeerNotExist',
    );
    logger.info({ room: rec.id, uid, service }, 'ION RemovePeer');
    return { success: true };
  }

  /** A member's display name (when given) and ION fields (replaced, as ION does); others see an UPDATE. */
  async #updatePeer(service: string, msg: unknown): Promise<Outcome> {
    const p = peerFields(msg);
    const rec = await this.#room(service, p.sid);
    const member = (await this.#members(rec.id)).find((x) => x.uid === p.uid);
    if (!member) {
      throw new Refusal('PeerNotExist', `no peer "${p.uid}" in room "${p.sid}"`);
    }
    // ION's fields beside whatever else the member keeps in `info` (a `/ws` client's own).
    const info = { ...(isPlainObject(member.info) ? member.info : {}), ion: p.ion };
    this.#checkInfo(info);
    await this.#control(
      {
        op: 'updatePeer',
        room: rec.id,
        uid: p.uid,
        info,
        ...(p.name !== '' ? { name: p.name } : {}),
      },
      'PeerNotExist',
    );
    return { success: true };
  }

  /** A participant without a connection (see the header). */
  async #addPeer(service: string, msg: unknown): Promise<Outcome> {
    const p = peerFields(msg);
    const rec = await this.#room(service, p.sid);
    const info = { ion: p.ion };
    this.#checkInfo(info);
    await this.#control(
      { op: 'addPeer', room: rec.id, uid: p.uid, name: p.name === '' ? p.uid : p.name, info },
      'RoomNotExist',
      false,
      'PeerAlreadyExist',
    );
    logger.info({ room: rec.id, uid: p.uid, service }, 'ION AddPeer');
    return { success: true };
  }

  // ---- helpers -------------------------------------------------------------------------------------

  #checkInfo(info: unknown): void {
    if (Buffer.byteLength(JSON.stringify(info)) > MAX_INFO_BYTES) {
      invalid(`peer fields larger than ${MAX_INFO_BYTES} bytes (extraInfo, avatar, destination)`);
    }
  }

  /**
   * The service's room that clients joining `sid` reach (as the room role finds it: by name among the
   * service's rooms, else by id); RoomNotExist without one.
   */
  async #room(service: string, sid: string): Promise<RoomRecord> {
    const { store, cluster } = this.#o;
    const rec = await this.#guard(async () => {
      const named = await findRoomByName(store, cluster, service, sid, false);
      if (named) {
        return named;
      }
      const byId = await getRoom(store, cluster, sid);
      if (byId?.service === service) {
        return byId;
      }
      return findRoomByName(store, cluster, service, sid, true);
    }, 'RoomNotExist');
    if (!rec) {
      throw new Refusal('RoomNotExist', `room "${sid}" does not exist`);
    }
    return rec;
  }

  async #members(room: string): Promise<MemberRecord[]> {
    const raw = await this.#o.store.hgetall(roomKeys.members(this.#o.cluster, room));
    const out: MemberRecord[] = [];
    for (const v of Object.values(raw)) {
      try {
        const r = memberRecord.safeParse(JSON.parse(v));
        if (r.success) {
          out.push(r.data);
        }
      } catch {
        // a malformed record is skipped, as the room role does
      }
    }
    return out.sort((a, b) => a.joinedAt - b.joinedAt || a.uid.localeCompare(b.uid));
  }

  /**
   * The room role's `control` op: true once done; false when no room role answers and `tolerateNone`
   * (then nobody is in any room to act on). Its refusals become ION's errors.
   */
  async #control(
    req: ControlRequest,
    notFound: RoomErrorType,
    tolerateNone = false,
    conflict: RoomErrorType = 'InvalidParams',
  ): Promise<boolean> {
    try {
      await this.#o.bus.request(roomSubjects.control(this.#o.cluster), req, { timeoutMs: 10_000 });
      return true;
    } catch (err) {
      if (tolerateNone && err instanceof BusRequestError && err.code === 'no-responder') {
        return false;
      }
      if (err instanceof SwitchboardError) {
        throw err.code === 'conflict' ? new Refusal(conflict, err.message) : refusalOf(err, notFound);
      }
      throw err;
    }
  }

  /** Runs a Store step; its SwitchboardErrors become ION's errors. */
  async #guard<T>(
    step: () => Promise<T>,
    notFound: RoomErrorType,
    conflict: RoomErrorType = 'InvalidParams',
  ): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof SwitchboardError) {
        throw err.code === 'conflict' ? new Refusal(conflict, err.message) : refusalOf(err, notFound);
      }
      throw err;
    }
  }
}
