/**
 * `rtc.RTC/Signal` (ion-sdk-js's `Ion.RTC`, ion-sdk-go's RTC client; reference/ion.md §2c): one
 * client's media peer, placed and driven over the Bus exactly like a `/ws` client's (the same two
 * peer connections, `ion-sfu` data channel, simulcast and grants), with ION's messages on the wire:
 * descriptions dispatched by type, trickles routed by ICE ufrag (Ion.RTC never sets their target),
 * TrackEvents from the room's roster, `subscription` onto the media node's per-track subscriptions.
 *
 * Membership: when the client's Room stream holds it (same signal instance), the peer joins under that
 * member; a token join elsewhere attaches to the existing member through the room role; otherwise
 * (an RTC-only client) this stream is the member, admitted like a `/ws` join.
 */
import { randomBytes } from 'node:crypto';
import type { Bus } from '../../backbone/index.ts';
import { RECONNECT_NOTIFICATION, subjects, type PeerRequest } from '../../protocol/cluster.ts';
import { roomNotifications, roomSubjects, type MemberRecord } from '../../protocol/room.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { admit, mediaGrantsOf } from '../admission.ts';
import type { JoinIdentity } from '../Authenticator.ts';
import { placeAndJoin } from '../placement.ts';
import { Status, type GrpcCall } from './GrpcCall.ts';
import { IonStream } from './IonStream.ts';
import type { IonAuth, IonToken } from './ionAuth.ts';
import type { IonRoom } from './IonRoom.ts';
import type { RtcError, RtcReply, RtcRequest, SessionDescription, Target, TrackInfo } from './protos.ts';

export interface IonRtcOptions {
  signalNode: string;
  cluster: string;
  /** This signal instance's region (`[global] dc`): its clients are placed on media nodes of it. */
  dc: string;
  bus: Bus;
  auth: IonAuth;
  joinTimeoutMs: number;
  /** The Room stream on this instance holding `uid`'s membership of the room the client named `sid`. */
  room: (sid: string, uid: string) => IonRoom | undefined;
  /** Per-address peer count and join rate (ClientLimits): a refusal text, or undefined and `endPeer` later. */
  beginPeer: () => string | undefined;
  endPeer: () => void;
}

/** Candidates held until their peer connection is known (by ufrag) or the peer exists. */
const MAX_HELD_CANDIDATES = 64;
/** Largest `init` (a candidate as JSON). */
const MAX_INIT_BYTES = 4096;

/** ION's error codes (pkg/error/code.go) for our failures. */
const ION_CODES: Partial<Record<string, number>> = {
  'invalid-params': 400,
  'invalid-state': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  limited: 503,
  unavailable: 503,
};

/** A roster entry as the media node sends it (`participants`; `tracks` per stream). */
interface RosterPeer {
  uid: string;
  streams?: {
    streamId: string;
    tracks?: { id: string; kind: string; muted?: boolean; layers?: string[] }[];
  }[];
}

/** `true`/`false` config values (ion-sdk-js sends strings, ion-sfu reads booleans). */
function configFlags(config: Record<string, string>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const key of ['NoPublish', 'NoSubscribe', 'NoAutoSubscribe']) {
    const v = config[key];
    if (v !== undefined) {
      out[key] = v.trim().toLowerCase() === 'true';
    }
  }
  return out;
}

function ufragOf(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

const targetNumber = (t: Target): 0 | 1 => (t === 'SUBSCRIBER' ? 1 : 0);

interface HeldCandidate {
  target: 0 | 1 | undefined;
  candidate: Record<string, unknown>;
}

export class IonRtc extends IonStream<RtcRequest> {
  readonly #o: IonRtcOptions;
  #node: string | undefined;
  #joined = false;
  #joining = false;
  #self: string | undefined;
  /** Set when this stream is the member (no Room stream holds it). */
  #member: { room: string; uid: string; record: MemberRecord } | undefined;
  #holdsPeer = false;
  /** ICE ufrag of the client's side of each peer connection, from the descriptions it sent. */
  readonly #ufrags = new Map<string, 0 | 1>();
  #held: HeldCandidate[] = [];
  /** Tracks announced to the client, per publisher uid, keyed by `id layer`. */
  readonly #announced = new Map<string, Map<string, Partial<TrackInfo>>>();
  #closed = false;
  /** Ends our link to the Room stream whose membership we joined under. */
  #unlink: (() => void) | undefined;

  constructor(call: GrpcCall, authorized: Promise<IonToken | undefined>, o: IonRtcOptions) {
    super(call, authorized, o);
    this.#o = o;
  }

  protected get joining(): boolean {
    return this.#joined || this.#joining;
  }

  get node(): string | undefined {
    return this.#node;
  }

  get membership(): { room: string; member: MemberRecord } | undefined {
    return this.#member ? { room: this.#member.room, member: this.#member.record } : undefined;
  }

  protected async handle(token: IonToken | undefined, req: RtcRequest): Promise<void> {
    switch (req.payload) {
      case 'join':
        return this.#join(token, req.join);
      case 'description':
        return this.#description(req.description);
      case 'trickle':
        return this.#trickle(req.trickle.target, req.trickle.init);
      case 'subscription':
        return this.#subscription(req.subscription.subscriptions);
      default:
        this.call.end(Status.INVALID_ARGUMENT, 'empty request');
    }
  }

  // ---- join

  async #join(
    token: IonToken | undefined,
    j: { sid: string; uid: string; config: Record<string, string>; description: SessionDescription | null },
  ): Promise<void> {
    const fail = (error: RtcError): void => this.#reply({ join: { success: false, error } });
    if (this.#joined || this.#joining) {
      fail({ code: 400, reason: 'rtc transport already exists for this connection' });
      return;
    }
    const d = j.description;
    if (j.sid === '' || j.sid.length > 256 || j.uid.length > 256) {
      fail({ code: 400, reason: 'sid is required (at most 256 characters), uid at most 256' });
      return;
    }
    if (!d || d.type !== 'offer' || d.sdp === '' || d.sdp.length > 256 * 1024) {
      fail({
        code: 400,
        reason: 'join needs the publisher offer (description type "offer", sdp up to 256 KiB)',
      });
      return;
    }
    const limited = this.#o.beginPeer();
    if (limited !== undefined) {
      fail({ code: 503, reason: limited });
      return;
    }
    this.#holdsPeer = true;
    this.#joining = true;
    this.#noteUfrag(d.sdp, 0);
    let ident: JoinIdentity | undefined;
    try {
      ident = await this.#o.auth.authorize(token, j.sid, j.uid);
      const answer = await this.#admitAndJoin(ident, j.sid, d.sdp, configFlags(j.config));
      this.#joined = true;
      this.joined();
      this.#reply({
        join: { success: true, description: { target: 'PUBLISHER', type: 'answer', sdp: answer } },
      });
      this.#flushHeld();
    } catch (err) {
      await ident?.release?.().catch(() => undefined);
      this.#unlink?.();
      this.#unlink = undefined;
      this.#node = undefined;
      this.#leaveRoom('join-failed');
      this.#endPeer();
      fail(this.#error(err, 'join'));
    } finally {
      this.#joining = false;
    }
  }

  async #admitAndJoin(
    ident: JoinIdentity,
    sid: string,
    sdp: string,
    config: Record<string, boolean>,
  ): Promise<string> {
    const o = this.#o;
    // The client's Room stream on this instance holds the membership: join under it. In anonymous
    // mode identities are unproven, so only a stream from the same address may do that.
    const holder = o.room(sid, ident.identity);
    const local = holder?.member;
    let room: string;
    let name = ident.name ?? ident.identity;
    if (holder && local && (!ident.anonymous || local.address === this.call.address)) {
      room = local.room;
      name = local.name;
      this.#unlink = holder.companion((reason) => this.call.end(Status.CANCELLED, reason));
    } else {
      const a = await admit(
        { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode, protocol: 'ion' },
        ident,
        name,
        undefined,
        { attach: true },
      );
      room = a.room;
      if (a.attached) {
        name = a.member?.name ?? name;
      } else if (a.member) {
        this.#member = { room, uid: ident.identity, record: a.member };
      }
    }
    this.#self = ident.identity;
    const grants = mediaGrantsOf(ident);
    const joinParams = {
      sid: room,
      uid: ident.identity,
      name,
      offer: { type: 'offer', sdp },
      config,
      grants,
    };
    const reply = (await placeAndJoin(
      o.bus,
      o,
      room,
      (node) => (this.#node = node),
      () => this.#forward('join', joinParams),
    )) as { sdp?: string };
    if (this.#member) {
      o.bus.publish(roomSubjects.joined(o.cluster), { room, uid: ident.identity, conn: this.conn });
    }
    return reply.sdp ?? '';
  }

  // ---- descriptions, candidates, subscriptions

  async #description(d: SessionDescription): Promise<void> {
    if (!this.#joined) {
      this.#reply({ error: { code: 400, reason: 'no rtc transport exists for this Peer' } });
      return;
    }
    if (d.sdp === '' || d.sdp.length > 256 * 1024) {
      this.#reply({ error: { code: 400, reason: 'description needs an sdp of up to 256 KiB' } });
      return;
    }
    // By type, as ION does: the client offers on its publisher and answers on its subscriber.
    try {
      if (d.type === 'offer') {
        this.#noteUfrag(d.sdp, 0);
        const r = (await this.#forward('offer', { desc: { type: 'offer', sdp: d.sdp } })) as { sdp: string };
        this.#reply({ description: { target: 'PUBLISHER', type: 'answer', sdp: r.sdp } });
      } else if (d.type === 'answer') {
        this.#noteUfrag(d.sdp, 1);
        await this.#forward('answer', { desc: { type: 'answer', sdp: d.sdp } });
      } else {
        this.#reply({
          error: {
            code: 400,
            reason: `description type must be offer or answer, not "${d.type.slice(0, 32)}"`,
          },
        });
        return;
      }
    } catch (err) {
      this.#reply({ error: this.#error(err, d.type) });
    }
    this.#flushHeld();
  }

  async #trickle(target: Target, init: string): Promise<void> {
    if (init.length > MAX_INIT_BYTES) {
      this.#reply({ error: { code: 400, reason: `trickle init larger than ${MAX_INIT_BYTES} bytes` } });
      return;
    }
    let c: unknown;
    try {
      c = JSON.parse(init);
    } catch {
      this.#reply({ error: { code: 400, reason: 'trickle init is not JSON (an RTCIceCandidateInit)' } });
      return;
    }
    if (typeof c !== 'object' || c === null || typeof (c as { candidate?: unknown }).candidate !== 'string') {
      this.#reply({ error: { code: 400, reason: 'trickle init needs a candidate string' } });
      return;
    }
    const candidate = c as Record<string, unknown>;
    const ufrag = typeof candidate.usernameFragment === 'string' ? candidate.usernameFragment : '';
    // Ion.RTC sends every candidate without a target (always PUBLISHER): the ufrag says which PC.
    const byUfrag = ufrag === '' ? targetNumber(target) : this.#ufrags.get(ufrag);
    if (byUfrag === undefined || !this.#joined) {
      if (this.#held.length < MAX_HELD_CANDIDATES) {
        this.#held.push({ target: byUfrag, candidate });
      }
      return;
    }
    await this.#sendCandidate(byUfrag, candidate);
  }

  async #sendCandidate(target: 0 | 1, c: Record<string, unknown>): Promise<void> {
    if (c.candidate === '') {
      return; // end of candidates: nothing to add
    }
    try {
      await this.#forward('trickle', {
        target,
        candidate: {
          candidate: c.candidate,
          sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : undefined,
          sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : undefined,
          usernameFragment: typeof c.usernameFragment === 'string' ? c.usernameFragment : undefined,
        },
      });
    } catch (err) {
      logger.debug({ err, conn: this.conn }, 'ION trickle refused');
    }
  }

  #noteUfrag(sdp: string, target: 0 | 1): void {
    const u = ufragOf(sdp);
    if (u !== undefined) {
      this.#ufrags.set(u, target);
    }
  }

  /** Candidates whose PC is now known (and the peer exists) go on. */
  #flushHeld(): void {
    if (!this.#joined) {
      return;
    }
    const held = this.#held;
    this.#held = [];
    for (const h of held) {
      const ufrag = typeof h.candidate.usernameFragment === 'string' ? h.candidate.usernameFragment : '';
      const target = ufrag === '' ? h.target : this.#ufrags.get(ufrag);
      if (target === undefined) {
        this.#held.push(h);
      } else {
        void this.#sendCandidate(target, h.candidate);
      }
    }
  }

  async #subscription(
    subs: { trackId: string; mute: boolean; subscribe: boolean; layer: string }[],
  ): Promise<void> {
    if (!this.#joined) {
      this.#reply({ subscription: { success: false, error: { code: 400, reason: 'join first' } } });
      return;
    }
    try {
      await this.#forward('subscription', {
        subscriptions: subs.map((s) => ({
          trackId: s.trackId,
          subscribe: s.subscribe,
          mute: s.mute,
          layer: s.layer,
        })),
      });
      this.#reply({ subscription: { success: true } });
    } catch (err) {
      this.#reply({ subscription: { success: false, error: this.#error(err, 'subscription') } });
    }
  }

  // ---- SignalClient: the media node's and room role's notifications

  notify(method: string, params: unknown): void {
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case 'offer':
        this.#reply({
          description: { target: 'SUBSCRIBER', type: 'offer', sdp: typeof p.sdp === 'string' ? p.sdp : '' },
        });
        return;
      case 'trickle':
        this.#reply({
          trickle: {
            target: p.target === 1 ? 'SUBSCRIBER' : 'PUBLISHER',
            init: JSON.stringify(p.candidate ?? {}),
          },
        });
        return;
      case 'participants':
        this.#roster((p.peers as RosterPeer[] | undefined) ?? []);
        return;
      case RECONNECT_NOTIFICATION:
        // ION clients have no "join again" message: the stream ends and the app's onclose reconnects.
        this.#leaveRoom('reconnect');
        this.call.end(
          Status.UNAVAILABLE,
          `reconnect: ${typeof p.reason === 'string' ? p.reason : 'media node gone'}`,
        );
        return;
      case roomNotifications.kicked:
      case roomNotifications.ended:
        this.#leaveRoom(method === roomNotifications.kicked ? 'kicked' : 'room-ended');
        this.call.end(Status.CANCELLED, typeof p.reason === 'string' ? p.reason : method);
        return;
      default:
        return;
    }
  }

  /** TrackEvents from the roster's changes: ADD new tracks, REMOVE gone ones, UPDATE a mute change. */
  #roster(peers: RosterPeer[]): void {
    const seen = new Set<string>();
    for (const peer of peers) {
      if (peer.uid === this.#self) {
        continue;
      }
      seen.add(peer.uid);
      const now = new Map<string, Partial<TrackInfo>>();
      for (const s of peer.streams ?? []) {
        for (const t of s.tracks ?? []) {
          const layers = t.layers && t.layers.length > 0 ? t.layers : [''];
          for (const layer of layers) {
            now.set(`${t.id} ${layer}`, {
              id: t.id,
              kind: t.kind,
              muted: t.muted === true,
              type: 'MediaUnknown',
              streamId: s.streamId,
              label: '',
              layer,
            });
          }
        }
      }
      this.#trackEvents(peer.uid, now);
    }
    for (const uid of [...this.#announced.keys()]) {
      if (!seen.has(uid)) {
        this.#trackEvents(uid, new Map());
      }
    }
  }

  #trackEvents(uid: string, now: Map<string, Partial<TrackInfo>>): void {
    const before = this.#announced.get(uid) ?? new Map<string, Partial<TrackInfo>>();
    const added = [...now].filter(([k]) => !before.has(k)).map(([, t]) => t);
    const removed = [...before].filter(([k]) => !now.has(k)).map(([, t]) => t);
    const updated = [...now]
      .filter(([k, t]) => before.has(k) && before.get(k)!.muted !== t.muted)
      .map(([, t]) => t);
    if (removed.length > 0) {
      this.#reply({ trackEvent: { state: 'REMOVE', uid, tracks: removed } });
    }
    if (added.length > 0) {
      this.#reply({ trackEvent: { state: 'ADD', uid, tracks: added } });
    }
    if (updated.length > 0) {
      this.#reply({ trackEvent: { state: 'UPDATE', uid, tracks: updated } });
    }
    if (now.size === 0) {
      this.#announced.delete(uid);
    } else {
      this.#announced.set(uid, now);
    }
  }

  updateRecord(m: MemberRecord): void {
    if (this.#member && m.conn === this.conn) {
      this.#member.record = m;
    }
  }

  nodeLost(): void {
    if (this.#node) {
      this.notify(RECONNECT_NOTIFICATION, { reason: 'node-lost' });
    }
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#unlink?.();
    if (this.#node) {
      this.#forward('leave', null).catch(() => undefined);
    }
    this.#leaveRoom('client-leave');
    this.#endPeer();
    this.call.end(Status.CANCELLED, 'closed');
  }

  // ---- helpers

  #reply(r: RtcReply): void {
    this.call.write(r);
  }

  #leaveRoom(reason: string): void {
    const m = this.#member;
    if (m) {
      this.#member = undefined;
      this.#o.bus.publish(roomSubjects.leave(this.#o.cluster), {
        room: m.room,
        uid: m.uid,
        conn: this.conn,
        reason,
      });
    }
  }

  #endPeer(): void {
    if (this.#holdsPeer) {
      this.#holdsPeer = false;
      this.#o.endPeer();
    }
  }

  /** A failure as ION's `rtc.Error`: our deliberate errors with their text, anything else with a log id. */
  #error(err: unknown, what: string): RtcError {
    const code = err instanceof SwitchboardError ? err.code : 'internal';
    const ion = ION_CODES[code];
    if (ion !== undefined) {
      return { code: ion, reason: (err as Error).message };
    }
    const logId = randomBytes(4).toString('hex');
    logger.error({ err, what, logId, conn: this.conn }, 'ION rtc call failed');
    return { code: 500, reason: `internal error (log id ${logId})` };
  }

  #forward(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req = { conn: this.conn, signal: this.#o.signalNode, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, this.#node!), req, { timeoutMs: 15_000 });
  }
}
