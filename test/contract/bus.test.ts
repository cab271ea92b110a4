// The Bus seam's contract, run against the in-process MemoryBus and NatsBus on a real nats-server.
// Both must behave alike: roles are tested on the memory bus and deployed on NATS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusRequestError, MemoryBus, NatsBus, type Bus } from '../../src/backbone/index.ts';
import { SwitchboardError } from '../../src/util/errors.ts';
import { setLogLevel } from '../../src/util/logger.ts';
import { freePort, startNats, type NatsServer } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';

setLogLevel('warn');

/** Endpoints on one backbone: the memory bus hands out itself, NATS a new connection each time. */
interface BusFixture {
  connect(): Promise<Bus>;
  close(): Promise<void>;
}

let seq = 0;
/** A subject prefix no other test uses (the fixture is shared within a suite). */
const fresh = (): string => `t${++seq}`;

const isBusError = (code: string) => (e: unknown) => e instanceof BusRequestError && e.code === code;

/**
 * Resolves once every message `from` sent before to the buses in `to` has been delivered there
 * (one request per bus, on a subject of its own: NATS and the memory bus both keep a sender's order).
 */
async function barrier(from: Bus, to: readonly Bus[]): Promise<void> {
  for (const bus of to) {
    const subject = `${fresh()}-barrier`;
    const sub = bus.subscribe(subject, () => 'ok');
    await bus.flush();
    assert.equal(await from.request(subject, null), 'ok');
    sub.unsubscribe();
  }
}

function busContract(name: string, makeFixture: () => Promise<BusFixture>): void {
  void describe(`Bus contract: ${name}`, { timeout: 60_000 }, () => {
    let fx: BusFixture;
    let a: Bus;
    let b: Bus;
    let c: Bus;

    before(async () => {
      fx = await makeFixture();
      [a, b, c] = [await fx.connect(), await fx.connect(), await fx.connect()];
    });
    after(async () => {
      await fx?.close();
    });

    void it('a request resolves with the handler value, carried as JSON', async () => {
      const p = fresh();
      const seen: [unknown, string][] = [];
      const sub = a.subscribe(`${p}.echo`, (data, subject) => {
        seen.push([data, subject]);
        return { echo: data };
      });
      const none = a.subscribe(`${p}.void`, () => undefined);
      await a.flush();
      const payload = { n: 1, s: 'héllo', list: [1, null, { deep: true }], nothing: null };
      assert.deepEqual(await b.request(`${p}.echo`, payload), { echo: payload });
      assert.deepEqual(seen, [[payload, `${p}.echo`]]);
      assert.equal(await b.request(`${p}.void`, null), null, 'undefined comes back as null');
      assert.equal(await b.request(`${p}.echo`, undefined).then((r) => (r as { echo: unknown }).echo), null);
      sub.unsubscribe();
      none.unsubscribe();
    });

    void it('concurrent requests each get their own answer', async () => {
      const p = fresh();
      const sub = a.subscribe(p, async (n) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (n as number) * 2;
      });
      await a.flush();
      const ns = Array.from({ length: 50 }, (_, i) => i);
      assert.deepEqual(
        await Promise.all(ns.map((n) => b.request<number>(p, n))),
        ns.map((n) => n * 2),
      );
      sub.unsubscribe();
    });

    void it("a handler's error reaches the caller with its code and message", async () => {
      const p = fresh();
      const subs = [
        a.subscribe(`${p}.coded`, () => {
          throw new SwitchboardError('not-found', 'no such room');
        }),
        a.subscribe(`${p}.async`, () => Promise.reject(new SwitchboardError('invalid-state', 'closed'))),
        a.subscribe(`${p}.plain`, () => {
          throw new Error('boom');
        }),
      ];
      await a.flush();
      await assert.rejects(
        b.request(`${p}.coded`, {}),
        (e: unknown) =>
          isBusError('not-found')(e) &&
          (e as BusRequestError).message === 'no such room' &&
          (e as BusRequestError).subject === `${p}.coded`,
      );
      await assert.rejects(b.request(`${p}.async`, {}), isBusError('invalid-state'));
      await assert.rejects(
        b.request(`${p}.plain`, {}),
        isBusError('internal'),
        'an uncoded error is internal',
      );
      for (const s of subs) {
        s.unsubscribe();
      }
    });

    void it('a request nobody subscribes to fails at once with no-responder', async () => {
      const started = Date.now();
      await assert.rejects(
        b.request(`${fresh()}.nobody`, {}, { timeoutMs: 5_000 }),
        isBusError('no-responder'),
      );
      assert.ok(Date.now() - started < 2_000, 'no-responder must not wait for the timeout');
    });

    void it('a request whose handler never answers fails with timeout after timeoutMs', async () => {
      const p = fresh();
      let release: () => void = () => undefined;
      const pending = new Promise<void>((resolve) => (release = resolve));
      const sub = a.subscribe(p, () => pending);
      await a.flush();
      const started = Date.now();
      await assert.rejects(b.request(p, {}, { timeoutMs: 200 }), isBusError('timeout'));
      const took = Date.now() - started;
      assert.ok(took >= 180 && took < 3_000, `timed out after ${took} ms, expected about 200`);
      release();
      sub.unsubscribe();
    });

    void it('`*` matches one token and `>` one or more', async () => {
      const p = fresh();
      const star: string[] = [];
      const rest: string[] = [];
      const subs = [
        a.subscribe(`${p}.*.rpc`, (_d, subject) => void star.push(subject)),
        a.subscribe(`${p}.>`, (_d, subject) => void rest.push(subject)),
      ];
      await a.flush();
      for (const s of [`${p}.n1.rpc`, `${p}.n1.x.rpc`, `${p}.n2.notify`, p, `${p}x.n1.rpc`]) {
        b.publish(s, null);
      }
      await barrier(b, [a]);
      assert.deepEqual(star, [`${p}.n1.rpc`]);
      assert.deepEqual(rest, [`${p}.n1.rpc`, `${p}.n1.x.rpc`, `${p}.n2.notify`]);
      assert.equal(await b.request(`${p}.n9.rpc`, null).then(() => 'answered'), 'answered');
      for (const s of subs) {
        s.unsubscribe();
      }
    });

    void it('publish reaches every plain subscriber', async () => {
      const p = fresh();
      const got = { a1: 0, a2: 0, b: 0 };
      const subs = [
        a.subscribe(p, () => void got.a1++),
        a.subscribe(p, () => void got.a2++),
        b.subscribe(p, () => void got.b++),
      ];
      await a.flush();
      await b.flush();
      for (let i = 0; i < 5; i++) {
        c.publish(p, i);
      }
      await barrier(c, [a, b]);
      assert.deepEqual(got, { a1: 5, a2: 5, b: 5 });
      for (const s of subs) {
        s.unsubscribe();
      }
    });

    void it('a queue group handles each message once across its members, next to plain subscribers', async () => {
      const p = fresh();
      const byMember = { a: 0, b: 0 };
      let plain = 0;
      const subs = [
        a.subscribe(p, () => (byMember.a++, 'a'), { queue: 'workers' }),
        b.subscribe(p, () => (byMember.b++, 'b'), { queue: 'workers' }),
        c.subscribe(`${p}.plain`, () => void plain++),
        a.subscribe(`${p}.plain`, () => void byMember.a++, { queue: 'workers' }),
        b.subscribe(`${p}.plain`, () => void byMember.b++, { queue: 'workers' }),
      ];
      await a.flush();
      await b.flush();
      await c.flush();
      const answers = new Set<unknown>();
      for (let i = 0; i < 20; i++) {
        answers.add(await c.request(p, i));
      }
      await barrier(c, [a, b]);
      assert.equal(byMember.a + byMember.b, 20, 'each request handled exactly once');
      assert.deepEqual([...answers].sort(), ['a', 'b'], 'both members took a share');

      byMember.a = byMember.b = 0;
      for (let i = 0; i < 20; i++) {
        c.publish(`${p}.plain`, i);
      }
      await barrier(c, [a, b, c]);
      assert.equal(byMember.a + byMember.b, 20, 'each published message handled once by the group');
      assert.equal(plain, 20, 'the plain subscriber still gets every message');
      for (const s of subs) {
        s.unsubscribe();
      }
    });

    void it('after unsubscribe nothing is delivered and requests find no responder', async () => {
      const p = fresh();
      let got = 0;
      const sub = a.subscribe(p, () => ++got);
      await a.flush();
      assert.equal(await b.request(p, null), 1);
      sub.unsubscribe();
      sub.unsubscribe(); // idempotent
      await a.flush();
      await assert.rejects(b.request(p, null, { timeoutMs: 2_000 }), isBusError('no-responder'));
      b.publish(p, null);
      await barrier(b, [a]);
      assert.equal(got, 1);
    });
  });
}

busContract('MemoryBus', () => {
  const bus = new MemoryBus();
  return Promise.resolve({ connect: () => Promise.resolve(bus), close: () => bus.close() });
});

busContract('NatsBus', async () => {
  const server = await startNats();
  const buses: NatsBus[] = [];
  return {
    async connect() {
      const bus = await NatsBus.connect(server.url, `contract-${buses.length}`);
      buses.push(bus);
      return bus;
    },
    async close() {
      await Promise.all(buses.map((bus) => bus.close()));
      await server.stop();
    },
  };
});

void describe('NatsBus connection', { timeout: 60_000 }, () => {
  let server: NatsServer;
  const buses: NatsBus[] = [];
  const open = async (name: string): Promise<NatsBus> => {
    const bus = await NatsBus.connect(server.url, name);
    buses.push(bus);
    return bus;
  };

  before(async () => {
    server = await startNats();
  });
  after(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await server?.stop();
  });

  void it('connect rejects when no server listens', async () => {
    await assert.rejects(NatsBus.connect(`nats://127.0.0.1:${await freePort()}`, 'nobody'));
  });

  void it('close lets a handler in flight answer, then refuses new requests', async () => {
    const responder = await open('closing-responder');
    const caller = await open('closing-caller');
    let started = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    responder.subscribe('drain.me', async () => {
      started = true;
      await gate;
      return 'late answer';
    });
    await responder.flush();
    const answer = caller.request('drain.me', null, { timeoutMs: 5_000 });
    await waitFor(() => started, { what: 'the handler to start' });
    const closed = responder.close();
    // The subscription is gone for new requests while the handler still works on the old one.
    await waitFor(
      () =>
        caller.request('drain.me', null, { timeoutMs: 1_000 }).then(
          () => false,
          (e: unknown) => isBusError('no-responder')(e),
        ),
      { what: 'the closing bus to stop taking requests' },
    );
    release();
    assert.equal(await answer, 'late answer');
    await closed;
    assert.deepEqual(responder.status, { state: 'closed' });
    await assert.rejects(responder.request('drain.me', null), isBusError('no-responder'));
  });

  void it('reconnects after the server restarts, with its subscriptions', async () => {
    const responder = await open('restart-responder');
    const caller = await open('restart-caller');
    responder.subscribe('restart.ping', (n) => (n as number) + 1, { queue: 'q' });
    await responder.flush();
    assert.equal(await caller.request('restart.ping', 1), 2);

    await server.stop();
    await waitFor(() => responder.status.state === 'reconnecting' && caller.status.state === 'reconnecting', {
      what: 'both clients to notice the outage',
    });
    await assert.rejects(
      caller.request('restart.ping', 1, { timeoutMs: 300 }),
      isBusError('timeout'),
      'a request during the outage times out',
    );

    await server.start(); // same port
    await waitFor(() => responder.status.state === 'connected' && caller.status.state === 'connected', {
      what: 'both clients to reconnect',
    });
    const answer = await waitFor(() => caller.request<number>('restart.ping', 41, { timeoutMs: 500 }), {
      what: 'the re-sent subscription to answer',
    });
    assert.equal(answer, 42);
  });
});
