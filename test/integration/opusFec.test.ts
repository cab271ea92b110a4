// Opus in-band FEC (RFC 7587 `useinbandfec=1`): the answer to a publisher asks for it, so a browser
// encodes redundancy that a subscriber's decoder uses to conceal a lost packet; the SFU forwards
// Opus payloads unchanged, FEC included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { joinFrame, RawSocket } from '../helpers/rawSocket.ts';
import { audioOffer } from '../helpers/sdpFixtures.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

void describe('Opus in-band FEC', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  before(async () => {
    sb = await startSwitchboard();
  });
  after(async () => {
    await sb?.close();
  });

  void it("the answer to a publisher's Opus offer carries useinbandfec=1", async () => {
    const ws = await RawSocket.connect(wsUrlOf(sb!.url));
    try {
      ws.send(joinFrame(1, 'opus-fec', audioOffer(1)));
      const { reply } = await ws.replyTo(1);
      assert.ok(reply.result, `join failed: ${reply.error?.message}`);
      const sdp = (reply.result as { sdp: string }).sdp;
      const fmtp = /^a=fmtp:111 (.*?)\r?$/m.exec(sdp)?.[1] ?? '';
      assert.ok(fmtp.split(';').includes('useinbandfec=1'), `a=fmtp:111 ${fmtp}`);
    } finally {
      await ws.close();
    }
  });
});
