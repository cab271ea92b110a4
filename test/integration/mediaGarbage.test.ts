// Garbage on a media port (issue #15's bad-input test, kept green across the ingress rework): once a
// publisher's transport is up, datagrams from its own ICE 5-tuple — truncated RTP, bare headers,
// packets that fail SRTP authentication, fake RTCP, DTLS and STUN, a 64 KB datagram — never throw out
// of the socket handler and never stop the room's media; genuine SRTP packets sent again (a replay)
// are dropped by the ingress, not forwarded twice. The publisher is a werift client, so the test
// can send on its socket; the viewer is libwebrtc (@roamhq/wrtc).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { joinAsPublisher, type JoinedPublisher } from '../helpers/weriftPublisher.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'garbage';

/** The datagrams sent from the publisher's 5-tuple, by kind. */
function garbage(): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const withFirst = (first: number, size: number, second?: number): Buffer => {
    const b = randomBytes(size);
    b[0] = first;
    if (second !== undefined && size > 1) {
      b[1] = second;
    }
    return b;
  };
  for (let i = 0; i < 50; i++) {
    out.push(['one byte', Buffer.from([0x80])]);
    out.push(['truncated RTP header', withFirst(0x80, 1 + (i % 11), 111)]);
    out.push(['bare RTP header', withFirst(0x80, 12, 111)]);
    out.push(['RTP with CSRC count past the end', withFirst(0x8f, 16, 111)]);
    out.push(['RTP with an extension past the end', withFirst(0x90, 20, 111)]);
    out.push(['SRTP that fails authentication', withFirst(0x80, 200 + i * 20, 111)]);
    out.push(['RTCP garbage', withFirst(0x80, 8 + i, 200 + (i % 8))]);
    out.push(['DTLS garbage', withFirst(20 + (i % 4), 13 + i)]);
    out.push(['STUN garbage', withFirst(0, 20 + i, 1)]);
    out.push(['random', randomBytes(1 + i * 25)]);
  }
  out.push(['64 KB datagram', withFirst(0x80, 65_000, 111)]);
  out.push(['64 KB DTLS', withFirst(23, 65_000)]);
  return out;
}

void describe('garbage datagrams on a media port', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let viewer: WrtcPeer | undefined;
  let joined: JoinedPublisher | undefined;
  let pc: RTCPeerConnection | undefined;
  let sending: NodeJS.Timeout | undefined;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);

  before(async () => {
    process.on('uncaughtException', onUncaught);
    sb = await startSwitchboard();
    viewer = await WrtcPeer.connect(wsUrlOf(sb.url), 'viewer');
    await viewer.join(ROOM, 'viewer');

    // The publisher: a werift PC sending Opus-like RTP, signalled over a bare socket.
    pc = new RTCPeerConnection({
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      },
      iceUseIpv6: false,
    });
    const track = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(track, { direction: 'sendonly' });
    joined = await joinAsPublisher(wsUrlOf(sb.url), ROOM, 'pub', pc);
    let seq = 0;
    sending = setInterval(() => {
      const header = new RtpHeader({
        payloadType: 111,
        sequenceNumber: seq++ & 0xffff,
        timestamp: seq * 960,
        marker: true,
      });
      track.writeRtp(new RtpPacket(header, randomBytes(80)));
    }, 20);
    await waitFor(async () => (await viewer!.inboundStats()).audio > 25, {
      timeout: 20_000,
      what: "the viewer to receive the publisher's audio",
    });
  });

  after(async () => {
    clearInterval(sending);
    await pc?.close();
    await joined?.close();
    await viewer?.close();
    await sb?.close();
    process.off('uncaughtException', onUncaught);
  });

  void it('every kind of garbage from the publisher 5-tuple is absorbed; media keeps flowing to the viewer', async () => {
    const pair = (pc!.dtlsTransports[0]!.iceTransport.connection as any).nominated;
    assert.ok(pair, 'the publisher has a nominated pair');
    const socket = pair.protocol.transport.socket as Socket;
    const [host, port] = pair.remoteAddr as [string, number];
    const before = (await viewer!.inboundStats()).audio;
    for (const [, datagram] of garbage()) {
      await new Promise<void>((resolve) => socket.send(datagram, port, host, () => resolve()));
    }
    const after = await waitFor(
      async () => {
        const n = (await viewer!.inboundStats()).audio;
        return n > before + 50 ? n : undefined;
      },
      { timeout: 15_000, what: 'the viewer to keep receiving audio after the garbage' },
    );
    assert.ok(after > before + 50);
    assert.equal(pc!.connectionState, 'connected', "the publisher's transport is still up");
    assert.deepEqual(uncaught, [], 'nothing escaped a socket handler');
    const health = await fetch(`${sb!.url}/healthz`);
    assert.equal(health.status, 200);
    const dropped = await ingressCount('dropped');
    assert.ok(dropped >= 200, `the SRTP-looking garbage was counted as dropped: ${dropped}`);
  });

  void it('replayed genuine SRTP packets are refused (RFC 3711 replay list), not forwarded again', async () => {
    const pair = (pc!.dtlsTransports[0]!.iceTransport.connection as any).nominated;
    const socket = pair.protocol.transport.socket as Socket;
    const [host, port] = pair.remoteAddr as [string, number];
    // Copy what the publisher really sends for a second (authentic SRTP, each accepted once).
    const captured: Buffer[] = [];
    const send = socket.send.bind(socket) as (...a: unknown[]) => void;
    socket.send = ((msg: unknown, ...rest: unknown[]) => {
      if (
        Buffer.isBuffer(msg) &&
        msg.length > 12 &&
        msg[0]! >= 128 &&
        msg[0]! < 192 &&
        ((msg[1]! & 0x7f) < 64 || (msg[1]! & 0x7f) > 95)
      ) {
        captured.push(Buffer.from(msg));
      }
      send(msg, ...rest);
    }) as typeof socket.send;
    await waitFor(() => captured.length >= 40, { what: 'the publisher to send 40 packets' });
    delete (socket as { send?: unknown }).send; // the prototype's again
    const dropped = await ingressCount('dropped');
    const forwarded = await ingressCount('forwarded');
    const t0 = Date.now();
    for (let round = 0; round < 3; round++) {
      for (const datagram of captured) {
        await new Promise<void>((resolve) => socket.send(datagram, port, host, () => resolve()));
      }
    }
    await waitFor(async () => (await ingressCount('dropped')) >= dropped + 3 * captured.length, {
      what: `all ${3 * captured.length} replayed packets to be dropped`,
    });
    const live = ((Date.now() - t0) / 20) * 1.5 + 10; // the live stream's 50 pps, with margin
    const more = (await ingressCount('forwarded')) - forwarded;
    assert.ok(more <= live, `forwarded ${more} packets meanwhile, live alone is about ${live / 1.5}`);
  });

  async function ingressCount(result: string): Promise<number> {
    return metricValue(await fetchMetrics(sb!), 'sfu_ingress_packets', { result }) ?? NaN;
  }
});
