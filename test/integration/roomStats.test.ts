// GET /api/rooms/{room}/stats with two libwebrtc clients publishing: both tracks of each, their video
// bitrate within ±30 % of what the client sent over the same seconds, each client's subscriptions to
// the other's tracks with the layer forwarded; a client that leaves is gone from the figures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall, type ApiAnswer } from '../helpers/nuve.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const SUPER = { service: 'superservice-stats', key: 'superservice-key-for-stats' };
const ROOM = 'stats-room';

interface Stats {
  room: string;
  nodes: { node: string; dc?: string; answered: boolean }[];
  participants: {
    uid: string;
    node: string;
    dc?: string;
    tracks: { kind: string; codec: string; bytes: number; layers: { bitrate: number; width: number }[] }[];
    subscriptions: { kind: string; layer: number; packetsSent: number; bitrate: number }[];
  }[];
}

/** Payload bytes the client's publisher PC sent, video only (outbound-rtp `bytesSent`). */
async function videoBytesSent(p: WrtcPeer): Promise<number> {
  let n = 0;
  (await p.publisher.getStats()).forEach((s: Record<string, unknown>) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && typeof s.bytesSent === 'number') {
      n += s.bytesSent;
    }
  });
  return n;
}

void describe('room statistics over REST', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;
  const call = (path: string): Promise<ApiAnswer> => apiCall(sb!.url, 'GET', path, { creds: SUPER });
  const stats = async (): Promise<Stats> => {
    const a = await call(`/rooms/${ROOM}/stats`);
    assert.equal(a.status, 200, a.text);
    return a.json as Stats;
  };

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
    });
    alice = await WrtcPeer.connect(wsUrlOf(sb.url), 'alice');
    bob = await WrtcPeer.connect(wsUrlOf(sb.url), 'bob');
    await alice.join(ROOM, 'alice');
    await bob.join(ROOM, 'bob');
    await alice.publish();
    await bob.publish();
    const a = alice;
    await waitFor(() => a.videoFrames(bob!.publishedStreamId) > 30, { what: 'media to flow' });
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await sb?.close();
  });

  void it('both participants with their audio and video tracks, on this node', async () => {
    const s = await stats();
    assert.equal(s.nodes.length, 1);
    assert.deepEqual(s.nodes[0]!.node, sb!.sfu!.nodeId);
    assert.deepEqual(s.participants.map((p) => p.uid).sort(), ['alice', 'bob']);
    for (const p of s.participants) {
      assert.deepEqual(p.tracks.map((t) => t.kind).sort(), ['audio', 'video']);
      assert.equal(p.node, sb!.sfu!.nodeId);
      assert.equal(p.dc, 'dc1');
      const video = p.tracks.find((t) => t.kind === 'video')!;
      assert.match(video.codec, /^video\//);
      assert.equal(video.layers[0]!.width, 320);
    }
  });

  void it("each published video's bitrate is within ±30 % of what its client sent", async () => {
    for (const peer of [alice!, bob!]) {
      const uid = peer.label;
      const sentBefore = await videoBytesSent(peer);
      const t0 = Date.now();
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const p = (await stats()).participants.find((x) => x.uid === uid)!;
        samples.push(p.tracks.find((t) => t.kind === 'video')!.layers[0]!.bitrate);
      }
      const sentRate = (((await videoBytesSent(peer)) - sentBefore) * 8) / ((Date.now() - t0) / 1000);
      const reported = samples.reduce((a, b) => a + b, 0) / samples.length;
      assert.ok(sentRate > 10_000, `${uid} sends video (${Math.round(sentRate)} bps)`);
      assert.ok(
        Math.abs(reported - sentRate) <= 0.3 * sentRate,
        `${uid}: server says ${Math.round(reported)} bps, the client sent ${Math.round(sentRate)} bps`,
      );
    }
  });

  void it("each participant's subscriptions: the other's two tracks, forwarding a layer", async () => {
    const s = await stats();
    for (const p of s.participants) {
      assert.deepEqual(p.subscriptions.map((x) => x.kind).sort(), ['audio', 'video']);
      const video = p.subscriptions.find((x) => x.kind === 'video')!;
      assert.equal(video.layer, 0);
      assert.ok(video.packetsSent > 30, `packets forwarded to ${p.uid}: ${video.packetsSent}`);
    }
  });

  void it('GET /api/nodes: the media node with its region, load, memory, loop delay and the room it owns', async () => {
    const a = await waitFor(
      async () => {
        const r = await call('/nodes');
        const n = (r.json as { nodes: { peers: number }[] }).nodes[0];
        return n && n.peers === 2 ? r : undefined;
      },
      { what: 'the heartbeat to count both peers' },
    );
    const [node] = (a.json as { nodes: Record<string, unknown>[] }).nodes;
    assert.equal(node!.node, sb!.sfu!.nodeId);
    assert.equal(node!.dc, 'dc1');
    assert.deepEqual(node!.owns, [ROOM]);
    assert.ok((node!.rss as number) > 10_000_000, `rss ${String(node!.rss)}`);
    assert.equal(typeof node!.eventLoopDelayMs, 'number');
    assert.ok((node!.packetRate as number) > 0);
    // Only the superservice sees the cluster.
    const other = await apiCall(sb!.url, 'GET', '/nodes', { anonymous: true });
    assert.equal(other.status, 401);
  });

  void it('room.stats on /ws: the host (first in, anonymous mode) gets the same figures, a guest is refused', async () => {
    const s = await alice!.call<Stats>('room.stats', {});
    assert.deepEqual(s.participants.map((p) => p.uid).sort(), ['alice', 'bob']);
    assert.equal(s.nodes[0]!.node, sb!.sfu!.nodeId);
    await assert.rejects(bob!.call('room.stats', {}), /only the host/);
  });

  void it('a participant that leaves is gone from the figures; an unknown room is 404', async () => {
    await bob!.close();
    bob = undefined;
    await waitFor(
      async () => {
        const s = await stats();
        return s.participants.length === 1 && s.participants[0]!.subscriptions.length === 0;
      },
      { what: "bob's entries to go" },
    );
    assert.equal((await call('/rooms/no-such-room/stats')).status, 404);
  });
});
