// [webrtc.timeouts]: a client whose packets stop arriving is failed after disconnected + failed
// seconds, closed, and removed from its room; the others get the new roster.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  clientFirewall,
  directLink,
  startServerIn,
  type ServerProcess,
  type ServerSide,
} from '../helpers/netns.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

/** Local UDP ports of every candidate a client gathered (both PCs). */
async function udpPorts(p: WrtcPeer): Promise<number[]> {
  const ports = new Set<number>();
  for (const pc of [p.publisher, p.subscriber]) {
    (await pc.getStats()).forEach((s: Record<string, any>) => {
      if (s.type === 'local-candidate' && s.protocol === 'udp' && typeof s.port === 'number') {
        ports.add(s.port);
      }
    });
  }
  return [...ports];
}

interface Roster {
  peers: { uid: string }[];
}

void describe('[webrtc.timeouts]', { timeout: 120_000 }, () => {
  let side: ServerSide | undefined;
  let server: ServerProcess | undefined;
  const peers: WrtcPeer[] = [];
  let rule: { remove(): void } | undefined;

  before(async () => {
    side = directLink();
    // An ICE-lite server sends no checks of its own: only these timeouts notice a silent client.
    server = await startServerIn(
      side,
      '[webrtc.candidates]\nicelite = true\n[webrtc.timeouts]\ndisconnected = 1\nfailed = 1\nkeepalive = 1\n',
    );
  });

  after(async () => {
    rule?.remove();
    await Promise.all(peers.map((p) => p.close()));
    await server?.stop();
    side?.close();
  });

  void it('a client that goes silent is closed as ice-failed and leaves the roster of the others', async () => {
    const url = wsUrlOf(server!.url);
    const alice = await WrtcPeer.connect(url, 'alice');
    const bob = await WrtcPeer.connect(url, 'bob');
    peers.push(alice, bob);
    await alice.join('timeouts', 'alice');
    await bob.join('timeouts', 'bob');
    await alice.publish();
    await waitFor(() => bob.videoFrames(alice.publishedStreamId) > 5, { what: 'bob to decode alice' });
    const uids = (): string[] => {
      const last = bob.notifications.filter((n) => n.method === 'participants').at(-1)?.params as
        Roster | undefined;
      return (last?.peers ?? []).map((p) => p.uid).sort();
    };
    await waitFor(() => uids().join() === 'alice,bob', { what: 'a roster with alice and bob' });
    // Alice's media stops (both PCs gone, no goodbye on the wire reaches the server), her signalling
    // socket stays open: only the timeouts can tell.
    rule = clientFirewall('silence', `    udp sport { ${(await udpPorts(alice)).join(', ')} } drop`);
    alice.publisher.close();
    alice.subscriber.close();
    await waitFor(() => uids().join() === 'bob', { what: 'a roster without alice', timeout: 20_000 });
    assert.ok(server!.output.some((l) => l.includes('"uid":"alice"') && l.includes('"reason":"ice-failed"')));
    // Her room membership follows the peer: she is told to join again (her socket is then closed) and
    // the room no longer lists her, so she holds no maxPeers slot as a ghost.
    await waitFor(
      () =>
        alice.notifications.some(
          (n) => n.method === 'reconnect' && (n.params as { reason?: string }).reason === 'ice-failed',
        ),
      { what: 'alice to be asked to reconnect' },
    );
    await waitFor(
      async () => (await bob.call<{ uid: string }[]>('room.peers', {})).map((p) => p.uid).join() === 'bob',
      { what: 'room.peers without alice' },
    );
  });
});
