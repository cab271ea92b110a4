import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vp8Munger } from '../../../src/media/Vp8Munger.ts';
import { newVp8Info, parseVp8 } from '../../../src/media/vp8.ts';

/** A VP8 descriptor with a 15-bit picture ID and TL0PICIDX, then a byte of payload. */
function packet(pid: number, tl0: number, keyframe = false): Buffer {
  const header = keyframe ? [0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01] : [0x01];
  return Buffer.from([0x90, 0xc0, 0x80 | (pid >> 8), pid & 0xff, tl0, ...header]);
}
const pidOf = (b: Buffer) => ((b[2]! & 0x7f) << 8) | b[3]!;

await test('picture IDs and TL0PICIDX continue across a switch to a stream numbered elsewhere', () => {
  const m = new Vp8Munger();
  const out: [number, number][] = [];
  const send = (b: Buffer) => {
    m.patch(b, 0, b.length);
    out.push([pidOf(b), b[4]!]);
  };
  send(packet(10_858, 200, true));
  send(packet(10_859, 201));
  m.rebase(); // switch to a layer whose pictures are numbered 17 600 ahead (reads as "older")
  send(packet(28_475, 7, true));
  send(packet(28_476, 8));
  assert.deepEqual(out, [
    [10_858, 200],
    [10_859, 201],
    [10_860, 202],
    [10_861, 203],
  ]);
});

await test('picture IDs wrap at 15 bits and TL0PICIDX at 8 bits', () => {
  const m = new Vp8Munger();
  const b = packet(0x7fff, 255, true);
  m.patch(b, 0, b.length);
  m.rebase();
  const c = packet(5, 9, true);
  m.patch(c, 0, c.length);
  assert.equal(pidOf(c), 0);
  assert.equal(c[4], 0);
});

await test('only the descriptor inside the given range changes (the egress copy, never the shared payload)', () => {
  const m = new Vp8Munger();
  const first = packet(100, 1, true);
  m.patch(first, 0, first.length);
  m.rebase();
  const pkt = packet(9000, 50, true);
  const buf = Buffer.concat([Buffer.from([0xaa, 0xbb]), pkt, Buffer.from([0xcc])]);
  m.patch(buf, 2, pkt.length);
  assert.deepEqual([buf[0], buf[1], buf.at(-1)], [0xaa, 0xbb, 0xcc]);
  assert.equal(pidOf(buf.subarray(2)), 101);
  assert.equal(parseVp8(buf, 2, buf.length, newVp8Info()).keyframe, true);
});

await test('a retransmission does not consume a pending re-base', () => {
  const m = new Vp8Munger();
  const a = packet(500, 1, true);
  m.patch(a, 0, a.length);
  m.rebase();
  const old = packet(499, 1);
  m.patch(old, 0, old.length, true);
  const k = packet(7000, 3, true);
  m.patch(k, 0, k.length);
  assert.equal(pidOf(k), 501);
});

await test('dropped pictures (temporal layers above the ceiling) leave no gap in picture IDs', () => {
  const m = new Vp8Munger();
  const sent: number[] = [];
  const send = (b: Buffer) => {
    m.patch(b, 0, b.length);
    sent.push(pidOf(b));
  };
  send(packet(100, 1, true));
  m.drop(packet(101, 1)); // a two-packet frame of TL2: one picture
  m.drop(packet(101, 1));
  send(packet(102, 1));
  m.drop(packet(103, 1));
  send(packet(104, 2));
  assert.deepEqual(sent, [100, 101, 102]);
});
