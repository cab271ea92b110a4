// `switchboard cluster`: one command starts nats-server, redis-server and three nodes; two clients on
// two different nodes meet in one room; SIGINT (Ctrl-C) stops every process it started.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
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
