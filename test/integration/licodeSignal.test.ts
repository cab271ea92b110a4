// Licode's client protocol, signalling side (issue #16): erizo.js's socket.io handshake with a Nuve
// token, `connected`, ReliableSocket framing, roles, data streams and attributes, cleanup on leave,
// and an error acknowledgement for every malformed event. A client written from the wire notes
// (test/helpers/licodeClient.ts) stands in for erizo.js, which may not be copied here.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { licodeKeys } from '../../src/protocol/licode.ts';
import { apiCall } from '../helpers/nuve.ts';
import { decodeToken, LicodeTestClient, nuveRoom, nuveToken } from '../helpers/licodeClient.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const SUPER = { service: 'superservice-licode', key: 'superservice-key-licode-tests' };

void describe('Licode clients (socket.io, erizo.js wire)', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let room = '';
  const clients: LicodeTestClient[] = [];
  const token = (user: string, role = 'presenter', r = room) => nuveToken(sb!.url, SUPER, r, user, role);
  const join = async (user: string, role = 'presenter'): Promise<LicodeTestClient> => {
    const c = await LicodeTestClient.connect(await token(user, role));
    clients.push(c);
    return c;
  };

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
    });
    room = await nuveRoom(sb.url, SUPER, 'licode-room');
  });

  after(async () => {
    for (const c of clients) {
      c.close();
    }
    await sb?.close();
  });

  void it("a token names the port the REST call came in on when its Host header has none (Licode's Nuve client)", async () => {
    const port = new URL(sb!.url).port;
    assert.equal(decodeToken(await token('porty')).host, `127.0.0.1:${port}`);
    const { mauthHeader } = await import('../helpers/nuve.ts');
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${sb!.url}/api/rooms/${room}/tokens`,
        {
          method: 'POST',
          headers: {
            host: 'meet.example.org',
            authorization: mauthHeader(SUPER, { name: 'x', role: 'presenter' }),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(
      { host: decodeToken(text).host, secure: decodeToken(text).secure },
      { host: `meet.example.org:${port}`, secure: false },
    );
  });

  void it('connected: the room id, a client id, ICE servers, bandwidth limits and no streams yet', async () => {
    const alice = await join('alice');
    const c = alice.connected;
    assert.equal(c.id, room);
    assert.equal(typeof c.clientId, 'string');
    assert.deepEqual(c.streams, []);
    assert.ok(Array.isArray(c.iceServers));
    assert.equal(c.singlePC, false);
    assert.ok(c.defaultVideoBW > 0 && c.maxVideoBW >= c.defaultVideoBW);
    // The client is a member of the room: Nuve's users call lists it.
    const users = await apiCall(sb!.url, 'GET', `/rooms/${room}/users`, { creds: SUPER });
    assert.ok(
      (users.json as { name: string }[]).some((u) => u.name === 'alice'),
      users.text,
    );
  });

  void it("tokens are checked with Licode's errors: reused, tampered (signature or host), missing", async () => {
    const t = await token('once');
    clients.push(await LicodeTestClient.connect(t));
    await assert.rejects(LicodeTestClient.connect(t), { message: 'token: Token does not exist' });
    const fresh = await token('tamper');
    await assert.rejects(
      LicodeTestClient.connect(fresh, { signature: Buffer.from('forged').toString('base64') }),
      {
        message: 'token: Authentication error',
      },
    );
    await assert.rejects(LicodeTestClient.connect(fresh, { host: 'evil.example.org:1' }), {
      message: 'token: Authentication error',
    });
    // The tampered attempts spent nothing: the genuine token still connects once.
    clients.push(await LicodeTestClient.connect(fresh));
    const bare = await new Promise<string>((resolve) => {
      void import('socket.io-client').then(({ io }) => {
        const s = io(`ws://${decodeToken(fresh).host}`, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
        });
        s.once('connect_error', (err: Error & { data?: string }) => {
          s.close();
          resolve(String(err.data));
        });
      });
    });
    assert.equal(bare, 'token: No token information');
  });

  void it('data streams: publish, onAddStream room-wide, late joiners get it in connected, messages and attributes reach subscribers only', async () => {
    const alice = await join('alice2');
    const bob = await join('bob');
    const carol = await join('carol');
    const [id, ...rest] = await alice.call('publish', {
      options: { state: 'data', data: true, label: 'chat', attributes: { topic: 'hello' } },
    });
    assert.equal(typeof id, 'number');
    assert.ok(Number.isSafeInteger(id));
    assert.deepEqual(rest, []);
    for (const c of [alice, bob, carol]) {
      const added = await c.waitFor('onAddStream', (s) => s.id === id);
      assert.deepEqual(added, {
        id,
        audio: false,
        video: false,
        data: true,
        label: 'chat',
        attributes: { topic: 'hello' },
      });
    }
    const dave = await join('dave');
    assert.ok(dave.connected.streams.some((s: { id: number }) => s.id === id));

    assert.deepEqual(await bob.call('subscribe', { options: { streamId: id, data: true } }), [true]);
    assert.deepEqual(await alice.call('sendDataStream', { id, msg: { text: 'hi bob' } }), [true]);
    assert.deepEqual(await bob.waitFor('onDataStream'), { id, msg: { text: 'hi bob' } });
    assert.deepEqual(await alice.call('updateStreamAttributes', { id, attrs: { topic: 'news' } }), [true]);
    assert.deepEqual(await bob.waitFor('onUpdateAttributeStream'), { id, attrs: { topic: 'news' } });
    // The new attributes are the room's: a client connecting now sees them.
    const erin = await join('erin');
    assert.deepEqual(erin.connected.streams.find((s: { id: number }) => s.id === id)?.attributes, {
      topic: 'news',
    });
    await sleep(200);
    assert.deepEqual(carol.events('onDataStream'), [], 'carol did not subscribe');
    assert.deepEqual(carol.events('onUpdateAttributeStream'), []);

    // Only its publisher sends on, updates or unpublishes a stream.
    assert.deepEqual(await bob.call('sendDataStream', { id, msg: 'spoof' }), [null, 'Unauthorized']);
    assert.deepEqual(await bob.call('unpublish', id), [null, 'Unauthorized']);
    assert.deepEqual(await bob.call('unsubscribe', id), [true]);
    assert.deepEqual(await alice.call('sendDataStream', { id, msg: 'after' }), [true]);
    await sleep(200);
    assert.equal(bob.events('onDataStream').length, 1, 'no messages after unsubscribe');

    assert.deepEqual(await alice.call('unpublish', id), [true]);
    assert.deepEqual(await carol.waitFor('onRemoveStream', (p) => p.id === id), { id });
  });

  void it('ReliableSocket: every message is acknowledged by socketgd id; a re-sent one is handled once', async () => {
    const alice = await join('frank');
    const bob = await join('gina');
    const [id] = await alice.call('publish', { options: { state: 'data', data: true, label: 'x' } });
    await bob.call('subscribe', { options: { streamId: id } });
    await waitFor(() => alice.events('socketgd_ack').some((a) => a.id === 0), { what: 'socketgd_ack 0' });
    // The same socketgd twice (a re-send after a reconnect): one message reaches bob.
    const again = { socketgd: 7, msg: { id, msg: 'once' } };
    alice.socket.emit('sendDataStream', again, () => undefined);
    alice.socket.emit('sendDataStream', again, () => undefined);
    await bob.waitFor('onDataStream', (p) => p.msg === 'once');
    await waitFor(() => alice.events('socketgd_ack').filter((a) => a.id === 7).length === 2, {
      what: 'both copies acknowledged',
    });
    await sleep(200);
    assert.equal(bob.events('onDataStream').filter((p) => p.msg === 'once').length, 1);
  });

  void it("roles: a viewer's publish is refused with Licode's error; viewerWithData publishes data only", async () => {
    const viewer = await join('vic', 'viewer');
    assert.deepEqual(
      await viewer.call('publish', { options: { state: 'erizo', audio: true, video: true, label: 'v' } }),
      [null, 'Unauthorized', 'Unauthorized', 'Unauthorized'],
    );
    assert.deepEqual(await viewer.call('publish', { options: { state: 'data', data: true, label: 'd' } }), [
      null,
      'Unauthorized',
      'Unauthorized',
      'Unauthorized',
    ]);
    assert.deepEqual(await viewer.call('startRecorder', { to: 1 }), [null, 'Unauthorized']);
    assert.deepEqual(await viewer.call('getStreamStats', 1), [null, 'Unauthorized']);
    const vwd = await join('wendy', 'viewerWithData');
    const [id] = await vwd.call('publish', { options: { state: 'data', data: true, label: 'd' } });
    assert.equal(typeof id, 'number');
    assert.deepEqual(await vwd.call('publish', { options: { state: 'erizo', video: true, label: 'w' } }), [
      null,
      'Unauthorized',
      'Unauthorized',
      'Unauthorized',
    ]);
    // The refusals cost nothing: the viewer still subscribes.
    assert.deepEqual(await viewer.call('subscribe', { options: { streamId: id, data: true } }), [true]);
  });

  void it('malformed events get an error ack and the socket keeps working', async () => {
    const c = await join('mallory');
    const bad: [string, unknown][] = [
      ['publish', {}],
      ['publish', { options: { state: 'nope' } }],
      ['publish', 'text'],
      ['subscribe', { options: { streamId: 'abc' } }],
      ['subscribe', null],
      ['unpublish', { id: 1 }],
      ['unsubscribe', -4],
      ['sendDataStream', { msg: 'no id' }],
      ['updateStreamAttributes', { id: 1, attrs: 'not an object' }],
      ['connectionMessage', {}],
      ['connectionMessage', { options: { connectionId: '1', msg: { type: 'bogus' } } }],
      ['connectionMessage', { options: { connectionId: '1', msg: { type: 'offer' } } }],
      ['streamMessage', { options: { streamId: 1 } }],
      [
        'streamMessage',
        { options: { streamId: 1, msg: { type: 'updatestream', config: { muteStream: 'yes' } } } },
      ],
    ];
    for (const [event, payload] of bad) {
      const ack = await c.call(event, payload);
      const reason = ack.find((a) => typeof a === 'string');
      assert.equal(ack[0], null, `${event}: ${JSON.stringify(ack)}`);
      assert.match(String(reason), new RegExp(`^invalid ${event}: `), `${event}: ${JSON.stringify(ack)}`);
    }
    assert.deepEqual(await c.call('subscribe', { options: { streamId: 12345 } }), [
      null,
      'stream 12345 does not exist',
      'stream 12345 does not exist',
      'stream 12345 does not exist',
    ]);
    assert.deepEqual(await c.call('startRecorder', { to: 1 }), [null, 'stream 1 does not exist']);
    assert.deepEqual(await c.call('getStreamStats', 1), [null, 'stream 1 has no media']);
    assert.deepEqual(await c.call('setStreamPriorityStrategy', 1), [
      null,
      'setStreamPriorityStrategy is not supported by Switchboard',
    ]);
    assert.deepEqual(
      await c.call('connectionMessage', {
        options: { connectionId: '99', msg: { type: 'answer', sdp: 'v=0' } },
      }),
      [null, 'connection 99 does not exist'],
    );
    assert.deepEqual(
      await c.call('streamMessage', { options: { streamId: 7, msg: { type: 'updatestream', config: {} } } }),
      [null, 'no connection carries stream 7'],
    );
    const [id] = await c.call('publish', { options: { state: 'data', data: true, label: 'still here' } });
    assert.equal(typeof id, 'number');
  });

  void it('[signal] allowedorigins applies to /socket.io/ as to /ws', async () => {
    const strict = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.signal.allowedorigins = ['https://ok.example'];
    });
    try {
      const r = await nuveRoom(strict.url, SUPER, 'origins');
      const t = () => nuveToken(strict.url, SUPER, r, 'o', 'presenter');
      await assert.rejects(LicodeTestClient.connect(await t(), {}, undefined, 'https://evil.example'));
      const ok = await LicodeTestClient.connect(await t(), {}, undefined, 'https://ok.example');
      assert.equal(ok.connected.id, r);
      ok.close();
    } finally {
      await strict.close();
    }
  });

  void it('500 random payloads on every event: each gets an error ack or a result, the socket lives', async () => {
    const c = await join('fuzzy');
    const events = [
      'publish',
      'subscribe',
      'unpublish',
      'unsubscribe',
      'sendDataStream',
      'updateStreamAttributes',
      'connectionMessage',
      'streamMessage',
      'startRecorder',
      'stopRecorder',
      'getStreamStats',
    ];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const value = (depth: number): unknown => {
      const pick = Math.floor(rnd() * 9);
      if (depth > 3 || pick < 3) {
        return [null, -1, 0, 1e21, 'x'.repeat(Math.floor(rnd() * 300)), true, '12345', 2 ** 53][
          Math.floor(rnd() * 8)
        ];
      }
      if (pick < 5) {
        return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      }
      const keys = [
        'options',
        'state',
        'streamId',
        'id',
        'msg',
        'attrs',
        'type',
        'sdp',
        'connectionId',
        'config',
        'to',
        'label',
      ];
      return Object.fromEntries(
        Array.from({ length: Math.floor(rnd() * 5) }, () => [
          keys[Math.floor(rnd() * keys.length)]!,
          value(depth + 1),
        ]),
      );
    };
    for (let i = 0; i < 500; i++) {
      const ack = await c.call(events[i % events.length]!, value(0));
      assert.ok(Array.isArray(ack), `ack ${i}`);
    }
    assert.ok(c.socket.connected);
    const [id] = await c.call('publish', { options: { state: 'data', data: true, label: 'after fuzz' } });
    assert.equal(typeof id, 'number');
  });

  void it('each peer connection of a Licode client counts against [signal.limits] peersperip', async () => {
    const limited = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.signal.limits.peersperip = 2;
    });
    try {
      const r = await nuveRoom(limited.url, SUPER, 'limits');
      const c = await LicodeTestClient.connect(await nuveToken(limited.url, SUPER, r, 'greedy', 'presenter'));
      const publish = (label: string) =>
        c.call('publish', { options: { state: 'erizo', audio: true, video: true, label } });
      const [a] = await publish('one');
      const [b] = await publish('two');
      assert.ok(typeof a === 'number' && typeof b === 'number');
      assert.deepEqual(await publish('three'), [
        null,
        'too many peers from your address (limit 2)',
        'too many peers from your address (limit 2)',
        'too many peers from your address (limit 2)',
      ]);
      assert.deepEqual(await c.call('unpublish', a), [true]);
      const [d] = await publish('four');
      assert.equal(typeof d, 'number');
      c.close();
    } finally {
      await limited.close();
    }
  });

  void it('streams of a signal instance that stopped beating (a crash) are dropped when read', async () => {
    const key = licodeKeys.streams(sb!.config.global.dc, room);
    const ghost = {
      stream: { id: 4242, audio: false, video: false, data: true, label: 'ghost' },
      owner: 'crashed-signal/x',
    };
    await sb!.store.hset(key, { '4242': JSON.stringify(ghost) });
    const c = await join('lou');
    assert.ok(!c.connected.streams.some((s: { id: number }) => s.id === 4242));
    assert.equal((await sb!.store.hgetall(key))['4242'], undefined);
  });

  void it("a client's streams leave the room with it (clientDisconnection or a dropped socket)", async () => {
    const hank = await join('hank');
    const ida = await join('ida');
    const [a] = await hank.call('publish', { options: { state: 'data', data: true, label: 'a' } });
    const [b] = await ida.call('publish', { options: { state: 'data', data: true, label: 'b' } });
    const watcher = await join('jack');
    hank.socket.emit('clientDisconnection', { socketgd: 99, msg: undefined });
    await watcher.waitFor('onRemoveStream', (p) => p.id === a);
    ida.close(); // no goodbye
    await watcher.waitFor('onRemoveStream', (p) => p.id === b);
    const late = await join('kim');
    const ids = late.connected.streams.map((s: { id: number }) => s.id);
    assert.ok(!ids.includes(a) && !ids.includes(b), JSON.stringify(ids));
    await waitFor(
      async () => {
        const users = (await apiCall(sb!.url, 'GET', `/rooms/${room}/users`, { creds: SUPER })).json as {
          name: string;
        }[];
        return !users.some((u) => u.name === 'hank' || u.name === 'ida');
      },
      { what: 'hank and ida to leave the room' },
    );
  });
});
