import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioObserver } from '../../../src/media/AudioObserver.ts';

// ion-sfu defaults: threshold 40, interval 1000 ms, filter 20 % → active from 10 loud packets per interval.
const make = () => new AudioObserver(40, 1000, 20);
const feed = (o: AudioObserver, id: string, level: number, n: number) => {
  for (let i = 0; i < n; i++) {
    o.observe(id, level);
  }
};

await test('streams are ranked by loud-packet count, then by the lower level sum', () => {
  const o = make();
  for (const id of ['a', 'b', 'c', 'd']) {
    o.addStream(id);
  }
  feed(o, 'a', 30, 20);
  feed(o, 'b', 20, 40);
  feed(o, 'c', 10, 20); // same count as a, louder
  feed(o, 'd', 60, 50); // quieter than the threshold: never active
  assert.deepEqual(o.calc(), ['b', 'c', 'a']);
});

await test('too few loud packets is not speaking (the filter)', () => {
  const o = make();
  o.addStream('a');
  feed(o, 'a', 10, 9);
  assert.equal(o.calc(), undefined); // [] equals the initial (empty) list: no change
});

await test('the list is reported only when it changes, including when everyone goes quiet', () => {
  const o = make();
  o.addStream('a');
  feed(o, 'a', 10, 30);
  assert.deepEqual(o.calc(), ['a']);
  feed(o, 'a', 10, 30);
  assert.equal(o.calc(), undefined);
  assert.deepEqual(o.calc(), []);
});

await test('a removed stream stops counting', () => {
  const o = make();
  o.addStream('a');
  o.removeStream('a');
  feed(o, 'a', 10, 30);
  assert.equal(o.calc(), undefined);
});
