// [webrtc.candidates] nat1to1: the server sits behind a 1:1 NAT (DNAT of an address it does not own).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { natLink, startServerIn, type NatSide, type ServerProcess } from '../helpers/netns.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

/** Host candidates of an SDP: `address port`. */
function hostCandidates(sdp: string | undefined): string[] {
  return [...(sdp ?? '').matchAll(/a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/gi)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
}

void describe('[webrtc.candidates] nat1to1 behind a 1:1 NAT', { timeout: 180_000 }, () => {
  let side: NatSide | undefined;
  let server: ServerProcess | undefined;
  const peers: WrtcPeer[] = [];

  before(() => {
    side = natLink();
  });

  after(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await server?.stop();
    side?.close();
  });

  void it('without nat1to1 the server advertises its private address and no check gets through', async () => {
    server = await startServerIn(side!, '');
    const p = await WrtcPeer.connect(wsUrlOf(server.url), 'plain'); // signalling reaches it through the DNAT
    peers.push(p);
    await assert.rejects(p.join('nat', 'plain', undefined, 8000), /no ion-sfu data channel/);
    assert.deepEqual(
      hostCandidates(p.publisher.remoteDescription?.sdp).map((c) => c.split(' ')[0]),
      [side!.privateAddress],
    );
    // Checks were sent and never answered: the client cannot reach the advertised address.
    await waitFor(async () => (await p.checkCounters()).requestsSent >= 5, {
      what: 'five connectivity checks',
    });
    assert.equal((await p.checkCounters()).responsesReceived, 0);
    assert.notEqual(p.publisher.iceConnectionState, 'connected');
    await p.close();
    await server.stop();
    server = undefined;
  });

  void it('with nat1to1 = the public address, clients connect and receive media', async () => {
    server = await startServerIn(side!, `[webrtc.candidates]\nnat1to1 = ["${side!.address}"]\n`);
    const url = wsUrlOf(server.url);
    const alice = await WrtcPeer.connect(url, 'alice');
    const bob = await WrtcPeer.connect(url, 'bob');
    peers.push(alice, bob);
    await alice.join('nat', 'alice');
    await bob.join('nat', 'bob');
    for (const c of hostCandidates(alice.publisher.remoteDescription?.sdp)) {
      assert.equal(c.split(' ')[0], side!.address);
    }
    await alice.publish();
    await waitFor(() => bob.videoFrames(alice.publishedStreamId) > 20, {
      what: 'bob to decode 20 frames of alice',
      timeout: 30_000,
    });
    const pair = await bob.selectedPair(1);
    assert.equal(pair?.remote.address, side!.address);
  });
});
