/**
 * Licode's `ReliableSocket` framing (licode-client.md §2), server side. erizo.js wraps every emit as
 * `{socketgd: n, msg}` with n = 0, 1, 2… per client and re-sends what was not acknowledged after a
 * reconnect; the server answers `socketgd_ack {id: n}`, hands `msg` on, and drops a message whose n
 * it has handled already. Server → client messages go out plain (the client takes both forms).
 */
import type { Socket } from 'socket.io';

/** A handler's socket.io acknowledgement: Licode's calls answer with positional arguments. */
export type Ack = (...args: unknown[]) => void;

const noAck: Ack = () => undefined;

export class ReliableSocket {
  readonly socket: Socket;
  /** The highest `socketgd` handled; -1 before the first. */
  #last = -1;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /**
   * Calls `handler` with each `event`'s unwrapped message, once per `socketgd` id. The handler's
   * acknowledgement is the client's socket.io callback, or a no-op when it sent none.
   */
  on(event: string, handler: (msg: unknown, ack: Ack) => void): void {
    this.socket.on(event, (payload: unknown, ...rest: unknown[]) => {
      const last = rest.at(-1);
      const ack: Ack =
        typeof last === 'function' ? (last as Ack) : typeof payload === 'function' ? (payload as Ack) : noAck;
      const message = typeof payload === 'function' ? undefined : payload;
      if (isWrapped(message)) {
        const id = message.socketgd;
        this.socket.emit('socketgd_ack', { id });
        if (id <= this.#last) {
          return; // re-sent after a reconnect: handled already
        }
        this.#last = id;
        handler(message.msg, ack);
        return;
      }
      handler(message, ack);
    });
  }

  emit(event: string, payload?: unknown): void {
    if (this.socket.connected) {
      this.socket.emit(event, payload);
    }
  }
}

/** `{socketgd, msg}`; `msg` is absent when the client sent none (JSON drops `undefined`). */
function isWrapped(m: unknown): m is { socketgd: number; msg: unknown } {
  if (typeof m !== 'object' || m === null) {
    return false;
  }
  const id = (m as { socketgd?: unknown }).socketgd;
  return (
    typeof id === 'number' &&
    Number.isSafeInteger(id) &&
    id >= 0 &&
    Object.keys(m).every((k) => k === 'socketgd' || k === 'msg')
  );
}
