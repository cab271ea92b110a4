/**
 * Typed access to the room and service records in the Store, shared by the api, room and signal roles.
 * A room is a Store hash (one JSON-encoded field per setting), so two instances changing different
 * settings at once never undo each other; a service is one JSON string.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../backbone/index.ts';
import { roomKeys, roomRecord, serviceRecord, type RoomRecord, type ServiceRecord } from './room.ts';
import { safeEqual } from './tokens.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';

export async function getRoom(store: Store, cluster: string, id: string): Promise<RoomRecord | undefined> {
  const raw = await store.hgetall(roomKeys.room(cluster, id));
  if (Object.keys(raw).length === 0) {
    return undefined;
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    try {
      fields[k] = JSON.parse(v);
    } catch {
      fields[k] = undefined;
    }
  }
  const r = roomRecord.safeParse(fields);
  if (!r.success) {
    logger.warn({ room: id, issues: r.error.issues }, 'ignoring a malformed room record');
    return undefined;
  }
  return r.data;
}

/** Writes the given fields of a room (creating it when absent); `undefined` values delete the field. */
export async function putRoom(
  store: Store,
  cluster: string,
  id: string,
  fields: Partial<Omit<RoomRecord, 'id'>>,
): Promise<void> {
  const key = roomKeys.room(cluster, id);
  const set: Record<string, string> = { id: JSON.stringify(id) };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) {
      await store.hdel(key, k);
    } else {
      set[k] = JSON.stringify(v);
    }
  }
  await store.hset(key, set);
}

/** Deletes a room and frees its name (the name first: a crash in between leaves a findable record). */
export async function deleteRoom(store: Store, cluster: string, id: string): Promise<void> {
  const rec = await getRoom(store, cluster, id);
  if (rec) {
    await store.compareAndDelete(roomKeys.roomName(cluster, rec.service, rec.name), id);
  }
  await store.del(roomKeys.room(cluster, id));
}

// ---- room names --------------------------------------------------------------------------------------
//
// A room's name is unique among its service's rooms (one namespace per service): a join by name and
// REST calls by name must reach exactly one room. `roomKeys.roomName` holds the id of the room of that
// name, claimed with set-if-absent so two concurrent creates cannot both win. The room records stay the
// truth: an index entry whose room has another name (renamed) is stale, and rooms written before the
// index existed are found by a scan, which also tells two rooms of one name apart from one.

/** A claim that was never confirmed (its creator died between claim and record) frees itself. */
const NAME_CLAIM_TTL_MS = 30_000;

/**
 * Claims `name` among `service`'s rooms for room `id`: undefined when `id` holds it now (then write the
 * record and `confirmRoomName`), else the id of the room that has it.
 */
export async function claimRoomName(
  store: Store,
  cluster: string,
  service: string,
  name: string,
  id: string,
): Promise<string | undefined> {
  const key = roomKeys.roomName(cluster, service, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await store.setIfAbsent(key, id, NAME_CLAIM_TTL_MS)) {
      // Rooms from before the index (or renamed past it) are not in it.
      const other = (await listRooms(store, cluster, service)).find((r) => r.name === name && r.id !== id);
      if (other) {
        await store.compareAndDelete(key, id);
        return other.id;
      }
      return undefined;
    }
    const holder = await store.get(key);
    if (holder === id) {
      return undefined;
    }
    if (holder === undefined) {
      continue; // released meanwhile
    }
    const rec = await getRoom(store, cluster, holder);
    if (!rec || (rec.name === name && rec.service === service)) {
      return holder; // taken (or being created: no record yet)
    }
    await store.compareAndDelete(key, holder); // stale: that room was renamed
  }
  throw new SwitchboardError('conflict', `room name "${name}" is being changed concurrently; try again`);
}

/** The record of a claimed name is written: the claim becomes permanent. */
export async function confirmRoomName(
  store: Store,
  cluster: string,
  service: string,
  name: string,
  id: string,
): Promise<void> {
  await store.set(roomKeys.roomName(cluster, service, name), id);
}

/** Writes a new room, its name claimed first; throws `conflict` (409) when the service has a room of that name. */
export async function createRoom(store: Store, cluster: string, rec: RoomRecord): Promise<void> {
  const holder = await claimRoomName(store, cluster, rec.service, rec.name, rec.id);
  if (holder !== undefined) {
    throw new SwitchboardError('conflict', `a room named "${rec.name}" already exists (id ${holder})`);
  }
  await putRoom(store, cluster, rec.id, rec);
  await confirmRoomName(store, cluster, rec.service, rec.name, rec.id);
}

/**
 * Renames a room, keeping the name index right (Nuve's updateRoom / PATCH call it before writing the
 * other fields); throws `conflict` when another room of the service has `name`.
 */
export async function renameRoom(
  store: Store,
  cluster: string,
  rec: RoomRecord,
  name: string,
): Promise<void> {
  if (name === rec.name) {
    return;
  }
  const holder = await claimRoomName(store, cluster, rec.service, name, rec.id);
  if (holder !== undefined) {
    throw new SwitchboardError('conflict', `a room named "${name}" already exists (id ${holder})`);
  }
  await putRoom(store, cluster, rec.id, { name });
  await confirmRoomName(store, cluster, rec.service, name, rec.id);
  await store.compareAndDelete(roomKeys.roomName(cluster, rec.service, rec.name), rec.id);
}

/**
 * The room called `name` among `service`'s rooms. The index answers; with `scan`, a miss looks through
 * the service's rooms (for rooms from before the index) and fixes the index. Two rooms of that name
 * are an explicit `conflict` (409): guessing one would put people into the wrong room.
 */
export async function findRoomByName(
  store: Store,
  cluster: string,
  service: string,
  name: string,
  scan: boolean,
): Promise<RoomRecord | undefined> {
  const key = roomKeys.roomName(cluster, service, name);
  const id = await store.get(key);
  if (id !== undefined) {
    const rec = await getRoom(store, cluster, id);
    if (rec && rec.name === name && rec.service === service) {
      return rec;
    }
  }
  if (!scan) {
    return undefined;
  }
  const found = (await listRooms(store, cluster, service)).filter((r) => r.name === name);
  if (found.length > 1) {
    throw new SwitchboardError(
      'conflict',
      `room name "${name}" is ambiguous: ${found.length} rooms have it (ids ${found.map((r) => r.id).join(', ')}); use the room id`,
    );
  }
  const rec = found[0];
  if (rec && id === undefined) {
    await store.setIfAbsent(key, rec.id); // adopt a room from before the index
  }
  return rec;
}

/** Rooms of one service (or all), oldest first. */
export async function listRooms(store: Store, cluster: string, service?: string): Promise<RoomRecord[]> {
  const prefix = roomKeys.roomPrefix(cluster);
  const out: RoomRecord[] = [];
  for (const key of await store.keys(prefix)) {
    const room = await getRoom(store, cluster, key.slice(prefix.length));
    if (room && (service === undefined || room.service === service)) {
      out.push(room);
    }
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

export async function getService(
  store: Store,
  cluster: string,
  id: string,
): Promise<ServiceRecord | undefined> {
  const raw = await store.get(roomKeys.service(cluster, id));
  if (raw === undefined) {
    return undefined;
  }
  try {
    const r = serviceRecord.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export async function putService(store: Store, cluster: string, s: ServiceRecord): Promise<void> {
  await store.set(roomKeys.service(cluster, s.id), JSON.stringify(s));
}

export async function deleteService(store: Store, cluster: string, id: string): Promise<void> {
  await store.del(roomKeys.service(cluster, id));
}

export async function listServices(store: Store, cluster: string): Promise<ServiceRecord[]> {
  const prefix = roomKeys.servicePrefix(cluster);
  const out: ServiceRecord[] = [];
  for (const key of await store.keys(prefix)) {
    const s = await getService(store, cluster, key.slice(prefix.length));
    if (s) {
      out.push(s);
    }
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/** A service as routes show it: never the key. */
export function publicService(s: ServiceRecord): { _id: string; name: string; superservice?: boolean } {
  return { _id: s.id, name: s.name, ...(s.superservice ? { superservice: true } : {}) };
}

/** 24 hex digits, the shape of Nuve's Mongo ObjectIds. */
export function newId(): string {
  return randomBytes(12).toString('hex');
}

/**
 * Room passwords are shared secrets, not account passwords: a salted SHA-256 keeps them out of the
 * Store and snapshots without putting a slow KDF on the join path.
 */
export function hashPassword(password: string): string {
  const salt = randomBytes(16).toString('hex');
  return `sha256:${salt}:${createHash('sha256').update(`${salt}:${password}`).digest('hex')}`;
}

export function checkPassword(password: string, stored: string): boolean {
  const [alg, salt, hex] = stored.split(':');
  if (alg !== 'sha256' || salt === undefined || hex === undefined) {
    return false;
  }
  return safeEqual(createHash('sha256').update(`${salt}:${password}`).digest('hex'), hex);
}

/** A Store value that is not JSON reads as undefined (the record is then skipped), never as a failure. */
export function parseStoredJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}
