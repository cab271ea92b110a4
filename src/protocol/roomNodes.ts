/**
 * Questions to the media nodes of a room (the api and room roles ask them): the nodes hosting it (owner and relaying
 * nodes, `storeKeys.roomNodes`) each answer an `sfuAdmin` request, with the node's region from its
 * heartbeat. A node that does not answer in time is reported without a reply rather than failing the
 * whole answer. Used for where users are (`clients`) and for the room's statistics (`stats`).
 */
import type { Bus, Store } from '../backbone/index.ts';
import { storeKeys, type NodeLoad } from './cluster.ts';
import { parseStoredJson } from './records.ts';
import { memberRecord, roomKeys, roomSubjects, type SfuAdminReply, type SfuAdminRequest } from './room.ts';

const ASK_TIMEOUT_MS = 2000;

export interface NodeAnswer {
  node: string;
  /** The node's region (`[global] dc`), from its heartbeat. */
  dc?: string;
  /** Undefined: the node did not answer (gone or busy). */
  reply?: SfuAdminReply;
}

export async function askRoomNodes(
  bus: Bus,
  store: Store,
  cluster: string,
  room: string,
  req: SfuAdminRequest,
): Promise<NodeAnswer[]> {
  const now = Date.now();
  const nodes = Object.entries(await store.hgetall(storeKeys.roomNodes(cluster, room)))
    .filter(([, expires]) => Number(expires) > now)
    .map(([node]) => node);
  return Promise.all(
    nodes.map(async (node): Promise<NodeAnswer> => {
      const [reply, heartbeat] = await Promise.all([
        bus
          .request<SfuAdminReply>(roomSubjects.sfuAdmin(cluster, node), req, { timeoutMs: ASK_TIMEOUT_MS })
          .catch(() => undefined),
        store.get(storeKeys.node(cluster, node)).catch(() => undefined),
      ]);
      const dc = heartbeat === undefined ? undefined : (JSON.parse(heartbeat) as NodeLoad).dc;
      return { node, ...(dc !== undefined ? { dc } : {}), ...(reply !== undefined ? { reply } : {}) };
    }),
  );
}

/** A participant's figures as a node sent them (src/media/stats.ts ParticipantMediaStats) and where. */
export interface ParticipantEntry {
  uid?: string;
  name?: string;
  [figure: string]: unknown;
}

/** The room's media statistics from every node hosting it; each participant names its node and region. */
export async function roomStats(
  bus: Bus,
  store: Store,
  cluster: string,
  room: string,
): Promise<{
  room: string;
  at: number;
  owner: string | null;
  totals: ReturnType<typeof roomTotals>;
  nodes: object[];
  participants: ParticipantEntry[];
}> {
  const [answers, owner, members] = await Promise.all([
    askRoomNodes(bus, store, cluster, room, { op: 'stats', room }),
    store.get(storeKeys.roomOwner(cluster, room)),
    store.hgetall(roomKeys.members(cluster, room)),
  ]);
  const protocols = new Map<string, string>();
  for (const raw of Object.values(members)) {
    const m = memberRecord.safeParse(parseStoredJson(raw));
    if (m.success && m.data.protocol !== undefined) {
      protocols.set(m.data.uid, m.data.protocol);
    }
  }
  const where = (a: NodeAnswer, uid?: string) => ({
    node: a.node,
    ...(a.dc !== undefined ? { dc: a.dc } : {}),
    ...(uid !== undefined && protocols.has(uid) ? { protocol: protocols.get(uid) } : {}),
  });
  const participants = answers.flatMap((a) =>
    (a.reply?.media ?? []).map((p): ParticipantEntry => ({
      ...(p as ParticipantEntry),
      ...where(a, (p as ParticipantEntry).uid),
    })),
  );
  return {
    room,
    at: Date.now(),
    owner: owner ?? null,
    totals: roomTotals(participants as ParticipantFigures[]),
    nodes: answers.map((a) => ({ ...where(a), answered: a.reply !== undefined })),
    participants,
  };
}

/** What roomTotals reads of a participant's figures (src/media/stats.ts ParticipantMediaStats). */
interface ParticipantFigures {
  tracks?: { layers?: { bitrate?: number }[] }[];
  subscriptions?: { bitrate?: number }[];
}

/** The room at a glance: participants, tracks published and forwarded, bitrate in and out (bps). */
export function roomTotals(participants: ParticipantFigures[]): {
  participants: number;
  tracks: number;
  subscriptions: number;
  bitrateIn: number;
  bitrateOut: number;
} {
  let tracks = 0;
  let subscriptions = 0;
  let bitrateIn = 0;
  let bitrateOut = 0;
  for (const p of participants) {
    for (const t of p.tracks ?? []) {
      tracks++;
      for (const l of t.layers ?? []) {
        bitrateIn += l.bitrate ?? 0;
      }
    }
    for (const s of p.subscriptions ?? []) {
      subscriptions++;
      bitrateOut += s.bitrate ?? 0;
    }
  }
  return { participants: participants.length, tracks, subscriptions, bitrateIn, bitrateOut };
}
