import type { MemberRecord } from '../protocol/room.ts';

/**
 * A client socket of the signal role, whatever protocol it speaks (ion-sfu JSON-RPC on `/ws`,
 * Licode's socket.io): what SignalRole and NodeWatch route to it and ask of it.
 */
export interface SignalClient {
  readonly conn: string;
  /** The media node its peer is on, once it has one. */
  readonly node: string | undefined;
  /** Its room and member record while it is in a room. */
  readonly membership: { room: string; member: MemberRecord } | undefined;
  /** A notification another role sent it (media node, room role). */
  notify(method: string, params: unknown): void;
  /** `notify` with the JSON-RPC frame already serialized (one frame for many connections). */
  notifyFrame(method: string, frame: string): void;
  /** The room role changed its member record. */
  updateRecord(m: MemberRecord): void;
  /** Its media node stopped answering. */
  nodeLost(): void;
  /** Every `[signal.limits] pinginterval`. */
  ping(): void;
  /** The socket went away. */
  close(): void;
}
