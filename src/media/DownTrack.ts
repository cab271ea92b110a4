import {
  RtcpSenderInfo,
  RtcpSrPacket,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { RtpMunger } from './RtpMunger.ts';
import { Sequencer } from './Sequencer.ts';
import { absSendTime, rtpHeaderSize, writeRtpHeader, type HeaderExtension } from './rtpHeader.ts';
import {
  dtlsReady,
  encryptAndSend,
  extensionId,
  EXT_ABS_SEND_TIME,
  EXT_AUDIO_LEVEL,
  EXT_MID,
  type RawHeader,
} from './werift.ts';
import type { Receiver } from './Receiver.ts';
import type { Kind } from './types.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';

export type DownTrackEvents = { close: [] };

/** Seconds between 1900-01-01 (NTP epoch) and 1970-01-01. */
const NTP_EPOCH_OFFSET = 2208988800n;

/** What the subscriber negotiated for this track; read once DTLS is up (ids never change afterwards). */
interface Binding {
  dtls: RTCDtlsTransport;
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
export class DownTrack extends TypedEmitter<DownTrackEvents> {
  readonly receiver: Receiver;
  readonly transceiver: RTCRtpTransceiver;
  readonly kind: Kind;
  packetsSent = 0;
  bytesSent = 0;

  #closed = false;
  /** Subscriber's choice (ion-sfu data channel `video: 'none'` / `audio: false`). */
  #muted = false;
  #binding: Binding | undefined;
  readonly #munger = new RtpMunger();
  readonly #sequencer = new Sequencer();
  readonly #exts: HeaderExtension[] = [];
  readonly #header: RawHeader & { buf: Buffer };
  readonly #clockRate: number;
  readonly #unsubs: (() => void)[] = [];

  constructor(receiver: Receiver, transceiver: RTCRtpTransceiver) {
    super();
    this.receiver = receiver;
    this.transceiver = transceiver;
    this.kind = receiver.kind;
    this.#clockRate = receiver.codec.clockRate;
    const hdr = { ssrc: 0, sequenceNumber: 0, serializeSize: 0, buf: Buffer.alloc(0) };
    this.#header = { ...hdr, serialize: () => this.#header.buf };
    const sender = transceiver.sender;
    this.#unsubs.push(
      sender.onPictureLossIndication.subscribe(() => this.receiver.requestKeyframe()).unSubscribe,
      sender.onGenericNack.subscribe((n) => this.#onNack(n.lost)).unSubscribe,
      sender.onRtcp.subscribe((p) => this.#onRtcp(p)).unSubscribe,
    );
    receiver.on('mute', this.#onPublisherMute);
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
      this.receiver.requestKeyframe();
    }
  }

  writeRtp(packet: RtpPacket, audioLevel: number, now: number): void {
    if (this.#muted || this.#closed) {
      return;
    }
    const b = this.#binding ?? this.#bind();
    if (!b) {
      return;
    }
    const h = packet.header;
    if (packet.payload.length === 0) {
      this.#munger.skip(h.sequenceNumber); // padding-only probe: nothing for the subscriber
      return;
    }
    if (!this.#munger.update(h.sequenceNumber, h.timestamp, now, this.#clockRate)) {
      return;
    }
    this.#send(b, packet, this.#munger.seq, this.#munger.ts, audioLevel, now);
    this.#sequencer.push(this.#munger.seq, h.sequenceNumber, this.#munger.ts);
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
    }
  };

  #bind(): Binding | undefined {
    const sender = this.transceiver.sender;
    const dtls = sender.dtlsTransport as RTCDtlsTransport | undefined;
    if (!dtlsReady(dtls) || !sender.codec) {
      return undefined;
    }
    const ext = (uri: string, value: Buffer): HeaderExtension | undefined => {
      const id = extensionId(this.transceiver, uri);
      return id > 0 && id <= 14 ? { id, value } : undefined;
    };
    const mid = this.transceiver.mid;
    this.#binding = {
      dtls,
      ssrc: sender.ssrc,
      payloadType: sender.codec.payloadType,
      mid: mid ? ext(EXT_MID, Buffer.from(mid)) : undefined,
      audioLevel: this.kind === 'audio' ? ext(EXT_AUDIO_LEVEL, Buffer.alloc(1)) : undefined,
      absSendTime: this.kind === 'video' ? ext(EXT_ABS_SEND_TIME, Buffer.alloc(3)) : undefined,
    };
    this.#header.ssrc = sender.ssrc;
    this.receiver.requestKeyframe(); // a new subscriber can only start decoding at a keyframe
    return this.#binding;
  }

  #send(b: Binding, packet: RtpPacket, seq: number, ts: number, audioLevel: number, now: number): void {
    const exts = this.#exts;
    exts.length = 0;
    if (b.mid) {
      exts.push(b.mid);
    }
    if (b.audioLevel && audioLevel >= 0) {
      b.audioLevel.value[0] = audioLevel;
      exts.push(b.audioLevel);
    }
    if (b.absSendTime) {
      absSendTime(now, b.absSendTime.value);
      exts.push(b.absSendTime);
    }
    const buf = Buffer.allocUnsafe(rtpHeaderSize(exts));
    const len = writeRtpHeader(buf, packet.header.marker, b.payloadType, seq, ts, b.ssrc, exts);
    const hdr = this.#header;
    hdr.sequenceNumber = seq;
    hdr.serializeSize = len;
    hdr.buf = buf;
    encryptAndSend(b.dtls, hdr, packet.payload);
    this.packetsSent++;
    this.bytesSent += packet.payload.length;
  }

  #onNack(lost: number[]): void {
    const b = this.#binding;
    if (!b || this.#closed) {
      return;
    }
    const now = Date.now();
    for (const outSeq of lost) {
      const entry = this.#sequencer.lookup(outSeq);
      if (!entry) {
        continue;
      }
      const packet = this.receiver.getPacket(entry.inSeq);
      if (packet) {
        this.#send(b, packet, outSeq, entry.outTs, -1, now);
      }
    }
  }

  #onRtcp(p: RtcpPacket): void {
    // FIR (PSFB fmt 4) asks for a keyframe like PLI; werift only surfaces PLI as an event.
    if (p.type === 206 && (p as { feedback: { count: number } }).feedback.count === 4) {
      this.receiver.requestKeyframe();
    }
  }
}
