import type { MediaStreamTrack, RTCRtpCodecParameters, RTCRtpTransceiver, RtpPacket } from 'werift';
import { PacketCache } from './PacketCache.ts';
import type { DownTrack } from './DownTrack.ts';
import type { Kind } from './types.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { logger } from '../util/logger.ts';

/** Keyframe requests to a publisher are throttled per layer (ion-sfu: one PLI per 500 ms). */
export const PLI_THROTTLE_MS = 500;

export type ReceiverEvents = { close: []; mute: [muted: boolean] };

export interface ReceiverOptions {
  peerId: string;
  track: MediaStreamTrack;
  transceiver: RTCRtpTransceiver;
  codec: RTCRtpCodecParameters;
  streamId: string;
  trackId: string;
  cacheSize: number;
  audioLevelExtId: number;
  onAudioLevel?: ((streamId: string, level: number) => void) | undefined;
}

/**
 * One incoming track of a publisher: fans each packet out to its DownTracks, keeps the last packets
 * for NACK, reports RFC 6464 audio levels and forwards keyframe requests (throttled).
 */
export class Receiver extends TypedEmitter<ReceiverEvents> {
  readonly peerId: string;
  readonly kind: Kind;
  readonly streamId: string;
  readonly trackId: string;
  readonly codec: RTCRtpCodecParameters;
  readonly transceiver: RTCRtpTransceiver;
  packets = 0;
  bytes = 0;
  ssrc = 0;

  #closed = false;
  #muted = false;
  #lastPli = 0;
  readonly #downTracks = new Set<DownTrack>();
  readonly #cache: PacketCache | undefined;
  readonly #audioLevelExtId: number;
  readonly #onAudioLevel: ((streamId: string, level: number) => void) | undefined;
  readonly #unsubscribe: () => void;

  constructor(o: ReceiverOptions) {
    super();
    this.peerId = o.peerId;
    this.kind = o.track.kind as Kind;
    this.streamId = o.streamId;
    this.trackId = o.trackId;
    this.codec = o.codec;
    this.transceiver = o.transceiver;
    this.#cache = this.kind === 'video' ? new PacketCache(o.cacheSize) : undefined;
    this.#audioLevelExtId = o.audioLevelExtId;
    this.#onAudioLevel = o.onAudioLevel;
    this.#unsubscribe = o.track.onReceiveRtp.subscribe((p) => this.#onRtp(p)).unSubscribe;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Publisher-side mute (our `mute` method): every DownTrack pauses. */
  get muted(): boolean {
    return this.#muted;
  }

  setMuted(muted: boolean): void {
    if (muted === this.#muted) {
      return;
    }
    this.#muted = muted;
    this.safeEmit('mute', muted);
    if (!muted) {
      this.requestKeyframe();
    }
  }

  addDownTrack(dt: DownTrack): void {
    this.#downTracks.add(dt);
    dt.once('close', () => this.#downTracks.delete(dt));
  }

  get downTracks(): ReadonlySet<DownTrack> {
    return this.#downTracks;
  }

  getPacket(seq: number): RtpPacket | undefined {
    return this.#cache?.get(seq);
  }

  requestKeyframe(): void {
    const now = Date.now();
    if (this.kind !== 'video' || this.#closed || this.ssrc === 0 || now - this.#lastPli < PLI_THROTTLE_MS) {
      return;
    }
    this.#lastPli = now;
    this.transceiver.receiver
      .sendRtcpPLI(this.ssrc)
      .catch((err: unknown) => logger.debug({ err }, 'PLI failed'));
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#unsubscribe();
    for (const dt of [...this.#downTracks]) {
      dt.close();
    }
    this.#downTracks.clear();
    this.safeEmit('close');
    this.removeAllListeners();
  }

  #onRtp(packet: RtpPacket): void {
    if (this.#closed) {
      return;
    }
    const h = packet.header;
    this.ssrc = h.ssrc;
    this.packets++;
    this.bytes += packet.payload.length;
    this.#cache?.put(packet);
    let level = -1;
    if (this.#audioLevelExtId !== 0) {
      for (const e of h.extensions) {
        if (e.id === this.#audioLevelExtId && e.payload.length > 0) {
          level = e.payload[0]! & 0x7f;
          this.#onAudioLevel?.(this.streamId, level);
          break;
        }
      }
    }
    if (this.#muted) {
      return;
    }
    const now = Date.now();
    for (const dt of this.#downTracks) {
      dt.writeRtp(packet, level, now);
    }
  }
}
