// Cascading: one room over three sfu nodes. Node A takes at most 2 peers, B and C one each, so four
// peers of one room land on A (the owner), B and C; B and C relay the room with A (a star around the
// owner). Every peer receives the other three (video frames decoded, audio packets counted), a
// data-channel message and audio levels cross nodes, and B's peer reaches C's through A.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Session } from '../../src/media/index.ts';
import { storeKeys } from '../../src/protocol/cluster.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'cascade';

void describe('a room cascades over three sfu nodes', { timeout: 300_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let front: Switchboard | undefined;
  /** A (maxpeers 2), B and C (maxpeers 1). */
  const nodes: Switchboard[] = [];
  const peers: WrtcPeer[] = [];

  const session = (sb: Switchboard): Session | undefined => sb.sfu!.sfu.getSession(ROOM);
  const clientsOn = (sb: Switchboard): string[] =>
    [...(session(sb)?.peers ?? [])].filter((p) => !p.relay).map((p) => p.uid);

  async function join(uid: string): Promise<WrtcPeer> {
    const p = await WrtcPeer.connect(wsUrlOf(front!.url), uid);
    peers.push(p);
    await p.join(ROOM, uid);
    await p.publish();
    return p;
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.start('registry', 'room', 'signal');
    nodes.push(await cluster.startWith((c) => (c.sfu.maxpeers = 2), 'sfu'));
    await join('p1');
    await join('p2');
    nodes.push(await cluster.startWith((c) => (c.sfu.maxpeers = 1), 'sfu'));
    nodes.push(await cluster.startWith((c) => (c.sfu.maxpeers = 1), 'sfu'));
    await join('p3');
    await join('p4');
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('the peers are spread A: p1, p2 (owner), and one each on B and C', async () => {
    const [a, b, c] = nodes;
    assert.deepEqual(clientsOn(a!).sort(), ['p1', 'p2']);
    assert.deepEqual([...clientsOn(b!), ...clientsOn(c!)].sort(), ['p3', 'p4']);
    assert.equal(clientsOn(b!).length, 1);
    assert.equal(await cluster!.roomOwner(ROOM), a!.sfu!.nodeId);
  });

  void it('each of the four peers decodes video and receives audio of the other three', async () => {
    for (const p of peers) {
      for (const q of peers) {
        if (p === q) {
          continue;
        }
        await waitFor(() => p.videoFrames(q.publishedStreamId) > 20, {
          timeout: 45_000,
          what: `${p.label} to decode 20 frames of ${q.label}`,
        });
      }
      assert.deepEqual(
        [...p.remoteStreamIds()].sort(),
        peers
          .filter((q) => q !== p)
          .map((q) => q.publishedStreamId)
          .sort(),
      );
      const kinds = [...p.remoteTracks.values()].map((t) => t.kind).sort();
      assert.deepEqual(kinds, ['audio', 'audio', 'audio', 'video', 'video', 'video']);
      await waitFor(async () => (await p.inboundStats()).audio > 300, {
        what: `${p.label} to receive audio packets`,
      });
    }
  });

  void it('one upstream copy per node, and nothing goes back where it came from', () => {
    const [a, b, c] = nodes;
    // A holds one relay peer per other node; each publishes only that node's client's two tracks.
    const inbound = [...session(a!)!.peers].filter((p) => p.relay);
    assert.equal(inbound.length, 2);
    for (const r of inbound) {
      assert.equal([...r.receivers].length, 2, `${r.uid} publishes only its node's own tracks`);
    }
    // B and C hold one link each, receiving the three other peers' tracks once.
    for (const sb of [b!, c!]) {
      const links = [...session(sb)!.peers].filter((p) => p.relay);
      assert.equal(links.length, 1);
      assert.equal([...links[0]!.receivers].length, 6);
      const local = [...session(sb)!.peers].find((p) => !p.relay)!;
      assert.equal([...local.subscriber.downTracks].length, 6);
    }
  });

  void it('every roster lists the four clients and no relay peer', async () => {
    for (const p of peers) {
      await waitFor(
        () => {
          const last = p.notifications.filter((n) => n.method === 'participants').at(-1);
          const uids = (last?.params as { peers: { uid: string }[] } | undefined)?.peers.map((x) => x.uid);
          return uids?.sort().join(',') === 'p1,p2,p3,p4';
        },
        { what: `${p.label}'s roster to list p1..p4` },
      );
    }
  });

  void it("a data-channel message crosses nodes: p3's (B) reaches p1 and p2 (A) and p4 (C)", async () => {
    const p3 = peers[2]!;
    const chat = p3.publisher.createDataChannel('chat');
    const others = peers.filter((p) => p !== p3);
    await waitFor(
      () => chat.readyState === 'open' && others.every((p) => p.channels.get('chat')?.readyState === 'open'),
      { timeout: 20_000, what: "p3's chat channel open and fanned out to every other peer" },
    );
    chat.send(JSON.stringify({ text: 'hello from B' }));
    await waitFor(
      () =>
        others.every((p) =>
          p.dataMessages.some(
            (m) => m.label === 'chat' && (m.data as { text?: string }).text === 'hello from B',
          ),
        ),
      { what: `p1, p2 and p4 to get the message: ${JSON.stringify(others.map((p) => p.dataMessages))}` },
    );
    // A reply from C crosses back through A to p3's own channel.
    const got: unknown[] = [];
    chat.onmessage = (m: MessageEvent) => got.push(m.data);
    peers[3]!.channels.get('chat')!.send('hi from C');
    await waitFor(() => got.includes('hi from C'), { what: "p3 to get p4's reply" });
  });

  void it('audio levels cross: every peer hears the other three among the speakers', async () => {
    for (const p of peers) {
      const others = peers.filter((q) => q !== p).map((q) => q.publishedStreamId!);
      await waitFor(
        () => {
          const heard = new Set(p.audioLevels.flat());
          return others.every((id) => heard.has(id));
        },
        { timeout: 20_000, what: `${p.label}'s audioLevels to name the other three streams` },
      );
    }
  });

  void it("a host's kick, sent to the owner, reaches p4 on a relaying node", async () => {
    const [p1, , , p4] = peers;
    const host = clientsOn(nodes[1]!).includes('p4') ? nodes[1]! : nodes[2]!;
    assert.deepEqual(await p1!.call('room.kick', { uid: 'p4' }), {});
    assert.equal((await p4!.socketClosed).code, 4001);
    await waitFor(() => !clientsOn(host).includes('p4'), { what: "p4's peer to be closed on its node" });
    await waitFor(
      () => {
        const last = p1!.notifications.filter((n) => n.method === 'participants').at(-1);
        const uids = (last?.params as { peers: { uid: string }[] } | undefined)?.peers.map((x) => x.uid);
        return uids?.sort().join(',') === 'p1,p2,p3';
      },
      { what: "p1's roster to drop p4" },
    );
  });

  void it('when the owner drains, a relaying node takes the room over and keeps its peer', async () => {
    const [a, b, c] = nodes;
    const keeper = clientsOn(b!).includes('p3') ? b! : c!;
    await a!.drain();
    for (const p of peers.slice(0, 2)) {
      assert.equal((await p.socketClosed).code, 4003, `${p.label} is told to reconnect`);
    }
    await waitFor(async () => (await cluster!.roomOwner(ROOM)) === keeper.sfu!.nodeId, {
      what: 'the relaying node to take the room lease over',
    });
    assert.deepEqual(clientsOn(keeper), ['p3']);
    assert.equal([...session(keeper)!.peers].filter((p) => p.relay).length, 0, 'no link to the old owner');
  });

  void it('when everyone leaves, no session, relay link or lease is left', async () => {
    for (const p of peers.splice(0)) {
      await p.close();
    }
    for (const sb of nodes) {
      await waitFor(() => session(sb) === undefined, { what: `the session on ${sb.sfu!.nodeId} to close` });
    }
    const c = cluster!;
    await waitFor(async () => (await c.roomOwner(ROOM)) === null, { what: 'the room lease to be released' });
    await waitFor(async () => (await c.redis.exists(storeKeys.roomNodes(c.dc, ROOM))) === 0, {
      what: 'the room host table to be gone',
    });
  });
});
