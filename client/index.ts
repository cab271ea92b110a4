export { Client } from './Client.ts';
export type { ClientOptions, JoinOptions, PublishOptions } from './Client.ts';
export {
  assertVideoCodec,
  browserVideoCodecs,
  SERVER_VIDEO_CODECS,
  UnsupportedCodecError,
  usableVideoCodecs,
  videoCodecProblem,
} from './codecs.ts';
export type { VideoCodec } from './codecs.ts';
export {
  canChooseSpeaker,
  DEFAULT_VIDEO,
  LevelMeter,
  listDevices,
  onDeviceChange,
  openMedia,
  openTrack,
  setSpeaker,
  switchDevice,
} from './devices.ts';
export type { DeviceList, MediaChoice } from './devices.ts';
export { Emitter } from './Emitter.ts';
export type { EventMap, Listener } from './Emitter.ts';
export {
  InvalidStateError,
  NegotiationError,
  RpcError,
  SwitchboardClientError,
  TimeoutError,
} from './errors.ts';
export { JsonRpcSocket } from './JsonRpcSocket.ts';
export { CHAT_TYPE, MAX_CHAT_LENGTH, Meeting, screenOf } from './Meeting.ts';
export type {
  ChatMessage,
  MeetingEvents,
  MemberView,
  PeerRole,
  RemovedKind,
  RoomPeer,
  RoomState,
} from './Meeting.ts';
export { ScreenShare } from './ScreenShare.ts';
export type { ScreenShareEvents, ShareOptions } from './ScreenShare.ts';
export { qualityOf, StatsSampler, worstQuality } from './stats.ts';
export type { Quality, TrackStats } from './stats.ts';
export type { JsonRpcSocketEvents, JsonRpcSocketOptions } from './JsonRpcSocket.ts';
export { Target } from './types.ts';
export type {
  ActiveLayer,
  ClientEvents,
  ClientState,
  CloseReason,
  Layer,
  MediaKind,
  Participant,
  StreamInfo,
  WireDescription,
} from './types.ts';
