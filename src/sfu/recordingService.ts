/**
 * Recording on a media node, bound to the Bus and the Store: the api role's requests on
 * `sb.<cluster>.sfu.<node>.recording`, the `startRecorder` / `stopRecorder` methods clients call on `/ws`
 * (roomAdmin only), the recording records in the Store and the `recording_started` /
 * `recording_finished` events (webhooks). The recording itself is src/recording (media core side).
 */
import { resolve } from 'node:path';
import type { Bus, Store, Subscription } from '../backbone/index.ts';
import { BusRequestError } from '../backbone/index.ts';
import type { Config } from '../config/index.ts';
import type { Peer, SFU, Session } from '../media/index.ts';
import type { EventInit } from '../protocol/events.ts';
import { methods } from '../protocol/ionSfu.ts';
import { storeKeys } from '../protocol/cluster.ts';
import {
  getRecording,
  putRecording,
  recordingRequest,
  recordingSubjects,
  type RecordingInfo,
  type RecordingRequest,
} from '../protocol/recording.ts';
import type { MediaGrants } from '../protocol/tokens.ts';
import { RecordingManager, type FileOpener, type StartRequest } from '../recording/index.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

export interface RecordingServiceOptions {
  config: Config;
  bus: Bus;
  store: Store;
  cluster: string;
  node: string;
  sfu: SFU;
  /** Publishes recording events (SfuRole fills in the room's service). */
  publishEvent: (e: EventInit) => void;
  /** For tests: how recording files are opened. */
  opener?: FileOpener | undefined;
}

/** How often the records of active recordings are updated (size, duration). */
const PROGRESS_MS = 2000;
/** Starts and stops on other nodes of a room wait this long (a stop finishes the file first). */
const REMOTE_TIMEOUT_MS = 15_000;

export class RecordingService {
  readonly manager: RecordingManager;
  readonly #o: RecordingServiceOptions;
  /** Store writes of each recording, in order (started before finished). */
  #writes = new Map<string, Promise<void>>();
  #sub: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: RecordingServiceOptions) {
    this.#o = o;
    this.manager = new RecordingManager(o.sfu, {
      path: resolve(o.config.recording.path),
      node: o.node,
      opener: o.opener,
    });
    this.manager.on('started', (info) => {
      this.#save(info);
      this.#event('recording_started', info);
    });
    this.manager.on('finished', (info) => {
      this.#save(info);
      this.#event('recording_finished', info);
      if (info.state === 'failed') {
        logger.warn({ recording: info.id, path: info.path, error: info.error }, 'recording failed');
      }
    });
  }

  start(): void {
    this.#sub = this.#o.bus.subscribe(recordingSubjects.sfu(this.#o.cluster, this.#o.node), (data) =>
      this.#handle(recordingRequest.parse(data)),
    );
    // The records of active recordings show their size and duration as they grow.
    this.#timer = setInterval(() => {
      for (const info of this.manager.list()) {
        this.#save(info);
      }
    }, PROGRESS_MS);
    this.#timer.unref();
  }

  /** Stops every recording and waits for the files and their records. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#sub?.unsubscribe();
    await this.manager.close();
    await Promise.all(this.#writes.values());
  }

  /** `startRecorder` / `stopRecorder` from a client of this node. */
  async peerCall(
    peer: Peer,
    session: Session | undefined,
    grants: MediaGrants,
    method: 'startRecorder' | 'stopRecorder',
    params: unknown,
  ): Promise<RecordingInfo> {
    if (grants.roomAdmin !== true) {
      throw new SwitchboardError('forbidden', 'not allowed to record: token grants roomAdmin=false');
    }
    if (!session) {
      throw new SwitchboardError('invalid-state', 'not in a room');
    }
    if (method === 'startRecorder') {
      const p = methods.startRecorder.parse(params);
      logger.info({ room: session.id, by: peer.uid, to: p.to, uid: p.uid }, 'recording requested');
      return this.#anyNode({ op: 'start', room: session.id, uid: p.uid, streamId: p.to, kind: p.kind });
    }
    const p = methods.stopRecorder.parse(params);
    return this.#anyNode({ op: 'stop', room: session.id, id: p.id });
  }

  async #handle(req: RecordingRequest): Promise<RecordingInfo> {
    if (req.op === 'start') {
      const start: StartRequest = { room: req.room, uid: req.uid, streamId: req.streamId, kind: req.kind };
      const info = await this.manager.start(start);
      await this.#written(info.id);
      return info;
    }
    const info = await this.manager.stop(req.room, req.id);
    await this.#written(info.id);
    return info;
  }

  /** Here first; a participant of a cascaded room may be on another of the room's nodes. */
  async #anyNode(req: RecordingRequest): Promise<RecordingInfo> {
    try {
      return await this.#handle(req);
    } catch (err) {
      if (!(err instanceof SwitchboardError && err.code === 'not-found')) {
        throw err;
      }
      let nodes: string[];
      if (req.op === 'stop') {
        const rec = await getRecording(this.#o.store, this.#o.cluster, req.room, req.id);
        nodes = rec && rec.state === 'recording' ? [rec.node] : [];
      } else {
        nodes = Object.keys(await this.#o.store.hgetall(storeKeys.roomNodes(this.#o.cluster, req.room)));
      }
      for (const node of nodes.filter((n) => n !== this.#o.node)) {
        try {
          return await this.#o.bus.request<RecordingInfo>(recordingSubjects.sfu(this.#o.cluster, node), req, {
            timeoutMs: REMOTE_TIMEOUT_MS,
          });
        } catch (e) {
          if (!(e instanceof BusRequestError) || e.code !== 'not-found') {
            logger.debug({ err: e, node }, 'recording request to another node failed');
          }
        }
      }
      throw err;
    }
  }

  #save(info: RecordingInfo): void {
    const previous = this.#writes.get(info.id) ?? Promise.resolve();
    const next = previous
      .then(() => putRecording(this.#o.store, this.#o.cluster, info))
      .catch((err: unknown) =>
        logger.warn({ err, recording: info.id }, 'storing the recording record failed'),
      );
    this.#writes.set(info.id, next);
    if (info.state !== 'recording') {
      void next.then(() => {
        if (this.#writes.get(info.id) === next) {
          this.#writes.delete(info.id);
        }
      });
    }
  }

  async #written(id: string): Promise<void> {
    await this.#writes.get(id);
  }

  #event(type: 'recording_started' | 'recording_finished', info: RecordingInfo): void {
    const e: EventInit = {
      event: type,
      room: { sid: info.room, name: info.room },
      participant: info.participant,
      recording: {
        id: info.id,
        path: info.path,
        ...(info.streamId !== undefined ? { streamId: info.streamId } : {}),
        ...(type === 'recording_finished'
          ? {
              status: info.state === 'finished' ? ('complete' as const) : ('failed' as const),
              size: info.size ?? 0,
              duration: info.duration ?? 0,
              ...(info.error !== undefined ? { error: info.error } : {}),
            }
          : {}),
      },
    };
    this.#o.publishEvent(e);
  }
}
