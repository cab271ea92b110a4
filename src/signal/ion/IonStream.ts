/**
 * What ION's two client streams (IonRtc: `rtc.RTC/Signal`, IonRoom: `room.RoomSignal/Signal`) share:
 * a conn id the media and room nodes' notifications come back to, requests handled one at a time in
 * arrival order after the stream's token check, half-close ending the stream, the join timeout and
 * keepalive pings.
 */
import { randomUUID } from 'node:crypto';
import type { MemberRecord } from '../../protocol/room.ts';
import type { SignalClient } from '../SignalClient.ts';
import { endWithError, Status, type GrpcCall } from './GrpcCall.ts';
import type { IonToken } from './ionAuth.ts';

export abstract class IonStream<Req> implements SignalClient {
  readonly conn: string;
  protected readonly call: GrpcCall;
  readonly #authorized: Promise<IonToken | undefined>;
  #queue: Promise<void> = Promise.resolve();
  #joinTimer: NodeJS.Timeout | undefined;

  constructor(
    call: GrpcCall,
    authorized: Promise<IonToken | undefined>,
    o: { signalNode: string; joinTimeoutMs: number },
  ) {
    this.call = call;
    this.#authorized = authorized;
    this.conn = `${o.signalNode}/${randomUUID()}`;
    call.on('message', (m) => this.#enqueue(() => this.#step(m as Req)));
    // Ion.Room.close() / Ion.RTC's client half-close: the stream ends, and with it what it holds.
    call.on('halfClose', () => this.#enqueue(() => Promise.resolve(this.call.end(Status.OK))));
    call.once('close', () => this.close());
    if (o.joinTimeoutMs > 0) {
      this.#joinTimer = setTimeout(() => {
        if (!this.joining) {
          call.end(Status.DEADLINE_EXCEEDED, `no join within ${Math.round(o.joinTimeoutMs / 1000)} s`);
        }
      }, o.joinTimeoutMs);
      this.#joinTimer.unref();
    }
  }

  /** Joined or joining: the join timeout leaves the stream alone. */
  protected abstract get joining(): boolean;

  /** One request, after the token check of the stream's start (`token` undefined: anonymous). */
  protected abstract handle(token: IonToken | undefined, req: Req): Promise<void>;

  abstract get node(): string | undefined;
  abstract get membership(): { room: string; member: MemberRecord } | undefined;
  abstract notify(method: string, params: unknown): void;
  abstract updateRecord(m: MemberRecord): void;
  abstract nodeLost(): void;
  abstract close(): void;

  /** The join succeeded: no timeout any more. */
  protected joined(): void {
    clearTimeout(this.#joinTimer);
  }

  notifyFrame(method: string, frame: string): void {
    try {
      this.notify(method, (JSON.parse(frame) as { params?: unknown }).params);
    } catch {
      // not JSON-RPC: nothing for us
    }
  }

  ping(): void {
    this.call.ping();
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step).catch((err: unknown) => endWithError(this.call, err));
  }

  async #step(req: Req): Promise<void> {
    // A refused token already ended the call (IonServer.serve).
    const token = await this.#authorized.catch(() => undefined);
    if (!this.call.ended) {
      await this.handle(token, req);
    }
  }
}
