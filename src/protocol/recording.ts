/**
 * Recording across the seams: what the api role and the sfu role's JSON-RPC methods ask a media node
 * (Bus subject `sb.<cluster>.sfu.<node>.recording`), the recording record kept in the Store
 * (`sb:<cluster>:recordings:<room>:<id>`, persisted by the embedded Store) and its helpers.
 */
import { z } from 'zod';
import type { Store } from '../backbone/index.ts';
import { logger } from '../util/logger.ts';

export const recordingSubjects = {
  /** api → sfu (request): start / stop a recording of a room this node hosts. */
  sfu: (cluster: string, node: string) => `sb.${cluster}.sfu.${node}.recording`,
};

export const recordingKeys = {
  one: (cluster: string, room: string, id: string) => `sb:${cluster}:recordings:${room}:${id}`,
  room: (cluster: string, room: string) => `sb:${cluster}:recordings:${room}:`,
};

const id = z.string().min(1).max(256);

/** What to record: a participant (all its tracks), a stream, or one kind of either. */
export const recordingTarget = z
  .object({
    /** Participant (uid): all its current tracks, in one file. */
    uid: id.optional(),
    /** Stream id (msid): that stream's tracks. With `uid`, only that participant's stream. */
    streamId: id.optional(),
    /** Only this kind (per-track recording). */
    kind: z.enum(['audio', 'video']).optional(),
  })
  .strict()
  .refine((t) => t.uid !== undefined || t.streamId !== undefined, {
    message: 'uid or streamId is required',
    path: ['uid'],
  });
export type RecordingTarget = z.infer<typeof recordingTarget>;

export const recordingRequest = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('start'),
    room: id,
    uid: id.optional(),
    streamId: id.optional(),
    kind: z.enum(['audio', 'video']).optional(),
  }),
  z.object({ op: z.literal('stop'), room: id, id }),
]);
export type RecordingRequest = z.infer<typeof recordingRequest>;

export const RECORDING_STATES = ['recording', 'finished', 'failed'] as const;

/** A recording as the API lists it and the Store keeps it. One recording is one file. */
export const recordingInfo = z.object({
  id: z.string(),
  room: z.string(),
  /** uid and display name of the recorded participant. */
  participant: z.object({ identity: z.string(), name: z.string() }),
  /** The stream asked for, when one was. */
  streamId: z.string().optional(),
  /** The media node writing (or that wrote) the file. */
  node: z.string(),
  state: z.enum(RECORDING_STATES),
  /** Absolute path on the media node (shared with the api role in a one-process server). */
  path: z.string(),
  /** `webm` (VP8/VP9 + Opus) or `mkv` (H.264). */
  format: z.enum(['webm', 'mkv']),
  mimeType: z.string(),
  tracks: z.array(
    z.object({
      kind: z.enum(['audio', 'video']),
      codec: z.string(),
      trackId: z.string(),
      streamId: z.string(),
      /** Simulcast: the rid of the layer being recorded (the highest flowing one). */
      layer: z.string().optional(),
    }),
  ),
  /** ms since the epoch. */
  startedAt: z.number(),
  endedAt: z.number().optional(),
  /** Bytes written so far (final once finished). */
  size: z.number().optional(),
  /** Seconds of media. */
  duration: z.number().optional(),
  /** Why it stopped: stopped (asked), source-ended (its tracks ended), node-shutdown, write-error, no-media. */
  reason: z.string().optional(),
  error: z.string().optional(),
});
export type RecordingInfo = z.infer<typeof recordingInfo>;

export async function putRecording(store: Store, cluster: string, r: RecordingInfo): Promise<void> {
  await store.set(recordingKeys.one(cluster, r.room, r.id), JSON.stringify(r));
}

export async function getRecording(
  store: Store,
  cluster: string,
  room: string,
  rid: string,
): Promise<RecordingInfo | undefined> {
  return parse(await store.get(recordingKeys.one(cluster, room, rid)));
}

/** A room's recordings, oldest first. */
export async function listRecordings(store: Store, cluster: string, room: string): Promise<RecordingInfo[]> {
  const out: RecordingInfo[] = [];
  for (const key of await store.keys(recordingKeys.room(cluster, room))) {
    const r = parse(await store.get(key));
    if (r) {
      out.push(r);
    }
  }
  return out.sort((a, b) => a.startedAt - b.startedAt);
}

export async function deleteRecording(
  store: Store,
  cluster: string,
  room: string,
  rid: string,
): Promise<void> {
  await store.del(recordingKeys.one(cluster, room, rid));
}

function parse(raw: string | undefined): RecordingInfo | undefined {
  if (raw === undefined) {
    return undefined;
  }
  try {
    return recordingInfo.parse(JSON.parse(raw));
  } catch (err) {
    logger.warn({ err }, 'ignoring a malformed recording record');
    return undefined;
  }
}
