import type { Store } from '../backbone/index.ts';
import { memberRecord, roomKeys, type MemberRecord } from '../protocol/room.ts';
import { logger } from '../util/logger.ts';

/** Slots scanned at most when a room has no cap (a room of more members than this is refused). */
const UNCAPPED_SLOTS = 100_000;

/**
 * Who is in a room, in the Store: a hash uid → member, and one capacity slot key per member.
 *
 * A member holds slot `i` (`sb:<cluster>:slot:<room>:<i>` = its connection id), claimed with the Store's
 * atomic set-if-absent. With `maxPeers = N` only slots 0..N-1 exist, so however many room-role
 * instances admit peers at once, at most N hold a slot: the cap holds across instances. Releasing
 * is compare-and-delete on the slot, which also decides, between racing leaves (socket close, kick,
 * reaper), which one announces the departure.
 */
export class Membership {
  readonly #store: Store;
  readonly #cluster: string;

  constructor(cluster: string, store: Store) {
    this.#cluster = cluster;
    this.#store = store;
  }

  async list(room: string): Promise<MemberRecord[]> {
    const raw = await this.#store.hgetall(roomKeys.members(this.#cluster, room));
    const out: MemberRecord[] = [];
    for (const v of Object.values(raw)) {
      const m = parseMember(v);
      if (m) {
        out.push(m);
      }
    }
    return out.sort((a, b) => a.joinedAt - b.joinedAt || a.uid.localeCompare(b.uid));
  }

  async get(room: string, uid: string): Promise<MemberRecord | undefined> {
    const raw = await this.#store.hgetall(roomKeys.members(this.#cluster, room));
    const v = raw[uid];
    return v === undefined ? undefined : parseMember(v);
  }

  /** Rooms that have members (for the reaper). */
  async rooms(): Promise<string[]> {
    const prefix = roomKeys.membersPrefix(this.#cluster);
    return (await this.#store.keys(prefix)).map((k) => k.slice(prefix.length));
  }

  /**
   * Claims a free slot for `conn`: among 0..maxPeers-1 when capped, else the first free index.
   * Starts at `occupied` (the likely first free one) and wraps. Undefined when the room is full.
   */
  async claimSlot(
    room: string,
    conn: string,
    maxPeers: number,
    occupied: number,
  ): Promise<number | undefined> {
    const size = maxPeers > 0 ? maxPeers : UNCAPPED_SLOTS;
    const start = occupied % size;
    for (let n = 0; n < size; n++) {
      const i = (start + n) % size;
      if (await this.#store.setIfAbsent(roomKeys.slot(this.#cluster, room, i), conn)) {
        return i;
      }
    }
    return undefined;
  }

  async releaseSlot(room: string, slot: number, conn: string): Promise<boolean> {
    return this.#store.compareAndDelete(roomKeys.slot(this.#cluster, room, slot), conn);
  }

  async put(room: string, m: MemberRecord): Promise<void> {
    await this.#store.hset(roomKeys.members(this.#cluster, room), { [m.uid]: JSON.stringify(m) });
  }

  /**
   * Removes `m` if it still holds its slot; true for the one caller that did (it announces the leave).
   * The hash entry is dropped only while it is still this connection's (a rejoin may have replaced it).
   */
  async remove(room: string, m: MemberRecord): Promise<boolean> {
    if (!(await this.releaseSlot(room, m.slot, m.conn))) {
      return false;
    }
    const current = await this.get(room, m.uid);
    if (current?.conn === m.conn) {
      await this.#store.hdel(roomKeys.members(this.#cluster, room), m.uid);
    }
    return true;
  }
}

function parseMember(v: string): MemberRecord | undefined {
  try {
    const r = memberRecord.safeParse(JSON.parse(v));
    if (r.success) {
      return r.data;
    }
  } catch {
    // fall through
  }
  logger.warn('ignoring a malformed member record');
  return undefined;
}
