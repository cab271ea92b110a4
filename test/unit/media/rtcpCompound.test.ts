// werift workaround 13: each packet of an RTCP compound is parsed on its own. libwebrtc sends a
// generic NACK and a REMB in one compound; werift read the REMB's bytes as more lost packets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GenericNack,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
} from 'werift';
import { splitRtcpCompound } from '../../../src/media/werift.ts';

const nack = (ssrc: number, lost: number[]) =>
  new RtcpTransportLayerFeedback({
    feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc, lost }),
  }).serialize();

const remb = () =>
  new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc: 1,
      mediaSsrc: 0,
      brExp: 3,
      brMantissa: 100_000,
      ssrcNum: 1,
      ssrcFeedbacks: [0x11223344],
    }),
  }).serialize();

void test('a NACK followed by a REMB and another NACK: each keeps exactly its own lost packets', () => {
  const compound = Buffer.concat([nack(0xaaaa, [100, 101, 117]), remb(), nack(0xbbbb, [65535])]);
  const packets = RtcpPacketConverter.deSerialize(compound);
  const nacks = packets
    .filter((p): p is RtcpTransportLayerFeedback => p instanceof RtcpTransportLayerFeedback)
    .map((p) => p.feedback as GenericNack);
  assert.deepEqual(
    nacks.map((n) => [n.mediaSourceSsrc, n.lost]),
    [
      [0xaaaa, [100, 101, 117]],
      [0xbbbb, [65535]],
    ],
  );
  const rembs = packets.filter((p) => p instanceof RtcpPayloadSpecificFeedback);
  assert.equal(rembs.length, 1);
});

void test('splitRtcpCompound: lengths from the headers; a truncated tail is dropped', () => {
  const a = nack(1, [5]);
  const b = remb();
  const parts = splitRtcpCompound(Buffer.concat([a, b, b.subarray(0, 10)]));
  assert.deepEqual(
    parts.map((p) => p.length),
    [a.length, b.length],
  );
  assert.deepEqual(splitRtcpCompound(Buffer.from([0x81])), []);
});
