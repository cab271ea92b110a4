import type { RtcpSrPacket, RTCRtpCodecParameters, RTCRtpTransceiver } from 'werift';
import { PacketCache } from './PacketCache.ts';
import type { RtpView } from './RtpView.ts';
import { observeResidence } from './residence.ts';
import { udpBatch } from './UdpBatch.ts';
import type { Kind } from './types.ts';
import { isH264Keyframe, isVp9Keyframe, newVp8Info, parseVp8 } from './vp8.ts';
import { dict } from '../util/dict.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { logger } from '../util/logger.ts';

/**
 * A keyframe request (PLI) to a publisher is outstanding until a keyframe of its layer arrives; while
 * it is, more requests wait for that keyframe, and it is sent again when none came this long after.
 */
export const PLI_OUTSTANDING_MS = 500;
/**
 * Two answered keyframe requests of one layer are at least this far apart: libwebrtc's encoder ignores
 * a request that comes within 300 ms of the last one it honoured (kMinKeyframeSendIntervalMs in
 * encoder_rtcp_feedback.cc), so one sent sooner would be lost and wait PLI_OUTSTANDING_MS to be
 * repeated. 20 ms of margin for jitter on the way. A subscriber right after a keyframe waits this
 * long at most.
 */
export const PLI_MIN_GAP_MS = 320;
const BITRATE_WINDOW_MS = 1000;
/** A layer silent this long counts as stopped (paused by the publisher or its encoder). */
const LAYER_STALE_MS = 1500;

export type ReceiverEvents = { close: []; mute: [muted: boolean]; layers: [] };

/**
 * What a Receiver needs of a subscriber's copy of its track (LiveKit's `TrackSender`); DownTrack
 * implements it. Declared here, not imported from DownTrack.ts, so the two modules do not import each
 * other: DownTrack depends on Receiver, never the reverse.
 */
export interface TrackSender {
  /** The highest layer index this subscriber wants (dynacast); -1 while it wants none. */
  readonly ceiling: number;
  /**
   * Called for every packet of every layer. `keyframe`: the subscriber may start or switch here (a
   * keyframe, or a frame start of an `opaque` layer); `tid` is the VP8 temporal layer (-1 unknown),
   * `audioLevel` the RFC 6464 level (-1 when absent). Must not keep or modify `packet` (a reused view)
   * beyond the call.
   */
  writeRtp(
    packet: RtpView,
    layer: Layer,
    keyframe: boolean,
    tid: number,
    audioLevel: number,
    now: number,
  ): void;
  /** Idempotent; emits `close`, after which the Receiver drops it. */
  close(): void;
  once(event: 'close', fn: () => void): unknown;
}

/**
 * Something besides DownTracks that gets every packet this Receiver forwards (all layers, none while
 * publisher-muted), e.g. a Recorder. It must not keep or modify `packet` beyond the call without cloning.
 */
export interface PacketSink {
  writeRtp(packet: RtpView, layer: Layer, keyframe: boolean, now: number): void;
}

/** One simulcast encoding (or the only one) of an incoming track. */
export interface Layer {
  readonly rid: string;
  ssrc: number;
  packets: number;
  bytes: number;
  /** Measured over the last second, bps; 0 when stopped. */
  bitrate: number;
  /** From the last VP8 keyframe; 0 when unknown. */
  width: number;
  height: number;
  lastPacketMs: number;
  lastPliMs: number;
  /** No keyframe has arrived since the last PLI (its keyframe is awaited). */
  pliOutstanding: boolean;
  /**
   * Its frames are end-to-end encrypted (VP8 payload headers that are not VP8, see vp8.ts): keyframes
   * cannot be told apart, so every frame start is a point where a subscriber may start or switch to
   * it, with a keyframe request on the way for the subscriber's decoder.
   */
  opaque: boolean;
  /** A held keyframe request: sent when its wait ends, unless a keyframe comes first. */
  pliDeferred: ReturnType<typeof setTimeout> | undefined;
  readonly cache: PacketCache | undefined;
  /**
   * The latest keyframe: sequence number of its first packet (-1: none since the SSRC began), its
   * RTP timestamp and when it arrived. A new subscriber starts from it (DownTrack's fast start).
   */
  keyframeSeq: number;
  keyframeTs: number;
  keyframeMs: number;
  /** The publisher's last RTCP sender report for this layer: its capture clock (NTP) against RTP time. */
  senderReport: SenderReport | undefined;
  /** Bytes at the start of the current bitrate window. */
  windowBytes: number;
  /** Statistics: keyframe requests sent, keyframes received, packets NACKed and lost (ingress, RFC 3550). */
  plis: number;
  keyframes: number;
  nacks: number;
  packetsLost: number;
  /** Interarrival jitter (RFC 3550 A.8) in ms, as our last receiver report gave it. */
  jitter: number;
  /** RTP timestamp of the latest packet (its capture time, with senderReport: `withstats` drift). */
  lastTimestamp: number;
  /** Frames (RTP timestamps) received, and per second over the last bitrate window. */
  frames: number;
  frameRate: number;
  windowFrames: number;
  /** Dynacast asked the publisher to stop sending it (no subscriber wants it). */
  paused: boolean;
}

/** What an RTCP sender report says: the sender's wall clock (NTP, in ms) at an RTP timestamp. */
export interface SenderReport {
  ssrc: number;
  ntpMs: number;
  rtpTimestamp: number;
}

export interface ReceiverOptions {
  peerId: string;
  /** The simulcast rids; a single '' without simulcast. */
  rids: readonly string[];
  transceiver: RTCRtpTransceiver;
  codec: RTCRtpCodecParameters;
  streamId: string;
  trackId: string;
  cacheSize: number;
  audioLevelExtId: number;
  onAudioLevel?: ((streamId: string, level: number) => void) | undefined;
}

/**
 * Spatial rank of well-known rid names (ion-sdk-js f/h/q, LiveKit q/h/f, erizo.js "1" (lowest) to
 * "n", and the obvious others); only the order matters.
 */
const RID_RANK = dict<number>(
  Object.entries({
    q: 0,
    l: 0,
    low: 0,
    '0': 0,
    h: 1,
    m: 1,
    mid: 1,
    medium: 1,
    '1': 1,
    f: 2,
    high: 2,
    '2': 2,
    '3': 3,
    '4': 4,
  }),
); // rids come from the client's SDP

/**
 * One incoming track of a publisher, with its simulcast layers: gets its packets from the Ingress,
 * fans each one out to its DownTracks, keeps the last packets of each layer for NACK, measures layer bitrates, reports RFC 6464
 * audio levels and forwards keyframe requests (throttled per layer).
 */
export class Receiver extends TypedEmitter<ReceiverEvents> {
  readonly peerId: string;
  readonly kind: Kind;
  readonly streamId: string;
  readonly trackId: string;
  readonly codec: RTCRtpCodecParameters;
  readonly transceiver: RTCRtpTransceiver;
  readonly simulcast: boolean;
  /** Lowest first once ordered (see `orderedLayers`). */
  readonly layers: Layer[] = [];
  /**
   * The simulcast rids, lowest first by name (`['q','h','f']`; the offer's order for names we do not
   * rank); `[]` without simulcast. Fixed at creation, as `layers` are (rosters show it).
   */
  readonly rids: readonly string[];
  packets = 0;
  bytes = 0;

  #closed = false;
  #muted = false;
  #ordered: Layer[] = [];
  readonly #downTracks = new Set<TrackSender>();
  readonly #sinks = new Set<PacketSink>();
  readonly #audioLevelExtId: number;
  readonly #onAudioLevel: ((streamId: string, level: number) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #keyframe: (buf: Buffer, start: number, end: number) => boolean;
  readonly #vp8 = newVp8Info();
  readonly #vp8Codec: boolean;

  constructor(o: ReceiverOptions) {
    super();
    this.peerId = o.peerId;
    this.kind = o.transceiver.kind as Kind;
    this.streamId = o.streamId;
    this.trackId = o.trackId;
    this.codec = o.codec;
    this.transceiver = o.transceiver;
    this.simulcast = o.rids.length > 1 || o.rids.some((rid) => rid !== '');
    this.#audioLevelExtId = o.audioLevelExtId;
    this.#onAudioLevel = o.onAudioLevel;
    const mime = o.codec.mimeType.toLowerCase();
    this.#vp8Codec = mime === 'video/vp8';
    this.#keyframe =
      mime === 'video/vp9' ? isVp9Keyframe : mime === 'video/h264' ? isH264Keyframe : () => false;
    for (const rid of o.rids) {
      const layer: Layer = {
        rid,
        ssrc: 0,
        packets: 0,
        bytes: 0,
        bitrate: 0,
        width: 0,
        height: 0,
        lastPacketMs: 0,
        lastPliMs: 0,
        pliOutstanding: false,
        pliDeferred: undefined,
        opaque: false,
        windowBytes: 0,
        cache: this.kind === 'video' ? new PacketCache(o.cacheSize) : undefined,
        keyframeSeq: -1,
        keyframeTs: 0,
        keyframeMs: 0,
        senderReport: undefined,
        plis: 0,
        keyframes: 0,
        nacks: 0,
        packetsLost: 0,
        jitter: 0,
        lastTimestamp: 0,
        frames: 0,
        frameRate: 0,
        windowFrames: 0,
        paused: false,
      };
      this.layers.push(layer);
    }
    this.#order();
    this.rids = this.simulcast ? this.#ordered.map((l) => l.rid) : [];
    this.#timer = setInterval(() => this.#measure(), BITRATE_WINDOW_MS);
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** SSRC of the first layer (the only one without simulcast). */
  get ssrc(): number {
    return this.layers[0]?.ssrc ?? 0;
  }

  /** Layers lowest resolution first: by keyframe width when known, else by rid name, else by bitrate. */
  get orderedLayers(): readonly Layer[] {
    return this.#ordered;
  }

  /** Publisher-side mute (our `mute` method): every DownTrack pauses. */
  get muted(): boolean {
    return this.#muted;
  }

  setMuted(muted: boolean): void {
    if (muted === this.#muted) {
      return;
    }
    this.#muted = muted;
    this.safeEmit('mute', muted);
    if (!muted) {
      this.requestKeyframe();
    }
  }

  addDownTrack(dt: TrackSender): void {
    this.#downTracks.add(dt);
    dt.once('close', () => {
      this.#downTracks.delete(dt);
      this.safeEmit('layers');
    });
    this.safeEmit('layers');
  }

  get downTracks(): ReadonlySet<TrackSender> {
    return this.#downTracks;
  }

  /** Packet `seq` of `layer` from the NACK cache, in a view reused by the next call; undefined when gone. */
  getPacket(layer: Layer, seq: number): RtpView | undefined {
    return layer.cache?.get(seq);
  }

  /** The layer of simulcast rid `rid` (without simulcast, the only layer whatever the rid). */
  layerFor(rid: string | undefined): Layer | undefined {
    if (!this.simulcast) {
      return this.layers[0];
    }
    return rid === undefined ? undefined : this.layers.find((l) => l.rid === rid);
  }

  /**
   * Asks the publisher for a keyframe of `layer` (default: every layer). Sent at once unless one is
   * outstanding (then the keyframe on its way serves this request too, and the PLI is repeated if
   * none came within 500 ms) or the last one was answered less than PLI_MIN_GAP_MS ago (then it is
   * sent when that runs out, when the publisher's encoder takes requests again). A held request is
   * never dropped (ion-sfu drops requests inside its 500 ms window, so a subscriber joining just after
   * another waited for the encoder's periodic keyframe, seconds), and a keyframe arriving meanwhile
   * serves it. A new subscriber so waits for its first frame about
   * one round trip to the publisher plus its encoder's answer, not for a throttle window.
   */
  requestKeyframe(layer?: Layer): void {
    if (this.kind !== 'video' || this.#closed) {
      return;
    }
    const now = Date.now();
    for (const l of layer ? [layer] : this.layers) {
      if (l.ssrc === 0) {
        continue;
      }
      if (l.pliDeferred !== undefined) {
        continue; // held already
      }
      const wait = l.lastPliMs + (l.pliOutstanding ? PLI_OUTSTANDING_MS : PLI_MIN_GAP_MS) - now;
      if (wait <= 0) {
        this.#sendPli(l, now);
      } else {
        l.pliDeferred = setTimeout(() => {
          l.pliDeferred = undefined;
          if (!this.#closed) {
            this.#sendPli(l, Date.now());
          }
        }, wait);
      }
    }
  }

  #sendPli(l: Layer, now: number): void {
    clearTimeout(l.pliDeferred);
    l.pliDeferred = undefined;
    l.lastPliMs = now;
    l.pliOutstanding = true;
    l.plis++;
    this.transceiver.receiver
      .sendRtcpPLI(l.ssrc)
      .catch((err: unknown) => logger.debug({ err }, 'PLI failed'));
  }

  /** A subscriber changed what it wants of this track (dynacast re-evaluates). */
  wantedChanged(): void {
    this.safeEmit('layers');
  }

  /** The layers any subscriber may want: the highest manual ceiling over all DownTracks (dynacast). */
  wantedLayers(): Layer[] {
    let max = -1;
    for (const dt of this.#downTracks) {
      max = Math.max(max, dt.ceiling);
    }
    return this.#ordered.slice(0, max + 1);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    for (const l of this.layers) {
      clearTimeout(l.pliDeferred);
    }
    for (const dt of [...this.#downTracks]) {
      dt.close();
    }
    this.#downTracks.clear();
    this.#sinks.clear();
    this.safeEmit('close');
    this.removeAllListeners();
  }

  /** A sender report of `layer`'s SSRC arrived (from the Ingress). */
  senderReport(layer: Layer, p: RtcpSrPacket): void {
    if (layer.ssrc === p.ssrc) {
      const ntp = p.senderInfo.ntpTimestamp; // 32.32 fixed point seconds
      layer.senderReport = {
        ssrc: p.ssrc,
        ntpMs: Number(ntp >> 32n) * 1000 + Number(((ntp & 0xffffffffn) * 1000n) >> 32n),
        rtpTimestamp: p.senderInfo.rtpTimestamp,
      };
    }
  }

  /** One packet of `layer`, authenticated and parsed by the Ingress (a view: not kept past the call). */
  receive(layer: Layer, packet: RtpView, now: number): void {
    if (this.#closed) {
      return;
    }
    const size = packet.payloadLength;
    if (layer.ssrc !== packet.ssrc) {
      layer.ssrc = packet.ssrc;
      layer.keyframeSeq = -1; // a new stream: the cache's older packets are another sequence space
    }
    layer.packets++;
    layer.bytes += size;
    layer.lastPacketMs = now;
    if (packet.timestamp !== layer.lastTimestamp) {
      layer.frames++;
      layer.lastTimestamp = packet.timestamp;
    }
    this.packets++;
    this.bytes += size;
    layer.cache?.put(packet);
    let level = -1;
    if (this.#audioLevelExtId !== 0) {
      const at = packet.extension(this.#audioLevelExtId);
      if (at >= 0 && packet.extValueLength > 0) {
        level = packet.buf[at]! & 0x7f;
        this.#onAudioLevel?.(this.streamId, level);
      }
    }
    if (this.#muted) {
      return;
    }
    let keyframe: boolean;
    // Where a subscriber may start or switch: a keyframe, or any frame start of an encrypted layer.
    let startPoint: boolean;
    if (this.kind === 'audio') {
      keyframe = startPoint = true;
    } else if (this.#vp8Codec) {
      const vp8 = parseVp8(packet.buf, packet.headerLength, packet.payloadEnd, this.#vp8);
      if (vp8.keyframe) {
        layer.opaque = false;
      } else if (vp8.opaque && !layer.opaque) {
        layer.opaque = true;
        logger.debug(
          { trackId: this.trackId, rid: layer.rid },
          'encrypted VP8 payloads: starting subscribers at frame starts',
        );
      }
      keyframe = vp8.keyframe;
      startPoint = keyframe || (layer.opaque && vp8.start);
    } else {
      keyframe = startPoint = size > 0 && this.#keyframe(packet.buf, packet.headerLength, packet.payloadEnd);
    }
    if (keyframe) {
      if (layer.cache && (layer.keyframeSeq < 0 || packet.timestamp !== layer.keyframeTs)) {
        layer.keyframes++;
        layer.keyframeSeq = packet.seq; // the first packet of a keyframe (H.264: the first one flagged)
        layer.keyframeTs = packet.timestamp;
        layer.keyframeMs = now;
      }
      layer.pliOutstanding = false;
      if (layer.pliDeferred !== undefined) {
        clearTimeout(layer.pliDeferred); // whoever waited starts at this one
        layer.pliDeferred = undefined;
      }
    }
    // VP8 temporal layer of this packet (parsed with the keyframe check above), -1 = unknown.
    const tid = this.#vp8Codec ? this.#vp8.tid : -1;
    if (keyframe && this.#vp8.width > 0 && this.#vp8.width !== layer.width) {
      layer.width = this.#vp8.width;
      layer.height = this.#vp8.height;
      this.#order();
    }
    if (this.#downTracks.size > 0) {
      const t0 = performance.now();
      for (const dt of this.#downTracks) {
        dt.writeRtp(packet, layer, startPoint, tid, level, now);
      }
      udpBatch?.flush();
      observeResidence(performance.now() - t0);
    }
    for (const s of this.#sinks) {
      try {
        s.writeRtp(packet, layer, keyframe, now);
      } catch (err) {
        logger.error({ err }, 'packet sink threw');
      }
    }
  }

  /** Adds a PacketSink (see there); returns its removal. Sinks are dropped when the Receiver closes. */
  addSink(sink: PacketSink): () => void {
    this.#sinks.add(sink);
    return () => void this.#sinks.delete(sink);
  }

  #measure(): void {
    const now = Date.now();
    let changed = false;
    for (const l of this.layers) {
      const rate =
        now - l.lastPacketMs > LAYER_STALE_MS
          ? 0
          : ((l.bytes - l.windowBytes) * 8 * 1000) / BITRATE_WINDOW_MS;
      changed ||= (rate === 0) !== (l.bitrate === 0);
      l.bitrate = rate;
      l.windowBytes = l.bytes;
      l.frameRate = rate === 0 ? 0 : ((l.frames - l.windowFrames) * 1000) / BITRATE_WINDOW_MS;
      l.windowFrames = l.frames;
    }
    if (!this.simulcast) {
      return;
    }
    this.#order();
    if (changed) {
      this.safeEmit('layers');
    }
  }

  #order(): void {
    const ls = [...this.layers];
    if (ls.every((l) => l.width > 0)) {
      ls.sort((a, b) => a.width - b.width);
    } else if (ls.every((l) => RID_RANK[l.rid] !== undefined)) {
      ls.sort((a, b) => RID_RANK[a.rid]! - RID_RANK[b.rid]!);
    } else {
      ls.sort((a, b) => a.bitrate - b.bitrate);
    }
    this.#ordered = ls;
  }
}
