export { SFU, type JoinRequest, type SFUEvents } from './SFU.ts';
export { Session, type SubscriptionChange } from './Session.ts';
export { Subscriptions } from './Subscriptions.ts';
export type { ChannelSpec, DataForward, DataPolicy } from './DataPolicy.ts';
export { Peer, type Target } from './Peer.ts';
export { Receiver, type Layer } from './Receiver.ts';
export { DownTrack } from './DownTrack.ts';
export { layerStats, roomMediaStats, type ParticipantMediaStats } from './stats.ts';
export { RtpMunger } from './RtpMunger.ts';
export { AudioObserver } from './AudioObserver.ts';
export type {
  CloseReason,
  MediaOptions,
  Participant,
  ParticipantStream,
  ParticipantTrack,
  SignalSink,
  Kind,
} from './types.ts';
