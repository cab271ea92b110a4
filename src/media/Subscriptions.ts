/**
 * What a peer receives of its room. Two starting points:
 * - `Subscriptions.all()`: every track of the room (ion-sfu's default), less the tracks it
 *   unsubscribed from since (`remove`), which stay excluded across the publisher's renegotiations
 *   until subscribed again (`add`);
 * - `Subscriptions.only(streams, …)`: only the streams (msids) and tracks it names, at join (a Licode
 *   peer: its one subscribed stream, or none for a peer that only publishes) or later (`add`: ION's
 *   `NoAutoSubscribe` and the `subscription` method).
 * `channels`: whether the peer also gets the other clients' data channels (fan-out), and `offer`
 * whether its subscriber PC is offered at join even when there is nothing to receive yet (ion-sdk-js's
 * join() waits for the server's `ion-sfu` channel on it).
 */

/** Excluded or added track ids kept at most (a long meeting's many unsubscribes): oldest go first. */
export const MAX_SUBSCRIPTION_IDS = 4096;

/** What Subscriptions needs of a track (a Receiver). */
export interface SubscribableTrack {
  readonly streamId: string;
  readonly trackId: string;
}

export class Subscriptions {
  /** Every track unless excluded. */
  readonly auto: boolean;
  readonly channels: boolean;
  readonly offer: boolean;
  readonly #streams: ReadonlySet<string>;
  /** Only tracks of this participant (a WHEP viewer of one participant's streams). */
  readonly #member: string | undefined;
  /** Tracks subscribed by id (beyond `auto` / `#streams`). */
  readonly #tracks = new Set<string>();
  /** Tracks unsubscribed by id: not received even when `auto` or their stream says so. */
  readonly #excluded = new Set<string>();

  private constructor(
    auto: boolean,
    streams: Iterable<string>,
    channels: boolean,
    offer: boolean,
    member?: string,
  ) {
    this.auto = auto;
    this.#member = member;
    this.#streams = new Set(streams);
    this.channels = channels;
    this.offer = offer;
  }

  /** Every track and data channel of the room (ion-sfu's default; relay links). */
  static all(): Subscriptions {
    return new Subscriptions(true, [], true, true);
  }

  /**
   * Only streams `streams` (msids), plus tracks added later. `channels` (default false): the data
   * channels too; `offer` (default: when a stream is named): the subscriber PC is offered at join.
   */
  static only(streams: Iterable<string>, o: { channels?: boolean; offer?: boolean } = {}): Subscriptions {
    const list = [...streams];
    return new Subscriptions(false, list, o.channels ?? false, o.offer ?? list.length > 0);
  }

  /**
   * Every track (`member` undefined), or participant `member`'s only, as they come; no data channels
   * and no offer at join (a WHEP viewer, which offers itself).
   */
  static viewer(member?: string): Subscriptions {
    return new Subscriptions(true, [], false, false, member);
  }

  /** The one participant it receives (a WHEP viewer of one participant), or undefined. */
  get member(): string | undefined {
    return this.#member;
  }

  /** Whether the peer receives `t`, a track of participant `from`. */
  wants(t: SubscribableTrack, from?: string): boolean {
    if (this.#excluded.has(t.trackId) || (this.#member !== undefined && from !== this.#member)) {
      return false;
    }
    return this.auto || this.#streams.has(t.streamId) || this.#tracks.has(t.trackId);
  }

  /** Subscribes to track `trackId` (undoes a `remove`). */
  add(trackId: string): void {
    this.#excluded.delete(trackId);
    if (!this.auto) {
      remember(this.#tracks, trackId);
    }
  }

  /** Unsubscribes from track `trackId`, also when `auto` or its stream would bring it. */
  remove(trackId: string): void {
    this.#tracks.delete(trackId);
    remember(this.#excluded, trackId);
  }
}

function remember(set: Set<string>, id: string): void {
  set.delete(id); // re-inserted as the newest
  set.add(id);
  if (set.size > MAX_SUBSCRIPTION_IDS) {
    set.delete(set.values().next().value!);
  }
}
