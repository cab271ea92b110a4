// How many media workers `switchboard start` runs, and each one's share of [webrtc] portrange.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portSlice, workerPlan } from '../../../src/agent/index.ts';
import { defaultConfig, validateSupported } from '../../../src/config/index.ts';

function distributed() {
  const c = defaultConfig();
  c.nats.url = 'nats://127.0.0.1:4222';
  c.redis.addrs = ['127.0.0.1:6379'];
  return c;
}

await test('workers = 0 means one per core with NATS and Redis', () => {
  assert.deepEqual(workerPlan(distributed(), 8), { count: 8 });
});

await test('workers = 0 without NATS and Redis means one in-process worker, and says why', () => {
  const plan = workerPlan(defaultConfig(), 8);
  assert.equal(plan.count, 1);
  assert.match(plan.note ?? '', /needs \[nats\] url and \[redis\] addrs/);
  assert.deepEqual(workerPlan(defaultConfig(), 1), { count: 1 });
});

await test('an explicit count is kept; without NATS and Redis it is a configuration error', () => {
  const c = distributed();
  c.sfu.workers = 3;
  assert.deepEqual(workerPlan(c, 8), { count: 3 });
  assert.deepEqual(validateSupported(c), []);
  const alone = defaultConfig();
  alone.sfu.workers = 2;
  assert.deepEqual(validateSupported(alone), [
    'sfu.workers: 2 worker processes need [nats] url and [redis] addrs',
  ]);
});

await test('several workers cannot share webrtc.singleport and need two ports each of portrange', () => {
  const c = distributed();
  c.sfu.workers = 4;
  c.webrtc.portrange = [5000, 5006];
  assert.deepEqual(validateSupported(c), ['webrtc.portrange: 4 workers need at least two ports each']);
  const single = distributed();
  single.webrtc.singleport = 5000;
  assert.equal(workerPlan(single, 8).count, 1);
});

await test('port slices are contiguous, disjoint and cover the range', () => {
  const slices = [0, 1, 2].map((i) => portSlice([5000, 5200], 3, i));
  assert.deepEqual(slices, [
    [5000, 5066],
    [5067, 5133],
    [5134, 5200],
  ]);
});
