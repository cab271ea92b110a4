// LiveKit data in a cascaded room: three sfu nodes, A owning the room, B and C relaying it (a star
// around A). LiveKit participants joined over the Bus as the /rtc front joins them. A DataPacket is
// vouched for on its sender's node, crosses the relay links as it is, and on every node reaches only
// the local participants it names: alice (A) → bob (B) but not carol (B); bob (B) → alice (A);
// carol (B) → dan (C) through A; a broadcast reaches everyone.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DataPacket, UserPacket } from '@livekit/protocol';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { livekitSid } from '../../src/protocol/livekit.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { LiveKitBusPeer } from '../helpers/livekitBusPeer.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'livekit-cascade';
const TIMEOUT = 30_000;

function userPacket(text: string, destinationIdentities: string[] = []): ArrayBuffer {
  const bytes = new DataPacket({
    destinationIdentities,
    value: { case: 'user', value: new UserPacket({ payload: new TextEncoder().encode(text) }) },
  }).toBinary();
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** What `p` received: `sender: text`, in order. */
function got(p: LiveKitBusPeer): string[] {
  return p.received
    .filter((r) => r.packet.value.case === 'user')
    .map(
      (r) =>
        `${r.packet.participantIdentity}: ${new TextDecoder().decode((r.packet.value.value as UserPacket).payload)}`,
    );
}

void describe('LiveKit data across relay links', { timeout: 300_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  const nodes: Switchboard[] = [];
  const peers: LiveKitBusPeer[] = [];
  const channels = new Map<string, RTCDataChannel>();

  async function join(uid: string, node: Switchboard): Promise<LiveKitBusPeer> {
    const p = new LiveKitBusPeer({
      bus: node.bus,
      cluster: cluster!.cluster,
      node: node.sfu!.nodeId,
      room: ROOM,
      uid,
    });
    peers.push(p);
    await p.join();
    const { reliable } = await p.publish();
    channels.set(uid, reliable);
    await waitFor(
      () => reliable.readyState === 'open' && p.channels.get('_reliable')?.readyState === 'open',
      {
        timeout: TIMEOUT,
        what: `${uid}'s channels open`,
      },
    );
    return p;
  }

  const relays = (sb: Switchboard) => [...(sb.sfu!.sfu.getSession(ROOM)?.peers ?? [])].filter((p) => p.relay);

  let alice: LiveKitBusPeer;
  let bob: LiveKitBusPeer;
  let carol: LiveKitBusPeer;
  let dan: LiveKitBusPeer;

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    for (let i = 0; i < 3; i++) {
      nodes.push(await cluster.start('sfu'));
    }
    const [a, b, c] = nodes as [Switchboard, Switchboard, Switchboard];
    alice = await join('alice', a);
    await waitFor(async () => (await cluster!.roomOwner(ROOM)) === a.sfu!.nodeId, {
      what: 'A to own the room',
    });
    bob = await join('bob', b);
    carol = await join('carol', b);
    dan = await join('dan', c);
    // Each relaying node's link is up, and A's relay peers carry _reliable both ways.
    await waitFor(() => relays(a).length === 2 && relays(b).length === 1 && relays(c).length === 1, {
      timeout: TIMEOUT,
      what: 'B and C linked to A',
    });
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  const send = (uid: string, text: string, to: string[] = []) =>
    channels.get(uid)!.send(userPacket(text, to));

  void it('a broadcast from A reaches everyone on B and C, vouched for by A', async () => {
    // The relay links' channels open after the participants' own: retry until the first arrives.
    await waitFor(
      () => {
        if (![bob, carol, dan].every((p) => got(p).includes('alice: hello'))) {
          send('alice', 'hello');
          return false;
        }
        return true;
      },
      { timeout: TIMEOUT, interval: 500, what: "alice's broadcast to reach bob, carol and dan" },
    );
    const packet = bob.received.find((r) => r.packet.participantIdentity === 'alice')!.packet;
    assert.equal(packet.participantSid, livekitSid.participant(ROOM, 'alice'));
  });

  void it('alice (A) → bob (B) reaches bob, not carol on the same node nor dan', async () => {
    send('alice', 'for bob', ['bob']);
    send('alice', 'marker');
    await waitFor(() => [bob, carol, dan].every((p) => got(p).includes('alice: marker')), {
      what: 'the marker everywhere',
    });
    assert.ok(got(bob).includes('alice: for bob'));
    assert.ok(!got(carol).includes('alice: for bob'));
    assert.ok(!got(dan).includes('alice: for bob'));
  });

  void it('bob (B) → alice (A), and carol (B) → dan (C) through A, nowhere else, each sent once', async () => {
    // Once the links are up, no packet waits for a channel to be negotiated on them (relay peers
    // open LiveKit's channels from the start): one send each.
    send('bob', 'for alice', ['alice']);
    send('carol', 'for dan', ['dan']);
    await waitFor(() => got(alice).includes('bob: for alice'), { what: "bob's packet to reach alice" });
    await waitFor(() => got(dan).includes('carol: for dan'), { what: "carol's packet to reach dan" });
    await delay(500);
    assert.ok(!got(carol).some((t) => t.startsWith('bob: for alice')));
    assert.ok(!got(dan).some((t) => t.startsWith('bob: for alice')));
    assert.ok(!got(alice).some((t) => t.startsWith('carol: for dan')));
    assert.ok(!got(bob).some((t) => t.startsWith('carol: for dan')));
  });
});
