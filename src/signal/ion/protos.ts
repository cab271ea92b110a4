/**
 * ION's services from the project's own `.proto` files (proto/rtc.proto, proto/room.proto), loaded
 * once with @grpc/proto-loader: the same definitions serve the native gRPC server (grpc-js) and the
 * gRPC-web transport (their serialize / deserialize functions). Messages are plain objects with the
 * proto's field names, enums as their names, every field present (defaults), and the name of a set
 * `oneof` in `payload`.
 */
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

export const protoOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export const ionPackage: PackageDefinition = loadSync(['rtc.proto', 'room.proto'], {
  ...protoOptions,
  includeDirs: [PROTO_DIR],
});

/** A method of one of our services by its path (`/rtc.RTC/Signal`), or undefined. */
export function ionMethod(path: string): MethodDefinition<unknown, unknown> | undefined {
  const m = /^\/([A-Za-z0-9_.]+)\/([A-Za-z0-9_]+)$/.exec(path);
  if (!m) {
    return undefined;
  }
  const service = ionPackage[m[1]!] as Record<string, MethodDefinition<unknown, unknown>> | undefined;
  // A service definition maps method names to definitions; message types have `format` instead.
  if (!service || 'format' in service) {
    return undefined;
  }
  return Object.hasOwn(service, m[2]!) ? service[m[2]!] : undefined;
}

// ---- message shapes (what proto-loader gives and takes with protoOptions) ----------------------------

export type Target = 'PUBLISHER' | 'SUBSCRIBER';

export interface TrackInfo {
  id: string;
  kind: string;
  muted: boolean;
  type: string;
  streamId: string;
  label: string;
  layer: string;
  width: number;
  height: number;
  frameRate: number;
}

export interface SessionDescription {
  target: Target;
  type: string;
  sdp: string;
  trackInfos: TrackInfo[];
}

export interface RtcError {
  code: number;
  reason: string;
}

export type RtcRequest =
  | {
      payload: 'join';
      join: {
        sid: string;
        uid: string;
        config: Record<string, string>;
        description: SessionDescription | null;
      };
    }
  | { payload: 'description'; description: SessionDescription }
  | { payload: 'trickle'; trickle: { target: Target; init: string } }
  | {
      payload: 'subscription';
      subscription: {
        subscriptions: { trackId: string; mute: boolean; subscribe: boolean; layer: string }[];
      };
    };

export type RtcReply =
  | { join: { success: boolean; error?: RtcError | null; description?: Partial<SessionDescription> | null } }
  | { description: Partial<SessionDescription> }
  | { trickle: { target: Target; init: string } }
  | { trackEvent: { state: 'ADD' | 'UPDATE' | 'REMOVE'; uid: string; tracks: Partial<TrackInfo>[] } }
  | { subscription: { success: boolean; error?: RtcError | null } }
  | { error: RtcError };

export type RoomErrorType =
  | 'None'
  | 'UnkownError'
  | 'PermissionDenied'
  | 'ServiceUnavailable'
  | 'RoomLocked'
  | 'PasswordRequired'
  | 'RoomAlreadyExist'
  | 'RoomNotExist'
  | 'InvalidParams'
  | 'PeerAlreadyExist'
  | 'PeerNotExist';

export interface RoomError {
  code: RoomErrorType;
  reason: string;
}

export interface IonRoomInfo {
  sid: string;
  name: string;
  lock: boolean;
  password: string;
  description: string;
  maxPeers: number;
}

export interface IonPeer {
  sid: string;
  uid: string;
  displayName: string;
  extraInfo: Buffer | Uint8Array;
  destination: string;
  role: 'Host' | 'Guest';
  protocol: 'ProtocolUnknown' | 'WebRTC' | 'SIP' | 'RTMP' | 'RTSP';
  avatar: string;
  direction: 'INCOMING' | 'OUTGOING' | 'BILATERAL';
  vendor: string;
}

export interface IonMessage {
  from: string;
  to: string;
  type: string;
  payload: Buffer | Uint8Array;
}

export type RoomRequest =
  | { payload: 'join'; join: { peer: IonPeer | null; password: string } }
  | { payload: 'leave'; leave: { sid: string; uid: string } }
  | { payload: 'sendMessage'; sendMessage: { sid: string; message: IonMessage | null } }
  | { payload: 'updateRoom'; updateRoom: { room: IonRoomInfo | null } };

/** A reply with only success and error (most of room.proto's). */
export interface Outcome {
  success: boolean;
  error?: RoomError | null;
}

export type RoomReply =
  | { join: Outcome & { role?: 'Host' | 'Guest'; room?: IonRoomInfo | null } }
  | { leave: Outcome }
  | { sendMessage: Outcome }
  | { peer: { peer: Partial<IonPeer>; state: 'JOIN' | 'UPDATE' | 'LEAVE' } }
  | { message: IonMessage }
  | { disconnect: { sid: string; reason: string } }
  | { room: IonRoomInfo };
