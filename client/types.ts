/**
 * Wire and event types shared by the SDK. The ion-sfu protocol is in shared/reference/ion.md §2a/§2f;
 * `participants` and `mute` are Switchboard extensions on the same JSON-RPC socket.
 */

/** PC roles, as ion-sfu numbers them: the client offers on the publisher, the server on the subscriber. */
export const Target = { Publisher: 0, Subscriber: 1 } as const;
export type Target = (typeof Target)[keyof typeof Target];

/** Simulcast spatial layer names of the `ion-sfu` data channel API. */
export type Layer = 'high' | 'medium' | 'low';

export type MediaKind = 'audio' | 'video';

/** One published stream of a participant, as the server's roster lists it. */
export interface StreamInfo {
  streamId: string;
  audio: boolean;
  video: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
}

/** One member of the room (the roster includes the local peer). */
export interface Participant {
  uid: string;
  /** Display name given at join; empty when none was given. */
  name: string;
  streams: StreamInfo[];
}

/** `activeLayer` message of the data channel API (ion-sfu `pkg/middlewares/datachannel`). */
export interface ActiveLayer {
  streamId: string;
  activeLayer: string;
  availableLayers: string[];
}

/** Why a client closed. */
export type CloseReason =
  | 'client-leave' // close() was called
  | 'socket-closed' // the signalling WebSocket closed or failed
  | 'ice-failed' // ICE failed on the publisher or subscriber PC
  | 'join-failed' // join() was rejected or timed out
  | 'server-reconnect'; // the server sent `reconnect` (its media node drains or was lost)

/** `reconnecting`: joined before, the connection was lost, and the client is joining again. */
export type ClientState = 'new' | 'joining' | 'joined' | 'reconnecting' | 'closed';

export type ClientEvents = {
  /** A remote track arrived on the subscriber PC; `stream` is the publisher's stream (its id = roster streamId). */
  track: [track: MediaStreamTrack, stream: MediaStream];
  /** A remote stream went away: the server's renegotiation removed its tracks, or the roster dropped it. */
  streamremoved: [streamId: string];
  /** The whole roster, after join and on every change. */
  participants: [peers: Participant[]];
  /** Stream ids of the current speakers, loudest first (may be empty). */
  speaker: [streamIds: string[]];
  activelayer: [layer: ActiveLayer];
  /** A fanned-out data channel (any label other than `ion-sfu`) opened by another peer. */
  datachannel: [channel: RTCDataChannel];
  /** A server notification this SDK does not handle itself. */
  notification: [method: string, params: unknown];
  close: [reason: CloseReason];
  /** The connection was lost (why) and the client joins again; remote streams were removed. */
  reconnecting: [reason: CloseReason];
  /** Joined again after `reconnecting`, published streams republished. */
  reconnected: [];
  /** A failure outside any call's promise (renegotiation, a candidate, an error response with id 0). */
  error: [err: Error];
};

/** A session description as it travels in JSON-RPC params. */
export interface WireDescription {
  type: 'offer' | 'answer';
  sdp: string;
}
