import type { PeerSockets } from './transport/TransportPool.ts';

export type Kind = 'audio' | 'video';

export type CloseReason =
  | 'client-leave'
  | 'kicked'
  | 'duplicate-identity'
  | 'room-closed'
  | 'ice-failed'
  | 'signal-lost'
  | 'node-drain'
  | 'owner-closed'
  | 'unpublished';

/** Where a Peer's server-to-client signalling goes (LiveKit's MessageSink); the sfu role binds it to the Bus. */
export type SignalSink = (method: string, params: unknown) => void;

/** Media settings of the core, taken from `[router]` and `[webrtc]` of the config by the sfu role. */
export interface MediaOptions {
  maxBandwidthKbps: number;
  /** `[router] startbitrate`: kbit/s a publisher's video starts at (capped by maxBandwidthKbps); 0 = the browser's own. */
  startBitrateKbps?: number | undefined;
  maxPacketTrack: number;
  audioLevelThreshold: number;
  audioLevelIntervalMs: number;
  audioLevelFilter: number;
  iceServers: { urls: string[]; username?: string | undefined; credential?: string | undefined }[];
  /** `[webrtc] portrange`: every peer's UDP socket is bound inside it. */
  portRange?: [number, number] | undefined;
  /** `[webrtc] singleport`: one UDP socket for all peers. */
  singlePort?: number | undefined;
  /** `[webrtc] tcpport`: passive ICE-TCP candidates on this port. */
  tcpPort?: number | undefined;
  /** `[webrtc.candidates] nat1to1`: advertised instead of the host's addresses. Default []. */
  nat1to1?: string[] | undefined;
  iceLite: boolean;
  /** `[webrtc] mdns`: resolve clients' `.local` candidates. Default true. */
  mdns?: boolean | undefined;
  /** `[webrtc.timeouts]` in seconds. Default 5 / 25 / 2. */
  iceTimeouts?: { disconnected: number; failed: number; keepalive: number } | undefined;
  /** Set per peer by the SFU (its leased sockets, see transport/TransportPool.ts); not configuration. */
  sockets?: PeerSockets | undefined;
  /** `[router.simulcast] bestqualityfirst`: a new subscriber starts on the best layer it is allowed. */
  bestQualityFirst: boolean;
  /** `[router.simulcast] enabletemporallayer`: subscribers may cap the VP8 temporal layer (`framerate`). */
  enableTemporalLayer: boolean;
  /** `[webrtc] maxmediasections`: most media sections of a client offer; 0 = no limit. Default 64. */
  maxMediaSections?: number | undefined;
  /** `[webrtc] maxcandidates`: most remote ICE candidates per PC and negotiation. Default 64. */
  maxCandidates?: number | undefined;
}

/** One published track of a roster's stream (what ION's TrackInfo needs). */
export interface ParticipantTrack {
  /** The publisher's MediaStreamTrack id, from its msid (Receiver.trackId): `subscription` names it. */
  id: string;
  kind: Kind;
  /** Publisher-side mute (our `mute` method). */
  muted: boolean;
  /**
   * The simulcast rids the publisher offered, lowest first (`['q','h','f']`); `[]` without simulcast.
   * Fixed for the track's life: a Receiver routes only the rids of its first negotiation.
   */
  layers: string[];
}

export interface ParticipantStream {
  streamId: string;
  audio: boolean;
  video: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
  /** Its tracks, in the order they were published. */
  tracks: ParticipantTrack[];
}

export interface Participant {
  uid: string;
  name: string;
  streams: ParticipantStream[];
}
