/**
 * One recorded track: a PacketSink on its Receiver that turns RTP into timed frames for the muxer.
 *
 * - Simulcast: records one layer, the highest one flowing; it moves to another at that layer's keyframe
 *   (the one before keeps being recorded until then), like a DownTrack's switch.
 * - Order and loss: werift's jitter buffer reorders (NACK retransmissions arrive late) and reports loss;
 *   after a loss, a gap in arrival, a sequence jump or a new SSRC, video resumes only at a keyframe
 *   (asked for at once), so the file never holds a frame its decoder cannot decode.
 * - Frames: werift's depacketizers; the time of a frame is its capture time on this node's clock
 *   (RtpClock, from the publisher's sender reports through a CaptureClock its tracks share), which keeps
 *   audio and video of one publisher in sync and layers continuous.
 */
import { RtpPacket } from 'werift';
import { JitterBufferBase, dePacketizeRtpPackets, type JitterBufferOutput } from 'werift/nonstandard';
import type { Layer, PacketSink, Receiver } from '../media/Receiver.ts';
import type { RtpView } from '../media/RtpView.ts';
import { containerFrame, opusDurationMs, videoConfig, type CodecSpec, type VideoConfig } from './codecs.ts';
import { RtpClock, type CaptureClock } from './RtpClock.ts';
import { logger } from '../util/logger.ts';

/** A werift packet (a copy) of an ingress view, for werift's jitter buffer and depacketizers. */
const toPacket = (v: RtpView): RtpPacket => RtpPacket.deSerialize(Buffer.from(v.buf.subarray(0, v.length)));

/** A frame ready for the container. */
export interface RecordedFrame {
  data: Uint8Array;
  key: boolean;
  /** Capture time on this node's clock, ms (see RtpClock). */
  wallMs: number;
  durationMs: number;
  /** Video keyframes: the decoder configuration they carry. */
  config?: VideoConfig | undefined;
}

/** No packet for this long restarts the pipeline (a pause, a mute). */
const GAP_MS = 1000;
/** A sequence number this far from the last one is a restart, not reordering. */
const SEQ_JUMP = 1000;
/** How long the jitter buffer waits for a missing packet (NACK round trip), RTP time. */
const JITTER_LATENCY_MS = { audio: 100, video: 250 } as const;
/** A layer that sent nothing for this long is not flowing. */
const LAYER_LIVE_MS = 1000;
/** Packets of one frame looked up in the Receiver's cache when switching layers. */
const MAX_PREFILL = 64;

export class TrackRecorder implements PacketSink {
  readonly receiver: Receiver;
  readonly spec: CodecSpec;
  frames = 0;
  /** Frames dropped while waiting for a keyframe. */
  dropped = 0;
  readonly #onFrame: (f: RecordedFrame) => void;
  readonly #clocks = new Map<number, RtpClock>();
  readonly #capture: CaptureClock;
  readonly #detach: () => void;
  #current: Layer | undefined;
  #target: Layer | undefined;
  #ssrc = -1;
  #lastSeq = -1;
  #lastArrival = 0;
  #jitter: JitterBufferBase;
  #frame: RtpPacket[] = [];
  /** Video: the next packet starts a frame (false after a restart until a frame's last packet passes). */
  #aligned = true;
  #needKey: boolean;
  #hasConfig = false;
  #stopped = false;

  /** `capture`: the publisher's, shared with its other tracks (see RtpClock). */
  constructor(
    receiver: Receiver,
    spec: CodecSpec,
    onFrame: (f: RecordedFrame) => void,
    capture: CaptureClock,
  ) {
    this.receiver = receiver;
    this.#capture = capture;
    this.spec = spec;
    this.#onFrame = onFrame;
    this.#needKey = spec.kind === 'video';
    this.#jitter = this.#newJitterBuffer();
    if (receiver.simulcast) {
      this.reselect(Date.now());
    } else {
      this.#current = this.#target = receiver.layers[0];
    }
    this.#detach = receiver.addSink(this);
    this.#requestKeyframe();
  }

  get kind(): 'audio' | 'video' {
    return this.spec.kind;
  }

  /** The layer being recorded (rid, '' without simulcast). */
  get layer(): Layer | undefined {
    return this.#current;
  }

  writeRtp(view: RtpView, layer: Layer, keyframe: boolean, now: number): void {
    if (this.#stopped) {
      return;
    }
    const packet = toPacket(view);
    const h = packet.header;
    // Every layer: one we switch to is already in sync.
    const report = layer.senderReport?.ssrc === h.ssrc ? layer.senderReport : undefined;
    this.#clock(h.ssrc).observe(h.timestamp, now, report);
    if (layer !== this.#current) {
      if (this.#target === undefined) {
        this.reselect(now);
      }
      if (layer !== this.#target || !keyframe) {
        return;
      }
      this.#current = layer;
      this.#restart(h.ssrc, h.sequenceNumber, false); // this packet starts the keyframe
      this.#prefill(layer, packet);
    }
    if (packet.payload.length === 0) {
      return; // padding-only probe
    }
    const seqJump = (h.sequenceNumber - this.#lastSeq) & 0xffff;
    if (
      h.ssrc !== this.#ssrc ||
      now - this.#lastArrival > GAP_MS ||
      (seqJump > SEQ_JUMP && seqJump < 0x10000 - SEQ_JUMP)
    ) {
      this.#restart(h.ssrc, h.sequenceNumber);
    }
    this.#lastArrival = now;
    this.#lastSeq = h.sequenceNumber;
    this.#push(packet);
  }

  /** Capture time (this node's ms) this recorder gives RTP time `rtpTimestamp` of `ssrc`, once it has seen the SSRC. */
  captureMs(ssrc: number, rtpTimestamp: number): number | undefined {
    const c = this.#clocks.get(ssrc);
    return c?.synced ? c.wallMsOf(rtpTimestamp) : undefined;
  }

  /** Simulcast: aims at the highest layer flowing; the switch happens at its next keyframe. */
  reselect(now: number): void {
    if (!this.receiver.simulcast || this.#stopped) {
      return;
    }
    let best: Layer | undefined;
    for (const l of this.receiver.orderedLayers) {
      if (l.packets > 0 && now - l.lastPacketMs < LAYER_LIVE_MS) {
        best = l; // lowest first: the last live one is the highest
      }
    }
    if (best) {
      this.#target = best;
    }
    if (this.#target && this.#target !== this.#current) {
      this.receiver.requestKeyframe(this.#target);
    }
  }

  /** Stops taking packets and emits the frames still buffered (a frame missing its end is dropped). */
  stop(): void {
    if (this.#stopped) {
      return;
    }
    this.#stopped = true;
    this.#detach();
    for (const o of this.#jitter.processInput({ eol: true })) {
      this.#ordered(o);
    }
    this.#frame = [];
  }

  #clock(ssrc: number): RtpClock {
    let c = this.#clocks.get(ssrc);
    if (!c) {
      c = new RtpClock(this.receiver.codec.clockRate, this.#capture);
      this.#clocks.set(ssrc, c);
    }
    return c;
  }

  #newJitterBuffer(): JitterBufferBase {
    return new JitterBufferBase(this.receiver.codec.clockRate, {
      latency: JITTER_LATENCY_MS[this.spec.kind],
      bufferSize: 2000,
    });
  }

  /** A new run of packets: frames resume at a keyframe (video). */
  #restart(ssrc: number, seq: number, askKeyframe = true): void {
    if (this.#ssrc !== -1) {
      // What the old run still holds in order goes out first (the end of a layer before a switch).
      for (const o of this.#jitter.processInput({ eol: true })) {
        this.#ordered(o);
      }
    }
    this.#ssrc = ssrc;
    this.#lastSeq = (seq - 1) & 0xffff;
    this.#jitter = this.#newJitterBuffer();
    this.#frame = [];
    if (this.spec.kind === 'video') {
      this.#aligned = false;
      this.#needKey = true;
      if (askKeyframe) {
        this.#requestKeyframe();
      }
    }
  }

  /**
   * Switching layers at a packet flagged as keyframe: the packets of that frame before it (H.264 sends
   * SPS/PPS first) come from the Receiver's NACK cache, so the frame is whole.
   */
  #prefill(layer: Layer, packet: RtpPacket): void {
    const ts = packet.header.timestamp;
    const earlier: RtpPacket[] = [];
    for (let i = 1; i <= MAX_PREFILL; i++) {
      const v = this.receiver.getPacket(layer, (packet.header.sequenceNumber - i) & 0xffff);
      if (!v || v.timestamp !== ts) {
        break;
      }
      earlier.unshift(toPacket(v)); // the cache's view is reused by the next lookup
    }
    this.#aligned = true;
    if (earlier.length > 0) {
      this.#lastSeq = (earlier[0]!.header.sequenceNumber - 1) & 0xffff;
      for (const p of earlier) {
        this.#lastSeq = p.header.sequenceNumber;
        this.#push(p);
      }
    }
  }

  #push(p: RtpPacket): void {
    for (const o of this.#jitter.processInput({ rtp: p })) {
      this.#ordered(o);
    }
  }

  #ordered(o: JitterBufferOutput): void {
    if (o.isPacketLost) {
      this.#lost();
    }
    if (o.rtp) {
      this.#assemble(o.rtp);
    }
  }

  #lost(): void {
    if (this.spec.kind === 'video') {
      this.#frame = [];
      this.#aligned = false;
      this.#needKey = true;
      this.#requestKeyframe();
    }
  }

  #assemble(p: RtpPacket): void {
    if (this.spec.kind === 'audio') {
      this.#emit([p]);
      return;
    }
    if (!this.#aligned) {
      // In the middle of a frame whose start we lack: wait for its last packet.
      this.#aligned = p.header.marker;
      return;
    }
    const first = this.#frame[0];
    if (first && first.header.timestamp !== p.header.timestamp) {
      // The previous frame never got its last packet.
      this.#lost();
      this.#aligned = true;
    }
    this.#frame.push(p);
    if (p.header.marker) {
      const packets = this.#frame;
      this.#frame = [];
      this.#emit(packets);
    }
  }

  #emit(packets: RtpPacket[]): void {
    let data: Buffer;
    let isKeyframe: boolean;
    try {
      ({ data, isKeyframe } = dePacketizeRtpPackets(this.spec.depacketizer, packets));
    } catch (err) {
      logger.debug({ err, track: this.receiver.trackId }, 'recorder: frame did not depacketize');
      this.#lost();
      return;
    }
    if (data.length === 0) {
      return;
    }
    const video = this.spec.kind === 'video';
    const key = !video || isKeyframe;
    let config: VideoConfig | undefined;
    if (video && key) {
      config = videoConfig(this.spec.mux, data);
      if (!config && !this.#hasConfig) {
        this.dropped++;
        this.#requestKeyframe();
        return; // the first keyframe must say what it is (size, SPS/PPS)
      }
    }
    if (this.#needKey && !key) {
      this.dropped++;
      this.#requestKeyframe();
      return;
    }
    let frame: Uint8Array;
    try {
      frame = containerFrame(this.spec.mux, data);
    } catch (err) {
      logger.debug({ err, track: this.receiver.trackId }, 'recorder: frame did not convert');
      this.#lost();
      return;
    }
    this.#needKey = false;
    this.#hasConfig ||= config !== undefined;
    const clock = this.#clock(packets[0]!.header.ssrc);
    this.frames++;
    this.#onFrame({
      data: frame,
      key,
      wallMs: clock.wallMs(clock.extend(packets[0]!.header.timestamp)),
      durationMs: video ? 0 : opusDurationMs(data),
      config,
    });
  }

  #requestKeyframe(): void {
    if (this.spec.kind === 'video' && !this.#stopped) {
      this.receiver.requestKeyframe(this.#current ?? this.#target);
    }
  }
}
