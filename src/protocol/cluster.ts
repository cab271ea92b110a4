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
  /** The node's data centre (region, `[global] dc`); absent from nodes of older versions. */
  dc?: string;
  peers: number;
  tracks: number;
  rooms: number;
  /** Percent of one core over the last heartbeat interval. */
  cpu: number;
  /** Wall-clock ms of the heartbeat. */
  at: number;
  /** RTP packets forwarded per second over the last heartbeat interval. */
  packetRate?: number;
  /** Relay links (server-to-server peers) this node holds, both directions; not in `peers`. */
  relays?: number;
  /** `[sfu] maxpeers` / `maxpacketrate` of the node (0 or absent = no limit). */
  maxPeers?: number;
  maxPacketRate?: number;
  /** The node is draining (SIGTERM): it takes no new rooms and no new peers. */
  draining?: boolean;
  /** Resident memory of the process, bytes; event-loop delay p99 over the last interval, ms. */
  rss?: number;
  eventLoopDelayMs?: number;
  /** Process id and host name, for operators (and the agent, which restarts its workers). */
  pid?: number;
  host?: string;
}

/** A node at one of its limits takes no new peers: new rooms go elsewhere, its rooms cascade. */
export function nodeFull(n: NodeLoad): boolean {
  return (
    (n.maxPeers !== undefined && n.maxPeers > 0 && n.peers >= n.maxPeers) ||
    (n.maxPacketRate !== undefined && n.maxPacketRate > 0 && (n.packetRate ?? 0) >= n.maxPacketRate)
  );
}

/** Whether `n` may take a new peer: live, not draining, not full. */
export function nodeAccepts(n: NodeLoad): boolean {
  return n.draining !== true && !nodeFull(n);
}

/** What travels on the Bus from a signal instance to the media node owning the room. */
export const peerRequest = z.object({
  conn: z.string().min(1),
  signal: z.string().min(1),
  /** `participants`: a relay link's roster of its node (src/sfu/Relays.ts); relay peers only. */
  method: z.enum([
    'join',
    'offer',
    'answer',
    'trickle',
    'mute',
    'layer',
    'leave',
    'participants',
    'startRecorder',
    'stopRecorder',
    /** A Licode subscription ends: its tracks go inactive in a re-offer before the peer closes. */
    'unsubscribe',
    /** Per-track subscriptions (ION's `subscription`, ours on `/ws`): ionSfu.ts `methods.subscription`. */
    'subscription',
  ]),
  params: z.unknown(),
});
export type PeerRequest = z.infer<typeof peerRequest>;

/**
 * What a media node publishes back to the signal instance holding the client's socket. `also`: more
 * connections of the same signal instance that get the same notification (a room's roster goes to
 * every member in one message, serialized once, instead of one message per member).
 */
export const peerNotification = z.object({
  conn: z.string().min(1),
  also: z.array(z.string().min(1)).max(100_000).optional(),
  method: z.string().min(1),
  params: z.unknown(),
});
export type PeerNotification = z.infer<typeof peerNotification>;

/** Every connection a notification is for. */
export const notificationTargets = (n: PeerNotification): string[] =>
  n.also ? [n.conn, ...n.also] : [n.conn];

/**
 * A signal instance asks the registry where a peer of `room` goes: a node of the client's region
 * (`dc`) — the owner, or another node that relays the room — and another region's node only when
 * none of the client's takes peers (RegistryRole.place). `avoid`: nodes that just refused the join (full,
 * draining) or did not answer it (gone).
 */
export const placeRequest = z.object({
  room: z.string().min(1).max(256),
  avoid: z.array(z.string().min(1).max(256)).max(64).optional(),
  /** The client's region: the `[global] dc` of the signal instance it reached. Absent: any region. */
  dc: z.string().min(1).max(64).optional(),
});
export type PlaceRequest = z.infer<typeof placeRequest>;

export const subjects = {
  sfuRpc: (cluster: string, node: string) => `sb.${cluster}.sfu.${node}.rpc`,
  signalNotify: (cluster: string, node: string) => `sb.${cluster}.signal.${node}.notify`,
  registryPlace: (cluster: string) => `sb.${cluster}.registry.place`,
  /**
   * Liveness of a media node (request, answers `{}`). Over NATS a dead node's subject has no
   * subscriber, so the request fails at once with `no-responder`: signal instances and the registry
   * notice a crashed node within a second, long before its heartbeat key expires.
   */
  sfuPing: (cluster: string, node: string) => `sb.${cluster}.sfu.${node}.ping`,
  /**
   * A starting process that finds no secrets in the Store asks the running ones (request, answers
   * `{}` when done) to look whether Redis lost its data and write back what they own first, so a
   * Redis restart never makes a new process generate secrets the cluster already has.
   */
  storeCheck: (cluster: string) => `sb.${cluster}.store.check`,
  /**
   * The room's roster (`{room, peers}`), published by the node owning the room whenever it changes
   * (`peers: []` when the room closes there): for signal instances whose clients have no media peer
   * to be told (a Licode client learns of streams before it publishes or subscribes). NATS subject
   * tokens cannot hold `.`, `*`, `>` or spaces, so the room id goes base64url-encoded.
   */
  roster: (cluster: string, room: string) =>
    `sb.${cluster}.roster.${Buffer.from(room, 'utf8').toString('base64url')}`,
};

/** What `subjects.roster` carries. */
export const rosterMessage = z.object({
  room: z.string(),
  peers: z.array(
    z.object({
      uid: z.string(),
      name: z.string(),
      streams: z.array(
        z.object({
          streamId: z.string(),
          audio: z.boolean(),
          video: z.boolean(),
          audioMuted: z.boolean().optional(),
          videoMuted: z.boolean().optional(),
          /** Optional: a node of an older version sends none. */
          tracks: z
            .array(
              z.object({
                id: z.string(),
                kind: z.enum(['audio', 'video']),
                muted: z.boolean(),
                layers: z.array(z.string()),
              }),
            )
            .optional(),
        }),
      ),
    }),
  ),
});
export type RosterMessage = z.infer<typeof rosterMessage>;

/** Uids of relay peers start with this; client uids may not (the sfu role refuses them). */
export const RELAY_UID_PREFIX = 'relay~';

/**
 * Server → client notification (ours): this node is going away (drain) or was lost; join again and the
 * registry places you on a live node. Params `{reason}`. The signal role closes the socket after it.
 */
export const RECONNECT_NOTIFICATION = 'reconnect';
/** Why a client is asked to join again; `ice-failed`: its peer's ICE failed and the peer was closed. */
export type ReconnectReason = 'node-drain' | 'node-lost' | 'owner-changed' | 'room-closed' | 'ice-failed';

export const storeKeys = {
  node: (cluster: string, node: string) => `sb:${cluster}:node:${node}`,
  nodePrefix: (cluster: string) => `sb:${cluster}:node:`,
  roomOwner: (cluster: string, room: string) => `sb:${cluster}:room:${room}:owner`,
  /**
   * Hash of the rooms leased to a node: field = room, value = lease expiry (ms since the epoch).
   * The registry adds a room when it places it there, the node renews its rooms with every
   * heartbeat and removes a room when it closes. Placement counts the unexpired entries, so a
   * burst of placements between two heartbeats still spreads over the nodes. (Not under
   * `nodePrefix`: that prefix lists heartbeats only.)
   */
  nodeRooms: (cluster: string, node: string) => `sb:${cluster}:leases:${node}`,
  /**
   * Hash of the nodes hosting a session of the room (owner and relaying nodes): field = node, value =
   * expiry (ms since the epoch). Each node renews its field with every heartbeat and prunes expired
   * fields of others, so a crashed node drops out of it; placement prefers these nodes for a room's
   * extra peers (one upstream copy per node).
   */
  roomNodes: (cluster: string, room: string) => `sb:${cluster}:room:${room}:nodes`,
};
