// `switchboard loadtest` as a child process against a server of the test's own: a short run whose
// --json reports every peer connected and packets received, and one-line failures (exit 1) for a URL
// with no server, a URL that is not a Switchboard and a token the server refuses. The traffic stays in
// test/run.js's network namespace (WebRTC stacks skip loopback).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signToken } from '../../src/protocol/tokens.ts';
import type { LoadTestResult } from '../../src/loadtest/LoadTest.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';

const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const SECRET = 'loadtest-test-secret-0123456789';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `switchboard loadtest …` to its end (no SWITCHBOARD_* from the environment; `extraEnv` added). */
function loadtest(...args: string[]): Promise<Run> {
  return loadtestWith({}, ...args);
}

function loadtestWith(extraEnv: Record<string, string>, ...args: string[]): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, ...extraEnv };
  for (const k of Object.keys(env)) {
    if (k.startsWith('SWITCHBOARD_') || (k === 'NODE_EXTRA_CA_CERTS' && extraEnv[k] === undefined)) {
      delete env[k];
    }
  }
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'loadtest', ...args],
      { env, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      },
    );
  });
}

/** The failure is exactly one line on stderr, with no stack trace, and came within 30 s (the CLI alone takes 3–8 s to start on a busy 2-core machine). */
function oneLine(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code ${r.code}\n${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.equal(r.stdout, '');
  assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
}

void describe('switchboard loadtest', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;

  before(async () => {
    // Anonymous joins stay allowed; a token given is still checked against [auth] secret.
    sb = await startSwitchboard((c) => {
      c.auth.secret = SECRET;
    });
  });

  after(async () => {
    await sb?.close();
  });

  void it('2 publishers and 6 subscribers for 10 s: all 8 connect, every subscriber receives, exit 0', async () => {
    const r = await loadtest(
      '--url',
      sb!.url,
      '--publishers',
      '2',
      '--subscribers',
      '6',
      '--duration',
      '10s',
      '--video-bitrate',
      '300k',
      '--secret',
      SECRET,
      '--json',
    );
    assert.equal(r.code, 0, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(r.stdout) as LoadTestResult;
    process.stderr.write(`# loadtest result: ${r.stdout}`);
    assert.equal(result.peers, 8);
    assert.equal(result.connected, 8, r.stdout);
    assert.equal(result.failed, 0, r.stdout);
    assert.equal(result.subscribersReceiving, 6, r.stdout);
    // Each subscriber: audio + video of 2 publishers; each publisher: the other's two.
    assert.equal(result.streamsExpected, 6 * 4 + 2 * 2);
    assert.equal(result.streamsActive, result.streamsExpected, r.stdout);
    assert.ok(result.packetsSent > 1000, r.stdout);
    assert.ok(result.packetsReceived > 5000, r.stdout);
    assert.ok(result.loss !== null && result.loss < 0.05, r.stdout);
    assert.ok(result.joinMs.p50 !== null && result.joinMs.p50 > 0, r.stdout);
    assert.ok(result.durationS >= 9.5 && result.durationS < 12, r.stdout);
    assert.equal(result.ok, true);
    // The progress line came on stderr, once a second.
    assert.match(r.stderr, /peers 8\/8 +out [\d,]+ +in [\d,]+ +loss [\d.]+ % +join p50 \d+ ms/);
    await waitForEmptyRooms();
  });

  void it('a URL with nothing listening exits 1 with one line', async () => {
    const port = await freePort();
    oneLine(
      await loadtest('--url', `http://127.0.0.1:${port}`),
      /cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused$/,
    );
  });

  void it('a URL that is not a Switchboard exits 1 with one line', async () => {
    const other = createServer((_req, res) => res.writeHead(404).end('no'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      oneLine(await loadtest('--url', url), /is not a Switchboard \(GET \/healthz answered 404/);
    } finally {
      await close(other);
    }
  });

  void it('a server whose /ws is no WebSocket (a proxy passing /healthz only) exits 1 with one line', async () => {
    const proxy = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"roles":{"signal":true}}');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      oneLine(await loadtest('--url', url), /\/ws answered 404 instead of a WebSocket/);
    } finally {
      await close(proxy);
    }
  });

  void it('a token the server refuses exits 1 with one line naming the refusal', async () => {
    const token = await signToken({
      secret: 'not-the-server-secret-0000',
      identity: 'mallory',
      room: 'loadtest-refused',
      ttlSeconds: 600,
    });
    oneLine(
      await loadtest('--url', sb!.url, '--token', token, '--subscribers', '0', '--duration', '5s'),
      /the server refused to join: 401 invalid token signature/,
    );
  });

  void it('an https:// server with a self-signed certificate: one line naming NODE_EXTRA_CA_CERTS, then a run that trusts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-loadtest-tls-'));
    const tls = await startSwitchboard((c) => {
      c.signal.tlsselfsigned = true;
      c.api.datadir = dir;
    });
    try {
      assert.match(tls.url, /^https:/);
      oneLine(
        await loadtest('--url', tls.url),
        /cannot reach https:\/\/127\.0\.0\.1:\d+: self-signed certificate: trust it with NODE_EXTRA_CA_CERTS=/,
      );
      const r = await loadtestWith(
        { NODE_EXTRA_CA_CERTS: join(dir, 'tls', 'cert.pem') },
        ...['--url', tls.url, '--publishers', '1', '--subscribers', '1', '--duration', '3s', '--json'],
      );
      assert.equal(r.code, 0, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
      const result = JSON.parse(r.stdout) as LoadTestResult;
      assert.equal(result.connected, 2, r.stdout);
      assert.equal(result.streamsActive, 2, r.stdout);
    } finally {
      await tls.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function waitForEmptyRooms(): Promise<void> {
    // The child's peers are gone with it; the server notices their sockets closing.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const text = await (await fetch(`${sb!.url}/metrics`)).text();
      if (/^sfu_peers 0$/m.test(text)) {
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail('the server still has peers 15 s after the loadtest exited');
  }
});

function freePort(): Promise<number> {
  const s = createServer();
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    }),
  );
}

function close(s: Server): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}
