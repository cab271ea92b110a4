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
    protocol?: string;
    transport: { publisher?: Transport; subscriber?: Transport };
    tracks: {
      kind: string;
      codec: string;
      bytes: number;
      muted: boolean;
      layers: {
        bitrate: number;
        width: number;
        frameRate: number;
        keyframes: number;
        plis: number;
        paused: boolean;
      }[];
    }[];
    subscriptions: {
      kind: string;
      layer: number;
      packetsSent: number;
      bitrate: number;
      rtt: number | null;
      jitter: number | null;
      paused: string | null;
    }[];
  }[];
  owner: string | null;
  totals: {
    participants: number;
    tracks: number;
    subscriptions: number;
    bitrateIn: number;
    bitrateOut: number;
  };
}

interface Transport {
  state: string;
  protocol: string | null;
  localType: string | null;
  remoteType: string | null;
  bytesSent: number;
  bytesReceived: number;
}

/** A counter of the client's publisher PC, video only (outbound-rtp `bytesSent`, `framesEncoded`). */
async function videoSent(p: WrtcPeer, field: 'bytesSent' | 'framesEncoded' = 'bytesSent'): Promise<number> {
  let n = 0;
  (await p.publisher.getStats()).forEach((s: Record<string, unknown>) => {
    const v = s[field];
    if (s.type === 'outbound-rtp' && s.kind === 'video' && typeof v === 'number') {
      n += v;
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
      const sentBefore = await videoSent(peer);
      const framesBefore = await videoSent(peer, 'framesEncoded');
      const t0 = Date.now();
      const samples: number[] = [];
      const fps: number[] = [];
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const p = (await stats()).participants.find((x) => x.uid === uid)!;
        const layer = p.tracks.find((t) => t.kind === 'video')!.layers[0]!;
        samples.push(layer.bitrate);
        fps.push(layer.frameRate);
      }
      const seconds = (Date.now() - t0) / 1000;
      const sentRate = (((await videoSent(peer)) - sentBefore) * 8) / seconds;
      const frameRate = ((await videoSent(peer, 'framesEncoded')) - framesBefore) / seconds;
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const reported = mean(samples);
      assert.ok(sentRate > 10_000, `${uid} sends video (${Math.round(sentRate)} bps)`);
      assert.ok(
        Math.abs(reported - sentRate) <= 0.3 * sentRate,
        `${uid}: server says ${Math.round(reported)} bps, the client sent ${Math.round(sentRate)} bps`,
      );
      assert.ok(
        frameRate > 5 && Math.abs(mean(fps) - frameRate) <= 0.3 * frameRate,
        `${uid}: server says ${mean(fps)} fps, the client encoded ${frameRate} fps`,
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

  void it("GET /users/{user}/stats: one participant's entry; 404 for someone not in the room", async () => {
    const a = await call(`/rooms/${ROOM}/users/alice/stats`);
    assert.equal(a.status, 200, a.text);
    const alice = a.json as Stats['participants'][number];
    assert.equal(alice.uid, 'alice');
    assert.deepEqual(alice.tracks.map((t) => t.kind).sort(), ['audio', 'video']);
    assert.deepEqual(alice.subscriptions.map((x) => x.kind).sort(), ['audio', 'video']);
    assert.equal(alice.node, sb!.sfu!.nodeId);
    assert.equal((await call(`/rooms/${ROOM}/users/nobody/stats`)).status, 404);
    assert.equal((await call(`/rooms/no-such-room/users/alice/stats`)).status, 404);
  });

  void it('per peer: protocol and transport (candidate types, bytes); per subscription: RTT and jitter from receiver reports', async () => {
    const s = await waitFor(
      async () => {
        const x = await stats();
        return x.participants.every((p) => p.subscriptions.every((sub) => sub.rtt !== null)) ? x : undefined;
      },
      { what: 'receiver reports answering our sender reports' },
    );
    assert.equal(s.owner, sb!.sfu!.nodeId);
    assert.deepEqual(
      { participants: s.totals.participants, tracks: s.totals.tracks, subscriptions: s.totals.subscriptions },
      { participants: 2, tracks: 4, subscriptions: 4 },
    );
    assert.ok(s.totals.bitrateIn > 20_000 && s.totals.bitrateOut > 20_000, JSON.stringify(s.totals));
    for (const p of s.participants) {
      assert.equal(p.protocol, 'jsonrpc');
      for (const t of [p.transport.publisher!, p.transport.subscriber!]) {
        assert.equal(t.state, 'connected');
        assert.equal(t.protocol, 'udp');
        assert.equal(t.localType, 'host');
        assert.ok(t.remoteType !== null, 'a selected pair');
      }
      assert.ok(p.transport.publisher!.bytesReceived > 50_000, 'the publisher PC received media');
      assert.ok(p.transport.subscriber!.bytesSent > 50_000, 'the subscriber PC sent media');
      for (const sub of p.subscriptions) {
        assert.ok(sub.rtt! >= 0 && sub.rtt! < 500, `${p.uid} ${sub.kind} rtt ${sub.rtt}`);
        assert.equal(typeof sub.jitter, 'number');
        assert.equal(sub.paused, null);
      }
      const video = p.tracks.find((t) => t.kind === 'video')!;
      assert.ok(video.layers[0]!.keyframes >= 1, 'keyframes counted');
      assert.equal(video.layers[0]!.paused, false);
    }
  });

  void it('users listing: protocol and the tracks each one publishes', async () => {
    const a = await call(`/rooms/${ROOM}/users`);
    const users = a.json as { id: string; protocol: string; tracks: { kind: string; muted: boolean }[] }[];
    for (const u of users) {
      assert.equal(u.protocol, 'jsonrpc');
      assert.deepEqual(u.tracks.map((t) => t.kind).sort(), ['audio', 'video']);
    }
  });

  void it("POST /users/{user}/mute mutes bob's video (stats and subscription show it); unknown users are 404", async () => {
    const post = (path: string, body: unknown) => apiCall(sb!.url, 'POST', path, { creds: SUPER, body });
    const r = await post(`/rooms/${ROOM}/users/bob/mute`, { kind: 'video' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { tracks: 1 });
    const s = await stats();
    const bobVideo = s.participants.find((p) => p.uid === 'bob')!.tracks.find((t) => t.kind === 'video')!;
    assert.equal(bobVideo.muted, true);
    const aliceSub = s.participants
      .find((p) => p.uid === 'alice')!
      .subscriptions.find((x) => x.kind === 'video')!;
    assert.equal(aliceSub.paused, 'publisher');
    assert.equal((await post(`/rooms/${ROOM}/users/nobody/mute`, { kind: 'audio' })).status, 404);
    assert.equal((await post(`/rooms/${ROOM}/users/bob/mute`, { kind: 'smell' })).status, 400);
    const un = await post(`/rooms/${ROOM}/users/bob/mute`, { kind: 'video', muted: false });
    assert.equal(un.status, 200, un.text);
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

  void it('POST /rooms/{room}/end: everyone leaves, told the reason; an ad-hoc room goes, a created one stays', async () => {
    const r = await apiCall(sb!.url, 'POST', `/rooms/${ROOM}/end`, {
      creds: SUPER,
      body: { reason: 'closing' },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ended: true, peers: 1 });
    await waitFor(
      () => alice!.notifications.some((n) => n.method === 'room.ended' && n.params.reason === 'closing'),
      {
        what: 'alice to be told',
      },
    );
    // Created by alice's join (ad hoc): gone with its last member, as when everyone leaves.
    await waitFor(async () => (await call(`/rooms/${ROOM}`)).status === 404, {
      what: 'the ad-hoc room to go',
    });
    const created = await apiCall(sb!.url, 'POST', '/rooms', { creds: SUPER, body: { name: 'kept-room' } });
    assert.equal(created.status, 200, created.text);
    const id = (created.json as { _id: string })._id;
    const ended = await apiCall(sb!.url, 'POST', `/rooms/${id}/end`, { creds: SUPER });
    assert.deepEqual(ended.json, { ended: true, peers: 0 });
    assert.equal((await call(`/rooms/${id}`)).status, 200);
    assert.equal((await apiCall(sb!.url, 'POST', '/rooms/no-such-room/end', { creds: SUPER })).status, 404);
  });
});
