// The forwarding path on synthetic packets: Receiver → DownTrack with werift's transport objects faked
// at the two points DownTrack touches (the SRTP session and the sender's negotiated parameters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  Event,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtpHeader,
  RtpPacket,
  RTCRtpCodecParameters,
  SrtpSession,
} from 'werift';
import { Receiver, PLI_MIN_GAP_MS, PLI_OUTSTANDING_MS } from '../../../src/media/Receiver.ts';
import { DownTrack, FAST_START_MAX_MS } from '../../../src/media/DownTrack.ts';
import { EXT_ABS_SEND_TIME, EXT_AUDIO_LEVEL, EXT_MID } from '../../../src/media/werift.ts';
import { viewOf } from '../../helpers/rtpView.ts';

function fakeSubscriberTransceiver(kind: 'audio' | 'video') {
  // Real SRTP keys (werift derives them); what DownTrack sends is decrypted with werift's own session.
  const key = randomBytes(16);
  const salt = randomBytes(14);
  const keys = {
    localMasterKey: key,
    localMasterSalt: salt,
    remoteMasterKey: randomBytes(16),
    remoteMasterSalt: randomBytes(14),
  };
  const srtp = new SrtpSession({ keys, profile: 1 });
  const peer = new SrtpSession({
    keys: {
      localMasterKey: keys.remoteMasterKey,
      localMasterSalt: keys.remoteMasterSalt,
      remoteMasterKey: key,
      remoteMasterSalt: salt,
    },
    profile: 1,
  });
  const sent: RtpHeader[] = [];
  const socket = {
    type: 'udp4',
    send(b: Buffer) {
      sent.push(RtpHeader.deSerialize(peer.decrypt(Buffer.from(b))));
    },
  };
  const dtls = {
    state: 'connected',
    srtpStarted: true,
    bytesSent: 0,
    packetsSent: 0,
    srtp,
    iceTransport: {
      connection: {
        nominated: { protocol: { transport: { socket } }, remoteCandidate: { host: '10.0.0.9', port: 5000 } },
      },
    },
  };
  const sender = {
    dtlsTransport: dtls,
    ssrc: 0xabcdef01,
    codec: { payloadType: kind === 'audio' ? 109 : 120 },
    onPictureLossIndication: new Event<[]>(),
    onGenericNack: new Event<[{ lost: number[] }]>(),
    onRtcp: new Event<[unknown]>(),
  };
  // The subscriber negotiated its own ids, different from the publisher's.
  const headerExtensions = [
    { id: 3, uri: EXT_MID },
    { id: 2, uri: EXT_AUDIO_LEVEL },
    { id: 4, uri: EXT_ABS_SEND_TIME },
  ];
  return { transceiver: { sender, mid: '5', headerExtensions, codecs: [] } as never, sent, sender, dtls, peer };
}

/** A VP8 payload that starts a keyframe: descriptor S=1 PID=0, then P=0, the start code and 640×360. */
const KEYFRAME = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);

function makeReceiver(kind: 'audio' | 'video') {
  const plis: number[] = [];
  const receiver = new Receiver({
    peerId: 'pub',
    rids: [''],
    transceiver: {
      kind,
      receiver: { sendRtcpPLI: (ssrc: number) => (plis.push(ssrc), Promise.resolve()) },
    } as never,
    codec: new RTCRtpCodecParameters({
      mimeType: kind === 'audio' ? 'audio/opus' : 'video/VP8',
      clockRate: kind === 'audio' ? 48000 : 90000,
    }),
    streamId: 'stream-1',
    trackId: 'track-1',
    cacheSize: 64,
    audioLevelExtId: kind === 'audio' ? 1 : 0, // the publisher's id for ssrc-audio-level
  });
  const push = (
    seq: number,
    ts: number,
    exts: { id: number; payload: Buffer }[] = [],
    payload = Buffer.from([1, 2, 3]),
  ) =>
    receiver.receive(
      receiver.layers[0]!,
      viewOf(
        new RtpPacket(
          new RtpHeader({
            sequenceNumber: seq,
            timestamp: ts,
            ssrc: 0x11111111,
            payloadType: 96,
            extensions: exts,
          }),
          payload,
        ),
      ),
      Date.now(),
    );
  return { receiver, push, plis };
}

await test("forwarded packets carry the subscriber's SSRC, payload type and extension ids, never the publisher's", () => {
  const { receiver, push } = makeReceiver('audio');
  const { transceiver, sent } = fakeSubscriberTransceiver('audio');
  const dt = new DownTrack(receiver, transceiver);
  receiver.addDownTrack(dt);
  // Publisher: audio level on id 1, its own mid on id 9 (which must not leak).
  push(100, 960, [
    { id: 1, payload: Buffer.from([0x80 | 25]) },
    { id: 9, payload: Buffer.from('0') },
  ]);
  assert.equal(sent.length, 1);
  const h = sent[0]!;
  assert.equal(h.ssrc, 0xabcdef01);
  assert.equal(h.payloadType, 109);
  assert.equal(h.sequenceNumber, 100);
  assert.equal(h.timestamp, 960);
  assert.deepEqual(
    h.extensions.map((e) => [e.id, [...e.payload]]),
    [
      [3, [...Buffer.from('5')]], // the subscriber's mid, under its id
      [2, [25]], // the level under the subscriber's id
    ],
  );
});

await test('when ICE nominates another pair, the next packets leave on its socket to its address', () => {
  const { receiver, push } = makeReceiver('audio');
  const { transceiver, sent, dtls, peer } = fakeSubscriberTransceiver('audio');
  receiver.addDownTrack(new DownTrack(receiver, transceiver));
  push(1, 960);
  push(2, 1920);
  assert.equal(sent.length, 2);
  const moved: { seq: number; to: string }[] = [];
  const socket = {
    type: 'udp4',
    send(b: Buffer, port: number, host: string) {
      moved.push({
        seq: RtpHeader.deSerialize(peer.decrypt(Buffer.from(b))).sequenceNumber,
        to: `${host}:${port}`,
      });
    },
  };
  dtls.iceTransport.connection.nominated = {
    protocol: { transport: { socket } },
    remoteCandidate: { host: '10.0.0.10', port: 6000 },
  } as never;
  push(3, 2880);
  assert.equal(sent.length, 2, 'nothing more on the old pair');
  assert.deepEqual(moved, [{ seq: sent[1]!.sequenceNumber + 1, to: '10.0.0.10:6000' }]);
  receiver.close();
});

await test('a NACK is answered from the receiver cache with the sequence number and timestamp first sent', () => {
  const { receiver, push } = makeReceiver('video');
  const { transceiver, sent, sender } = fakeSubscriberTransceiver('video');
  const dt = new DownTrack(receiver, transceiver);
  receiver.addDownTrack(dt);
  push(65534, 1000, [], KEYFRAME);
  push(65535, 4000);
  push(0, 7000);
  dt.setMuted(true);
  dt.setMuted(false); // a resync at the next keyframe: output numbering no longer equals input numbering
  push(1, 10000);
  assert.equal(sent.length, 3, 'after unmute, video waits for a keyframe');
  push(2, 13000, [], KEYFRAME);
  push(3, 16000);
  const before = sent.length;
  sender.onGenericNack.execute({ lost: [65535, sent.at(-1)!.sequenceNumber] });
  const resent = sent.slice(before).map((h) => [h.sequenceNumber, h.timestamp]);
  assert.deepEqual(resent, [
    [65535, 4000],
    [sent[before - 1]!.sequenceNumber, sent[before - 1]!.timestamp],
  ]);
});

await test('encrypted VP8 (garbage payload headers): a subscriber starts at a frame start, a keyframe is asked for, garbage never answers it', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 10_000 });
  const { receiver, push, plis } = makeReceiver('video');
  // Descriptor S=1 PID=0 in clear, then encrypted bytes: P=0 by chance without the start code, or P=1.
  const claimsKey = Buffer.from([0x10, 0x52, 0x11, 0x07, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
  const claimsDelta = Buffer.from([0x10, 0x53, 0x11, 0x07]);
  const { transceiver, sent } = fakeSubscriberTransceiver('video');
  receiver.addDownTrack(new DownTrack(receiver, transceiver));
  push(1, 0, [], claimsDelta);
  assert.equal(sent.length, 0, 'not known to be encrypted yet: waits for a keyframe');
  assert.equal(plis.length, 1, 'and asks for one');
  push(2, 3000, [], claimsKey);
  assert.equal(receiver.layers[0]!.opaque, true);
  assert.equal(receiver.layers[0]!.width, 0, 'no size read from garbage');
  assert.equal(sent.length, 1, 'an encrypted layer starts at a frame start');
  push(3, 3000);
  push(4, 6000, [], claimsDelta);
  assert.equal(sent.length, 3);
  // The garbage "keyframe" did not answer the request: it is sent again once PLI_OUTSTANDING_MS is up.
  t.mock.timers.tick(PLI_OUTSTANDING_MS);
  assert.equal(plis.length, 2);
  // A real keyframe (the app stopped encrypting) makes the layer plain again.
  push(5, 9000, [], KEYFRAME);
  assert.equal(receiver.layers[0]!.opaque, false);
  assert.equal(receiver.layers[0]!.width, 640);
  receiver.close();
});

await test('a keyframe request goes out at once; more while it is outstanding wait for its keyframe; repeated after 500 ms without one', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 10_000 });
  const { receiver, push, plis } = makeReceiver('video');
  const { transceiver, sender } = fakeSubscriberTransceiver('video');
  receiver.addDownTrack(new DownTrack(receiver, transceiver));
  push(1, 0); // learns the SSRC; the first forwarded packet asks for a keyframe for the new subscriber
  assert.equal(plis.length, 1, 'sent at once, no throttle window');
  for (let i = 0; i < 5; i++) {
    sender.onPictureLossIndication.execute();
  }
  sender.onRtcp.execute({ type: 206, feedback: { count: 4 } }); // FIR counts like PLI
  assert.equal(plis.length, 1, 'the outstanding request serves them');
  t.mock.timers.tick(PLI_OUTSTANDING_MS - 1);
  assert.equal(plis.length, 1);
  t.mock.timers.tick(1);
  assert.deepEqual(plis, [0x11111111, 0x11111111], 'no keyframe came: asked again after 500 ms');
  t.mock.timers.tick(PLI_OUTSTANDING_MS * 4);
  assert.equal(plis.length, 2, 'nobody asked again: nothing more is sent');
  receiver.close();
});

await test('after an answered request the next one waits at most PLI_MIN_GAP_MS, and a keyframe meanwhile serves it', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 10_000 });
  const { receiver, push, plis } = makeReceiver('video');
  const { transceiver, sender } = fakeSubscriberTransceiver('video');
  receiver.addDownTrack(new DownTrack(receiver, transceiver));
  push(1, 0);
  assert.equal(plis.length, 1);
  t.mock.timers.tick(30);
  push(2, 3000, [], KEYFRAME); // the answer
  // A subscriber joining 20 ms later needs a keyframe of its own: held for the rest of the gap, not 500 ms.
  t.mock.timers.tick(20);
  for (let i = 0; i < 5; i++) {
    sender.onPictureLossIndication.execute();
  }
  assert.equal(plis.length, 1);
  t.mock.timers.tick(PLI_MIN_GAP_MS - 50 - 1);
  assert.equal(plis.length, 1);
  t.mock.timers.tick(1);
  assert.equal(plis.length, 2, 'five requests, one PLI, PLI_MIN_GAP_MS after the previous one');
  // Answered again; a later request goes out at once.
  t.mock.timers.tick(10);
  push(3, 6000, [], KEYFRAME);
  t.mock.timers.tick(PLI_MIN_GAP_MS);
  sender.onPictureLossIndication.execute();
  assert.equal(plis.length, 3);
  // Held (answered 10 ms ago), but a keyframe arrives first: it serves the request, no PLI follows.
  t.mock.timers.tick(10);
  push(4, 9000, [], KEYFRAME);
  t.mock.timers.tick(10);
  sender.onPictureLossIndication.execute();
  t.mock.timers.tick(50);
  push(5, 12000, [], KEYFRAME);
  t.mock.timers.tick(PLI_OUTSTANDING_MS);
  assert.equal(plis.length, 3);
  receiver.close();
});

await test('fast start: a new subscriber gets the frames since a recent keyframe at once, squeezed just before the live one, without a PLI', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 10_000 });
  const { receiver, push, plis } = makeReceiver('video');
  const early = fakeSubscriberTransceiver('video');
  receiver.addDownTrack(new DownTrack(receiver, early.transceiver));
  push(100, 9000, [], KEYFRAME); // a keyframe answers the first subscriber's request
  assert.equal(plis.length, 0);
  push(101, 9000); // second packet of the keyframe
  t.mock.timers.tick(40);
  push(102, 12600); // a delta frame of two packets
  push(103, 12600);
  t.mock.timers.tick(40);
  push(104, 16200);
  // Joins 80 ms after the keyframe; the next packet is the first of frame 19800.
  const late = fakeSubscriberTransceiver('video');
  const dt = new DownTrack(receiver, late.transceiver);
  receiver.addDownTrack(dt);
  t.mock.timers.tick(40);
  push(105, 19800);
  assert.equal(dt.fastStarts, 1);
  assert.equal(plis.length, 0, 'no keyframe request: the replay starts the decoder');
  assert.deepEqual(
    late.sent.map((h) => h.sequenceNumber),
    [100, 101, 102, 103, 104, 105],
  );
  assert.deepEqual(
    late.sent.map((h) => h.timestamp),
    [19797, 19797, 19798, 19798, 19799, 19800],
    'earlier frames one tick apart just before the live one',
  );
  push(106, 23400);
  assert.deepEqual(late.sent.at(-1)!.timestamp, 23400, 'live frames keep their spacing');
  // A NACK of a replayed packet is answered with the timestamp it was first sent with.
  late.sender.onGenericNack.execute({ lost: [102] });
  assert.equal(late.sent.at(-1)!.sequenceNumber, 102);
  assert.equal(late.sent.at(-1)!.timestamp, 19798);
  receiver.close();
});

await test('no fast start from an old keyframe or across a missing packet: the subscriber waits for a requested keyframe', (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 10_000 });
  const { receiver, push, plis } = makeReceiver('video');
  push(1, 0, [], KEYFRAME);
  push(2, 3600);
  push(4, 7200); // 3 never came
  const gap = fakeSubscriberTransceiver('video');
  const a = new DownTrack(receiver, gap.transceiver);
  receiver.addDownTrack(a);
  push(5, 10800);
  assert.equal(a.fastStarts, 0);
  assert.equal(gap.sent.length, 0);
  assert.equal(plis.length, 1);
  // A keyframe older than FAST_START_MAX_MS: a request instead (the encoder answers sooner).
  push(6, 14400, [], KEYFRAME);
  assert.equal(gap.sent.length, 1, 'the first subscriber starts at the keyframe');
  t.mock.timers.tick(FAST_START_MAX_MS + 1);
  const old = fakeSubscriberTransceiver('video');
  const b = new DownTrack(receiver, old.transceiver);
  receiver.addDownTrack(b);
  push(7, 18000);
  assert.equal(b.fastStarts, 0);
  assert.equal(old.sent.length, 0);
  assert.equal(plis.length, 2);
  receiver.close();
});

await test('a sender report maps the last forwarded timestamp to wall-clock time', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const { receiver, push } = makeReceiver('video');
  const { transceiver } = fakeSubscriberTransceiver('video');
  const dt = new DownTrack(receiver, transceiver);
  receiver.addDownTrack(dt);
  assert.equal(dt.senderReport(Date.now()), undefined);
  push(10, 90_000, [], KEYFRAME);
  const sr = dt.senderReport(Date.now() + 1000)!;
  assert.equal(sr.ssrc, 0xabcdef01);
  assert.equal(sr.senderInfo.rtpTimestamp, 180_000); // one second later at 90 kHz
  assert.equal(sr.senderInfo.packetCount, 1);
  assert.equal(sr.senderInfo.ntpTimestamp >> 32n, BigInt(1_700_000_001) + 2_208_988_800n);
});

await test("the publisher's last sender report is kept on the layer of its SSRC", () => {
  const { receiver, push } = makeReceiver('audio');
  const layer = receiver.layers[0]!;
  const report = (ssrc: number, seconds: number, rtpTimestamp: number) =>
    new RtcpSrPacket({
      ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: (BigInt(seconds) << 32n) | 0x8000_0000n, // + 0.5 s
        rtpTimestamp,
        packetCount: 1,
        octetCount: 3,
      }),
    });
  receiver.senderReport(layer, report(0x11111111, 100, 5)); // before any packet: the layer's SSRC is unknown
  assert.equal(receiver.layers[0]!.senderReport, undefined);
  push(1, 4800);
  receiver.senderReport(layer, report(0x22222222, 100, 5)); // another SSRC
  assert.equal(receiver.layers[0]!.senderReport, undefined);
  receiver.senderReport(layer, report(0x11111111, 3_900_000_000, 9600));
  assert.deepEqual(receiver.layers[0]!.senderReport, {
    ssrc: 0x11111111,
    ntpMs: 3_900_000_000_500,
    rtpTimestamp: 9600,
  });
});

await test('a DownTrack closes with its Receiver', () => {
  const { receiver } = makeReceiver('audio');
  const dt = new DownTrack(receiver, fakeSubscriberTransceiver('audio').transceiver);
  receiver.addDownTrack(dt);
  receiver.close();
  assert.equal(dt.closed, true);
  assert.equal(receiver.downTracks.size, 0);
});
