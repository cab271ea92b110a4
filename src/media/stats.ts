/**
 * What a media node can say of a room's media right now (issue #18's statistics): per participant
 * its published tracks (codec, layers with resolution, bitrate and packets) and its subscriptions
 * (layer forwarded and wanted, bitrate, loss, NACKs). Read from counters the forwarding path keeps
 * anyway, so asking costs nothing per packet. Relay peers (other nodes' links) are left out: a
 * relayed track's figures belong to its publisher's node.
 */
import type { DownTrack } from './DownTrack.ts';
import type { Layer } from './Receiver.ts';
import { transportStats, type TransportStats } from './werift.ts';
import type { Session } from './Session.ts';
import type { LayerStats } from '../protocol/room.ts';

export type { LayerStats };

export interface TrackStats {
  trackId: string;
  streamId: string;
  kind: 'audio' | 'video';
  codec: string;
  muted: boolean;
  packets: number;
  bytes: number;
  /** Lowest first; one entry without simulcast. */
  layers: LayerStats[];
  /** DownTracks forwarding it on this node (relay links included). */
  subscribers: number;
}

export interface SubscriptionStats {
  trackId: string;
  kind: 'audio' | 'video';
  /** Index into the track's layers (lowest first): forwarded now, and wanted; -1 = none. */
  layer: number;
  targetLayer: number;
  /** Forwarded, over the last second, bps. */
  bitrate: number;
  packetsSent: number;
  bytesSent: number;
  /** Loss toward the subscriber over the last window, 0–1 (video). */
  loss: number;
  nacks: number;
  retransmitted: number;
  /** Paused by the subscriber (`layer` none / mute). */
  muted: boolean;
  /**
   * Why nothing is forwarded, null while it is: `subscriber` (its choice), `publisher` (track muted),
   * `bandwidth` (no layer fits its estimate), `dynacast` (the layer is paused at the publisher).
   */
  paused: 'subscriber' | 'publisher' | 'bandwidth' | 'dynacast' | null;
  /** From its receiver reports: round trip (ms), jitter (ms), packets it counts lost; null before one. */
  rtt: number | null;
  jitter: number | null;
  packetsLost: number;
}

export interface ParticipantMediaStats {
  uid: string;
  name: string;
  joinedAt: number;
  tracks: TrackStats[];
  subscriptions: SubscriptionStats[];
  /** The subscriber's bandwidth estimate (REMB), bps; null until one came. */
  estimate: number | null;
  /** Its two peer connections' transports (a Licode client's first peer); undefined before they exist. */
  transport: { publisher?: TransportStats; subscriber?: TransportStats };
}

/** A layer's figures (Licode's getStreamStats shows the same, src/sfu/adminHandlers.ts). */
export function layerStats(l: Layer): LayerStats {
  return {
    rid: l.rid,
    ssrc: l.ssrc,
    packets: l.packets,
    bytes: l.bytes,
    bitrate: l.bitrate,
    width: l.width,
    height: l.height,
    frameRate: Math.round(l.frameRate * 10) / 10,
    plis: l.plis,
    keyframes: l.keyframes,
    nacks: l.nacks,
    packetsLost: l.packetsLost,
    paused: l.paused,
  };
}

/** Why a DownTrack forwards nothing (see SubscriptionStats.paused). */
function pausedReason(dt: DownTrack): SubscriptionStats['paused'] {
  if (dt.muted) {
    return 'subscriber';
  }
  if (dt.receiver.muted) {
    return 'publisher';
  }
  if (dt.currentLayer >= 0) {
    return null;
  }
  const target = dt.receiver.orderedLayers[dt.targetLayer];
  if (target?.paused) {
    return 'dynacast';
  }
  return dt.receiver.simulcast && dt.targetLayer < 0 ? 'bandwidth' : null;
}

/** One entry per participant (a Licode client's peers merge). */
export function roomMediaStats(session: Session): ParticipantMediaStats[] {
  const byMember = new Map<string, ParticipantMediaStats>();
  for (const peer of session.peers) {
    if (peer.relay) {
      continue;
    }
    let p = byMember.get(peer.member);
    if (!p) {
      const estimate = peer.subscriber.estimate;
      p = {
        uid: peer.member,
        name: peer.name,
        joinedAt: peer.joinedAt,
        tracks: [],
        subscriptions: [],
        estimate: Number.isFinite(estimate) ? estimate : null,
        transport: {},
      };
      const pub = transportStats(peer.publisher.pc);
      const sub = transportStats(peer.subscriber.pc);
      if (pub) {
        p.transport.publisher = pub;
      }
      if (sub) {
        p.transport.subscriber = sub;
      }
      byMember.set(peer.member, p);
    }
    for (const r of peer.receivers) {
      p.tracks.push({
        trackId: r.trackId,
        streamId: r.streamId,
        kind: r.kind,
        codec: r.codec.mimeType,
        muted: r.muted,
        packets: r.packets,
        bytes: r.bytes,
        layers: r.orderedLayers.map(layerStats),
        subscribers: r.downTracks.size,
      });
    }
    for (const dt of peer.subscriber.downTracks) {
      p.subscriptions.push({
        trackId: dt.receiver.trackId,
        kind: dt.kind,
        layer: dt.currentLayer,
        targetLayer: dt.targetLayer,
        bitrate: dt.bitrate,
        packetsSent: dt.packetsSent,
        bytesSent: dt.bytesSent,
        loss: dt.loss,
        nacks: dt.nacksReceived,
        retransmitted: dt.retransmitted,
        muted: dt.muted,
        paused: pausedReason(dt),
        rtt: dt.rtt,
        jitter: dt.jitter === null ? null : Math.round(dt.jitter * 10) / 10,
        packetsLost: dt.remotePacketsLost,
      });
    }
  }
  return [...byMember.values()];
}
