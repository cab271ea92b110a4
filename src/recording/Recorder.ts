/**
 * One recording: some tracks of one participant muxed into one file, without transcoding, by
 * mediabunny (WebM for VP8 / VP9 / Opus, Matroska when H.264 is among them).
 *
 * Timing: every track's frames carry their capture time on this node's clock (TrackRecorder, RtpClock;
 * one CaptureClock for the participant, so its tracks keep the sync its sender reports give them).
 * The file starts when every track has a frame it can start with (video: a keyframe, asked for at once),
 * or after START_WAIT_MS with what there is; audio before that common start is dropped, so the streams
 * start together. Frame times are kept as they are, so gaps (mute, loss, a paused layer) stay gaps and
 * audio and video stay in sync.
 *
 * A stop ends every track at one capture instant, the one the furthest track had reached: the others (a
 * video's encoder and pacer delay) get up to STOP_TAIL_MS to catch up, so the streams end together.
 *
 * Ends: `stop()`; all its tracks ending (the publisher left or unpublished): `source-ended`; a write error
 * (disk full, I/O error): `write-error`, with the error in the result; nothing is thrown at the media
 * path and the node goes on. A file that never got media is deleted.
 */
import {
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  Logging,
  LogLevel,
  MkvOutputFormat,
  Output,
  StreamTarget,
  WebMOutputFormat,
} from 'mediabunny';
import type { Receiver } from '../media/Receiver.ts';
import type { RecordingInfo } from '../protocol/recording.ts';
import { codecSpec, opusHead, type CodecSpec } from './codecs.ts';
import { RecordingFile, type FileOpener } from './RecordingFile.ts';
import { CaptureClock } from './RtpClock.ts';
import { TrackRecorder, type RecordedFrame } from './TrackRecorder.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { SwitchboardError, errorMessage } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

// mediabunny prints to the console by default; its warnings go to our log instead.
Logging.level = LogLevel.Silent;
Logging.on('warn', (args) => logger.warn({ detail: args.map(String).join(' ') }, 'mediabunny warning'));
Logging.on('error', (args) => logger.error({ detail: args.map(String).join(' ') }, 'mediabunny error'));

/** stopped: asked to; source-ended: every track ended (publisher left, unpublished, room closed). */
export type StopReason = 'stopped' | 'source-ended' | 'node-shutdown' | 'write-error' | 'no-media';

/** How long the file waits for every track's first usable frame before starting with those it has. */
const START_WAIT_MS = 3000;
/**
 * A track that has given nothing to start with by then is closed (the muxer holds the other tracks in
 * memory until every open track has begun); with no track begun at all the recording fails.
 */
const TRACK_WAIT_MS = 30_000;
/**
 * Video times sit on an 8 ms grid, declared as the track's DefaultDuration (a 125 fps ceiling, as for
 * variable-rate video). Players and ffmpeg map frames onto ticks of the frame rate they find: without
 * it they guess one from the first frames, and two jittery WebRTC frames closer than that guess land
 * on one tick (an error for ffmpeg). With it the tick is 8 ms, and no two frames share one.
 */
const VIDEO_TICK = 0.008;
/** How long a stop waits for the tracks behind to reach the capture time the furthest one had reached. */
const STOP_TAIL_MS = 1000;
/** Audio frames are 20 ms (Opus as WebRTC sends it). */
const AUDIO_FRAME_MS = 20;
/** Simulcast layer re-evaluation and start-wait check. */
const TICK_MS = 500;
/** Frames waiting for the disk at most; past it the disk is too slow and the recording stops. */
const MAX_QUEUED = 3000;
/** Muxer refusals (malformed frames) tolerated before giving up. */
const MAX_MUX_ERRORS = 100;
/** Finishing waits this long for queued writes. */
const DRAIN_TIMEOUT_MS = 10_000;

export interface RecorderOptions {
  id: string;
  room: string;
  node: string;
  participant: { identity: string; name: string };
  /** The stream asked for, if one was. */
  streamId?: string | undefined;
  receivers: readonly Receiver[];
  /** Folder and file name without extension (`-1`, `-2` … is appended when taken). */
  dir: string;
  baseName: string;
  /** For tests: how files are opened (default: exclusive create). */
  opener?: FileOpener | undefined;
}

interface Track {
  readonly spec: CodecSpec;
  readonly receiver: Receiver;
  readonly source: EncodedVideoPacketSource | EncodedAudioPacketSource;
  rec: TrackRecorder | undefined;
  /** Frames before the file's start is known. */
  pending: RecordedFrame[];
  started: boolean;
  ended: boolean;
  /** Something was handed to the muxer. */
  written: boolean;
  /** Capture time (this node's ms) of the last frame the TrackRecorder gave. */
  lastWallMs: number;
  /** Seconds: the last written frame's time, and the end of the last frame. */
  lastTs: number;
  endTs: number;
  width: number;
  height: number;
  /** Video: the frame held back one frame (see #holdVideo), and the typical frame interval (s). */
  held: { frame: RecordedFrame; ts: number; meta: EncodedVideoChunkMetadata | undefined } | undefined;
  interval: number;
}

export type RecorderEvents = { close: [RecordingInfo] };

export class Recorder extends TypedEmitter<RecorderEvents> {
  readonly id: string;
  readonly #o: RecorderOptions;
  readonly #file: RecordingFile;
  readonly #output: Output;
  readonly #tracks: Track[];
  readonly #format: 'webm' | 'mkv';
  readonly #startedAt = Date.now();
  readonly #unsubs: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #capture = new CaptureClock();
  /** Wall-clock ms of the file's time 0, once known. */
  #origin: number | undefined;
  /** Once stopping: frames captured after this (ms) are left out. */
  #endWallMs: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #muxErrors = 0;
  #error: string | undefined;
  #stopping: Promise<RecordingInfo> | undefined;
  #final: RecordingInfo | undefined;
  #resolutionChanges = 0;
  /** Old-layer frames dropped for the new layer's keyframe of the same instant. */
  #droppedAtSwitch = 0;

  /** Opens the file and starts recording `o.receivers` (those with a codec it can record). */
  static async start(o: RecorderOptions): Promise<Recorder> {
    const usable: { receiver: Receiver; spec: CodecSpec }[] = [];
    for (const receiver of o.receivers) {
      const spec = codecSpec(receiver.codec.mimeType);
      if (spec && !receiver.closed) {
        usable.push({ receiver, spec });
      } else if (!spec) {
        logger.warn(
          { codec: receiver.codec.mimeType, track: receiver.trackId },
          'recorder: codec not recordable',
        );
      }
    }
    if (usable.length === 0) {
      const codecs = o.receivers.map((r) => r.codec.mimeType).join(', ') || 'none';
      throw new SwitchboardError(
        'invalid-params',
        `nothing to record (tracks: ${codecs}; VP8, VP9, H264 and Opus can be recorded)`,
      );
    }
    // Video first: players show the first video track.
    usable.sort((a, b) => (a.spec.kind === b.spec.kind ? 0 : a.spec.kind === 'video' ? -1 : 1));
    const format = usable.every((u) => u.spec.webm) ? 'webm' : 'mkv';
    const file = await RecordingFile.create(o.dir, o.baseName, format, o.opener);
    const output = new Output({
      format: format === 'webm' ? new WebMOutputFormat() : new MkvOutputFormat(),
      target: new StreamTarget(file.writable()),
    });
    const tracks: Track[] = usable.map(({ receiver, spec }) => {
      const source =
        spec.kind === 'video'
          ? new EncodedVideoPacketSource(spec.mux as 'vp8' | 'vp9' | 'avc')
          : new EncodedAudioPacketSource('opus');
      if (source instanceof EncodedVideoPacketSource) {
        output.addVideoTrack(source, { name: receiver.trackId, frameRate: 1 / VIDEO_TICK });
      } else {
        output.addAudioTrack(source, { name: receiver.trackId });
      }
      return {
        spec,
        receiver,
        source,
        rec: undefined,
        pending: [],
        started: false,
        ended: false,
        written: false,
        held: undefined,
        interval: 1 / 30,
        lastWallMs: -Infinity,
        lastTs: 0,
        endTs: 0,
        width: 0,
        height: 0,
      };
    });
    try {
      await output.start();
    } catch (err) {
      await file.remove();
      throw err;
    }
    const r = new Recorder(o, file, output, tracks, format);
    r.#begin();
    return r;
  }

  private constructor(
    o: RecorderOptions,
    file: RecordingFile,
    output: Output,
    tracks: Track[],
    format: 'webm' | 'mkv',
  ) {
    super();
    this.id = o.id;
    this.#o = o;
    this.#file = file;
    this.#output = output;
    this.#tracks = tracks;
    this.#format = format;
  }

  get path(): string {
    return this.#file.path;
  }

  get closed(): boolean {
    return this.#stopping !== undefined;
  }

  /** Where it stands (final once closed). */
  get info(): RecordingInfo {
    if (this.#final) {
      return this.#final;
    }
    const video = this.#tracks.some((t) => t.spec.kind === 'video');
    return {
      id: this.id,
      room: this.#o.room,
      participant: this.#o.participant,
      ...(this.#o.streamId !== undefined ? { streamId: this.#o.streamId } : {}),
      node: this.#o.node,
      state: 'recording',
      path: this.#file.path,
      format: this.#format,
      mimeType: this.#format === 'mkv' ? 'video/x-matroska' : video ? 'video/webm' : 'audio/webm',
      tracks: this.#tracks.map((t) => ({
        kind: t.spec.kind,
        codec: t.spec.name,
        trackId: t.receiver.trackId,
        streamId: t.receiver.streamId,
        ...(t.receiver.simulcast && t.rec?.layer ? { layer: t.rec.layer.rid } : {}),
      })),
      startedAt: this.#startedAt,
      size: this.#file.size,
      duration: this.#duration(),
    };
  }

  /** Stops and finishes the file; resolves with the final info (never rejects). Idempotent. */
  stop(reason: StopReason = 'stopped'): Promise<RecordingInfo> {
    this.#stopping ??= this.#finish(reason);
    return this.#stopping;
  }

  #begin(): void {
    this.#file.onError = (err) => {
      logger.error({ err, recording: this.id, path: this.#file.path }, 'recording: write failed, stopping');
      void this.stop('write-error');
    };
    for (const t of this.#tracks) {
      const onClose = (): void => this.#trackEnded(t);
      t.receiver.once('close', onClose);
      this.#unsubs.push(() => t.receiver.off('close', onClose));
      t.rec = new TrackRecorder(t.receiver, t.spec, (f) => this.#onFrame(t, f), this.#capture);
    }
    for (const t of this.#tracks) {
      if (t.receiver.closed) {
        this.#trackEnded(t); // closed while the file was being created
      }
    }
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  #tick(): void {
    const now = Date.now();
    for (const t of this.#tracks) {
      t.rec?.reselect(now);
    }
    this.#maybeStart(now, false);
    if (now - this.#startedAt < TRACK_WAIT_MS || this.closed) {
      return;
    }
    if (!this.#tracks.some((t) => t.started)) {
      this.#fail(`no media was received in ${TRACK_WAIT_MS / 1000} s`, 'no-media');
      return;
    }
    for (const t of this.#tracks) {
      if (!t.started && !t.ended) {
        logger.info(
          { recording: this.id, track: t.receiver.trackId },
          'recording: a track never began; closed',
        );
        this.#trackEnded(t);
      }
    }
  }

  #trackEnded(t: Track): void {
    if (t.ended || this.closed) {
      return;
    }
    t.ended = true;
    t.rec?.stop();
    if (this.#tracks.every((x) => x.ended)) {
      void this.stop('source-ended');
      return;
    }
    if (this.#origin !== undefined) {
      this.#closeTrack(t);
    } else {
      this.#maybeStart(Date.now(), false); // closes it once the file starts, after its frames that waited
    }
  }

  /** The muxer interleaves by time and waits for every open track: an ended one is closed. */
  #closeTrack(t: Track): void {
    const held = t.held;
    t.held = undefined;
    if (held) {
      this.#add(t, held.frame, held.ts, held.meta);
    }
    this.#enqueue(() => {
      t.source.close();
      return Promise.resolve();
    });
  }

  /**
   * The capture time (this node's ms) this recording gives RTP time `rtpTimestamp` of `ssrc` on track
   * `trackId`; undefined for a track or SSRC it has not seen.
   */
  captureMs(trackId: string, ssrc: number, rtpTimestamp: number): number | undefined {
    return this.#tracks.find((t) => t.receiver.trackId === trackId)?.rec?.captureMs(ssrc, rtpTimestamp);
  }

  #onFrame(t: Track, f: RecordedFrame): void {
    if (this.#final || this.#error !== undefined) {
      return;
    }
    t.lastWallMs = Math.max(t.lastWallMs, f.wallMs); // a track past the end has caught up too
    if (this.#endWallMs !== undefined && f.wallMs > this.#endWallMs) {
      return; // after the stop
    }
    if (this.#origin === undefined) {
      t.pending.push(f);
      this.#maybeStart(Date.now(), false);
      return;
    }
    this.#write(t, f);
  }

  /**
   * Fixes the file's time 0 once every track can start (or the wait is over) and writes what waited.
   * Time 0 is the first video keyframe (the latest, with several video tracks), so video never starts
   * before the file does; audio before it is dropped. Without video, the first audio frame.
   */
  #maybeStart(now: number, force: boolean): void {
    if (this.#origin !== undefined) {
      return;
    }
    const ready = this.#tracks.every((t) => t.pending.length > 0 || t.ended);
    if (!ready && !force && now - this.#startedAt < START_WAIT_MS) {
      return;
    }
    const firsts = (kind: 'audio' | 'video') =>
      this.#tracks.flatMap((t) => (t.spec.kind === kind && t.pending[0] ? [t.pending[0].wallMs] : []));
    const video = firsts('video');
    const audio = firsts('audio');
    if (video.length === 0 && audio.length === 0) {
      return;
    }
    this.#origin = video.length > 0 ? Math.max(...video) : Math.min(...audio);
    for (const t of this.#tracks) {
      const frames = t.pending;
      t.pending = [];
      for (const f of frames) {
        this.#write(t, f);
      }
      if (t.ended && !this.closed) {
        this.#closeTrack(t);
      }
    }
  }

  #write(t: Track, f: RecordedFrame): void {
    const video = t.spec.kind === 'video';
    let ts = (f.wallMs - this.#origin!) / 1000;
    if (ts < 0) {
      if (!video) {
        return; // audio before the common start
      }
      ts = 0; // another video track's first keyframe (several video tracks)
    }
    if (f.config && (f.config.codedWidth !== t.width || f.config.codedHeight !== t.height)) {
      if (t.started) {
        this.#resolutionChanges++;
        logger.debug(
          { recording: this.id, width: f.config.codedWidth, height: f.config.codedHeight },
          'recording: resolution changed',
        );
      }
      t.width = f.config.codedWidth;
      t.height = f.config.codedHeight;
    }
    let meta: EncodedVideoChunkMetadata | EncodedAudioChunkMetadata | undefined;
    if (!t.started) {
      if (!f.key || (video && !f.config)) {
        return;
      }
      meta = video
        ? { decoderConfig: { ...f.config! } }
        : {
            decoderConfig: {
              codec: 'opus',
              numberOfChannels: t.receiver.codec.channels ?? 2,
              sampleRate: 48000,
              description: opusHead(t.receiver.codec.channels ?? 2),
            },
          };
      t.started = true;
    }
    if (!video) {
      // A slightly better clock estimate must not move a frame back: times strictly increase.
      if (t.written) {
        ts = Math.max(ts, t.lastTs + 0.001);
      }
      this.#add(t, f, ts, meta);
      return;
    }
    this.#holdVideo(t, f, ts, meta);
  }

  /**
   * Video goes out one frame late. When a simulcast switch lands, the new layer's keyframe shows the
   * same capture instant as the old layer's last frame (both encode one camera frame): that frame is
   * dropped instead of leaving two frames a few ms apart. Video times sit on the VIDEO_TICK grid, one
   * frame per tick at most (see VIDEO_TICK).
   */
  #holdVideo(t: Track, f: RecordedFrame, ts: number, meta: EncodedVideoChunkMetadata | undefined): void {
    const held = t.held;
    t.held = undefined;
    if (held) {
      const gap = ts - held.ts;
      if (f.key && gap < 0.5 * t.interval) {
        this.#droppedAtSwitch++;
        meta ??= held.meta; // the file's first frame carries the config
      } else {
        this.#add(t, held.frame, held.ts, held.meta);
        if (gap > 0.005 && gap < 0.2) {
          t.interval += (gap - t.interval) / 8;
        }
      }
    }
    ts = Math.round(ts / VIDEO_TICK) * VIDEO_TICK;
    if (t.written) {
      ts = Math.max(ts, t.lastTs + VIDEO_TICK);
    }
    t.held = { frame: f, ts, meta };
  }

  /** Writes the frame a video track holds back (at the end). */
  #flushHeld(): void {
    for (const t of this.#tracks) {
      const held = t.held;
      t.held = undefined;
      if (held) {
        this.#add(t, held.frame, held.ts, held.meta);
      }
    }
  }

  #add(
    t: Track,
    f: RecordedFrame,
    ts: number,
    meta: EncodedVideoChunkMetadata | EncodedAudioChunkMetadata | undefined,
  ): void {
    t.written = true;
    t.lastTs = ts;
    t.endTs = Math.max(t.endTs, ts + f.durationMs / 1000);
    const packet = new EncodedPacket(f.data, f.key ? 'key' : 'delta', ts, f.durationMs / 1000);
    const source = t.source;
    this.#enqueue(() =>
      source instanceof EncodedVideoPacketSource
        ? source.add(packet, meta)
        : source.add(packet, meta as EncodedAudioChunkMetadata | undefined),
    );
  }

  /** Muxer calls run one at a time, in order; their backpressure (a slow disk) queues here, bounded. */
  #enqueue(op: () => Promise<void>): void {
    if (this.#error !== undefined) {
      return;
    }
    if (this.#queued >= MAX_QUEUED) {
      this.#fail('the disk does not keep up (write queue full)');
      return;
    }
    this.#queued++;
    this.#chain = this.#chain
      .then(op)
      .catch((err: unknown) => this.#muxError(err))
      .finally(() => this.#queued--);
  }

  #muxError(err: unknown): void {
    if (this.#file.error || this.#error !== undefined) {
      return; // reported already
    }
    this.#muxErrors++;
    logger.warn({ err, recording: this.id }, 'recording: the muxer refused a frame');
    if (this.#muxErrors >= MAX_MUX_ERRORS) {
      this.#fail(`the muxer refused ${this.#muxErrors} frames: ${errorMessage(err)}`);
    }
  }

  #fail(message: string, reason: StopReason = 'write-error'): void {
    if (this.#error !== undefined) {
      return;
    }
    this.#error = message;
    logger.error({ recording: this.id, path: this.#file.path, error: message }, 'recording failed, stopping');
    void this.stop(reason);
  }

  #duration(): number {
    let end = 0;
    for (const t of this.#tracks) {
      end = Math.max(end, t.endTs);
    }
    return Math.round(end * 1000) / 1000;
  }

  /** Lets the tracks behind catch up with the furthest one, which sets where the file ends. */
  async #tail(): Promise<void> {
    const live = () =>
      this.#tracks.filter((t) => t.started && !t.ended && !t.receiver.closed && this.#error === undefined);
    const end = Math.max(...live().map((t) => t.lastWallMs));
    if (!Number.isFinite(end)) {
      return;
    }
    this.#endWallMs = end;
    const behind = () =>
      live().some((t) => t.lastWallMs + (t.spec.kind === 'video' ? t.interval * 1000 : AUDIO_FRAME_MS) < end);
    const deadline = Date.now() + STOP_TAIL_MS;
    while (behind() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, AUDIO_FRAME_MS));
    }
  }

  async #finish(reason: StopReason): Promise<RecordingInfo> {
    if (reason === 'stopped' && this.#origin !== undefined) {
      await this.#tail();
    }
    clearInterval(this.#timer);
    for (const u of this.#unsubs) {
      u();
    }
    for (const t of this.#tracks) {
      t.rec?.stop(); // what is still buffered goes into the file
    }
    this.#maybeStart(Date.now(), true);
    this.#flushHeld();
    await drain(this.#chain, DRAIN_TIMEOUT_MS);
    let error = this.#file.error?.message ?? this.#error;
    const started = this.#tracks.some((t) => t.started);
    if (error === undefined && !started) {
      error = 'no media was received';
      await this.#output.cancel().catch(() => undefined);
      await this.#file.remove();
    } else if (error !== undefined) {
      await this.#output.cancel().catch(() => undefined);
      await this.#file.close();
    } else {
      try {
        await this.#output.finalize();
      } catch (err) {
        error = this.#file.error?.message ?? errorMessage(err);
        await this.#output.cancel().catch(() => undefined);
      }
      await this.#file.close();
      error ??= this.#file.error?.message;
    }
    const info = this.info;
    this.#final = {
      ...info,
      state: error === undefined ? 'finished' : 'failed',
      endedAt: Date.now(),
      size: started ? this.#file.size : 0,
      duration: this.#duration(),
      reason: error !== undefined && this.#file.error ? 'write-error' : reason,
      ...(error !== undefined ? { error } : {}),
    };
    const frames = this.#tracks.map((t) => ({
      kind: t.spec.kind,
      frames: t.rec?.frames,
      dropped: t.rec?.dropped,
    }));
    logger.info(
      {
        recording: this.id,
        path: this.#final.path,
        state: this.#final.state,
        reason: this.#final.reason,
        frames,
      },
      'recording finished',
    );
    if (this.#resolutionChanges > 0 || this.#droppedAtSwitch > 0) {
      logger.debug(
        {
          recording: this.id,
          resolutionChanges: this.#resolutionChanges,
          droppedAtSwitch: this.#droppedAtSwitch,
        },
        'recording: layer switches',
      );
    }
    this.safeEmit('close', this.#final);
    this.removeAllListeners();
    return this.#final;
  }
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
async function drain(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
