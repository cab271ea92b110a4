import { roomStats } from '../protocol/roomNodes.ts';
import { randomUUID } from 'node:crypto';
import type { Bus, Store, Subscription } from '../backbone/index.ts';
import { BusRequestError } from '../backbone/index.ts';
import { clusterOf, type Config } from '../config/index.ts';
import { storeKeys, subjects, type PeerNotification } from '../protocol/cluster.ts';
import { publishEvent, type EventInit } from '../protocol/events.ts';
import {
  checkPassword,
  claimRoomName,
  confirmRoomName,
  deleteRoom,
  findRoomByName,
  getRoom,
  hashPassword,
  listRooms,
  putRoom,
  renameRoom,
} from '../protocol/records.ts';
import {
  admitRequest,
  controlRequest,
  EXTERNAL_SIGNAL,
  joinedMessage,
  leaveMessage,
  MAX_INFO_BYTES,
  MAX_MESSAGE_BYTES,
  peerInfo,
  ROOM_QUEUE,
  roomInfo,
  roomKeys,
  roomMethods,
  roomNotifications,
  roomRpcRequest,
  roomSubjects,
  restoreMessage,
  MEMBER_RECORD_NOTIFICATION,
  SIGNAL_TTL_MS,
  type AdmitReply,
  type AdmitRequest,
  type ControlRequest,
  type MemberRecord,
  type PeerInfo,
  type RoomRecord,
  type RoomRpcRequest,
  type SfuAdminReply,
  type SfuAdminRequest,
} from '../protocol/room.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { Membership } from './Membership.ts';

const REAP_INTERVAL_MS = 10_000;

function forbidden(message: string): never {
  throw new SwitchboardError('forbidden', message);
}

/**
 * The room role (ION's room service, Licode's EC rooms, with their holes closed): admits peers
 * (lock, password, max peers, checked before any media is set up), keeps membership and roles in
 * the Store, serves the `room.*` methods clients call on `/ws`, relays chat and data messages,
 * kicks, mutes and ends through the owning media node, and publishes room and participant events.
 *
 * Every instance subscribes in one queue group, and all state is in the Store, so any number of
 * instances can serve a cluster. Host = a token with `roomAdmin`, or, in anonymous mode, whoever
 * joins an empty room first.
 */
export class RoomRole {
  readonly #bus: Bus;
  readonly #store: Store;
  readonly #cluster: string;
  readonly #anonymous: boolean;
  readonly #superservice: string;
  readonly #members: Membership;
  readonly #subs: Subscription[] = [];
  #timer: NodeJS.Timeout | undefined;
  #reaping: Promise<void> | undefined;

  constructor(config: Config, bus: Bus, store: Store, superserviceId: string) {
    this.#bus = bus;
    this.#store = store;
    this.#cluster = clusterOf(config);
    this.#anonymous = config.auth.anonymous;
    this.#superservice = superserviceId;
    this.#members = new Membership(this.#cluster, store);
  }

  async start(): Promise<void> {
    const cluster = this.#cluster;
    const q = { queue: ROOM_QUEUE };
    this.#subs.push(
      this.#bus.subscribe(roomSubjects.admit(cluster), (d) => this.admit(admitRequest.parse(d)), q),
      this.#bus.subscribe(roomSubjects.joined(cluster), (d) => this.#joined(joinedMessage.parse(d)), q),
      this.#bus.subscribe(roomSubjects.leave(cluster), (d) => this.#leave(leaveMessage.parse(d)), q),
      this.#bus.subscribe(roomSubjects.rpc(cluster), (d) => this.#rpc(roomRpcRequest.parse(d)), q),
      this.#bus.subscribe(roomSubjects.control(cluster), (d) => this.#control(controlRequest.parse(d)), q),
      this.#bus.subscribe(roomSubjects.restore(cluster), (d) => this.#restore(restoreMessage.parse(d)), q),
    );
    await this.#bus.flush();
    await this.#dropIdleAdhocRooms();
    this.#timer = setInterval(() => {
      this.#reaping ??= this.#reap().finally(() => (this.#reaping = undefined));
    }, REAP_INTERVAL_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const s of this.#subs.splice(0)) {
      s.unsubscribe();
    }
    await this.#reaping;
  }

  // ---- admission -------------------------------------------------------------------------------------

  /** May this peer join? Throws `forbidden` / `unauthorized` with the reason; records the member. */
  async admit(req: AdmitRequest): Promise<AdmitReply> {
    if (req.info !== undefined && Buffer.byteLength(JSON.stringify(req.info) ?? '') > MAX_INFO_BYTES) {
      throw new SwitchboardError('invalid-params', `info larger than ${MAX_INFO_BYTES} bytes`);
    }
    const rec = await this.#admissionRoom(req.room, req.service);
    const room = rec.id;
    if (rec.service !== req.service && req.service !== this.#superservice) {
      forbidden('token is not valid for this room');
    }
    if (req.attach) {
      const existing = await this.#members.get(room, req.uid);
      if (existing && !req.anonymous) {
        return { role: existing.role, room: roomInfo(rec), member: existing, attached: true };
      }
      if (existing) {
        // Without a token nothing proves it is the same client (it would get past the password),
        // and replacing the member would end the client's own other stream.
        forbidden(
          `"${req.uid}" is already in the room: without a token, join on the signal instance holding it`,
        );
      }
    }
    const admin = req.grants.roomAdmin;
    if (rec.locked && !admin) {
      forbidden('room is locked');
    }
    if (rec.passwordHash !== undefined && !admin) {
      if (req.password === undefined || req.password === '') {
        throw new SwitchboardError('unauthorized', 'room password required');
      }
      if (!checkPassword(req.password, rec.passwordHash)) {
        throw new SwitchboardError('unauthorized', 'wrong room password');
      }
    }
    const members = await this.#members.list(room);
    const previous = members.find((m) => m.uid === req.uid);
    if (previous && previous.conn !== req.conn) {
      // Same identity again (a reload): the old connection goes, as the media node drops its peer.
      if (await this.#members.remove(room, previous)) {
        this.#notify(previous, roomNotifications.kicked, { reason: 'replaced by a new connection' });
      }
    }
    const others = members.filter((m) => m.uid !== req.uid);
    if (rec.maxPeers > 0 && others.length >= rec.maxPeers) {
      forbidden('room is full');
    }
    const slot = await this.#members.claimSlot(room, req.conn, rec.maxPeers, others.length);
    if (slot === undefined) {
      forbidden('room is full');
    }
    // Anonymous mode: the first joiner of an empty room hosts it. Two racing first joiners both see an
    // empty room; slot 0 (atomic) picks one.
    const role = admin || (this.#anonymous && others.length === 0 && slot === 0) ? 'host' : 'guest';
    const member: MemberRecord = {
      uid: req.uid,
      name: req.name,
      conn: req.conn,
      signal: req.signal,
      role,
      hidden: req.grants.hidden,
      canPublish: req.grants.canPublish,
      canSubscribe: req.grants.canSubscribe,
      canPublishData: req.grants.canPublishData,
      ...(req.tokenRole !== undefined ? { tokenRole: req.tokenRole } : {}),
      ...(req.protocol !== undefined ? { protocol: req.protocol } : {}),
      slot,
      joinedAt: Date.now(),
      ...(req.info !== undefined ? { info: req.info } : {}),
    };
    await this.#members.put(room, member);
    logger.debug({ room, uid: req.uid, role, slot }, 'peer admitted');
    return { role, room: roomInfo(rec), member };
  }

  /** The media join succeeded: announce the peer. */
  async #joined(msg: { room: string; uid: string; conn: string }): Promise<void> {
    const m = await this.#members.get(msg.room, msg.uid);
    if (!m || m.conn !== msg.conn) {
      return;
    }
    const confirmed: MemberRecord = { ...m, confirmed: true };
    await this.#members.put(msg.room, confirmed);
    this.#notify(confirmed, MEMBER_RECORD_NOTIFICATION, confirmed);
    const rec = await this.#room(msg.room);
    if (await this.#store.setIfAbsent(roomKeys.live(this.#cluster, msg.room), '1')) {
      this.#event(rec, { event: 'room_started' });
    }
    this.#event(rec, { event: 'participant_joined', participant: { identity: m.uid, name: m.name } });
    const all = await this.#members.list(msg.room);
    if (!m.hidden) {
      this.#broadcast(all, m.uid, roomNotifications.peer, { state: 'join', peer: peerInfo(m) });
    }
    this.#notify(m, roomNotifications.joined, {
      room: roomInfo(rec),
      role: m.role,
      self: peerInfo(m),
      peers: all.filter((o) => o.uid !== m.uid && !o.hidden).map(peerInfo),
    });
  }

  /**
   * The Store lost its data (Redis restarted) and a signal instance writes back one of its members:
   * the member, a capacity slot (its own if still free; any other if a newcomer took it: the peer is
   * in the media already, so it is not refused) and the room's live flag. A member recorded meanwhile
   * (a rejoin) is left alone.
   */
  async #restore(msg: { room: string; member: MemberRecord }): Promise<void> {
    const { room, member } = msg;
    if (await this.#members.get(room, member.uid)) {
      return;
    }
    let slot: number | undefined = member.slot;
    if (!(await this.#store.setIfAbsent(roomKeys.slot(this.#cluster, room, slot), member.conn))) {
      slot = await this.#members.claimSlot(room, member.conn, 0, 0);
    }
    if (slot === undefined) {
      return;
    }
    await this.#members.put(room, { ...member, slot });
    if (member.confirmed) {
      await this.#store.setIfAbsent(roomKeys.live(this.#cluster, room), '1');
    }
  }

  async #leave(msg: { room: string; uid: string; conn: string; reason: string }): Promise<void> {
    const m = await this.#members.get(msg.room, msg.uid);
    if (m && m.conn === msg.conn) {
      await this.#removeMember(msg.room, m, msg.reason);
    }
  }

  async #removeMember(room: string, m: MemberRecord, reason: string): Promise<boolean> {
    if (!(await this.#members.remove(room, m))) {
      return false; // someone else (a racing leave, the reaper) already did
    }
    const all = await this.#members.list(room);
    const rec = await getRoom(this.#store, this.#cluster, room);
    if (m.confirmed) {
      if (!m.hidden) {
        this.#broadcast(all, m.uid, roomNotifications.peer, { state: 'leave', peer: peerInfo(m), reason });
      }
      if (rec) {
        this.#event(rec, {
          event: 'participant_left',
          participant: { identity: m.uid, name: m.name },
          reason,
        });
      }
    }
    if (all.length === 0) {
      await this.#finish(room, rec, reason);
    }
    return true;
  }

  /** The last member left: the room is finished; a room a join created is deleted. */
  async #finish(
    room: string,
    rec: RoomRecord | undefined,
    reason: string,
    deleteRecord = false,
  ): Promise<void> {
    if ((await this.#store.compareAndDelete(roomKeys.live(this.#cluster, room), '1')) && rec) {
      this.#event(rec, { event: 'room_finished', reason });
    }
    if (rec && (rec.adhoc || deleteRecord)) {
      await deleteRoom(this.#store, this.#cluster, room);
    }
  }

  // ---- client methods --------------------------------------------------------------------------------

  async #rpc(req: RoomRpcRequest): Promise<unknown> {
    const self = await this.#members.get(req.room, req.uid);
    if (!self || self.conn !== req.conn) {
      forbidden('not a member of this room');
    }
    const host = self.role === 'host';
    const requireHost = (what: string): void => {
      if (!host) {
        forbidden(`only the host can ${what}`);
      }
    };
    const room = req.room;
    switch (req.method) {
      case 'room.info':
        return roomInfo(await this.#room(room));
      case 'room.stats':
        requireHost("see the room's statistics");
        return roomStats(this.#bus, this.#store, this.#cluster, room);
      case 'room.peers':
        return (await this.#members.list(room)).filter((m) => !m.hidden || m.uid === self.uid).map(peerInfo);
      case 'room.lock':
        requireHost('lock the room');
        return this.#update(room, { locked: true });
      case 'room.unlock':
        requireHost('unlock the room');
        return this.#update(room, { locked: false });
      case 'room.setPassword': {
        requireHost('set the password');
        const p = roomMethods['room.setPassword'].parse(req.params);
        return this.#update(room, { passwordHash: p.password ? hashPassword(p.password) : undefined });
      }
      case 'room.setMaxPeers': {
        requireHost('set max peers');
        const p = roomMethods['room.setMaxPeers'].parse(req.params);
        return this.#update(room, { maxPeers: p.maxPeers });
      }
      case 'room.message': {
        const p = roomMethods['room.message'].parse(req.params);
        if (!self.canPublishData) {
          forbidden('not allowed to send messages: token grants canPublishData=false');
        }
        if (Buffer.byteLength(JSON.stringify(p.data)) > MAX_MESSAGE_BYTES) {
          throw new SwitchboardError('invalid-params', `data larger than ${MAX_MESSAGE_BYTES} bytes`);
        }
        const all = await this.#members.list(room);
        const targets =
          p.to === 'all' ? all.filter((m) => m.uid !== self.uid) : all.filter((m) => m.uid === p.to);
        if (p.to !== 'all' && targets.length === 0) {
          throw new SwitchboardError('not-found', `no peer "${p.to}" in this room`);
        }
        const msg = {
          from: self.uid,
          to: p.to,
          ...(p.type !== undefined ? { type: p.type } : {}),
          data: p.data,
        };
        for (const t of targets) {
          this.#notify(t, roomNotifications.message, msg);
        }
        return { delivered: targets.length };
      }
      case 'room.kick': {
        requireHost('kick');
        const p = roomMethods['room.kick'].parse(req.params);
        const target = await this.#members.get(room, p.uid);
        if (!target) {
          throw new SwitchboardError('not-found', `no peer "${p.uid}" in this room`);
        }
        await this.#kick(room, target, p.reason ?? `kicked by ${self.uid}`);
        return {};
      }
      case 'room.mute': {
        const p = roomMethods['room.mute'].parse(req.params);
        if (p.uid !== self.uid) {
          requireHost("mute another participant's tracks");
          if (!p.muted) {
            forbidden('only the owner can unmute a track');
          }
        }
        return { tracks: await this.#mute(room, p.uid, p.kind, p.muted, p.streamId) };
      }
      case 'room.setRole': {
        requireHost('change roles');
        const p = roomMethods['room.setRole'].parse(req.params);
        const target = await this.#members.get(room, p.uid);
        if (!target) {
          throw new SwitchboardError('not-found', `no peer "${p.uid}" in this room`);
        }
        return this.#updateMember(room, { ...target, role: p.role });
      }
      case 'room.updatePeer': {
        const p = roomMethods['room.updatePeer'].parse(req.params);
        return this.#updateMember(room, {
          ...self,
          ...(p.name !== undefined ? { name: p.name } : {}),
          ...(p.info !== undefined ? { info: p.info } : {}),
        });
      }
      case 'room.end': {
        requireHost('end the room');
        const p = roomMethods['room.end'].parse(req.params) ?? {};
        const count = await this.#end(room, p.reason ?? `ended by ${self.uid}`, p.delete === true);
        return { peers: count };
      }
      default:
        throw new SwitchboardError('invalid-params', `unknown room method ${req.method}`);
    }
  }

  async #update(room: string, fields: Partial<RoomRecord>): Promise<unknown> {
    await this.#room(room);
    await putRoom(this.#store, this.#cluster, room, fields);
    const info = roomInfo(await this.#room(room));
    this.#broadcast(await this.#members.list(room), undefined, roomNotifications.updated, { room: info });
    return info;
  }

  async #updateMember(room: string, m: MemberRecord): Promise<unknown> {
    await this.#members.put(room, m);
    this.#notify(m, MEMBER_RECORD_NOTIFICATION, m);
    const info = peerInfo(m);
    if (!m.hidden) {
      this.#broadcast(await this.#members.list(room), undefined, roomNotifications.peer, {
        state: 'update',
        peer: info,
      });
    }
    return info;
  }

  // ---- kick / end (clients and the REST API) ---------------------------------------------------------

  async #control(req: ControlRequest): Promise<unknown> {
    switch (req.op) {
      case 'end':
        return { peers: await this.#end(req.room, req.reason ?? 'room deleted', false) };
      case 'update':
        return this.#controlUpdate(req);
      case 'updatePeer': {
        const m = await this.#members.get(req.room, req.uid);
        if (!m) {
          throw new SwitchboardError('not-found', `no peer "${req.uid}" in this room`);
        }
        return this.#updateMember(req.room, {
          ...m,
          ...(req.name !== undefined ? { name: req.name } : {}),
          ...(req.info !== undefined ? { info: req.info } : {}),
        });
      }
      case 'addPeer':
        return this.#addExternal(req);
      case 'mute':
        return { tracks: await this.#mute(req.room, req.uid, req.kind, req.muted, req.streamId) };
      case 'kick':
        break;
    }
    const targets = (await this.#members.list(req.room)).filter(
      (m) => m.uid === req.user || (!req.uidOnly && m.name === req.user),
    );
    if (targets.length === 0) {
      throw new SwitchboardError('not-found', 'User does not exist');
    }
    for (const t of targets) {
      await this.#kick(req.room, t, req.reason ?? 'kicked by the service');
    }
    return { kicked: targets.length };
  }

  /** An existing room's settings from the API (renamed first: a taken name changes nothing). */
  async #controlUpdate(req: Extract<ControlRequest, { op: 'update' }>): Promise<unknown> {
    const rec = await getRoom(this.#store, this.#cluster, req.room);
    if (!rec) {
      throw new SwitchboardError('not-found', 'room does not exist');
    }
    if (req.name !== undefined) {
      await renameRoom(this.#store, this.#cluster, rec, req.name);
    }
    const fields: Partial<RoomRecord> = {};
    if (req.locked !== undefined) {
      fields.locked = req.locked;
    }
    if (req.maxPeers !== undefined) {
      fields.maxPeers = req.maxPeers;
    }
    if (req.password !== undefined) {
      fields.passwordHash = req.password ? hashPassword(req.password) : undefined;
    }
    if (req.description !== undefined) {
      fields.description = req.description ? req.description : undefined;
    }
    if (req.metadata !== undefined) {
      fields.metadata = req.metadata ? req.metadata : undefined;
    }
    return this.#update(req.room, fields);
  }

  /**
   * A member without a connection (ION's AddPeer): a slot like any member (max peers counts it), the
   * join announced as a media join's is; it stays until kicked or the room ends.
   */
  async #addExternal(req: Extract<ControlRequest, { op: 'addPeer' }>): Promise<PeerInfo> {
    const room = req.room;
    const rec = await getRoom(this.#store, this.#cluster, room);
    if (!rec) {
      throw new SwitchboardError('not-found', 'room does not exist');
    }
    const members = await this.#members.list(room);
    if (members.some((m) => m.uid === req.uid)) {
      throw new SwitchboardError('conflict', `peer "${req.uid}" is already in the room`);
    }
    if (rec.maxPeers > 0 && members.length >= rec.maxPeers) {
      forbidden('room is full');
    }
    const conn = `${EXTERNAL_SIGNAL}/${randomUUID()}`;
    const slot = await this.#members.claimSlot(room, conn, rec.maxPeers, members.length);
    if (slot === undefined) {
      forbidden('room is full');
    }
    const member: MemberRecord = {
      uid: req.uid,
      name: req.name === '' ? req.uid : req.name,
      conn,
      signal: EXTERNAL_SIGNAL,
      role: 'guest',
      hidden: false,
      canPublish: false,
      canSubscribe: false,
      canPublishData: false,
      slot,
      joinedAt: Date.now(),
      ...(req.info !== undefined ? { info: req.info } : {}),
      external: true,
    };
    await this.#members.put(room, member);
    if ((await this.#members.get(room, req.uid))?.conn !== conn) {
      // A join of that uid won the race.
      await this.#members.releaseSlot(room, slot, conn);
      throw new SwitchboardError('conflict', `peer "${req.uid}" is already in the room`);
    }
    await this.#joined({ room, uid: req.uid, conn });
    logger.info({ room, uid: req.uid }, 'peer without a connection added');
    return peerInfo(member);
  }

  /** A member's tracks of one kind (or of one stream) muted or unmuted on its node; how many changed. */
  async #mute(
    room: string,
    uid: string,
    kind: 'audio' | 'video',
    muted: boolean,
    streamId: string | undefined,
  ): Promise<number> {
    if (!(await this.#members.get(room, uid))) {
      throw new SwitchboardError('not-found', `no peer "${uid}" in this room`);
    }
    const r = await this.#sfu(room, {
      op: 'mute',
      room,
      uid,
      kind,
      muted,
      ...(streamId !== undefined ? { streamId } : {}),
    });
    if (r.count === 0) {
      throw new SwitchboardError('not-found', `"${uid}" publishes no ${kind} track`);
    }
    return r.count;
  }

  /** Membership first (so the socket's own leave, which follows, finds nothing), then the media. */
  async #kick(room: string, m: MemberRecord, reason: string): Promise<void> {
    await this.#removeMember(room, m, 'kicked');
    this.#notify(m, roomNotifications.kicked, { reason });
    await this.#sfu(room, { op: 'kick', room, uid: m.uid });
    logger.info({ room, uid: m.uid, reason }, 'peer kicked');
  }

  /** Everyone leaves; returns how many members there were. */
  async #end(room: string, reason: string, deleteRecord: boolean): Promise<number> {
    const members = await this.#members.list(room);
    const rec = await getRoom(this.#store, this.#cluster, room);
    const removed: MemberRecord[] = [];
    for (const m of members) {
      if (await this.#members.remove(room, m)) {
        removed.push(m);
      }
    }
    for (const m of members) {
      this.#notify(m, roomNotifications.ended, { reason });
    }
    await this.#sfu(room, { op: 'end', room });
    for (const m of removed) {
      if (m.confirmed && rec) {
        this.#event(rec, {
          event: 'participant_left',
          participant: { identity: m.uid, name: m.name },
          reason: 'room-ended',
        });
      }
    }
    await this.#finish(room, rec, 'room-ended', deleteRecord);
    logger.info({ room, peers: members.length, reason }, 'room ended');
    return members.length;
  }

  /** Rooms a join created outlive a shutdown in the snapshot; with nobody in them they go. */
  async #dropIdleAdhocRooms(): Promise<void> {
    try {
      for (const r of await listRooms(this.#store, this.#cluster)) {
        if (r.adhoc && (await this.#members.list(r.id)).length === 0) {
          await deleteRoom(this.#store, this.#cluster, r.id);
        }
      }
    } catch (err) {
      logger.warn({ err }, 'cleaning up idle rooms failed');
    }
  }

  /** Members of signal instances that stopped heartbeating (crashed) leave. */
  async #reap(): Promise<void> {
    try {
      const alive = new Map<string, boolean>();
      const cutoff = Date.now() - SIGNAL_TTL_MS;
      for (const room of await this.#members.rooms()) {
        for (const m of await this.#members.list(room)) {
          if (m.joinedAt > cutoff || m.external) {
            continue;
          }
          let ok = alive.get(m.signal);
          if (ok === undefined) {
            ok = (await this.#store.get(roomKeys.signalAlive(this.#cluster, m.signal))) !== undefined;
            alive.set(m.signal, ok);
          }
          if (!ok && (await this.#removeMember(room, m, 'signal-lost'))) {
            logger.info({ room, uid: m.uid, signal: m.signal }, 'reaped a member of a lost signal instance');
          }
        }
      }
    } catch (err) {
      logger.warn({ err }, 'member reaper failed');
    }
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  /**
   * The room a join names: the room of that name among the service's rooms (names are unique per
   * service, so a join by name reaches the REST room of that name), else the room of that id (REST
   * tokens name the id), else a new ad-hoc room whose id and name are what the join said. A name two
   * rooms share (made before names were unique) is refused rather than guessed.
   */
  async #admissionRoom(sid: string, service: string): Promise<RoomRecord> {
    const cluster = this.#cluster;
    const named = await findRoomByName(this.#store, cluster, service, sid, false);
    if (named) {
      return named;
    }
    const byId = await getRoom(this.#store, cluster, sid);
    if (byId) {
      return byId;
    }
    const scanned = await findRoomByName(this.#store, cluster, service, sid, true);
    if (scanned) {
      return scanned;
    }
    const holder = await claimRoomName(this.#store, cluster, service, sid, sid);
    if (holder !== undefined) {
      // A REST create of this name won the race: its room it is, once written.
      const rec = await getRoom(this.#store, cluster, holder);
      if (!rec) {
        throw new SwitchboardError('unavailable', `room "${sid}" is being created; try again`);
      }
      return rec;
    }
    const rec = await this.#room(sid, service);
    await confirmRoomName(this.#store, cluster, service, sid, sid);
    return rec;
  }

  /** The room's record; a room nobody created through the API is created by its first join. */
  async #room(id: string, service = this.#superservice): Promise<RoomRecord> {
    const existing = await getRoom(this.#store, this.#cluster, id);
    if (existing) {
      return existing;
    }
    const rec: RoomRecord = {
      id,
      name: id,
      service,
      locked: false,
      maxPeers: 0,
      adhoc: true,
      createdAt: Date.now(),
    };
    await putRoom(this.#store, this.#cluster, id, { ...rec });
    return (await getRoom(this.#store, this.#cluster, id)) ?? rec;
  }

  /** Acts on the media node hosting `room`; no node (no media yet) = nothing to do. */
  async #sfu(room: string, req: SfuAdminRequest): Promise<SfuAdminReply> {
    const node = await this.#store.get(storeKeys.roomOwner(this.#cluster, room));
    if (!node) {
      return { count: 0 };
    }
    try {
      return await this.#bus.request<SfuAdminReply>(roomSubjects.sfuAdmin(this.#cluster, node), req, {
        timeoutMs: 5000,
      });
    } catch (err) {
      if (err instanceof BusRequestError && (err.code === 'no-responder' || err.code === 'timeout')) {
        logger.warn({ room, node, op: req.op }, 'media node did not answer a room action');
        return { count: 0 };
      }
      throw err;
    }
  }

  #notify(m: MemberRecord, method: string, params: unknown): void {
    if (m.external) {
      return; // nobody to tell
    }
    const msg: PeerNotification = { conn: m.conn, method, params };
    this.#bus.publish(subjects.signalNotify(this.#cluster, m.signal), msg);
  }

  #broadcast(
    members: readonly MemberRecord[],
    except: string | undefined,
    method: string,
    params: unknown,
  ): void {
    for (const m of members) {
      if (m.uid !== except) {
        this.#notify(m, method, params);
      }
    }
  }

  #event(rec: RoomRecord, e: Omit<EventInit, 'room' | 'service'>): void {
    publishEvent(this.#bus, this.#cluster, {
      ...e,
      room: { sid: rec.id, name: rec.name },
      service: rec.service,
    });
  }
}
