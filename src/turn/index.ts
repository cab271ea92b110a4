export { TurnServer, coturnConfig, TURNSERVER_BIN } from './TurnServer.ts';
export {
  turnRestCredentials,
  parseStaticCredentials,
  TURN_CREDENTIAL_TTL_S,
  type TurnCredentials,
} from './credentials.ts';
export {
  clientIceServers,
  turnPublicHost,
  turnListenAddress,
  hostOf,
  type ClientIceServer,
} from './iceServers.ts';
