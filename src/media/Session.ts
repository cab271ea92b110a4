import { AudioObserver } from './AudioObserver.ts';
import type { Peer } from './Peer.ts';
import type { Receiver } from './Receiver.ts';
import type { LayerName } from './DownTrack.ts';
import type { Participant } from './types.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { SwitchboardError } from '../util/errors.ts';

export type SessionEvents = { close: []; participants: [Participant[]] };

/** One change of Session.subscribe. */
export interface SubscriptionChange {
  /** A publisher's track id (Receiver.trackId, the roster's `tracks[].id`). */
  trackId: string;
  subscribe: boolean;
  /** Pause (true) or resume (false) forwarding; undefined leaves it. */
  mute?: boolean | undefined;
  /** Highest simulcast layer (`high`: no cap); undefined leaves it. */
  ceiling?: LayerName | undefined;
}

/** Roster changes in a burst (join + its tracks) go out as one `participants` notification. */
const ROSTER_DEBOUNCE_MS = 100;

/**
 * A room on this node (ion-sfu's Session): subscribes every peer to every other peer's tracks and
 * data channels, runs the audio-level observer, and closes itself when its last peer leaves.
 */
export class Session extends TypedEmitter<SessionEvents> {
  readonly id: string;
  readonly #peers = new Map<string, Peer>();
  readonly #audio: AudioObserver;
  readonly #audioTimer: NodeJS.Timeout;
  #rosterTimer: NodeJS.Timeout | undefined;
  /** The speakers last announced, and the peers that joined since (levels go out on changes only). */
  #speakers: string[] = [];
  readonly #newcomers = new Set<Peer>();
  #closed = false;
  /**
   * The participant who publishes stream `streamId` of peer `owner`: its member, except for a relay
   * peer, whose streams are other nodes' participants' (the sfu role knows them from the relay roster).
   */
  publisherOf: (owner: Peer, streamId: string) => string = (owner) => owner.member;

  constructor(id: string, audio: { threshold: number; intervalMs: number; filter: number }) {
    super();
    this.id = id;
    this.#audio = new AudioObserver(audio.threshold, audio.intervalMs, audio.filter);
    this.#audioTimer = setInterval(() => this.#broadcastAudioLevels(), audio.intervalMs);
    this.#audioTimer.unref();
  }

  get peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  get size(): number {
    return this.#peers.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The audio-level callback for this session's receivers. */
  readonly observeAudio = (streamId: string, level: number): void => this.#audio.observe(streamId, level);

  findByUid(uid: string): Peer | undefined {
    for (const p of this.#peers.values()) {
      if (p.uid === uid) {
        return p;
      }
    }
    return undefined;
  }

  /** The peers of participant `member` (one, or a Licode client's one per stream). */
  peersOf(member: string): Peer[] {
    return [...this.#peers.values()].filter((p) => p.member === member);
  }

  addPeer(peer: Peer): void {
    this.#peers.set(peer.id, peer);
    // Data channels fan out to the peers whose Subscriptions say `channels`: auto-subscribed ones
    // (ion-sfu) and ION's NoAutoSubscribe peers too, as ION fans them out to every peer but a
    // NoSubscribe one; never to Licode peers (erizo.js has data streams of its own).
    const channels = peer.subscribes.channels;
    for (const other of this.#peers.values()) {
      if (other === peer) {
        continue;
      }
      for (const r of other.receivers) {
        if (peer.wants(r, this.publisherOf(other, r.streamId))) {
          peer.subscriber.addDownTrack(r);
        }
      }
      for (const spec of channels ? other.channels.values() : []) {
        if (peer.acceptsChannel(spec.label)) {
          peer.subscriber.ensureChannel(spec);
        }
      }
    }
    // The subscriber offer goes out even in an empty room, and for a peer that receives nothing yet
    // (NoSubscribe, NoAutoSubscribe): ion-sdk-js's join() waits for `ion-sfu`. A Licode peer that
    // only publishes has no subscriber PC to offer (`offer` false).
    if (peer.subscribes.offer) {
      peer.subscriber.negotiate();
    }
    if (peer.dataPolicy?.levels) {
      this.#newcomers.add(peer); // told the current speakers with the next levels, after its join reply
    }
    peer.on('receiver', (r) => this.#onReceiver(peer, r));
    // Tracks in the join offer itself were created before the peer was added here.
    for (const r of peer.receivers) {
      this.#onReceiver(peer, r);
    }
    peer.on('channel', (spec) => {
      for (const other of this.#peers.values()) {
        if (
          other !== peer &&
          other.subscribes.channels &&
          other.acceptsChannel(spec.label) &&
          !other.subscriber.hasChannel(spec.label)
        ) {
          other.subscriber.ensureChannel(spec);
          other.subscriber.negotiate();
        }
      }
    });
    peer.on('channelMessage', (label, data) => this.#fanOut(peer, label, data));
    peer.on('updated', () => this.#rosterChanged());
    // An answering subscriber (a WHEP viewer) has fixed slots: a slot freed takes the next track.
    peer.on('downTrackClose', () => {
      if (peer.subscriber.answering && !peer.closed) {
        this.#fillSlots(peer);
      }
    });
    peer.once('close', () => {
      this.#peers.delete(peer.id);
      this.#newcomers.delete(peer);
      if (this.#peers.size === 0) {
        this.close();
      } else {
        this.#rosterChanged();
      }
    });
    this.#rosterChanged();
  }

  /** One entry per participant: the peers of one member (a Licode client's, one per stream) merge. */
  participants(): Participant[] {
    const members = new Map<string, { peer: Peer; streams: Map<string, Participant['streams'][number]> }>();
    for (const p of this.#peers.values()) {
      let m = members.get(p.member);
      if (!m) {
        m = { peer: p, streams: new Map() };
        members.set(p.member, m);
      }
      const streams = m.streams;
      for (const r of p.receivers) {
        const s = streams.get(r.streamId) ?? {
          streamId: r.streamId,
          audio: false,
          video: false,
          audioMuted: false,
          videoMuted: false,
          tracks: [],
        };
        s[r.kind] = true;
        s.tracks.push({ id: r.trackId, kind: r.kind, muted: r.muted, layers: [...r.rids] });
        if (r.kind === 'audio') {
          s.audioMuted = r.muted;
        } else {
          s.videoMuted = r.muted;
        }
        streams.set(r.streamId, s);
      }
    }
    return [...members.entries()].map(([member, m]) => ({
      uid: member,
      name: m.peer.name,
      streams: [...m.streams.values()],
    }));
  }

  /**
   * Changes what `peer` receives, track by track (ION's `subscription`, our `subscription` method).
   * Each change names the track id of another peer's track in this session: `subscribe` true starts
   * forwarding it (a DownTrack, the subscriber PC re-offered), false stops it (its m-line goes
   * inactive in a re-offer) and keeps it away, also from an auto-subscribed peer, until subscribed
   * again; on a forwarded track `mute` pauses or resumes it and `ceiling` caps its simulcast layer
   * (`high` = no cap). An unknown track id changes nothing and throws `not-found`.
   */
  subscribe(peer: Peer, changes: readonly SubscriptionChange[]): void {
    const tracks = new Map<string, Receiver[]>();
    for (const other of this.#peers.values()) {
      if (other === peer) {
        continue;
      }
      for (const r of other.receivers) {
        const list = tracks.get(r.trackId);
        if (list) {
          list.push(r);
        } else {
          tracks.set(r.trackId, [r]);
        }
      }
    }
    const unknown = changes.find((c) => !tracks.has(c.trackId));
    if (unknown) {
      throw new SwitchboardError('not-found', `no track ${unknown.trackId} in room ${this.id}`);
    }
    for (const c of changes) {
      if (c.subscribe) {
        peer.subscribes.add(c.trackId);
      } else {
        peer.subscribes.remove(c.trackId);
      }
      for (const r of tracks.get(c.trackId)!) {
        const sub = peer.subscriber;
        if (!c.subscribe) {
          sub.downTrackOf(r)?.close();
          continue;
        }
        const dt = sub.downTrackOf(r) ?? sub.addDownTrack(r);
        if (!dt) {
          continue; // the peer is closing
        }
        if (c.mute !== undefined) {
          dt.setMuted(c.mute);
        }
        if (c.ceiling !== undefined && r.kind === 'video') {
          dt.setCeiling(c.ceiling);
        }
        r.wantedChanged();
      }
    }
    peer.subscriber.allocate();
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#audioTimer);
    clearTimeout(this.#rosterTimer);
    for (const p of [...this.#peers.values()]) {
      p.close('room-closed');
    }
    this.#peers.clear();
    this.safeEmit('close');
    this.removeAllListeners();
  }

  /**
   * Gives the peers that receive one participant only (WHEP viewers) the tracks they want now: a
   * relayed track's publisher becomes known when the relay roster names it, after the track came.
   */
  refill(): void {
    for (const peer of this.#peers.values()) {
      if (peer.subscribes.member !== undefined && !peer.closed) {
        this.#fillSlots(peer);
      }
    }
  }

  /** Offers `peer` every track of the others it wants (addDownTrack skips those it has). */
  #fillSlots(peer: Peer): void {
    for (const other of this.#peers.values()) {
      // A leaving publisher's receivers close one by one: its next track must not take the slot.
      if (other === peer || other.closed) {
        continue;
      }
      for (const r of other.receivers) {
        if (
          !r.closed &&
          peer.wants(r, this.publisherOf(other, r.streamId)) &&
          !peer.subscriber.downTrackOf(r)
        ) {
          peer.subscriber.addDownTrack(r);
        }
      }
    }
  }

  #onReceiver(owner: Peer, r: Receiver): void {
    if (r.kind === 'audio') {
      this.#audio.addStream(r.streamId);
      r.once('close', () => this.#audio.removeStream(r.streamId));
    }
    for (const other of this.#peers.values()) {
      if (other !== owner && other.wants(r, this.publisherOf(owner, r.streamId))) {
        other.subscriber.addDownTrack(r);
      }
    }
    r.once('close', () => this.#rosterChanged());
    this.#rosterChanged();
  }

  /**
   * A message `from` sent on its channel `label`, to the others that take the label: as the sender's
   * DataPolicy rewrites and addresses it (relay peers carry it to their node whatever its address).
   */
  #fanOut(from: Peer, label: string, data: string | Buffer): void {
    const out = from.dataPolicy?.inbound ? from.dataPolicy.inbound(label, data) : { data };
    if (!out) {
      return;
    }
    for (const other of this.#peers.values()) {
      if (
        other !== from &&
        other.subscribes.channels &&
        other.acceptsChannel(label) &&
        (other.relay || out.to === undefined || out.to(other.member))
      ) {
        other.subscriber.sendChannel(label, out.data);
      }
    }
  }

  #rosterChanged(): void {
    if (this.#closed || this.#rosterTimer) {
      return;
    }
    this.#rosterTimer = setTimeout(() => {
      this.#rosterTimer = undefined;
      if (!this.#closed) {
        this.safeEmit('participants', this.participants());
      }
    }, ROSTER_DEBOUNCE_MS);
  }

  #broadcastAudioLevels(): void {
    const levels = this.#audio.calc();
    const newcomers = [...this.#newcomers];
    this.#newcomers.clear();
    if (!levels) {
      for (const p of newcomers) {
        if (this.#speakers.length > 0 && !p.closed) {
          p.dataPolicy?.levels?.(this.#speakers);
        }
      }
      return;
    }
    this.#speakers = levels;
    for (const p of this.#peers.values()) {
      if (p.dataPolicy?.levels) {
        p.dataPolicy.levels(levels);
      } else {
        p.subscriber.sendApi({ method: 'audioLevels', params: levels });
      }
    }
  }
}
