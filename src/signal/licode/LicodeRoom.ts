/**
 * What every signal instance knows of one room for its Licode clients: the room's Licode streams
 * (attributes, data-only streams; Store hash `sb:<cluster>:licode:<room>`), their events between instances
 * (Bus `sb.<cluster>.licode.<room>`), and the room's roster as the media node owning it sees it.
 */
import type { Bus, Store, Subscription } from '../../backbone/index.ts';
import { rosterMessage, storeKeys, subjects, type RosterMessage } from '../../protocol/cluster.ts';
import {
  licodeKeys,
  licodeRoomEvent,
  licodeStreamRecord,
  licodeSubjects,
  type LicodeRoomEvent,
  type LicodeStreamRecord,
} from '../../protocol/licode.ts';
import { roomKeys, roomSubjects, type SfuAdminReply, type StreamStats } from '../../protocol/room.ts';
import { logger } from '../../util/logger.ts';

export interface LicodeRoomOptions {
  bus: Bus;
  store: Store;
  cluster: string;
  room: string;
  /** This signal instance: its clients' records are live by definition. */
  signalNode: string;
}

export class LicodeRoom {
  readonly #o: LicodeRoomOptions;
  readonly #key: string;

  constructor(o: LicodeRoomOptions) {
    this.#o = o;
    this.#key = licodeKeys.streams(o.cluster, o.room);
  }

  /** Room events (streams added and removed, data, attributes) from every instance, ours included. */
  watch(handler: (e: LicodeRoomEvent) => void): Subscription {
    return this.#o.bus.subscribe(licodeSubjects.room(this.#o.cluster, this.#o.room), (data) => {
      const e = licodeRoomEvent.safeParse(data);
      if (e.success) {
        handler(e.data);
      }
    });
  }

  /** The owner node's roster whenever it changes (`[]` when the room closes there). */
  watchRoster(handler: (peers: RosterMessage['peers']) => void): Subscription {
    return this.#o.bus.subscribe(subjects.roster(this.#o.cluster, this.#o.room), (data) => {
      const r = rosterMessage.safeParse(data);
      if (r.success) {
        handler(r.data.peers);
      }
    });
  }

  publish(e: LicodeRoomEvent): void {
    this.#o.bus.publish(licodeSubjects.room(this.#o.cluster, this.#o.room), e);
  }

  async put(rec: LicodeStreamRecord): Promise<void> {
    await this.#o.store.hset(this.#key, { [String(rec.stream.id)]: JSON.stringify(rec) });
  }

  /** Drops a stream's record and tells the room it is gone. */
  async remove(id: number): Promise<void> {
    try {
      await this.#o.store.hdel(this.#key, String(id));
    } catch (err) {
      logger.warn({ err, room: this.#o.room, id }, 'removing a Licode stream from the Store failed');
    }
    this.publish({ type: 'remove', id });
  }

  async get(id: number): Promise<LicodeStreamRecord | undefined> {
    const raw = (await this.#o.store.hgetall(this.#key))[String(id)];
    if (raw === undefined) {
      return undefined;
    }
    const r = licodeStreamRecord.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  }

  /**
   * The room's Licode streams. Those of a signal instance that stopped beating (a crashed process:
   * its clients never said goodbye) are removed here, as the room role reaps its members.
   */
  async records(): Promise<LicodeStreamRecord[]> {
    const o = this.#o;
    const all = await o.store.hgetall(this.#key);
    const out: LicodeStreamRecord[] = [];
    const alive = new Map<string, Promise<boolean>>();
    for (const [field, raw] of Object.entries(all)) {
      const r = licodeStreamRecord.safeParse(JSON.parse(raw));
      if (!r.success) {
        continue;
      }
      const signal = r.data.owner.split('/')[0]!;
      if (!alive.has(signal)) {
        alive.set(
          signal,
          signal === o.signalNode
            ? Promise.resolve(true)
            : o.store.get(roomKeys.signalAlive(o.cluster, signal)).then((v) => v !== undefined),
        );
      }
      if (await alive.get(signal)) {
        out.push(r.data);
      } else {
        await o.store.hdel(this.#key, field);
        this.publish({ type: 'remove', id: r.data.stream.id });
      }
    }
    return out;
  }

  /** The roster of the node owning the room (none yet: no media, no streams). */
  async roster(): Promise<RosterMessage['peers']> {
    const o = this.#o;
    const owner = await o.store.get(storeKeys.roomOwner(o.cluster, o.room));
    if (owner === undefined) {
      return [];
    }
    try {
      const reply = await o.bus.request<SfuAdminReply>(
        roomSubjects.sfuAdmin(o.cluster, owner),
        { op: 'roster', room: o.room },
        { timeoutMs: 5000 },
      );
      const r = rosterMessage.shape.peers.safeParse(reply.peers ?? []);
      return r.success ? r.data : [];
    } catch (err) {
      logger.warn({ err, room: o.room, owner }, 'the room owner did not give its roster');
      return [];
    }
  }

  /** What the media node receiving stream `msid` from its publisher measures of it (asked of each node of the room). */
  async streamStats(msid: string): Promise<StreamStats | undefined> {
    const o = this.#o;
    for (const node of await this.nodes()) {
      const reply = await o.bus
        .request<SfuAdminReply>(roomSubjects.sfuAdmin(o.cluster, node), {
          op: 'streamStats',
          room: o.room,
          streamId: msid,
        })
        .catch(() => undefined);
      if (reply?.stats) {
        return reply.stats;
      }
    }
    return undefined;
  }

  /** The media nodes hosting the room (owner and relaying nodes). */
  async nodes(): Promise<string[]> {
    return Object.keys(await this.#o.store.hgetall(storeKeys.roomNodes(this.#o.cluster, this.#o.room)));
  }
}
