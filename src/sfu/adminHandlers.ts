/**
 * Room-service actions on the media of rooms this node hosts, on their own subject
 * (`sb.<cluster>.sfu.<node>.admin`, subscribed by SfuRole, which passes them on to the nodes relaying a
 * cascaded room): kick a peer, mute a participant's tracks, end a room. The room role decides who may
 * do what; this only acts.
 */
import { layerStats, roomMediaStats, type SFU } from '../media/index.ts';
import type { PublishedTrack, SfuAdminReply, SfuAdminRequest, StreamStats } from '../protocol/room.ts';
import { logger } from '../util/logger.ts';

export function handleAdmin(sfu: SFU, req: SfuAdminRequest): SfuAdminReply {
  const session = sfu.getSession(req.room);
  if (!session) {
    return { count: 0 };
  }
  switch (req.op) {
    case 'kick': {
      // A participant's peers: one, or a Licode client's one per stream.
      const peers = session.peersOf(req.uid);
      for (const peer of peers) {
        peer.close('kicked');
      }
      if (peers.length > 0) {
        logger.info({ sid: req.room, uid: req.uid }, 'peer kicked');
      }
      return { count: peers.length > 0 ? 1 : 0 };
    }
    case 'mute': {
      let count = 0;
      for (const peer of session.peersOf(req.uid)) {
        const streams = new Set<string>();
        for (const r of peer.receivers) {
          if (r.kind === req.kind && (req.streamId === undefined || r.streamId === req.streamId)) {
            streams.add(r.streamId);
          }
        }
        for (const s of streams) {
          count += peer.muteOwn(s, req.kind, req.muted) ? 1 : 0;
        }
      }
      return { count };
    }
    case 'roster':
      return { count: 0 }; // answered by SfuRole, which knows the relay links' rosters
    case 'streamStats': {
      const tracks: StreamStats['tracks'] = [];
      for (const peer of session.peers) {
        if (peer.relay) {
          continue; // a relayed copy: its publisher's node has the real figures
        }
        for (const r of peer.receivers) {
          if (r.streamId !== req.streamId) {
            continue;
          }
          tracks.push({
            kind: r.kind,
            codec: r.codec.mimeType,
            layers: r.layers.map(layerStats),
            subscribers: r.downTracks.size,
          });
        }
      }
      return tracks.length > 0 ? { count: tracks.length, stats: { tracks } } : { count: 0 };
    }
    case 'stats': {
      const media = roomMediaStats(session);
      return { count: media.length, media };
    }
    case 'clients': {
      const tracks: Record<string, PublishedTrack[]> = {};
      for (const peer of session.peers) {
        if (peer.relay) {
          continue;
        }
        const list = (tracks[peer.uid] ??= []);
        for (const r of peer.receivers) {
          list.push({ trackId: r.trackId, streamId: r.streamId, kind: r.kind, muted: r.muted });
        }
      }
      const uids = Object.keys(tracks);
      return { count: uids.length, uids, tracks };
    }
    case 'data': {
      const data = Buffer.from(req.data, 'base64');
      const to = req.to ? new Set(req.to) : undefined;
      let count = 0;
      for (const peer of session.peers) {
        // A peer takes only labels of its protocol (a LiveKit label never reaches an ion-sfu client).
        if (!peer.relay && !peer.closed && peer.acceptsChannel(req.label) && (!to || to.has(peer.member))) {
          peer.subscriber.sendChannel(req.label, data);
          count++;
        }
      }
      return { count };
    }
    case 'subscription': {
      const peers = session.peersOf(req.uid).filter((p) => !p.relay && !p.closed);
      for (const peer of peers) {
        session.subscribe(peer, req.subscriptions); // throws not-found for a track the room lacks
      }
      return { count: peers.length };
    }
    case 'end': {
      const count = session.size;
      session.close();
      logger.info({ sid: req.room, peers: count }, 'room ended');
      return { count };
    }
  }
}
