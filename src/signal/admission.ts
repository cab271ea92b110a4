/**
 * A client's way into a room's membership, the same for every protocol the signal role speaks: the
 * room role decides (lock, password, max peers, roles) before any media is set up.
 */
import type { Bus } from '../backbone/index.ts';
import { BusRequestError } from '../backbone/index.ts';
import {
  roomSubjects,
  type AdmitReply,
  type AdmitRequest,
  type ClientProtocol,
  type MemberRecord,
  type RoomInfo,
  type RoomRpcRequest,
} from '../protocol/room.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import type { MediaGrants } from '../protocol/tokens.ts';
import type { JoinIdentity } from './Authenticator.ts';

let warnedNoRoomService = false;

export interface Admitted {
  /** The room's id (a join may name the room by its name, see RoomRole). */
  room: string;
  /** Our member record; undefined without a room service (anonymous joins only). */
  member: MemberRecord | undefined;
  /** The room as clients see it; undefined without a room service. */
  info?: RoomInfo | undefined;
  /** `attach` found the member already in the room: its own connection keeps the membership. */
  attached?: boolean | undefined;
}

/** What some protocols add to an admission (see AdmitRequest). */
export interface AdmitExtras {
  info?: unknown;
  attach?: boolean;
}

/** Asks the room role to admit connection `conn` of signal instance `signal` as `ident`. */
export async function admit(
  o: { bus: Bus; cluster: string; conn: string; signal: string; protocol: ClientProtocol },
  ident: JoinIdentity,
  name: string,
  password: string | undefined,
  extras: AdmitExtras = {},
): Promise<Admitted> {
  const req: AdmitRequest = {
    room: ident.room,
    uid: ident.identity,
    name,
    conn: o.conn,
    signal: o.signal,
    grants: {
      canPublish: ident.canPublish,
      canSubscribe: ident.canSubscribe,
      canPublishData: ident.canPublishData,
      roomAdmin: ident.roomAdmin,
      hidden: ident.hidden,
    },
    service: ident.service,
    ...(ident.role !== undefined ? { tokenRole: ident.role } : {}),
    protocol: o.protocol,
    ...(password !== undefined ? { password } : {}),
    anonymous: ident.anonymous,
    ...(extras.info !== undefined ? { info: extras.info } : {}),
    ...(extras.attach ? { attach: true } : {}),
  };
  try {
    const reply = await o.bus.request<AdmitReply>(roomSubjects.admit(o.cluster), req);
    return {
      room: reply.room.id,
      member: reply.member,
      info: reply.room,
      ...(reply.attached ? { attached: true } : {}),
    };
  } catch (err) {
    if (!(err instanceof BusRequestError && err.code === 'no-responder')) {
      throw err;
    }
    // A cluster without a room role: anonymous joins still work (nothing to enforce), token joins
    // do not, since their room's rules could not be checked.
    if (!ident.anonymous) {
      throw new SwitchboardError('unavailable', 'room service unavailable', { cause: err });
    }
    if (!warnedNoRoomService) {
      warnedNoRoomService = true;
      logger.warn('no room role answers: anonymous joins proceed without room rules');
    }
    return { room: ident.room, member: undefined };
  }
}

/** What the media node enforces of a verified identity (travels with the forwarded join). */
export function mediaGrantsOf(ident: JoinIdentity): MediaGrants {
  return {
    canPublish: ident.canPublish,
    canSubscribe: ident.canSubscribe,
    canPublishData: ident.canPublishData,
    hidden: ident.hidden,
    roomAdmin: ident.roomAdmin,
  };
}

/** A member's `room.*` call to the room role (connection `conn` of signal instance `signal`). */
export function roomCall(
  o: { bus: Bus; cluster: string; conn: string; signal: string },
  member: { room: string; uid: string },
  method: string,
  params: unknown,
): Promise<unknown> {
  const req: RoomRpcRequest = {
    conn: o.conn,
    signal: o.signal,
    room: member.room,
    uid: member.uid,
    method,
    params,
  };
  return o.bus.request(roomSubjects.rpc(o.cluster), req, { timeoutMs: 10_000 });
}
