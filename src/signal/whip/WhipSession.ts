/**
 * One WHIP publisher (RFC 9725) or WHEP viewer on the signal instance that created it: a member of
 * the room like any client (admitted by the room role, placed by the registry, a Peer on a media
 * node), reached by HTTP instead of a socket. Its resource record in the Store (protocol/whip.ts)
 * lets any signal instance route the session's PATCH and DELETE; this instance renews the record
 * and ends the session when its peer goes (ICE failure, kick, room end, node lost).
 */
import { randomBytes } from 'node:crypto';
import type { Bus, Store } from '../../backbone/index.ts';
import { RECONNECT_NOTIFICATION, storeKeys, subjects, type PeerRequest } from '../../protocol/cluster.ts';
import { roomNotifications, roomSubjects, type MemberRecord } from '../../protocol/room.ts';
import {
  WHIP_ENDED_NOTIFICATION,
  WHIP_RESOURCE_RENEW_MS,
  WHIP_RESOURCE_TTL_MS,
  whipKeys,
  whipResource,
  type WhipResource,
} from '../../protocol/whip.ts';
import { SwitchboardError } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';
import { admit, mediaGrantsOf } from '../admission.ts';
import type { JoinIdentity } from '../Authenticator.ts';
import { placeAndJoin } from '../placement.ts';
import type { SignalClient } from '../SignalClient.ts';

const REQUEST_TIMEOUT_MS = 15_000;
/** Notifications after which the session is over (the peer is gone or must go). */
const ENDING = new Set<string>([RECONNECT_NOTIFICATION, roomNotifications.kicked, roomNotifications.ended]);

export interface WhipSessionOptions {
  kind: 'whip' | 'whep';
  signalNode: string;
  cluster: string;
  dc: string;
  bus: Bus;
  store: Store;
  /** The session ended (this instance forgets it). */
  ended(session: WhipSession): void;
}

export class WhipSession implements SignalClient {
  readonly id: string;
  readonly conn: string;
  readonly #o: WhipSessionOptions;
  #node: string | undefined;
  #member: { room: string; uid: string } | undefined;
  #record: MemberRecord | undefined;
  #resource: WhipResource | undefined;
  #renew: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(o: WhipSessionOptions) {
    this.#o = o;
    // 128 random bits: the resource URL is all a PATCH or DELETE needs besides the token.
    this.id = randomBytes(16).toString('base64url');
    this.conn = `${o.signalNode}/whip-${this.id}`;
  }

  get node(): string | undefined {
    return this.#node;
  }

  get resource(): WhipResource | undefined {
    return this.#resource;
  }

  get membership(): { room: string; member: MemberRecord } | undefined {
    return this.#member && this.#record ? { room: this.#member.room, member: this.#record } : undefined;
  }

  /**
   * Admits `ident` to the room, places its peer and joins it there with `params` (the offer and what
   * kind of peer it is); resolves with the node's answer and the session's resource record.
   */
  async start(
    ident: JoinIdentity,
    name: string,
    params: Record<string, unknown>,
    offer: string,
  ): Promise<{ answer: string; resource: WhipResource }> {
    const o = this.#o;
    let a;
    try {
      a = await admit(
        { bus: o.bus, cluster: o.cluster, conn: this.conn, signal: o.signalNode, protocol: o.kind },
        ident,
        name,
        undefined,
      );
    } catch (err) {
      await this.end('admission-refused', false);
      throw err;
    }
    if (a.member) {
      this.#member = { room: a.room, uid: ident.identity };
      this.#record = a.member;
    }
    try {
      if (o.kind === 'whep' && (await o.store.get(storeKeys.roomOwner(o.cluster, a.room))) === undefined) {
        // Nothing to watch: no media node has the room (a WHIP publisher starts it).
        throw new SwitchboardError('not-found', `room "${ident.room}" is not live`);
      }
      const forwarded = { ...params, sid: a.room, uid: ident.identity, name, grants: mediaGrantsOf(ident) };
      const reply = (await placeAndJoin(
        o.bus,
        o,
        a.room,
        (node) => (this.#node = node),
        () => this.forward('join', forwarded),
      )) as { sdp?: string } | null;
      if (typeof reply?.sdp !== 'string') {
        throw new Error('the media node answered the join without an SDP answer');
      }
      if (this.#member) {
        o.bus.publish(roomSubjects.joined(o.cluster), { ...this.#member, conn: this.conn });
      }
      const resource: WhipResource = {
        id: this.id,
        kind: o.kind,
        room: a.room,
        uid: ident.identity,
        conn: this.conn,
        signal: o.signalNode,
        node: this.#node!,
        etag: `"${randomBytes(9).toString('base64url')}"`,
        ...iceCredentials(offer),
        ...(o.kind === 'whip' ? { offer } : {}),
      };
      await this.#o.store.set(
        whipKeys.resource(o.cluster, this.id),
        JSON.stringify(resource),
        WHIP_RESOURCE_TTL_MS,
      );
      this.#resource = resource;
      this.#renew = setInterval(
        () => void this.#renewRecord().catch(() => undefined),
        WHIP_RESOURCE_RENEW_MS,
      );
      this.#renew.unref();
      return { answer: reply.sdp, resource };
    } catch (err) {
      await this.end('join-failed', this.#node !== undefined);
      throw err;
    }
  }

  /** Sends the media node one of this session's signalling calls. */
  forward(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: this.conn, signal: this.#o.signalNode, method, params };
    return this.#o.bus.request(subjects.sfuRpc(this.#o.cluster, this.#node!), req, {
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  }

  /**
   * Ends the session: the record goes, the media node drops the peer (unless `tellNode` is false: it
   * is gone or did it already) and the room role the member.
   */
  async end(reason: string, tellNode = true): Promise<void> {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    clearInterval(this.#renew);
    const o = this.#o;
    if (tellNode && this.#node) {
      await this.forward('leave', null).catch(() => undefined);
    }
    const m = this.#member;
    if (m) {
      this.#member = undefined;
      this.#record = undefined;
      o.bus.publish(roomSubjects.leave(o.cluster), { ...m, conn: this.conn, reason });
    }
    if (this.#resource) {
      await o.store.del(whipKeys.resource(o.cluster, this.id)).catch(() => undefined);
    }
    logger.info({ conn: this.conn, kind: o.kind, reason }, `${o.kind.toUpperCase()} session ended`);
    o.ended(this);
  }

  notify(method: string, _params: unknown): void {
    if (method === WHIP_ENDED_NOTIFICATION) {
      // Another instance took the DELETE and told the node and the room role.
      this.#member = undefined;
      this.#resource = undefined;
      void this.end('deleted', false);
    } else if (ENDING.has(method)) {
      void this.end(method === RECONNECT_NOTIFICATION ? 'peer-closed' : method);
    }
    // Everything else (rosters, the node's trickles, room events) has no one to go to over HTTP.
  }

  notifyFrame(method: string, _frame: string): void {
    this.notify(method, undefined);
  }

  updateRecord(m: MemberRecord): void {
    if (this.#record && m.conn === this.conn) {
      this.#record = m;
    }
  }

  /** The media node died with the peer: the encoder or player notices ICE failing and starts over. */
  nodeLost(): void {
    void this.end('node-lost', false);
  }

  ping(): void {}

  close(): void {
    void this.end('signal-closing');
  }

  /**
   * Extends the record's life; when another instance rewrote it (an ICE restart's new ETag and
   * credentials), adopts that version.
   */
  async #renewRecord(): Promise<void> {
    const store = this.#o.store;
    const key = whipKeys.resource(this.#o.cluster, this.id);
    const mine = this.#resource;
    if (this.#ended || !mine || (await store.refresh(key, JSON.stringify(mine), WHIP_RESOURCE_TTL_MS))) {
      return;
    }
    const raw = await store.get(key);
    const now = raw === undefined ? undefined : whipResource.safeParse(JSON.parse(raw));
    if (now?.success && now.data.id === this.id && !this.#ended) {
      this.#resource = now.data;
      await store.refresh(key, raw!, WHIP_RESOURCE_TTL_MS);
    }
  }
}

/** The client's ICE ufrag in an SDP (the first one: BUNDLE makes them all the same). */
export function iceCredentials(sdp: string): { ufrag?: string } {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
  return ufrag !== undefined ? { ufrag } : {};
}
