// Regions (issue #25): one cluster (`[global] cluster`) over two regions (`[global] dc` = eu, us), each
// with its own nats-server (a supercluster: the two joined by NATS gateways), its media node (a real
// process, `--role sfu`) and its signal instance (with registry and room roles, in this process); one
// redis-server. Two libwebrtc clients per region join one room through their region's signal: each
// decodes the other three, each region's node carries its own region's clients and the room is
// relayed between the two nodes. New rooms joined through a region's signal land in that region.
// kill -9 of a region's node: its clients rejoin on the other region's node and media flows again
// within seconds; the node restarted, new rooms of its region land on it again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NatsBus } from '../../src/backbone/index.ts';
import { storeKeys, type NodeLoad } from '../../src/protocol/cluster.ts';
import { roomSubjects, type SfuAdminReply } from '../../src/protocol/room.ts';
import { TestCluster } from '../helpers/cluster.ts';
import { NodeProcess } from '../helpers/nodeProcess.ts';
import { ReconnectingPeer } from '../helpers/reconnectingPeer.ts';
import {
  startNatsSupercluster,
  startRedis,
  type NatsSupercluster,
  type RedisServer,
} from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const CLUSTER = 'planet';
const REGIONS = ['eu', 'us'] as const;
type Region = (typeof REGIONS)[number];
const ROOM = 'across-regions';
/** The region whose media node is killed (the room's owner: its clients join first). */
const KILLED: Region = 'eu';
const OTHER: Region = 'us';

void describe('one cluster over two regions (NATS supercluster)', { timeout: 180_000 }, () => {
  let nats: NatsSupercluster | undefined;
  let redis: RedisServer | undefined;
  /** Registry, room and signal roles of each region, in this process. */
  const fronts = new Map<Region, TestCluster>();
  const signalUrls = new Map<Region, string>();
  /** Every media node process started (stopped in `after`). */
  const procs: NodeProcess[] = [];
  /** The live media node of each region. */
  const media = new Map<Region, { proc: NodeProcess; id: string }>();
  /** The two clients of each region, in the shared room. */
  const clients = new Map<Region, ReconnectingPeer[]>();
  /** Short-lived clients of the new-room checks. */
  const extra: WrtcPeer[] = [];
  let bus: NatsBus | undefined;

  const view = (): TestCluster => fronts.get('eu')!;
  const all = (): ReconnectingPeer[] => REGIONS.flatMap((r) => clients.get(r)!);
  const nodeOf = (r: Region): string => media.get(r)!.id;

  async function startMedia(region: Region): Promise<void> {
    const proc = await NodeProcess.start({
      nats: nats!.of(region),
      redis: redis!,
      dc: region,
      cluster: CLUSTER,
      roles: ['sfu'],
    });
    procs.push(proc);
    const id = await waitFor(() => view().nodeOfPid(proc.pid), { what: `the ${region} node to heartbeat` });
    media.set(region, { proc, id });
  }

  /** Uids of the room's clients on `node`, asked of the node itself (`sfuAdmin` op `clients`). */
  async function clientsOn(node: string, room = ROOM): Promise<string[]> {
    const reply = await bus!.request<SfuAdminReply>(roomSubjects.sfuAdmin(CLUSTER, node), {
      op: 'clients',
      room,
    });
    return [...(reply.uids ?? [])].sort();
  }

  async function heartbeat(node: string): Promise<NodeLoad | undefined> {
    return view().nodeLoad(node);
  }

  /** Every client decodes more than `frames` video frames of each other client's current stream. */
  function everyoneSeesEveryone(frames: number): boolean {
    return all().every((p) =>
      all().every((q) => p === q || p.peer.videoFrames(q.publishedStreamId) > frames),
    );
  }

  /** What each client decodes of the others, for test messages. */
  function decoded(): string {
    return all()
      .map(
        (p) =>
          `${p.label} (rejoins ${p.reconnects}): ` +
          all()
            .filter((q) => q !== p)
            .map((q) => `${q.label}=${p.peer.videoFrames(q.publishedStreamId)}`)
            .join(' '),
      )
      .join('; ');
  }

  /**
   * Joins `n` new rooms (one client each, no media) through `region`'s signal instance at once and
   * resolves with the owner of each room, from Redis.
   */
  async function newRooms(region: Region, prefix: string, n = 4): Promise<string[]> {
    const rooms = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    await Promise.all(
      rooms.map(async (room) => {
        const p = await WrtcPeer.connect(signalUrls.get(region)!, `${room}-client`);
        extra.push(p);
        await p.join(room, `${room}-client`);
      }),
    );
    return Promise.all(
      rooms.map((room) => waitFor(() => view().roomOwner(room), { what: `an owner of ${room}` })),
    );
  }

  async function closeExtra(): Promise<void> {
    for (const p of extra.splice(0)) {
      await p.close();
    }
  }

  before(async () => {
    nats = await startNatsSupercluster(REGIONS);
    redis = await startRedis();
    for (const region of REGIONS) {
      const front = new TestCluster(nats.of(region), redis, region, CLUSTER);
      fronts.set(region, front);
      const sb = await front.start('registry', 'room', 'signal');
      signalUrls.set(region, wsUrlOf(sb.url));
    }
    await Promise.all(REGIONS.map((r) => startMedia(r)));
    bus = await NatsBus.connect(nats.of('eu').url, 'regions-test');
    // The killed region's clients first: its node owns the room, the other region's relays it.
    for (const region of [KILLED, OTHER]) {
      const peers: ReconnectingPeer[] = [];
      for (const n of [1, 2]) {
        peers.push(await ReconnectingPeer.join(signalUrls.get(region)!, ROOM, `${region}-${n}`));
      }
      clients.set(region, peers);
    }
  });

  after(async () => {
    for (const p of clients.size > 0 ? all() : []) {
      await p.close();
    }
    await closeExtra();
    for (const proc of procs) {
      await proc.stop();
    }
    for (const front of fronts.values()) {
      await front.close();
    }
    await bus?.close();
    await nats?.stop();
    await redis?.stop();
  });

  void it("every client decodes the other three's video, across the regions", async () => {
    await waitFor(() => everyoneSeesEveryone(20), {
      timeout: 45_000,
      what: 'every client to decode 20 frames of the other three',
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}; now: ${decoded()}`);
    });
    for (const p of all()) {
      const others = all()
        .filter((q) => q !== p)
        .map((q) => q.publishedStreamId)
        .sort();
      assert.deepEqual([...p.peer.remoteStreamIds()].sort(), others, `${p.label} receives the other three`);
    }
  });

  void it("each region's media node carries its own region's clients; the room is relayed between them", async () => {
    assert.equal(await view().roomOwner(ROOM), nodeOf(KILLED), 'the first region to join owns the room');
    for (const region of REGIONS) {
      const node = nodeOf(region);
      assert.deepEqual(
        await clientsOn(node),
        [`${region}-1`, `${region}-2`],
        `clients on the ${region} node`,
      );
      // Two client peers each, and one relay link between them (the owner's inbound one, the other's outbound).
      const load = await waitFor(
        async () => {
          const l = await heartbeat(node);
          return l && l.peers === 2 && l.relays === 1 ? l : undefined;
        },
        { what: `the ${region} node to heartbeat 2 peers and 1 relay link` },
      );
      assert.equal(load.dc, region);
      assert.equal(load.rooms, 1);
    }
    const hosts = await view().redis.hkeys(storeKeys.roomNodes(CLUSTER, ROOM));
    assert.deepEqual(hosts.sort(), REGIONS.map(nodeOf).sort(), 'both nodes host the room');
  });

  void it("new rooms joined through a region's signal all land on that region's node", async () => {
    for (const region of REGIONS) {
      const owners = await newRooms(region, `new-${region}`);
      assert.deepEqual(owners, Array(owners.length).fill(nodeOf(region)), `owners of ${region}'s new rooms`);
      assert.equal((await heartbeat(owners[0]!))?.dc, region);
    }
    await closeExtra();
  });

  void it("kill -9 of a region's node: its clients get media again from the other region's node", async () => {
    const dead = media.get(KILLED)!;
    const survivor = nodeOf(OTHER);
    const movers = clients.get(KILLED)!;
    const stayers = clients.get(OTHER)!;
    const t0 = Date.now();
    dead.proc.kill('SIGKILL');
    await waitFor(() => movers.every((p) => p.reconnects >= 1) && everyoneSeesEveryone(10), {
      timeout: 20_000,
      interval: 50,
    }).catch((err: unknown) => {
      const why = movers.map((p) => `${p.label}: ${String(p.lastError)}`).join('; ');
      throw new Error(`${String(err)}; decoded: ${decoded()}; last rejoin errors: ${why}`);
    });
    const ms = Date.now() - t0;
    console.log(`regions: media flows again ${ms} ms after kill -9 of the ${KILLED} node`);
    assert.equal((await dead.proc.exited).signal, 'SIGKILL');
    assert.deepEqual(
      movers.map((p) => p.reasons),
      movers.map(() => ['node-lost']),
    );
    assert.deepEqual(
      stayers.map((p) => p.reconnects),
      [0, 0],
      `the ${OTHER} clients stay where they are`,
    );
    assert.deepEqual(
      await clientsOn(survivor),
      all()
        .map((p) => p.label)
        .sort(),
      `everyone on the ${OTHER} node`,
    );
    assert.equal(await view().roomOwner(ROOM), survivor, `the ${OTHER} node took the room over`);
    media.delete(KILLED);
  });

  void it('the node restarted, new rooms of its region land on it again', async () => {
    await startMedia(KILLED);
    const owners = await newRooms(KILLED, 'back');
    assert.deepEqual(owners, Array(owners.length).fill(nodeOf(KILLED)), `owners of ${KILLED}'s new rooms`);
    assert.equal((await heartbeat(nodeOf(KILLED)))?.dc, KILLED);
    await closeExtra();
  });
});
