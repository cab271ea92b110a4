// The batched egress (native sendmmsg) with real UDP sockets on loopback: every datagram arrives
// intact and in order per destination, a socket closed before the flush loses only its own
// datagrams, and what the native call leaves unsent goes out the ordinary way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { addon } from '../../../src/media/srtp/native.ts';
import { UdpBatch, udpBatch } from '../../../src/media/UdpBatch.ts';

const native = addon?.sendBatch;
const skip = native === undefined ? 'native accelerator not built (SB_NATIVE=0)' : false;

async function bound(type: 'udp4' | 'udp6' = 'udp4', host = '127.0.0.1'): Promise<Socket> {
  const s = createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, host, resolve));
  return s;
}

/** Collects datagrams on `s` until `n` arrived (or 2 s passed). */
function collect(s: Socket, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(got), 2000);
    s.on('message', (m) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** A slot-like buffer holding `text` at offset 16 (the headroom the egress leaves). */
function packet(text: string): { buf: Buffer; len: number } {
  const buf = Buffer.alloc(2048, 0xee);
  const len = buf.write(text, 16);
  return { buf, len };
}

await test('udpBatch exists exactly when the native accelerator is built', () => {
  assert.equal(udpBatch !== undefined, native !== undefined && process.env.SB_SENDMMSG !== '0');
});

await test('a batch over two sockets and three receivers arrives whole and in order', { skip }, async () => {
  const [a, b, r1, r2, r3] = await Promise.all([bound(), bound(), bound(), bound(), bound()]);
  const to = (s: Socket) => ({ host: '127.0.0.1', port: s.address().port });
  const batch = new UdpBatch(native!);
  const n = 300; // more than one batch: it flushes on the way
  const want = new Map<Socket, string[]>([
    [r1, []],
    [r2, []],
    [r3, []],
  ]);
  const rx = [r1, r2, r3].map((r) => collect(r, n / 3));
  const dests = [to(r1), to(r2), to(r3)];
  const remotes = [r1, r2, r3];
  for (let i = 0; i < n; i++) {
    const text = `pkt-${i}`;
    const { buf, len } = packet(text);
    batch.queue(i % 2 === 0 ? a : b, buf, 16, len, dests[i % 3]!);
    want.get(remotes[i % 3]!)!.push(text);
  }
  batch.flush();
  const got = await Promise.all(rx);
  for (let k = 0; k < 3; k++) {
    assert.deepEqual(
      got[k]!.map((m) => m.toString()),
      want.get(remotes[k]!),
    );
  }
  for (const s of [a, b, r1, r2, r3]) {
    s.close();
  }
});

await test('a microtask flushes what nobody flushed', { skip }, async () => {
  const [a, r] = await Promise.all([bound(), bound()]);
  const batch = new UdpBatch(native!);
  const rx = collect(r, 1);
  const { buf, len } = packet('late');
  batch.queue(a, buf, 16, len, { host: '127.0.0.1', port: r.address().port });
  assert.deepEqual(
    (await rx).map((m) => m.toString()),
    ['late'],
  );
  a.close();
  r.close();
});

await test('a socket closed before the flush drops its datagrams only', { skip }, async () => {
  const [a, b, r] = await Promise.all([bound(), bound(), bound()]);
  const batch = new UdpBatch(native!);
  const dest = { host: '127.0.0.1', port: r.address().port };
  const rx = collect(r, 2);
  for (const [s, text] of [
    [a, 'a1'],
    [b, 'b1'],
    [a, 'a2'],
  ] as const) {
    const { buf, len } = packet(text);
    batch.queue(s, buf, 16, len, dest);
  }
  b.close();
  batch.flush();
  assert.deepEqual((await rx).map((m) => m.toString()).sort(), ['a1', 'a2']);
  a.close();
  r.close();
});

await test('datagrams the native call leaves unsent (EAGAIN) go out through dgram', { skip }, async () => {
  const [a, r] = await Promise.all([bound(), bound()]);
  // The kernel's answer to a full socket buffer, reproduced: native sends the first 3 only.
  const batch = new UdpBatch((fds, bufs, offs, lens, addrs, n) =>
    native!(fds, bufs, offs, lens, addrs, Math.min(n, 3)),
  );
  const rx = collect(r, 10);
  const sent: string[] = [];
  for (let i = 0; i < 10; i++) {
    const { buf, len } = packet(`p${i}`);
    batch.queue(a, buf, 16, len, { host: '127.0.0.1', port: r.address().port });
    sent.push(`p${i}`);
  }
  batch.flush();
  assert.deepEqual(
    (await rx).map((m) => m.toString()),
    sent,
  );
  a.close();
  r.close();
});

await test('IPv6 destinations are sent the ordinary way', { skip }, async (t) => {
  let a: Socket;
  let r: Socket;
  try {
    [a, r] = await Promise.all([bound('udp6', '::1'), bound('udp6', '::1')]);
  } catch {
    t.skip('no IPv6 loopback here');
    return;
  }
  const batch = new UdpBatch(native!);
  const rx = collect(r, 1);
  const { buf, len } = packet('six');
  batch.queue(a, buf, 16, len, { host: '::1', port: r.address().port });
  batch.flush();
  assert.deepEqual(
    (await rx).map((m) => m.toString()),
    ['six'],
  );
  a.close();
  r.close();
});
