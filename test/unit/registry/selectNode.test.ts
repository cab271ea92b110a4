import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectNode } from '../../../src/registry/index.ts';

const node = (node: string, peers: number, cpu = 0, tracks = peers * 2) => ({
  node,
  peers,
  tracks,
  rooms: 1,
  cpu,
  at: 0,
});

await test('the least-loaded node wins, not the last one listed (ION picked the last)', () => {
  assert.equal(selectNode([node('a', 3), node('b', 1), node('c', 5)])?.node, 'b');
});

await test('CPU breaks ties between nodes with the same peers', () => {
  assert.equal(selectNode([node('a', 2, 80), node('b', 2, 10)])?.node, 'b');
});

await test('no nodes, no choice', () => {
  assert.equal(selectNode([]), undefined);
});
