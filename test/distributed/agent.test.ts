// Multi-core: `switchboard start --role sfu` with `[sfu] workers = 2` runs two media worker processes,
// each a node of the registry with its own slice of `[webrtc] portrange`. A worker killed with -9 is
// restarted as a new node, its room is placed again at once (the agent releases its leases) and its
// clients rejoin; SIGTERM drains and stops the agent and every worker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { NodeProcess } from '../helpers/nodeProcess.ts';
import { ReconnectingPeer } from '../helpers/reconnectingPeer.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'agent-room';
const PORTS: [number, number] = [42000, 42199];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void describe('media worker processes under the agent', { timeout: 240_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let front: Switchboard | undefined;
  let agent: NodeProcess | undefined;
  let alice: ReconnectingPeer | undefined;
  let bob: ReconnectingPeer | undefined;

  /** Heartbeats of the agent's current workers, once there are two. */
  async function workers() {
    return waitFor(
      async () => {
        const ids = (await agent!.health()).roles.workers ?? [];
        const loads = (await cluster!.nodes()).filter((n) => ids.includes(n.node));
        return ids.length === 2 && loads.length === 2 ? loads : undefined;
      },
      { timeout: 30_000, what: 'two workers heartbeating' },
    );
  }

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.start('registry', 'room', 'signal');
    agent = await NodeProcess.start({
      nats,
      redis,
      roles: ['sfu'],
      // info: the agent's "media worker ready" lines are checked below.
      config: { sfu: { workers: 2 }, webrtc: { portrange: PORTS }, log: { level: 'info' } },
    });
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await agent?.stop();
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('runs two worker processes, each a node heartbeating with its own pid', async () => {
    const loads = await workers();
    const pids = loads.map((l) => l.pid!);
    assert.equal(new Set(pids).size, 2);
    assert.ok(!pids.includes(agent!.pid), 'media runs in the workers, not in the agent');
    assert.ok(pids.every(alive));
    // Each "media worker ready" line says `pid` once (the agent's) and the worker's as `workerPid`:
    // log tools that keep the first of two equal keys showed the wrong pid.
    const ready = agent!.output.split('\n').filter((l) => l.includes('"media worker ready"'));
    assert.equal(ready.length, 2, agent!.output);
    for (const line of ready) {
      assert.equal(line.split('"pid":').length - 1, 1, line);
      const entry = JSON.parse(line) as { pid: number; workerPid: number };
      assert.equal(entry.pid, agent!.pid);
      assert.ok(pids.includes(entry.workerPid), line);
    }
  });

  void it('clients of a room meet on one worker; media stays inside its port slice', async () => {
    alice = await ReconnectingPeer.join(wsUrlOf(front!.url), ROOM, 'alice');
    bob = await ReconnectingPeer.join(wsUrlOf(front!.url), ROOM, 'bob');
    await waitFor(
      () =>
        alice!.peer.videoFrames(bob!.publishedStreamId) > 20 &&
        bob!.peer.videoFrames(alice!.publishedStreamId) > 20,
      { timeout: 30_000, what: 'media between alice and bob' },
    );
    // The worker's ICE candidates (in the answers alice got) use ports of one slice of the range.
    const ports = await alice.peer.remoteCandidatePorts();
    assert.ok(ports.length > 0);
    const [min, max] = PORTS;
    const half = (max - min + 1) / 2;
    const inFirst = ports.every((p) => p >= min && p < min + half);
    const inSecond = ports.every((p) => p >= min + half && p <= max);
    assert.ok(inFirst || inSecond, `ports ${ports.join(',')} span both slices`);
  });

  void it('a worker killed with -9 is restarted and its room placed again; its clients rejoin', async () => {
    const owner = (await cluster!.roomOwner(ROOM))!;
    const dead = (await workers()).find((l) => l.node === owner)!;
    assert.ok(dead, 'the room is on one of the workers');
    const before = [alice!.reconnects, bob!.reconnects];
    process.kill(dead.pid!, 'SIGKILL');
    // The agent releases the dead worker's heartbeat and leases at once, not after they expire.
    await waitFor(async () => (await cluster!.keysMentioning(`node:${dead.node}`)).length === 0, {
      what: "the dead worker's heartbeat to be released",
    });
    await waitFor(
      () =>
        alice!.reconnects > before[0]! &&
        bob!.reconnects > before[1]! &&
        alice!.peer.videoFrames(bob!.publishedStreamId) > 20 &&
        bob!.peer.videoFrames(alice!.publishedStreamId) > 20,
      { timeout: 30_000, what: 'both clients to rejoin and media to flow again' },
    );
    const after = await workers();
    assert.ok(!after.some((l) => l.node === dead.node), 'the restarted worker is a new node');
    assert.notEqual(await cluster!.roomOwner(ROOM), dead.node);
  });

  void it('SIGTERM drains and stops the agent and every worker', async () => {
    const pids = (await workers()).map((l) => l.pid!);
    await alice!.close(); // with no other media node, they would only retry
    await bob!.close();
    agent!.kill('SIGTERM');
    assert.deepEqual(await agent!.exited, { code: 0, signal: null });
    await waitFor(() => pids.every((p) => !alive(p)), { what: 'the workers to exit' });
    await waitFor(async () => (await cluster!.nodes()).length === 0, { what: 'no heartbeat left' });
  });
});
