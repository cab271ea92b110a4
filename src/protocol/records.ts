/**
 * Typed access to the room and service records in the Store, shared by the api, room and signal roles.
 * A room is a Store hash (one JSON-encoded field per setting), so two instances changing different
 * settings at once never undo each other; a service is one JSON string.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../backbone/index.ts';
import { roomKeys, roomRecord, serviceRecord, type RoomRecord, type ServiceRecord } from './room.ts';
import { safeEqual } from './tokens.ts';
import { logger } from '../util/logger.ts';

export async function getRoom(store: Store, dc: string, id: string): Promise<RoomRecord | undefined> {
  const raw = await store.hgetall(roomKeys.room(dc, id));
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
  dc: string,
  id: string,
  fields: Partial<Omit<RoomRecord, 'id'>>,
): Promise<void> {
  const key = roomKeys.room(dc, id);
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

export async function deleteRoom(store: Store, dc: string, id: string): Promise<void> {
  await store.del(roomKeys.room(dc, id));
}

/** Rooms of one service (or all), oldest first. */
export async function listRooms(store: Store, dc: string, service?: string): Promise<RoomRecord[]> {
  const prefix = roomKeys.roomPrefix(dc);
  const out: RoomRecord[] = [];
  for (const key of await store.keys(prefix)) {
    const room = await getRoom(store, dc, key.slice(prefix.length));
    if (room && (service === undefined || room.service === service)) {
      out.push(room);
    }
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

export async function getService(store: Store, dc: string, id: string): Promise<ServiceRecord | undefined> {
  const raw = await store.get(roomKeys.service(dc, id));
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

export async function putService(store: Store, dc: string, s: ServiceRecord): Promise<void> {
  await store.set(roomKeys.service(dc, s.id), JSON.stringify(s));
}

export async function deleteService(store: Store, dc: string, id: string): Promise<void> {
  await store.del(roomKeys.service(dc, id));
}

export async function listServices(store: Store, dc: string): Promise<ServiceRecord[]> {
  const prefix = roomKeys.servicePrefix(dc);
  const out: ServiceRecord[] = [];
  for (const key of await store.keys(prefix)) {
    const s = await getService(store, dc, key.slice(prefix.length));
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
