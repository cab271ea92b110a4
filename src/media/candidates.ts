import type { RTCIceCandidateInit, RTCPeerConnection } from 'werift';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

/**
 * Buffers remote ICE candidates that arrive before the remote description (ion-sfu does the same),
 * then applies them in order. A malformed candidate is logged and dropped, never fatal. At most
 * `max` are taken per negotiation (between two `flush`es, which follow each remote description):
 * werift re-sorts its check list for every candidate, and each is an address we would send checks to.
 */
export class CandidateQueue {
  #pending: RTCIceCandidateInit[] = [];
  readonly #pc: RTCPeerConnection;
  readonly #max: number;
  #count = 0;

  constructor(pc: RTCPeerConnection, max: number) {
    this.#pc = pc;
    this.#max = max;
  }

  async add(c: RTCIceCandidateInit): Promise<void> {
    if (c.candidate && ++this.#count > this.#max) {
      throw new SwitchboardError(
        'negotiation',
        `too many ICE candidates (more than ${this.#max} in this negotiation)`,
      );
    }
    if (!this.#pc.remoteDescription) {
      this.#pending.push(c);
      return;
    }
    await this.#apply(c);
  }

  /** Applies what was buffered; called after each remote description, which starts a new count. */
  async flush(): Promise<void> {
    const list = this.#pending;
    this.#pending = [];
    this.#count = 0;
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
