/**
 * The room service's seams: Bus subjects between signal, room, api and sfu roles, the Store keys of
 * rooms, services and membership, and the JSON-RPC methods clients call on `/ws` (`room.*`).
 * Everything here is plain JSON validated with zod where it enters a role.
 */
import { z } from 'zod';
import { grantsSchema, mediaGrantsSchema } from './tokens.ts';
import { deeperThan } from '../util/jsonDepth.ts';

export const roomSubjects = {
  /** signal → room (request): may this peer join? Answers AdmitReply or an error. */
  admit: (cluster: string) => `sb.${cluster}.room.admit`,
  /** signal → room (publish): the media join succeeded. */
  joined: (cluster: string) => `sb.${cluster}.room.joined`,
  /** signal → room (publish): the peer's socket closed or its media join failed. */
  leave: (cluster: string) => `sb.${cluster}.room.leave`,
  /** signal → room (request): a client's `room.*` call. */
  rpc: (cluster: string) => `sb.${cluster}.room.rpc`,
  /** api → room (request): kick users, end a room (REST DELETE). */
  control: (cluster: string) => `sb.${cluster}.room.control`,
  /** signal → room (publish): a member to write back after the Store lost its data (Redis restart). */
  restore: (cluster: string) => `sb.${cluster}.room.restore`,
  /** room → sfu (request): act on the media of a room this node hosts. */
  sfuAdmin: (cluster: string, node: string) => `sb.${cluster}.sfu.${node}.admin`,
};

/** Queue group of room role instances: each request goes to one of them. */
export const ROOM_QUEUE = 'room';

/**
 * Store keys. Those under `persistentPrefixes` survive a restart of the embedded server (snapshotted to
 * `[api] datadir`); membership is live state and is not persisted.
 */
export const roomKeys = {
  room: (cluster: string, id: string) => `sb:${cluster}:rooms:${id}`,
  roomPrefix: (cluster: string) => `sb:${cluster}:rooms:`,
  /** The id of the room called `name` among `service`'s rooms (names are unique per service). */
  roomName: (cluster: string, service: string, name: string) => `sb:${cluster}:roomnames:${service}:${name}`,
  service: (cluster: string, id: string) => `sb:${cluster}:services:${id}`,
  servicePrefix: (cluster: string) => `sb:${cluster}:services:`,
  secret: (cluster: string, name: string) => `sb:${cluster}:secrets:${name}`,
  /** One MAuth (timestamp, cnonce) pair seen for a service, kept for the skew window (replay protection). */
  mauth: (cluster: string, service: string, ts: string, cnonce: string) =>
    `sb:${cluster}:mauth:${service}:${ts}:${cnonce}`,
  /** A single-use JWT's id, kept until the token expires. */
  jti: (cluster: string, jti: string) => `sb:${cluster}:jti:${jti}`,
  /** A Licode token document until it is used (3 minutes). */
  licodeToken: (cluster: string, id: string) => `sb:${cluster}:nuvetoken:${id}`,
  /** Hash uid → Member JSON. */
  members: (cluster: string, room: string) => `sb:${cluster}:members:${room}`,
  membersPrefix: (cluster: string) => `sb:${cluster}:members:`,
  /** Capacity slot `i` of a room, holding the occupant's connection id (atomic set-if-absent). */
  slot: (cluster: string, room: string, i: number) => `sb:${cluster}:slot:${room}:${i}`,
  /** Set while a room has members: its first join starts it, its last leave finishes it. */
  live: (cluster: string, room: string) => `sb:${cluster}:live:${room}`,
  /** A signal instance's heartbeat; members of a signal instance that stopped beating are reaped. */
  signalAlive: (cluster: string, node: string) => `sb:${cluster}:signal:${node}`,
};

export function persistentPrefixes(cluster: string): string[] {
  return ['rooms', 'roomnames', 'services', 'secrets', 'mauth', 'jti', 'nuvetoken', 'recordings'].map(
    (p) => `sb:${cluster}:${p}:`,
  );
}

/**
 * Durable records a process with the api or room role keeps a copy of, to write them back when Redis
 * loses its data (RedisStore's mirror). Secrets, members and leases are written back by their owners.
 */
export function mirroredPrefixes(cluster: string): string[] {
  return ['rooms', 'roomnames', 'services', 'recordings'].map((p) => `sb:${cluster}:${p}:`);
}

export const SIGNAL_HEARTBEAT_MS = 5000;
export const SIGNAL_TTL_MS = 3 * SIGNAL_HEARTBEAT_MS;

// ---- records -----------------------------------------------------------------------------------------

/** A room: Nuve's fields (p2p, data, mediaConfiguration) and the room service's settings. */
export const roomRecord = z.object({
  id: z.string(),
  name: z.string(),
  /** Id of the service that owns it (the superservice for rooms created by a join). */
  service: z.string(),
  p2p: z.boolean().optional(),
  data: z.unknown().optional(),
  mediaConfiguration: z.string().optional(),
  locked: z.boolean().default(false),
  /** `sha256:<salt>:<hex>`; the password itself is never stored. */
  passwordHash: z.string().optional(),
  /** 0 = unlimited. */
  maxPeers: z.number().int().min(0).default(0),
  description: z.string().optional(),
  /** Created by a join rather than the API: deleted when its last member leaves. */
  adhoc: z.boolean().default(false),
  createdAt: z.number(),
  /** Free-form text for the room's members (LiveKit's room metadata). */
  metadata: z.string().optional(),
});
export type RoomRecord = z.infer<typeof roomRecord>;

/** A service (Nuve): its key signs MAuth headers, JWTs and webhooks and never leaves the server. */
export const serviceRecord = z.object({
  id: z.string(),
  name: z.string(),
  key: z.string(),
  createdAt: z.number(),
  superservice: z.boolean().optional(),
});
export type ServiceRecord = z.infer<typeof serviceRecord>;

export const peerRole = z.enum(['host', 'guest']);
export type PeerRole = z.infer<typeof peerRole>;

/** One member of a room (Store hash field, by uid). */
/**
 * The protocol a member speaks: `jsonrpc` (ion-sfu JSON-RPC on /ws: ion-sdk-js, the demo page, the
 * SDK), `ion` (ION's gRPC: Room / RTC services), `licode` (erizo.js), `whip`, `whep`, `livekit`
 * (livekit-client and its siblings on `/rtc`).
 */
export const clientProtocol = z.enum(['jsonrpc', 'ion', 'licode', 'whip', 'whep', 'livekit']);
export type ClientProtocol = z.infer<typeof clientProtocol>;

export const memberRecord = z.object({
  uid: z.string(),
  name: z.string(),
  conn: z.string(),
  signal: z.string(),
  role: peerRole,
  hidden: z.boolean(),
  canPublish: z.boolean().optional(),
  canSubscribe: z.boolean().optional(),
  canPublishData: z.boolean(),
  /** Licode role of the token, when it came from Nuve. */
  tokenRole: z.string().optional(),
  /** How it connected (absent in records written before it was kept). */
  protocol: clientProtocol.optional(),
  slot: z.number().int().min(0),
  joinedAt: z.number(),
  /** Free-form, set by the peer with `room.updatePeer`. */
  info: z.unknown().optional(),
  /** The media join succeeded (`participant_joined` went out; a leave is announced). */
  confirmed: z.boolean().optional(),
  /**
   * Added by the API without a connection (ION's AddPeer): nothing is sent to it, the reaper leaves
   * it alone; `conn` and `signal` are placeholders (`signal` = EXTERNAL_SIGNAL).
   */
  external: z.boolean().optional(),
});
export type MemberRecord = z.infer<typeof memberRecord>;

/** The `signal` of a member without a connection (`external`). */
export const EXTERNAL_SIGNAL = 'external';

/** A peer as clients see it (`room.peers`, `room.peer`). */
export interface PeerInfo {
  uid: string;
  name: string;
  role: PeerRole;
  joinedAt: number;
  info?: unknown;
}

export function peerInfo(m: MemberRecord): PeerInfo {
  return {
    uid: m.uid,
    name: m.name,
    role: m.role,
    joinedAt: m.joinedAt,
    ...(m.info !== undefined ? { info: m.info } : {}),
  };
}

/** A room as clients see it (`room.info`, `room.updated`, `room.joined`). */
export interface RoomInfo {
  id: string;
  name: string;
  locked: boolean;
  hasPassword: boolean;
  maxPeers: number;
  description?: string;
  metadata?: string;
}

export function roomInfo(r: RoomRecord): RoomInfo {
  return {
    id: r.id,
    name: r.name,
    locked: r.locked,
    hasPassword: r.passwordHash !== undefined,
    maxPeers: r.maxPeers,
    ...(r.description !== undefined ? { description: r.description } : {}),
    ...(r.metadata !== undefined ? { metadata: r.metadata } : {}),
  };
}

// ---- client JSON bounds ------------------------------------------------------------------------------

/** Largest `data` of one `room.message`, serialised. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Largest `info` of `room.updatePeer`, serialised: it rides in every roster and `room.peer` event. */
export const MAX_INFO_BYTES = 8 * 1024;
/** Longest room `metadata` (characters): it rides in every `room.joined` and `room.updated`. */
export const MAX_ROOM_METADATA = 8 * 1024;
/** Deepest nesting of a client's free-form `info` and `data`. */
export const MAX_JSON_DEPTH = 16;

/** A client's free-form JSON, bounded in depth and size (it is stored, relayed and serialised again). */
const freeJson = (maxBytes: number) =>
  z.unknown().superRefine((v, ctx) => {
    if (deeperThan(v, MAX_JSON_DEPTH)) {
      ctx.addIssue({ code: 'custom', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
    } else if (Buffer.byteLength(JSON.stringify(v) ?? '') > maxBytes) {
      ctx.addIssue({ code: 'custom', message: `larger than ${maxBytes} bytes` });
    }
  });

// ---- Bus messages ------------------------------------------------------------------------------------

const id = z.string().min(1).max(256);

export const admitRequest = z.object({
  room: id,
  uid: id,
  name: z.string().max(256),
  conn: id,
  signal: id,
  /** Verified grants (the signal role checked the token). */
  grants: grantsSchema.omit({ api: true }),
  service: z.string(),
  tokenRole: z.string().optional(),
  protocol: clientProtocol.optional(),
  password: z.string().max(256).optional(),
  /** Joined without a token (`[auth] anonymous = true`). */
  anonymous: z.boolean(),
  /** The member's free-form `info` from the start (ION's peer fields), as `room.updatePeer` sets it. */
  info: z.unknown().optional(),
  /**
   * A second stream of a member already in the room (ION's RTC stream beside its Room stream, on
   * another signal instance): a token join of the same identity is let in under the existing member,
   * which is neither replaced nor re-checked. Without such a member, an ordinary admission.
   */
  attach: z.boolean().optional(),
});
export type AdmitRequest = z.infer<typeof admitRequest>;

export interface AdmitReply {
  role: PeerRole;
  /** The room admitted to: its `id` is the room's id even when the join named the room by its name. */
  room: RoomInfo;
  /** What the room role recorded; the signal role keeps it to write it again if the Store loses it. */
  member: MemberRecord;
  /** `attach`: the member was already there (its own connection keeps it; nothing was recorded). */
  attached?: boolean;
}

export const restoreMessage = z.object({ room: id, member: memberRecord });

/**
 * room → signal, on the connection's notify subject but never forwarded to the client: the room
 * role's current record of that member (after a role or name change), kept for `restore`.
 */
export const MEMBER_RECORD_NOTIFICATION = 'sb.memberRecord';

export const joinedMessage = z.object({ room: id, uid: id, conn: id });
export const leaveMessage = z.object({ room: id, uid: id, conn: id, reason: z.string().max(64) });

export const roomRpcRequest = z.object({
  conn: id,
  signal: id,
  room: id,
  uid: id,
  method: z.string(),
  params: z.unknown(),
});
export type RoomRpcRequest = z.infer<typeof roomRpcRequest>;

/** Mute (or unmute) a member's tracks of one kind, or of one stream: a control op and an sfuAdmin op alike. */
const muteRequest = z.object({
  op: z.literal('mute'),
  room: id,
  uid: id,
  kind: z.enum(['audio', 'video']),
  muted: z.boolean(),
  streamId: id.optional(),
});

export const controlRequest = z.discriminatedUnion('op', [
  /**
   * Kick every member whose uid or name is `user` (Nuve's DELETE /rooms/:room/users/:user); with
   * `uidOnly`, the member of that uid only (ION's RemovePeer).
   */
  z.object({
    op: z.literal('kick'),
    room: id,
    user: id,
    reason: z.string().max(256).optional(),
    uidOnly: z.boolean().optional(),
  }),
  /** End the room: everyone leaves (Nuve's DELETE /rooms/:room). */
  z.object({ op: z.literal('end'), room: id, reason: z.string().max(256).optional() }),
  /** The REST API's and dashboard's mute (a host's `room.mute` takes the same path). */
  muteRequest,
  /**
   * Change an existing room's settings (ION's RoomService.UpdateRoom): the given fields, then
   * `room.updated` to the members. `password` / `description` null (or "") remove them.
   */
  z.object({
    op: z.literal('update'),
    room: id,
    name: z.string().min(1).max(256).optional(),
    locked: z.boolean().optional(),
    password: z.string().max(256).nullable().optional(),
    maxPeers: z.number().int().min(0).max(100_000).optional(),
    description: z.string().max(1024).nullable().optional(),
    /** LiveKit's UpdateRoomMetadata; null (or "") removes it. */
    metadata: z.string().max(MAX_ROOM_METADATA).nullable().optional(),
  }),
  /** A member's name and/or free-form `info` (ION's RoomService.UpdatePeer), then a `room.peer` update. */
  z.object({
    op: z.literal('updatePeer'),
    room: id,
    uid: id,
    name: z.string().min(1).max(256).optional(),
    info: freeJson(MAX_INFO_BYTES).optional(),
  }),
  /**
   * A member without a connection (ION's RoomService.AddPeer: a SIP or RTMP gateway's participant):
   * announced as a join, counted against max peers, never reaped; it leaves by a kick or the room's end.
   */
  z.object({
    op: z.literal('addPeer'),
    room: id,
    uid: id,
    name: z.string().max(256),
    info: freeJson(MAX_INFO_BYTES).optional(),
  }),
]);
export type ControlRequest = z.infer<typeof controlRequest>;

/** Largest payload of an sfuAdmin `data` (LiveKit clients refuse data messages over 64 KiB). */
export const MAX_DATA_BYTES = 64 * 1024;

export const sfuAdminRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('kick'), room: id, uid: id }),
  muteRequest,
  z.object({ op: z.literal('end'), room: id }),
  /** The room's roster (`peers`) as the node owning it sees it. */
  z.object({ op: z.literal('roster'), room: id }),
  /** What this node receives of stream `streamId` (msid), per track and layer (`stats`). */
  z.object({ op: z.literal('streamStats'), room: id, streamId: id }),
  /** Uids of the room's clients on this node (`uids`; not those of relayed nodes): where users are. */
  z.object({ op: z.literal('clients'), room: id }),
  /** This node's media figures of the room's clients (`media`: src/media/stats.ts). */
  z.object({ op: z.literal('stats'), room: id }),
  /**
   * Bytes (base64) to the room's clients on this node (not relay links) on data channel `label`
   * (LiveKit's RoomService.SendData: a `DataPacket`), to the members `to` only when given; `count`:
   * peers it went to.
   */
  z.object({
    op: z.literal('data'),
    room: id,
    label: z.enum(['_reliable', '_lossy']),
    data: z
      .string()
      .min(1)
      .max(Math.ceil((MAX_DATA_BYTES * 4) / 3) + 4),
    to: z.array(id).max(1000).optional(),
  }),
  /** What member `uid`'s peer on this node receives, track by track (LiveKit's UpdateSubscriptions). */
  z.object({
    op: z.literal('subscription'),
    room: id,
    uid: id,
    subscriptions: z
      .array(z.object({ trackId: id, subscribe: z.boolean() }).strict())
      .min(1)
      .max(256),
  }),
]);
export type SfuAdminRequest = z.infer<typeof sfuAdminRequest>;
export interface SfuAdminReply {
  /** Peers closed (kick, end) or tracks changed (mute); participants (roster). */
  count: number;
  /** `roster`: the participants with their streams. */
  peers?: unknown[];
  /** `streamStats`: the stream's tracks (StreamStats), when this node receives it from its publisher. */
  stats?: StreamStats;
  /** `clients`: uids of the room's clients on this node. */
  uids?: string[];
  /** `clients`: the tracks each of them publishes (uid → tracks). */
  tracks?: Record<string, PublishedTrack[]>;
  /** `stats`: per participant on this node, its tracks and subscriptions (ParticipantMediaStats). */
  media?: unknown[];
}

/** A track a client publishes, as users listings show it. */
export interface PublishedTrack {
  trackId: string;
  streamId: string;
  kind: 'audio' | 'video';
  muted: boolean;
}

/** One simulcast layer (or the only one) of a published track, as its media node measures it. */
export interface LayerStats {
  rid: string;
  ssrc: number;
  packets: number;
  bytes: number;
  /** Over the last second, bps. */
  bitrate: number;
  width: number;
  height: number;
  /** Frames per second over the last second (video). */
  frameRate: number;
  /** Keyframe requests sent to the publisher, keyframes received (video). */
  plis: number;
  keyframes: number;
  /** Packets we NACKed, and lost on the way in as our receiver reports count them (RFC 3550). */
  nacks: number;
  packetsLost: number;
  /** Dynacast paused it at the publisher: no subscriber wants it. */
  paused: boolean;
}

/** A published stream as the media node receiving it sees it (Licode's `getStreamStats`). */
export interface StreamStats {
  tracks: {
    kind: 'audio' | 'video';
    codec: string;
    layers: LayerStats[];
    /** DownTracks forwarding it on this node. */
    subscribers: number;
  }[];
}

/** What the signal role puts into the `join` it forwards to the media node (besides ion-sfu's params). */
export const forwardedJoinExtras = z.object({ grants: mediaGrantsSchema.optional() });

// ---- client methods (`room.*` on /ws) ----------------------------------------------------------------

const uidParam = z.string().min(1).max(256);

export const roomMethods = {
  'room.info': z.object({}).strict().optional(),
  /** Hosts: the room's media statistics from every node hosting it (as `GET /api/rooms/{room}/stats`). */
  'room.stats': z.object({}).strict().optional(),
  'room.peers': z.object({}).strict().optional(),
  'room.lock': z.object({}).strict().optional(),
  'room.unlock': z.object({}).strict().optional(),
  /** null or "" removes the password. */
  'room.setPassword': z.object({ password: z.string().max(256).nullable() }).strict(),
  /** 0 = unlimited. */
  'room.setMaxPeers': z.object({ maxPeers: z.number().int().min(0).max(100_000) }).strict(),
  /** Chat or data to one peer (uid) or to everyone else ('all'). */
  'room.message': z
    .object({ to: uidParam, data: freeJson(MAX_MESSAGE_BYTES), type: z.string().max(64).optional() })
    .strict()
    .refine((p) => p.data !== undefined, { message: 'data is required', path: ['data'] }),
  'room.kick': z.object({ uid: uidParam, reason: z.string().max(256).optional() }).strict(),
  /** Mute (or, for your own tracks, unmute) a participant's tracks of one kind; all its streams unless streamId. */
  'room.mute': z
    .object({
      uid: uidParam,
      kind: z.enum(['audio', 'video']),
      muted: z.boolean().default(true),
      streamId: z.string().min(1).max(256).optional(),
    })
    .strict(),
  'room.setRole': z.object({ uid: uidParam, role: peerRole }).strict(),
  'room.updatePeer': z
    .object({ name: z.string().max(256).optional(), info: freeJson(MAX_INFO_BYTES).optional() })
    .strict(),
  'room.end': z
    .object({ reason: z.string().max(256).optional(), delete: z.boolean().optional() })
    .strict()
    .optional(),
} as const;

export type RoomMethod = keyof typeof roomMethods;

export function isRoomMethod(name: string): name is RoomMethod {
  return Object.hasOwn(roomMethods, name);
}

/** Server → client notifications of the room service. */
export const roomNotifications = {
  joined: 'room.joined',
  peer: 'room.peer',
  message: 'room.message',
  updated: 'room.updated',
  kicked: 'room.kicked',
  ended: 'room.ended',
} as const;
