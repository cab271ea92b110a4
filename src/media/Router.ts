import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback, type RTCDtlsTransport } from 'werift';
import type { Receiver } from './Receiver.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';
import { logger } from '../util/logger.ts';

export type RouterEvents = { receiver: [Receiver] };

/** Bitrate we advertise when `router.maxbandwidth = 0` (no cap). */
const UNCAPPED_BPS = 30_000_000;
const REMB_INTERVAL_MS = 1000;

/**
 * The receivers of one publisher and their publisher-side RTCP (ion-sfu's Router). It sends REMB so
 * Chrome's send estimate rises to the configured cap: werift's TWCC feedback does not work
 * (werift-findings bug 1), so transport-cc is never negotiated with publishers.
 */
export class Router extends TypedEmitter<RouterEvents> {
  readonly #receivers = new Map<string, Receiver>();
  readonly #maxBps: number;
  readonly #timer: NodeJS.Timeout;
  #dtls: (() => RTCDtlsTransport | undefined) | undefined;
  #closed = false;

  constructor(maxBandwidthKbps: number, dtls: () => RTCDtlsTransport | undefined) {
    super();
    this.#maxBps = maxBandwidthKbps > 0 ? maxBandwidthKbps * 1000 : UNCAPPED_BPS;
    this.#dtls = dtls;
    this.#timer = setInterval(() => this.#sendRemb(), REMB_INTERVAL_MS);
    this.#timer.unref();
  }

  get receivers(): IterableIterator<Receiver> {
    return this.#receivers.values();
  }

  getReceiver(trackId: string): Receiver | undefined {
    return this.#receivers.get(trackId);
  }

  addReceiver(r: Receiver): void {
    this.#receivers.set(r.trackId, r);
    r.once('close', () => {
      if (this.#receivers.get(r.trackId) === r) {
        this.#receivers.delete(r.trackId);
      }
    });
    this.safeEmit('receiver', r);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    for (const r of [...this.#receivers.values()]) {
      r.close();
    }
    this.#receivers.clear();
    this.#dtls = undefined;
    this.removeAllListeners();
  }

  #sendRemb(): void {
    const ssrcs: number[] = [];
    for (const r of this.#receivers.values()) {
      if (r.kind === 'video' && r.ssrc !== 0) {
        ssrcs.push(r.ssrc);
      }
    }
    const dtls = this.#dtls?.();
    if (ssrcs.length === 0 || !dtls || dtls.state !== 'connected') {
      return;
    }
    let exp = 0;
    while (this.#maxBps / 2 ** exp > 0x3ffff) {
      exp++;
    }
    const remb = new ReceiverEstimatedMaxBitrate({
      senderSsrc: 1,
      mediaSsrc: 0,
      brExp: exp,
      brMantissa: Math.floor(this.#maxBps / 2 ** exp),
      ssrcNum: ssrcs.length,
      ssrcFeedbacks: ssrcs,
    });
    dtls
      .sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })])
      .catch((err: unknown) => logger.debug({ err }, 'REMB send failed'));
  }
}
