import { parse } from 'sdp-transform';
import type { RTCDtlsTransport, RTCIceCandidateInit, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { CandidateQueue } from './candidates.ts';
import { assertValidOffer, sdpLimits } from './sdpCheck.ts';
import { Receiver } from './Receiver.ts';
import { Dynacast } from './Dynacast.ts';
import { Router } from './Router.ts';
import {
  createPeerConnection,
  extensionId,
  EXT_AUDIO_LEVEL,
  EXT_MID,
  EXT_REPAIRED_RID,
  EXT_RID,
} from './werift.ts';
import { Ingress, type IngressRoute, type IngressSink, type IngressStats } from './Ingress.ts';
import type { RtpView } from './RtpView.ts';
import { withStartBitrate } from './startBitrate.ts';
import { withOpusFec } from './fmtp.ts';
import type { MediaOptions, SignalSink } from './types.ts';
import { SwitchboardError } from '../util/errors.ts';

/** Payload types of each m-line in the offerer's order of preference, by mid. */
function payloadOrder(sdp: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of parse(sdp).media) {
    if (m.mid !== undefined && typeof m.payloads === 'string') {
      out.set(String(m.mid), m.payloads.split(' ').map(Number));
    }
  }
  return out;
}

/**
 * The publisher PC of a peer (ion-sfu target 0): the client offers, we answer. Each new incoming
 * track becomes a Receiver in the Router; a track the client stops sending closes its Receiver.
 * Its media arrives through our Ingress, which asks `route` where a new SSRC belongs.
 */
export class Publisher implements IngressSink {
  readonly pc: RTCPeerConnection;
  readonly router: Router;
  readonly #peerId: string;
  readonly #opts: MediaOptions;
  readonly #candidates: CandidateQueue;
  readonly #known = new Map<RTCRtpTransceiver, Receiver>();
  readonly #onAudioLevel: (streamId: string, level: number) => void;
  readonly #sink: SignalSink;
  readonly #ingresses = new Map<RTCDtlsTransport, Ingress>();

  constructor(
    peerId: string,
    opts: MediaOptions,
    sink: SignalSink,
    onAudioLevel: (s: string, l: number) => void,
  ) {
    this.#peerId = peerId;
    this.#opts = opts;
    this.#onAudioLevel = onAudioLevel;
    this.#sink = sink;
    this.pc = createPeerConnection('publisher', opts);
    this.router = new Router(opts.maxBandwidthKbps, () => this.pc.dtlsTransports[0]);
    this.#candidates = new CandidateQueue(this.pc, sdpLimits(opts).maxCandidates);
    this.pc.onIceCandidate.subscribe((c) => {
      if (c) {
        sink('trickle', { candidate: c.toJSON(), target: 0 });
      }
    });
  }

  /** Applies a client offer (join or renegotiation) and returns our answer SDP. */
  async answer(sdp: string): Promise<string> {
    if (this.pc.signalingState !== 'stable') {
      throw new SwitchboardError('negotiation', 'offered ignored');
    }
    const known = new Set<string>();
    for (const t of this.pc.getTransceivers()) {
      if (t.mid) {
        known.add(t.mid);
      }
    }
    const sctpMid = this.pc.sctpTransport?.mid;
    if (sctpMid) {
      known.add(sctpMid);
    }
    assertValidOffer(sdp, sdpLimits(this.#opts), known);
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    const order = payloadOrder(sdp);
    for (const t of this.pc.getTransceivers()) {
      // One codec per m-line, the publisher's first choice (werift would answer in its own config
      // order): subscribers are then offered exactly the codec the publisher sends.
      if (t.kind === 'application' || this.#known.has(t) || t.codecs.length <= 1) {
        continue;
      }
      const pts = (t.mid ? order.get(t.mid) : undefined) ?? [];
      const first = pts.map((pt) => t.codecs.find((c) => c.payloadType === pt)).find((c) => c !== undefined);
      t.setCodecPreferences([first ?? t.codecs[0]!]);
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await this.#candidates.flush();
    this.#syncReceivers();
    for (const dtls of this.pc.dtlsTransports) {
      if (!this.#ingresses.has(dtls)) {
        this.#ingresses.set(dtls, new Ingress(dtls, this));
      }
    }
    const start = this.#opts.startBitrateKbps ?? 0;
    const cap = this.#opts.maxBandwidthKbps;
    return withOpusFec(
      withStartBitrate(this.pc.localDescription!.sdp, cap > 0 ? Math.min(start, cap) : start),
    );
  }

  addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    return this.#candidates.add(c);
  }

  /** Ingress statistics summed over this PC's transports. */
  get ingress(): IngressStats {
    const sum = { packets: 0, dropped: 0, unrouted: 0, nacksSent: 0 };
    for (const i of this.#ingresses.values()) {
      sum.packets += i.stats.packets;
      sum.dropped += i.stats.dropped;
      sum.unrouted += i.stats.unrouted;
      sum.nacksSent += i.stats.nacksSent;
    }
    return sum;
  }

  /**
   * IngressSink: the Receiver layer of a new SSRC, from its mid and rid header extensions (RFC 8843,
   * RFC 8852), or without a mid from the payload type (each m-line has its own codec). Retransmissions
   * on a repaired-rid stream (RTX) are not ours: we never negotiate RTX with publishers.
   */
  route(p: RtpView): IngressRoute | undefined {
    const first = this.#known.keys().next().value;
    if (!first) {
      return undefined;
    }
    const midId = extensionId(first, EXT_MID);
    const mid = midId > 0 ? p.extensionString(midId) : undefined;
    let receiver: Receiver | undefined;
    for (const [t, r] of this.#known) {
      if (mid !== undefined ? t.mid === mid : r.codec.payloadType === p.payloadType) {
        receiver = r;
        break;
      }
    }
    if (!receiver || receiver.codec.payloadType !== p.payloadType) {
      return undefined;
    }
    const t = receiver.transceiver;
    if (p.extension(extensionId(t, EXT_REPAIRED_RID)) >= 0) {
      return undefined;
    }
    const ridId = extensionId(t, EXT_RID);
    const layer = receiver.layerFor(ridId > 0 ? p.extensionString(ridId) : undefined);
    return layer ? { receiver, layer } : undefined;
  }

  close(): void {
    for (const i of this.#ingresses.values()) {
      i.close(); // kept: their counters still add up in `ingress`
    }
    this.router.close();
    this.#known.clear();
    void this.pc.close().catch(() => undefined);
  }

  #syncReceivers(): void {
    for (const t of this.pc.getTransceivers()) {
      if (t.kind === 'application') {
        continue;
      }
      const receiving =
        (t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv') && !t.stopped;
      const existing = this.#known.get(t);
      if (existing && !receiving) {
        existing.close();
        this.#known.delete(t);
      } else if (!existing && receiving) {
        const codec = t.codecs[0];
        const rids = Object.keys(t.receiver.trackByRID);
        const track = t.receiver.track;
        if (!codec || !track) {
          continue;
        }
        const r = new Receiver({
          peerId: this.#peerId,
          rids: rids.length > 0 ? rids : [''],
          transceiver: t,
          codec,
          streamId: t.receiver.remoteStreamId ?? this.#peerId,
          trackId: t.receiver.remoteTrackId ?? track.id ?? `${this.#peerId}-${t.mid}`,
          cacheSize: this.#opts.maxPacketTrack,
          audioLevelExtId: t.kind === 'audio' ? extensionId(t, EXT_AUDIO_LEVEL) : 0,
          onAudioLevel: this.#onAudioLevel,
        });
        if (r.simulcast) {
          new Dynacast(r, this.#sink);
        }
        this.#known.set(t, r);
        this.router.addReceiver(r);
      }
    }
  }
}
