// The DTLS role the server takes when it answers an offer (werift workaround 9): the DTLS server
// (`setup:passive`) for the usual `actpass` offer, so the client's ClientHello starts the handshake at
// once; the DTLS client when the offer insists on being the server. Media flowing with the server as
// DTLS server on both PCs is covered by every integration and e2e test that publishes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinFrame, RawSocket } from '../helpers/rawSocket.ts';
import { audioOffer } from '../helpers/sdpFixtures.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

void describe('DTLS role in the answer to a client offer', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  before(async () => {
    sb = await startSwitchboard();
  });
  after(async () => {
    await sb?.close();
  });

  async function answerTo(setup: string, room: string): Promise<string> {
    const ws = await RawSocket.connect(wsUrlOf(sb!.url));
    try {
      ws.send(joinFrame(1, room, audioOffer(1).replace('a=setup:actpass', `a=setup:${setup}`)));
      const { reply } = await ws.replyTo(1);
      assert.ok(reply.result, `join failed: ${reply.error?.message}`);
      return (reply.result as { sdp: string }).sdp;
    } finally {
      await ws.close();
    }
  }

  void it('an actpass offer is answered with setup:passive (the server is the DTLS server)', async () => {
    const sdp = await answerTo('actpass', 'dtls-role-1');
    assert.match(sdp, /^a=setup:passive\r?$/m);
    assert.doesNotMatch(sdp, /^a=setup:active/m);
  });

  void it('an active offer is answered with setup:passive, a passive one with setup:active', async () => {
    assert.match(await answerTo('active', 'dtls-role-2'), /^a=setup:passive\r?$/m);
    assert.match(await answerTo('passive', 'dtls-role-3'), /^a=setup:active\r?$/m);
  });
});
