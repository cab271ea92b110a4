// The network namespace test/run.js and the soak (test/soak/main.ts) run their WebRTC traffic in:
// lo plus one veth pair whose two ends stay inside it. Plain JS: test/run.js loads it before tsx.
import { spawnSync } from 'node:child_process';

/** Runs `ip` with `args`; never throws (read `status` and `stderr`). */
export const ip = (...args) =>
  spawnSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });

/**
 * Creates namespace `ns` with lo up and the veth pair `pair` ([name, address] twice; names must not
 * start with "veth": werift ignores such interfaces when gathering). Returns an error text on failure.
 */
export function setUpNamespace(ns, pair) {
  const [[a, aAddr], [b, bAddr]] = pair;
  const steps = [
    ['netns', 'add', ns],
    ['-n', ns, 'link', 'set', 'lo', 'up'],
    ['-n', ns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b],
    ['-n', ns, 'addr', 'add', `${aAddr}/24`, 'dev', a],
    ['-n', ns, 'addr', 'add', `${bAddr}/24`, 'dev', b],
    ['-n', ns, 'link', 'set', a, 'up'],
    ['-n', ns, 'link', 'set', b, 'up'],
  ];
  for (const s of steps) {
    const r = ip(...s);
    if (r.status !== 0) {
      return `ip ${s.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`;
    }
  }
  return undefined;
}
