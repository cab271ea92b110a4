// werift workarounds 9 and 10 (src/media/werift.ts): DTLS records that arrive before werift's DTLS
// endpoint exists are delivered to it once it does, ICE reports connected as soon as a pair is
// nominated, and a candidate pair's transaction-id memory is bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CandidatePair, Event, type Connection, type RTCDtlsTransport } from 'werift';
import { connectOnNomination, keepEarlyDtls, MAX_TRANSACTION_IDS } from '../../../src/media/werift.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function fakes() {
  const conn = { onData: new Event<[Buffer]>() };
  const dtls = { state: 'new', onStateChange: new Event<[string]>() };
  keepEarlyDtls(conn as unknown as Connection, dtls as unknown as RTCDtlsTransport);
  /** What werift's `start()` does: the state change, then (synchronously) its endpoint subscribes. */
  const start = (): Buffer[] => {
    const got: Buffer[] = [];
    dtls.state = 'connecting';
    dtls.onStateChange.execute('connecting');
    conn.onData.subscribe((b) => void got.push(b));
    return got;
  };
  return { conn, start };
}

await test('DTLS records that arrive before the DTLS transport starts reach its endpoint once, in order', async () => {
  const { conn, start } = fakes();
  const hello1 = Buffer.from([22, 0xfe, 0xfd, 1]); // DTLS handshake records (first byte 20–63)
  const hello2 = Buffer.from([22, 0xfe, 0xfd, 2]);
  conn.onData.execute(hello1);
  conn.onData.execute(Buffer.from([0x80, 96, 0, 1])); // RTP: not kept
  conn.onData.execute(Buffer.from([0, 1, 0, 0])); // STUN: not kept
  conn.onData.execute(hello2);
  const got = start();
  assert.equal(got.length, 0, 'delivered after start() returns, not inside the state change');
  await tick();
  assert.deepEqual(got, [hello1, hello2]);
  const later = Buffer.from([23, 0xfe, 0xfd, 3]);
  conn.onData.execute(later);
  await tick();
  assert.deepEqual(got, [hello1, hello2, later], 'later records pass once, nothing is replayed twice');
});

await test('at most 8 early records are kept, and none once the transport has started', async () => {
  const { conn, start } = fakes();
  for (let i = 0; i < 20; i++) {
    conn.onData.execute(Buffer.from([22, i]));
  }
  const got = start();
  await tick();
  assert.deepEqual(
    got.map((b) => b[1]),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
});

await test('ICE stops scheduling checks once a pair is nominated (trickled pairs no longer hold it back)', () => {
  let calls = 0;
  const conn = {
    nominated: undefined as unknown,
    checkListDone: false,
    schedulingChecks: () => (calls++, true), // a new trickled pair is always waiting
  };
  connectOnNomination(conn as unknown as Connection);
  assert.equal(conn.schedulingChecks(), true);
  conn.nominated = {};
  conn.checkListDone = true;
  assert.equal(conn.schedulingChecks(), false);
  assert.equal(calls, 1, "werift's own scheduling is not asked once ICE is done");
});

await test('a candidate pair remembers only its recent request transaction ids (werift kept every one)', () => {
  const pair = new CandidatePair(
    { localCandidate: { component: 1, foundation: 'f' } } as never,
    { component: 1 } as never,
    true,
  );
  for (let i = 0; i < 10_000; i++) {
    assert.equal(pair.noteIncomingRequest(`id-${i}`), false);
  }
  assert.equal(
    (pair as unknown as { requestTransactionIds: Set<string> }).requestTransactionIds.size,
    MAX_TRANSACTION_IDS,
  );
  assert.equal(pair.noteIncomingRequest('id-9999'), true, 'a recent retransmission is still recognised');
  assert.equal(pair.noteIncomingRequest('id-0'), false, 'an old id is forgotten');
});
