// `switchboard cluster`: one command starts nats-server, redis-server and three nodes; two clients on
// two different nodes meet in one room; SIGINT (Ctrl-C) stops every process it started.
// `switchboard cluster --regions 2`: two nats-servers joined by gateways, one node per region, one
// Redis; both regions heartbeat into the shared namespace with their dc, a client of each region is
// placed on its region's node, and the room crosses the gateway (relay link).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { parse as parseToml } from 'smol-toml';
import { storeKeys, type NodeLoad } from '../../src/protocol/cluster.ts';
import { freePort } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer } from '../helpers/wrtcPeer.ts';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void describe('switchboard cluster', { timeout: 180_000 }, () => {
  let child: ChildProcess | undefined;
  let output = '';
  let port = 0;
  const peers: WrtcPeer[] = [];

  /** The pids the command printed in its summary (nodes, nats-server, redis-server). */
  const pids = (): number[] => [...output.matchAll(/^ {2}\S+\s+.*\bpid (\d+)/gm)].map((m) => Number(m[1]));

  before(async () => {
    port = await freePort();
    child = spawn(process.execPath, [BIN, 'cluster', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString('utf8')));
    // The summary is several console.log lines after the "ready" line; they may arrive in later chunks.
    await waitFor(
      () => output.includes('Switchboard cluster ready') && /^ {2}redis-server .* pid \d+/m.test(output),
      {
        timeout: 90_000,
        what: 'the cluster to be ready and its summary printed',
      },
    );
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    for (const pid of pids()) {
      if (alive(pid)) {
        process.kill(pid, 'SIGKILL');
      }
    }
  });

  void it('prints three nodes, nats-server and redis-server, all running', async () => {
    assert.equal(pids().length, 5, output);
    assert.ok(pids().every(alive));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port + i}/healthz`);
      assert.equal(res.status, 200);
    }
  });

  void it('two clients joining through different nodes meet in one room', async () => {
    const alice = await WrtcPeer.connect(`ws://127.0.0.1:${port}/ws`, 'alice');
    const bob = await WrtcPeer.connect(`ws://127.0.0.1:${port + 1}/ws`, 'bob');
    peers.push(alice, bob);
    await alice.join('cluster-room', 'alice');
    await bob.join('cluster-room', 'bob');
    await alice.publish();
    await bob.publish();
    await waitFor(
      () => alice.videoFrames(bob.publishedStreamId) > 20 && bob.videoFrames(alice.publishedStreamId) > 20,
      { timeout: 30_000, what: 'alice and bob to decode each other' },
    );
  });

  void it('SIGINT stops every process it started and exits 0', async () => {
    for (const p of peers.splice(0)) {
      await p.close();
    }
    const started = pids();
    const exited = once(child!, 'exit');
    child!.kill('SIGINT');
    assert.deepEqual(await exited, [0, null]);
    assert.deepEqual(started.filter(alive), [], 'every node, nats-server and redis-server is gone');
  });
});

void describe('switchboard cluster --regions 2', { timeout: 180_000 }, () => {
  let child: ChildProcess | undefined;
  let output = '';
  /** stdout alone: the summary's lines stay together (stderr chunks could fall between them in `output`). */
  let stdout = '';
  let port = 0;
  let redis: Redis | undefined;
  const peers: WrtcPeer[] = [];

  const pids = (): number[] => [...output.matchAll(/^ {2}\S+\s+.*\bpid (\d+)/gm)].map((m) => Number(m[1]));
  /** The summary's lines of one region (from its `regionN:` header to the next header). */
  const regionBlock = (region: string): string =>
    new RegExp(`^${region}:\\n((?: {2}.*\\n)+)`, 'm').exec(stdout)?.[1] ?? '';
  /** A node's configuration file, as printed in the summary. */
  const nodeConfig = async (node: string): Promise<Record<string, Record<string, unknown>>> => {
    const file = new RegExp(`^ {2}${node} .* config (\\S+)`, 'm').exec(stdout)![1]!;
    return parseToml(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
  };
  /** Live heartbeats in the shared namespace. */
  const heartbeats = async (): Promise<NodeLoad[]> => {
    const out: NodeLoad[] = [];
    for (const key of await redis!.keys(`${storeKeys.nodePrefix('local')}*`)) {
      const v = await redis!.get(key);
      if (v) {
        out.push(JSON.parse(v) as NodeLoad);
      }
    }
    return out;
  };

  before(async () => {
    port = await freePort();
    child = spawn(process.execPath, [BIN, 'cluster', '--regions', '2', '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString('utf8');
      stdout += b.toString('utf8');
    });
    child.stderr!.on('data', (b: Buffer) => (output += b.toString('utf8')));
    await waitFor(
      () => output.includes('Switchboard cluster ready') && /^ {2}redis-server .* pid \d+/m.test(output),
      { timeout: 90_000, what: 'the two-region cluster to be ready and its summary printed' },
    );
    const redisPort = /^ {2}redis-server +127\.0\.0\.1:(\d+)/m.exec(output)![1]!;
    redis = new Redis({ host: '127.0.0.1', port: Number(redisPort), lazyConnect: true });
    await redis.connect();
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    redis?.disconnect();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    for (const pid of pids()) {
      if (alive(pid)) {
        process.kill(pid, 'SIGKILL');
      }
    }
  });

  void it('prints one node and one nats-server per region and one redis-server, all running', async () => {
    assert.match(output, /ready: 2 regions of cluster "local", 1 node\(s\) each/);
    assert.match(regionBlock('region1'), new RegExp(`^ {2}node1 +http://localhost:${port} `, 'm'));
    assert.match(regionBlock('region1'), /^ {2}nats-region1 +nats:\/\/127\.0\.0\.1:\d+ +pid \d+ +gateway/m);
    assert.match(regionBlock('region2'), new RegExp(`^ {2}node2 +http://localhost:${port + 1} `, 'm'));
    assert.match(regionBlock('region2'), /^ {2}nats-region2 +nats:\/\/127\.0\.0\.1:\d+ +pid \d+ +gateway/m);
    assert.equal(pids().length, 5, output);
    assert.ok(pids().every(alive));
    // Each node: the shared cluster, its region, its region's nats-server, the one Redis.
    const [one, two] = [await nodeConfig('node1'), await nodeConfig('node2')];
    assert.deepEqual({ ...one.global }, { cluster: 'local', dc: 'region1' });
    assert.deepEqual({ ...two.global }, { cluster: 'local', dc: 'region2' });
    const natsOf = (region: string): string =>
      /nats:\/\/127\.0\.0\.1:\d+/.exec(/^ {2}nats-region\d .*$/m.exec(regionBlock(region))![0])![0];
    assert.equal(one.nats!.url, natsOf('region1'));
    assert.equal(two.nats!.url, natsOf('region2'));
    assert.notEqual(one.nats!.url, two.nats!.url);
    assert.deepEqual([...(one.redis!.addrs as string[])], [...(two.redis!.addrs as string[])]);
  });

  void it("both regions' media nodes heartbeat into the one Redis, in the shared namespace, with their dc", async () => {
    const beats = await waitFor(
      async () => {
        const b = await heartbeats();
        return b.length === 2 && b;
      },
      { timeout: 10_000, what: 'two heartbeats under sb:local:node:' },
    );
    assert.deepEqual(beats.map((b) => b.dc).sort(), ['region1', 'region2']);
  });

  void it("a client of each region is placed on its region's node, and the room crosses the gateway", async () => {
    const byDc = new Map((await heartbeats()).map((b) => [b.dc, b.node]));
    const alice = await WrtcPeer.connect(`ws://127.0.0.1:${port}/ws`, 'alice'); // region1's signal
    const bob = await WrtcPeer.connect(`ws://127.0.0.1:${port + 1}/ws`, 'bob'); // region2's signal
    peers.push(alice, bob);
    await alice.join('two-regions', 'alice');
    await bob.join('two-regions', 'bob');
    // The room's first join opened it in region 1; bob's join stayed in region 2, on a node that
    // relays the room with its owner (signalling over the gateway, media between the nodes).
    assert.equal(await redis!.get(storeKeys.roomOwner('local', 'two-regions')), byDc.get('region1'));
    await waitFor(
      async () => {
        const hosts = Object.keys(await redis!.hgetall(storeKeys.roomNodes('local', 'two-regions'))).sort();
        return hosts.join() === [byDc.get('region1'), byDc.get('region2')].sort().join();
      },
      { timeout: 10_000, what: "the room's host table to name both regions' nodes" },
    );
    await alice.publish();
    await bob.publish();
    await waitFor(
      () => alice.videoFrames(bob.publishedStreamId) > 20 && bob.videoFrames(alice.publishedStreamId) > 20,
      { timeout: 30_000, what: 'alice (region1) and bob (region2) to decode each other' },
    );
    // Heartbeats are periodic: the relay end that opened last shows up in the next one.
    const want = JSON.stringify([
      ['region1', 1, 1],
      ['region2', 1, 1],
    ]);
    let beats = await heartbeats();
    await waitFor(
      async () => {
        beats = await heartbeats();
        return JSON.stringify(beats.map((b) => [b.dc, b.peers, b.relays]).sort()) === want;
      },
      { timeout: 10_000, what: 'heartbeats with one client and one relay end per node' },
    ).catch(() => undefined); // the assertion below says what differs
    assert.deepEqual(
      beats.map((b) => [b.dc, b.peers, b.relays]).sort(),
      [
        ['region1', 1, 1],
        ['region2', 1, 1],
      ],
      'one client and one end of the relay link on each node',
    );
  });

  void it('SIGINT stops both nats-servers, redis-server and the nodes, and exits 0', async () => {
    for (const p of peers.splice(0)) {
      await p.close();
    }
    redis?.disconnect();
    redis = undefined;
    const started = pids();
    const exited = once(child!, 'exit');
    child!.kill('SIGINT');
    assert.deepEqual(await exited, [0, null]);
    assert.deepEqual(started.filter(alive), [], 'every process it started is gone');
  });
});
