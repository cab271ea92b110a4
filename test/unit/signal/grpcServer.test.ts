// GrpcServer's mapping of grpc-js calls onto GrpcCall: metadata and the client's address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { metadataMap, peerAddress } from '../../../src/signal/ion/GrpcServer.ts';

await test('metadata: keys lower-case, repeated values joined, binary values base64', () => {
  const md = new Metadata();
  md.set('Authorization', 'token');
  md.add('x-multi', 'a');
  md.add('x-multi', 'b');
  md.set('x-trace-bin', Buffer.from([1, 2, 3]));
  const m = metadataMap(md);
  assert.equal(m.get('authorization'), 'token');
  assert.equal(m.get('x-multi'), 'a, b');
  assert.equal(m.get('x-trace-bin'), Buffer.from([1, 2, 3]).toString('base64'));
});

await test("the peer's address without its port", () => {
  assert.equal(peerAddress('127.0.0.1:5551'), '127.0.0.1');
  assert.equal(peerAddress('::ffff:10.0.0.1:40000'), '::ffff:10.0.0.1');
  assert.equal(peerAddress('2001:db8::1:443'), '2001:db8::1');
  assert.equal(peerAddress('[::1]:5551'), '::1');
  assert.equal(peerAddress('unknown'), 'unknown');
});
