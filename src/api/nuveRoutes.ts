/**
 * Nuve's REST routes (reference/licode.md §2) under `/api`: rooms, tokens, services, users. Success
 * bodies are Nuve's (room JSON, or plain text such as "Room deleted"); errors are JSON
 * `{statusCode, error, message}`. Differences from Nuve, on purpose: service keys never appear in any
 * answer; unknown rooms get 404 instead of a hang; roles are validated when a token is made; room
 * names are unique within a service (Nuve allows duplicates, but then a join or a call by name could
 * not tell which room is meant): creating or renaming to a taken name answers 409.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bus, Store } from '../backbone/index.ts';
import {
  createRoom,
  deleteRoom,
  deleteService,
  findRoomByName,
  getRoom,
  getService,
  hashPassword,
  listRooms,
  listServices,
  newId,
  publicService,
  putRoom,
  putService,
  parseStoredJson,
  renameRoom,
} from '../protocol/records.ts';
import {
  memberRecord,
  roomKeys,
  roomSubjects,
  type ControlRequest,
  type MemberRecord,
  type RoomRecord,
  type ServiceRecord,
} from '../protocol/room.ts';
import {
  applyGrantOverrides,
  encodeLicodeToken,
  LICODE_ROLES,
  LICODE_TOKEN_TTL_MS,
  signToken,
  type LicodeTokenDoc,
} from '../protocol/tokens.ts';
import { BusRequestError } from '../backbone/index.ts';
import { HttpError } from './httpErrors.ts';
import { logger } from '../util/logger.ts';
import { storeKeys, type NodeLoad } from '../protocol/cluster.ts';
import { roomStats } from '../protocol/roomNodes.ts';
import { userPlacement, type UserPlace } from './userPlacement.ts';
import {
  API_BODY_LIMIT,
  createRoomBody,
  createServiceBody,
  createTokenBody,
  endRoomBody,
  muteBody,
  patchRoomBody,
  roomParams,
  serviceParams,
  tokenQuery,
  updateRoomBody,
  userParams,
  type roomOptions,
  unknownKeys,
} from './schemas.ts';
import type { z } from 'zod';

/** Who made the request (MAuth or bearer JWT). */
export interface AuthContext {
  service: ServiceRecord;
  /** MAuth `username` / `role` (Licode puts a token's user there). */
  username?: string | undefined;
  role?: string | undefined;
  via: 'mauth' | 'bearer';
}

export interface RouteContext {
  cluster: string;
  store: Store;
  bus: Bus;
  /** HS256 key of the superservice's JWTs (`[auth] secret`). */
  authSecret: string;
  superserviceKey: string;
  /** `[signal] publicurl`: where erizo.js connects with a Licode token. */
  publicUrl?: string | undefined;
  auth(req: FastifyRequest): AuthContext;
}

/**
 * Where a Licode token sends erizo.js (`host`, `secure`): `[signal] publicurl`, else the Host the
 * REST request named with the port it arrived on when the Host has none (Licode's own Nuve client
 * sends none, and erizo.js would dial port 80).
 */
export function licodeTokenHost(
  req: FastifyRequest,
  publicUrl: string | undefined,
): { host: string; secure: boolean } {
  if (publicUrl !== undefined) {
    const u = new URL(publicUrl);
    return { host: u.host, secure: u.protocol === 'https:' || u.protocol === 'wss:' };
  }
  const secure = req.protocol === 'https';
  const given = req.headers.host ?? req.hostname;
  const hasPort = /:\d+$/.test(given) && !given.endsWith(']');
  const port = req.socket.localPort;
  if (hasPort || port === undefined || port === (secure ? 443 : 80)) {
    return { host: given, secure };
  }
  return { host: `${given}:${port}`, secure };
}

const DEFAULT_JWT_TTL_S = 3600;

function text(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('text/plain; charset=utf-8').send(body);
}

/** A room as Nuve shows it, plus the room service's settings (never the password). */
export function roomJson(r: RoomRecord): Record<string, unknown> {
  return {
    _id: r.id,
    name: r.name,
    ...(r.p2p ? { p2p: true } : {}),
    ...(r.data !== undefined ? { data: r.data } : {}),
    ...(r.mediaConfiguration !== undefined ? { mediaConfiguration: r.mediaConfiguration } : {}),
    ...(r.description !== undefined ? { description: r.description } : {}),
    locked: r.locked,
    hasPassword: r.passwordHash !== undefined,
    maxPeers: r.maxPeers,
  };
}

function userJson(m: MemberRecord, where: UserPlace | undefined): Record<string, unknown> {
  return {
    id: m.uid,
    name: m.name,
    role: m.tokenRole ?? m.role,
    host: m.role === 'host',
    permissions: { publish: m.canPublish ?? true, subscribe: m.canSubscribe ?? true, data: m.canPublishData },
    ...(m.hidden ? { hidden: true } : {}),
    joinedAt: m.joinedAt,
    ...(m.protocol !== undefined ? { protocol: m.protocol } : {}),
    ...(where ? { node: where.node, ...(where.dc !== undefined ? { dc: where.dc } : {}) } : {}),
    tracks: where?.tracks ?? [],
  };
}

/** Settings from room options; `undefined` values clear the field (password: null). */
function settings(o: z.infer<typeof roomOptions>): Partial<RoomRecord> {
  const out: Partial<RoomRecord> = {};
  if (o.mediaConfiguration !== undefined) {
    out.mediaConfiguration = o.mediaConfiguration;
  }
  if (o.locked !== undefined) {
    out.locked = o.locked;
  }
  if (o.maxPeers !== undefined) {
    out.maxPeers = o.maxPeers;
  }
  if (o.description !== undefined) {
    out.description = o.description;
  }
  if (o.password !== undefined) {
    out.passwordHash = o.password === null ? undefined : hashPassword(o.password);
  }
  return out;
}

/** A Nuve route's body: keys Licode's Nuve would ignore are ignored too, and logged. */
function nuveBody<T extends z.ZodType>(schema: T, req: FastifyRequest): z.infer<T> {
  const body: unknown = req.body ?? {};
  const parsed = schema.parse(body);
  const ignored = unknownKeys(schema, body);
  if (ignored.length > 0) {
    logger.info({ ignored: ignored.slice(0, 20), route: req.url }, 'ignoring unknown keys in a Nuve request');
  }
  return parsed;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `:room` is the room id (`_id`) or its name among the service's rooms; a name two rooms share (made
 * before names were unique) is a 409 naming their ids.
 */
export async function findServiceRoom(
  store: Store,
  cluster: string,
  service: ServiceRecord,
  idOrName: string,
): Promise<RoomRecord> {
  const byId = await getRoom(store, cluster, idOrName);
  if (byId && byId.service === service.id) {
    return byId;
  }
  const byName = await findRoomByName(store, cluster, service.id, idOrName, true);
  if (byName) {
    return byName;
  }
  throw new HttpError(404, 'Room does not exist');
}

export function registerNuveRoutes(api: FastifyInstance, ctx: RouteContext): void {
  const { cluster, store } = ctx;
  const opts = { bodyLimit: API_BODY_LIMIT };

  const findRoom = (service: ServiceRecord, idOrName: string): Promise<RoomRecord> =>
    findServiceRoom(store, cluster, service, idOrName);

  async function members(room: string): Promise<MemberRecord[]> {
    const raw = await store.hgetall(roomKeys.members(cluster, room));
    const out: MemberRecord[] = [];
    for (const v of Object.values(raw)) {
      const r = memberRecord.safeParse(parseStoredJson(v));
      if (r.success) {
        out.push(r.data);
      }
    }
    return out.sort((a, b) => a.joinedAt - b.joinedAt);
  }

  /** Asks the room role to kick or end; a cluster without one has nobody to disconnect. */
  async function control(req: ControlRequest, tolerateNoRoomService: boolean): Promise<unknown> {
    try {
      return await ctx.bus.request(roomSubjects.control(cluster), req, { timeoutMs: 10_000 });
    } catch (err) {
      if (tolerateNoRoomService && err instanceof BusRequestError && err.code === 'no-responder') {
        return undefined;
      }
      throw err;
    }
  }

  function requireSuper(a: AuthContext): void {
    if (!a.service.superservice) {
      throw new HttpError(401, 'Service not authorized for this action');
    }
  }

  async function serviceJson(s: ServiceRecord): Promise<Record<string, unknown>> {
    return { ...publicService(s), rooms: (await listRooms(store, cluster, s.id)).map(roomJson) };
  }

  // ---- rooms -----------------------------------------------------------------------------------------

  api.post('/rooms', opts, async (req) => {
    const a = ctx.auth(req);
    const body = nuveBody(createRoomBody, req);
    const o = body.options ?? {};
    if (o.test) {
      throw new HttpError(400, 'test rooms are not supported');
    }
    if (o.getOrCreate) {
      const existing = await findRoomByName(store, cluster, a.service.id, body.name, true);
      if (existing) {
        return roomJson(existing);
      }
    }
    const id = newId();
    const rec: RoomRecord = {
      id,
      name: body.name,
      service: a.service.id,
      locked: false,
      maxPeers: 0,
      adhoc: false,
      createdAt: Date.now(),
      ...(o.p2p ? { p2p: true } : {}),
      ...(o.data !== undefined ? { data: o.data } : {}),
      ...settings(o),
    };
    try {
      await createRoom(store, cluster, rec);
    } catch (err) {
      // getOrCreate racing another create of the name: theirs is the room.
      const winner = o.getOrCreate
        ? await findRoomByName(store, cluster, a.service.id, body.name, true)
        : undefined;
      if (!winner) {
        throw err;
      }
      return roomJson(winner);
    }
    return roomJson(rec);
  });

  api.get('/rooms', async (req) => {
    const a = ctx.auth(req);
    return (await listRooms(store, cluster, a.service.id)).map(roomJson);
  });

  api.get('/rooms/:room', async (req) => {
    const { room } = roomParams.parse(req.params);
    return roomJson(await findRoom(ctx.auth(req).service, room));
  });

  api.put('/rooms/:room', opts, async (req, reply) => {
    const { room } = roomParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const body = nuveBody(updateRoomBody, req);
    const o = body.options ?? {};
    await renameRoom(store, cluster, rec, body.name);
    // Nuve: p2p can only be turned on; data is replaced when given and kept otherwise (Licode's basic
    // example finds its room by data, and renames it).
    await putRoom(store, cluster, rec.id, {
      name: body.name,
      p2p: o.p2p === true || rec.p2p === true ? true : undefined,
      ...(o.data !== undefined ? { data: o.data } : {}),
      ...settings(o),
    });
    return text(reply, 'Room Updated');
  });

  api.patch('/rooms/:room', opts, async (req, reply) => {
    const { room } = roomParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const body = nuveBody(patchRoomBody, req);
    const o = body.options ?? {};
    const fields: Partial<RoomRecord> = { ...settings(o) };
    if (body.name !== undefined) {
      await renameRoom(store, cluster, rec, body.name);
    }
    if (o.p2p === true) {
      fields.p2p = true;
    }
    if (o.data !== undefined) {
      // Nuve: data keys are merged.
      fields.data = isPlainObject(rec.data) && isPlainObject(o.data) ? { ...rec.data, ...o.data } : o.data;
    }
    await putRoom(store, cluster, rec.id, fields);
    return text(reply, 'Room Updated');
  });

  api.delete('/rooms/:room', async (req, reply) => {
    const { room } = roomParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    await control({ op: 'end', room: rec.id, reason: 'room deleted' }, true);
    await deleteRoom(store, cluster, rec.id);
    return text(reply, 'Room deleted');
  });

  /**
   * Ours: the meeting ends (everyone leaves, told `reason`); a room created by the API stays for the next
   * one (an ad-hoc room, made by its first join, goes with its members as always).
   */
  api.post('/rooms/:room/end', opts, async (req) => {
    const { room } = roomParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const body = endRoomBody.parse(req.body ?? {});
    const r = (await control(
      { op: 'end', room: rec.id, reason: body.reason ?? 'ended by the service' },
      true,
    )) as { peers?: number } | undefined;
    return { ended: true, peers: r?.peers ?? 0 };
  });

  // ---- tokens ----------------------------------------------------------------------------------------

  api.post('/rooms/:room/tokens', opts, async (req, reply) => {
    const a = ctx.auth(req);
    const { room } = roomParams.parse(req.params);
    const query = tokenQuery.parse(req.query ?? {});
    const rec = await findRoom(a.service, room);
    const body = createTokenBody.parse(req.body ?? {});
    const user = a.username ?? body.identity;
    const role = a.role ?? body.role ?? 'presenter';
    if (user === undefined || user === '') {
      throw new HttpError(401, 'Name and role?');
    }
    const roleGrants = LICODE_ROLES[role];
    if (!roleGrants) {
      throw new HttpError(400, `unknown role "${role}" (known: ${Object.keys(LICODE_ROLES).join(', ')})`);
    }
    const accept = req.headers.accept ?? '';
    const format = query.format ?? (accept.includes('application/jwt') ? 'jwt' : 'licode');
    if (format === 'jwt') {
      const key = a.service.superservice ? ctx.authSecret : a.service.key;
      const token = await signToken({
        secret: key,
        identity: user,
        room: rec.id,
        name: body.name ?? user,
        grants: applyGrantOverrides(roleGrants, body.grants),
        ttlSeconds: body.ttl ?? DEFAULT_JWT_TTL_S,
        issuer: a.service.id,
        singleUse: true,
      });
      return reply.type('application/jwt').send(token);
    }
    if (body.grants !== undefined || body.ttl !== undefined) {
      throw new HttpError(400, 'grants and ttl need a JWT (?format=jwt); Licode tokens carry a role');
    }
    const tokenId = newId();
    const { host, secure } = licodeTokenHost(req, ctx.publicUrl);
    const doc: LicodeTokenDoc = {
      tokenId,
      room: rec.id,
      userName: user,
      role,
      service: a.service.id,
      host,
      secure,
      creationDate: Date.now(),
    };
    await store.set(roomKeys.licodeToken(cluster, tokenId), JSON.stringify(doc), LICODE_TOKEN_TTL_MS);
    return text(reply, encodeLicodeToken({ tokenId, host, secure }, ctx.superserviceKey));
  });

  // ---- users -----------------------------------------------------------------------------------------

  api.get('/rooms/:room/users', async (req) => {
    const { room } = roomParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const [list, where] = await Promise.all([
      members(rec.id),
      userPlacement(ctx.bus, store, cluster, rec.id),
    ]);
    return list.map((m) => userJson(m, where.get(m.uid)));
  });

  api.get('/rooms/:room/users/:user', async (req) => {
    const { room, user } = userParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const m = (await members(rec.id)).find((x) => x.uid === user || x.name === user);
    if (!m) {
      throw new HttpError(404, 'User does not exist');
    }
    return userJson(m, (await userPlacement(ctx.bus, store, cluster, rec.id)).get(m.uid));
  });

  /**
   * The room's media statistics (ours, not Nuve's): every node hosting the room reports its clients'
   * tracks and subscriptions (src/media/stats.ts); each participant carries its node and region.
   */
  api.get('/rooms/:room/stats', async (req) => {
    const { room } = roomParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const stats = await roomStats(ctx.bus, store, cluster, rec.id);
    return {
      room: stats.room,
      name: rec.name,
      at: stats.at,
      owner: stats.owner,
      totals: stats.totals,
      nodes: stats.nodes,
      participants: stats.participants,
    };
  });

  /** One participant's entry of the room statistics, by uid (else name): 404 when it has none. */
  api.get('/rooms/:room/users/:user/stats', async (req) => {
    const { room, user } = userParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const { participants } = await roomStats(ctx.bus, store, cluster, rec.id);
    const p = participants.find((x) => x.uid === user) ?? participants.find((x) => x.name === user);
    if (!p) {
      throw new HttpError(404, 'User does not exist');
    }
    return p;
  });

  /** Nuve's deleteUser: disconnects every client of that user (uid or name). */
  api.delete('/rooms/:room/users/:user', async (req, reply) => {
    const { room, user } = userParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    await control({ op: 'kick', room: rec.id, user, reason: 'removed by the service' }, false);
    return text(reply, 'Success');
  });

  /** Ours: mute (or unmute) one kind of a participant's (uid or name) tracks, as a host can on `/ws`. */
  api.post('/rooms/:room/users/:user/mute', opts, async (req) => {
    const { room, user } = userParams.parse(req.params);
    const rec = await findRoom(ctx.auth(req).service, room);
    const body = muteBody.parse(req.body ?? {});
    const m = (await members(rec.id)).find((x) => x.uid === user || x.name === user);
    if (!m) {
      throw new HttpError(404, 'User does not exist');
    }
    return control(
      {
        op: 'mute',
        room: rec.id,
        uid: m.uid,
        kind: body.kind,
        muted: body.muted,
        ...(body.streamId !== undefined ? { streamId: body.streamId } : {}),
      },
      false,
    );
  });

  // ---- nodes (superservice only; ours) ------------------------------------------------------------------

  /** The cluster's live media nodes: each one's last heartbeat and the rooms it owns now. */
  api.get('/nodes', async (req) => {
    requireSuper(ctx.auth(req));
    const now = Date.now();
    const nodes: Record<string, unknown>[] = [];
    for (const key of await store.keys(storeKeys.nodePrefix(cluster))) {
      const raw = await store.get(key);
      if (raw === undefined) {
        continue;
      }
      const load = JSON.parse(raw) as NodeLoad;
      const leases = await store.hgetall(storeKeys.nodeRooms(cluster, load.node));
      const owns = Object.entries(leases)
        .filter(([, expires]) => Number(expires) > now)
        .map(([room]) => room)
        .sort();
      nodes.push({ ...load, owns });
    }
    return { nodes: nodes.sort((a, b) => String(a.node).localeCompare(String(b.node))) };
  });

  // ---- services (superservice only) -------------------------------------------------------------------

  api.post('/services', opts, async (req, reply) => {
    requireSuper(ctx.auth(req));
    const body = nuveBody(createServiceBody, req);
    const id = newId();
    await putService(store, cluster, { id, name: body.name, key: body.key, createdAt: Date.now() });
    return text(reply, id);
  });

  api.get('/services', async (req) => {
    requireSuper(ctx.auth(req));
    return Promise.all((await listServices(store, cluster)).map(serviceJson));
  });

  api.get('/services/:service', async (req) => {
    requireSuper(ctx.auth(req));
    const { service } = serviceParams.parse(req.params);
    const s = await getService(store, cluster, service);
    if (!s) {
      throw new HttpError(404, 'Service not found');
    }
    return serviceJson(s);
  });

  api.delete('/services/:service', async (req, reply) => {
    requireSuper(ctx.auth(req));
    const { service } = serviceParams.parse(req.params);
    const s = await getService(store, cluster, service);
    if (!s) {
      throw new HttpError(404, 'Service not found');
    }
    if (s.superservice) {
      throw new HttpError(403, 'the superservice cannot be deleted');
    }
    for (const r of await listRooms(store, cluster, s.id)) {
      await control({ op: 'end', room: r.id, reason: 'service deleted' }, true);
      await deleteRoom(store, cluster, r.id);
    }
    await deleteService(store, cluster, s.id);
    return text(reply, 'Service deleted');
  });
}
