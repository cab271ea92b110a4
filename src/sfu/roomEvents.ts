/**
 * The room record's name and owning service per media session, looked up once when the session
 * opens. Events the media node publishes after the record is gone (the last `track_unpublished` and
 * a late `recording_finished` of a room made by a join, which is deleted with its last member) must
 * still name the service: its key signs the webhook, and the api role can no longer look it up.
 */
import type { Bus, Store } from '../backbone/index.ts';
import type { SFU } from '../media/index.ts';
import { publishEvent, type EventInit } from '../protocol/events.ts';
import { getRoom } from '../protocol/records.ts';
import { logger } from '../util/logger.ts';

interface RoomIdentity {
  name: string;
  service: string;
}

/** How long a closed session's identity stays known: a recording is finished after its room closed. */
const KEEP_AFTER_CLOSE_MS = 60_000;

export class RoomEvents {
  readonly #rooms = new Map<string, Promise<RoomIdentity | undefined>>();
  readonly #timers = new Set<NodeJS.Timeout>();

  readonly #store: Store;
  readonly #bus: Bus;
  readonly #cluster: string;

  constructor(sfu: SFU, store: Store, bus: Bus, cluster: string) {
    this.#store = store;
    this.#bus = bus;
    this.#cluster = cluster;
    sfu.on('session', (session) => {
      const known = this.#lookup(session.id);
      this.#rooms.set(session.id, known);
      session.once('close', () => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (this.#rooms.get(session.id) === known) {
            this.#rooms.delete(session.id); // not a later session of the same room
          }
        }, KEEP_AFTER_CLOSE_MS).unref();
        this.#timers.add(t);
      });
    });
  }

  /**
   * Publishes an event with the room's name and service filled in. Events of one room wait for the
   * same lookup, so they keep their order.
   */
  publish(e: EventInit): void {
    const known = this.#rooms.get(e.room.sid) ?? Promise.resolve(undefined);
    known
      .then((id) =>
        publishEvent(
          this.#bus,
          this.#cluster,
          id && e.service === undefined
            ? { ...e, room: { sid: e.room.sid, name: id.name }, service: id.service }
            : e,
        ),
      )
      .catch((err: unknown) => logger.debug({ err, event: e.event }, 'event not published (Bus closed?)'));
  }

  close(): void {
    for (const t of this.#timers) {
      clearTimeout(t);
    }
    this.#timers.clear();
    this.#rooms.clear();
  }

  async #lookup(sid: string): Promise<RoomIdentity | undefined> {
    try {
      const rec = await getRoom(this.#store, this.#cluster, sid);
      return rec ? { name: rec.name, service: rec.service } : undefined;
    } catch {
      return undefined; // the api role then looks the room up itself, as before
    }
  }
}
