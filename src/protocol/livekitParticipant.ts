/**
 * Switchboard's participants as LiveKit's `ParticipantInfo` / `TrackInfo`: every member of a room,
 * whatever protocol it speaks, so a LiveKit client (or livekit-server-sdk) sees the whole room. The
 * media node's roster gives the tracks, the room role's member record the name, grants and `info`.
 */
import {
  ParticipantInfo,
  ParticipantInfo_Kind,
  ParticipantInfo_State,
  ParticipantPermission,
  TrackInfo,
  TrackSource,
  TrackType,
  VideoLayer,
  VideoQuality,
  type DisconnectReason,
} from '@livekit/protocol';
import { livekitMemberInfo, livekitSid, type LiveKitMemberInfo } from './livekit.ts';

/** A published track as the roster shows it (`tracks[]` of a roster stream). */
export interface RosterTrack {
  id: string;
  kind: 'audio' | 'video';
  muted: boolean;
  /** Simulcast rids, lowest first; [] without simulcast. */
  layers?: readonly string[] | undefined;
  /** The msid stream it belongs to. */
  streamId?: string | undefined;
}

/** What is known of one participant. */
export interface ParticipantSource {
  uid: string;
  name: string;
  /** Ms since the epoch. */
  joinedAt?: number | undefined;
  /** The member record's free-form `info` (a LiveKit member's: LiveKitMemberInfo). */
  info?: unknown;
  grants?:
    | {
        canPublish?: boolean | undefined;
        canSubscribe?: boolean | undefined;
        canPublishData?: boolean | undefined;
        hidden?: boolean | undefined;
      }
    | undefined;
  tracks: readonly RosterTrack[];
}

type TrackMeta = NonNullable<NonNullable<LiveKitMemberInfo['livekit']['tracks']>[string]>;

/** The LiveKit part of a member's `info`, if it has one. */
export function livekitInfoOf(info: unknown): LiveKitMemberInfo['livekit'] | undefined {
  const p = livekitMemberInfo.safeParse(info);
  return p.success ? p.data.livekit : undefined;
}

const SOURCES = new Set<number>([
  TrackSource.CAMERA,
  TrackSource.MICROPHONE,
  TrackSource.SCREEN_SHARE,
  TrackSource.SCREEN_SHARE_AUDIO,
]);

/** A demo-page or SDK member marks its screen share's stream in `info.screen` (web/, client/). */
function screenStream(info: unknown): string | undefined {
  const s = (info as { screen?: unknown } | null | undefined)?.screen;
  return typeof s === 'string' ? s : undefined;
}

/** The three qualities of a simulcast track, lowest first, as LiveKit names them. */
const QUALITIES = [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH];

export function trackInfo(
  t: RosterTrack,
  meta: TrackMeta | undefined,
  o: { screen?: boolean | undefined } = {},
): TrackInfo {
  const video = t.kind === 'video';
  const source =
    meta?.source !== undefined && SOURCES.has(meta.source)
      ? (meta.source as TrackSource)
      : o.screen
        ? video
          ? TrackSource.SCREEN_SHARE
          : TrackSource.SCREEN_SHARE_AUDIO
        : video
          ? TrackSource.CAMERA
          : TrackSource.MICROPHONE;
  const rids = t.layers ?? [];
  const width = meta?.width ?? 0;
  const height = meta?.height ?? 0;
  // Layers from the top: full, half, quarter size (the SDK's defaults for rids f/h/q).
  const layers =
    video && rids.length > 1
      ? rids.map((rid, i) => {
          const scale = 2 ** (rids.length - 1 - i);
          return new VideoLayer({
            quality: QUALITIES[Math.max(0, QUALITIES.length - rids.length + i)] ?? VideoQuality.HIGH,
            width: Math.round(width / scale),
            height: Math.round(height / scale),
            rid,
          });
        })
      : [];
  return new TrackInfo({
    sid: livekitSid.track(t.id),
    type: video ? TrackType.VIDEO : TrackType.AUDIO,
    name: meta?.name ?? '',
    muted: t.muted,
    width,
    height,
    simulcast: rids.length > 1,
    source,
    layers,
  });
}

export function participantPermission(g: ParticipantSource['grants']): ParticipantPermission {
  const canPublish = g?.canPublish ?? true;
  return new ParticipantPermission({
    canSubscribe: g?.canSubscribe ?? true,
    canPublish,
    canPublishData: g?.canPublishData ?? canPublish,
    hidden: g?.hidden ?? false,
  });
}

/**
 * `p` as LiveKit's ParticipantInfo of room `room`. `metadata`: a LiveKit member's own, else any other
 * member's `info` as JSON (so applications can still read what a demo-page member publishes there).
 */
export function participantInfo(
  room: string,
  p: ParticipantSource,
  o: { state?: ParticipantInfo_State; version?: number; disconnectReason?: DisconnectReason } = {},
): ParticipantInfo {
  const lk = livekitInfoOf(p.info);
  const screen = lk ? undefined : screenStream(p.info);
  const joinedAt = p.joinedAt ?? 0;
  return new ParticipantInfo({
    sid: livekitSid.participant(room, p.uid),
    identity: p.uid,
    name: p.name,
    state: o.state ?? ParticipantInfo_State.ACTIVE,
    tracks: p.tracks.map((t) =>
      trackInfo(t, lk?.tracks?.[t.id], {
        screen: screen !== undefined && t.streamId === screen,
      }),
    ),
    metadata: lk ? (lk.metadata ?? '') : p.info !== undefined ? JSON.stringify(p.info) : '',
    attributes: lk?.attributes ?? {},
    joinedAt: BigInt(Math.floor(joinedAt / 1000)),
    joinedAtMs: BigInt(joinedAt),
    version: o.version ?? 0,
    permission: participantPermission(p.grants),
    isPublisher: p.tracks.length > 0,
    kind: ParticipantInfo_Kind.STANDARD,
    ...(o.disconnectReason !== undefined ? { disconnectReason: o.disconnectReason } : {}),
  });
}
