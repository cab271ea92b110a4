import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Bus, Store, Subscription } from '../backbone/index.ts';
import { clusterOf, type Config } from '../config/index.ts';
import {
  SFU,
  Subscriptions,
  type MediaOptions,
  type Participant,
  type Peer,
  type Session,
  type SubscriptionChange,
} from '../media/index.ts';
import { z } from 'zod';
import { joinConfig, methods, type JoinConfig } from '../protocol/ionSfu.ts';
import {
  HEARTBEAT_MS,
  NODE_TTL_MS,
  ROOM_LEASE_MS,
  peerRequest,
  RECONNECT_NOTIFICATION,
  RELAY_UID_PREFIX,
  storeKeys,
  subjects,
  type NodeLoad,
  type PeerNotification,
  type PeerRequest,
  type ReconnectReason,
} from '../protocol/cluster.ts';
import type { RosterMessage } from '../protocol/cluster.ts';
import { licodePeerJoin, licodeUnsubscribe } from '../protocol/licode.ts';
import { LIVEKIT_LEVELS_NOTIFICATION, livekitPeerJoin } from '../protocol/livekit.ts';
import { WHEP_STREAM_ID, whepPeerJoin } from '../protocol/whip.ts';
import { roomSubjects, sfuAdminRequest, type SfuAdminReply, type SfuAdminRequest } from '../protocol/room.ts';
import { SwitchboardError } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { handleAdmin } from './adminHandlers.ts';
import { DEFAULT_JOIN_CONFIG, PeerGrants } from './grants.ts';
import {
  livekitDataPolicy,
  livekitProtocolReady,
  otherClientDataPolicy,
  relayDataPolicy,
} from './livekitData.ts';
import { clientPeers, Relays } from './Relays.ts';
import { RecordingService } from './recordingService.ts';
import { RoomEvents } from './roomEvents.ts';
import { watchTrackEvents } from './trackEvents.ts';

/** A draining node waits this long for its clients to move before it closes anyway. */
export const DRAIN_TIMEOUT_MS = 10_000;

/** What a relay link adds to the `join` it sends (src/sfu/RelayLink.ts); the signal role strips it from clients'. */
const relayJoin = z.object({ relay: z.object({ node: z.string().min(1).max(256) }) });

export function mediaOptions(c: Config): MediaOptions {
  return {
    maxBandwidthKbps: c.router.maxbandwidth,
    startBitrateKbps: c.router.startbitrate,
    maxPacketTrack: c.router.maxpackettrack,
    audioLevelThreshold: c.router.audiolevelthreshold,
    audioLevelIntervalMs: c.router.audiolevelinterval,
    audioLevelFilter: c.router.audiolevelfilter,
    iceServers: c.webrtc.iceserver,
    portRange: c.webrtc.portrange,
    singlePort: c.webrtc.singleport,
    tcpPort: c.webrtc.tcpport,
    nat1to1: c.webrtc.candidates.nat1to1,
    iceLite: c.webrtc.candidates.icelite,
    mdns: c.webrtc.mdns,
    iceTimeouts: c.webrtc.timeouts,
    bestQualityFirst: c.router.simulcast.bestqualityfirst,
    enableTemporalLayer: c.router.simulcast.enabletemporallayer,
    maxMediaSections: c.webrtc.maxmediasections,
    maxCandidates: c.webrtc.maxcandidates,
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
  /** Publishes track and recording events with their room's service (its key signs the webhook). */
  readonly #events: RoomEvents;
  readonly #cluster: string;
  /** This node's region (`[global] dc`), in its heartbeat for region-aware placement. */
  readonly #dc: string;
  readonly #peers = new Map<string, Peer>();
  #sub: Subscription | undefined;
  /** Room-service actions (kick, mute, end): adminHandlers.ts. */
  #adminSub: Subscription | undefined;
  /** Token grants of each peer: grants.ts. */
  readonly #grants: PeerGrants;
  #timer: NodeJS.Timeout | undefined;
  #unregisterReset: (() => void) | undefined;
  /** The heartbeat in flight: one at a time (a slow Store must not pile them up), awaited by close(). */
  #beat: Promise<void> | undefined;
  #cpu = process.cpuUsage();
  #cpuAt = Date.now();
  /** Event-loop delay between heartbeats (operators see a node falling behind before peers do). */
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 20 });
  /** Cascading: relay links to and from other nodes (Relays.ts). */
  readonly #relays: Relays;
  /** `[sfu] maxpeers`, `maxpacketrate` (0 = none). */
  readonly #limits: { maxPeers: number; maxPacketRate: number };
  /** Client joins in progress, counted against `maxpeers` so a burst cannot overshoot it. */
  #joining = 0;
  #forwarded = 0;
  #packetRate = 0;
  #draining = false;
  #pingSub: Subscription | undefined;
  /** startRecorder / stopRecorder and the api's recording requests: recordingService.ts. */
  readonly recordings: RecordingService;

  constructor(config: Config, bus: Bus, store: Store, nodeId: string) {
    this.sfu = new SFU(mediaOptions(config));
    this.nodeId = nodeId;
    this.#bus = bus;
    this.#store = store;
    this.#cluster = clusterOf(config);
    this.#dc = config.global.dc;
    this.#grants = new PeerGrants(this.sfu);
    this.#limits = { maxPeers: config.sfu.maxpeers, maxPacketRate: config.sfu.maxpacketrate };
    this.#relays = new Relays({
      sfu: this.sfu,
      bus,
      store,
      cluster: this.#cluster,
      node: nodeId,
      notify: (conn, method, params) => this.#notify(conn, method, params),
      notifyAll: (conns, method, params) => this.#notifyAll(conns, method, params),
      connOf: (peer) => this.#connOf(peer),
      visible: (session, list) => this.#grants.visible(session, list),
      publishRoster: (room, peers) => this.#publishRoster(room, peers),
    });
    this.#events = new RoomEvents(this.sfu, store, bus, this.#cluster);
    watchTrackEvents(this.sfu, (e) => this.#events.publish(e));
    this.recordings = new RecordingService({
      config,
      bus,
      store,
      cluster: this.#cluster,
      node: nodeId,
      sfu: this.sfu,
      publishEvent: (e) => this.#events.publish(e),
    });
    // Rosters cross relay links: Relays.broadcastRoster merges what the other nodes report.
    this.sfu.on('participants', (session) => this.#relays.broadcastRoster(session));
    this.sfu.on('session', (session) => {
      // A relay peer's tracks are other nodes' participants': its roster names them (WHEP viewers of
      // one participant, Subscriptions.viewer, match by that uid).
      session.publisherOf = (owner, streamId) =>
        owner.relay ? (this.#relays.publisherOf(session, owner, streamId) ?? owner.member) : owner.member;
      session.once('close', () => {
        this.#publishRoster(session.id, []);
        void this.#release(session.id);
      });
    });
  }

  async start(): Promise<void> {
    this.#loopDelay.enable();
    await this.sfu.start(); // binds [webrtc] singleport / tcpport: a port in use fails the start
    this.#sub = this.#bus.subscribe(subjects.sfuRpc(this.#cluster, this.nodeId), (data) =>
      this.#handle(data),
    );
    this.#adminSub = this.#bus.subscribe(roomSubjects.sfuAdmin(this.#cluster, this.nodeId), (data) =>
      this.#admin(sfuAdminRequest.parse(data)),
    );
    this.#pingSub = this.#bus.subscribe(subjects.sfuPing(this.#cluster, this.nodeId), () => ({}));
    this.recordings.start();
    this.#relays.start();
    // The heartbeat makes this node placeable: our subject must be live on the Bus before that.
    await this.#bus.flush();
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), HEARTBEAT_MS);
    // Redis lost its data: heartbeat and room leases at once, not at the next beat (a join placed
    // meanwhile would find the room unowned and could open it on another node).
    this.#unregisterReset = this.#store.onReset(() => this.#tick());
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#unregisterReset?.();
    clearInterval(this.#timer);
    await this.#beat; // or it could write our node key back after we delete it
    this.#sub?.unsubscribe();
    this.#adminSub?.unsubscribe();
    this.#pingSub?.unsubscribe();
    this.#loopDelay.disable();
    await this.recordings.close(); // finishes the files while the media still flows
    // Clients and other nodes' links learn at once that this node goes (not at their next ping).
    this.#sendReconnect('node-drain');
    await this.#relays.close();
    for (const s of this.sfu.sessions) {
      await this.#store.compareAndDelete(storeKeys.roomOwner(this.#cluster, s.id), this.nodeId);
    }
    this.sfu.close();
    this.#events.close();
    this.#peers.clear();
    await this.#store.del(storeKeys.node(this.#cluster, this.nodeId));
    await this.#store.del(storeKeys.nodeRooms(this.#cluster, this.nodeId));
  }

  /** The node's load for its heartbeat; `peers` counts clients (relay links are `relays`). */
  load(): NodeLoad {
    let peers = 0;
    let tracks = 0;
    let forwarded = this.sfu.totals.packetsOut;
    for (const s of this.sfu.sessions) {
      for (const p of s.peers) {
        peers += p.relay ? 0 : 1;
        for (const _ of p.receivers) {
          tracks++;
        }
        for (const dt of p.subscriber.downTracks) {
          forwarded += dt.packetsSent;
        }
      }
    }
    const now = Date.now();
    const elapsed = Math.max(1, now - this.#cpuAt);
    const cpu = process.cpuUsage(this.#cpu);
    const cpuPct = ((cpu.user + cpu.system) / 1000 / elapsed) * 100;
    this.#packetRate = Math.max(0, Math.round(((forwarded - this.#forwarded) * 1000) / elapsed));
    this.#forwarded = forwarded;
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    return {
      node: this.nodeId,
      dc: this.#dc,
      peers,
      tracks,
      rooms: [...this.sfu.sessions].length,
      cpu: cpuPct,
      at: now,
      packetRate: this.#packetRate,
      relays: this.#relays.count,
      maxPeers: this.#limits.maxPeers,
      maxPacketRate: this.#limits.maxPacketRate,
      ...(this.#draining ? { draining: true } : {}),
      rss: process.memoryUsage.rss(),
      eventLoopDelayMs: this.#loopDelayMs(),
      pid: process.pid,
      host: hostname(),
    };
  }

  /** p99 of the event-loop delay since the last heartbeat, ms; the histogram starts over. */
  #loopDelayMs(): number {
    const h = this.#loopDelay;
    const ms = h.count > 0 ? Math.round(h.percentile(99) / 1e4) / 100 : 0;
    h.reset();
    return ms;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * SIGTERM: stop taking rooms and peers (the heartbeat says `draining`, so the registry skips this
   * node), release every room lease (nodes relaying our rooms take them over), tell every client to
   * `reconnect` (its signal instance closes the socket; the client joins again and lands on a live
   * node), then wait until the clients are gone or `timeoutMs` passed. `close()` finishes the job.
   */
  async drain(timeoutMs = DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.#draining) {
      return;
    }
    this.#draining = true;
    logger.info({ node: this.nodeId }, 'draining: no new rooms or peers; clients are asked to reconnect');
    await this.#tick();
    for (const s of [...this.sfu.sessions]) {
      await this.#release(s.id);
    }
    await this.#store.del(storeKeys.nodeRooms(this.#cluster, this.nodeId)).catch(() => undefined);
    this.#relays.dropInbound('node-drain');
    this.#sendReconnect('node-drain');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && [...this.sfu.sessions].some((s) => clientPeers(s).length > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  #sendReconnect(reason: ReconnectReason): void {
    for (const [conn, peer] of this.#peers) {
      if (!peer.relay && !peer.closed) {
        this.#notify(conn, RECONNECT_NOTIFICATION, { reason });
      }
    }
  }

  /**
   * Room actions (kick, mute, end) come to the room's owner; peers of a cascaded room may be on the
   * nodes relaying it, so the owner passes the action on to them (they have no relays of their own
   * to pass it to: the star has one hub).
   */
  async #admin(req: SfuAdminRequest): Promise<SfuAdminReply> {
    if (req.op === 'streamStats' || req.op === 'clients' || req.op === 'stats' || req.op === 'data') {
      return handleAdmin(this.sfu, req); // asked of every node of the room by the caller
    }
    if (req.op === 'roster') {
      const session = this.sfu.getSession(req.room);
      const peers = session && !session.closed ? this.#relays.roster(session) : [];
      return { count: peers.length, peers };
    }
    const far = this.#relays.inboundNodes(req.room);
    const forward = async (): Promise<number> => {
      let count = 0;
      for (const node of far) {
        try {
          const r = await this.#bus.request<SfuAdminReply>(roomSubjects.sfuAdmin(this.#cluster, node), req, {
            timeoutMs: 5000,
          });
          count += r.count;
        } catch (err) {
          logger.warn({ err, node, room: req.room, op: req.op }, 'relaying node did not take a room action');
        }
      }
      return count;
    };
    if (req.op === 'end') {
      // The relaying nodes first: once our session closes, they would take the room over.
      const count = await forward();
      return { count: count + handleAdmin(this.sfu, req).count };
    }
    const local = handleAdmin(this.sfu, req);
    return local.count > 0 ? local : { count: await forward() };
  }

  #tick(): Promise<void> {
    this.#beat ??= this.#heartbeat().finally(() => (this.#beat = undefined));
    return this.#beat;
  }

  async #heartbeat(): Promise<void> {
    try {
      await this.#store.set(
        storeKeys.node(this.#cluster, this.nodeId),
        JSON.stringify(this.load()),
        NODE_TTL_MS,
      );
      // Renew the leases of rooms we own, take over rooms whose owner is gone, relay the others.
      const held = await this.#relays.reconcile(this.#draining);
      if (Object.keys(held).length > 0) {
        await this.#store.hset(storeKeys.nodeRooms(this.#cluster, this.nodeId), held, ROOM_LEASE_MS);
      }
    } catch (err) {
      logger.warn({ err }, 'heartbeat failed');
    }
  }

  /** The room closed here: give up its lease and drop it from this node's lease table. */
  async #release(room: string): Promise<void> {
    try {
      await this.#store.compareAndDelete(storeKeys.roomOwner(this.#cluster, room), this.nodeId);
      await this.#store.hdel(storeKeys.nodeRooms(this.#cluster, this.nodeId), room);
      await this.#store.hdel(storeKeys.roomNodes(this.#cluster, room), this.nodeId);
    } catch (err) {
      logger.warn({ err, room }, 'releasing room lease failed');
    }
  }

  /** Rooms whose roster this node published (as their owner): their closing is published too. */
  readonly #rostered = new Set<string>();

  #publishRoster(room: string, peers: Participant[]): void {
    if (peers.length === 0 && !this.#rostered.delete(room)) {
      return; // not ours to announce
    }
    if (peers.length > 0) {
      this.#rostered.add(room);
    }
    this.#bus.publish(subjects.roster(this.#cluster, room), { room, peers } satisfies RosterMessage);
  }

  #notify(conn: string, method: string, params: unknown): void {
    const [signal] = conn.split('/');
    const msg: PeerNotification = { conn, method, params };
    this.#bus.publish(subjects.signalNotify(this.#cluster, signal!), msg);
  }

  /** The same notification to many connections: one Bus message per signal instance. */
  #notifyAll(conns: readonly string[], method: string, params: unknown): void {
    const bySignal = new Map<string, string[]>();
    for (const conn of conns) {
      const signal = conn.split('/')[0]!;
      const list = bySignal.get(signal);
      if (list) {
        list.push(conn);
      } else {
        bySignal.set(signal, [conn]);
      }
    }
    for (const [signal, [conn, ...also]] of bySignal) {
      const msg: PeerNotification = { conn: conn!, also: also.length > 0 ? also : undefined, method, params };
      this.#bus.publish(subjects.signalNotify(this.#cluster, signal), msg);
    }
  }

  #sessionOf(peer: Peer): Session | undefined {
    for (const s of this.sfu.sessions) {
      if (s.findByUid(peer.uid) === peer) {
        return s;
      }
    }
    return undefined;
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
      if (err instanceof SwitchboardError || !(err instanceof Error) || err.name === 'ZodError') {
        throw err;
      }
      // werift refuses what the spec makes it refuse (a renegotiation that splits the BUNDLE
      // transport, a candidate for an unknown mid) with DOMExceptions that name the problem.
      if (err instanceof DOMException) {
        throw new SwitchboardError('negotiation', `negotiation failed: ${err.message}`, { cause: err });
      }
      // Anything else is a bug (ours or werift's, reached by input sdpCheck.ts does not catch yet):
      // the stack stays in this log, the client gets `internal error (log id …)` from its signal role.
      const logId = randomBytes(4).toString('hex');
      const method = (data as { method?: unknown } | null)?.method;
      logger.error({ err, method, logId }, 'peer request failed');
      throw new SwitchboardError(
        'internal',
        `${String(method)} failed (sfu log id ${logId}): ${err.message}`,
        {
          cause: err,
        },
      );
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
        PeerGrants.assertMayPublish(this.#grants.of(peer), p.desc.sdp, this.#grants.configOf(peer));
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
      case 'subscription': {
        const p = methods.subscription.parse(req.params);
        this.#grants.assertMaySubscribe(
          peer,
          p.subscriptions.some((c) => c.subscribe),
        );
        const session = this.#sessionOf(peer);
        if (!session) {
          throw new SwitchboardError('invalid-state', 'no rtc transport exists for this Peer');
        }
        session.subscribe(peer, p.subscriptions.map(subscriptionChange));
        return {};
      }
      case 'unsubscribe': {
        const p = licodeUnsubscribe.parse(req.params);
        return { count: peer.dropStream(p.streamId) };
      }
      case 'startRecorder':
      case 'stopRecorder':
        return this.recordings.peerCall(
          peer,
          this.#sessionOf(peer),
          this.#grants.of(peer),
          req.method,
          req.params,
        );
      case 'participants': {
        // A relay link reports its node's clients (Relays.ts); clients cannot send this.
        const session = peer.relay ? this.#sessionOf(peer) : undefined;
        const peers = (req.params as { peers?: unknown } | null)?.peers;
        if (!session || !Array.isArray(peers)) {
          throw new SwitchboardError('invalid-params', 'participants: relay links only');
        }
        this.#relays.setInboundRoster(peer, peers as Participant[]);
        this.#relays.broadcastRoster(session);
        return null;
      }
    }
  }

  async #join(req: PeerRequest): Promise<unknown> {
    if (this.#peers.get(req.conn)?.closed === false) {
      throw new SwitchboardError('invalid-state', 'rtc transport already exists for this connection');
    }
    // A Licode client's peer connection (src/signal/licode): one stream published or received.
    const licode = hasLicode(req.params) ? licodePeerJoin.parse(req.params) : undefined;
    // A WHEP viewer (src/signal/whip): its offer is for the subscriber PC.
    const whep = !licode && isWhep(req.params) ? whepPeerJoin.parse(req.params) : undefined;
    // A LiveKit participant (src/signal/livekit): no offer; its subscriber PC is offered first and its
    // publisher PC negotiated by `offer` when it publishes.
    const livekit =
      !licode && !whep && hasLiveKit(req.params) ? livekitPeerJoin.parse(req.params) : undefined;
    const ion = licode || whep || livekit ? undefined : methods.join.parse(req.params);
    const p = licode ?? whep ?? livekit ?? ion!;
    const uid = p.uid && p.uid.length > 0 ? p.uid : req.conn.split('/')[1]!;
    const grants = PeerGrants.fromJoin(req.params);
    // ion-sfu's NoPublish / NoSubscribe / NoAutoSubscribe (methods.join checked the values).
    const config = joinConfig(ion?.config) ?? DEFAULT_JOIN_CONFIG;
    const offer = whep ? undefined : (licode ?? ion)?.offer;
    if (offer) {
      PeerGrants.assertMayPublish(grants, offer.sdp, config);
    } else if (!grants.canSubscribe && !livekit) {
      // (A LiveKit participant without canSubscribe still joins: it publishes later, and data reaches
      // it on its subscriber PC.)
      throw new SwitchboardError('forbidden', 'not allowed to subscribe');
    }
    const relay = await this.#admitJoin(req, uid);
    // Before any peer that may carry LiveKit packets exists (LiveKit peers, relay links).
    await livekitProtocolReady();
    let joined;
    this.#joining += relay ? 0 : 1;
    try {
      joined = await this.sfu.join({
        sid: p.sid,
        uid,
        name: p.name ?? uid,
        offer: offer?.sdp,
        view: whep ? { offer: whep.whep.offer, streamId: WHEP_STREAM_ID } : undefined,
        sink: (method, params) => this.#notify(req.conn, method, params),
        relay: relay !== undefined,
        subscribes: licode
          ? // A Licode peer receives its one subscribed stream, or nothing (it publishes).
            Subscriptions.only(licode.licode.subscribe !== undefined ? [licode.licode.subscribe] : [])
          : whep
            ? Subscriptions.viewer(whep.whep.participant)
            : isWhip(req.params)
              ? Subscriptions.only([]) // a WHIP encoder only sends: no subscriber PC is offered
              : livekit
                ? // auto_subscribe=0: only what `subscription` names; data channels either way
                  livekit.livekit.autoSubscribe && grants.canSubscribe
                  ? Subscriptions.all()
                  : Subscriptions.only([], { channels: true, offer: true })
                : subscriptionsOf(config),
        ...(licode ? { member: licode.licode.member } : {}),
        data: relay
          ? relayDataPolicy(p.sid)
          : livekit
            ? livekitDataPolicy(
                { room: p.sid, uid, canPublishData: grants.canPublishData, hidden: grants.hidden },
                (ids) => this.#notify(req.conn, LIVEKIT_LEVELS_NOTIFICATION, ids),
              )
            : otherClientDataPolicy,
      });
    } finally {
      this.#joining -= relay ? 0 : 1;
    }
    const { peer, answer } = joined;
    this.#peers.set(req.conn, peer);
    this.#grants.apply(peer, grants, config);
    const session = this.sfu.getSession(p.sid);
    if (relay) {
      this.#relays.addInbound(peer, req.conn, relay, p.sid);
    } else if (session) {
      this.#relays.joined(session); // not the owner? relay the room to it
    }
    peer.once('close', (reason) => {
      if (this.#peers.get(req.conn) === peer) {
        this.#peers.delete(req.conn);
      }
      if (reason === 'ice-failed' && !relay) {
        // Nobody else tells the client or its room: asked to join again, it closes its socket, which
        // ends its room membership (no ghost member keeping a maxPeers slot), and our SDK rejoins.
        this.#notify(req.conn, RECONNECT_NOTIFICATION, { reason: 'ice-failed' });
      }
      logger.info({ sid: p.sid, uid, reason }, 'peer closed');
    });
    logger.info({ sid: p.sid, uid, node: this.nodeId, ...(relay ? { relay } : {}) }, 'peer joined');
    return answer === undefined ? {} : { type: 'answer', sdp: answer };
  }

  /**
   * Whether this node takes the join: a client's only while not draining and under `[sfu] maxpeers`
   * / `maxpacketrate` (`unavailable`: the signal role asks the registry for another node); a relay
   * link's only from a live media node. Resolves with the relaying node's id for a relay join.
   */
  async #admitJoin(req: PeerRequest, uid: string): Promise<string | undefined> {
    const relay = relayJoin.safeParse(req.params);
    if (relay.success) {
      const node = relay.data.relay.node;
      // Signal instances strip `relay` from clients' joins; a relay's conn is its node's own.
      const fromNode =
        req.signal === node &&
        req.conn.startsWith(`${node}/`) &&
        (await this.#store.get(storeKeys.node(this.#cluster, node))) !== undefined;
      if (!fromNode) {
        throw new SwitchboardError('forbidden', 'relay joins come from media nodes only');
      }
      if (this.#draining) {
        throw new SwitchboardError('unavailable', 'media node is draining');
      }
      return node;
    }
    if (uid.startsWith(RELAY_UID_PREFIX)) {
      throw new SwitchboardError('invalid-params', `uid may not start with "${RELAY_UID_PREFIX}"`);
    }
    if (this.#draining) {
      throw new SwitchboardError('unavailable', 'media node is draining');
    }
    const { maxPeers, maxPacketRate } = this.#limits;
    let clients = this.#joining;
    for (const s of this.sfu.sessions) {
      clients += clientPeers(s).length;
    }
    if ((maxPeers > 0 && clients >= maxPeers) || (maxPacketRate > 0 && this.#packetRate >= maxPacketRate)) {
      throw new SwitchboardError('unavailable', 'media node is full');
    }
    return undefined;
  }
}

/**
 * What a client peer receives from its join config: everything (ion-sfu's default), nothing ever
 * (NoSubscribe), or only what it subscribes to (NoAutoSubscribe). Both of the latter still get their
 * subscriber PC offered (ion-sdk-js's join() waits for its `ion-sfu` channel); data channels fan out
 * to NoAutoSubscribe peers, as ION does, and not to NoSubscribe ones.
 */
function subscriptionsOf(config: JoinConfig): Subscriptions {
  if (config.noSubscribe) {
    return Subscriptions.only([], { channels: false, offer: true });
  }
  if (config.noAutoSubscribe) {
    return Subscriptions.only([], { channels: true, offer: true });
  }
  return Subscriptions.all();
}

/** `layer` of ION's Subscription (ion-sdk-js's rids) as a ceiling: f/h/q = high/medium/low, '' = none. */
const LAYER_CEILING = { '': 'high', f: 'high', h: 'medium', q: 'low' } as const;

function subscriptionChange(c: {
  trackId: string;
  subscribe: boolean;
  mute?: boolean | undefined;
  layer?: keyof typeof LAYER_CEILING | undefined;
}): SubscriptionChange {
  return {
    trackId: c.trackId,
    subscribe: c.subscribe,
    mute: c.mute,
    ceiling: c.layer === undefined ? undefined : LAYER_CEILING[c.layer],
  };
}

/** A LiveKit participant's join (src/signal/livekit): only the signal role sets `livekit`; it strips it from clients'. */
function hasLiveKit(params: unknown): boolean {
  return typeof params === 'object' && params !== null && 'livekit' in params;
}

function hasLicode(params: unknown): boolean {
  return typeof params === 'object' && params !== null && 'licode' in params;
}

/** A WHIP publisher's join (src/signal/whip): only the signal role sets `whip`; it strips it from clients'. */
function isWhip(params: unknown): boolean {
  return (params as { whip?: unknown } | null)?.whip === true;
}

function isWhep(params: unknown): boolean {
  return typeof params === 'object' && params !== null && 'whep' in params;
}
