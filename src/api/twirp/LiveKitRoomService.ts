/**
 * LiveKit's RoomService (livekit-server-sdk `RoomServiceClient`; reference/livekit-protocol.md §3) onto
 * Switchboard's rooms, as ION's RoomService (src/signal/ion/RoomService.ts) maps its own:
 * - The token's service (its API key's, `livekitSecrets`) is the service whose rooms a call manages; a
 *   room is named as a join names it (by name among the service's rooms, else by id).
 * - Rooms: the room records of `/api` (CreateRoom, ListRooms, DeleteRoom); UpdateRoomMetadata through
 *   the room role's `update`, so members get `room.updated`.
 * - Participants: the room's members, whatever protocol they joined with, with the tracks their media
 *   nodes report (`sfuAdmin` `clients`); removal, mute and name / metadata / attributes changes through
 *   the room role's control ops (`kick`, `mute`, `updatePeer`), so every client is told.
 * - UpdateSubscriptions and SendData go to every node hosting the room (`sfuAdmin` `subscription`,
 *   `data`), which act on their own clients.
 * Grants are checked as LiveKit's server does (service/auth.go): roomCreate for Create/DeleteRoom,
 * roomList for ListRooms, roomAdmin of the request's room for the rest; a missing one answers
 * `unauthenticated` "permissions denied".
 */
import {
  CreateRoomRequest,
  DataPacket,
  DataPacket_Kind,
  DeleteRoomRequest,
  DeleteRoomResponse,
  ListParticipantsRequest,
  ListParticipantsResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  MuteRoomTrackRequest,
  MuteRoomTrackResponse,
  RemoveParticipantResponse,
  Room,
  RoomParticipantIdentity,
  SendDataRequest,
  SendDataResponse,
  UpdateParticipantRequest,
  UpdateRoomMetadataRequest,
  UpdateSubscriptionsRequest,
  UpdateSubscriptionsResponse,
  UserPacket,
} from '@livekit/protocol';
import { z } from 'zod';
import type { Bus, Store } from '../../backbone/index.ts';
import { BusRequestError } from '../../backbone/index.ts';
import { livekitMemberInfo, livekitSid, type LiveKitToken } from '../../protocol/livekit.ts';
import { livekitInfoOf, participantPermission } from '../../protocol/livekitParticipant.ts';
import {
  createRoom,
  deleteRoom,
  findRoomByName,
  getRoom,
  listRooms,
  newId,
  parseStoredJson,
  putRoom,
} from '../../protocol/records.ts';
import { listRecordings } from '../../protocol/recording.ts';
import {
  MAX_DATA_BYTES,
  MAX_INFO_BYTES,
  MAX_ROOM_METADATA,
  memberRecord,
  roomKeys,
  roomSubjects,
  type ControlRequest,
  type MemberRecord,
  type PublishedTrack,
  type RoomRecord,
} from '../../protocol/room.ts';
import { askRoomNodes } from '../../protocol/roomNodes.ts';
import { logger } from '../../util/logger.ts';
import { userPlacement } from '../userPlacement.ts';
import { livekitRoom, memberParticipant } from './livekitRoom.ts';
import { permissionDenied, TwirpError } from './TwirpError.ts';

/** A generated request class: decodes protobuf-JSON or binary. */
export interface RequestType<T> {
  fromJson(json: unknown, options: { ignoreUnknownFields: boolean }): T;
  fromBinary(bytes: Uint8Array): T;
}

/** A generated response message. */
export interface ResponseMessage {
  toBinary(): Uint8Array;
  toJson(options: { emitDefaultValues: boolean; useProtoFieldName: boolean }): unknown;
}

/** Decodes the call's body as `type` (the route knows its format). */
export type Decode = <T>(type: RequestType<T>) => T;

type Grant = 'roomCreate' | 'roomList' | 'roomAdmin';

interface Method<T> {
  request: RequestType<T>;
  grant: Grant;
  run(service: string, req: T): Promise<ResponseMessage>;
}

/** Typed per method, stored as one table (the route only needs the shape). */
function method<T>(m: Method<T>): Method<unknown> {
  return m;
}

// ---- arguments (zod) -----------------------------------------------------------------------------------

const roomName = z
  .string()
  .min(1, { message: 'no room name' })
  .max(256, { message: 'room name length exceeds limits' });
const identity = z
  .string()
  .min(1, { message: 'identity cannot be empty' })
  .max(256, { message: 'participant identity length exceeds limits' });
const roomMetadata = z.string().max(MAX_ROOM_METADATA, { message: 'metadata size exceeds limits' });
/** As livekitMemberInfo keeps a participant's (src/protocol/livekit.ts). */
const participantMetadata = z.string().max(4096, { message: 'metadata size exceeds limits' });
const attributes = z
  .record(
    z.string().max(256, { message: 'attribute size exceeds limits' }),
    z.string().max(1024, { message: 'attribute size exceeds limits' }),
  )
  .refine((a) => Object.keys(a).length <= 64, { message: 'too many attributes (64 at most)' });

const createRoomArgs = z.object({
  name: roomName,
  maxParticipants: z.number().int().min(0).max(100_000),
  metadata: roomMetadata,
});
const roomArgs = z.object({ room: roomName });
const roomMetadataArgs = roomArgs.extend({ metadata: roomMetadata });
const listRoomsArgs = z.object({ names: z.array(z.string().max(256)).max(1000) });
const participantArgs = z.object({ room: roomName, identity });
const updateParticipantArgs = participantArgs.extend({
  name: z.string().max(256, { message: 'name length exceeds limits' }),
  metadata: participantMetadata,
  attributes,
});
const trackSids = z.array(z.string().min(1).max(64)).max(256, { message: 'at most 256 track sids' });
const sendDataArgs = z.object({
  room: roomName,
  kind: z.union([z.literal(DataPacket_Kind.RELIABLE), z.literal(DataPacket_Kind.LOSSY)], {
    message: 'kind must be RELIABLE or LOSSY',
  }),
  destinationSids: z.array(z.string().max(64)).max(1000),
  destinationIdentities: z.array(z.string().min(1).max(256)).max(1000),
  topic: z.string().max(256).optional(),
});

// ---- the service ---------------------------------------------------------------------------------------

export interface LiveKitRoomServiceOptions {
  bus: Bus;
  store: Store;
  cluster: string;
}

const CONTROL_TIMEOUT_MS = 10_000;

const roomNotFound = (): TwirpError => new TwirpError('not_found', 'requested room does not exist');
const participantNotFound = (): TwirpError => new TwirpError('not_found', 'participant does not exist');
const trackNotFound = (): TwirpError => new TwirpError('not_found', 'track is not found');

export class LiveKitRoomService {
  readonly #o: LiveKitRoomServiceOptions;
  readonly #methods: Record<string, Method<unknown>> = {
    CreateRoom: method({
      request: CreateRoomRequest,
      grant: 'roomCreate',
      run: (s, r) => this.#createRoom(s, r),
    }),
    ListRooms: method({ request: ListRoomsRequest, grant: 'roomList', run: (s, r) => this.#listRooms(s, r) }),
    DeleteRoom: method({
      request: DeleteRoomRequest,
      grant: 'roomCreate',
      run: (s, r) => this.#deleteRoom(s, r),
    }),
    ListParticipants: method({
      request: ListParticipantsRequest,
      grant: 'roomAdmin',
      run: (s, r) => this.#listParticipants(s, r),
    }),
    GetParticipant: method({
      request: RoomParticipantIdentity,
      grant: 'roomAdmin',
      run: (s, r) => this.#getParticipant(s, r),
    }),
    RemoveParticipant: method({
      request: RoomParticipantIdentity,
      grant: 'roomAdmin',
      run: (s, r) => this.#removeParticipant(s, r),
    }),
    MutePublishedTrack: method({
      request: MuteRoomTrackRequest,
      grant: 'roomAdmin',
      run: (s, r) => this.#mutePublishedTrack(s, r),
    }),
    UpdateParticipant: method({
      request: UpdateParticipantRequest,
      grant: 'roomAdmin',
      run: (s, r) => this.#updateParticipant(s, r),
    }),
    UpdateSubscriptions: method({
      request: UpdateSubscriptionsRequest,
      grant: 'roomAdmin',
      run: (s, r) => this.#updateSubscriptions(s, r),
    }),
    SendData: method({ request: SendDataRequest, grant: 'roomAdmin', run: (s, r) => this.#sendData(s, r) }),
    UpdateRoomMetadata: method({
      request: UpdateRoomMetadataRequest,
      grant: 'roomAdmin',
      run: (s, r) => this.#updateRoomMetadata(s, r),
    }),
  };

  constructor(o: LiveKitRoomServiceOptions) {
    this.#o = o;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#methods, name);
  }

  /** One call by a verified token: its request decoded, the grant checked, the answer. */
  async call(name: string, token: LiveKitToken, decode: Decode): Promise<ResponseMessage> {
    const m = Object.hasOwn(this.#methods, name) ? this.#methods[name] : undefined;
    if (!m) {
      throw new TwirpError('bad_route', `no method ${name} in livekit.RoomService`);
    }
    const req = decode(m.request);
    const v = token.video;
    const room = (req as { room?: unknown }).room;
    const allowed =
      m.grant === 'roomAdmin'
        ? v.roomAdmin === true && typeof room === 'string' && (v.room ?? '') === room
        : v[m.grant] === true;
    if (!allowed) {
      throw permissionDenied();
    }
    return m.run(token.service, req);
  }

  // ---- rooms -------------------------------------------------------------------------------------------

  /** A room of that name already there is answered as it is (LiveKit does the same). */
  async #createRoom(service: string, req: CreateRoomRequest): Promise<ResponseMessage> {
    const a = createRoomArgs.parse({
      name: req.name,
      maxParticipants: req.maxParticipants,
      metadata: req.metadata,
    });
    const existing = await this.#find(service, a.name);
    if (existing) {
      return this.#room(existing);
    }
    const rec: RoomRecord = {
      id: newId(),
      name: a.name,
      service,
      locked: false,
      maxPeers: a.maxParticipants,
      adhoc: false,
      createdAt: Date.now(),
      ...(a.metadata !== '' ? { metadata: a.metadata } : {}),
    };
    const { store, cluster } = this.#o;
    try {
      await createRoom(store, cluster, rec);
    } catch (err) {
      // A join or another create of that name won the race: its room it is.
      const winner = await this.#find(service, a.name);
      if (!winner) {
        throw err;
      }
      return this.#room(winner);
    }
    logger.info({ room: rec.id, name: rec.name, service }, 'LiveKit CreateRoom');
    return livekitRoom(rec, { participants: 0, publishers: 0, activeRecording: false });
  }

  async #listRooms(service: string, req: ListRoomsRequest): Promise<ResponseMessage> {
    const { names } = listRoomsArgs.parse({ names: req.names });
    const wanted = new Set(names);
    const rooms = (await listRooms(this.#o.store, this.#o.cluster, service)).filter(
      (r) => wanted.size === 0 || wanted.has(r.name),
    );
    return new ListRoomsResponse({ rooms: await Promise.all(rooms.map((r) => this.#room(r))) });
  }

  /** Everyone leaves (`end`), then the record goes; a room that does not exist is already gone. */
  async #deleteRoom(service: string, req: DeleteRoomRequest): Promise<ResponseMessage> {
    const { room: name } = roomArgs.parse({ room: req.room });
    const rec = await this.#find(service, name);
    if (rec) {
      await this.#control({ op: 'end', room: rec.id, reason: 'room deleted' }, true);
      await deleteRoom(this.#o.store, this.#o.cluster, rec.id);
      logger.info({ room: rec.id, name, service }, 'LiveKit DeleteRoom');
    }
    return new DeleteRoomResponse();
  }

  /** "" removes the metadata. */
  async #updateRoomMetadata(service: string, req: UpdateRoomMetadataRequest): Promise<ResponseMessage> {
    const { room: name, metadata } = roomMetadataArgs.parse({ room: req.room, metadata: req.metadata });
    const rec = await this.#mustFind(service, name);
    if (!(await this.#control({ op: 'update', room: rec.id, metadata }, true))) {
      // No room role: nobody is in a room to be told; the record is written here.
      await putRoom(this.#o.store, this.#o.cluster, rec.id, {
        metadata: metadata === '' ? undefined : metadata,
      });
    }
    return this.#room((await getRoom(this.#o.store, this.#o.cluster, rec.id)) ?? rec);
  }

  // ---- participants --------------------------------------------------------------------------------------

  async #listParticipants(service: string, req: ListParticipantsRequest): Promise<ResponseMessage> {
    const rec = await this.#mustFind(service, roomArgs.parse({ room: req.room }).room);
    const [members, tracks] = await Promise.all([this.#members(rec.id), this.#tracks(rec.id)]);
    return new ListParticipantsResponse({
      participants: members.map((m) => memberParticipant(rec.id, m, tracks.get(m.uid) ?? [])),
    });
  }

  async #getParticipant(service: string, req: RoomParticipantIdentity): Promise<ResponseMessage> {
    const { rec, member } = await this.#participant(service, req);
    const tracks = await this.#tracks(rec.id);
    return memberParticipant(rec.id, member, tracks.get(member.uid) ?? []);
  }

  /** The member of that identity only leaves (`kick` uidOnly); its client is told it was removed. */
  async #removeParticipant(service: string, req: RoomParticipantIdentity): Promise<ResponseMessage> {
    const { rec, member } = await this.#participant(service, req);
    await this.#control(
      { op: 'kick', room: rec.id, user: member.uid, reason: 'removed by the service', uidOnly: true },
      false,
      participantNotFound,
    );
    logger.info({ room: rec.id, uid: member.uid, service }, 'LiveKit RemoveParticipant');
    return new RemoveParticipantResponse();
  }

  /** The track of that sid among the participant's: its stream's track of that kind is (un)muted. */
  async #mutePublishedTrack(service: string, req: MuteRoomTrackRequest): Promise<ResponseMessage> {
    const { rec, member } = await this.#participant(service, req);
    const { trackSid: sid } = z
      .object({ trackSid: z.string().min(1).max(64) })
      .parse({ trackSid: req.trackSid });
    const own = (await this.#tracks(rec.id)).get(member.uid) ?? [];
    const track = own.find((t) => livekitSid.track(t.trackId) === sid);
    if (!track) {
      throw trackNotFound();
    }
    await this.#control(
      {
        op: 'mute',
        room: rec.id,
        uid: member.uid,
        kind: track.kind,
        muted: req.muted,
        streamId: track.streamId,
      },
      false,
      trackNotFound,
    );
    // Its stream's only track of that kind: the media node changed it (`not-found` otherwise).
    const after = own.map((t) => (t === track ? { ...t, muted: req.muted } : t));
    const info = memberParticipant(rec.id, member, after).tracks.find((t) => t.sid === sid);
    return new MuteRoomTrackResponse({ ...(info ? { track: info } : {}) });
  }

  /**
   * Name, metadata and attributes as LiveKit sets them: "" leaves name and metadata as they are; an
   * attribute of value "" is removed, the others are set. Metadata and attributes are kept in the
   * member's `info.livekit` (beside what else its `info` holds), where every front reads them. A
   * permission other than the member's own cannot be given: Switchboard's grants come from the token.
   */
  async #updateParticipant(service: string, req: UpdateParticipantRequest): Promise<ResponseMessage> {
    const a = updateParticipantArgs.parse({
      room: req.room,
      identity: req.identity,
      name: req.name,
      metadata: req.metadata,
      attributes: req.attributes,
    });
    const { rec, member } = await this.#participant(service, a);
    if (req.permission) {
      const now = participantPermission({
        canPublish: member.canPublish,
        canSubscribe: member.canSubscribe,
        canPublishData: member.canPublishData,
        hidden: member.hidden,
      });
      const p = req.permission;
      if (
        p.canPublish !== now.canPublish ||
        p.canSubscribe !== now.canSubscribe ||
        p.canPublishData !== now.canPublishData ||
        p.hidden !== now.hidden
      ) {
        throw new TwirpError(
          'unimplemented',
          "changing a participant's permission is not supported (its grants come from its token)",
        );
      }
    }
    let info: unknown;
    const attrs = Object.entries(a.attributes);
    if (a.metadata !== '' || attrs.length > 0) {
      if (member.info != null && !isPlainObject(member.info)) {
        throw new TwirpError(
          'failed_precondition',
          `participant "${member.uid}" keeps non-object info: its metadata cannot be set`,
        );
      }
      const lk = livekitInfoOf(member.info) ?? {};
      const merged: Record<string, string> = { ...(lk.attributes ?? {}) };
      for (const [k, v] of attrs) {
        if (v === '') {
          delete merged[k];
        } else {
          merged[k] = v;
        }
      }
      info = {
        ...(isPlainObject(member.info) ? member.info : {}),
        livekit: {
          ...lk,
          ...(a.metadata !== '' ? { metadata: a.metadata } : {}),
          attributes: merged,
        },
      };
      const checked = livekitMemberInfo.safeParse(info);
      if (!checked.success) {
        const i = checked.error.issues[0];
        throw new TwirpError('invalid_argument', `attributes: ${i?.message ?? 'invalid'}`);
      }
      if (Buffer.byteLength(JSON.stringify(info)) > MAX_INFO_BYTES) {
        throw new TwirpError(
          'invalid_argument',
          `metadata size exceeds limits (metadata and attributes: ${MAX_INFO_BYTES} bytes in all)`,
        );
      }
    }
    const updated: MemberRecord = {
      ...member,
      ...(a.name !== '' ? { name: a.name } : {}),
      ...(info !== undefined ? { info } : {}),
    };
    if (a.name !== '' || info !== undefined) {
      await this.#control(
        {
          op: 'updatePeer',
          room: rec.id,
          uid: member.uid,
          ...(a.name !== '' ? { name: a.name } : {}),
          ...(info !== undefined ? { info } : {}),
        },
        false,
        participantNotFound,
      );
    }
    const tracks = await this.#tracks(rec.id);
    return memberParticipant(rec.id, updated, tracks.get(member.uid) ?? []);
  }

  /** The participant's media nodes subscribe it to (or unsubscribe it from) the tracks of those sids. */
  async #updateSubscriptions(service: string, req: UpdateSubscriptionsRequest): Promise<ResponseMessage> {
    const { rec, member } = await this.#participant(service, req);
    const { trackSids: sids } = z
      .object({ trackSids })
      .parse({ trackSids: [...req.trackSids, ...req.participantTracks.flatMap((p) => p.trackSids)] });
    if (sids.length === 0) {
      return new UpdateSubscriptionsResponse();
    }
    const byId = new Map<string, string>();
    for (const list of (await this.#tracks(rec.id)).values()) {
      for (const t of list) {
        byId.set(livekitSid.track(t.trackId), t.trackId);
      }
    }
    const subscriptions = [...new Set(sids)].map((sid) => {
      const trackId = byId.get(sid);
      if (trackId === undefined) {
        throw new TwirpError('not_found', `track ${sid} is not found`);
      }
      return { trackId, subscribe: req.subscribe };
    });
    const answers = await askRoomNodes(this.#o.bus, this.#o.store, this.#o.cluster, rec.id, {
      op: 'subscription',
      room: rec.id,
      uid: member.uid,
      subscriptions,
    });
    const peers = answers.reduce((n, x) => n + (x.reply?.count ?? 0), 0);
    logger.debug(
      { room: rec.id, uid: member.uid, tracks: subscriptions.length, peers },
      'LiveKit UpdateSubscriptions',
    );
    return new UpdateSubscriptionsResponse();
  }

  /**
   * A user DataPacket (as LiveKit's server builds it: no sender) on `_reliable` or `_lossy` to the
   * room's clients on every node, or only to the participants named by identity or sid.
   */
  async #sendData(service: string, req: SendDataRequest): Promise<ResponseMessage> {
    const a = sendDataArgs.parse({
      room: req.room,
      kind: req.kind,
      destinationSids: req.destinationSids,
      destinationIdentities: req.destinationIdentities,
      topic: req.topic,
    });
    const rec = await this.#mustFind(service, a.room);
    let to: string[] | undefined;
    if (a.destinationSids.length > 0 || a.destinationIdentities.length > 0) {
      const sids = new Set(a.destinationSids);
      const uids = new Set(a.destinationIdentities);
      for (const m of await this.#members(rec.id)) {
        if (sids.has(livekitSid.participant(rec.id, m.uid))) {
          uids.add(m.uid);
        }
      }
      to = [...uids];
    }
    const packet = new DataPacket({
      kind: a.kind,
      destinationIdentities: a.destinationIdentities,
      value: {
        case: 'user',
        value: new UserPacket({
          payload: req.data,
          destinationSids: a.destinationSids,
          destinationIdentities: a.destinationIdentities,
          ...(a.topic !== undefined ? { topic: a.topic } : {}),
          nonce: req.nonce,
        }),
      },
    });
    const bytes = packet.toBinary();
    if (bytes.length > MAX_DATA_BYTES) {
      throw new TwirpError('invalid_argument', `data larger than ${MAX_DATA_BYTES} bytes`);
    }
    if (to?.length === 0) {
      return new SendDataResponse(); // named participants of which none is here
    }
    const answers = await askRoomNodes(this.#o.bus, this.#o.store, this.#o.cluster, rec.id, {
      op: 'data',
      room: rec.id,
      label: a.kind === DataPacket_Kind.LOSSY ? '_lossy' : '_reliable',
      data: Buffer.from(bytes).toString('base64'),
      ...(to ? { to } : {}),
    });
    const peers = answers.reduce((n, x) => n + (x.reply?.count ?? 0), 0);
    logger.debug({ room: rec.id, bytes: bytes.length, peers }, 'LiveKit SendData');
    return new SendDataResponse();
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  /** The room a join of that name reaches among the service's rooms (by name, else by id). */
  async #find(service: string, name: string): Promise<RoomRecord | undefined> {
    const { store, cluster } = this.#o;
    const named = await findRoomByName(store, cluster, service, name, false);
    if (named) {
      return named;
    }
    const byId = await getRoom(store, cluster, name);
    if (byId?.service === service) {
      return byId;
    }
    return findRoomByName(store, cluster, service, name, true);
  }

  async #mustFind(service: string, name: string): Promise<RoomRecord> {
    const rec = await this.#find(service, name);
    if (!rec) {
      throw roomNotFound();
    }
    return rec;
  }

  async #participant(
    service: string,
    req: { room: string; identity: string },
  ): Promise<{ rec: RoomRecord; member: MemberRecord }> {
    const a = participantArgs.parse({ room: req.room, identity: req.identity });
    const rec = await this.#mustFind(service, a.room);
    const member = (await this.#members(rec.id)).find((m) => m.uid === a.identity);
    if (!member) {
      throw participantNotFound();
    }
    return { rec, member };
  }

  /** LiveKit's Room of a record, with who is in it now and whether it is being recorded. */
  async #room(rec: RoomRecord): Promise<Room> {
    const { store, cluster } = this.#o;
    const [members, recordings] = await Promise.all([
      this.#members(rec.id),
      listRecordings(store, cluster, rec.id).catch(() => []),
    ]);
    let publishers = 0;
    if (members.length > 0) {
      for (const list of (await this.#tracks(rec.id)).values()) {
        publishers += list.length > 0 ? 1 : 0;
      }
    }
    return livekitRoom(rec, {
      participants: members.length,
      publishers,
      activeRecording: recordings.some((r) => r.state === 'recording'),
    });
  }

  async #members(room: string): Promise<MemberRecord[]> {
    const raw = await this.#o.store.hgetall(roomKeys.members(this.#o.cluster, room));
    const out: MemberRecord[] = [];
    for (const v of Object.values(raw)) {
      const r = memberRecord.safeParse(parseStoredJson(v));
      if (r.success) {
        out.push(r.data);
      }
    }
    return out.sort((a, b) => a.joinedAt - b.joinedAt || a.uid.localeCompare(b.uid));
  }

  /** uid → the tracks it publishes, from every node hosting the room. */
  async #tracks(room: string): Promise<Map<string, PublishedTrack[]>> {
    const where = await userPlacement(this.#o.bus, this.#o.store, this.#o.cluster, room);
    return new Map([...where].map(([uid, p]) => [uid, p.tracks]));
  }

  /**
   * The room role's `control` op: true once done; false when no room role answers and `tolerateNone`
   * (then nobody is in any room to act on). Its `not-found` becomes `notFound()` when given.
   */
  async #control(req: ControlRequest, tolerateNone: boolean, notFound?: () => TwirpError): Promise<boolean> {
    try {
      await this.#o.bus.request(roomSubjects.control(this.#o.cluster), req, {
        timeoutMs: CONTROL_TIMEOUT_MS,
      });
      return true;
    } catch (err) {
      if (tolerateNone && err instanceof BusRequestError && err.code === 'no-responder') {
        return false;
      }
      if (notFound && err instanceof BusRequestError && err.code === 'not-found') {
        throw notFound();
      }
      throw err;
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
