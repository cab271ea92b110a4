// A LiveKit participant as the media node sees it, without the /rtc front: @roamhq/wrtc peer
// connections driven by the PeerRequests the front would send over the Bus (join with `livekit` and
// no offer, then offer / answer / trickle) and the notifications a media node sends back on a signal
// instance's subject (this helper is its own signal instance). LiveKit's two-PC model: the server
// offers the subscriber PC (with `_reliable` / `_lossy`), the client offers its publisher PC.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { DataPacket } from '@livekit/protocol';
import type { Bus, Subscription } from '../../src/backbone/index.ts';
import {
  notificationTargets,
  peerNotification,
  subjects,
  type PeerRequest,
} from '../../src/protocol/cluster.ts';
import type { MediaGrants } from '../../src/protocol/tokens.ts';
import { syntheticMedia } from './wrtcPeer.ts';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc') as typeof import('@roamhq/wrtc');

type Target = 0 | 1;

export interface LiveKitBusPeerOptions {
  bus: Bus;
  cluster: string;
  /** The media node it joins (its sfu role's node id). */
  node: string;
  /** The room's id (a session id on the media node). */
  room: string;
  uid: string;
  grants?: MediaGrants;
  autoSubscribe?: boolean;
}

export class LiveKitBusPeer {
  readonly uid: string;
  readonly conn: string;
  readonly publisher: RTCPeerConnection;
  readonly subscriber: RTCPeerConnection;
  /** Channels the server opened on the subscriber PC, by label. */
  readonly channels = new Map<string, RTCDataChannel>();
  /** DataPackets received on the subscriber PC's channels, with their label. */
  readonly received: { label: string; packet: DataPacket }[] = [];
  /** Notifications other than offer / trickle, oldest first. */
  readonly notifications: { method: string; params: unknown }[] = [];
  /** Server offers received on the subscriber PC. */
  offers = 0;
  /** Stream id of our published media, once `publish()` ran. */
  publishedStreamId: string | undefined;
  readonly #o: LiveKitBusPeerOptions;
  readonly #signal: string;
  readonly #sub: Subscription;
  readonly #early: [RTCIceCandidateInit[], RTCIceCandidateInit[]] = [[], []];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #tracks: MediaStreamTrack[] = [];
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(o: LiveKitBusPeerOptions) {
    this.#o = o;
    this.uid = o.uid;
    this.#signal = `lk-test-${randomUUID()}`;
    this.conn = `${this.#signal}/${o.uid}`;
    this.publisher = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.subscriber = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.#sub = o.bus.subscribe(subjects.signalNotify(o.cluster, this.#signal), (data) => {
      const n = peerNotification.safeParse(data);
      if (n.success && notificationTargets(n.data).includes(this.conn)) {
        this.#onNotification(n.data.method, n.data.params);
      }
    });
    for (const [pc, target] of [
      [this.publisher, 0],
      [this.subscriber, 1],
    ] as const) {
      pc.onicecandidate = ({ candidate }) => {
        if (candidate?.candidate) {
          void this.request('trickle', { target, candidate: candidate.toJSON() }).catch(() => undefined);
        }
      };
    }
    this.subscriber.ondatachannel = ({ channel }) => {
      channel.binaryType = 'arraybuffer';
      this.channels.set(channel.label, channel);
      channel.onmessage = (m: MessageEvent) => {
        if (m.data instanceof ArrayBuffer) {
          this.received.push({ label: channel.label, packet: DataPacket.fromBinary(new Uint8Array(m.data)) });
        }
      };
    };
  }

  request(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: this.conn, signal: this.#signal, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, this.#o.node), req, { timeoutMs: 20_000 });
  }

  /** The LiveKit front's join: no offer. */
  join(): Promise<unknown> {
    return this.request('join', {
      sid: this.#o.room,
      uid: this.uid,
      name: this.uid,
      ...(this.#o.grants ? { grants: this.#o.grants } : {}),
      livekit: { autoSubscribe: this.#o.autoSubscribe ?? true },
    });
  }

  /** Opens `_reliable` and `_lossy` on the publisher PC (as livekit-client does), adds media if asked, and negotiates it. */
  async publish(
    o: { media?: boolean } = {},
  ): Promise<{ reliable: RTCDataChannel; lossy: RTCDataChannel; answer: string }> {
    const reliable = this.publisher.createDataChannel('_reliable', { ordered: true });
    const lossy = this.publisher.createDataChannel('_lossy', { ordered: false, maxRetransmits: 0 });
    if (o.media) {
      const media = syntheticMedia();
      this.#timers.push(...media.timers);
      this.#tracks.push(...media.stream.getTracks());
      this.publishedStreamId = media.stream.id;
      for (const t of media.stream.getTracks()) {
        this.publisher.addTrack(t, media.stream);
      }
    }
    const offer = await this.publisher.createOffer();
    await this.publisher.setLocalDescription(offer);
    const answer = (await this.request('offer', { desc: { type: 'offer', sdp: offer.sdp } })) as {
      type: string;
      sdp: string;
    };
    await this.publisher.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    await this.#flush(0);
    return { reliable, lossy, answer: answer.sdp };
  }

  /** Stops the synthetic media sources (the publisher falls silent). */
  stopMedia(): void {
    for (const t of this.#timers.splice(0)) {
      clearInterval(t);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.stopMedia();
    for (const t of this.#tracks.splice(0)) {
      t.stop();
    }
    await this.request('leave', null).catch(() => undefined);
    this.#sub.unsubscribe();
    this.publisher.close();
    this.subscriber.close();
  }

  #onNotification(method: string, params: unknown): void {
    if (method === 'offer') {
      this.offers++;
      const sdp = (params as { sdp: string }).sdp;
      this.#chain = this.#chain
        .then(async () => {
          await this.subscriber.setRemoteDescription({ type: 'offer', sdp });
          await this.#flush(1);
          const answer = await this.subscriber.createAnswer();
          await this.subscriber.setLocalDescription(answer);
          await this.request('answer', { desc: { type: 'answer', sdp: answer.sdp } });
        })
        .catch((err: unknown) => {
          if (!this.#closed) {
            console.error(`[${this.uid}] subscriber negotiation failed:`, err);
          }
        });
    } else if (method === 'trickle') {
      const { target, candidate } = params as { target: Target; candidate: RTCIceCandidateInit };
      const pc = target === 0 ? this.publisher : this.subscriber;
      if (pc.remoteDescription) {
        pc.addIceCandidate(candidate).catch(() => undefined);
      } else {
        this.#early[target].push(candidate);
      }
    } else {
      this.notifications.push({ method, params });
    }
  }

  async #flush(target: Target): Promise<void> {
    const pc = target === 0 ? this.publisher : this.subscriber;
    for (const c of this.#early[target].splice(0)) {
      await pc.addIceCandidate(c);
    }
  }
}
