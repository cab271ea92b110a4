// ion-sfu's two-PC client (publisher PC = target 0, subscriber PC = target 1) on werift.
import type { RTCPeerConnection } from 'werift';
import { sdpOf, type IonSignal } from './IonSignal.ts';

/** Candidates already in an SDP: trickled duplicates of them are skipped. */
const hasCandidate = (sdp: string | undefined, candidate: string) =>
  sdp !== undefined && candidate.length > 0 && sdp.includes(candidate.replace(/^candidate:/, ''));

/**
 * `join` with the publisher PC's offer (it has at least the `ion-sfu` data channel, as ion-sdk-js
 * does), then answer every server `offer` on the subscriber PC and apply server trickles to the PC of
 * their `target`. Our candidates travel in the SDPs (werift gathers before setLocalDescription
 * resolves), so we trickle nothing.
 */
export class IonPeer {
  readonly #signal: IonSignal;
  readonly pub: RTCPeerConnection;
  readonly sub: RTCPeerConnection;
  /** Called after the subscriber PC applied a server offer and before it answers. */
  onSubscriberOffer: () => void = () => undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #early: { target: number; candidate: any }[] = [];

  constructor(signal: IonSignal, pub: RTCPeerConnection, sub: RTCPeerConnection) {
    this.#signal = signal;
    this.pub = pub;
    this.sub = sub;
    signal.onNotification = (method, params) => {
      if (method === 'offer') {
        this.#queue = this.#queue.then(() => this.#answer(params)).catch(() => undefined);
      } else if (method === 'trickle') {
        this.#queue = this.#queue.then(() => this.#trickle(params)).catch(() => undefined);
      }
    };
  }

  /** `extra`: more `join` params (Switchboard's `token`, `name`, `password`). */
  async join(sid: string, uid: string, extra: Record<string, unknown> = {}): Promise<void> {
    this.pub.createDataChannel('ion-sfu');
    await this.pub.setLocalDescription(await this.pub.createOffer());
    const answer = await this.#signal.call('join', {
      ...extra,
      sid,
      uid,
      offer: sdpOf(this.pub.localDescription!),
    });
    await this.pub.setRemoteDescription(answer);
    for (const c of this.#early.splice(0)) {
      await this.#trickle(c);
    }
  }

  async #answer(offer: { type: 'offer'; sdp: string }): Promise<void> {
    await this.sub.setRemoteDescription(offer);
    this.onSubscriberOffer();
    await this.sub.setLocalDescription(await this.sub.createAnswer());
    this.#signal.notify('answer', { desc: sdpOf(this.sub.localDescription!) });
  }

  async #trickle(p: { target: number; candidate: any }): Promise<void> {
    const pc = p.target === 0 ? this.pub : this.sub;
    const remote = pc.remoteDescription?.sdp;
    if (remote === undefined) {
      if (p.target === 0) {
        this.#early.push(p);
      }
      return; // the subscriber's offer carries the same candidates
    }
    if (!p.candidate?.candidate || hasCandidate(remote, String(p.candidate.candidate))) {
      return;
    }
    await pc.addIceCandidate(p.candidate).catch(() => undefined);
  }

  close(): void {
    this.#signal.close();
    void this.pub.close().catch(() => undefined);
    void this.sub.close().catch(() => undefined);
  }
}
