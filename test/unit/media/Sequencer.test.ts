import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequencer } from '../../../src/media/Sequencer.ts';
import { viewOf } from '../../helpers/rtpView.ts';
import { PacketCache } from '../../../src/media/PacketCache.ts';
import { RtpHeader, RtpPacket } from 'werift';

await test('a NACKed outgoing number maps back to its incoming number and timestamp', () => {
  const s = new Sequencer(64);
  s.push(65535, 100, 9000);
  s.push(0, 101, 12000);
  assert.deepEqual({ ...s.lookup(0)! }, { inSeq: 101, outTs: 12000, layer: 0 });
  assert.deepEqual({ ...s.lookup(65535)! }, { inSeq: 100, outTs: 9000, layer: 0 });
});

await test('entries older than the ring are forgotten, not confused with new ones', () => {
  const s = new Sequencer(64);
  s.push(1, 10, 0);
  s.push(65, 74, 0); // same slot
  assert.equal(s.lookup(1), undefined);
  assert.equal(s.lookup(65)?.inSeq, 74);
});

await test('the packet cache returns a packet only for its exact sequence number', () => {
  const c = new PacketCache(500); // rounds up to 512
  const pkt = (seq: number) =>
    viewOf(new RtpPacket(new RtpHeader({ sequenceNumber: seq }), Buffer.from([seq & 0xff])));
  c.put(pkt(10));
  assert.equal(c.get(10)?.seq, 10);
  assert.deepEqual(c.get(10)?.payload, Buffer.from([10]));
  c.put(pkt(10 + 512));
  assert.equal(c.get(10), undefined);
  assert.equal(c.get(522)?.seq, 522);
  assert.deepEqual(c.get(522)?.payload, Buffer.from([522 & 0xff]));
});
