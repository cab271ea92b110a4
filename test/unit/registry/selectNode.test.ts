import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placementScore, ROOM_WEIGHT, selectNode } from '../../../src/registry/index.ts';

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

await test('rooms leased since the last heartbeat count: a burst of placements alternates', () => {
  const nodes = [
    { ...node('a', 0, 0, 0), rooms: 0 },
    { ...node('b', 0, 0, 0), rooms: 0 },
  ];
  const leased = new Map<string, number>();
  const chosen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const n = selectNode(nodes, leased)!.node; // the heartbeats stay as they were
    leased.set(n, (leased.get(n) ?? 0) + 1);
    chosen.push(n);
  }
  assert.deepEqual(chosen, ['a', 'b', 'a', 'b', 'a', 'b']);
});

await test('a node with 10 peers gets new rooms only once the other has as many rooms as it has load', () => {
  const busy = { ...node('busy', 10, 0, 0), rooms: 1 };
  const idle = { ...node('idle', 0, 0, 0), rooms: 0 };
  const leased = new Map([['busy', 1]]);
  // busy: 1 room + 10 peers = 110; idle gets rooms until its own rooms weigh as much.
  for (let i = 0; i < 11; i++) {
    assert.equal(selectNode([busy, idle], leased)?.node, 'idle', `room ${i + 1}`);
    leased.set('idle', i + 1);
  }
  assert.equal(placementScore(idle, 11), placementScore(busy, 1));
  assert.equal(selectNode([busy, idle], leased)?.node, 'busy', 'a tie goes to the first listed');
});

await test('leases never count for less than the rooms a node reports', () => {
  const stale = { ...node('a', 0, 0, 0), rooms: 4 };
  assert.equal(placementScore(stale, 0), placementScore(stale, 4));
  assert.equal(placementScore(stale, 6), placementScore(stale, 4) + 2 * ROOM_WEIGHT);
});
