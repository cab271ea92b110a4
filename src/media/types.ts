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
  maxPacketTrack: number;
  audioLevelThreshold: number;
  audioLevelIntervalMs: number;
  audioLevelFilter: number;
  iceServers: { urls: string[]; username?: string | undefined; credential?: string | undefined }[];
  portRange?: [number, number] | undefined;
  iceLite: boolean;
  /** `[router.simulcast] bestqualityfirst`: a new subscriber starts on the best layer it is allowed. */
  bestQualityFirst: boolean;
  /** `[router.simulcast] enabletemporallayer`: subscribers may cap the VP8 temporal layer (`framerate`). */
  enableTemporalLayer: boolean;
}

export interface ParticipantStream {
  streamId: string;
  audio: boolean;
  video: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
}

export interface Participant {
  uid: string;
  name: string;
  streams: ParticipantStream[];
}
