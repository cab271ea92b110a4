import type { Receiver } from './Receiver.ts';
import type { SignalSink } from './types.ts';

/** Pausing waits this long (a subscriber may come back); resuming is immediate. */
export const DYNACAST_PAUSE_DELAY_MS = 2000;

/**
 * Dynacast (LiveKit's name): simulcast layers no subscriber may receive are paused at the publisher.
 * The publisher's client gets our `layers` notification `{streamId, trackId, active: rid[]}` and sets
 * `active` on its encodings; clients that do not know it (ion-sdk-js) just keep sending every layer.
 */
export class Dynacast {
  readonly #receiver: Receiver;
  readonly #sink: SignalSink;
  #sent = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(receiver: Receiver, sink: SignalSink) {
    this.#receiver = receiver;
    this.#sink = sink;
    receiver.on('layers', () => this.update());
    receiver.once('close', () => clearTimeout(this.#timer));
  }

  update(): void {
    const r = this.#receiver;
    const active = r.wantedLayers().map((l) => l.rid);
    const key = [...active].sort().join(',');
    if (key === this.#sent) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    const fewer = active.length < (this.#sent === '' ? r.layers.length : this.#sent.split(',').length);
    const send = () => {
      this.#timer = undefined;
      this.#sent = key;
      for (const l of r.layers) {
        l.paused = !active.includes(l.rid);
      }
      this.#sink('layers', { streamId: r.streamId, trackId: r.trackId, active });
    };
    clearTimeout(this.#timer);
    if (fewer) {
      this.#timer = setTimeout(send, DYNACAST_PAUSE_DELAY_MS);
      this.#timer.unref();
    } else {
      send();
    }
  }
}
