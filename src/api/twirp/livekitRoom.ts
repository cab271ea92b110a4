/**
 * Switchboard's rooms and members as the Twirp RoomService answers them: LiveKit's `Room` of a room
 * record, and `ParticipantInfo` of a member record with the tracks its media node reports (the shared
 * mapping of src/protocol/livekitParticipant.ts, which the `/rtc` front uses too). Every member shows,
 * whatever protocol it joined with.
 */
import { ParticipantInfo, Room } from '@livekit/protocol';
import { livekitSid } from '../../protocol/livekit.ts';
import { participantInfo, type RosterTrack } from '../../protocol/livekitParticipant.ts';
import type { MemberRecord, PublishedTrack, RoomRecord } from '../../protocol/room.ts';

/** What is live in a room besides its record. */
export interface RoomFigures {
  participants: number;
  publishers: number;
  activeRecording: boolean;
}

/**
 * LiveKit's Room of a room record: sid from its id (as every `/rtc` client and media node computes
 * room and participant sids), times in seconds and ms. `emptyTimeout` / `departureTimeout` stay 0: Switchboard does not close a room
 * by them (a room made by a join goes with its last member; one made by the API stays until deleted).
 */
export function livekitRoom(rec: RoomRecord, f: RoomFigures): Room {
  return new Room({
    sid: livekitSid.room(rec.id),
    name: rec.name,
    maxParticipants: rec.maxPeers,
    creationTime: BigInt(Math.floor(rec.createdAt / 1000)),
    creationTimeMs: BigInt(Math.floor(rec.createdAt)),
    metadata: rec.metadata ?? '',
    numParticipants: f.participants,
    numPublishers: f.publishers,
    activeRecording: f.activeRecording,
  });
}

/** A published track of a media node's `clients` answer, as the roster mapping reads it. */
export function rosterTrack(t: PublishedTrack): RosterTrack {
  return { id: t.trackId, kind: t.kind, muted: t.muted, streamId: t.streamId };
}

/** A member of room `roomId` with the tracks it publishes, as LiveKit's ParticipantInfo. */
export function memberParticipant(
  roomId: string,
  m: MemberRecord,
  tracks: readonly PublishedTrack[],
): ParticipantInfo {
  return participantInfo(roomId, {
    uid: m.uid,
    name: m.name,
    joinedAt: m.joinedAt,
    info: m.info,
    grants: {
      canPublish: m.canPublish,
      canSubscribe: m.canSubscribe,
      canPublishData: m.canPublishData,
      hidden: m.hidden,
    },
    tracks: tracks.map(rosterTrack),
  });
}
