/**
 * Recording routes under `/api/rooms/:room/recordings` (management API only: MAuth or a bearer token
 * with the `api` grant). Starting and stopping go over the Bus to the media node hosting the
 * participant (src/sfu/recordingService.ts); the list comes from the Store; a download reads the file
 * from `[recording] path`, so the api role needs that folder (one process, or a shared folder).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BusRequestError } from '../backbone/index.ts';
import { storeKeys } from '../protocol/cluster.ts';
import {
  getRecording,
  listRecordings,
  putRecording,
  recordingSubjects,
  type RecordingInfo,
  type RecordingRequest,
} from '../protocol/recording.ts';
import type { RoomRecord } from '../protocol/room.ts';
import { HttpError } from './httpErrors.ts';
import { findServiceRoom, type RouteContext } from './nuveRoutes.ts';
import { API_BODY_LIMIT, recordingParams, roomParams, startRecordingBody } from './schemas.ts';

/** A stop finishes the file before it answers. */
const NODE_TIMEOUT_MS = 15_000;

export function registerRecordingRoutes(api: FastifyInstance, ctx: RouteContext): void {
  const { cluster, store, bus } = ctx;

  const roomOf = (req: FastifyRequest, room: string): Promise<RoomRecord> =>
    findServiceRoom(store, cluster, ctx.auth(req).service, room);

  /** The record, with a recording whose media node stopped heartbeating shown as failed. */
  async function current(r: RecordingInfo): Promise<RecordingInfo> {
    if (r.state !== 'recording' || (await store.get(storeKeys.node(cluster, r.node))) !== undefined) {
      return r;
    }
    return { ...r, state: 'failed', error: 'the media node writing it is gone' };
  }

  async function recordingOf(req: FastifyRequest): Promise<RecordingInfo> {
    const p = recordingParams.parse(req.params);
    const room = await roomOf(req, p.room);
    const r = await getRecording(store, cluster, room.id, p.id);
    if (!r) {
      throw new HttpError(404, 'Recording does not exist');
    }
    return current(r);
  }

  const ask = (node: string, r: RecordingRequest) =>
    bus.request<RecordingInfo>(recordingSubjects.sfu(cluster, node), r, { timeoutMs: NODE_TIMEOUT_MS });

  api.post('/rooms/:room/recordings', { bodyLimit: API_BODY_LIMIT }, async (req, reply) => {
    const { room } = roomParams.parse(req.params);
    const rec = await roomOf(req, room);
    const body = startRecordingBody.parse(req.body ?? {});
    // The owner first; in a cascaded room the participant may be on one of the relaying nodes.
    const owner = await store.get(storeKeys.roomOwner(cluster, rec.id));
    const nodes = new Set(owner !== undefined ? [owner] : []);
    for (const n of Object.keys(await store.hgetall(storeKeys.roomNodes(cluster, rec.id)))) {
      nodes.add(n);
    }
    let notFound: unknown = new HttpError(404, 'nobody publishes in this room');
    for (const node of nodes) {
      try {
        const info = await ask(node, { op: 'start', room: rec.id, ...body });
        return await reply.status(201).send(info);
      } catch (err) {
        if (!(err instanceof BusRequestError && (err.code === 'not-found' || err.code === 'no-responder'))) {
          throw err;
        }
        notFound = err.code === 'not-found' ? err : notFound;
      }
    }
    throw notFound;
  });

  api.get('/rooms/:room/recordings', async (req) => {
    const { room } = roomParams.parse(req.params);
    const rec = await roomOf(req, room);
    return Promise.all((await listRecordings(store, cluster, rec.id)).map(current));
  });

  api.get('/rooms/:room/recordings/:id', (req) => recordingOf(req));

  /** Stops a recording (idempotent: a finished one is returned as it is). */
  api.delete('/rooms/:room/recordings/:id', async (req) => {
    const r = await recordingOf(req);
    if (r.state !== 'recording') {
      return r;
    }
    try {
      return await ask(r.node, { op: 'stop', room: r.room, id: r.id });
    } catch (err) {
      if (err instanceof BusRequestError && (err.code === 'not-found' || err.code === 'no-responder')) {
        // Its node no longer has it (it ended meanwhile, or the node is gone): the record says how it ended.
        const latest = await getRecording(store, cluster, r.room, r.id);
        if (latest && latest.state !== 'recording') {
          return latest;
        }
        const failed: RecordingInfo = { ...r, state: 'failed', error: 'the media node writing it is gone' };
        await putRecording(store, cluster, failed);
        return failed;
      }
      throw err;
    }
  });

  /** The file (WebM or Matroska), once the recording has finished. */
  api.get('/rooms/:room/recordings/:id/file', async (req, reply) => {
    const r = await recordingOf(req);
    if (r.state === 'recording') {
      throw new HttpError(409, 'the recording is in progress; stop it first');
    }
    let size: number;
    try {
      size = (await stat(r.path)).size;
    } catch {
      throw new HttpError(404, `the file is not on this server (${r.node} wrote it to ${r.path})`);
    }
    return reply
      .type(r.mimeType)
      .header('content-length', size)
      .header('content-disposition', `attachment; filename="${basename(r.path)}"`)
      .send(createReadStream(r.path));
  });
}
