// An independent ION cluster client in Node: `rtc.RTC/Signal` and `room.RoomSignal/Signal` over
// gRPC-web WebSockets (test/helpers/grpcWeb.ts) with @roamhq/wrtc (libwebrtc) for media. Same wire
// behaviour as ion-sdk-js's Ion.RTC / Ion.Room (reference/ion.md §2c, §2e): join with the publisher
// offer, descriptions by type, trickles sent WITHOUT a target (Ion.RTC's quirk: the server routes them
// by ufrag), join done when the server's `ion-sfu` data channel arrives.
import { createRequire } from 'node:module';
import type { RtcReply, RoomReply } from '../../src/signal/ion/protos.ts';
import { openGrpcWeb, type GrpcWebCall } from './grpcWeb.ts';
import { API_CHANNEL, countFrames, syntheticMedia } from './wrtcPeer.ts';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc') as typeof import('@roamhq/wrtc');

export interface IonTrackEvent {
  state: 'ADD' | 'UPDATE' | 'REMOVE';
  uid: string;
  tracks: { id: string; kind: string; streamId: string; layer: string; muted: boolean }[];
}

/** One client's RTC stream and its two peer connections. */
export class IonRtcClient {
  readonly publisher: RTCPeerConnection;
  readonly subscriber: RTCPeerConnection;
  readonly call: GrpcWebCall<RtcReply>;
  readonly trackEvents: IonTrackEvent[] = [];
  /** Frames decoded per received track id. */
  readonly frames = new Map<string, number>();
  /** Received tracks: id → { kind, streamId }. */
  readonly tracks = new Map<string, { kind: string; streamId: string }>();
  publishedStreamId: string | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #localTracks: MediaStreamTrack[] = [];
  readonly #sinks: { stop(): void }[] = [];
  readonly #held: RTCIceCandidateInit[] = [];
  #subscriberChain: Promise<void> = Promise.resolve();
  #closed = false;
  #apiReady: Promise<void>;

  private constructor(call: GrpcWebCall<RtcReply>) {
    this.call = call;
    this.publisher = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.subscriber = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.publisher.createDataChannel(API_CHANNEL);
    // Ion.RTC's trickle carries no target: both PCs' candidates go out the same way.
    const trickle = ({ candidate }: RTCPeerConnectionIceEvent): void => {
      if (candidate?.candidate) {
        this.call.send({ trickle: { init: JSON.stringify(candidate.toJSON()) } });
      }
    };
    this.publisher.onicecandidate = trickle;
    this.subscriber.onicecandidate = trickle;
    this.subscriber.ontrack = (ev) => {
      const t = ev.track;
      this.tracks.set(t.id, { kind: t.kind, streamId: ev.streams[0]?.id ?? '' });
      if (t.kind === 'video') {
        this.frames.set(t.id, 0);
        this.#sinks.push(countFrames(t, () => this.frames.set(t.id, (this.frames.get(t.id) ?? 0) + 1)));
      }
    };
    this.#apiReady = new Promise<void>((resolve) => {
      this.subscriber.ondatachannel = ({ channel }) => {
        if (channel.label === API_CHANNEL) {
          resolve();
        }
      };
    });
    void this.#pump();
  }

  static async open(url: string, token?: string): Promise<IonRtcClient> {
    const call = await openGrpcWeb<RtcReply>(url, '/rtc.RTC/Signal', token ? { authorization: token } : {});
    return new IonRtcClient(call);
  }

  async #pump(): Promise<void> {
    for await (const m of this.call) {
      if ('description' in m && m.description.type === 'offer') {
        const sdp = m.description.sdp ?? '';
        this.#subscriberChain = this.#subscriberChain.then(async () => {
          try {
            await this.subscriber.setRemoteDescription({ type: 'offer', sdp });
            for (const c of this.#held.splice(0)) {
              await this.subscriber.addIceCandidate(c);
            }
            const answer = await this.subscriber.createAnswer();
            await this.subscriber.setLocalDescription(answer);
            this.call.send({ description: { target: 'SUBSCRIBER', type: 'answer', sdp: answer.sdp } });
          } catch (err) {
            // An offer still arriving as the test closes us meets a closed PC: not a failure.
            if (!this.#closed) {
              throw err;
            }
          }
        });
      } else if ('trickle' in m) {
        const c = JSON.parse(m.trickle.init) as RTCIceCandidateInit;
        const pc = m.trickle.target === 'SUBSCRIBER' ? this.subscriber : this.publisher;
        if (pc.remoteDescription) {
          await pc.addIceCandidate(c).catch(() => undefined);
        } else if (pc === this.subscriber) {
          this.#held.push(c);
        }
      } else if ('trackEvent' in m) {
        this.trackEvents.push(m.trackEvent as IonTrackEvent);
      }
    }
  }

  /** RTC.join: resolves when the server's `ion-sfu` channel arrives; rejects on `success: false`. */
  async join(sid: string, uid: string, config: Record<string, string> = {}): Promise<void> {
    const seen = this.call.messages.length;
    const offer = await this.publisher.createOffer();
    await this.publisher.setLocalDescription(offer);
    this.call.send({
      join: { sid, uid, config, description: { target: 'PUBLISHER', type: 'offer', sdp: offer.sdp } },
    });
    const reply = await this.call.waitFor<Extract<RtcReply, { join: unknown }>>(
      (m) => 'join' in m && this.call.messages.indexOf(m) >= seen,
      20_000,
    );
    if (!reply.join.success) {
      throw Object.assign(new Error(`join refused: ${reply.join.error?.reason ?? '?'}`), {
        code: reply.join.error?.code,
      });
    }
    await this.publisher.setRemoteDescription({ type: 'answer', sdp: reply.join.description?.sdp ?? '' });
    await this.#apiReady;
  }

  /** Publishes synthetic audio and video (a publisher renegotiation: description offer → answer). */
  async publish(): Promise<string> {
    const media = syntheticMedia();
    this.#timers.push(...media.timers);
    this.#localTracks.push(...media.stream.getTracks());
    for (const t of media.stream.getTracks()) {
      this.publisher.addTrack(t, media.stream);
    }
    const seen = this.call.messages.length;
    const offer = await this.publisher.createOffer();
    await this.publisher.setLocalDescription(offer);
    this.call.send({ description: { target: 'PUBLISHER', type: 'offer', sdp: offer.sdp } });
    const reply = await this.call.waitFor(
      (m) =>
        (('description' in m && m.description.type === 'answer') || 'error' in m) &&
        this.call.messages.indexOf(m) >= seen,
      20_000,
    );
    if ('error' in reply) {
      throw Object.assign(new Error(`offer refused: ${reply.error.code} ${reply.error.reason}`), {
        code: reply.error.code,
      });
    }
    if (!('description' in reply)) {
      throw new Error('unexpected reply');
    }
    await this.publisher.setRemoteDescription({ type: 'answer', sdp: reply.description.sdp ?? '' });
    this.publishedStreamId = media.stream.id;
    return media.stream.id;
  }

  /** RTC.subscribe: resolves with the SubscriptionReply. */
  async subscribe(
    subs: { trackId: string; subscribe: boolean; mute?: boolean; layer?: string }[],
  ): Promise<{ success: boolean; error?: { code: number; reason: string } | null }> {
    const seen = this.call.messages.length;
    this.call.send({
      subscription: {
        subscriptions: subs.map((s) => ({
          trackId: s.trackId,
          subscribe: s.subscribe,
          mute: s.mute ?? false,
          layer: s.layer ?? '',
        })),
      },
    });
    const r = await this.call.waitFor<Extract<RtcReply, { subscription: unknown }>>(
      (m) => 'subscription' in m && this.call.messages.indexOf(m) >= seen,
      20_000,
    );
    return r.subscription;
  }

  videoFrames(streamId?: string): number {
    let n = 0;
    for (const [id, f] of this.frames) {
      if (streamId === undefined || this.tracks.get(id)?.streamId === streamId) {
        n += f;
      }
    }
    return n;
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) {
      clearInterval(t);
    }
    for (const s of this.#sinks) {
      s.stop();
    }
    for (const t of this.#localTracks) {
      t.stop();
    }
    this.publisher.close();
    this.subscriber.close();
    this.call.close();
  }
}

/** One client's Room stream. */
export class IonRoomClient {
  readonly call: GrpcWebCall<RoomReply>;

  private constructor(call: GrpcWebCall<RoomReply>) {
    this.call = call;
  }

  static async open(url: string, token?: string): Promise<IonRoomClient> {
    return new IonRoomClient(
      await openGrpcWeb<RoomReply>(url, '/room.RoomSignal/Signal', token ? { authorization: token } : {}),
    );
  }

  /** Room.join: resolves with the JoinReply. */
  async join(
    sid: string,
    uid: string,
    password = '',
    displayName = uid,
  ): Promise<Extract<RoomReply, { join: unknown }>['join']> {
    this.call.send({ join: { peer: { sid, uid, displayName, protocol: 'WebRTC' }, password } });
    const r = await this.call.waitFor<Extract<RoomReply, { join: unknown }>>((m) => 'join' in m, 20_000);
    return r.join;
  }

  /** Peer events so far: `uid state` strings. */
  peerEvents(): string[] {
    return this.call.messages
      .filter((m): m is Extract<RoomReply, { peer: unknown }> => 'peer' in m)
      .map((m) => `${m.peer.peer.uid ?? ''} ${m.peer.state}`);
  }

  close(): void {
    this.call.close();
  }
}
