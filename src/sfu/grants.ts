/**
 * What a peer's token and its join `config` (ion-sfu's NoPublish / NoSubscribe / NoAutoSubscribe)
 * allow, enforced on the media node with the media core's public API only (the core stays unaware
 * of tokens). Token grants:
 * - canPublish = false: publisher offers (join or renegotiation) with a sending audio/video m-line are
 *   refused (403) before werift sees them; a Receiver that appears anyway is closed at once.
 * - canSubscribe = false: every DownTrack to the peer is closed (on join and for each new track).
 * - canPublishData = false: messages on the peer's own data channels are dropped (not fanned out).
 * - hidden: left out of the `participants` roster others receive.
 * Join config (per peer, what the client asked for itself):
 * - NoPublish: as canPublish = false, with its own words.
 * - NoSubscribe: the peer's Subscriptions receive nothing (SfuRole), and `subscription` is refused.
 * - NoAutoSubscribe: only Subscriptions (SfuRole); `subscription` brings what the peer wants.
 */
import { parse } from 'sdp-transform';
import type { Participant, Peer, Receiver, SFU, Session } from '../media/index.ts';
import type { JoinConfig } from '../protocol/ionSfu.ts';
import { ALL_MEDIA_GRANTS, mediaGrantsSchema, type MediaGrants } from '../protocol/tokens.ts';
import { SwitchboardError } from '../util/errors.ts';

/** The `ion-sfu` channel the client opens on its publisher PC only to get an m=application line. */
const API_CHANNEL = 'ion-sfu';

/** A join without `config`: ion-sfu's defaults. */
export const DEFAULT_JOIN_CONFIG: JoinConfig = {
  noPublish: false,
  noSubscribe: false,
  noAutoSubscribe: false,
};

/** Kinds of the m-lines of an offer that send media (direction sendrecv / sendonly, port not 0). */
export function sendingKinds(sdp: string): string[] {
  const s = parse(sdp);
  const sessionDir = (s as { direction?: string }).direction;
  const out: string[] = [];
  for (const m of s.media) {
    if ((m.type !== 'audio' && m.type !== 'video') || m.port === 0) {
      continue;
    }
    const dir = m.direction ?? sessionDir ?? 'sendrecv';
    if (dir === 'sendrecv' || dir === 'sendonly') {
      out.push(m.type);
    }
  }
  return out;
}

export class PeerGrants {
  readonly #grants = new WeakMap<Peer, MediaGrants>();
  readonly #config = new WeakMap<Peer, JoinConfig>();

  constructor(sfu: SFU) {
    sfu.on('peer', (peer, session) => {
      // Runs after the Session subscribed the others to `peer`'s new track, so their DownTracks exist.
      peer.on('receiver', (r) => {
        if (!this.of(peer).canPublish || this.configOf(peer).noPublish) {
          r.close();
          return;
        }
        for (const other of session.peers) {
          if (other !== peer && !this.of(other).canSubscribe) {
            closeDownTracks(other, r);
          }
        }
      });
    });
  }

  /** The grants a forwarded join carries; a join without them (an older signal) gets all grants. */
  static fromJoin(params: unknown): MediaGrants {
    const g = (params as { grants?: unknown } | null)?.grants;
    if (g === undefined) {
      return ALL_MEDIA_GRANTS;
    }
    const r = mediaGrantsSchema.safeParse(g);
    if (!r.success) {
      throw new SwitchboardError('invalid-params', 'malformed grants in the forwarded join');
    }
    return r.data;
  }

  of(peer: Peer): MediaGrants {
    return this.#grants.get(peer) ?? ALL_MEDIA_GRANTS;
  }

  /** The join config of `peer` (ion-sfu's defaults for a peer joined without one). */
  configOf(peer: Peer): JoinConfig {
    return this.#config.get(peer) ?? DEFAULT_JOIN_CONFIG;
  }

  /**
   * Refuses a publisher offer that sends media when the token does not allow publishing or the peer
   * joined with NoPublish.
   */
  static assertMayPublish(grants: MediaGrants, sdp: string, config = DEFAULT_JOIN_CONFIG): void {
    if (!grants.canPublish || config.noPublish) {
      const kinds = sendingKinds(sdp);
      if (kinds.length > 0) {
        const why = grants.canPublish ? 'joined with NoPublish' : 'token grants canPublish=false';
        throw new SwitchboardError('forbidden', `not allowed to publish (${kinds.join(', ')}): ${why}`);
      }
    }
  }

  /** Refuses `subscription` to a peer that joined with NoSubscribe, and subscribing without canSubscribe. */
  assertMaySubscribe(peer: Peer, subscribing: boolean): void {
    if (this.configOf(peer).noSubscribe) {
      throw new SwitchboardError('forbidden', 'not allowed to subscribe: joined with NoSubscribe');
    }
    if (subscribing && !this.of(peer).canSubscribe) {
      throw new SwitchboardError('forbidden', 'not allowed to subscribe: token grants canSubscribe=false');
    }
  }

  /** Binds `grants` and the join's `config` to a peer that just joined. */
  apply(peer: Peer, grants: MediaGrants, config = DEFAULT_JOIN_CONFIG): void {
    this.#grants.set(peer, grants);
    this.#config.set(peer, config);
    if (!grants.canSubscribe) {
      for (const dt of [...peer.subscriber.downTracks]) {
        dt.close();
      }
    }
    if (!grants.canPublishData) {
      // The Peer subscribed to the channel's messages first (it fans them out); drop its subscription.
      peer.publisher.pc.onDataChannel.subscribe((dc) => {
        if (dc.label !== API_CHANNEL) {
          dc.onMessage.allUnsubscribe();
        }
      });
    }
  }

  /** The roster without hidden peers. */
  visible(session: Session, list: Participant[]): Participant[] {
    const hidden = new Set<string>();
    for (const p of session.peers) {
      if (this.of(p).hidden) {
        hidden.add(p.uid);
      }
    }
    return hidden.size === 0 ? list : list.filter((p) => !hidden.has(p.uid));
  }
}

function closeDownTracks(peer: Peer, r: Receiver): void {
  for (const dt of [...peer.subscriber.downTracks]) {
    if (dt.receiver === r) {
      dt.close();
    }
  }
}
