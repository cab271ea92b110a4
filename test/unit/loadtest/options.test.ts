// `switchboard loadtest`'s pure helpers: bitrates, the target URL, a token's room, the report lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { signToken } from '../../../src/protocol/tokens.ts';
import { parseBitrate, parseSeconds } from '../../../src/loadtest/options.ts';
import { targetOf } from '../../../src/loadtest/preflight.ts';
import { tokenRoom, type LoadTestResult } from '../../../src/loadtest/LoadTest.ts';
import { progressLine, summaryTable } from '../../../src/loadtest/report.ts';
import { LoadTestError } from '../../../src/loadtest/LoadTestError.ts';

void describe('loadtest options', () => {
  void it('parseBitrate takes bit/s, k and M, and refuses what is out of range', () => {
    assert.equal(parseBitrate('800000'), 800_000);
    assert.equal(parseBitrate('500k'), 500_000);
    assert.equal(parseBitrate('1.5M'), 1_500_000);
    assert.equal(parseBitrate('300kbps'), 300_000);
    for (const bad of ['fast', '5k', '100M', '-1k', '']) {
      assert.throws(() => parseBitrate(bad), InvalidArgumentError, bad);
    }
  });

  void it('parseSeconds takes 30, 30s, 5m and refuses more than an hour', () => {
    assert.equal(parseSeconds('30'), 30);
    assert.equal(parseSeconds('5m'), 300);
    assert.throws(() => parseSeconds('2h'), InvalidArgumentError);
    assert.throws(() => parseSeconds('soon'), InvalidArgumentError);
  });

  void it('targetOf gives the HTTP base and the /ws URL for http(s) and ws(s) URLs', () => {
    assert.deepEqual(targetOf('http://localhost:7000'), {
      base: 'http://localhost:7000',
      wsUrl: 'ws://localhost:7000/ws',
    });
    assert.deepEqual(targetOf('wss://sfu.example.com/ws?x=1'), {
      base: 'https://sfu.example.com',
      wsUrl: 'wss://sfu.example.com/ws',
    });
    assert.equal(targetOf('https://example.com/sb/').wsUrl, 'wss://example.com/sb/ws');
    assert.throws(() => targetOf('localhost:7000'), LoadTestError);
    assert.throws(() => targetOf('not a url'), LoadTestError);
  });

  void it("tokenRoom reads a JWT's room claim without verifying it", async () => {
    const jwt = await signToken({ secret: 's'.repeat(32), identity: 'a', room: 'standup', ttlSeconds: 60 });
    assert.equal(tokenRoom(jwt), 'standup');
    assert.equal(tokenRoom('not-a-jwt'), undefined);
    const api = await signToken({ secret: 's'.repeat(32), identity: 'a', ttlSeconds: 60 });
    assert.equal(tokenRoom(api), undefined);
  });
});

void describe('loadtest report', () => {
  const result: LoadTestResult = {
    phase: 'done',
    elapsedS: 12,
    measuredS: 10,
    peers: 8,
    connected: 8,
    failed: 0,
    packetsSent: 1836,
    packetsReceived: 12058,
    loss: 0.0012,
    joinMs: { p50: 310, p95: 690.2, max: 690.2 },
    url: 'ws://127.0.0.1:7000/ws',
    rooms: 1,
    publishers: 2,
    subscribers: 6,
    videoBitrate: 300_000,
    simulcast: false,
    durationS: 10,
    bytesReceived: 6_358_750,
    subscribersReceiving: 6,
    streamsExpected: 28,
    streamsActive: 28,
    firstPacketMs: { p50: 301.8, p95: 313.6, max: 313.6 },
    latencyMs: { p50: 1, p95: 4 },
    errors: [],
    ok: true,
    interrupted: false,
  };

  void it('the progress line has peers, packets, loss and join percentiles', () => {
    assert.equal(
      progressLine(result, 10),
      '[ 10/10s]  peers 8/8  out 1,836  in 12,058  loss 0.12 %  join p50 310 ms p95 690 ms',
    );
    assert.match(
      progressLine({ ...result, phase: 'joining', connected: 3, loss: null }, 10),
      /^\[12s joining\] {2}peers 3\/8 .* loss - /,
    );
  });

  void it('the summary has one labelled line per figure and the verdict', () => {
    const lines = summaryTable({ ...result, ok: false, errors: ['sub3 PC failed'] }).split('\n');
    assert.ok(lines.includes('Rooms                   1 × (2 publishers + 6 subscribers)'), lines.join('\n'));
    assert.ok(lines.includes('Media                   300 kbit/s VP8 + Opus'), lines.join('\n'));
    assert.ok(lines.includes('Result                  FAILED'), lines.join('\n'));
    assert.equal(lines.at(-1), 'Error                   sub3 PC failed');
  });
});
