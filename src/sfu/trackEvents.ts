/** `track_published` / `track_unpublished` events (webhooks) from the media core's observer events. */
import type { Receiver, SFU } from '../media/index.ts';
import type { EventInit } from '../protocol/events.ts';

export function watchTrackEvents(sfu: SFU, emit: (e: EventInit) => void): void {
  sfu.on('peer', (peer, session) => {
    if (peer.relay) {
      return; // relayed tracks are announced by the node their publisher is on
    }
    const base = () => ({
      room: { sid: session.id, name: session.id },
      participant: { identity: peer.member, name: peer.name },
    });
    const announce = (r: Receiver): void => {
      const track = { sid: r.trackId, type: r.kind, streamId: r.streamId };
      emit({ event: 'track_published', ...base(), track });
      r.once('close', () => emit({ event: 'track_unpublished', ...base(), track }));
    };
    for (const r of peer.receivers) {
      announce(r);
    }
    peer.on('receiver', announce);
  });
}
