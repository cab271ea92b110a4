// Media nodes leaving: two sfu nodes run as real processes (`switchboard start --role sfu`), the
// registry, room and signal roles in this process. SIGTERM drains a node: its clients get `reconnect`,
// rejoin and land on the other node, and the drained node released everything in Redis. `kill -9` of a
// node: the signal instance notices within about two seconds, its clients rejoin and media flows again
// within 5 s, and once its leases expired nothing in Redis names the dead node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeKeys } from '../../src/protocol/cluster.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { NodeProcess } from '../helpers/nodeProcess.ts';
import { ReconnectingPeer } from '../helpers/reconnectingPeer.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'lifecycle';

void describe('media nodes that drain or die', { timeout: 240_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let front: Switchboard | undefined;
  const nodes: NodeProcess[] = [];
  let alice: ReconnectingPeer | undefined;
  let bob: ReconnectingPeer | undefined;

  async function startNode(): Promise<{ proc: NodeProcess; id: string }> {
    const proc = await NodeProcess.start({ nats: nats!, redis: redis!, roles: ['sfu'] });
    nodes.push(proc);
    const id = await waitFor(() => cluster!.nodeOfPid(proc.pid), { what: 'the node process to heartbeat' });
    return { proc, id };
  }

  /**
   * Both clients rejoined more than `since` times and each decodes more than `frames` video frames of
   * the other's current stream (on their new connections).
   */
  async function mediaFlows(what: string, since = 0, timeout = 30_000, frames = 20): Promise<void> {
    const a = alice!;
    const b = bob!;
    await waitFor(
      () =>
        a.reconnects >= since &&
        b.reconnects >= since &&
        a.peer.videoFrames(b.publishedStreamId) > frames &&
        b.peer.videoFrames(a.publishedStreamId) > frames,
      { timeout, what: `${what} (alice/bob reconnects ${a.reconnects}/${b.reconnects})` },
    );
  }

  /** The node process owning the room now. */
  async function owner(): Promise<{ proc: NodeProcess; id: string }> {
    const id = await waitFor(() => cluster!.roomOwner(ROOM), { what: 'the room to have an owner' });
    for (const proc of nodes.filter((n) => n.running)) {
      if ((await cluster!.nodeOfPid(proc.pid)) === id) {
        return { proc, id };
      }
    }
    throw new Error(`owner ${id} is none of our node processes`);
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.start('registry', 'room', 'signal');
    await startNode();
    await startNode();
    alice = await ReconnectingPeer.join(wsUrlOf(front.url), ROOM, 'alice');
    bob = await ReconnectingPeer.join(wsUrlOf(front.url), ROOM, 'bob');
    await mediaFlows('media between alice and bob');
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    for (const n of nodes) {
      await n.stop();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('SIGTERM drains the owner: its clients are told to reconnect and land on the other node', async () => {
    const drained = await owner();
    drained.proc.kill('SIGTERM');
    await waitFor(() => alice!.reconnects >= 1 && bob!.reconnects >= 1, {
      timeout: 30_000,
      what: 'both clients to rejoin',
    });
    assert.deepEqual([alice!.reasons, bob!.reasons], [['node-drain'], ['node-drain']]);
    await mediaFlows('media to flow again after the drain', 1);
    assert.deepEqual(await drained.proc.exited, { code: 0, signal: null }, 'the drained node exits cleanly');
    const now = await owner();
    assert.notEqual(now.id, drained.id);
    // The drained node took its heartbeat, leases and host-table entries with it.
    assert.deepEqual(await cluster!.keysMentioning(drained.id), []);
    await startNode(); // two nodes again for the next test
  });

  void it('kill -9 of the owner: its clients reconnect and media flows again within 5 s', async () => {
    const dead = await owner();
    const before = [alice!.reconnects, bob!.reconnects];
    dead.proc.kill('SIGKILL');
    await mediaFlows('media to flow again within 5 s of the kill', before[0]! + 1, 5_000, 10).catch(
      (err: unknown) => {
        throw new Error(
          `${String(err)}; last rejoin errors: ${String(alice!.lastError)} / ${String(bob!.lastError)}`,
        );
      },
    );
    assert.ok(alice!.reconnects > before[0]! && bob!.reconnects > before[1]!, 'both rejoined');
    assert.deepEqual(alice!.reasons.at(-1), 'node-lost');
    const now = await owner();
    assert.notEqual(now.id, dead.id);
    deadNode = dead.id;
  });

  let deadNode: string | undefined;

  void it('once its leases expired, nothing in Redis points at the dead node', async () => {
    assert.ok(deadNode);
    const c = cluster!;
    await waitFor(async () => (await c.keysMentioning(deadNode!)).length === 0, {
      timeout: 20_000,
      what: `Redis to forget ${deadNode}`,
    });
    assert.equal(await c.redis.exists(storeKeys.node(c.dc, deadNode)), 0);
  });
});
