// [signal.limits]: dead sockets are found by ping and leave their room; one address gets a bounded
// number of sockets, peers and joins; a socket that never joins or keeps failing is closed; deep
// free-form params are refused at the edge.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../helpers/rawSocket.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc') as { RTCPeerConnection: typeof RTCPeerConnection };

interface Reply {
  id?: unknown;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string };
}

/** A real (libwebrtc) offer with one data channel; its PC is closed, so ICE never completes. */
async function dataOffer(): Promise<string> {
  const pc = new wrtc.RTCPeerConnection();
  pc.createDataChannel('x');
  const offer = await pc.createOffer();
  pc.close();
  return offer.sdp!;
}

let nextId = 1;
/** One call; notifications that arrive before the reply are skipped. */
async function call(s: RawSocket, method: string, params: unknown): Promise<Reply> {
  const id = nextId++;
  s.send(JSON.stringify({ id, method, params }));
  for (let i = 0; i < 100; i++) {
    const msg = await s.next<Reply>(10_000);
    if (msg.id === id) {
      return msg;
    }
  }
  throw new Error(`no reply to ${method}`);
}

void describe('client limits and keepalive', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const sockets: RawSocket[] = [];
  let sdp = '';
  const open = async (o: { autoPong?: boolean } = {}): Promise<RawSocket> => {
    const s = await RawSocket.connect(wsUrlOf(sb!.url), o);
    sockets.push(s);
    return s;
  };
  const join = (s: RawSocket, sid: string, uid: string, offer = sdp) =>
    call(s, 'join', { sid, uid, offer: { type: 'offer', sdp: offer } });

  before(async () => {
    sdp = await dataOffer();
    sb = await startSwitchboard((c) => {
      c.signal.limits.pinginterval = 0.5;
      c.signal.limits.socketsperip = 6;
      c.signal.limits.peersperip = 3;
      c.signal.limits.joinrate = 0;
      // Only the ping may find the dead socket here, not ICE's own timeouts.
      c.webrtc.timeouts.disconnected = 300;
      c.webrtc.timeouts.failed = 300;
    });
  });

  after(async () => {
    for (const s of sockets) {
      await s.close();
    }
    await sb?.close();
  });

  void it('a client that stops answering pings (no FIN) is closed and leaves its room', async () => {
    const ghost = await open({ autoPong: false });
    const watcher = await open();
    assert.ok((await join(ghost, 'ghosts', 'ghost')).result, 'ghost joined');
    assert.ok((await join(watcher, 'ghosts', 'watcher')).result, 'watcher joined');
    const peers = async () =>
      ((await call(watcher, 'room.peers', {})).result as { uid: string }[]).map((p) => p.uid).sort();
    assert.deepEqual(await peers(), ['ghost', 'watcher']);
    // The ghost never answers a ping and sends nothing: the server closes it without a close frame.
    assert.equal((await ghost.closed).code, 1006);
    await waitFor(async () => (await peers()).join() === 'watcher', { what: 'the ghost to leave the room' });
    await watcher.close();
  });

  void it('sockets and peers per address are bounded; a freed slot can be used again', async () => {
    const joined = [await open(), await open(), await open()];
    for (const [i, s] of joined.entries()) {
      assert.ok((await join(s, 'crowd', `p${i}`)).result, `p${i} joined`);
    }
    const fourth = await open();
    const refused = await join(fourth, 'crowd', 'p3');
    assert.equal(refused.error?.code, 429);
    assert.match(refused.error?.message ?? '', /too many peers from your address \(limit 3\)/);
    // Sockets: 4 open here, the limit is 6.
    await open();
    await open();
    const over = await open();
    assert.deepEqual(await over.closed, {
      code: 1008,
      reason: 'too many connections from your address (limit 6)',
    });
    await joined[0]!.close();
    await waitFor(async () => (await join(fourth, 'crowd', 'p3')).result !== undefined, {
      what: "the fourth join to get the first peer's slot",
    });
  });

  void it('free-form params nested past the limits are refused as invalid params, not a stack overflow', async () => {
    const s = await open();
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const text = `{"id":1,"method":"room.updatePeer","params":{"info":${deep}}}`;
    const r = await s.request<Reply>(text);
    assert.equal(r.error?.code, -32602);
    assert.match(r.error?.message ?? '', /nested deeper than 32 levels/);
    let info: unknown = 'x';
    for (let i = 0; i < 20; i++) {
      info = [info];
    }
    const r2 = await call(s, 'room.message', { to: 'all', data: info });
    assert.equal(r2.error?.code, -32602);
    assert.match(r2.error?.message ?? '', /data: nested deeper than 16 levels/);
  });
});

void describe('join rate, join timeout and failed joins', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const sockets: RawSocket[] = [];
  const open = async (): Promise<RawSocket> => {
    const s = await RawSocket.connect(wsUrlOf(sb!.url));
    sockets.push(s);
    return s;
  };
  /** A join that gets as far as the media node, which refuses its SDP. */
  const badJoin = (s: RawSocket, uid: string) =>
    call(s, 'join', { sid: 'rate', uid, offer: { type: 'offer', sdp: 'v=0\r\n' } });

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.signal.limits.joinrate = 0.2;
      c.signal.limits.joinburst = 3;
      c.signal.limits.joinretries = 2;
      c.signal.limits.jointimeout = 1;
    });
  });

  after(async () => {
    for (const s of sockets) {
      await s.close();
    }
    await sb?.close();
  });

  void it('joins past the burst are refused with a retry time; two failed joins close the socket', async () => {
    const a = await open();
    const first = await badJoin(a, 'a');
    assert.notEqual(first.error?.code, 429, JSON.stringify(first));
    await badJoin(a, 'a');
    assert.equal((await a.closed).code, 4005);
    const b = await open();
    await badJoin(b, 'b');
    const limited = await badJoin(b, 'b');
    assert.equal(limited.error?.code, 429);
    assert.match(
      limited.error?.message ?? '',
      /too many joins from your address \(0.2\/s\); try again in \d+ s/,
    );
  });

  void it('a socket that never joins is closed after jointimeout', async () => {
    const idle = await open();
    assert.deepEqual(await idle.closed, { code: 4004, reason: 'no join within 1 s' });
  });
});
