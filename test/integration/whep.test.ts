// WHEP playback with a libwebrtc player (one recvonly video and audio m-line, non-trickle offer, as
// Eyevinn's webrtc-player sends): it decodes the room's publisher; when that publisher leaves, the
// next one's video takes the same m-line and the stream continues; a player of one participant gets
// that participant only; a room that is not live is 404; a viewer is hidden from rosters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WhepViewer } from '../helpers/whepViewer.ts';
import { WhipPublisher } from '../helpers/whipPublisher.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'whep-room';

void describe('WHEP playback', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;
  const viewers: WhepViewer[] = [];
  const endpoint = (path = '') => `${sb!.url}/whep/rooms/${ROOM}${path}`;

  before(async () => {
    sb = await startSwitchboard();
    alice = await WrtcPeer.connect(wsUrlOf(sb.url), 'alice');
    await alice.join(ROOM, 'alice');
    await alice.publish();
  });

  after(async () => {
    for (const v of viewers) {
      v.close();
    }
    await alice?.close();
    await bob?.close();
    await sb?.close();
  });

  void it('a room that is not live is 404; a sendonly offer is 400', async () => {
    const v = new WhepViewer();
    viewers.push(v);
    const res = await v.play(`${sb!.url}/whep/rooms/nobody-here`);
    assert.equal(res.status, 404);
    assert.match(res.body, /not live/);
    const w = new WhipPublisher();
    try {
      const offer = (await w.pc.createOffer()).sdp!;
      const r = await fetch(endpoint(), {
        method: 'POST',
        headers: { 'content-type': 'application/sdp' },
        body: offer,
      });
      assert.equal(r.status, 400);
      assert.match(await r.text(), /only receives/);
    } finally {
      w.close();
    }
  });

  void it("POST: 201 with a sendonly answer; the player decodes the publisher's video in one stream", async () => {
    const v = new WhepViewer();
    viewers.push(v);
    const res = await v.play(endpoint());
    assert.equal(res.status, 201, res.body);
    assert.match(res.headers.get('location')!, /^\/whep\/sessions\//);
    assert.match(res.body, /a=sendonly/);
    assert.match(res.body, /a=msid:switchboard /);
    assert.match(res.body, /a=candidate:/); // non-trickle players need the server's candidates in it
    await waitFor(() => v.frames > 20, { what: 'the WHEP player to decode 20 frames' });
    assert.deepEqual([...v.streamIds], ['switchboard']);
  });

  void it('the viewer is hidden: the publisher’s roster does not list it', () => {
    const last = alice!.notifications.filter((n) => n.method === 'participants').at(-1)?.params as
      { peers: { uid: string }[] } | undefined;
    assert.deepEqual(
      last?.peers.map((p) => p.uid),
      ['alice'],
    );
  });

  void it('the publisher leaves, the next one takes the m-line: frames continue', async () => {
    const v = viewers[1]!;
    bob = await WrtcPeer.connect(wsUrlOf(sb!.url), 'bob');
    await bob.join(ROOM, 'bob');
    await bob.publish();
    await alice!.close();
    alice = undefined;
    const before = v.frames;
    await waitFor(() => v.frames > before + 20, {
      what: "the player to decode bob's video on the same m-line",
    });
  });

  void it('a player of one participant gets that participant only', async () => {
    const carol = await WrtcPeer.connect(wsUrlOf(sb!.url), 'carol');
    try {
      await carol.join(ROOM, 'carol');
      const onlyCarol = new WhepViewer();
      viewers.push(onlyCarol);
      assert.equal((await onlyCarol.play(endpoint('/participants/carol'))).status, 201);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(onlyCarol.frames, 0, 'bob is publishing, carol is not: nothing to show');
      await carol.publish();
      await waitFor(() => onlyCarol.frames > 20, { what: "the participant player to decode carol's video" });
    } finally {
      await carol.close();
    }
  });

  void it('an ICE restart of a WHEP session is refused (422) and the session goes on', async () => {
    const v = viewers[1]!;
    const r = await fetch(v.location!, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' },
      body: 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\n',
    });
    assert.equal(r.status, 422);
    const before = v.frames;
    await waitFor(() => v.frames > before + 10, { what: 'the player to go on after the refused restart' });
  });

  void it('DELETE ends the viewer (200), a second DELETE is 404', async () => {
    const v = viewers[1]!;
    assert.equal(await v.stop(), 200);
    assert.equal(await v.stop(), 404);
  });
});
