// Protocol faults on /ws get JSON-RPC errors and hurt nobody else: two wrtc peers keep exchanging media.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../helpers/rawSocket.ts';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

interface RpcReply {
  jsonrpc?: string;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

void describe('bad input on /ws', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;
  const sockets: RawSocket[] = [];

  async function rawSocket(): Promise<RawSocket> {
    const s = await RawSocket.connect(wsUrlOf(sb!.url));
    sockets.push(s);
    return s;
  }

  before(async () => {
    sb = await startSwitchboard();
    alice = await WrtcPeer.connect(wsUrlOf(sb.url), 'alice');
    bob = await WrtcPeer.connect(wsUrlOf(sb.url), 'bob');
    await alice.join('bad-input', 'alice');
    await bob.join('bad-input', 'bob');
    await alice.publish();
    await bob.publish();
    for (const p of [alice, bob]) {
      await waitFor(async () => (await p.inboundStats()).video > 20 && p.videoFrames() > 5, {
        what: `${p.label} to receive media before the abuse starts`,
      });
    }
  });

  after(async () => {
    for (const s of sockets) {
      await s.close();
    }
    await alice?.close();
    await bob?.close();
    await sb?.close();
  });

  void it('a frame that is not JSON gets -32700 with id null, and the socket stays usable', async () => {
    const ws = await rawSocket();
    const reply = await ws.request<RpcReply>('{not json');
    assert.equal(reply.error?.code, -32700);
    assert.equal(reply.id, null);
    assert.equal(reply.jsonrpc, '2.0');
    const next = await ws.request<RpcReply>('{"id":"after","method":"nope"}');
    assert.equal(next.id, 'after');
    assert.equal(next.error?.code, -32601);
  });

  void it('JSON that is not a request object ([] or 42) gets -32600', async () => {
    const ws = await rawSocket();
    for (const frame of ['[]', '42']) {
      const reply = await ws.request<RpcReply>(frame);
      assert.equal(reply.error?.code, -32600, `reply to ${frame}`);
      assert.equal(reply.id, null, `reply id to ${frame}`);
    }
  });

  void it('an unknown method gets -32601 with the request id', async () => {
    const ws = await rawSocket();
    const reply = await ws.request<RpcReply>('{"id":1,"method":"nope"}');
    assert.equal(reply.id, 1);
    assert.equal(reply.error?.code, -32601);
  });

  void it('join with empty params gets -32602', async () => {
    const ws = await rawSocket();
    const reply = await ws.request<RpcReply>('{"id":2,"method":"join","params":{}}');
    assert.equal(reply.id, 2);
    assert.equal(reply.error?.code, -32602);
  });

  void it('join with a broken SDP gets an ion-sfu error with code 500', async () => {
    const ws = await rawSocket();
    const reply = await ws.request<RpcReply>(
      '{"id":3,"method":"join","params":{"sid":"r","offer":{"type":"offer","sdp":"garbage"}}}',
      20000,
    );
    assert.equal(reply.id, 3);
    assert.equal(reply.error?.code, 500, `reply: ${JSON.stringify(reply).slice(0, 300)}`);
    assert.equal(typeof reply.error?.message, 'string');
  });

  void it('offer before join gets an error reply', async () => {
    const ws = await rawSocket();
    const reply = await ws.request<RpcReply>(
      '{"id":4,"method":"offer","params":{"desc":{"type":"offer","sdp":"v=0"}}}',
    );
    assert.equal(reply.id, 4);
    assert.ok(reply.error, 'expected an error reply');
    assert.equal(reply.result, undefined);
  });

  void it('trickle before join gets an error reply with id 0 or null', async () => {
    const ws = await rawSocket();
    const trickle = {
      method: 'trickle',
      params: {
        target: 0,
        candidate: {
          candidate: 'candidate:1 1 udp 2122260223 10.203.0.9 9 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      },
    };
    const reply = await ws.request<RpcReply>(JSON.stringify(trickle));
    assert.ok(reply.error, 'expected an error reply');
    assert.ok(reply.id === 0 || reply.id === null, `reply id ${String(reply.id)}`);
  });

  void it('a frame over the 1 MiB limit closes the socket with 1009', async () => {
    const ws = await rawSocket();
    const pad = 'x'.repeat(1024 * 1024 + 64 * 1024);
    ws.send(`{"id":5,"method":"join","params":{"sid":"r","pad":"${pad}"}}`);
    const { code } = await ws.closed;
    assert.equal(code, 1009);
  });

  void it('afterwards both peers still receive media, failed joins left no peer behind, /metrics answers', async () => {
    for (const s of sockets) {
      await s.close();
    }
    for (const p of [alice!, bob!]) {
      const before = await p.inboundStats();
      const framesBefore = p.videoFrames();
      await waitFor(
        async () => {
          const now = await p.inboundStats();
          return (
            now.audio > before.audio + 50 &&
            now.video > before.video + 20 &&
            p.videoFrames() > framesBefore + 20
          );
        },
        { what: `${p.label}'s received packets and frames to keep growing` },
      );
    }
    const s = sb!;
    await waitFor(async () => metricValue(await fetchMetrics(s), 'sfu_peers') === 2, {
      what: '/metrics to show sfu_peers 2',
    });
  });
});
