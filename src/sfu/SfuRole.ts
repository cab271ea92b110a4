import type { Bus, Store, Subscription } from '../backbone/index.ts';
import type { Config } from '../config/index.ts';
import { SFU, type Peer, type MediaOptions } from '../media/index.ts';
import { methods } from '../protocol/ionSfu.ts';
import {
  HEARTBEAT_MS,
  NODE_TTL_MS,
  ROOM_LEASE_MS,
  peerRequest,
  storeKeys,
  subjects,
  type NodeLoad,
  type PeerNotification,
  type PeerRequest,
} from '../protocol/cluster.ts';
import { publishEvent } from '../protocol/events.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { subscribeAdminHandlers } from './adminHandlers.ts';
import { PeerGrants } from './grants.ts';
import { watchTrackEvents } from './trackEvents.ts';

export function mediaOptions(c: Config): MediaOptions {
  return {
    maxBandwidthKbps: c.router.maxbandwidth,
    maxPacketTrack: c.router.maxpackettrack,
    audioLevelThreshold: c.router.audiolevelthreshold,
    audioLevelIntervalMs: c.router.audiolevelinterval,
    audioLevelFilter: c.router.audiolevelfilter,
    iceServers: c.webrtc.iceserver,
    portRange: c.webrtc.portrange,
    iceLite: c.webrtc.candidates.icelite,
    bestQualityFirst: c.router.simulcast.bestqualityfirst,
    enableTemporalLayer: c.router.simulcast.enabletemporallayer,
  };
}

/**
 * The sfu role: serves peer signalling that signal instances forward over the Bus, heartbeats this
 * node's load into the Store and holds the leases of the rooms it hosts. The media core behind it
 * never sees the Bus or the Store.
 */
export class SfuRole {
  readonly sfu: SFU;
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #store: Store;
  readonly #dc: string;
  readonly #peers = new Map<string, Peer>();
  #sub: Subscription | undefined;
  /** Room-service actions (kick, mute, end): adminHandlers.ts. */
  #adminSub: Subscription | undefined;
  /** Token grants of each peer: grants.ts. */
  readonly #grants: PeerGrants;
  #timer: NodeJS.Timeout | undefined;
  /** The heartbeat in flight: one at a time (a slow Store must not pile them up), awaited by close(). */
  #beat: Promise<void> | undefined;
  #cpu = process.cpuUsage();
  #cpuAt = Date.now();

  constructor(config: Config, bus: Bus, store: Store, nodeId: string) {
    this.sfu = new SFU(mediaOptions(config));
    this.nodeId = nodeId;
    this.#bus = bus;
    this.#store = store;
    this.#dc = config.global.dc;
    this.#grants = new PeerGrants(this.sfu);
    watchTrackEvents(this.sfu, (e) => publishEvent(bus, this.#dc, e));
    this.sfu.on('participants', (session, list) => {
      const peers = this.#grants.visible(session, list);
      for (const p of session.peers) {
        const conn = this.#connOf(p);
        if (conn) {
          this.#notify(conn, 'participants', { peers });
        }
      }
    });
    this.sfu.on('session', (session) => {
      session.once('close', () => void this.#release(session.id));
    });
  }

  async start(): Promise<void> {
    this.#sub = this.#bus.subscribe(subjects.sfuRpc(this.#dc, this.nodeId), (data) => this.#handle(data));
    this.#adminSub = subscribeAdminHandlers(this.#bus, this.#dc, this.nodeId, this.sfu);
    // The heartbeat makes this node placeable: our subject must be live on the Bus before that.
    await this.#bus.flush();
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), HEARTBEAT_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beat; // or it could write our node key back after we delete it
    this.#sub?.unsubscribe();
    this.#adminSub?.unsubscribe();
    for (const s of this.sfu.sessions) {
      await this.#store.compareAndDelete(storeKeys.roomOwner(this.#dc, s.id), this.nodeId);
    }
    this.sfu.close();
    this.#peers.clear();
    await this.#store.del(storeKeys.node(this.#dc, this.nodeId));
    await this.#store.del(storeKeys.nodeRooms(this.#dc, this.nodeId));
  }

  load(): NodeLoad {
    let peers = 0;
    let tracks = 0;
    for (const s of this.sfu.sessions) {
      for (const p of s.peers) {
        peers++;
        for (const _ of p.receivers) {
          tracks++;
        }
      }
    }
    const now = Date.now();
    const cpu = process.cpuUsage(this.#cpu);
    const cpuPct = ((cpu.user + cpu.system) / 1000 / Math.max(1, now - this.#cpuAt)) * 100;
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    return { node: this.nodeId, peers, tracks, rooms: [...this.sfu.sessions].length, cpu: cpuPct, at: now };
  }

  #tick(): Promise<void> {
    this.#beat ??= this.#heartbeat().finally(() => (this.#beat = undefined));
    return this.#beat;
  }

  async #heartbeat(): Promise<void> {
    try {
      await this.#store.set(storeKeys.node(this.#dc, this.nodeId), JSON.stringify(this.load()), NODE_TTL_MS);
      const held: Record<string, string> = {};
      for (const s of this.sfu.sessions) {
        const key = storeKeys.roomOwner(this.#dc, s.id);
        if (
          (await this.#store.refresh(key, this.nodeId, ROOM_LEASE_MS)) ||
          (await this.#store.setIfAbsent(key, this.nodeId, ROOM_LEASE_MS))
        ) {
          held[s.id] = String(Date.now() + ROOM_LEASE_MS);
        } else {
          // Another node owns this room now (our lease lapsed): the room is split until relay exists.
          logger.warn({ room: s.id, node: this.nodeId }, 'room lease held by another node');
        }
      }
      if (Object.keys(held).length > 0) {
        await this.#store.hset(storeKeys.nodeRooms(this.#dc, this.nodeId), held, ROOM_LEASE_MS);
      }
    } catch (err) {
      logger.warn({ err }, 'heartbeat failed');
    }
  }

  /** The room closed here: give up its lease and drop it from this node's lease table. */
  async #release(room: string): Promise<void> {
    try {
      await this.#store.compareAndDelete(storeKeys.roomOwner(this.#dc, room), this.nodeId);
      await this.#store.hdel(storeKeys.nodeRooms(this.#dc, this.nodeId), room);
    } catch (err) {
      logger.warn({ err, room }, 'releasing room lease failed');
    }
  }

  #notify(conn: string, method: string, params: unknown): void {
    const [signal] = conn.split('/');
    const msg: PeerNotification = { conn, method, params };
    this.#bus.publish(subjects.signalNotify(this.#dc, signal!), msg);
  }

  #connOf(peer: Peer): string | undefined {
    for (const [conn, p] of this.#peers) {
      if (p === peer) {
        return conn;
      }
    }
    return undefined;
  }

  async #handle(data: unknown): Promise<unknown> {
    try {
      return await this.#dispatch(peerRequest.parse(data));
    } catch (err) {
      // SDP and ICE input errors come from werift as plain Errors: name them as such for the client.
      if (err instanceof SwitchboardError || !(err instanceof Error) || err.name === 'ZodError') {
        throw err;
      }
      throw new SwitchboardError('negotiation', `negotiation failed: ${err.message}`, { cause: err });
    }
  }

  async #dispatch(req: PeerRequest): Promise<unknown> {
    const peer = this.#peers.get(req.conn);
    if (req.method === 'join') {
      return this.#join(req);
    }
    if (req.method === 'leave') {
      peer?.close('client-leave');
      return null;
    }
    if (!peer || peer.closed) {
      throw new SwitchboardError('invalid-state', 'no rtc transport exists for this Peer');
    }
    switch (req.method) {
      case 'offer': {
        const p = methods.offer.parse(req.params);
        PeerGrants.assertMayPublish(this.#grants.of(peer), p.desc.sdp);
        return { type: 'answer', sdp: await peer.offer(p.desc.sdp) };
      }
      case 'answer': {
        const p = methods.answer.parse(req.params);
        await peer.answer(p.desc.sdp);
        return null;
      }
      case 'trickle': {
        const p = methods.trickle.parse(req.params);
        await peer.trickle(p.target, {
          candidate: p.candidate.candidate,
          sdpMid: p.candidate.sdpMid ?? undefined,
          sdpMLineIndex: p.candidate.sdpMLineIndex ?? undefined,
          usernameFragment: p.candidate.usernameFragment ?? undefined,
        });
        return null;
      }
      case 'layer': {
        const p = methods.layer.parse(req.params);
        if (!peer.setPreference(p)) {
          throw new SwitchboardError('not-found', `not subscribed to stream ${p.streamId}`);
        }
        return {};
      }
      case 'mute': {
        const p = methods.mute.parse(req.params);
        if (!peer.muteOwn(p.streamId, p.kind, p.muted)) {
          throw new SwitchboardError('not-found', `no ${p.kind} track in stream ${p.streamId}`);
        }
        return {};
      }
    }
  }

  async #join(req: PeerRequest): Promise<unknown> {
    if (this.#peers.get(req.conn)?.closed === false) {
      throw new SwitchboardError('invalid-state', 'rtc transport already exists for this connection');
    }
    const p = methods.join.parse(req.params);
    const uid = p.uid && p.uid.length > 0 ? p.uid : req.conn.split('/')[1]!;
    const grants = PeerGrants.fromJoin(req.params);
    PeerGrants.assertMayPublish(grants, p.offer.sdp);
    const { peer, answer } = await this.sfu.join({
      sid: p.sid,
      uid,
      name: p.name ?? uid,
      offer: p.offer.sdp,
      sink: (method, params) => this.#notify(req.conn, method, params),
    });
    this.#peers.set(req.conn, peer);
    this.#grants.apply(peer, grants);
    peer.once('close', (reason) => {
      if (this.#peers.get(req.conn) === peer) {
        this.#peers.delete(req.conn);
      }
      logger.info({ sid: p.sid, uid, reason }, 'peer closed');
    });
    logger.info({ sid: p.sid, uid, node: this.nodeId }, 'peer joined');
    return { type: 'answer', sdp: answer };
  }
}
