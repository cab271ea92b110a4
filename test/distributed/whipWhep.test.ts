// WHIP and WHEP in distributed mode: a WHIP session created through one signal instance is watched
// through the other (WHEP), and its resource answers a PATCH and a DELETE on the instance that did
// not create it: the record in Redis names the media node and the connection, the DELETE ends the
// peer on its node and the creating instance forgets the session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { whipKeys } from '../../src/protocol/whip.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WhepViewer } from '../helpers/whepViewer.ts';
import { WhipPublisher } from '../helpers/whipPublisher.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const ROOM = 'whip-across';

void describe('WHIP and WHEP across signal instances', { timeout: 120_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let signals: Switchboard[] = [];
  let sfu: Switchboard | undefined;
  let whip: WhipPublisher | undefined;
  let viewer: WhepViewer | undefined;

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    await cluster.start('registry', 'room');
    sfu = await cluster.start('sfu');
    signals = [await cluster.start('signal'), await cluster.start('signal')];
  });

  after(async () => {
    whip?.close();
    viewer?.close();
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it('WHIP through signal 1, WHEP through signal 2: the player decodes the stream', async () => {
    whip = new WhipPublisher();
    const res = await whip.publish(`${signals[0]!.url}/whip/rooms/${ROOM}`);
    assert.equal(res.status, 201, res.body);
    viewer = new WhepViewer();
    const played = await viewer.play(`${signals[1]!.url}/whep/rooms/${ROOM}`);
    assert.equal(played.status, 201, played.body);
    const v = viewer;
    await waitFor(() => v.frames > 20, {
      timeout: 30_000,
      what: 'the WHEP player (signal 2) to decode the WHIP stream',
    });
  });

  void it("the resource is a record in Redis naming the media node and signal 1's connection", async () => {
    const id = whip!.location!.split('/').at(-1)!;
    const raw = await cluster!.redis.get(whipKeys.resource(cluster!.dc, id));
    const rec = JSON.parse(raw!) as { node: string; signal: string; kind: string; etag: string };
    assert.equal(rec.kind, 'whip');
    assert.equal(rec.node, sfu!.sfu!.nodeId);
    assert.equal(rec.signal, signals[0]!.signal!.nodeId);
    assert.equal(rec.etag, whip!.etag);
  });

  void it('PATCH and DELETE on signal 2 reach the session created on signal 1', async () => {
    const id = whip!.location!.split('/').at(-1)!;
    const elsewhere = `${signals[1]!.url}/whip/sessions/${id}`;
    const frag = 'a=end-of-candidates\r\n';
    const patched = await fetch(elsewhere, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': whip!.etag! },
      body: frag,
    });
    assert.equal(patched.status, 204);
    const stale = await fetch(elsewhere, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '"other"' },
      body: frag,
    });
    assert.equal(stale.status, 412);
    assert.equal(signals[0]!.signal!.connections, 1); // the WHIP session
    const deleted = await fetch(elsewhere, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    assert.equal((await fetch(whip!.location!, { method: 'DELETE' })).status, 404);
    assert.equal(await cluster!.redis.exists(whipKeys.resource(cluster!.dc, id)), 0);
    // The peer left its node, and signal 1 forgot the session.
    await waitFor(
      () => [...sfu!.sfu!.sfu.sessions].every((s) => ![...s.peers].some((p) => p.name === 'WHIP')),
      {
        what: 'the WHIP peer to leave the media node',
      },
    );
    await waitFor(() => signals[0]!.signal!.connections === 0, { what: 'signal 1 to forget the session' });
  });
});

// A WHEP player of one participant, placed on a node that only relays the room: the relayed tracks
// arrive on the relay peer, whose roster names their publisher (they used to match nobody there).
void describe('WHEP of one participant on a relaying node', { timeout: 120_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let carol: WrtcPeer | undefined;
  let viewer: WhepViewer | undefined;

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    await cluster.start('registry', 'room');
  });

  after(async () => {
    viewer?.close();
    await carol?.close();
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it("the player on node B decodes carol's video, published on node A", async () => {
    const front = await cluster!.start('signal');
    const a = await cluster!.startWith((c) => (c.sfu.maxpeers = 1), 'sfu');
    carol = await WrtcPeer.connect(wsUrlOf(front.url), 'carol');
    await carol.join('relayed-whep', 'carol');
    await carol.publish();
    const b = await cluster!.start('sfu');
    viewer = new WhepViewer();
    const played = await viewer.play(`${front.url}/whep/rooms/relayed-whep/participants/carol`);
    assert.equal(played.status, 201, played.body);
    assert.equal(await cluster!.roomOwner('relayed-whep'), a.sfu!.nodeId);
    const onB = () =>
      [...b.sfu!.sfu.sessions].some((s) => [...s.peers].some((p) => p.subscribes.member === 'carol'));
    assert.ok(onB(), 'the player is on node B (A takes one peer)');
    const v = viewer;
    await waitFor(() => v.frames > 20, { timeout: 30_000, what: "the player on B to decode carol's video" });
  });
});
