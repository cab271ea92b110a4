// [webrtc] portrange: a server (child process in a namespace of its own) whose range holds 10 ports.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { directLink, startServerIn, type ServerProcess, type ServerSide } from '../helpers/netns.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const MIN = 41000;
const MAX = 41009;

void describe('[webrtc] portrange', { timeout: 180_000 }, () => {
  let side: ServerSide | undefined;
  let server: ServerProcess | undefined;
  const peers: WrtcPeer[] = [];

  before(async () => {
    side = directLink();
    server = await startServerIn(side, `[webrtc]\nportrange = [${MIN}, ${MAX}]\n`);
  });

  after(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await server?.stop();
    side?.close();
  });

  void it('10 peers connect and every UDP socket of the server is bound inside the range', async () => {
    const url = wsUrlOf(server!.url);
    for (let i = 0; i < 10; i++) {
      const p = await WrtcPeer.connect(url, `peer${i}`);
      peers.push(p);
      await p.join('range', `peer${i}`); // resolves once its subscriber PC carries the data channel
    }
    await peers[0]!.publish();
    const from = peers[0]!.publishedStreamId;
    for (const p of peers.slice(1)) {
      await waitFor(() => p.videoFrames(from) > 10, {
        what: `${p.label} to decode 10 frames`,
        timeout: 30_000,
      });
    }
    const ports = server!.udpPorts();
    assert.equal(ports.length, 10, `server UDP sockets: ${ports.join(', ')}`);
    for (const port of ports) {
      assert.ok(port >= MIN && port <= MAX, `port ${port} outside [${MIN}, ${MAX}]`);
    }
  });

  void it('the 11th peer gets a clear error naming the range, not a hang', async () => {
    const p = await WrtcPeer.connect(wsUrlOf(server!.url), 'peer10');
    peers.push(p);
    await assert.rejects(p.join('range', 'peer10'), (err: unknown) => {
      assert.ok(err instanceof RpcError, String(err));
      assert.equal(err.code, 503);
      assert.match(err.message, /no free UDP port .*portrange 41000-41009/);
      return true;
    });
  });

  void it('a port comes back when a peer leaves, and the next join uses it', async () => {
    await peers[9]!.close();
    await waitFor(() => server!.udpPorts().length === 9, { what: 'the leaving peer’s socket to close' });
    const p = await WrtcPeer.connect(wsUrlOf(server!.url), 'peer11');
    peers.push(p);
    await p.join('range', 'peer11');
    assert.ok(server!.udpPorts().every((port) => port >= MIN && port <= MAX));
  });
});
