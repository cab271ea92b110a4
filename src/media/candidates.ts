import type { RTCIceCandidateInit, RTCPeerConnection } from 'werift';
import { logger } from '../util/logger.ts';

/**
 * Buffers remote ICE candidates that arrive before the remote description (ion-sfu does the same),
 * then applies them in order. A malformed candidate is logged and dropped, never fatal.
 */
export class CandidateQueue {
  #pending: RTCIceCandidateInit[] = [];
  readonly #pc: RTCPeerConnection;

  constructor(pc: RTCPeerConnection) {
    this.#pc = pc;
  }

  async add(c: RTCIceCandidateInit): Promise<void> {
    if (!this.#pc.remoteDescription) {
      this.#pending.push(c);
      return;
    }
    await this.#apply(c);
  }

  async flush(): Promise<void> {
    const list = this.#pending;
    this.#pending = [];
    for (const c of list) {
      await this.#apply(c);
    }
  }

  async #apply(c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.#pc.addIceCandidate(c);
    } catch (err) {
      logger.debug({ err, candidate: c.candidate }, 'ignored remote candidate');
    }
  }
}
