// Hostile input on ION's gRPC-web WebSockets: malformed metadata and frames, undecodable and oversized
// messages, unknown methods, random bytes. Each gets a gRPC status on its own stream, and a client
// joining afterwards (and one connected all along) is served as if nothing happened.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RoomReply } from '../../src/signal/ion/protos.ts';
import { openGrpcWeb } from '../helpers/grpcWeb.ts';
import { IonRoomClient } from '../helpers/ionRtcClient.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';

const MAX = 64 * 1024;

/** A gRPC frame in a gRPC-web WebSocket message: `0x00`, flags, length, body. */
function frame(body: Buffer, flags = 0, length = body.length): Buffer {
  const head = Buffer.alloc(6);
  head[1] = flags;
  head.writeUInt32BE(length, 2);
  return Buffer.concat([head, body]);
}

void describe('ION gRPC-web: bad input', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let member: IonRoomClient | undefined;

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.signal.maxmessagesize = MAX;
    });
    member = await IonRoomClient.open(sb.url);
    assert.equal((await member.join('bad-input', 'steady')).success, true);
  });

  after(async () => {
    member?.close();
    await sb?.close();
  });

  const statusOf = async (
    path: string,
    ...messages: Buffer[]
  ): Promise<{ code: number; message: string }> => {
    const call = await openGrpcWeb(sb!.url, path);
    for (const m of messages) {
      call.sendRaw(m);
    }
    const s = await call.status;
    call.close();
    return s;
  };

  void it('an unknown service or method gets UNIMPLEMENTED', async () => {
    assert.equal((await statusOf('/rtc.RTC/Nope')).code, 12);
    assert.equal((await statusOf('/nope.Service/Signal')).code, 12);
    assert.equal((await statusOf('/not a path')).code, 12);
  });

  void it('an undecodable message gets INVALID_ARGUMENT', async () => {
    const s = await statusOf('/room.RoomSignal/Signal', frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])));
    assert.equal(s.code, 3, s.message);
  });

  void it('a frame without the 0x00 prefix, a text frame and data after finish-send get INVALID_ARGUMENT', async () => {
    assert.equal((await statusOf('/rtc.RTC/Signal', Buffer.from([0x07, 1, 2, 3]))).code, 3);
    assert.equal((await statusOf('/rtc.RTC/Signal', Buffer.from([0x01]), frame(Buffer.alloc(0)))).code, 3);
    const call = await openGrpcWeb(sb!.url, '/rtc.RTC/Signal');
    // ws sends a string as a text frame
    (call as unknown as { sendRaw(b: unknown): void }).sendRaw('text');
    assert.equal((await call.status).code, 3);
    call.close();
  });

  void it('a compressed message gets UNIMPLEMENTED, an oversized one RESOURCE_EXHAUSTED', async () => {
    assert.equal((await statusOf('/rtc.RTC/Signal', frame(Buffer.from([1, 2]), 1))).code, 12);
    const s = await statusOf('/rtc.RTC/Signal', frame(Buffer.alloc(16), 0, MAX + 1));
    assert.equal(s.code, 8, s.message);
  });

  void it('a WebSocket message larger than maxmessagesize closes that socket only', async () => {
    const call = await openGrpcWeb(sb!.url, '/rtc.RTC/Signal');
    call.sendRaw(frame(randomBytes(MAX + 1024)));
    const s = await call.status;
    assert.notEqual(s.code, 0);
  });

  void it('malformed metadata gets INVALID_ARGUMENT', async () => {
    const url = sb!.url.replace(/^http/, 'ws') + '/rtc.RTC/Signal';
    const ws = new WebSocket(url, 'grpc-websockets');
    await new Promise((resolve) => ws.once('open', resolve));
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(d));
    ws.send(Buffer.from('no colon here\r\n'));
    await new Promise((resolve) => ws.once('close', resolve));
    assert.match(Buffer.concat(got).toString('latin1'), /grpc-status: 3/);
  });

  void it('500 streams of random frames: every one ends with a status or stays open, none crashes anything', async () => {
    for (let i = 0; i < 500; i++) {
      const path = i % 2 === 0 ? '/rtc.RTC/Signal' : '/room.RoomSignal/Signal';
      const call = await openGrpcWeb(sb!.url, path);
      const n = 1 + (i % 4);
      for (let j = 0; j < n; j++) {
        const body = randomBytes(Math.floor(Math.random() * 64));
        call.sendRaw(Math.random() < 0.7 ? frame(body) : randomBytes(1 + Math.floor(Math.random() * 32)));
      }
      call.close();
    }
    const res = await fetch(`${sb!.url}/healthz`);
    assert.equal(res.status, 200);
  });

  void it('afterwards a new client joins, and the member connected all along still gets peer events', async () => {
    const late = await IonRoomClient.open(sb!.url);
    const r = await late.join('bad-input', 'late');
    assert.equal(r.success, true);
    await member!.call.waitFor<Extract<RoomReply, { peer: unknown }>>(
      (m) => 'peer' in m && m.peer.peer.uid === 'late' && m.peer.state === 'JOIN',
    );
    late.close();
  });
});
