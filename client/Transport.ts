import { Emitter } from './Emitter.ts';
import type { Target } from './types.ts';

export type TransportEvents = {
  /** A local ICE candidate to trickle to the server (end-of-candidates is not reported). */
  candidate: [candidate: RTCIceCandidateInit];
  /** ICE or DTLS failed; reported once. */
  failed: [];
  /** A remote candidate could not be added. */
  error: [err: Error];
};

/**
 * One RTCPeerConnection in its ion-sfu role (publisher = target 0, subscriber = target 1), as ion-sdk-js's
 * `Transport`: it trickles local candidates out and buffers remote candidates until a remote description
 * exists (a server `trickle` may overtake the `offer` or the `join` result it belongs to).
 */
export class Transport extends Emitter<TransportEvents> {
  readonly target: Target;
  readonly pc: RTCPeerConnection;
  #pending: RTCIceCandidateInit[] = [];
  #closed = false;
  #failed = false;

  constructor(target: Target, config: RTCConfiguration) {
    super();
    this.target = target;
    this.pc = new RTCPeerConnection(config);
    this.pc.addEventListener('icecandidate', (ev) => {
      // A null candidate, or an empty one, marks the end of gathering; ion-sdk-js does not send it either.
      if (ev.candidate && ev.candidate.candidate !== '') {
        this.emit('candidate', ev.candidate.toJSON());
      }
    });
    const onState = (): void => {
      if (this.pc.iceConnectionState === 'failed' || this.pc.connectionState === 'failed') {
        this.#fail();
      }
    };
    this.pc.addEventListener('iceconnectionstatechange', onState);
    this.pc.addEventListener('connectionstatechange', onState);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds a server candidate now, or once a remote description has been set. */
  async addRemoteCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.#closed) {
      return;
    }
    if (!this.pc.remoteDescription) {
      this.#pending.push(candidate);
      return;
    }
    await this.#add(candidate);
  }

  /** Applies a remote description, then the candidates that waited for it. */
  async setRemoteDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    await this.pc.setRemoteDescription(desc);
    const pending = this.#pending;
    this.#pending = [];
    for (const candidate of pending) {
      await this.#add(candidate);
    }
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#pending = [];
    this.pc.close();
    this.removeAllListeners();
  }

  async #add(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      if (!this.#closed) {
        this.emit('error', new Error(`target ${this.target}: addIceCandidate failed`, { cause: err }));
      }
    }
  }

  #fail(): void {
    if (this.#failed || this.#closed) {
      return;
    }
    this.#failed = true;
    this.emit('failed');
  }
}
