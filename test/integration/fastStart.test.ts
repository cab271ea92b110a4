// Fast start (issue #15, joins): a subscriber whose first packet is not a keyframe begins with the
// packets since the publisher's latest keyframe, replayed from the cache with their timestamps
// squeezed before the live frame, instead of a keyframe request. The publisher is a werift client
// sending real VP8 (libvpx via ffmpeg, a keyframe every other frame, so the latest keyframe is always
// recent); the viewers are libwebrtc (@roamhq/wrtc) and must decode. A viewer whose first packet
// happens to start a keyframe starts there as before; with several packets per keyframe most do
// not, so over four viewers at least one fast start is all but certain. Either way no keyframe
// request may reach the publisher: without fast start every other viewer would cause one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { joinAsPublisher, vp8PublisherPc, type JoinedPublisher } from '../helpers/weriftPublisher.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'fast-start';
const VIEWERS = 4;
/** Payload bytes per packet after the 4-byte descriptor. */
const MAX_PAYLOAD = 1000;

/** The frames of a 2 s VP8 test pattern (320×240, 25 fps), a keyframe every other frame. */
function encodeClip(): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'sb-faststart-'));
  try {
    const file = join(dir, 'clip.ivf');
    // prettier-ignore
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '2',
      '-c:v', 'libvpx', '-g', '2', '-keyint_min', '2', '-auto-alt-ref', '0', '-lag-in-frames', '0',
      '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', file,
    ]);
    const ivf = readFileSync(file);
    const frames: Buffer[] = [];
    for (let o = 32; o + 12 <= ivf.length;) {
      const size = ivf.readUInt32LE(o);
      frames.push(ivf.subarray(o + 12, o + 12 + size));
      o += 12 + size;
    }
    return frames;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void describe('fast start of a new subscriber from the latest keyframe', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let pc: RTCPeerConnection | undefined;
  let joined: JoinedPublisher | undefined;
  let sending: NodeJS.Timeout | undefined;
  const viewers: WrtcPeer[] = [];
  let keyframeRequests = 0;

  before(async () => {
    const clip = encodeClip();
    assert.ok(
      clip.length >= 40 && (clip[0]![0]! & 1) === 0 && (clip[1]![0]! & 1) === 1,
      'keyframe, delta, …',
    );
    sb = await startSwitchboard();
    const made = vp8PublisherPc();
    pc = made.pc;
    const { track, transceiver } = made;
    transceiver.sender.onPictureLossIndication.subscribe(() => keyframeRequests++);
    transceiver.sender.onRtcp.subscribe((p) => {
      if (p.type === 206 && (p as unknown as { feedback: { count: number } }).feedback.count === 4) {
        keyframeRequests++; // FIR
      }
    });
    joined = await joinAsPublisher(wsUrlOf(sb.url), ROOM, 'pub', pc);
    let seq = 0;
    let frame = 0;
    sending = setInterval(() => {
      const data = clip[frame % clip.length]!; // the clip starts with a keyframe: looping is seamless
      const pictureId = frame & 0x7fff;
      for (let at = 0; at < data.length; at += MAX_PAYLOAD) {
        const end = Math.min(data.length, at + MAX_PAYLOAD);
        // RFC 7741 descriptor: X, S on the frame's first packet; I with a 15-bit picture id (M=1).
        const descriptor = [0x80 | (at === 0 ? 0x10 : 0), 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff];
        const header = new RtpHeader({
          payloadType: 96,
          sequenceNumber: seq++ & 0xffff,
          timestamp: (frame * 3600) >>> 0,
          marker: end === data.length,
        });
        track.writeRtp(
          new RtpPacket(header, Buffer.concat([Buffer.from(descriptor), data.subarray(at, end)])),
        );
      }
      frame++;
    }, 40);
  });

  after(async () => {
    clearInterval(sending);
    for (const v of viewers) {
      await v.close();
    }
    await pc?.close();
    await joined?.close();
    await sb?.close();
  });

  void it('viewers joining mid-stream decode at once, without a keyframe request to the publisher', async () => {
    for (let i = 0; i < VIEWERS; i++) {
      const viewer = await WrtcPeer.connect(wsUrlOf(sb!.url), `viewer${i}`);
      viewers.push(viewer);
      await viewer.join(ROOM, `viewer${i}`);
      await waitFor(() => viewer.videoFrames() >= 10, {
        timeout: 15_000,
        what: `viewer ${i} to decode 10 frames`,
      });
    }
    const metrics = await fetchMetrics(sb!);
    const fastStarts = metricValue(metrics, 'sfu_fast_starts') ?? 0;
    assert.ok(fastStarts >= 1, `at least one of ${VIEWERS} viewers started from a replayed keyframe`);
    assert.equal(keyframeRequests, 0, 'no viewer needed a keyframe request (PLI/FIR) to start decoding');
    // And they keep decoding: the replay left no hole for the decoder (a freeze would ask for a keyframe).
    const before = viewers.map((v) => v.videoFrames());
    await waitFor(() => viewers.every((v, i) => v.videoFrames() >= before[i]! + 25), {
      timeout: 10_000,
      what: 'every viewer to decode another second of video',
    });
    assert.equal(keyframeRequests, 0);
  });
});
