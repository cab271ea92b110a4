// The synthetic video source's packetization: every layer sends the bitrate it was given, over a
// second of frames, whether its frames are several packets or less than one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framePackets, simulcastLayers } from '../../../src/loadtest/SyntheticSource.ts';

/** Bits sent over `seconds` of frames at `fps` for `bitrate`, and the packets. */
function sendFor(bitrate: number, fps: number, packetSize: number, seconds: number) {
  let carry = 0;
  let bytes = 0;
  let packets = 0;
  for (let f = 0; f < fps * seconds; f++) {
    const p = framePackets(bitrate / 8 / fps + carry, packetSize);
    carry = p.carry;
    bytes += p.count * p.size;
    packets += p.count;
    assert.ok(p.size >= 64 && p.size <= packetSize, `size ${p.size}`);
  }
  return { bps: (bytes * 8) / seconds, packets };
}

void describe('synthetic video packetization', () => {
  void it('each simulcast layer of a 500 kbit/s top sends its own bitrate (±2 %), not one full packet a frame', () => {
    for (const layer of simulcastLayers(500_000)) {
      const { bps } = sendFor(layer.bitrate, 25, 1100, 10);
      assert.ok(
        Math.abs(bps - layer.bitrate) / layer.bitrate < 0.02,
        `${layer.rid}: ${bps} for ${layer.bitrate}`,
      );
    }
  });

  void it('frames under one packet go as one smaller packet a frame; large frames as full packets', () => {
    const low = sendFor(100_000, 25, 1100, 4);
    assert.equal(low.packets, 100);
    const high = sendFor(1_000_000, 25, 1100, 4);
    assert.ok(Math.abs(high.bps - 1_000_000) / 1_000_000 < 0.02, `${high.bps}`);
    assert.ok(high.packets >= 440 && high.packets <= 460, `${high.packets}`);
  });
});
