// Loss on the way in (issue #15): packets a publisher sends that never reach the SFU are asked for
// again with generic NACKs by our ingress, the publisher retransmits them, and the viewer gets a
// stream without holes. The publisher is a werift client (its sender answers NACKs from its own
// history), so the test can drop its datagrams before they leave: every 12th video packet, once.
// The viewer is libwebrtc (@roamhq/wrtc), whose inbound-rtp stats count what it lost. The publisher
// also gets our receiver reports.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { type RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { joinAsPublisher, vp8PublisherPc, type JoinedPublisher } from '../helpers/weriftPublisher.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'ingress-nack';
const DROP_EVERY = 12;

/** VP8 payloads: a frame of 3 packets every 40 ms, a keyframe every second (what the SFU parses). */
function vp8Payload(frame: number, part: number): Buffer {
  const body = Buffer.alloc(300, frame & 0xff);
  if (part > 0) {
    return Buffer.concat([Buffer.from([0x00]), body]); // descriptor: not a frame start
  }
  const key = frame % 25 === 0;
  // descriptor S=1 PID=0, then the VP8 payload header: P=0 + start code + 320×240 on keyframes
  const header = key
    ? [0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]
    : [0x10, 0x01, 0x00, 0x00];
  return Buffer.concat([Buffer.from(header), body]);
}

void describe('NACKs toward a publisher for packets lost on the way in', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let viewer: WrtcPeer | undefined;
  let joined: JoinedPublisher | undefined;
  let pc: RTCPeerConnection | undefined;
  let sending: NodeJS.Timeout | undefined;
  let dropped = 0;
  const nacked = new Set<number>();
  const reports: { ssrc: number; highestSequence: number; packetsLost: number }[] = [];

  before(async () => {
    sb = await startSwitchboard();
    viewer = await WrtcPeer.connect(wsUrlOf(sb.url), 'viewer');
    await viewer.join(ROOM, 'viewer');

    const made = vp8PublisherPc();
    pc = made.pc;
    const { track, transceiver } = made;
    transceiver.sender.onRtcp.subscribe((p) => {
      if (p.type === 201) {
        reports.push(...(p as unknown as { reports: (typeof reports)[number][] }).reports);
      }
    });
    transceiver.sender.onGenericNack.subscribe((nack) => {
      for (const seq of nack.lost) {
        nacked.add(seq);
      }
    });
    joined = await joinAsPublisher(wsUrlOf(sb.url), ROOM, 'pub', pc);
    let seq = 0;
    let frame = 0;
    sending = setInterval(() => {
      for (let part = 0; part < 3; part++) {
        const header = new RtpHeader({
          payloadType: 96,
          sequenceNumber: seq++ & 0xffff,
          timestamp: frame * 3600,
          marker: part === 2,
        });
        track.writeRtp(new RtpPacket(header, vp8Payload(frame, part)));
      }
      frame++;
    }, 40);
  });

  after(async () => {
    clearInterval(sending);
    await pc?.close();
    await joined?.close();
    await viewer?.close();
    await sb?.close();
  });

  void it('the lost packets are NACKed, retransmitted, and the viewer misses none of them', async () => {
    await waitFor(async () => (await viewer!.inboundStats()).video > 30, {
      timeout: 20_000,
      what: "the viewer to receive the publisher's video",
    });
    // From now on every 12th SRTP packet the publisher sends is lost (retransmissions get through).
    const pair = (pc!.dtlsTransports[0]!.iceTransport.connection as any).nominated;
    const socket = pair.protocol.transport.socket as Socket;
    const send = socket.send.bind(socket) as (...a: unknown[]) => void;
    const seen = new Set<number>();
    let n = 0;
    socket.send = ((msg: unknown, ...rest: unknown[]) => {
      if (
        Buffer.isBuffer(msg) &&
        msg.length > 12 &&
        msg[0]! >= 128 &&
        msg[0]! < 192 &&
        (msg[1]! & 0x7f) === 96
      ) {
        const seq = msg.readUInt16BE(2);
        if (!seen.has(seq)) {
          seen.add(seq);
          if (++n % DROP_EVERY === 0) {
            dropped++;
            return; // lost once; its retransmission will carry the same sequence number
          }
        }
      }
      send(msg, ...rest);
    }) as typeof socket.send;
    const lostBefore = await videoLost(viewer!);
    const received = (await viewer!.inboundStats()).video;
    await waitFor(async () => (await viewer!.inboundStats()).video > received + 300, {
      timeout: 30_000,
      what: 'the viewer to receive 300 more video packets',
    });
    delete (socket as { send?: unknown }).send; // the prototype's again
    assert.ok(dropped >= 300 / DROP_EVERY - 2, `dropped ${dropped}`);
    assert.ok(
      nacked.size >= dropped - 2,
      `the publisher was asked for ${nacked.size} of ${dropped} lost packets`,
    );
    await new Promise((r) => setTimeout(r, 500)); // the last retransmissions
    const lost = (await videoLost(viewer!)) - lostBefore;
    assert.ok(lost <= 2, `the viewer lost ${lost} packets of ${dropped} lost on the way in`);
    const requests = metricValue(await fetchMetrics(sb!), 'sfu_nack_requests') ?? 0;
    assert.ok(requests >= dropped - 2, `sfu_nack_requests ${requests}`);
  });

  void it('the publisher gets receiver reports for its stream: highest sequence number, nothing lost for good', () => {
    const ssrc = pc!.getTransceivers()[0]!.sender.ssrc;
    const mine = reports.filter((r) => r.ssrc === ssrc);
    assert.ok(mine.length >= 3, `${mine.length} report blocks for the publisher's SSRC`);
    const last = mine.at(-1)!;
    assert.ok(last.highestSequence > 300, `highest sequence ${last.highestSequence}`);
    assert.ok(last.packetsLost <= 2, `cumulative loss ${last.packetsLost}: retransmissions made up for it`);
  });
});

/** The viewer's inbound-rtp `packetsLost` for video. */
async function videoLost(viewer: WrtcPeer): Promise<number> {
  let lost = 0;
  (await viewer.subscriber.getStats()).forEach((s: Record<string, unknown>) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && typeof s.packetsLost === 'number') {
      lost += s.packetsLost;
    }
  });
  return lost;
}
