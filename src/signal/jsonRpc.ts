/** JSON-RPC 2.0 as ion-sfu speaks it: `jsonrpc` optional on input, always "2.0" on output, any id. */
import { deeperThan } from '../util/jsonDepth.ts';

export type JsonRpcId = string | number | null;

export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  /** ion-sfu answers every method failure with code 500 and the error's text. */
  METHOD_FAILED: 500,
} as const;

/**
 * Deepest nesting of `params` we take. JSON.parse copes with any depth, but JSON.stringify and other
 * recursive code further on (the Bus, the Store) overflow the stack on a few thousand levels.
 */
export const MAX_PARAMS_DEPTH = 32;

export interface JsonRpcRequest {
  id: JsonRpcId | undefined; // undefined = notification
  method: string;
  params: unknown;
}

export type ParseResult =
  { ok: true; request: JsonRpcRequest } | { ok: false; id: JsonRpcId; code: number; message: string };

/** Parses one text frame; never throws. */
export function parseJsonRpc(text: string): ParseResult {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { ok: false, id: null, code: RPC.PARSE_ERROR, message: 'Parse error' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return { ok: false, id: null, code: RPC.INVALID_REQUEST, message: 'Invalid Request: expected an object' };
  }
  const m = msg as Record<string, unknown>;
  const id = m.id;
  const validId = id === undefined || id === null || typeof id === 'string' || typeof id === 'number';
  const replyId: JsonRpcId = validId && id !== undefined ? id : null;
  if (!validId) {
    return { ok: false, id: null, code: RPC.INVALID_REQUEST, message: 'Invalid Request: bad id' };
  }
  if (m.jsonrpc !== undefined && m.jsonrpc !== '2.0') {
    return {
      ok: false,
      id: replyId,
      code: RPC.INVALID_REQUEST,
      message: 'Invalid Request: jsonrpc must be "2.0"',
    };
  }
  if (typeof m.method !== 'string' || m.method.length === 0) {
    return {
      ok: false,
      id: replyId,
      code: RPC.INVALID_REQUEST,
      message: 'Invalid Request: method must be a string',
    };
  }
  if (deeperThan(m.params, MAX_PARAMS_DEPTH)) {
    return {
      ok: false,
      id: replyId,
      code: RPC.INVALID_PARAMS,
      message: `Invalid params: nested deeper than ${MAX_PARAMS_DEPTH} levels`,
    };
  }
  return { ok: true, request: { id: id, method: m.method, params: m.params } };
}

export function rpcResult(id: JsonRpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: result ?? null });
}

export function rpcError(id: JsonRpcId, code: number, message: string, data?: unknown): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    error: { code, message, ...(data !== undefined ? { data } : {}) },
  });
}

export function rpcNotification(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params });
}
