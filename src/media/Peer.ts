import type { RTCDataChannel, RTCIceCandidateInit } from 'werift';
import { Publisher } from './Publisher.ts';
import { API_CHANNEL, Subscriber } from './Subscriber.ts';
import type { Receiver } from './Receiver.ts';
import type { DownTrack, LayerName } from './DownTrack.ts';
import { Subscriptions, type SubscribableTrack } from './Subscriptions.ts';
import type { ChannelSpec, DataPolicy } from './DataPolicy.ts';
import type { CloseReason, MediaOptions, SignalSink } from './types.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { InvalidStateError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

export type PeerEvents = {
  close: [reason: CloseReason];
  receiver: [Receiver];
  /** A message on one of this client's own data channels (publisher PC), to fan out. */
  channelMessage: [label: string, data: string | Buffer];
  /** The client opened a data channel of its own (any label but `ion-sfu`). */
  channel: [spec: ChannelSpec];
  /** A parsed message on the `ion-sfu` channel. */
  apiMessage: [message: Record<string, unknown>];
  /** Something a roster shows changed (mute state). */
  updated: [];
  downTrackClose: [DownTrack];
};

export type Target = 0 | 1;

/** Layers of ion-sfu's data-channel API; `none` pauses the video. */
const VIDEO_LAYERS = new Set(['high', 'medium', 'low', 'none']);
const FRAMERATES = new Set(['high', 'medium', 'low']);

/**
 * One client: a publisher PC (target 0, client offers) and a subscriber PC (target 1, server offers),
 * ion-sfu's two-PC model. Closing a Peer closes both PCs and every Receiver and DownTrack they own.
 */
export class Peer extends TypedEmitter<PeerEvents> {
  readonly id: string;
  readonly uid: string;
  readonly name: string;
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  /**
   * A relay link to another node's session (src/sfu/Relays.ts), not a client: the sfu role leaves it
   * out of rosters, webhooks and peer limits. Its media path is a client's.
   */
  readonly relay: boolean;
  /** What it receives (Subscriptions.ts); changed at run time by Session.subscribe. */
  readonly subscribes: Subscriptions;
  /** The participant this peer belongs to (its uid, or the client whose streams each have a peer). */
  readonly member: string;
  /** When it joined (ms since the epoch). */
  readonly joinedAt = Date.now();
  /** The data channels this client opened, by label. */
  readonly #channels = new Map<string, ChannelSpec>();
  /** Its protocol's data rules (DataPolicy.ts), from the sfu role; undefined: ion-sfu's. */
  readonly dataPolicy: DataPolicy | undefined;
  /** `[router.simulcast] enabletemporallayer`: honour `framerate` preferences. */
  readonly #temporal: boolean;
  #closed = false;

  constructor(
    id: string,
    uid: string,
    name: string,
    opts: MediaOptions,
    sink: SignalSink,
    onAudioLevel: (s: string, l: number) => void,
    relay = false,
    /**
     * The subscriber PC's options when they differ (a relay peer's two PCs need sockets of their own:
     * both talk to the same far node, and a shared socket demultiplexes by remote address).
     */
    subscriberOpts: MediaOptions = opts,
    routing: { subscribes: Subscriptions; member: string; answering?: boolean; data?: DataPolicy } = {
      subscribes: Subscriptions.all(),
      member: uid,
    },
  ) {
    super();
    this.id = id;
    this.uid = uid;
    this.subscribes = routing.subscribes;
    this.member = routing.member;
    this.name = name;
    this.relay = relay;
    this.#temporal = opts.enableTemporalLayer;
    this.publisher = new Publisher(id, opts, sink, onAudioLevel);
    this.subscriber = new Subscriber(
      subscriberOpts,
      sink,
      {
        onApiMessage: (data) => this.#onApiMessage(data),
        onChannelMessage: (label, data) => this.safeEmit('channelMessage', label, data),
        onDownTrackClose: (dt) => this.safeEmit('downTrackClose', dt),
      },
      routing.answering === true,
    );
    this.dataPolicy = routing.data;
    // Before the first offer, which the Session makes once the peer is added.
    for (const spec of routing.data?.channels ?? []) {
      this.subscriber.openChannel(spec);
    }
    this.publisher.router.on('receiver', (r) => {
      r.on('mute', () => this.safeEmit('updated'));
      this.safeEmit('receiver', r);
    });
    this.publisher.pc.onDataChannel.subscribe((dc) => this.#onClientChannel(dc));
    for (const pc of [this.publisher.pc, this.subscriber.pc]) {
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'failed') {
          this.close('ice-failed');
        }
      });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether this peer receives track `t` (a Receiver of participant `from`'s). */
  wants(t: SubscribableTrack, from: string): boolean {
    return this.subscribes.wants(t, from);
  }

  get receivers(): IterableIterator<Receiver> {
    return this.publisher.router.receivers;
  }

  /** The data channels this client opened (fanned out to everyone else), by label. */
  get channels(): ReadonlyMap<string, ChannelSpec> {
    return this.#channels;
  }

  /** Whether other peers' channels of `label` and their messages reach this one (its DataPolicy). */
  acceptsChannel(label: string): boolean {
    return this.dataPolicy?.accepts?.(label) ?? true;
  }

  /** A WHEP viewer's offer, answered by the subscriber PC (Subscriber.answerOffer). */
  async view(sdp: string, streamId: string): Promise<string> {
    this.#assertOpen();
    return this.subscriber.answerOffer(sdp, streamId);
  }

  /** join's offer and later publisher renegotiations. */
  async offer(sdp: string): Promise<string> {
    this.#assertOpen();
    return this.publisher.answer(sdp);
  }

  async answer(sdp: string): Promise<void> {
    this.#assertOpen();
    await this.subscriber.setAnswer(sdp);
  }

  async trickle(target: Target, candidate: RTCIceCandidateInit): Promise<void> {
    this.#assertOpen();
    await (target === 0 ? this.publisher : this.subscriber).addIceCandidate(candidate);
  }

  /**
   * Stops receiving stream `streamId`: its DownTracks close and the subscriber PC re-offers their
   * m-lines inactive (a Licode client waits for that before its subscription ends). Returns how many.
   */
  dropStream(streamId: string): number {
    let n = 0;
    for (const dt of [...this.subscriber.downTracks]) {
      if (dt.streamId === streamId) {
        dt.close();
        n++;
      }
    }
    return n;
  }

  /** Publisher-side mute of one of this peer's tracks: forwarding pauses for every subscriber. */
  muteOwn(streamId: string, kind: 'audio' | 'video', muted: boolean): boolean {
    let found = false;
    for (const r of this.receivers) {
      if (r.streamId === streamId && r.kind === kind) {
        r.setMuted(muted);
        found = true;
      }
    }
    return found;
  }

  close(reason: CloseReason = 'client-leave'): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.publisher.close();
    this.subscriber.close();
    this.safeEmit('close', reason);
    this.removeAllListeners();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new InvalidStateError('peer is closed');
    }
  }

  #onClientChannel(dc: RTCDataChannel): void {
    if (dc.label === API_CHANNEL) {
      return; // ion-sdk-js opens it on the publisher only to force an m=application line
    }
    const spec: ChannelSpec = {
      label: dc.label,
      ordered: dc.ordered,
      ...(typeof dc.maxRetransmits === 'number' ? { maxRetransmits: dc.maxRetransmits } : {}),
    };
    this.#channels.set(dc.label, spec);
    this.subscriber.registerOwnChannel(dc);
    dc.onMessage.subscribe((m) => this.safeEmit('channelMessage', dc.label, m));
    this.safeEmit('channel', spec);
  }

  /**
   * What this subscriber wants of one stream (ion-sfu's data-channel API, also our `layer` method):
   * `audio: false` mutes its audio, `video: 'none'` pauses its video, `high|medium|low` is a ceiling
   * for the automatic layer choice. Unknown values are ignored, as ion-sfu does.
   */
  setPreference(m: { streamId: string; video?: unknown; audio?: unknown; framerate?: unknown }): boolean {
    let found = false;
    for (const dt of this.subscriber.downTracks) {
      if (dt.streamId !== m.streamId) {
        continue;
      }
      found = true;
      if (dt.kind === 'audio' && typeof m.audio === 'boolean') {
        dt.setMuted(!m.audio);
      }
      if (dt.kind === 'video' && typeof m.video === 'string' && VIDEO_LAYERS.has(m.video)) {
        dt.setMuted(m.video === 'none');
        if (m.video !== 'none') {
          dt.setCeiling(m.video as LayerName);
        }
        dt.receiver.wantedChanged();
      }
      if (
        dt.kind === 'video' &&
        this.#temporal &&
        typeof m.framerate === 'string' &&
        FRAMERATES.has(m.framerate)
      ) {
        dt.setMaxTemporal(m.framerate as LayerName);
      }
    }
    this.subscriber.allocate();
    return found;
  }

  /** ion-sfu's subscriber API: `{streamId, video, audio, framerate}` and `{streamId, layers}`. */
  #onApiMessage(data: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      logger.debug({ peer: this.id }, 'ignored non-JSON ion-sfu channel message');
      return;
    }
    if (
      typeof msg !== 'object' ||
      msg === null ||
      typeof (msg as { streamId?: unknown }).streamId !== 'string'
    ) {
      return;
    }
    const m = msg as { streamId: string; video?: unknown; audio?: unknown; framerate?: unknown };
    this.setPreference(m);
    this.safeEmit('apiMessage', m);
  }
}
