import { z } from 'zod';

/** Roles of a cluster talk over these Bus subjects and Store keys only (DESIGN.md "Two seams"). */

export const HEARTBEAT_MS = 1000;
/** A node missing three heartbeats is gone. */
export const NODE_TTL_MS = 3 * HEARTBEAT_MS;
/** Room leases outlive a few missed renewals, so a busy event loop does not lose its rooms. */
export const ROOM_LEASE_MS = 10_000;

/** What every media node writes into the Store each second (its heartbeat). */
export interface NodeLoad {
  node: string;
  peers: number;
  tracks: number;
  rooms: number;
  /** Percent of one core over the last heartbeat interval. */
  cpu: number;
  /** Wall-clock ms of the heartbeat. */
  at: number;
}

/** What travels on the Bus from a signal instance to the media node owning the room. */
export const peerRequest = z.object({
  conn: z.string().min(1),
  signal: z.string().min(1),
  method: z.enum(['join', 'offer', 'answer', 'trickle', 'mute', 'layer', 'leave']),
  params: z.unknown(),
});
export type PeerRequest = z.infer<typeof peerRequest>;

/** What a media node publishes back to the signal instance holding the client's socket. */
export const peerNotification = z.object({
  conn: z.string().min(1),
  method: z.string().min(1),
  params: z.unknown(),
});
export type PeerNotification = z.infer<typeof peerNotification>;

/** A signal instance asks the registry which media node owns a room. */
export const placeRequest = z.object({ room: z.string().min(1).max(256) });

export const subjects = {
  sfuRpc: (dc: string, node: string) => `sb.${dc}.sfu.${node}.rpc`,
  signalNotify: (dc: string, node: string) => `sb.${dc}.signal.${node}.notify`,
  registryPlace: (dc: string) => `sb.${dc}.registry.place`,
};

export const storeKeys = {
  node: (dc: string, node: string) => `sb:${dc}:node:${node}`,
  nodePrefix: (dc: string) => `sb:${dc}:node:`,
  roomOwner: (dc: string, room: string) => `sb:${dc}:room:${room}:owner`,
  /**
   * Hash of the rooms leased to a node: field = room, value = lease expiry (ms since the epoch).
   * The registry adds a room when it places it there, the node renews its rooms with every
   * heartbeat and removes a room when it closes. Placement counts the unexpired entries, so a
   * burst of placements between two heartbeats still spreads over the nodes. (Not under
   * `nodePrefix`: that prefix lists heartbeats only.)
   */
  nodeRooms: (dc: string, node: string) => `sb:${dc}:leases:${node}`,
};
