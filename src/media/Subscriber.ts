import type {
  RTCDataChannel,
  RTCIceCandidateInit,
  RTCPeerConnection,
  RTCRtpTransceiver,
  RTCRtpCodecParameters,
  RtcpSrPacket,
} from 'werift';
import { CandidateQueue } from './candidates.ts';
import { DownTrack, LAYER_NAMES, type SendContinuation } from './DownTrack.ts';
import type { Receiver } from './Receiver.ts';
import { assertValidAnswer, assertValidOffer, sdpLimits, type SdpLimits } from './sdpCheck.ts';
import { createPeerConnection } from './werift.ts';
import type { ChannelSpec } from './DataPolicy.ts';
import type { MediaOptions, SignalSink } from './types.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

/** ion-sfu debounces server offers by 250 ms so a burst of new tracks becomes one renegotiation. */
export const NEGOTIATION_DEBOUNCE_MS = 250;
/**
 * But the first offer after a quiet spell (a client joining a room with tracks in it) goes out
 * after this short delay, which still gathers the tracks added in the same burst: the full
 * debounce was most of a new subscriber's time to first packet.
 */
const FIRST_OFFER_DELAY_MS = 20;
const SENDER_REPORT_INTERVAL_MS = 1000;
/** How often simulcast layers are re-picked from the subscriber's estimate and loss. */
const ALLOCATE_INTERVAL_MS = 500;
/** Audio is never cut for video: each audio track keeps this much of the estimate. */
const AUDIO_RESERVE_BPS = 64_000;
export const API_CHANNEL = 'ion-sfu';

export interface SubscriberHooks {
  /** A message on the `ion-sfu` channel. */
  onApiMessage(data: string): void;
  /** A message from this client on a fanned-out channel. */
  onChannelMessage(label: string, data: string | Buffer): void;
  onDownTrackClose(dt: DownTrack): void;
}

/**
 * The subscriber PC of a peer (ion-sfu target 1): we offer, the client answers. Holds one DownTrack
 * per forwarded track, the server-created `ion-sfu` data channel and the fanned-out channels.
 * Offers are debounced, and a new offer waits while an answer is pending.
 *
 * **Answering** (a WHEP viewer): the client offers its recvonly m-lines once (`answerOffer`) and
 * nothing is renegotiated. Each m-line is a slot that carries one track of its kind at a time: a
 * track takes a free slot, and when it ends the slot takes the next one, the stream continuing
 * (DownTrack's SendContinuation). No data channels.
 */
export class Subscriber {
  readonly pc: RTCPeerConnection;
  readonly #sink: SignalSink;
  readonly #hooks: SubscriberHooks;
  readonly #candidates: CandidateQueue;
  readonly #downTracks = new Map<Receiver, DownTrack>();
  readonly #channels = new Map<string, RTCDataChannel>();
  /** Labels of the channels opened from the start (openChannel). */
  readonly #fixed = new Set<string>();
  readonly #api: RTCDataChannel | undefined;
  /** Answering: the client's m-lines, and the DownTrack each carries now (undefined: free). */
  readonly #slots = new Map<RTCRtpTransceiver, DownTrack | undefined>();
  /** Answering: where each slot's last stream left off. */
  readonly #handOvers = new Map<RTCRtpTransceiver, SendContinuation>();
  readonly #answering: boolean;
  readonly #srTimer: NodeJS.Timeout;
  readonly #allocTimer: NodeJS.Timeout;
  readonly #bestQualityFirst: boolean;
  readonly #limits: SdpLimits;
  /** The subscriber's latest REMB, bps; Infinity until one arrives. */
  #estimate = Infinity;
  /** Its last change was a decrease: the subscriber's over-use detector fired. */
  #estimateFalling = false;
  #negotiateTimer: NodeJS.Timeout | undefined;
  /** The pending offer timer is the short one (FIRST_OFFER_DELAY_MS). */
  #quickOffer = false;
  #lastOfferMs = 0;
  #awaitingAnswer = false;
  #renegotiate = false;
  #closed = false;

  constructor(opts: MediaOptions, sink: SignalSink, hooks: SubscriberHooks, answering = false) {
    this.#sink = sink;
    this.#hooks = hooks;
    this.#answering = answering;
    this.pc = createPeerConnection('subscriber', opts);
    this.#limits = sdpLimits(opts);
    this.#candidates = new CandidateQueue(this.pc, this.#limits.maxCandidates);
    this.pc.onIceCandidate.subscribe((c) => {
      if (c) {
        sink('trickle', { candidate: c.toJSON(), target: 1 });
      }
    });
    // ion-sdk-js's join() resolves only when this channel arrives, so it exists from the start.
    this.#api = answering ? undefined : this.pc.createDataChannel(API_CHANNEL);
    this.#api?.onMessage.subscribe((m) => hooks.onApiMessage(typeof m === 'string' ? m : m.toString('utf8')));
    this.#srTimer = setInterval(() => this.#sendReports(), SENDER_REPORT_INTERVAL_MS);
    this.#srTimer.unref();
    this.#bestQualityFirst = opts.bestQualityFirst;
    this.#allocTimer = setInterval(() => this.allocate(), ALLOCATE_INTERVAL_MS);
    this.#allocTimer.unref();
  }

  /** It answers the client's one offer (a WHEP viewer) instead of offering. */
  get answering(): boolean {
    return this.#answering;
  }

  /** The subscriber's bandwidth estimate (REMB), bps; Infinity until it sends one. */
  get estimate(): number {
    return this.#estimate;
  }

  /** Splits the estimate over the simulcast video tracks and lets each pick its layer. */
  allocate(): void {
    if (this.#closed) {
      return;
    }
    const simulcast: DownTrack[] = [];
    let fixed = 0;
    for (const dt of this.#downTracks.values()) {
      if (dt.muted) {
        continue;
      }
      if (dt.kind === 'audio') {
        fixed += AUDIO_RESERVE_BPS;
      } else if (dt.receiver.simulcast) {
        simulcast.push(dt);
      } else {
        fixed += dt.bitrate;
      }
    }
    const share = simulcast.length > 0 ? Math.max(0, this.#estimate - fixed) / simulcast.length : 0;
    const now = Date.now();
    for (const dt of simulcast) {
      dt.allocate(share, this.#estimateFalling, now, this.#bestQualityFirst);
    }
  }

  get downTracks(): IterableIterator<DownTrack> {
    return this.#downTracks.values();
  }

  /** The DownTrack forwarding `receiver` here, if any. */
  downTrackOf(receiver: Receiver): DownTrack | undefined {
    return this.#downTracks.get(receiver);
  }

  /**
   * Answering: answers the client's offer, every audio and video m-line sendonly and in stream
   * `streamId` (one stream whatever its sources: a player shows `event.streams[0]`). Tracks take
   * the m-lines as slots afterwards (`addDownTrack`).
   */
  async answerOffer(sdp: string, streamId: string): Promise<string> {
    if (!this.#answering || this.pc.signalingState !== 'stable' || this.#slots.size > 0) {
      throw new SwitchboardError('invalid-state', 'this subscriber does not take an offer');
    }
    assertValidOffer(sdp, this.#limits, new Set());
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    for (const t of this.pc.getTransceivers()) {
      if (t.kind === 'audio' || t.kind === 'video') {
        t.setDirection('sendonly');
        t.sender.streamIds = [streamId];
        (t.sender as { trackId: string }).trackId = `${t.kind}-${t.mid ?? this.#slots.size}`;
        this.#slots.set(t, undefined);
      }
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await this.#candidates.flush();
    return this.pc.localDescription!.sdp;
  }

  /** Starts forwarding `receiver` to this subscriber; the stream keeps the publisher's msid. */
  addDownTrack(receiver: Receiver): DownTrack | undefined {
    if (this.#closed || this.#downTracks.has(receiver)) {
      return undefined;
    }
    if (this.#answering) {
      return this.#fillSlot(receiver);
    }
    const t = this.pc.addTransceiver(receiver.kind, { direction: 'sendonly' });
    t.sender.streamIds = [receiver.streamId];
    (t.sender as { trackId: string }).trackId = receiver.trackId;
    const codec = this.#matchCodec(receiver.codec);
    if (codec) {
      t.setCodecPreferences([codec]);
    }
    const dt = new DownTrack(receiver, t);
    this.#track(receiver, dt);
    dt.once('close', () => {
      this.#downTracks.delete(receiver);
      this.#hooks.onDownTrackClose(dt);
      receiver.off('layers', this.#onLayersChanged);
      if (!this.#closed) {
        // Inactive, not stopped: stopping the first m-line (the BUNDLE transport's) made werift
        // fail the whole subscriber PC. The m-line stays; the browser ends the remote track.
        t.setDirection('inactive');
        this.negotiate();
      }
    });
    this.negotiate();
    return dt;
  }

  /** Answering: `receiver` in a free slot of its kind whose codecs include its codec, if any. */
  #fillSlot(receiver: Receiver): DownTrack | undefined {
    const mime = receiver.codec.mimeType.toLowerCase();
    let slot: RTCRtpTransceiver | undefined;
    for (const [t, dt] of this.#slots) {
      if (!dt && t.kind === receiver.kind && t.codecs.some((c) => c.mimeType.toLowerCase() === mime)) {
        slot = t;
        break;
      }
    }
    if (!slot) {
      return undefined;
    }
    const t = slot;
    const dt = new DownTrack(receiver, t, this.#handOvers.get(t));
    this.#slots.set(t, dt);
    this.#track(receiver, dt);
    dt.once('close', () => {
      this.#handOvers.set(t, dt.handOver());
      this.#slots.set(t, undefined);
      this.#downTracks.delete(receiver);
      receiver.off('layers', this.#onLayersChanged);
      this.#hooks.onDownTrackClose(dt); // the session offers the slot its next track
    });
    return dt;
  }

  /** Wiring common to both modes: estimates, layer reports, the receiver's layer changes. */
  #track(receiver: Receiver, dt: DownTrack): void {
    this.#downTracks.set(receiver, dt);
    dt.on('estimate', (bps) => {
      if (bps !== this.#estimate) {
        this.#estimateFalling = Number.isFinite(this.#estimate) && bps < this.#estimate;
        this.#estimate = bps;
      }
    });
    dt.on('layer', (index) => this.#sendActiveLayer(dt, index));
    receiver.addDownTrack(dt);
    receiver.on('layers', this.#onLayersChanged);
    dt.allocate(Infinity, false, Date.now(), this.#bestQualityFirst);
  }

  /** Whether a channel of `label` carries others' messages to this client. */
  hasChannel(label: string): boolean {
    return this.#channels.has(label);
  }

  /**
   * A same-label channel on this PC for another client's data channel (ion-sfu fan-out), with that
   * channel's delivery (a relay link carries an unreliable channel unreliably).
   */
  ensureChannel(spec: ChannelSpec): RTCDataChannel {
    const { label } = spec;
    let dc = this.#channels.get(label);
    if (!dc) {
      dc = this.pc.createDataChannel(label, {
        ordered: spec.ordered ?? true,
        ...(spec.maxRetransmits !== undefined ? { maxRetransmits: spec.maxRetransmits } : {}),
      });
      dc.onMessage.subscribe((m) => this.#hooks.onChannelMessage(label, m));
      this.#channels.set(label, dc);
    }
    return dc;
  }

  /**
   * A channel this PC has from the start (DataPolicy.channels): the client expects others' messages
   * on it, so its own channel of the label (registerOwnChannel) does not take its place.
   */
  openChannel(spec: ChannelSpec): void {
    this.ensureChannel(spec);
    this.#fixed.add(spec.label);
  }

  /**
   * The client's own channel of this label (opened on its publisher PC) also carries what others
   * send under the label back to it, as ion-sfu does; the Peer already listens to its messages.
   */
  registerOwnChannel(dc: RTCDataChannel): void {
    if (!this.#fixed.has(dc.label)) {
      this.#channels.set(dc.label, dc);
    }
  }

  sendChannel(label: string, data: string | Buffer): void {
    const dc = this.#channels.get(label);
    // A channel still opening queues what it is given (werift sends it once open): the first
    // message on a freshly fanned-out channel must not be lost.
    if (dc && (dc.readyState === 'open' || dc.readyState === 'connecting')) {
      dc.send(data);
    }
  }

  sendApi(message: unknown): void {
    if (this.#api?.readyState === 'open') {
      this.#api.send(JSON.stringify(message));
    }
  }

  negotiate(): void {
    if (this.#closed || this.#quickOffer || this.#answering) {
      return; // a quick offer is due: it includes this change
    }
    clearTimeout(this.#negotiateTimer);
    const quiet =
      this.#negotiateTimer === undefined && Date.now() - this.#lastOfferMs >= NEGOTIATION_DEBOUNCE_MS;
    this.#quickOffer = quiet;
    this.#negotiateTimer = setTimeout(
      () => {
        this.#negotiateTimer = undefined;
        this.#quickOffer = false;
        void this.#offer();
      },
      quiet ? FIRST_OFFER_DELAY_MS : NEGOTIATION_DEBOUNCE_MS,
    );
  }

  async setAnswer(sdp: string): Promise<void> {
    const offer = this.pc.signalingState === 'have-local-offer' ? this.pc.localDescription : undefined;
    if (!offer) {
      throw new SwitchboardError('invalid-state', 'no offer awaits an answer');
    }
    assertValidAnswer(sdp, offer.sdp.split('\nm=').length - 1, this.#limits);
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.#awaitingAnswer = false;
    await this.#candidates.flush();
    if (this.#renegotiate) {
      this.#renegotiate = false;
      this.negotiate();
    }
  }

  addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    return this.#candidates.add(c);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#negotiateTimer);
    clearInterval(this.#srTimer);
    clearInterval(this.#allocTimer);
    for (const dt of [...this.#downTracks.values()]) {
      dt.close();
    }
    this.#downTracks.clear();
    this.#channels.clear();
    void this.pc.close().catch(() => undefined);
  }

  async #offer(): Promise<void> {
    if (this.#closed) {
      return;
    }
    if (this.#awaitingAnswer || this.pc.signalingState !== 'stable') {
      this.#renegotiate = true;
      return;
    }
    try {
      this.#awaitingAnswer = true;
      this.#lastOfferMs = Date.now();
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      if (!this.#closed) {
        this.#sink('offer', { type: 'offer', sdp: this.pc.localDescription!.sdp });
      }
    } catch (err) {
      this.#awaitingAnswer = false;
      logger.warn({ err }, 'subscriber offer failed');
    }
  }

  readonly #onLayersChanged = (): void => this.allocate();

  /** ion-sfu's `activeLayer` message on the `ion-sfu` channel. */
  #sendActiveLayer(dt: DownTrack, index: number): void {
    const n = dt.receiver.orderedLayers.length;
    this.sendApi({
      method: 'activeLayer',
      params: {
        streamId: dt.streamId,
        activeLayer: index >= 0 ? LAYER_NAMES[Math.min(index, LAYER_NAMES.length - 1)] : 'none',
        availableLayers: LAYER_NAMES.slice(0, n),
      },
    });
  }

  #matchCodec(c: RTCRtpCodecParameters): RTCRtpCodecParameters | undefined {
    const list =
      (c.mimeType.toLowerCase().startsWith('audio')
        ? this.pc.config.codecs.audio
        : this.pc.config.codecs.video) ?? [];
    const same = list.filter((l) => l.mimeType.toLowerCase() === c.mimeType.toLowerCase());
    if (c.mimeType.toLowerCase() === 'video/h264') {
      // profile_idc + constraint flags decide compatibility; the level may differ.
      const profile = /profile-level-id=([0-9a-f]{4})/i.exec(c.parameters ?? '')?.[1]?.toLowerCase();
      return same.find((l) => profile && l.parameters?.includes(`profile-level-id=${profile}`)) ?? same[0];
    }
    return same[0];
  }

  #sendReports(): void {
    const now = Date.now();
    const reports: RtcpSrPacket[] = [];
    let dtls;
    for (const dt of this.#downTracks.values()) {
      const sr = dt.senderReport(now);
      if (sr) {
        reports.push(sr);
        dtls = dt.dtls;
      }
    }
    if (dtls && reports.length > 0) {
      dtls.sendRtcp(reports).catch((err: unknown) => logger.debug({ err }, 'SR send failed'));
    }
  }
}
