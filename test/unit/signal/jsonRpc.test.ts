import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonRpc, rpcError, rpcNotification, rpcResult, RPC } from '../../../src/signal/jsonRpc.ts';
import { methods } from '../../../src/protocol/ionSfu.ts';

await test('malformed JSON is a parse error with a null id', () => {
  assert.deepEqual(parseJsonRpc('{not json'), {
    ok: false,
    id: null,
    code: RPC.PARSE_ERROR,
    message: 'Parse error',
  });
});

await test('arrays, numbers and objects without a method are invalid requests', () => {
  for (const text of [
    '[]',
    '42',
    '"x"',
    'null',
    '{"id":1}',
    '{"id":1,"method":""}',
    '{"id":{},"method":"join"}',
  ]) {
    const r = parseJsonRpc(text);
    assert.equal(r.ok, false, text);
    assert.equal(!r.ok && r.code, RPC.INVALID_REQUEST, text);
  }
});

await test('the id of an invalid request is echoed when it is usable', () => {
  const r = parseJsonRpc('{"id":"abc","jsonrpc":"1.0","method":"join"}');
  assert.equal(!r.ok && r.id, 'abc');
});

await test('the jsonrpc field is optional on input, as ion-sdk-js omits it', () => {
  const r = parseJsonRpc('{"id":"u-1","method":"join","params":{"sid":"a"}}');
  assert.deepEqual(r, { ok: true, request: { id: 'u-1', method: 'join', params: { sid: 'a' } } });
});

await test('a message without id is a notification', () => {
  const r = parseJsonRpc('{"method":"trickle","params":{}}');
  assert.equal(r.ok && r.request.id, undefined);
});

await test('output always carries jsonrpc 2.0', () => {
  assert.deepEqual(JSON.parse(rpcResult(1, { a: 1 })), { jsonrpc: '2.0', id: 1, result: { a: 1 } });
  assert.deepEqual(JSON.parse(rpcError(0, 500, 'boom')), {
    jsonrpc: '2.0',
    id: 0,
    error: { code: 500, message: 'boom' },
  });
  assert.deepEqual(JSON.parse(rpcNotification('offer', { sdp: 'x' })), {
    jsonrpc: '2.0',
    method: 'offer',
    params: { sdp: 'x' },
  });
});

await test('join params need a session id and an offer; uid and config are optional', () => {
  assert.equal(methods.join.safeParse({ sid: 'r', offer: { type: 'offer', sdp: 'v=0' } }).success, true);
  assert.equal(methods.join.safeParse({}).success, false);
  assert.equal(methods.join.safeParse({ sid: 'r', offer: { type: 'answer', sdp: 'v=0' } }).success, false);
  assert.equal(methods.join.safeParse({ sid: '', offer: { type: 'offer', sdp: 'v=0' } }).success, false);
});

await test('trickle defaults to target 0 (ion-sdk grpc-web omits it) and rejects other targets', () => {
  const ok = methods.trickle.safeParse({
    candidate: { candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host' },
  });
  assert.equal(ok.success && ok.data.target, 0);
  assert.equal(methods.trickle.safeParse({ target: 2, candidate: { candidate: '' } }).success, false);
});
