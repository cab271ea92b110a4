// The load clients' receive path: counts SRTP datagrams straight off the ICE socket from their
// plaintext RTP header (SRTP encrypts only the payload) instead of decrypting them: ~25 µs less
// client CPU per packet (reference/janus-baseline.md, rx=raw). One packet per subscriber every
// SAMPLE_MS is decrypted anyway, to read the send time the publisher wrote into the payload's last
// 8 bytes: that gives the one-way latency publisher → SFU → subscriber. A counter with `onKeyframe`
// also decrypts every packet until the first VP8 keyframe starts.
import { RTCDtlsTransport, type RTCPeerConnection } from 'werift';
import { RtpView } from '../media/RtpView.ts';
import { newVp8Info, parseVp8 } from '../media/vp8.ts';
import { monoUs } from './monoUs.ts';

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
