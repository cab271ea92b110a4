import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertValidAnswer, assertValidOffer, SDP_LIMITS } from '../../../src/media/sdpCheck.ts';
import { createPeerConnection } from '../../../src/media/werift.ts';
import { SwitchboardError } from '../../../src/util/errors.ts';
import { audioOffer, FP } from '../../helpers/sdpFixtures.ts';

const good = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  FP,
  'a=setup:actpass',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  '',
].join('\r\n');

/** A Chrome-shaped offer: audio, simulcast video with RTX, a data channel, all bundled. */
function chromeOffer(): string {
  const head = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
  const transport = [
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:Kx1q',
    'a=ice-pwd:bU6Xc0Fz1bH8pP3Hq2y7YQ1s',
    'a=ice-options:trickle',
    FP,
    'a=setup:actpass',
  ];
  const candidates = [
    'a=candidate:1 1 udp 2122260223 192.168.1.7 54400 typ host generation 0 network-id 1',
    'a=candidate:2 1 tcp 1518280447 192.168.1.7 9 typ host tcptype active generation 0 network-id 1',
    'a=candidate:3 1 udp 1686052607 203.0.113.4 54400 typ srflx raddr 192.168.1.7 rport 54400 generation 0',
  ];
  const audio = [
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'a=rtcp:9 IN IP4 0.0.0.0',
    ...candidates,
    ...transport,
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv',
    'a=msid:{0f2a6c0e-1a3b-4c5d-8e9f-0a1b2c3d4e5f} {6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d}',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
    'a=ssrc:1001 cname:abc',
    'a=ssrc:1001 msid:- audio',
  ];
  const video = [
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 35 36',
    'a=rtcp:9 IN IP4 0.0.0.0',
    ...transport,
    'a=mid:1',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
    'a=extmap:3/sendonly urn:3gpp:video-orientation',
    'a=sendonly',
    'a=msid:- video',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 goog-remb',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    'a=rtcp-fb:96 ccm fir',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'a=rtpmap:98 VP9/90000',
    'a=rtcp-fb:98 nack',
    'a=fmtp:98 profile-id=0',
    'a=rtpmap:99 rtx/90000',
    'a=fmtp:99 apt=98',
    'a=rtpmap:35 AV1/90000',
    'a=rtpmap:36 rtx/90000',
    'a=fmtp:36 apt=35',
    'a=rid:q send',
    'a=rid:h send',
    'a=rid:f send',
    'a=simulcast:send q;h;f',
  ];
  const data = [
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    ...transport,
    'a=mid:2',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ];
  return [
    ...head,
    'a=group:BUNDLE 0 1 2',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    ...audio,
    ...video,
    ...data,
    '',
  ].join('\r\n');
}

/** The offer's refusal: a SwitchboardError `negotiation` whose message matches `re`. */
function refused(
  sdp: string,
  re: RegExp,
  limits?: Parameters<typeof assertValidOffer>[1],
  known?: ReadonlySet<string>,
): void {
  assert.throws(
    () => assertValidOffer(sdp, limits, known),
    (err: unknown) => err instanceof SwitchboardError && err.code === 'negotiation' && re.test(err.message),
  );
}

await test('a minimal WebRTC offer and a Chrome-shaped one pass', () => {
  assert.doesNotThrow(() => assertValidOffer(good));
  assert.doesNotThrow(() => assertValidOffer(chromeOffer()));
});

await test('garbage, offers without media, ICE credentials or fingerprint are refused with the reason', () => {
  refused('garbage', /^invalid SDP offer: must start with v=0$/);
  refused('v=0\r\ns=-\r\n', /no media sections/);
  refused(good.replace(/a=ice-ufrag:.*\r\n/, ''), /no ICE credentials/);
  refused(good.replace(/a=ice-pwd:.*\r\n/, ''), /no ICE credentials/);
  refused(good.replace(/a=fingerprint:.*\r\n/, ''), /no DTLS fingerprint/);
  refused(good.replace(/a=mid:.*\r\n/, ''), /m-section 0 has no a=mid/);
});

await test("werift's own offers and answers pass (relay links between nodes send them)", async () => {
  const sub = createPeerConnection('subscriber', { iceServers: [], iceLite: false });
  const pub = createPeerConnection('publisher', { iceServers: [], iceLite: true });
  try {
    sub.addTransceiver('audio', { direction: 'sendonly' });
    sub.addTransceiver('video', { direction: 'sendonly' });
    sub.createDataChannel('ion-sfu');
    const offer = await sub.createOffer();
    assert.doesNotThrow(() => assertValidOffer(offer.sdp));
    await pub.setRemoteDescription(offer);
    const answer = await pub.createAnswer();
    assert.doesNotThrow(() => assertValidAnswer(answer.sdp, 3));
  } finally {
    await sub.close();
    await pub.close();
  }
});

await test('more media sections than [webrtc] maxmediasections are refused; 0 is no limit (relay links)', () => {
  refused(audioOffer(1500), /^invalid SDP offer: too many media sections \(1500 > 64\)$/);
  refused(audioOffer(65), /too many media sections \(65 > 64\)/);
  assert.doesNotThrow(() => assertValidOffer(audioOffer(64)));
  refused(audioOffer(9), /too many media sections \(9 > 8\)/, { maxMediaSections: 8, maxCandidates: 64 });
  assert.doesNotThrow(() => assertValidOffer(audioOffer(200), { maxMediaSections: 0, maxCandidates: 64 }));
});

await test('a renegotiation counts the mids negotiated before (werift keeps a transceiver for each)', () => {
  const before = new Set(Array.from({ length: 60 }, (_, i) => `old${i}`));
  refused(
    audioOffer(8),
    /^invalid SDP offer: too many media sections \(68 > 64, counting the 60 negotiated before\)$/,
    undefined,
    before,
  );
  const same = new Set(Array.from({ length: 60 }, (_, i) => String(i)));
  assert.doesNotThrow(() => assertValidOffer(audioOffer(64), undefined, same));
});

await test('media sections outside one BUNDLE group are refused; a single section needs none', () => {
  refused(audioOffer(3, { bundle: false }), /must share one BUNDLE group.*3 of 3 are outside it/);
  refused(
    audioOffer(3).replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 1'),
    /must share one BUNDLE group.*1 of 3 are outside it \(mid "2"\)/,
  );
  assert.doesNotThrow(() => assertValidOffer(audioOffer(1, { bundle: false })));
  // A rejected section (port 0) needs no transport, so it may stay outside (RFC 8843).
  assert.doesNotThrow(() =>
    assertValidOffer(
      audioOffer(3)
        .replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 1')
        .replace(/m=audio 9(?![\s\S]*m=audio)/, 'm=audio 0'),
    ),
  );
});

await test('thousands of a=ssrc, a=candidate, a=extmap, a=rid lines or lines in a section are refused', () => {
  const many = (n: number, line: (j: number) => string) => (i: number) =>
    i === 0 ? Array.from({ length: n }, (_, j) => line(j)) : [];
  refused(
    audioOffer(2, { extra: many(3000, (j) => `a=ssrc:${5000 + j} cname:x`) }),
    /more than 64 a=ssrc lines in m-section 0/,
  );
  refused(
    audioOffer(2, {
      extra: many(
        3000,
        (j) => `a=candidate:${j} 1 udp ${2122260223 - j} 10.0.${j >> 8}.${j & 255} ${10000 + j} typ host`,
      ),
    }),
    /^invalid SDP offer: too many ICE candidates \(3000 > 64\)$/,
  );
  refused(
    audioOffer(2, { extra: many(3000, (j) => `a=extmap:${(j % 254) + 1} urn:x:${j}`) }),
    /more than 64 a=extmap lines/,
  );
  refused(audioOffer(2, { extra: many(3000, (j) => `a=rid:r${j} send`) }), /more than 16 a=rid lines/);
  refused(
    audioOffer(2, { extra: many(3000, (j) => `a=rtcp-fb:111 nack x${j}`) }),
    /more than 512 lines in m-section 0/,
  );
  refused(
    audioOffer(2, { extra: many(1, () => `a=x:${'y'.repeat(5000)}`) }),
    /line longer than 4096 characters/,
  );
  // The same candidates repeated in each bundled section count once.
  const same = () => Array.from({ length: 40 }, (_, j) => `a=candidate:${j} 1 udp 1 10.0.0.${j} 9 typ host`);
  assert.doesNotThrow(() => assertValidOffer(audioOffer(10, { extra: same })));
  assert.equal(SDP_LIMITS.candidates, 64);
});

await test('absurd payload types and clock rates are refused, not passed to werift', () => {
  const pt999 = good.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:999999999 opus/48000/2');
  refused(pt999, /a=rtpmap for payload type "999999999" not on the m= line of m-section 0/);
  refused(good.replace('a=rtpmap:111', 'a=rtpmap:-5'), /bad a=rtpmap in m-section 0/);
  refused(good.replace(/111/g, '128'), /bad payload type "128" in m-section 0 \(0-127\)/);
  refused(good.replace('SAVPF 111', 'SAVPF 999999999'), /bad payload type "999999999"/);
  refused(
    good.replace('SAVPF 111', 'SAVPF 111 110').replace('a=fmtp:111', 'a=fmtp:110 x=1\r\na=fmtp:111'),
    /a=fmtp for payload type 110 without a=rtpmap/,
  );
  refused(good.replace('opus/48000/2', 'opus/0/2'), /clock rate 0 of payload type 111 out of range/);
  refused(good.replace('opus/48000/2', 'opus/99999999999999999999/2'), /bad a=rtpmap/);
  refused(good.replace('opus/48000/2', 'opus'), /bad a=rtpmap/);
  refused(good.replace('opus/48000/2', 'opus/48000/9999'), /channel count 9999/);
  refused(
    good.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 opus/48000/2\r\na=rtpmap:111 opus/48000/2'),
    /twice/,
  );
});

await test('broken fingerprints, ICE credentials, setup, mids and ports are refused', () => {
  refused(
    good.replace(/a=fingerprint:.*/, 'a=fingerprint:sha-256 AB:CD'),
    /bad a=fingerprint in m-section 0/,
  );
  refused(good.replace(/a=fingerprint:.*/, 'a=fingerprint:md5 AB:CD'), /bad a=fingerprint/);
  refused(good.replace(/a=fingerprint:.*/, 'a=fingerprint:sha-256'), /bad a=fingerprint/);
  refused(good.replace('a=ice-ufrag:abcd', 'a=ice-ufrag:ab'), /bad a=ice-ufrag/);
  refused(good.replace('a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=ice-pwd:short'), /bad a=ice-pwd/);
  refused(good.replace('a=ice-ufrag:abcd', 'a=ice-ufrag:ab cd'), /bad a=ice-ufrag/);
  refused(good.replace('a=setup:actpass', 'a=setup:holdconn'), /bad a=setup:holdconn/);
  refused(good.replace('a=mid:0', `a=mid:${'m'.repeat(40)}`), /bad a=mid/);
  refused(audioOffer(2).replace('a=mid:1', 'a=mid:0'), /a=mid:0 used twice/);
  refused(good.replace('m=audio 9 ', 'm=audio 99999999 '), /bad port in m-section 0/);
  refused(good.replace('UDP/TLS/RTP/SAVPF', 'RTP/AVP'), /unsupported transport "RTP\/AVP"/);
  refused(good.replace('a=sendonly', 'a=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid'), /bad a=extmap/);
});

await test("an answer must have the offer's sections and the same well-formed attributes", () => {
  const answer = good.replace('a=setup:actpass', 'a=setup:active');
  assert.doesNotThrow(() => assertValidAnswer(answer, 1));
  assert.throws(
    () => assertValidAnswer(audioOffer(3).replace(/actpass/g, 'active'), 1),
    /invalid SDP answer: 3 media sections for an offer of 1/,
  );
  assert.throws(
    () => assertValidAnswer(answer.replace('a=rtpmap:111', 'a=rtpmap:999999999'), 1),
    /^SwitchboardError: invalid SDP answer: a=rtpmap for payload type/,
  );
});
