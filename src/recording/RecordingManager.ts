/**
 * The recordings of one media node: starts a Recorder on the tracks a request names (a participant, a
 * stream, one kind of either), keeps the active ones and announces starts and ends. Media core side: it
 * knows the SFU and the file system, not the Bus or the Store (src/sfu/recordingService.ts binds those).
 *
 * Files: `<path>/<room>/<participant>/<UTC time>[-audio|-video].webm|.mkv`, names made safe for any
 * file system; an existing file is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Peer, Receiver, SFU } from '../media/index.ts';
import type { RecordingInfo } from '../protocol/recording.ts';
import { Recorder, type StopReason } from './Recorder.ts';
import type { FileOpener } from './RecordingFile.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

export interface RecordingManagerOptions {
  /** Absolute folder of `[recording] path`. */
  path: string;
  /** This node's id (recorded in each recording's info). */
  node: string;
  /** For tests: how files are opened. */
  opener?: FileOpener | undefined;
}

export interface StartRequest {
  room: string;
  /** A participant: all its tracks (or those of `streamId` / `kind`). */
  uid?: string | undefined;
  streamId?: string | undefined;
  kind?: 'audio' | 'video' | undefined;
}

export type RecordingManagerEvents = { started: [RecordingInfo]; finished: [RecordingInfo] };

/** A path component from any string: letters, digits, `.`, `_`, `-`; never empty, `.` or `..`. */
export function safeName(s: string): string {
  const out = s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return out === '' || /^\.+$/.test(out) ? `_${out}` : out;
}

export class RecordingManager extends TypedEmitter<RecordingManagerEvents> {
  readonly #sfu: SFU;
  readonly #o: RecordingManagerOptions;
  readonly #active = new Map<string, Recorder>();

  constructor(sfu: SFU, o: RecordingManagerOptions) {
    super();
    this.#sfu = sfu;
    this.#o = o;
  }

  get path(): string {
    return this.#o.path;
  }

  /** Starts recording; rejects with `not-found` when the room, participant or tracks are not here. */
  async start(req: StartRequest): Promise<RecordingInfo> {
    const session = this.#sfu.getSession(req.room);
    if (!session) {
      throw new SwitchboardError('not-found', `room "${req.room}" has no media on this node`);
    }
    let peers: Peer[] = [...session.peers];
    if (req.uid !== undefined) {
      peers = session.peersOf(req.uid); // a Licode client has a peer per stream
      if (peers.length === 0) {
        throw new SwitchboardError('not-found', `no participant "${req.uid}" in this room`);
      }
    }
    // One participant's tracks: those of the first peer with a matching one, and of its fellow peers.
    let owner: Peer | undefined;
    const receivers: Receiver[] = [];
    for (const peer of peers) {
      for (const r of peer.receivers) {
        if (
          (req.streamId === undefined || r.streamId === req.streamId) &&
          (req.kind === undefined || r.kind === req.kind)
        ) {
          owner ??= peer;
          if (peer.member === owner.member) {
            receivers.push(r);
          }
        }
      }
    }
    if (!owner || receivers.length === 0) {
      const what = [req.kind, 'track'].filter(Boolean).join(' ');
      const of = req.streamId !== undefined ? `stream ${req.streamId}` : `participant "${req.uid}"`;
      throw new SwitchboardError('not-found', `no ${what} of ${of} to record`);
    }
    const id = `rec_${randomBytes(8).toString('hex')}`;
    const time = new Date().toISOString().replace(/:/g, '-');
    const rec = await Recorder.start({
      id,
      room: req.room,
      node: this.#o.node,
      participant: { identity: owner.member, name: owner.name },
      streamId: req.streamId,
      receivers,
      dir: join(this.#o.path, safeName(req.room), safeName(owner.member)),
      baseName: req.kind ? `${time}-${req.kind}` : time,
      opener: this.#o.opener,
    });
    this.#active.set(id, rec);
    rec.once('close', (info) => {
      this.#active.delete(id);
      this.safeEmit('finished', info);
    });
    const info = rec.info;
    logger.info({ recording: id, room: req.room, uid: owner.member, path: info.path }, 'recording started');
    this.safeEmit('started', info);
    return info;
  }

  /** Stops an active recording of `room` and resolves with its final info. */
  async stop(room: string, id: string): Promise<RecordingInfo> {
    const rec = this.#active.get(id);
    if (!rec || rec.info.room !== room) {
      throw new SwitchboardError('not-found', `no active recording ${id} in this room`);
    }
    return rec.stop('stopped');
  }

  get(id: string): RecordingInfo | undefined {
    return this.#active.get(id)?.info;
  }

  /** The active Recorder itself (its clock, for tests and diagnostics). */
  recorder(id: string): Recorder | undefined {
    return this.#active.get(id);
  }

  /** Active recordings (of one room). */
  list(room?: string): RecordingInfo[] {
    return [...this.#active.values()].map((r) => r.info).filter((i) => room === undefined || i.room === room);
  }

  /** Stops every recording (node shutdown) and waits for their files to be finished. */
  async close(reason: StopReason = 'node-shutdown'): Promise<void> {
    await Promise.all([...this.#active.values()].map((r) => r.stop(reason)));
  }
}
