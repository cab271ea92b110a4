import {
  GenericNack,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  type RTCDtlsTransport,
} from 'werift';
import type { Layer, Receiver } from './Receiver.ts';
import { ReceiveStream } from './ReceiveStream.ts';
import { RtpView } from './RtpView.ts';
import { createUnprotector, SrtpReplay, type Unprotector } from './srtp/index.ts';
import { attachIngress, srtpKeysOf } from './werift.ts';
import { logger } from '../util/logger.ts';

/** Where the packets of one SSRC go. */
export interface IngressRoute {
  readonly receiver: Receiver;
  readonly layer: Layer;
}

/** The publisher side of an ingress: which Receiver layer a new SSRC belongs to (mid / rid / payload type). */
export interface IngressSink {
  route(packet: RtpView): IngressRoute | undefined;
}

/** Authenticated SSRCs kept per transport: a browser sends a few per track (layers, RTX). */
const MAX_STREAMS = 64;
const RR_INTERVAL_MS = 1000;
const NACK_TICK_MS = 20;

export interface IngressStats {
  packets: number;
  /** Failed authentication, replayed, too old, malformed or beyond MAX_STREAMS. */
  dropped: number;
  /** Authenticated but belonging to no Receiver (yet). */
  unrouted: number;
  nacksSent: number;
}

interface Stream {
  readonly replay: SrtpReplay;
  /** Reception statistics and NACKs, once the stream is routed (they need its clock rate and kind). */
  rx: ReceiveStream | undefined;
  route: IngressRoute | undefined;
}

/**
 * Our receive path for one publisher transport (werift keeps ICE, DTLS, SCTP and SRTCP): each SRTP
 * datagram is authenticated and decrypted in place with the transport's remote session keys (native
 * OpenSSL contexts, else TypeScript), checked against its stream's replay list, parsed into one
 * reused RtpView and handed to its Receiver layer, found once per SSRC through the sink. It also
 * speaks for the SFU toward the publisher: receiver reports (reception statistics, LSR/DLSR from the
 * publisher's sender reports) and generic NACKs for packets lost on the way in. Keyframe requests
 * (Receiver) and REMB (Router) go out on the same transport.
 */
export class Ingress {
  readonly stats: IngressStats = { packets: 0, dropped: 0, unrouted: 0, nacksSent: 0 };
  readonly #dtls: RTCDtlsTransport;
  readonly #sink: IngressSink;
  readonly #streams = new Map<number, Stream>();
  readonly #view = new RtpView();
  readonly #rtcpSsrc = (Math.random() * 0xffffffff) >>> 0;
  /** Started with the first routed stream: a client that publishes nothing costs no timer. */
  #rrTimer: NodeJS.Timeout | undefined;
  readonly #detach: () => void;
  readonly #unsubscribe: () => void;
  #nackTimer: NodeJS.Timeout | undefined;
  #stamp: object | undefined;
  #unprotector: Unprotector | undefined;
  #closed = false;

  constructor(dtls: RTCDtlsTransport, sink: IngressSink) {
    this.#dtls = dtls;
    this.#sink = sink;
    this.#detach = attachIngress(dtls, (data) => this.receive(data));
    this.#unsubscribe = dtls.onRtcp.subscribe((p) => {
      if (p instanceof RtcpSrPacket) {
        this.#onSenderReport(p);
      }
    }).unSubscribe;
  }

  /** One SRTP datagram (never SRTCP) from the publisher: the buffer is ours to decrypt in place and keep. */
  receive(data: Buffer): void {
    if (this.#closed) {
      return;
    }
    const dtls = this.#dtls;
    dtls.bytesReceived += data.length;
    dtls.packetsReceived++;
    const unprotector = this.#keys();
    const view = this.#view;
    if (!unprotector || !view.parseHeader(data, data.length)) {
      this.stats.dropped++;
      return;
    }
    const ssrc = view.ssrc;
    const stream = this.#streams.get(ssrc);
    const index = stream ? stream.replay.estimate(view.seq) : view.seq;
    if (index < 0) {
      this.stats.dropped++; // replayed or older than the replay window
      return;
    }
    const hdr = view.headerLength;
    const plen = unprotector.unprotect(data, 0, data.length, hdr, Math.floor(index / 65536));
    if (plen < 0 || !view.setLength(hdr + plen)) {
      this.stats.dropped++;
      return;
    }
    const now = Date.now();
    let s = stream;
    if (!s) {
      if (this.#streams.size >= MAX_STREAMS) {
        this.stats.dropped++;
        return;
      }
      s = { replay: new SrtpReplay(), rx: undefined, route: undefined };
      this.#streams.set(ssrc, s);
    }
    s.replay.commit(index);
    this.stats.packets++;
    let route = s.route;
    let rx = s.rx;
    if (!route || !rx || route.receiver.closed) {
      route = s.route = this.#sink.route(view);
      if (!route) {
        this.stats.unrouted++;
        return;
      }
      const r = route.receiver;
      rx = s.rx = new ReceiveStream(ssrc, r.codec.clockRate, r.kind === 'video');
      if (this.#rrTimer === undefined) {
        this.#rrTimer = setInterval(() => this.#sendReports(), RR_INTERVAL_MS);
        this.#rrTimer.unref();
      }
    }
    rx.received(index, view.timestamp, now);
    if (rx.pendingNacks > 0 && this.#nackTimer === undefined) {
      this.#nackTimer = setTimeout(() => this.#sendNacks(), 0);
    }
    route.receiver.receive(route.layer, view, now);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#rrTimer);
    clearTimeout(this.#nackTimer);
    this.#detach();
    this.#unsubscribe();
    this.#streams.clear();
  }

  /** The unprotector for the transport's current SRTP session (a DTLS restart brings new keys). */
  #keys(): Unprotector | undefined {
    const session = this.#dtls.srtp as object | undefined;
    if (session === undefined || !this.#dtls.srtpStarted) {
      return undefined;
    }
    if (session !== this.#stamp) {
      this.#stamp = session;
      this.#unprotector = createUnprotector(srtpKeysOf(this.#dtls, 'remote'));
      this.#streams.clear(); // new keys, new indexes
    }
    return this.#unprotector;
  }

  #onSenderReport(p: RtcpSrPacket): void {
    const s = this.#streams.get(p.ssrc);
    if (!s) {
      return;
    }
    s.rx?.senderReport(p.senderInfo.ntpTimestamp, Date.now());
    s.route?.receiver.senderReport(s.route.layer, p);
  }

  #sendNacks(): void {
    this.#nackTimer = undefined;
    if (this.#closed) {
      return;
    }
    const now = Date.now();
    const packets: RtcpTransportLayerFeedback[] = [];
    let pending = false;
    for (const { rx, route } of this.#streams.values()) {
      if (!rx || rx.pendingNacks === 0) {
        continue;
      }
      const lost = rx.nacks(now);
      if (route) {
        route.layer.nacks += lost.length;
      }
      pending ||= rx.pendingNacks > 0;
      if (lost.length > 0) {
        packets.push(
          new RtcpTransportLayerFeedback({
            feedback: new GenericNack({ senderSsrc: this.#rtcpSsrc, mediaSourceSsrc: rx.ssrc, lost }),
          }),
        );
        this.stats.nacksSent += lost.length;
      }
    }
    if (packets.length > 0) {
      this.#send(packets);
    }
    if (pending) {
      this.#nackTimer = setTimeout(() => this.#sendNacks(), NACK_TICK_MS);
    }
  }

  #sendReports(): void {
    const now = Date.now();
    const reports = [];
    for (const s of this.#streams.values()) {
      const r = s.rx?.report(now);
      if (r) {
        reports.push(r);
        if (s.route) {
          s.route.layer.packetsLost = r.packetsLost;
          s.route.layer.jitter = (r.jitter * 1000) / s.route.receiver.codec.clockRate;
        }
      }
    }
    // An RR holds 31 report blocks at most (5-bit count).
    for (let i = 0; i < reports.length; i += 31) {
      this.#send([new RtcpRrPacket({ ssrc: this.#rtcpSsrc, reports: reports.slice(i, i + 31) })]);
    }
  }

  #send(packets: (RtcpRrPacket | RtcpTransportLayerFeedback)[]): void {
    if (this.#dtls.state !== 'connected') {
      return;
    }
    this.#dtls.sendRtcp(packets).catch((err: unknown) => logger.debug({ err }, 'RTCP send failed'));
  }
}
