export { SignalRole } from './SignalRole.ts';
export {
  parseJsonRpc,
  rpcError,
  rpcResult,
  rpcNotification,
  RPC,
  type JsonRpcId,
  type JsonRpcRequest,
} from './jsonRpc.ts';
