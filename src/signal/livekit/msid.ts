/**
 * LiveKit clients bind a received track by its msid (livekit-client Room.onTrackAdded): the stream id
 * is `<participant sid>|<stream>` and the track id the track's sid `TR_…`. The media node's subscriber
 * offers carry the publisher's own msid (`<stream> <MediaStreamTrack id>`), so the LiveKit front
 * renames them, knowing from the roster whose track each is.
 */
import { livekitSid } from '../../protocol/livekit.ts';

/** Who publishes track `trackId` (a MediaStreamTrack id of the roster): uid and msid stream. */
export type TrackOwner = (trackId: string) => { uid: string; streamId: string } | undefined;

export interface RenamedOffer {
  sdp: string;
  /** mid → track sid (SessionDescription.mid_to_track_id). */
  midToTrackId: Record<string, string>;
  /** Track ids of the offer the roster does not know yet. */
  unknown: string[];
}

const MSID = /^a=msid:(\S+) (\S+)\r?$/;
const SSRC_MSID = /^a=ssrc:(\d+) msid:(\S+) (\S+)\r?$/;
const MID = /^a=mid:(\S+?)\r?$/;

/**
 * Renames the msids of `sdp` for a LiveKit client in room `room`. The stream keeps the publisher's
 * stream id after the participant sid, so audio and video of one stream stay in sync, unless it has
 * none (`-`) or looks like a track sid (livekit-client would read it as one): then `TR_…` is used.
 * Tracks of an unknown owner are left as they are and listed.
 */
export function renameMsids(room: string, sdp: string, ownerOf: TrackOwner): RenamedOffer {
  const unknown = new Set<string>();
  const midToTrackId: Record<string, string> = {};
  let mid: string | undefined;
  const rename = (stream: string, track: string): string | undefined => {
    const owner = ownerOf(track);
    if (!owner) {
      unknown.add(track);
      return undefined;
    }
    const sid = livekitSid.track(track);
    const s = stream === '-' || stream.startsWith('TR') ? sid : stream;
    if (mid !== undefined) {
      midToTrackId[mid] = sid;
    }
    return `${livekitSid.participant(room, owner.uid)}|${s} ${sid}`;
  };
  const lines = sdp.split('\n').map((line) => {
    if (line.startsWith('m=')) {
      mid = undefined;
      return line;
    }
    const m = MID.exec(line);
    if (m) {
      mid = m[1];
      return line;
    }
    const a = MSID.exec(line);
    if (a) {
      const r = rename(a[1]!, a[2]!);
      return r === undefined ? line : `a=msid:${r}${line.endsWith('\r') ? '\r' : ''}`;
    }
    const s = SSRC_MSID.exec(line);
    if (s) {
      const r = rename(s[2]!, s[3]!);
      return r === undefined ? line : `a=ssrc:${s[1]} msid:${r}${line.endsWith('\r') ? '\r' : ''}`;
    }
    return line;
  });
  return { sdp: lines.join('\n'), midToTrackId, unknown: [...unknown] };
}

/**
 * A LiveKit publisher's offer, each track moved into the stream `streamOf` names. livekit-client
 * gives every track a MediaStream of its own; other clients (the demo page, ion-sdk-js, Licode) show
 * a participant's stream as one tile with its sound, so camera and microphone go into one stream,
 * screen share and its audio into another.
 */
export function regroupStreams(sdp: string, streamOf: (trackId: string) => string): string {
  return sdp
    .split('\n')
    .map((line) => {
      const cr = line.endsWith('\r') ? '\r' : '';
      const a = MSID.exec(line);
      if (a) {
        return `a=msid:${streamOf(a[2]!)} ${a[2]!}${cr}`;
      }
      const s = SSRC_MSID.exec(line);
      if (s) {
        return `a=ssrc:${s[1]} msid:${streamOf(s[3]!)} ${s[3]!}${cr}`;
      }
      return line;
    })
    .join('\n');
}
