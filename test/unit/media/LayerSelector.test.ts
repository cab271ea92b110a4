import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LayerSelector,
  LOSS_VERIFY_MS,
  MAX_HOLD_MS,
  UP_HOLD_MS,
  type LayerInput,
} from '../../../src/media/LayerSelector.ts';

// Three layers like a 640x360 fake camera: q 100 kbps, h 300 kbps, f 900 kbps.
const RATES = [100_000, 300_000, 900_000];
const input = (over: Partial<LayerInput>): LayerInput => ({
  bitrates: RATES,
  ceiling: 2,
  budget: Infinity,
  budgetFalling: false,
  loss: 0,
  now: 0,
  bestQualityFirst: true,
  ...over,
});

/** Runs the selector over a scripted timeline (one step per 500 ms) and returns the layers chosen. */
function run(s: LayerSelector, steps: Partial<LayerInput>[], from = 0): number[] {
  return steps.map((step, i) => s.select(input({ now: from + i * 500, ...step })));
}

await test('the first choice is the best allowed layer (bestqualityfirst) or the lowest', () => {
  assert.equal(new LayerSelector().select(input({})), 2);
  assert.equal(new LayerSelector().select(input({ bestQualityFirst: false })), 0);
  assert.equal(new LayerSelector().select(input({ ceiling: 1 })), 1);
  // A congested subscriber (falling estimate) does not start above what it carries.
  assert.equal(new LayerSelector().select(input({ budget: 250_000, budgetFalling: true })), 1);
});

await test('a manual ceiling holds even with plenty of bandwidth', () => {
  const s = new LayerSelector();
  assert.deepEqual(run(s, Array(20).fill({ ceiling: 0, budget: 5_000_000 })), Array(20).fill(0));
});

await test('a manual change applies at once, even while the estimate trails (no probing)', () => {
  const s = new LayerSelector();
  run(s, Array(4).fill({ ceiling: 0, budget: 150_000 }));
  s.reset();
  assert.equal(s.select(input({ ceiling: 2, budget: 150_000, now: 3000 })), 2);
});

await test('a falling estimate far below the forwarded bitrate drops straight to the layer that fits', () => {
  const s = new LayerSelector();
  s.select(input({}));
  assert.equal(s.current, 2);
  assert.equal(s.select(input({ budget: 150_000, budgetFalling: true, now: 500 })), 0);
});

await test('an estimate that trails after an upgrade but is still rising is not congestion', () => {
  const s = new LayerSelector();
  s.select(input({}));
  assert.equal(s.select(input({ budget: 450_000, budgetFalling: false, now: 500 })), 2);
});

await test('heavy loss steps down even when the estimate looks fine', () => {
  const s = new LayerSelector();
  s.select(input({ budget: 2_000_000 }));
  assert.equal(s.select(input({ budget: 2_000_000, loss: 0.2, now: 500 })), 1);
});

await test('upgrades wait for a clean hold time and go one layer at a time', () => {
  const s = new LayerSelector();
  s.select(input({ bestQualityFirst: false }));
  const layers = run(s, Array(20).fill({}), 500);
  const firstH = layers.indexOf(1);
  const firstF = layers.indexOf(2);
  assert.ok(firstH >= 0 && (firstH + 1) * 500 >= UP_HOLD_MS, `h only after the hold (step ${firstH})`);
  assert.ok(firstF > firstH && (firstF - firstH) * 500 >= UP_HOLD_MS, `f a hold after h (step ${firstF})`);
});

await test('a link that cannot carry the next layer does not oscillate: failed probes back off', () => {
  const s = new LayerSelector();
  s.select(input({ ceiling: 1, bestQualityFirst: false }));
  // Two minutes on a link that carries q but loses 20 % whenever h is sent.
  const layers: number[] = [];
  for (let t = 500; t <= 120_000; t += 500) {
    layers.push(s.select(input({ now: t, ceiling: 1, loss: s.current === 1 ? 0.2 : 0 })));
  }
  const switches = layers.filter((l, i) => i > 0 && l !== layers[i - 1]).length;
  // Probes after 3, 6, 8, 8… s: each failed probe doubles the wait (up to MAX_HOLD_MS), so a
  // hopeless link sees a probe every 8 s, not one every hold time (3 s: ~60 switches).
  assert.ok(switches <= 2 * Math.ceil(120_000 / MAX_HOLD_MS), `${switches} switches in 2 minutes`);
  assert.equal(layers.at(-1), 0);
});

await test('when the forwarded layer stops (paused by the publisher) the best remaining one is taken at once', () => {
  const s = new LayerSelector();
  s.select(input({}));
  assert.equal(s.select(input({ bitrates: [100_000, 300_000, 0], now: 500 })), 1);
});

await test('nothing flowing at all: no layer', () => {
  const s = new LayerSelector();
  assert.equal(s.select(input({ bitrates: [0, 0, 0] })), -1);
});

await test('an upper layer the publisher starves (below the layer under it) is not switched to', () => {
  const s = new LayerSelector();
  assert.equal(s.select(input({ bitrates: [100_000, 300_000, 80_000] })), 1);
  assert.equal(s.select(input({ bitrates: [100_000, 300_000, 600_000], now: 500 })), 1); // then probes up
});

await test('while the allowed layer has not started yet, video keeps flowing from the one that has', () => {
  const s = new LayerSelector();
  s.select(input({}));
  assert.equal(s.select(input({ ceiling: 0, bitrates: [0, 300_000, 900_000], now: 500 })), 2);
  assert.equal(s.select(input({ ceiling: 0, bitrates: [100_000, 300_000, 900_000], now: 1000 })), 0);
});

await test('a probe that holds resets the wait, so a recovered link climbs quickly', () => {
  const s = new LayerSelector();
  s.select(input({ ceiling: 1, bestQualityFirst: false }));
  let t = 0;
  const step = (loss: number) =>
    s.select(input({ now: (t += 500), ceiling: 2, loss: s.current >= 1 ? loss : 0 }));
  for (let k = 0; k < 120; k++) {
    step(0.2); // a minute of failed probes: the hold grows to its maximum
  }
  assert.equal(s.current, 0);
  let upAt = -1;
  for (let k = 0; k < 120 && upAt < 0; k++) {
    if (step(0) === 2) {
      upAt = k;
    }
  }
  // At most one long hold to reach h, then the successful probe resets the wait for f.
  assert.ok(upAt > 0 && upAt * 500 <= MAX_HOLD_MS + 6_000 + 3_000 + 1_000, `f after ${upAt * 500} ms`);
});

await test("random loss a lower layer suffers just the same is the link's own: one step down, then back to the top for good", () => {
  const s = new LayerSelector();
  s.select(input({}));
  // Two minutes of 20 % loss whatever layer is sent (a lossy radio link with bandwidth to spare).
  const layers = run(s, Array(240).fill({ loss: 0.2 }), 500);
  const switches = layers.filter((l, i) => l !== (i === 0 ? 2 : layers[i - 1])).length;
  assert.ok(switches <= 2, `${switches} switches`);
  assert.equal(layers.at(-1), 2);
  assert.ok(layers.lastIndexOf(1) * 500 <= LOSS_VERIFY_MS + 2 * UP_HOLD_MS, 'back on the top layer quickly');
  assert.equal(s.inherentLoss, 0.2);
});

await test('loss that comes with the top layer only (a policer) stays congestion: down, and failed probes back off', () => {
  const s = new LayerSelector();
  s.select(input({}));
  const layers: number[] = [];
  for (let t = 500; t <= 120_000; t += 500) {
    layers.push(s.select(input({ now: t, loss: s.current === 2 ? 0.4 : 0.01 })));
  }
  assert.equal(layers[0], 1);
  assert.ok(s.inherentLoss <= 0.01);
  const upgrades = layers.filter((l, i) => i > 0 && l > layers[i - 1]!).length;
  assert.ok(upgrades <= Math.ceil(120_000 / MAX_HOLD_MS), `${upgrades} probes in 2 minutes`);
  assert.equal(layers.at(-1), 1);
});

await test('a link that loses less than learnt lowers its inherent loss at once', () => {
  const s = new LayerSelector();
  s.select(input({}));
  run(s, Array(40).fill({ loss: 0.2 }), 500);
  assert.equal(s.inherentLoss, 0.2);
  assert.equal(s.select(input({ loss: 0, now: 21_000 })), 2);
  assert.equal(s.inherentLoss, 0);
  assert.equal(s.select(input({ loss: 0.2, now: 21_500 })), 1, '20 % is congestion again on a clean link');
});

await test('10 % random loss is below the step-down threshold: the top layer stays', () => {
  const s = new LayerSelector();
  s.select(input({}));
  assert.deepEqual(run(s, Array(60).fill({ loss: 0.1 }), 500), Array(60).fill(2));
});

await test('started on the lowest layer of a link with 10 % random loss, the subscriber still climbs to the top', () => {
  const s = new LayerSelector();
  s.select(input({ bestQualityFirst: false }));
  const layers = run(s, Array(60).fill({ loss: 0.1 }), 500);
  assert.equal(layers.at(-1), 2);
});
