/**
 * A LiveKit client's view of its room: the room role's members (names, `info`) and the media node's
 * roster (tracks), merged into versioned `ParticipantInfo`s. Every change of what a participant looks
 * like gets a higher version (livekit-client drops an update older than the one it has), and a
 * participant that is gone from both is sent once as DISCONNECTED.
 */
import { DisconnectReason, ParticipantInfo_State, type ParticipantInfo } from '@livekit/protocol';
import type { RosterMessage } from '../../protocol/cluster.ts';
import type { PeerInfo } from '../../protocol/room.ts';
import { livekitSid } from '../../protocol/livekit.ts';
import { participantInfo, type RosterTrack } from '../../protocol/livekitParticipant.ts';

interface Shown {
  key: string;
  version: number;
}

export class RoomState {
  readonly #room: string;
  readonly #self: string;
  /** Undefined until the room role told us (a cluster without one has only the roster). */
  #members: Map<string, PeerInfo> | undefined;
  #roster = new Map<string, { name: string; tracks: RosterTrack[] }>();
  /** Track id → publisher uid and stream. */
  #tracks = new Map<string, { uid: string; streamId: string }>();
  /** Track sid → track id. */
  #bySid = new Map<string, string>();
  /** Stream id → publisher uid. */
  #streams = new Map<string, string>();
  readonly #shown = new Map<string, Shown>();
  /** Why a member left, until its DISCONNECTED update goes out. */
  readonly #leftBecause = new Map<string, DisconnectReason>();
  /** Members that left while their peer is still in the roster: they keep their name meanwhile. */
  readonly #departed = new Map<string, PeerInfo>();
  #version = 0;
  #rosterSeen = false;

  constructor(room: string, self: string) {
    this.#room = room;
    this.#self = self;
  }

  /** A roster came since the join (the first one names the participants the join response lists). */
  get rosterSeen(): boolean {
    return this.#rosterSeen;
  }

  /** The room role's members at join (`room.joined`). */
  setMembers(peers: readonly PeerInfo[]): void {
    this.#members = new Map(peers.map((p) => [p.uid, p]));
  }

  /** A `room.peer` event. */
  memberEvent(state: string, peer: PeerInfo, reason?: string): void {
    this.#members ??= new Map();
    if (state === 'leave') {
      const was = this.#members.get(peer.uid);
      this.#members.delete(peer.uid);
      this.#departed.set(peer.uid, was ?? peer);
      this.#leftBecause.set(peer.uid, leaveReason(reason));
    } else {
      this.#members.set(peer.uid, peer);
      this.#departed.delete(peer.uid);
      this.#leftBecause.delete(peer.uid);
    }
  }

  setRoster(peers: RosterMessage['peers']): void {
    this.#rosterSeen = true;
    this.#roster = new Map();
    this.#tracks = new Map();
    this.#bySid = new Map();
    this.#streams = new Map();
    for (const p of peers) {
      const tracks: RosterTrack[] = [];
      for (const s of p.streams) {
        this.#streams.set(s.streamId, p.uid);
        for (const t of s.tracks ?? []) {
          tracks.push({ id: t.id, kind: t.kind, muted: t.muted, layers: t.layers, streamId: s.streamId });
          this.#tracks.set(t.id, { uid: p.uid, streamId: s.streamId });
          this.#bySid.set(livekitSid.track(t.id), t.id);
        }
      }
      this.#roster.set(p.uid, { name: p.name, tracks });
    }
  }

  trackOwner = (trackId: string): { uid: string; streamId: string } | undefined => this.#tracks.get(trackId);

  streamOwner(streamId: string): string | undefined {
    return this.#streams.get(streamId);
  }

  /** Track id of the room's track whose LiveKit sid is `sid`. */
  trackIdOf(sid: string): string | undefined {
    return this.#bySid.get(sid);
  }

  /** Our own tracks as the roster shows them. */
  ownTracks(): RosterTrack[] {
    return this.#roster.get(this.#self)?.tracks ?? [];
  }

  /** Everyone else as they look now, marked as sent (the join response's other participants). */
  snapshot(): ParticipantInfo[] {
    const out: ParticipantInfo[] = [];
    for (const [uid, info] of this.#current()) {
      const key = info.toJsonString();
      const version = ++this.#version;
      this.#shown.set(uid, { key, version });
      info.version = version;
      out.push(info);
    }
    return out;
  }

  /** What changed since the last call: new or changed participants, and those who left. */
  changes(): ParticipantInfo[] {
    const now = this.#current();
    const out: ParticipantInfo[] = [];
    for (const [uid, info] of now) {
      const key = info.toJsonString();
      if (this.#shown.get(uid)?.key === key) {
        continue;
      }
      const version = ++this.#version;
      this.#shown.set(uid, { key, version });
      info.version = version;
      out.push(info);
    }
    for (const uid of [...this.#shown.keys()]) {
      if (now.has(uid)) {
        continue;
      }
      this.#shown.delete(uid);
      const member = this.#members?.get(uid) ?? this.#departed.get(uid);
      this.#departed.delete(uid);
      out.push(
        participantInfo(
          this.#room,
          { uid, name: member?.name ?? uid, tracks: [] },
          {
            state: ParticipantInfo_State.DISCONNECTED,
            version: ++this.#version,
            disconnectReason: this.#leftBecause.get(uid) ?? DisconnectReason.CLIENT_INITIATED,
          },
        ),
      );
      this.#leftBecause.delete(uid);
    }
    for (const uid of [...this.#departed.keys()]) {
      if (!now.has(uid)) {
        this.#departed.delete(uid); // never shown (hidden, or gone before the roster had it)
        this.#leftBecause.delete(uid);
      }
    }
    return out;
  }

  /** Participants besides us: members (when the room role answers) and whoever the roster shows. */
  #current(): Map<string, ParticipantInfo> {
    const uids = new Set<string>([...(this.#members?.keys() ?? []), ...this.#roster.keys()]);
    uids.delete(this.#self);
    const out = new Map<string, ParticipantInfo>();
    for (const uid of uids) {
      const member = this.#members?.get(uid) ?? this.#departed.get(uid);
      const media = this.#roster.get(uid);
      out.set(
        uid,
        participantInfo(this.#room, {
          uid,
          name: member?.name ?? media?.name ?? uid,
          joinedAt: member?.joinedAt,
          info: member?.info,
          tracks: media?.tracks ?? [],
        }),
      );
    }
    return out;
  }
}

/** The room role's leave reasons as LiveKit's. */
function leaveReason(reason: string | undefined): DisconnectReason {
  switch (reason) {
    case 'kicked':
    case 'room.kicked':
      return DisconnectReason.PARTICIPANT_REMOVED;
    case 'room.ended':
      return DisconnectReason.ROOM_DELETED;
    default:
      return DisconnectReason.CLIENT_INITIATED;
  }
}
