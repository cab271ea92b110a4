// LiveKit clients in a cluster (issue #20): the unchanged npm `livekit-client` 2.23 in Chromium against two
// signal instances, two media nodes (the first takes two peers; the second starts once alice and bob fill it, so the room cascades to it), a
// registry + room + api process, over real nats-server and redis-server; every process has the same
// `[livekit] keys`. alice (signal 1), bob (signal 2) and carol (signal 1) publish camera and microphone
// and each decodes the two others' video across the relay link; a data message with a topic addressed
// to one participant (destinationIdentities) reaches it across nodes and nobody else; alice's mute
// shows at bob as TrackMuted; `livekit-server-sdk`'s RoomServiceClient against the api process lists
// the three participants with their tracks and removes bob (his client is Disconnected with
// PARTICIPANT_REMOVED, the others get ParticipantDisconnected).
// Each page's livekit-client log and signalling exchanges go to test-output/livekit/cluster-<name>.log.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomServiceClient, TrackSource } from 'livekit-server-sdk';
import type { Config } from '../../src/config/index.ts';
import type { Switchboard } from '../../src/server/Switchboard.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { TestCluster } from '../helpers/cluster.ts';
import {
  bundleLivekitPage,
  LK_KEY,
  LK_SECRET,
  livekitToken,
  openLivekitPage,
  type LivekitPage,
} from '../helpers/livekit.ts';
import { startNats, startRedis, type NatsServer, type RedisServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import type { LkError, LkEvent, RemoteVideo } from '../e2e/livekit/page.ts';

const ROOM = 'lk-cluster';
// Three Chromium pages publishing simulcast on a small shared machine: be patient with media.
const MEDIA_TIMEOUT = 40_000;
const NAMES = ['alice', 'bob', 'carol'] as const;
type Name = (typeof NAMES)[number];

type ConnectResult = { connectMs: number } | { error: LkError };
type PublishResult = { sources: string[] } | { error: LkError };

void describe(
  'livekit-client across a cluster (two signal instances, two media nodes)',
  { timeout: 115_000 },
  () => {
    let nats: NatsServer | undefined;
    let redis: RedisServer | undefined;
    let cluster: TestCluster | undefined;
    let browser: TestBrowser | undefined;
    let front: Switchboard | undefined;
    let sfus: Switchboard[] = [];
    let signals: Switchboard[] = [];
    let script = '';
    const pages = new Map<Name, LivekitPage>();
    /** The media node (index in `sfus`) each participant's peer is on. */
    const nodeOf = new Map<Name, number>();

    const keys = (c: Config): void => {
      c.livekit.keys = { [LK_KEY]: LK_SECRET };
    };

    const page = (n: Name): LivekitPage => pages.get(n)!;

    function lk<T>(n: Name, call: string): Promise<T> {
      return page(n).page.evaluate<T>(`window.lk.${call}`);
    }

    /** Adds the page's signalling exchanges and log tail to a failure. */
    async function explain<T>(n: Name, run: () => Promise<T>): Promise<T> {
      try {
        return await run();
      } catch (err) {
        const p = page(n);
        const file = await p.saveLog();
        throw new Error(
          `${(err as Error).message}\n  [${p.label}] exchanges: ${p.exchanges.join(' | ')}\n  [${p.label}] log tail (full: ${file}):\n    ${p.log.slice(-20).join('\n    ')}`,
          { cause: err },
        );
      }
    }

    const events = (n: Name): Promise<LkEvent[]> => lk<LkEvent[]>(n, 'events');

    function event(n: Name, what: string, match: (e: LkEvent) => boolean): Promise<LkEvent> {
      return explain(n, () =>
        waitFor(async () => (await events(n)).find(match), { timeout: MEDIA_TIMEOUT, what: `${n}: ${what}` }),
      );
    }

    /** `n` decodes `other`'s video: more than 10 frames decoded with a width, and 15 more later. */
    async function decodes(n: Name, other: Name): Promise<RemoteVideo> {
      let last: RemoteVideo | undefined;
      const snapshot = async (): Promise<RemoteVideo | undefined> =>
        (last = (await lk<RemoteVideo[]>(n, 'videos()')).find((v) => v.identity === other));
      return explain(n, async () => {
        try {
          const first = await waitFor(
            async () => {
              const v = await snapshot();
              return v && v.framesDecoded > 10 && v.frameWidth > 0 ? v : undefined;
            },
            { timeout: MEDIA_TIMEOUT, what: `${n} to decode 10 frames of ${other}'s video` },
          );
          return await waitFor(
            async () => {
              const v = await snapshot();
              return v && v.framesDecoded > first.framesDecoded + 15 ? v : undefined;
            },
            { timeout: MEDIA_TIMEOUT, what: `${n}: ${other}'s video to keep decoding` },
          );
        } catch (err) {
          throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last ?? null)}`, {
            cause: err,
          });
        }
      });
    }

    /** Opens `n`'s page on `signal`'s origin, connects it there and publishes camera + microphone. */
    async function join(n: Name, signal: Switchboard): Promise<void> {
      const p = await openLivekitPage(browser!, signal.url, script, `cluster-${n}`);
      pages.set(n, p);
      const token = await livekitToken({
        identity: n,
        name: n.toUpperCase(),
        grant: { roomJoin: true, room: ROOM },
      });
      const ws = signal.url.replace(/^http/, 'ws');
      const c = await lk<ConnectResult>(n, `connect(${JSON.stringify(ws)}, ${JSON.stringify(token)})`);
      assert.ok(
        'connectMs' in c,
        `${n} connects to ${ws}: ${JSON.stringify(c)}; exchanges: ${p.exchanges.join(' | ')}`,
      );
      const pub = await explain(n, () => lk<PublishResult>(n, 'publish()'));
      assert.deepEqual(pub, { sources: ['camera', 'microphone'] }, `${n} publishes: ${JSON.stringify(pub)}`);
    }

    /** A waitFor's rejection handler that adds what `state` says now to the error. */
    const now =
      (state: () => unknown) =>
      (err: unknown): never => {
        throw new Error(`${(err as Error).message} (now ${JSON.stringify(state())})`, { cause: err });
      };

    /** Client (non-relay) peers of the room on each media node, by uid. */
    function clientsPerNode(): string[][] {
      return sfus.map((s) =>
        [...(s.sfu!.sfu.getSession(ROOM)?.peers ?? [])]
          .filter((p) => !p.relay)
          .map((p) => p.uid)
          .sort(),
      );
    }

    before(async () => {
      nats = await startNats();
      redis = await startRedis();
      cluster = new TestCluster(nats, redis);
      front = await cluster.startWith(keys, 'registry', 'room', 'api');
      // The second media node starts once alice and bob fill the first (the room's owner by then).
      sfus = [
        await cluster.startWith((c) => {
          keys(c);
          c.sfu.maxpeers = 2;
        }, 'sfu'),
      ];
      signals = [await cluster.startWith(keys, 'signal'), await cluster.startWith(keys, 'signal')];
      script = await bundleLivekitPage();
      browser = await launchBrowser();
    });

    after(async () => {
      for (const p of pages.values()) {
        await p.saveLog().catch(() => undefined);
      }
      await browser?.close();
      await cluster?.close();
      await nats?.stop();
      await redis?.stop();
    });

    void it('alice (signal 1), bob (signal 2), carol (signal 1) publish; the room spans both media nodes; each decodes the others', async () => {
      await join('alice', signals[0]!);
      await join('bob', signals[1]!);
      // Both on the first node, the only one; it is full now: the second starts and the room cascades.
      await waitFor(() => clientsPerNode()[0]!.join() === 'alice,bob', {
        timeout: MEDIA_TIMEOUT,
        what: 'alice and bob on the first media node',
      }).catch(now(clientsPerNode));
      sfus.push(await cluster!.startWith(keys, 'sfu'));
      await waitFor(async () => (await cluster!.nodeLoad(sfus[1]!.sfu!.nodeId)) !== undefined, {
        what: "the second media node's heartbeat",
      });
      await join('carol', signals[0]!);
      // Every participant's peer is on one node, and the room has clients on both.
      const perNode = await waitFor(
        () => {
          const per = clientsPerNode();
          return per.flat().sort().join() === NAMES.join() && per.every((uids) => uids.length > 0)
            ? per
            : undefined;
        },
        { timeout: MEDIA_TIMEOUT, what: 'alice, bob and carol on both media nodes' },
      ).catch(now(clientsPerNode));
      for (const n of NAMES) {
        nodeOf.set(
          n,
          perNode.findIndex((uids) => uids.includes(n)),
        );
      }
      console.log(`LIVEKIT CLUSTER: client peers per media node ${JSON.stringify(perNode)}`);
      assert.deepEqual(perNode, [['alice', 'bob'], ['carol']]);
      // The second node relays the room from the first: a relay peer on each side of the link.
      const relays = (): number[] =>
        sfus.map((s) => [...(s.sfu!.sfu.getSession(ROOM)?.peers ?? [])].filter((p) => p.relay).length);
      await waitFor(() => relays().every((n) => n > 0), { what: 'the relay link' }).catch(now(relays));
      // Each decodes both others' video (half of these across the relay link).
      const pairs = NAMES.flatMap((n) => NAMES.filter((o) => o !== n).map((o) => [n, o] as const));
      await Promise.all(pairs.map(([n, o]) => decodes(n, o)));
      for (const n of NAMES) {
        const subs = (await events(n))
          .filter((e) => e.type === 'trackSubscribed')
          .map((e) => `${e.identity}:${e.source}`);
        const want = NAMES.filter((o) => o !== n).flatMap((o) => [`${o}:camera`, `${o}:microphone`]);
        assert.deepEqual(subs.sort(), want.sort(), `${n}'s subscriptions`);
      }
    });

    /**
     * `sender` sends a message with a topic to `to` only, then a broadcast: `to` gets the first from
     * `sender`; once `other` has the broadcast (same sender, same ordered channel, sent after), the
     * addressed one would have reached `other` too had the servers not kept it from them.
     */
    async function addressed(sender: Name, to: Name, other: Name): Promise<void> {
      const text = `${sender} to ${to} only`;
      await lk(
        sender,
        `sendData(${JSON.stringify(text)}, { reliable: true, topic: 'private', destinationIdentities: [${JSON.stringify(to)}] })`,
      );
      await lk(sender, `sendData('after ${sender}', { reliable: true, topic: 'all' })`);
      const got = await event(to, `"${text}"`, (e) => e.type === 'data' && e.text === text);
      assert.deepEqual([got.identity, got.topic, got.reliable], [sender, 'private', true]);
      await event(
        other,
        `${sender}'s broadcast after it`,
        (e) => e.type === 'data' && e.text === `after ${sender}`,
      );
      const atOther = (await events(other)).filter((e) => e.type === 'data');
      assert.ok(
        atOther.every((e) => e.topic === 'all' && e.text !== text),
        `${other} got only broadcasts: ${JSON.stringify(atOther.map((e) => `${e.identity}:${e.topic}:${e.text}`))}`,
      );
    }

    void it('a data message with a topic addressed to one participant crosses the nodes to it, and reaches nobody else', async () => {
      // Everyone's data channels (and the relay link's) carry a broadcast first.
      await explain('alice', () =>
        waitFor(
          async () => {
            const got = await Promise.all(
              (['bob', 'carol'] as const).map(async (n) =>
                (await events(n)).some((e) => e.type === 'data' && e.text === 'hello all'),
              ),
            );
            if (got.every(Boolean)) {
              return true;
            }
            await lk('alice', `sendData('hello all', { reliable: true, topic: 'all' })`);
            return false;
          },
          { timeout: MEDIA_TIMEOUT, interval: 1_000, what: "alice's broadcast to reach bob and carol" },
        ),
      );
      // alice (node 1) → carol (node 2) across the relay link, not to bob (alice's node);
      assert.notEqual(nodeOf.get('alice'), nodeOf.get('carol'));
      await addressed('alice', 'carol', 'bob');
      // carol (node 2) → bob (node 1) the other way, not to alice (bob's node).
      await addressed('carol', 'bob', 'alice');
    });

    void it("alice's microphone mute shows at bob (other signal instance) as TrackMuted", async () => {
      await lk('alice', 'setMicrophone(false)');
      await event(
        'bob',
        "TrackMuted of alice's microphone",
        (e) => e.type === 'trackMuted' && e.identity === 'alice' && e.source === 'microphone',
      );
      await lk('alice', 'setMicrophone(true)');
      await event(
        'bob',
        "TrackUnmuted of alice's microphone",
        (e) => e.type === 'trackUnmuted' && e.identity === 'alice' && e.source === 'microphone',
      );
    });

    void it("livekit-server-sdk's RoomServiceClient (api process) lists the three with their tracks and removes bob", async () => {
      const rooms = new RoomServiceClient(front!.url, LK_KEY, LK_SECRET);
      const listed = await waitFor(
        async () => {
          const ps = await rooms.listParticipants(ROOM);
          const all = ps
            .map(
              (p) =>
                `${p.identity}:${p.tracks
                  .map((t) => TrackSource[t.source])
                  .sort()
                  .join('+')}`,
            )
            .sort();
          return all.join() === NAMES.map((n) => `${n}:CAMERA+MICROPHONE`).join() ? ps : undefined;
        },
        { timeout: 15_000, what: 'ListParticipants: alice, bob and carol, each with CAMERA and MICROPHONE' },
      ).catch(async (err: unknown) => {
        const ps = await rooms.listParticipants(ROOM).catch((e: unknown) => String(e));
        throw new Error(
          `${(err as Error).message}; last: ${JSON.stringify(ps, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
          {
            cause: err,
          },
        );
      });
      for (const p of listed) {
        assert.equal(p.name, p.identity.toUpperCase(), `${p.identity}'s name`);
      }
      await rooms.removeParticipant(ROOM, 'bob');
      const own = await event('bob', 'Disconnected', (e) => e.type === 'disconnected');
      assert.equal(own.reason, 'PARTICIPANT_REMOVED');
      for (const n of ['alice', 'carol'] as const) {
        await event(
          n,
          'ParticipantDisconnected for bob',
          (e) => e.type === 'participantDisconnected' && e.identity === 'bob',
        );
        assert.ok(!(await lk<{ identity: string }[]>(n, 'remotes()')).some((r) => r.identity === 'bob'));
      }
      await waitFor(
        async () =>
          (await rooms.listParticipants(ROOM))
            .map((p) => p.identity)
            .sort()
            .join() === 'alice,carol',
        {
          what: 'ListParticipants without bob',
        },
      );
      // bob's peer is gone from its media node.
      await waitFor(() => !clientsPerNode().flat().includes('bob'), {
        what: "bob's peer to end on its node",
      });
    });
  },
);
