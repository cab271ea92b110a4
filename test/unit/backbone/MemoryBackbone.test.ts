import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus, MemoryStore, subjectMatches, BusRequestError } from '../../../src/backbone/index.ts';
import { SwitchboardError } from '../../../src/util/errors.ts';

await test('subjects match NATS wildcards', () => {
  assert.equal(subjectMatches('sb.dc1.sfu.*.rpc', 'sb.dc1.sfu.n1.rpc'), true);
  assert.equal(subjectMatches('sb.dc1.>', 'sb.dc1.sfu.n1.rpc'), true);
  assert.equal(subjectMatches('sb.dc1.>', 'sb.dc1'), false);
  assert.equal(subjectMatches('sb.*.rpc', 'sb.a.b.rpc'), false);
});

await test('a request gets the handler value; a handler error comes back with its code', async () => {
  const bus = new MemoryBus();
  bus.subscribe('a.ok', (d) => ({ echo: d }));
  bus.subscribe('a.fail', () => {
    throw new SwitchboardError('not-found', 'nope');
  });
  assert.deepEqual(await bus.request('a.ok', { x: 1 }), { echo: { x: 1 } });
  await assert.rejects(
    bus.request('a.fail', {}),
    (e: unknown) => e instanceof BusRequestError && e.code === 'not-found' && e.message === 'nope',
  );
  await assert.rejects(
    bus.request('a.none', {}),
    (e: unknown) => e instanceof BusRequestError && e.code === 'no-responder',
  );
  await bus.close();
});

await test('a queue group delivers each message to one member', async () => {
  const bus = new MemoryBus();
  const got: string[] = [];
  bus.subscribe('q', () => void got.push('a'), { queue: 'g' });
  bus.subscribe('q', () => void got.push('b'), { queue: 'g' });
  for (let i = 0; i < 4; i++) {
    await bus.request('q', i);
  }
  assert.equal(got.length, 4);
  assert.deepEqual([...new Set(got)].sort(), ['a', 'b']);
});

await test('leases: set-if-absent claims once, refresh and delete only for the holder, TTL expires', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1000 });
  const s = new MemoryStore();
  assert.equal(await s.setIfAbsent('room', 'n1', 100), true);
  assert.equal(await s.setIfAbsent('room', 'n2', 100), false);
  assert.equal(await s.refresh('room', 'n2', 100), false);
  assert.equal(await s.compareAndDelete('room', 'n2'), false);
  assert.equal(await s.refresh('room', 'n1', 500), true);
  t.mock.timers.tick(400);
  assert.equal(await s.get('room'), 'n1');
  t.mock.timers.tick(200);
  assert.equal(await s.get('room'), undefined);
  assert.equal(await s.setIfAbsent('room', 'n2'), true);
  assert.equal(await s.compareAndDelete('room', 'n2'), true);
  assert.deepEqual(await s.keys(''), []);
});
