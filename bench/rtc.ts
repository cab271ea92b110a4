// The load client's WebRTC side (werift): peer connections bound to the bench's client address,
// synthetic VP8-like / Opus-like RTP sources, and a receive path that counts SRTP datagrams straight
// off the ICE socket from their plaintext RTP header (SRTP encrypts only the payload) instead of
// decrypting them: ~25 µs less client CPU per packet (reference/janus-baseline.md, rx=raw). One
// packet per subscriber every SAMPLE_MS is decrypted anyway, to read the send time the publisher wrote
// into the payload's last 8 bytes: that gives the one-way latency publisher → SFU → subscriber.
// A subscriber whose join is measured also decrypts every packet until the first VP8 keyframe starts.
import {
  Connection,
  MediaStreamTrack,
  RTCDtlsTransport,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  StunProtocol,
  useFIR,
  useNACK,
  usePLI,
  useSdesMid,
  type RTCRtpTransceiver,
} from 'werift';
import { RtpView } from '../src/media/RtpView.ts';
import { newVp8Info, parseVp8 } from '../src/media/vp8.ts';
import { CLIENT_IP } from './system.ts';

/** Microseconds on CLOCK_MONOTONIC: the same clock in every process of the machine. */
export const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

// werift queries stun.l.google.com when no STUN server is configured; the bench namespace has no
// route out and must not have one, so skip server-reflexive gathering (as src/media/werift.ts does).
const gather = (Connection.prototype as any).gatherCandidates as (...a: unknown[]) => Promise<unknown>;
(Connection.prototype as any).gatherCandidates = function (this: any, ...args: unknown[]) {
  this.stunServer = undefined;
  return gather.apply(this, args);
};

// ICE consent (RFC 7675): werift waits max(500 ms, 2·RTT + 200 ms) for each answer, without
// retransmitting, and fails the connection after 30 s without one. Browsers retransmit and accept
// answers seconds late, so a load client this strict hangs up on a busy SFU that a browser would stay
// with (seen: a publisher dropped during a join burst at ~250 subscribers). Wait up to 4 s (werift
// aborts the previous check when it sends the next one, every 4–6 s): a slow SFU then shows up as
// latency and loss, not as its publisher leaving.
const stunRequest = (StunProtocol.prototype as any).request as (...a: unknown[]) => Promise<unknown>;
(StunProtocol.prototype as any).request = function (this: unknown, ...args: unknown[]) {
  const o = args[3] as { retransmissions?: number; responseTimeout?: number } | undefined;
  if (o && typeof o === 'object' && o.retransmissions === 0 && typeof o.responseTimeout === 'number') {
    args[3] = { ...o, responseTimeout: Math.max(o.responseTimeout, 4000) };
  }
  return stunRequest.apply(this, args);
};

export function clientPc(publisher: boolean): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: {
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48000,
          channels: 2,
          payloadType: 111,
        }),
      ],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90000,
          payloadType: 96,
          rtcpFeedback: [useNACK(), usePLI(), useFIR()],
        }),
      ],
    },
    // Publishers send mid (BUNDLE demux by mid, as browsers do); subscribers negotiate no extensions.
    headerExtensions: publisher ? { audio: [useSdesMid()], video: [useSdesMid()] } : { audio: [], video: [] },
    iceInterfaceAddresses: { udp4: CLIENT_IP },
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
}

// ------------------------------------------------------------------ receive side

const SAMPLE_MS = 250;

/** Sequence accounting of one received SSRC. */
class StreamCount {
  base = -1;
  maxExt = -1;
  received = 0;
  bytes = 0;
  /** Snapshot at the start of the current window. */
  winExpected = 0;
  winReceived = 0;

  add(seq: number, bytes: number): void {
    this.received++;
    this.bytes += bytes;
    if (this.base < 0) {
      this.base = seq;
      this.maxExt = seq;
      return;
    }
    // Extend to 32 bits around the highest seen so far (RFC 3550 A.1, without probation).
    const cycles = this.maxExt & ~0xffff;
    let ext = cycles | seq;
    const d = ext - this.maxExt;
    if (d < -0x8000) {
      ext += 0x10000;
    } else if (d > 0x8000) {
      ext -= 0x10000;
    }
    if (ext > this.maxExt) {
      this.maxExt = ext;
    }
  }

  get expected(): number {
    return this.base < 0 ? 0 : this.maxExt - this.base + 1;
  }
}

// Reused by every keyframe check (nothing keeps them past the call).
const rtp = new RtpView();
const vp8 = newVp8Info();

/** Counters of one subscribing client (all SSRCs it receives on one or more transports). */
export class RxCounter {
  readonly streams = new Map<number, StreamCount>();
  /** Monotonic µs of the first RTP datagram, 0 until then. */
  firstPacketUs = 0;
  /** Monotonic µs of the first packet of a VP8 keyframe, 0 until then (looked for with `onKeyframe`). */
  firstKeyframeUs = 0;
  /**
   * Called once with `firstKeyframeUs`. Janus forwards to a new subscriber at once, Switchboard from a
   * keyframe: this, not the first packet, is when a viewer can decode. Until it comes every datagram is
   * decrypted, so only counters that measure a join set it (never an audio-only participant's).
   */
  onKeyframe: ((us: number) => void) | undefined;
  #lastSample = 0;
  readonly latencies: number[];

  constructor(latencies: number[]) {
    this.latencies = latencies;
  }

  onDatagram(buf: Buffer, dtls: RTCDtlsTransport): void {
    if (buf.length < 12) {
      return;
    }
    const ssrc = buf.readUInt32BE(8);
    let s = this.streams.get(ssrc);
    if (!s) {
      s = new StreamCount();
      this.streams.set(ssrc, s);
    }
    s.add(buf.readUInt16BE(2), buf.length);
    const now = performance.now();
    if (this.firstPacketUs === 0) {
      this.firstPacketUs = monoUs();
      this.#lastSample = now;
    } else if (now - this.#lastSample >= SAMPLE_MS && (buf[0]! & 0x20) === 0) {
      this.#lastSample = now;
      try {
        const plain = dtls.srtp.decrypt(buf);
        const sent = plain.readDoubleBE(plain.length - 8);
        const d = monoUs() - sent;
        if (d >= 0 && d < 10_000_000) {
          this.latencies.push(d);
        }
      } catch {
        // not one of ours (or the context is not ready yet)
      }
    }
    if (this.onKeyframe && this.firstKeyframeUs === 0) {
      this.#findKeyframe(buf, dtls);
    }
  }

  #findKeyframe(buf: Buffer, dtls: RTCDtlsTransport): void {
    const at = monoUs(); // when it arrived, not when decrypted
    let plain: Buffer;
    try {
      plain = dtls.srtp.decrypt(buf);
    } catch {
      return; // not one of ours (or the context is not ready yet)
    }
    // The synthetic Opus payloads (0xfc bytes) never parse as the start of a VP8 keyframe.
    if (
      rtp.parseHeader(plain, plain.length) &&
      rtp.setLength(plain.length) &&
      parseVp8(plain, rtp.headerLength, rtp.payloadEnd, vp8).keyframe &&
      vp8.width > 0
    ) {
      this.firstKeyframeUs = at;
      this.onKeyframe?.(at);
    }
  }

  /** Starts a measurement window: remembers where every stream is now. */
  mark(): void {
    for (const s of this.streams.values()) {
      s.winExpected = s.expected;
      s.winReceived = s.received;
    }
  }
}

const rawSinks = new WeakMap<RTCDtlsTransport, RxCounter>();

// rx=raw: DTLS transports marked with markRaw() count SRTP datagrams instead of decrypting them
// (RTCP from the server is dropped: a counting subscriber has nothing to do with it).
const startSrtp = (RTCDtlsTransport.prototype as any).startSrtp as (this: any) => void;
(RTCDtlsTransport.prototype as any).startSrtp = function (this: any) {
  const counter = rawSinks.get(this as RTCDtlsTransport);
  if (!counter) {
    startSrtp.call(this);
    return;
  }
  if (this.srtpStarted) {
    return;
  }
  this.srtpStarted = true;
  this.updateSrtpSession();
  const dtls = this as RTCDtlsTransport;
  // Take RTP/RTCP off the UDP socket before werift's STUN parse and event chain (about half the
  // client's cost per packet); STUN (consent) and DTLS (data channels) still go to werift.
  for (const protocol of this.iceTransport.connection.protocols as any[]) {
    const udp = protocol.transport;
    if (!udp || udp.sbRaw) {
      continue;
    }
    udp.sbRaw = true;
    const werift = udp.onData as (data: Buffer, addr: unknown) => void;
    udp.onData = (data: Buffer, addr: unknown) => {
      const b0 = data[0]!;
      if (b0 < 128 || b0 > 191) {
        werift(data, addr);
      } else if (data[1]! < 192 || data[1]! > 223) {
        counter.onDatagram(data, dtls); // RTP (RTCP from the server is dropped)
      }
    };
  }
};

/** Count (not decrypt) the RTP arriving on `pc`'s transports; call after setRemoteDescription. */
export function markRaw(pc: RTCPeerConnection, counter: RxCounter): void {
  for (const t of pc.dtlsTransports) {
    rawSinks.set(t, counter);
  }
}

// ------------------------------------------------------------------ send side

export interface VideoProfile {
  /** Target media bitrate of the payloads, bit/s. */
  bitrate: number;
  fps: number;
  /** Payload bytes per packet (VP8 descriptor included); the last packet of a frame may be shorter. */
  packetSize: number;
}

export interface AudioProfile {
  /** Packets per second (Opus 20 ms frames: 50). */
  pps: number;
  minSize: number;
  maxSize: number;
}

export const VIDEO_1M: VideoProfile = { bitrate: 1_000_000, fps: 25, packetSize: 1100 };
export const VIDEO_500K: VideoProfile = { bitrate: 500_000, fps: 25, packetSize: 1100 };
export const AUDIO_OPUS: AudioProfile = { pps: 50, minSize: 60, maxSize: 120 };

const GOP_MS = 3000;
const MIN_KEYFRAME_GAP_MS = 200;

/**
 * A synthetic publisher track: frames paced drift-free from the start time, each frame's packets sent
 * back to back (as an encoder's burst). Video payloads start with a VP8 descriptor (15-bit picture id)
 * and, on keyframes, a VP8 keyframe header (640x360) that SFUs parse; keyframes every 3 s and on PLI.
 * The last 8 payload bytes carry the send time (monotonic µs) for the latency sample.
 */
export class SyntheticSource {
  readonly track: MediaStreamTrack;
  sent = 0;
  // BENCH_PUBLISHER_SEQ=n starts every source at sequence number n (e.g. 65500: wraps at once).
  #seq = process.env.BENCH_PUBLISHER_SEQ
    ? Number(process.env.BENCH_PUBLISHER_SEQ) & 0xffff
    : Math.floor(Math.random() * 0x10000);
  #ts = Math.floor(Math.random() * 0x7fffffff);
  #frames = 0;
  #carry = 0;
  #pictureId = Math.floor(Math.random() * 0x8000);
  #keyframeDue = true;
  #lastKeyframe = 0;
  #t0 = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #video: VideoProfile | undefined;
  readonly #audio: AudioProfile | undefined;

  constructor(kind: 'video', profile: VideoProfile);
  constructor(kind: 'audio', profile: AudioProfile);
  constructor(kind: 'audio' | 'video', profile: VideoProfile | AudioProfile) {
    this.track = new MediaStreamTrack({ kind });
    if (kind === 'video') {
      this.#video = profile as VideoProfile;
    } else {
      this.#audio = profile as AudioProfile;
    }
  }

  /** Keyframe requests (PLI) from the SFU, answered at the next frame (at most every 200 ms). */
  watch(transceiver: RTCRtpTransceiver): void {
    transceiver.sender.onPictureLossIndication.subscribe(() => {
      this.#keyframeDue = true;
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
      this.#send(Buffer.alloc(size, 0xfc), true);
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
    const bytes = v.bitrate / 8 / v.fps + this.#carry;
    const count = Math.max(1, Math.round(bytes / v.packetSize));
    this.#carry = bytes - count * v.packetSize;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    for (let i = 0; i < count; i++) {
      const p = Buffer.alloc(v.packetSize, 0x5a);
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
          p.writeUInt16LE(640, 10);
          p.writeUInt16LE(360, 12);
        }
      }
      this.#send(p, i === count - 1);
    }
    this.#ts = (this.#ts + 90000 / v.fps) >>> 0;
  }

  #send(payload: Buffer, marker: boolean): void {
    payload.writeDoubleBE(monoUs(), payload.length - 8);
    const header = new RtpHeader({
      payloadType: this.#video ? 96 : 111,
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      marker,
    });
    this.#seq = (this.#seq + 1) & 0xffff;
    this.track.writeRtp(new RtpPacket(header, payload));
    this.sent++;
  }
}
