import {
  RtcpSenderInfo,
  RtcpSrPacket,
  type RtcpReceiverInfo,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type RtcpPacket,
} from 'werift';
import { RtpMunger } from './RtpMunger.ts';
import type { RtpView } from './RtpView.ts';
import { Vp8Munger } from './Vp8Munger.ts';
import { Sequencer } from './Sequencer.ts';
import { absSendTime, rtpHeaderSize, writeRtpHeader, type HeaderExtension } from './rtpHeader.ts';
import { Egress, packetBuffer } from './Egress.ts';
import { udpBatch } from './UdpBatch.ts';
import { PROTECT_HEADROOM } from './srtp/index.ts';
import { dtlsReady, extensionId, EXT_ABS_SEND_TIME, EXT_AUDIO_LEVEL, EXT_MID } from './werift.ts';
import { PLI_MIN_GAP_MS, type Layer, type Receiver, type TrackSender } from './Receiver.ts';
import { newVp8Info, parseVp8 } from './vp8.ts';
import { LayerSelector, LOSS_DOWN } from './LayerSelector.ts';
import type { Kind } from './types.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { logger } from '../util/logger.ts';

export type DownTrackEvents = {
  close: [];
  /** The layer being forwarded changed (simulcast); index into `receiver.orderedLayers`, -1 = none. */
  layer: [index: number];
  /** A REMB from the subscriber (it covers the whole subscriber PC), bps. */
  estimate: [bps: number];
};

/** ion-sfu's names for spatial layers, lowest first (rids q/h/f). */
export const LAYER_NAMES = ['low', 'medium', 'high'] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

/**
 * Fast start (#fastStart): a new subscriber gets the frames since the layer's latest keyframe when
 * that keyframe came at most this long ago. Older, and a keyframe request is answered sooner than
 * the replay would be long: the publisher's encoder takes one at least every PLI_MIN_GAP_MS.
 */
export const FAST_START_MAX_MS = PLI_MIN_GAP_MS;
/** At most this many packets replayed (~100 KB, a third of a second at 2.5 Mbit/s). */
export const FAST_START_MAX_PACKETS = 96;

/** Loss toward a subscriber is measured over windows this long, sliding by half of it. */
export const LOSS_WINDOW_MS = 1000;

/** Seconds between 1900-01-01 (NTP epoch) and 1970-01-01. */
const NTP_EPOCH_OFFSET = 2208988800n;
/** Sender reports remembered for the RTT: a receiver report answers the latest it got (~1 s apart). */
const SR_HISTORY = 4;

/**
 * What a DownTrack hands to the next one on the same transceiver (a WHEP viewer's m-line changing
 * source): sequence numbers, timestamps, VP8 picture ids and SRTP's rollover continue, so the viewer
 * sees one stream.
 */
export interface SendContinuation {
  munger: RtpMunger;
  vp8: Vp8Munger | undefined;
  sentExt: number;
}

/** What the subscriber negotiated for this track; read once DTLS is up (ids never change afterwards). */
interface Binding {
  dtls: RTCDtlsTransport;
  egress: Egress;
  ssrc: number;
  payloadType: number;
  mid: HeaderExtension | undefined;
  audioLevel: HeaderExtension | undefined;
  absSendTime: HeaderExtension | undefined;
}

/**
 * One Receiver forwarded to one subscriber: SSRC / sequence / timestamp rewriting, header extensions
 * in the subscriber's own ids, keyframe requests and NACKs answered from the Receiver's cache,
 * sender reports. Packets bypass werift's RTCRtpSender (see werift.ts, workaround 2).
 */
export class DownTrack extends TypedEmitter<DownTrackEvents> implements TrackSender {
  readonly receiver: Receiver;
  readonly transceiver: RTCRtpTransceiver;
  readonly kind: Kind;
  packetsSent = 0;
  bytesSent = 0;
  /** Times forwarding began with a replay of the latest keyframe (see #fastStart). */
  fastStarts = 0;
  /** Sequence numbers the subscriber NACKed (repeats included), and packets resent for them. */
  nacksReceived = 0;
  retransmitted = 0;

  #closed = false;
  /** Subscriber's choice (ion-sfu data channel `video: 'none'` / `audio: false`). */
  #muted = false;
  /** Highest spatial layer the subscriber allows (manual choice); 2 = high. */
  #ceiling = LAYER_NAMES.length - 1;
  /** Highest VP8 temporal layer forwarded (ion-sfu `framerate`; only with enabletemporallayer). */
  #maxTemporal = 2;
  /** The layer being forwarded, and the one we switch to at its next keyframe. */
  #current: Layer | undefined;
  #target: Layer | undefined;
  readonly #selector = new LayerSelector();
  /**
   * Loss toward the subscriber over the last window: the packets we sent that it NACKed for the
   * first time, per packet sent (a gap from loss on the way in was never sent on this link). Not its
   * receiver reports: libwebrtc puts a report block in every RTCP compound, NACKs included, so
   * `fraction lost` often covers a few packets just after a loss (25 % at 5 % random loss, measured),
   * and duplicate retransmissions count as received, so the cumulative loss hid a 20 % policer for
   * 4 s (measured). Video only: audio is not NACKed.
   */
  #loss = 0;
  readonly #lossMarks = new Float64Array(8);
  #lossMarkCount = 0;
  #lossMarkAt = 0;
  /** New packets forwarded (not retransmissions) and first-time NACKed ones, for #loss. */
  #newPackets = 0;
  #nackedPackets = 0;
  /** Highest outgoing sequence number NACKed, extended: an older one NACKed again is no new loss. */
  #nackedExt = -1;
  /**
   * From the subscriber's receiver reports (RFC 3550 §6.4.1): round trip in ms (LSR/DLSR against the
   * sender reports we sent), interarrival jitter in ms, and the cumulative loss it reports; null
   * until a report came. Statistics only: #loss above drives layer choice.
   */
  rtt: number | null = null;
  jitter: number | null = null;
  remotePacketsLost = 0;
  /** NTP middle 32 bits → send time (ms) of our last sender reports, for the RTT. */
  readonly #srSent: [number, number][] = [];
  #binding: Binding | undefined;
  readonly #munger: RtpMunger;
  /** VP8 only: picture IDs continue across layer switches. */
  readonly #vp8: Vp8Munger | undefined;
  /**
   * Outgoing → incoming sequence numbers for NACK answers: only where a packet cache can answer them
   * (video), and no longer than it (an older packet is gone from every layer's cache anyway).
   */
  readonly #sequencer: Sequencer | undefined;
  readonly #exts: HeaderExtension[] = [];
  /** The keyframe (first sequence number) a fast start was refused for: a packet after it is missing. */
  #noFastStart = -1;
  /** VP8 descriptor of a replayed packet (fast start). */
  readonly #replayVp8 = newVp8Info();
  /** Highest sequence number sent, extended with its rollover count (SRTP's ROC is ours to keep). */
  #sentExt: number;
  readonly #clockRate: number;
  readonly #unsubs: (() => void)[] = [];

  constructor(receiver: Receiver, transceiver: RTCRtpTransceiver, from?: SendContinuation) {
    super();
    this.#munger = from?.munger ?? new RtpMunger();
    this.#munger.pause(); // a handed-over stream continues after the last packet sent
    this.#sentExt = from?.sentExt ?? -1;
    this.receiver = receiver;
    this.transceiver = transceiver;
    this.kind = receiver.kind;
    this.#clockRate = receiver.codec.clockRate;
    const cache = receiver.layers[0]?.cache;
    this.#sequencer = cache ? new Sequencer(cache.capacity) : undefined;
    const sender = transceiver.sender;
    this.#unsubs.push(
      sender.onPictureLossIndication.subscribe(() => this.receiver.requestKeyframe(this.#current))
        .unSubscribe,
      sender.onGenericNack.subscribe((n) => this.#onNack(n.lost)).unSubscribe,
      sender.onRtcp.subscribe((p) => this.#onRtcp(p)).unSubscribe,
    );
    receiver.on('mute', this.#onPublisherMute);
    this.#vp8 =
      receiver.codec.mimeType.toLowerCase() === 'video/vp8' ? (from?.vp8 ?? new Vp8Munger()) : undefined;
    this.#vp8?.rebase();
    if (!receiver.simulcast) {
      // Forwarding starts at the first keyframe (audio: the first packet), like a layer switch.
      this.#target = receiver.layers[0];
    }
  }

  /** The highest layer this subscriber wants (dynacast reads it); -1 while muted. */
  get ceiling(): number {
    return this.#muted ? -1 : this.#ceiling;
  }

  /** Manual layer choice (ion-sfu `video: high|medium|low`): a ceiling for the automatic choice. */
  setCeiling(layer: LayerName): void {
    const c = LAYER_NAMES.indexOf(layer);
    if (c !== this.#ceiling) {
      this.#ceiling = c;
      this.#selector.reset();
    }
  }

  /**
   * Temporal ceiling (ion-sfu `framerate: high|medium|low` → temporal layers 2/1/0). Lowering it
   * applies at the next frame; raising it waits for a keyframe, because the frames of a layer we
   * dropped are references for the upper layers' next frames.
   */
  setMaxTemporal(layer: LayerName): void {
    const t = LAYER_NAMES.indexOf(layer);
    if (t > this.#maxTemporal) {
      this.#resumeAtKeyframe();
    }
    this.#maxTemporal = t;
  }

  /** Index of the layer it switches to at that layer's next keyframe (the wanted one), -1 when none. */
  get targetLayer(): number {
    return this.#target ? this.receiver.orderedLayers.indexOf(this.#target) : -1;
  }

  /** Loss toward the subscriber over the last window (0–1; video only, see #loss). */
  get loss(): number {
    return this.#loss;
  }

  /** Index of the forwarded layer in `receiver.orderedLayers`, -1 when none. */
  get currentLayer(): number {
    return this.#current ? this.receiver.orderedLayers.indexOf(this.#current) : -1;
  }

  /**
   * Re-picks the simulcast layer from this track's share of the subscriber's bandwidth (bps,
   * Infinity when unknown). The switch itself happens at the target layer's next keyframe.
   */
  allocate(budget: number, budgetFalling: boolean, now: number, bestQualityFirst: boolean): void {
    if (!this.receiver.simulcast || this.#closed) {
      return;
    }
    this.#measureLoss(now);
    const ordered = this.receiver.orderedLayers;
    const index = this.#selector.select({
      bitrates: ordered.map((l) => l.bitrate),
      ceiling: Math.min(this.#ceiling, ordered.length - 1),
      budget,
      budgetFalling,
      loss: this.#loss,
      now,
      bestQualityFirst,
    });
    const target = index >= 0 ? ordered[index] : undefined;
    if (target !== this.#target) {
      logger.debug(
        {
          stream: this.receiver.streamId,
          from: this.#target ? ordered.indexOf(this.#target) : -1,
          to: index,
          bitrates: ordered.map((l) => l.bitrate),
          budget,
          budgetFalling,
          loss: this.#loss,
        },
        'simulcast layer target',
      );
      this.#target = target;
      if (target && target !== this.#current) {
        this.receiver.requestKeyframe(target);
      }
    }
  }

  /** The bitrate currently forwarded, bps (for the subscriber's budget). */
  get bitrate(): number {
    return this.#current?.bitrate ?? 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get muted(): boolean {
    return this.#muted;
  }

  get streamId(): string {
    return this.receiver.streamId;
  }

  setMuted(muted: boolean): void {
    if (muted === this.#muted) {
      return;
    }
    this.#muted = muted;
    if (muted) {
      this.#munger.pause();
    } else {
      this.#resumeAtKeyframe();
    }
  }

  /**
   * `tid` is the packet's VP8 temporal layer (-1 unknown). Frames above the subscriber's temporal
   * ceiling are dropped without leaving holes in sequence numbers or picture IDs.
   */
  writeRtp(
    packet: RtpView,
    layer: Layer,
    keyframe: boolean,
    tid: number,
    audioLevel: number,
    now: number,
  ): void {
    if (this.#muted || this.#closed) {
      return;
    }
    const b = this.#binding ?? this.#bind();
    if (!b) {
      return;
    }
    if (layer !== this.#current) {
      // Another simulcast layer: switch only at a keyframe of the target, so the decoder never
      // gets a frame it cannot decode; sequence numbers and timestamps continue across (RtpMunger).
      if (layer !== this.#target) {
        return;
      }
      if (keyframe) {
        this.#start(layer);
      } else if (!this.#fastStart(b, layer, packet, now)) {
        this.receiver.requestKeyframe(layer);
        return;
      }
    }
    this.#forward(b, packet, layer, tid, audioLevel, now, -1);
  }

  /** Forwarding begins (or switches) at a keyframe of `layer`. */
  #start(layer: Layer): void {
    this.#munger.pause();
    this.#vp8?.rebase();
    this.#current = layer;
    if (layer.opaque) {
      // Started at a frame start of an encrypted layer: the subscriber's decoder needs a keyframe.
      this.receiver.requestKeyframe(layer);
    }
    this.safeEmit('layer', this.receiver.orderedLayers.indexOf(layer));
  }

  /** `ts` ≥ 0 replaces the munged timestamp (fast start). */
  #forward(
    b: Binding,
    packet: RtpView,
    layer: Layer,
    tid: number,
    audioLevel: number,
    now: number,
    ts: number,
  ): void {
    if (packet.payloadLength === 0) {
      this.#munger.skip(packet.seq); // padding-only probe: nothing for the subscriber
      return;
    }
    if (tid > this.#maxTemporal) {
      this.#munger.skip(packet.seq);
      this.#vp8?.drop(packet.payload);
      return;
    }
    if (!this.#munger.update(packet.seq, packet.timestamp, now, this.#clockRate)) {
      return;
    }
    const outTs = ts >= 0 ? ts : this.#munger.ts;
    this.#send(b, packet, this.#munger.seq, outTs, audioLevel, now);
    this.#newPackets++;
    this.#sequencer?.push(this.#munger.seq, packet.seq, outTs, this.receiver.layers.indexOf(layer));
  }

  /**
   * A new subscriber starts from the layer's latest keyframe when it is recent and every packet
   * since is still cached: those packets go out at once, ahead of `packet`, instead of a keyframe
   * request that the publisher's encoder may make it wait for (libwebrtc honours one per 300 ms, so
   * subscribers joining right after another waited up to PLI_MIN_GAP_MS plus a frame). The replayed
   * frames before `packet`'s get timestamps one tick apart just before it, so the subscriber's
   * jitter buffer sees them as current (decoded at once, shown for an instant) and adds no delay.
   * Only before the first packet ever forwarded: later starts (unmute, layer switch) continue a
   * timeline the subscriber already plays.
   */
  #fastStart(b: Binding, layer: Layer, packet: RtpView, now: number): boolean {
    const first = layer.keyframeSeq;
    if (
      this.#current !== undefined ||
      this.#munger.started ||
      first < 0 ||
      layer.opaque ||
      first === this.#noFastStart
    ) {
      return false;
    }
    const count = (packet.seq - first) & 0xffff;
    if (count === 0 || count > FAST_START_MAX_PACKETS || now - layer.keyframeMs > FAST_START_MAX_MS) {
      return false;
    }
    // Every packet must be there (a gap would leave the decoder without a reference); count frames.
    let frames = 0;
    let lastTs = -1;
    for (let i = 0; i < count; i++) {
      const p = this.receiver.getPacket(layer, (first + i) & 0xffff);
      if (!p) {
        this.#noFastStart = first; // not again for this keyframe (the gap stays)
        return false;
      }
      if (p.timestamp !== packet.timestamp && p.timestamp !== lastTs) {
        frames++;
        lastTs = p.timestamp;
      }
    }
    this.#start(layer);
    lastTs = -1;
    let frame = 0;
    for (let i = 0; i < count; i++) {
      const p = this.receiver.getPacket(layer, (first + i) & 0xffff)!;
      let ts = -1;
      if (p.timestamp !== packet.timestamp) {
        if (p.timestamp !== lastTs) {
          frame++;
          lastTs = p.timestamp;
        }
        ts = (packet.timestamp - (frames - frame + 1)) >>> 0;
      }
      const tid = this.#vp8 ? parseVp8(p.buf, p.headerLength, p.payloadEnd, this.#replayVp8).tid : -1;
      this.#forward(b, p, layer, tid, -1, now, ts);
    }
    this.fastStarts++;
    return true;
  }

  /** A sender report for this track, or undefined before the first packet (called about once a second). */
  senderReport(now: number): RtcpSrPacket | undefined {
    const b = this.#binding;
    if (!b || !this.#munger.started || this.#muted) {
      return undefined;
    }
    const rtpTs =
      (this.#munger.lastOutTs + Math.round(((now - this.#munger.lastOutMs) * this.#clockRate) / 1000)) >>> 0;
    const ms = BigInt(now);
    const seconds = ms / 1000n + NTP_EPOCH_OFFSET;
    const fraction = ((ms % 1000n) << 32n) / 1000n;
    this.#srSent.push([Number(((seconds << 16n) | (fraction >> 16n)) & 0xffffffffn), now]);
    if (this.#srSent.length > SR_HISTORY) {
      this.#srSent.shift();
    }
    return new RtcpSrPacket({
      ssrc: b.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: (seconds << 32n) | fraction,
        rtpTimestamp: rtpTs,
        packetCount: this.packetsSent >>> 0,
        octetCount: this.bytesSent >>> 0,
      }),
    });
  }

  get dtls(): RTCDtlsTransport | undefined {
    return this.#binding?.dtls;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const u of this.#unsubs) {
      u();
    }
    this.receiver.off('mute', this.#onPublisherMute);
    this.safeEmit('close');
    this.removeAllListeners();
  }

  #onPublisherMute = (muted: boolean): void => {
    if (muted) {
      this.#munger.pause();
    } else {
      this.#resumeAtKeyframe();
    }
  };

  /** After a pause the stream restarts like a switch: at the next keyframe of the same layer. */
  #resumeAtKeyframe(): void {
    if (this.kind === 'video') {
      this.#target ??= this.#current;
      this.#current = undefined;
      this.receiver.requestKeyframe(this.#target);
    }
  }

  /** For the next DownTrack on this transceiver (see SendContinuation). */
  handOver(): SendContinuation {
    return { munger: this.#munger, vp8: this.#vp8, sentExt: this.#sentExt };
  }

  #bind(): Binding | undefined {
    const sender = this.transceiver.sender;
    const dtls = sender.dtlsTransport as RTCDtlsTransport | undefined;
    // The receiver's codec among those negotiated (an answered m-line may carry several).
    const mime = this.receiver.codec.mimeType.toLowerCase();
    const codec = this.transceiver.codecs.find((c) => c.mimeType.toLowerCase() === mime) ?? sender.codec;
    if (!dtlsReady(dtls) || !codec) {
      return undefined;
    }
    const ext = (uri: string, value: Buffer): HeaderExtension | undefined => {
      const id = extensionId(this.transceiver, uri);
      return id > 0 && id <= 14 ? { id, value } : undefined;
    };
    const mid = this.transceiver.mid;
    this.#binding = {
      dtls,
      egress: Egress.of(dtls),
      ssrc: sender.ssrc,
      payloadType: codec.payloadType,
      mid: mid ? ext(EXT_MID, Buffer.from(mid)) : undefined,
      audioLevel: this.kind === 'audio' ? ext(EXT_AUDIO_LEVEL, Buffer.alloc(1)) : undefined,
      absSendTime: this.kind === 'video' ? ext(EXT_ABS_SEND_TIME, Buffer.alloc(3)) : undefined,
    };
    return this.#binding;
  }

  #send(
    b: Binding,
    packet: RtpView,
    seq: number,
    ts: number,
    audioLevel: number,
    now: number,
    retransmission = false,
  ): void {
    // Filled by index, never emptied: `length = 0` would cost a new backing store per packet.
    const exts = this.#exts;
    let n = 0;
    if (b.mid) {
      exts[n++] = b.mid;
    }
    if (b.audioLevel && audioLevel >= 0) {
      b.audioLevel.value[0] = audioLevel;
      exts[n++] = b.audioLevel;
    }
    if (b.absSendTime) {
      absSendTime(now, b.absSendTime.value);
      exts[n++] = b.absSendTime;
    }
    const size = packet.payloadLength;
    const hdrSize = rtpHeaderSize(exts, n);
    // Built once per subscriber into a reused buffer, encrypted in place, sent on the ICE socket.
    const buf = packetBuffer(hdrSize + size + 16);
    const hdrLen = writeRtpHeader(
      buf,
      PROTECT_HEADROOM,
      packet.marker,
      b.payloadType,
      seq,
      ts,
      b.ssrc,
      exts,
      n,
    );
    packet.buf.copy(buf, PROTECT_HEADROOM + hdrLen, packet.headerLength, packet.payloadEnd);
    this.#vp8?.patch(buf, PROTECT_HEADROOM + hdrLen, size, retransmission);
    b.egress.send(buf, hdrLen, size, b.ssrc, seq, this.#rolloverFor(seq));
    this.packetsSent++;
    this.bytesSent += size;
  }

  /** SRTP rollover counter for an outgoing sequence number (retransmissions may be older). */
  #rolloverFor(seq: number): number {
    if (this.#sentExt < 0) {
      this.#sentExt = seq;
      return 0;
    }
    const ext = this.#extendSent(seq);
    if (ext > this.#sentExt) {
      this.#sentExt = ext;
    }
    return ext < 0 ? 0 : ext >>> 16;
  }

  /** An outgoing sequence number extended to the one nearest the highest sent. */
  #extendSent(seq: number): number {
    return this.#sentExt + ((((seq - (this.#sentExt & 0xffff) + 0x8000) & 0xffff) - 0x8000) | 0);
  }

  /**
   * Updates #loss from the counters (called by allocate, twice a second): the loss over the last
   * LOSS_WINDOW_MS, sliding by half a window. One window is a few dozen packets, and 5 % random loss
   * makes a 10 % window every ~15 s: loss counts when the last window and the one before it both
   * show it, or the last one shows twice the step-down threshold (a bottleneck, seen within a second).
   */
  #measureLoss(now: number): void {
    const m = this.#lossMarks;
    if (now - this.#lossMarkAt < LOSS_WINDOW_MS / 2 - 100) {
      return;
    }
    const ratio = (sent: number, nacked: number): number => (sent > 0 ? Math.min(1, nacked / sent) : 0);
    // m holds [sent, nacked] two, one and a half, one and half a window ago (newest last).
    const n = this.#lossMarkCount;
    const last = n >= 2 ? ratio(this.#newPackets - m[4]!, this.#nackedPackets - m[5]!) : 0;
    const before = n >= 4 ? ratio(m[4]! - m[0]!, m[5]! - m[1]!) : 0;
    this.#loss = Math.max(Math.min(last, before), last >= 2 * LOSS_DOWN ? last : 0);
    m.copyWithin(0, 2);
    m[6] = this.#newPackets;
    m[7] = this.#nackedPackets;
    this.#lossMarkCount++;
    this.#lossMarkAt = now;
  }

  #onNack(lost: number[]): void {
    const b = this.#binding;
    if (!b || this.#closed) {
      return;
    }
    const now = Date.now();
    this.nacksReceived += lost.length;
    for (const n of lost) {
      const outSeq = n & 0xffff; // werift does not wrap the bitmask's numbers
      const entry = this.#sequencer?.lookup(outSeq);
      if (!entry) {
        continue; // never sent: a gap left by loss on the way in (or garbage), not this link's loss
      }
      const ext = this.#extendSent(outSeq);
      if (ext > this.#nackedExt && ext <= this.#sentExt) {
        this.#nackedExt = ext;
        this.#nackedPackets++;
      }
      const layer = this.receiver.layers[entry.layer];
      const packet = layer && this.receiver.getPacket(layer, entry.inSeq);
      if (packet) {
        this.#send(b, packet, outSeq, entry.outTs, -1, now, true);
        this.retransmitted++;
      }
    }
    udpBatch?.flush(); // the answers to one NACK leave together, now
  }

  #onRtcp(p: RtcpPacket): void {
    if (p.type === 200 || p.type === 201) {
      this.#onReport(p.reports);
    } else if (p.type === 206) {
      const fb = (p as { feedback: { count: number; bitrate?: bigint } }).feedback;
      if (fb.count === 4) {
        // FIR asks for a keyframe like PLI; werift only surfaces PLI as an event.
        this.receiver.requestKeyframe(this.#current);
      } else if (fb.count === 15 && fb.bitrate !== undefined) {
        this.safeEmit('estimate', Number(fb.bitrate));
      }
    }
  }

  /** The subscriber's report block for our SSRC: RTT, jitter and its loss count (statistics). */
  #onReport(reports: readonly RtcpReceiverInfo[]): void {
    const ssrc = this.#binding?.ssrc;
    const r = reports.find((x) => x.ssrc === ssrc);
    if (!r) {
      return;
    }
    this.jitter = (r.jitter * 1000) / this.#clockRate;
    this.remotePacketsLost = r.packetsLost;
    const sent = r.lsr !== 0 ? this.#srSent.find(([ntp]) => ntp === r.lsr) : undefined;
    if (sent) {
      const rtt = Date.now() - sent[1] - (r.dlsr * 1000) / 65536;
      this.rtt = Math.max(0, Math.round(rtt * 10) / 10);
    }
  }
}
