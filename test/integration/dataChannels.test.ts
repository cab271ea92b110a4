// Data channels a client opens are fanned out to the other peers of its session (ion-sfu's fan-out).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/waitFor.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

void describe('data channel fan-out', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const peers: WrtcPeer[] = [];
  let chat: RTCDataChannel | undefined;
  const toAlice: unknown[] = [];

  const join = async (uid: string) => {
    const p = await WrtcPeer.connect(wsUrlOf(sb!.url), uid);
    peers.push(p);
    await p.join('dc-room', uid);
    return p;
  };

  before(async () => {
    sb = await startSwitchboard();
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
  });

  void it("alice's own channel reaches bob under the same label, with text and binary messages", async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    chat = alice.publisher.createDataChannel('chat');
    chat.binaryType = 'arraybuffer';
    chat.onmessage = (m: MessageEvent) => toAlice.push(m.data);
    await waitFor(() => chat!.readyState === 'open' && bob.channels.get('chat')?.readyState === 'open', {
      what: "alice's chat channel open and fanned out to bob",
    });
    chat.send(JSON.stringify({ text: 'hello bob' }));
    chat.send(new Uint8Array([1, 2, 3]).buffer);
    await waitFor(() => bob.dataMessages.filter((m) => m.label === 'chat').length >= 2, {
      what: 'bob to get 2 chat messages',
    });
    const got = bob.dataMessages.filter((m) => m.label === 'chat');
    assert.deepEqual(got[0]?.data, { text: 'hello bob' });
    assert.deepEqual([...new Uint8Array(got[1]?.data as ArrayBuffer)], [1, 2, 3]);
  });

  void it('a reply on the fanned-out channel reaches the owner on its own channel', async () => {
    const bob = peers[1]!;
    bob.channels.get('chat')!.send('hi alice');
    await waitFor(() => toAlice.includes('hi alice'), { what: "alice to get bob's reply" });
  });

  void it('a late joiner gets the channel and the messages sent after it joined', async () => {
    const carol = await join('carol');
    await waitFor(() => carol.channels.get('chat')?.readyState === 'open', {
      what: 'carol to get the chat channel',
    });
    chat!.send('welcome carol');
    await waitFor(() => carol.dataMessages.some((m) => m.label === 'chat' && m.data === 'welcome carol'), {
      what: 'carol to get the message',
    });
    // Bob got it too, and no one got their own message back.
    await waitFor(() => peers[1]!.dataMessages.some((m) => m.data === 'welcome carol'), {
      what: 'bob to get it too',
    });
    assert.equal(toAlice.includes('welcome carol'), false);
  });
});
