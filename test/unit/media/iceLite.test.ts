// Workaround 14: a lite agent's `a=ice-lite` at session level (RFC 8839 §5.3), where browsers read it.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createPeerConnection, withSessionIceLite } from '../../../src/media/werift.ts';

/** `a=ice-lite` lines before the first m= line, and after it. */
function iceLiteLines(sdp: string): { session: number; media: number } {
  const at = sdp.indexOf('\r\nm=');
  const count = (s: string) => s.split('\r\n').filter((l) => l === 'a=ice-lite').length;
  return { session: count(sdp.slice(0, at)), media: count(sdp.slice(at)) };
}

await test("a lite agent's offer and answer say a=ice-lite once, at session level", async () => {
  const client = createPeerConnection('subscriber', { iceServers: [], iceLite: false });
  const sub = createPeerConnection('subscriber', { iceServers: [], iceLite: true });
  const pub = createPeerConnection('publisher', { iceServers: [], iceLite: true });
  try {
    sub.addTransceiver('audio', { direction: 'sendonly' });
    sub.addTransceiver('video', { direction: 'sendonly' });
    const offer = await sub.createOffer();
    await sub.setLocalDescription(offer);
    assert.deepEqual(iceLiteLines(sub.localDescription!.sdp), { session: 1, media: 0 });

    client.addTransceiver('audio', { direction: 'sendonly' });
    client.addTransceiver('video', { direction: 'sendonly' });
    const clientOffer = await client.createOffer();
    await client.setLocalDescription(clientOffer);
    assert.deepEqual(
      iceLiteLines(client.localDescription!.sdp),
      { session: 0, media: 0 },
      'a full agent: none',
    );
    await pub.setRemoteDescription(clientOffer);
    const answer = await pub.createAnswer();
    await pub.setLocalDescription(answer);
    assert.deepEqual(iceLiteLines(pub.localDescription!.sdp), { session: 1, media: 0 });

    // werift reads its own description back (session level applies to every media section).
    await client.setRemoteDescription(pub.localDescription!);
    assert.deepEqual(iceLiteLines(client.remoteDescription!.sdp), { session: 1, media: 0 });
  } finally {
    await client.close();
    await sub.close();
    await pub.close();
  }
});

await test('withSessionIceLite leaves SDP without a=ice-lite alone and never doubles it', () => {
  const plain = 'v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n';
  assert.equal(withSessionIceLite(plain), plain);
  const both = 'v=0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-lite\r\n';
  assert.equal(
    withSessionIceLite(both),
    'v=0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n',
  );
});
