export { SignalRole, type SignalSecrets } from './SignalRole.ts';
export { Authenticator, type JoinIdentity } from './Authenticator.ts';
export {
  parseJsonRpc,
  rpcError,
  rpcResult,
  rpcNotification,
  RPC,
  type JsonRpcId,
  type JsonRpcRequest,
} from './jsonRpc.ts';
