// ION cluster clients in a cluster (issue #22): two signal instances, two media nodes (the first takes
// two peers, so the room cascades to the second), real nats-server and redis-server. A client's Room
// stream on one signal instance and its RTC stream on the other are one participant (the room role's
// attach); clients on different instances see each other's peer events, messages and tracks, and
// decode each other's media.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../src/config/index.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { signIonToken } from '../../src/signal/ion/ionAuth.ts';
import type { RoomReply } from '../../src/signal/ion/protos.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { IonRoomClient, IonRtcClient } from '../helpers/ionRtcClient.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';

const SECRET = 'ion-cluster-test-secret-0123456789';
const ROOM = 'ion-cluster';
const MEDIA_TIMEOUT = 30_000;

void describe('ION cluster clients across a cluster', { timeout: 180_000 }, () => {
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let cluster: TestCluster | undefined;
  let signals: Switchboard[] = [];
  let front: Switchboard | undefined;
  const closers: { close(): void }[] = [];
  const configure = (c: Config) => {
    c.auth.secret = SECRET;
    c.auth.anonymous = false;
  };
  const token = (uid: string) =>
    signIonToken({ key: SECRET, uid, sid: ROOM, publish: true, subscribe: true, ttlSeconds: 600 });
  const clients: Record<string, { room: IonRoomClient; rtc: IonRtcClient; stream?: string }> = {};

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    cluster = new TestCluster(nats, redis);
    front = await cluster.startWith(configure, 'registry', 'room', 'api');
    await cluster.startWith((c) => {
      configure(c);
      c.sfu.maxpeers = 2;
    }, 'sfu');
    await cluster.startWith(configure, 'sfu');
    signals = [await cluster.startWith(configure, 'signal'), await cluster.startWith(configure, 'signal')];
  });

  after(async () => {
    for (const c of closers) {
      c.close();
    }
    await cluster?.close();
    await nats?.stop();
    await redis?.stop();
  });

  /** Room stream on `roomAt`, RTC stream on `rtcAt` (signal instance indexes), both joined, media published. */
  const join = async (uid: string, roomAt: number, rtcAt: number): Promise<void> => {
    const t = await token(uid);
    const room = await IonRoomClient.open(signals[roomAt]!.url, t);
    closers.push(room);
    const joined = await room.join(ROOM, uid, '', `${uid} name`);
    assert.equal(joined.success, true, JSON.stringify(joined.error));
    const rtc = await IonRtcClient.open(signals[rtcAt]!.url, t);
    closers.push(rtc);
    await rtc.join(ROOM, uid);
    clients[uid] = { room, rtc, stream: await rtc.publish() };
  };

  void it("a client's Room and RTC streams on two instances are one participant; peers on both instances decode each other", async () => {
    await join('alice', 0, 1);
    await join('bob', 1, 1);
    await join('carol', 0, 0);
    const { alice, bob, carol } = clients;
    for (const [who, c] of Object.entries(clients)) {
      for (const [other, o] of Object.entries(clients)) {
        if (who !== other) {
          await waitFor(() => c.rtc.videoFrames(o.stream) > 20, {
            timeout: MEDIA_TIMEOUT,
            what: `${who} to decode 20 frames of ${other}`,
          });
        }
      }
    }
    // One member per client, though alice has streams on two instances.
    const users = (await fetch(`${front!.url.replace(/\/$/, '')}/api/rooms/${ROOM}/users`, {
      headers: { authorization: `Bearer ${await adminToken()}` },
    }).then((r) => r.json())) as { name: string }[];
    assert.deepEqual(users.map((u) => u.name).sort(), ['alice name', 'bob name', 'carol name']);
    assert.ok(alice && bob && carol);
  });

  void it('peer events, track events and messages cross the instances', async () => {
    const { alice, bob, carol } = clients;
    await waitFor(
      () => alice!.room.peerEvents().includes('bob JOIN') && alice!.room.peerEvents().includes('carol JOIN'),
      {
        timeout: 10_000,
        what: 'alice (room stream on instance 0) to hear of bob and carol',
      },
    );
    const adds = alice!.rtc.trackEvents
      .filter((e) => e.state === 'ADD' && e.uid === 'bob')
      .flatMap((e) => e.tracks);
    assert.deepEqual(adds.map((t) => t.kind).sort(), ['audio', 'video']);
    assert.ok(adds.every((t) => t.streamId === bob!.stream));
    bob!.room.call.send({
      sendMessage: {
        sid: ROOM,
        message: { from: 'bob', to: 'alice', type: 'text/plain', payload: Buffer.from('hi alice') },
      },
    });
    const m = await alice!.room.call.waitFor<Extract<RoomReply, { message: unknown }>>((x) => 'message' in x);
    assert.equal(m.message.from, 'bob');
    assert.equal(Buffer.from(m.message.payload).toString('utf8'), 'hi alice');
    assert.ok(
      !carol!.room.call.messages.some((x) => 'message' in x),
      'a message to alice reaches only alice',
    );
  });

  void it("alice leaving: the others get LEAVE and her tracks' REMOVE", async () => {
    const { alice, bob } = clients;
    alice!.room.close();
    alice!.rtc.close();
    await waitFor(() => bob!.room.peerEvents().includes('alice LEAVE'), {
      timeout: 10_000,
      what: 'bob to hear alice leave',
    });
    await waitFor(() => bob!.rtc.trackEvents.some((e) => e.uid === 'alice' && e.state === 'REMOVE'), {
      timeout: 10_000,
      what: "a REMOVE track event for alice's tracks",
    });
  });
});

async function adminToken(): Promise<string> {
  const { signToken } = await import('../../src/protocol/tokens.ts');
  return signToken({ secret: SECRET, identity: 'admin', grants: { api: true }, ttlSeconds: 600 });
}
