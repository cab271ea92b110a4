/**
 * What a LiveKit participant publishes, as its `add_track` requests said (livekit-client sends one
 * per track before negotiating it): the track's sid, name, source and size for everyone's
 * ParticipantInfos, the msid stream it goes into, and dynacast's quality updates for it.
 */
import {
  SubscribedCodec,
  SubscribedQuality,
  SubscribedQualityUpdate,
  TrackSource,
  TrackType,
  VideoQuality,
  type AddTrackRequest,
  type TrackInfo,
} from '@livekit/protocol';
import { livekitSid, type LiveKitMemberInfo } from '../../protocol/livekit.ts';
import { trackInfo } from '../../protocol/livekitParticipant.ts';

/** `canPublishSources` names as LiveKit's TrackSource. */
export const SOURCE_NAMES: Readonly<Record<string, TrackSource>> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

/** One published track, by MediaStreamTrack id (the request's `cid`, its msid in the offer). */
export interface PublishedTrack {
  sid: string;
  cid: string;
  kind: 'audio' | 'video';
  name: string;
  source: TrackSource;
  width: number;
  height: number;
  /** Lower-case codec name it is published with (`vp8`), for dynacast's quality updates. */
  codec: string;
}

export class PublishedTracks {
  readonly #tracks = new Map<string, PublishedTrack>();
  /** The participant's sid: its streams are named after it. */
  readonly #participantSid: string;
  /** `canPublishSources` (empty: every source). */
  readonly #sources: readonly TrackSource[];

  constructor(participantSid: string, canPublishSources: readonly string[]) {
    this.#participantSid = participantSid;
    this.#sources = canPublishSources.flatMap((n) =>
      SOURCE_NAMES[n] !== undefined ? [SOURCE_NAMES[n]] : [],
    );
  }

  /**
   * Takes an `add_track`: the TrackInfo for `track_published`, or why it is refused (a kind other
   * than audio or video, a missing or oversized cid, a source the token does not grant — LiveKit's
   * server answers those with nothing, and so do we).
   */
  add(r: AddTrackRequest): TrackInfo | string {
    const kind = r.type === TrackType.VIDEO ? 'video' : r.type === TrackType.AUDIO ? 'audio' : undefined;
    if (!kind) {
      return `track type ${r.type} is not published`;
    }
    if (r.cid === '' || r.cid.length > 256) {
      return 'cid must have 1 to 256 characters';
    }
    const source =
      r.source !== TrackSource.UNKNOWN
        ? r.source
        : kind === 'video'
          ? TrackSource.CAMERA
          : TrackSource.MICROPHONE;
    if (this.#sources.length > 0 && !this.#sources.includes(source)) {
      return `source ${TrackSource[source]} is not granted`;
    }
    const codec = r.simulcastCodecs[0]?.codec ?? '';
    const track: PublishedTrack = {
      sid: livekitSid.track(r.cid),
      cid: r.cid,
      kind,
      name: r.name.slice(0, 256),
      source,
      width: Math.min(r.width, 16384),
      height: Math.min(r.height, 16384),
      codec: (codec || 'vp8').toLowerCase().replace(/^video\//, ''),
    };
    this.#tracks.set(r.cid, track);
    const info = trackInfo(
      { id: r.cid, kind, muted: r.muted, layers: r.layers.length > 1 ? r.layers.map((l) => l.rid) : [] },
      { name: track.name, source, width: track.width, height: track.height },
    );
    info.mimeType = codec !== '' ? `${kind}/${codec}` : '';
    return info;
  }

  bySid(sid: string): PublishedTrack | undefined {
    for (const t of this.#tracks.values()) {
      if (t.sid === sid) {
        return t;
      }
    }
    return undefined;
  }

  /**
   * The msid stream of track `cid`: camera and microphone in one, screen share and its audio in
   * another (see regroupStreams), named after the participant's sid.
   */
  streamOf(cid: string): string {
    const source = this.#tracks.get(cid)?.source;
    const screen = source === TrackSource.SCREEN_SHARE || source === TrackSource.SCREEN_SHARE_AUDIO;
    return screen ? `${this.#participantSid}-screen` : this.#participantSid;
  }

  /** What the member record keeps of them (others' clients read names and sources there). */
  recorded(): { tracks?: NonNullable<LiveKitMemberInfo['livekit']['tracks']>; screen?: string } {
    if (this.#tracks.size === 0) {
      return {};
    }
    const tracks: NonNullable<LiveKitMemberInfo['livekit']['tracks']> = {};
    let screen: string | undefined;
    for (const t of this.#tracks.values()) {
      tracks[t.cid] = { name: t.name, source: t.source, width: t.width, height: t.height };
      if (t.source === TrackSource.SCREEN_SHARE) {
        screen = this.streamOf(t.cid);
      }
    }
    return { tracks, ...(screen !== undefined ? { screen } : {}) };
  }

  /**
   * Dynacast (the media node's `layers` of track `cid`: the simulcast rids someone receives) as
   * LiveKit's `subscribed_quality_update`; livekit-client with `dynacast: true` pauses the other
   * encodings (rids q/h/f are its LOW/MEDIUM/HIGH).
   */
  qualityUpdate(cid: string, activeRids: readonly unknown[]): SubscribedQualityUpdate | undefined {
    const t = this.#tracks.get(cid);
    if (!t) {
      return undefined;
    }
    const active = new Set(activeRids);
    const qualities = (['q', 'h', 'f'] as const).map(
      (rid, i) =>
        new SubscribedQuality({
          quality: [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH][i]!,
          enabled: active.has(rid),
        }),
    );
    return new SubscribedQualityUpdate({
      trackSid: t.sid,
      subscribedQualities: qualities,
      subscribedCodecs: [new SubscribedCodec({ codec: t.codec, qualities })],
    });
  }
}
