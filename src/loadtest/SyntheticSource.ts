// The load clients' send side: synthetic VP8-like and Opus-like RTP at a chosen bitrate, paced like an
// encoder, optionally as three simulcast layers (rid q, h, f) on one transceiver.
import {
  MediaStreamTrack,
  RtpHeader,
  RtpPacket,
  serializeSdesMid,
  serializeSdesRTPStreamID,
  useSdesMid,
  useSdesRTPStreamId,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
} from 'werift';
import { monoUs } from './monoUs.ts';

/** One simulcast layer of a synthetic video source. */
export interface SimulcastLayer {
  rid: string;
  /** Target media bitrate of this layer, bit/s. */
  bitrate: number;
  /** Resolution written into its keyframe headers. */
  width: number;
  height: number;
}

export interface VideoProfile {
  /** Target media bitrate of the payloads, bit/s (of the top layer with `layers`). */
  bitrate: number;
  fps: number;
  /** Payload bytes per packet (VP8 descriptor included); the last packet of a frame may be shorter. */
  packetSize: number;
  /** Simulcast: the layers, lowest first (the PC needs `clientPc({ simulcast: true })`). */
  layers?: readonly SimulcastLayer[] | undefined;
}

export interface AudioProfile {
  /** Packets per second (Opus 20 ms frames: 50). */
  pps: number;
  minSize: number;
  maxSize: number;
}

/** Smallest video payload: the VP8 descriptor and keyframe header (14 bytes) and the send time (8). */
const MIN_VIDEO_PACKET = 64;

export const VIDEO_1M: VideoProfile = { bitrate: 1_000_000, fps: 25, packetSize: 1100 };
export const VIDEO_500K: VideoProfile = { bitrate: 500_000, fps: 25, packetSize: 1100 };
export const AUDIO_OPUS: AudioProfile = { pps: 50, minSize: 60, maxSize: 120 };

/**
 * How a video frame of `bytes` (its share of the bitrate plus the previous frames' carry) goes out:
 * `count` packets of `size` bytes, and the bytes over or under for the next frame. A frame smaller
 * than one packet goes as one smaller packet, as an encoder's would (at full size a low simulcast
 * layer, q of a 500 kbit/s top at 62.5 kbit/s, sent 220 kbit/s, its carry running away).
 */
export function framePackets(
  bytes: number,
  packetSize: number,
): { count: number; size: number; carry: number } {
  const count = Math.max(1, Math.round(bytes / packetSize));
  const size = count === 1 ? Math.min(packetSize, Math.max(MIN_VIDEO_PACKET, Math.round(bytes))) : packetSize;
  return { count, size, carry: bytes - count * size };
}

/** Simulcast layers for a top layer of `bitrate` (quarter and half resolution, as browsers send). */
export function simulcastLayers(bitrate: number): SimulcastLayer[] {
  return [
    { rid: 'q', bitrate: Math.round(bitrate / 8), width: 320, height: 180 },
    { rid: 'h', bitrate: Math.round(bitrate / 3), width: 640, height: 360 },
    { rid: 'f', bitrate, width: 1280, height: 720 },
  ];
}

const GOP_MS = 3000;
const MIN_KEYFRAME_GAP_MS = 200;

/** One RTP stream of a source: the track itself, or one simulcast layer. */
interface Stream {
  seq: number;
  /** Bytes owed to the next frame (frames are whole packets). */
  carry: number;
  bitrate: number;
  width: number;
  height: number;
  /** Simulcast layers only: their own SSRC and rid, sent past werift's sender. */
  ssrc?: number;
  rid?: string;
}

export interface SourceOptions {
  /** First RTP sequence number of every stream (e.g. 65500: wraps at once); default random. */
  firstSeq?: number | undefined;
}

const random32 = (): number => Math.floor(Math.random() * 0xffffffff) >>> 0;

/**
 * A synthetic publisher track: frames paced drift-free from the start time, each frame's packets sent
 * back to back (as an encoder's burst). Video payloads start with a VP8 descriptor (15-bit picture id)
 * and, on keyframes, a VP8 keyframe header (640x360, or the layer's size) that SFUs parse; keyframes
 * every 3 s and on PLI. The last 8 payload bytes carry the send time (monotonic µs) for the latency
 * sample. Simulcast layers go out with their own SSRCs and mid + rid header extensions (werift's
 * sender cannot send simulcast), all layers' keyframes together.
 */
export class SyntheticSource {
  readonly track: MediaStreamTrack;
  /** RTP packets sent, all streams together. */
  sent = 0;
  #ts = Math.floor(Math.random() * 0x7fffffff);
  #frames = 0;
  #pictureId = Math.floor(Math.random() * 0x8000);
  #keyframeDue = true;
  #lastKeyframe = 0;
  #t0 = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #video: VideoProfile | undefined;
  readonly #audio: AudioProfile | undefined;
  readonly #streams: Stream[];
  /** Simulcast: where the layers go, known once the transceiver is negotiated (`watch`). */
  #layerOut: { dtls: RTCDtlsTransport; mid: string; midId: number; ridId: number } | undefined;

  constructor(kind: 'video', profile: VideoProfile, options?: SourceOptions);
  constructor(kind: 'audio', profile: AudioProfile, options?: SourceOptions);
  constructor(kind: 'audio' | 'video', profile: VideoProfile | AudioProfile, options: SourceOptions = {}) {
    this.track = new MediaStreamTrack({ kind });
    const seq = () =>
      options.firstSeq !== undefined ? options.firstSeq & 0xffff : Math.floor(Math.random() * 0x10000);
    if (kind === 'video') {
      const v = profile as VideoProfile;
      this.#video = v;
      this.#streams = v.layers?.length
        ? v.layers.map((l) => ({ ...l, seq: seq(), carry: 0, ssrc: random32() }))
        : [{ seq: seq(), carry: 0, bitrate: v.bitrate, width: 640, height: 360 }];
    } else {
      this.#audio = profile as AudioProfile;
      this.#streams = [{ seq: seq(), carry: 0, bitrate: 0, width: 0, height: 0 }];
    }
  }

  /** The rids to offer (`addTransceiver`'s sendEncodings); empty without simulcast. */
  get rids(): string[] {
    return this.#streams.flatMap((s) => (s.rid !== undefined ? [s.rid] : []));
  }

  /**
   * Keyframe requests (PLI) from the SFU, answered at the next frame (at most every 200 ms). Call once
   * the transceiver is negotiated (after setRemoteDescription).
   */
  watch(transceiver: RTCRtpTransceiver): void {
    transceiver.sender.onPictureLossIndication.subscribe(() => {
      this.#keyframeDue = true;
    });
    if (this.rids.length === 0) {
      return;
    }
    const ids = (uri: string) => transceiver.headerExtensions.find((e) => e.uri === uri)?.id;
    const midId = ids(useSdesMid().uri);
    const ridId = ids(useSdesRTPStreamId().uri);
    const dtls = transceiver.dtlsTransport;
    if (midId === undefined || ridId === undefined || transceiver.mid === null) {
      return; // the SFU refused the extensions: no simulcast (nothing is sent)
    }
    this.#layerOut = { dtls, mid: transceiver.mid, midId, ridId };
    const ssrcs = new Set(this.#streams.map((s) => s.ssrc));
    dtls.onRtcp.subscribe((p) => {
      const fb = (p as { type?: number; feedback?: { count?: number; mediaSsrc?: number } }).feedback;
      // PSFB (206) PLI (FMT 1) or FIR (FMT 4) for one of our layers.
      if (p.type === 206 && (fb?.count === 1 || fb?.count === 4) && ssrcs.has(fb.mediaSsrc)) {
        this.#keyframeDue = true;
      }
    });
  }

  start(): void {
    this.#t0 = performance.now();
    const fps = this.#video ? this.#video.fps : this.#audio!.pps;
    const tick = () => {
      const due = Math.floor(((performance.now() - this.#t0) * fps) / 1000);
      // After a long stall (a GC pause, a busy core) catch up at most one second of frames.
      if (due - this.#frames > fps) {
        this.#frames = due - fps;
      }
      while (this.#frames < due) {
        this.#frame();
      }
    };
    this.#timer = setInterval(tick, this.#video ? 5 : 10);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #frame(): void {
    this.#frames++;
    if (this.#audio) {
      const a = this.#audio;
      const size = a.minSize + Math.floor(Math.random() * (a.maxSize - a.minSize + 1));
      this.#send(this.#streams[0]!, Buffer.alloc(size, 0xfc), true);
      this.#ts = (this.#ts + 48000 / a.pps) >>> 0;
      return;
    }
    const v = this.#video!;
    const now = performance.now();
    if (now - this.#lastKeyframe >= GOP_MS) {
      this.#keyframeDue = true;
    }
    const key = this.#keyframeDue && now - this.#lastKeyframe >= MIN_KEYFRAME_GAP_MS;
    if (key) {
      this.#keyframeDue = false;
      this.#lastKeyframe = now;
    }
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    for (const s of this.#streams) {
      this.#videoFrame(s, v, key);
    }
    this.#ts = (this.#ts + 90000 / v.fps) >>> 0;
  }

  #videoFrame(s: Stream, v: VideoProfile, key: boolean): void {
    const { count, size, carry } = framePackets(s.bitrate / 8 / v.fps + s.carry, v.packetSize);
    s.carry = carry;
    for (let i = 0; i < count; i++) {
      const p = Buffer.alloc(size, 0x5a);
      // VP8 payload descriptor: X=1, S on the first packet, PID 0; I=1 with a 15-bit picture id.
      p[0] = i === 0 ? 0x90 : 0x80;
      p[1] = 0x80;
      p[2] = 0x80 | (this.#pictureId >> 8);
      p[3] = this.#pictureId & 0xff;
      if (i === 0) {
        // VP8 payload header: P=0 (key) / 1 (inter), version 0, show_frame 1.
        p[4] = key ? 0x10 : 0x11;
        p[5] = 0;
        p[6] = 0;
        if (key) {
          p[7] = 0x9d;
          p[8] = 0x01;
          p[9] = 0x2a;
          p.writeUInt16LE(s.width, 10);
          p.writeUInt16LE(s.height, 12);
        }
      }
      this.#send(s, p, i === count - 1);
    }
  }

  #send(s: Stream, payload: Buffer, marker: boolean): void {
    payload.writeDoubleBE(monoUs(), payload.length - 8);
    const header = new RtpHeader({
      payloadType: this.#video ? 96 : 111,
      sequenceNumber: s.seq,
      timestamp: this.#ts,
      marker,
    });
    s.seq = (s.seq + 1) & 0xffff;
    if (s.ssrc === undefined) {
      this.track.writeRtp(new RtpPacket(header, payload));
    } else {
      const out = this.#layerOut;
      if (!out || out.dtls.state !== 'connected') {
        return;
      }
      header.ssrc = s.ssrc;
      header.extension = true;
      header.extensions = [
        { id: out.midId, payload: serializeSdesMid(out.mid) },
        { id: out.ridId, payload: serializeSdesRTPStreamID(s.rid!) },
      ].sort((a, b) => a.id - b.id);
      void out.dtls.sendRtp(payload, header).catch(() => undefined);
    }
    this.sent++;
  }
}
