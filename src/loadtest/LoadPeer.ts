// One synthetic participant of `switchboard loadtest`: an ion-sfu client on werift that publishes
// synthetic audio / video (a publisher) or only receives (a subscriber), and counts what it receives.
import { MediaStream, type RTCRtpTransceiver } from 'werift';
import { clientPc } from './clientPc.ts';
import { connected } from './connected.ts';
import { IonPeer } from './IonPeer.ts';
import { IonSignal } from './IonSignal.ts';
import { monoUs } from './monoUs.ts';
import { RxCounter, markRaw } from './RxCounter.ts';
import { AUDIO_OPUS, SyntheticSource, simulcastLayers, type VideoProfile } from './SyntheticSource.ts';

export type PeerRole = 'publisher' | 'subscriber';

export interface LoadPeerOptions {
  role: PeerRole;
  /** `ws(s)://host:port/ws`. */
  wsUrl: string;
  room: string;
  uid: string;
  /** Publishers: video bitrate (bit/s, the top layer's with simulcast); 0 = audio only. */
  videoBitrate: number;
  simulcast: boolean;
  /** Streams this peer should receive (the other publishers' tracks). */
  expectStreams: number;
  /** One-way latency samples (µs) of every peer go here. */
  latencies: number[];
}

/** How long a join may take: socket, `join` answer, and the media PC connected (ICE + DTLS). */
export const JOIN_TIMEOUT_MS = 20_000;

export class LoadPeer {
  readonly o: LoadPeerOptions;
  readonly counter: RxCounter;
  readonly sources: SyntheticSource[] = [];
  /** Join sent → its media PC connected (ms); undefined until then. */
  joinMs: number | undefined;
  /** Monotonic µs the join was sent. */
  #t0 = 0;
  #peer: IonPeer | undefined;
  #closed = false;

  constructor(o: LoadPeerOptions) {
    this.o = o;
    this.counter = new RxCounter(o.latencies);
  }

  /** Its media PC (the publisher PC of a publisher, the subscriber PC of a subscriber) is connected now. */
  get connected(): boolean {
    const pc = this.o.role === 'publisher' ? this.#peer?.pub : this.#peer?.sub;
    return !this.#closed && this.joinMs !== undefined && pc?.connectionState === 'connected';
  }

  /** Join sent → first RTP packet received (ms); undefined until one came. */
  get firstPacketMs(): number | undefined {
    return this.counter.firstPacketUs > 0 && this.#t0 > 0
      ? (this.counter.firstPacketUs - this.#t0) / 1000
      : undefined;
  }

  /**
   * Joins (with `token` in the `join` params; none in anonymous mode) and waits for the media PC to
   * connect; throws an RpcError when the server refuses the join.
   */
  async join(token: string | undefined): Promise<void> {
    const o = this.o;
    const publisher = o.role === 'publisher';
    const signal = await IonSignal.connect(o.wsUrl, JOIN_TIMEOUT_MS);
    const simulcast = publisher && o.simulcast && o.videoBitrate > 0;
    const peer = new IonPeer(signal, clientPc({ publisher, simulcast }), clientPc({ publisher: false }));
    this.#peer = peer;
    if (this.#closed) {
      peer.close();
      throw new Error('stopped');
    }
    peer.onSubscriberOffer = () => markRaw(peer.sub, this.counter);
    const transceivers: RTCRtpTransceiver[] = [];
    if (publisher) {
      this.sources.push(new SyntheticSource('audio', AUDIO_OPUS));
      if (o.videoBitrate > 0) {
        const video: VideoProfile = {
          bitrate: o.videoBitrate,
          fps: 25,
          packetSize: 1100,
          layers: simulcast ? simulcastLayers(o.videoBitrate) : undefined,
        };
        this.sources.push(new SyntheticSource('video', video));
      }
      const stream = new MediaStream(this.sources.map((s) => s.track));
      for (const s of this.sources) {
        const rids = s.rids;
        transceivers.push(
          peer.pub.addTransceiver(s.track, {
            direction: 'sendonly',
            streams: [stream],
            ...(rids.length > 0 ? { sendEncodings: rids.map((rid) => ({ rid })) } : {}),
          }),
        );
      }
    }
    this.#t0 = monoUs();
    await peer.join(o.room, o.uid, token !== undefined ? { token } : {});
    this.sources.forEach((s, i) => {
      s.watch(transceivers[i]!);
      s.start();
    });
    await connected(
      publisher ? peer.pub : peer.sub,
      `${o.uid}'s ${publisher ? 'publisher' : 'subscriber'} PC`,
      JOIN_TIMEOUT_MS,
    );
    this.joinMs = (monoUs() - this.#t0) / 1000;
  }

  /** RTP packets it sent, all its tracks together. */
  get sent(): number {
    return this.sources.reduce((a, s) => a + s.sent, 0);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.sources.forEach((s) => s.stop());
    this.#peer?.close();
  }
}
