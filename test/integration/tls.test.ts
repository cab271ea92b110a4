// HTTPS built in: with [signal] cert and key (here the certificate --tls-self-signed makes) everything on
// the one port is HTTPS and WSS, plain HTTP there gets a redirect to https; the self-signed certificate is kept in
// <datadir>/tls and reused; bad certificate settings are configuration errors naming the key and file.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { decodeLicodeToken } from '../../src/protocol/tokens.ts';
import { localNames, selfSignedCert, type SelfSignedCert } from '../../src/server/selfSignedCert.ts';
import { mauthHeader } from '../helpers/nuve.ts';
import { joinFrame, RawSocket } from '../helpers/rawSocket.ts';
import { audioOffer } from '../helpers/sdpFixtures.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/**
 * A request over https, trusting `ca` (a PEM certificate) when given, with a JSON `body` if any;
 * rejects on any TLS or socket error.
 */
function httpsCall(
  method: string,
  url: string,
  o: { ca?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: string }> {
  const json = o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers = { ...o.headers, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ...(o.ca !== undefined ? { ca: o.ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(json);
  });
}

const httpsGet = (url: string, ca?: string) => httpsCall('GET', url, ca !== undefined ? { ca } : {});

/** This file's temporary folder; each suite works in a subfolder of it. */
let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'switchboard-tls-'));
});
after(() => rm(root, { recursive: true, force: true }));

void describe('HTTPS and WSS on the signal port', { timeout: 60_000 }, () => {
  let pair: SelfSignedCert;
  let sb: RunningSwitchboard | undefined;

  before(async () => {
    pair = await selfSignedCert(join(root, 'served'));
    sb = await startSwitchboard((c) => {
      c.signal.cert = pair.certPath;
      c.signal.key = pair.keyPath;
    });
  });

  after(async () => {
    await sb?.close();
  });

  void it('/healthz, the demo page and /api answer over https, and the server names its URL https://', async () => {
    assert.match(sb!.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(sb!.tls?.fingerprint256, new X509Certificate(pair.cert).fingerprint256);
    const health = await httpsGet(`${sb!.url}/healthz`, pair.cert);
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { ok: boolean }).ok, true);
    const page = await httpsGet(`${sb!.url}/`, pair.cert);
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/app.js">/);
    assert.equal((await httpsGet(`${sb!.url}/api/openapi.json`, pair.cert)).status, 200);
  });

  void it('a client that does not trust the certificate is refused by its own TLS check', async () => {
    await assert.rejects(httpsGet(`${sb!.url}/healthz`), (err: NodeJS.ErrnoException) => {
      assert.match(err.code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY/);
      return true;
    });
  });

  void it('plain http on the same port is redirected to the same URL over https, and only that', async () => {
    const res = await fetch(`http://127.0.0.1:${sb!.port}/?room=lan%20call&name=x`, { redirect: 'manual' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), `https://127.0.0.1:${sb!.port}/?room=lan%20call&name=x`);
    assert.match(await res.text(), /https only/);
    // The Host a browser sends (a LAN name) is kept; a POST is redirected too, never served over http.
    const post = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      // node:http, as fetch will not send a Host header of its own choosing.
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: sb!.port,
          method: 'POST',
          path: '/api/rooms',
          headers: { Host: 'meet.lan:7443' },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    assert.deepEqual(post, { status: 308, location: 'https://meet.lan:7443/api/rooms' });
    // HTTP/1.0 without a Host: the address the server listens on.
    const { connect } = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      let text = '';
      const c = connect(sb!.port, '127.0.0.1', () => c.write('GET /x HTTP/1.0\r\n\r\n'));
      c.setEncoding('utf8');
      c.on('data', (d: string) => (text += d));
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    assert.match(
      raw,
      new RegExp(`^HTTP/1\\.\\d 308[^]*\r\nlocation: https://127\\.0\\.0\\.1:${sb!.port}/x\r\n`, 'i'),
    );
    // https on the same port still works after plain connections came and went.
    assert.equal((await httpsGet(`${sb!.url}/healthz`, pair.cert)).status, 200);
  });

  void it('a connection that sends a byte that is neither TLS nor HTTP costs nothing and takes nothing down', async () => {
    const { connect } = await import('node:net');
    await new Promise<void>((resolve) => {
      const c = connect(sb!.port, '127.0.0.1', () => c.end(Buffer.from([0x00, 0xff, 0x16, 0x03])));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.resume();
    });
    assert.equal((await httpsGet(`${sb!.url}/healthz`, pair.cert)).status, 200);
  });

  void it('a Licode token created over https says secure, with the host and port the request used', async () => {
    const creds = { service: sb!.secrets.superserviceId, key: sb!.secrets.superserviceKey };
    const room = await httpsCall('POST', `${sb!.url}/api/rooms`, {
      ca: pair.cert,
      headers: { authorization: mauthHeader(creds) },
      body: { name: 'tls-licode' },
    });
    assert.equal(room.status, 200, room.body);
    const id = (JSON.parse(room.body) as { _id: string })._id;
    const token = await httpsCall('POST', `${sb!.url}/api/rooms/${id}/tokens`, {
      ca: pair.cert,
      headers: { authorization: mauthHeader(creds, { name: 'ann', role: 'presenter' }) },
    });
    assert.equal(token.status, 200, token.body);
    const decoded = decodeLicodeToken(token.body);
    assert.equal(decoded?.secure, true);
    assert.equal(decoded?.host, `127.0.0.1:${sb!.port}`);
  });

  void it('/ws works as wss://: an anonymous join gets an answer', async () => {
    const url = wsUrlOf(sb!.url);
    assert.match(url, /^wss:\/\//);
    const ws = await RawSocket.connect(url, { ca: pair.cert });
    try {
      ws.send(joinFrame(1, 'tls-room', audioOffer(1)));
      const { reply } = await ws.replyTo(1);
      assert.ok(reply.result, `join failed: ${reply.error?.message}`);
      assert.match((reply.result as { sdp: string }).sdp, /^a=setup:passive\r?$/m);
    } finally {
      await ws.close();
    }
  });
});

void describe('the self-signed certificate of --tls-self-signed', { timeout: 120_000 }, () => {
  let dir = '';
  before(() => {
    dir = join(root, 'selfsigned');
  });

  void it("names localhost, 127.0.0.1, the host name and this machine's IPv4 addresses; the key is mode 0600", async () => {
    const made = await selfSignedCert(dir);
    assert.equal(made.created, true);
    assert.equal(made.certPath, join(dir, 'tls', 'cert.pem'));
    const x509 = new X509Certificate(made.cert);
    for (const name of ['localhost', hostname().toLowerCase()]) {
      assert.equal(x509.checkHost(name, { subject: 'never' }), name);
    }
    for (const ip of localNames().ips) {
      assert.equal(x509.checkIP(ip), ip);
    }
    assert.ok(localNames().ips.includes('127.0.0.1'));
    assert.equal((await stat(made.keyPath)).mode & 0o777, 0o600);
    assert.ok(Date.parse(x509.validTo) - Date.now() > 300 * 24 * 3600 * 1000, 'valid about a year');
  });

  void it('is reused while valid and naming this machine, and made anew for a new address', async () => {
    const first = await selfSignedCert(dir);
    const again = await selfSignedCert(dir);
    assert.equal(again.created, false);
    assert.equal(again.cert, first.cert);
    const names = localNames();
    const moved = await selfSignedCert(dir, { dns: names.dns, ips: [...names.ips, '192.0.2.77'] });
    assert.equal(moved.created, true);
    assert.notEqual(moved.cert, first.cert);
    assert.equal(new X509Certificate(moved.cert).checkIP('192.0.2.77'), '192.0.2.77');
  });

  void it('[signal] tlsselfsigned serves it from <datadir>/tls, and a restart keeps the same fingerprint', async () => {
    const datadir = join(dir, 'data');
    const start = () =>
      startSwitchboard((c) => {
        c.api.datadir = datadir;
        c.signal.tlsselfsigned = true;
      });
    const one = await start();
    const fingerprint = one.tls?.fingerprint256;
    await one.close();
    const two = await start();
    try {
      assert.ok(fingerprint);
      assert.equal(two.tls?.fingerprint256, fingerprint);
      assert.deepEqual(two.tls?.selfSigned, { created: false });
      assert.equal(two.tls?.certPath, join(datadir, 'tls', 'cert.pem'));
      const { cert } = await selfSignedCert(datadir);
      assert.equal((await httpsGet(`${two.url}/healthz`, cert)).status, 200);
    } finally {
      await two.close();
    }
  });

  void it('`switchboard start --tls-self-signed` prints the https URL and the SHA-256 fingerprint', async () => {
    const datadir = join(dir, 'cli');
    const config = join(dir, 'cli.toml');
    await writeFile(config, `[signal]\nhost = "127.0.0.1"\n[api]\ndatadir = ${JSON.stringify(datadir)}\n`);
    const child = spawn(
      process.execPath,
      [bin, 'start', '--tls-self-signed', '--port', '0', '--config', config],
      {
        env: { ...process.env, SB_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('Browsers warn once'), { timeout: 60_000, what: 'the start banner' });
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    const { cert } = await selfSignedCert(datadir);
    const fingerprint = new X509Certificate(cert).fingerprint256;
    assert.match(out, /open https:\/\/127\.0\.0\.1:\d+ in two browser tabs/);
    assert.ok(out.includes(fingerprint), `the banner shows ${fingerprint}:\n${out}`);
    assert.ok(out.includes(join(datadir, 'tls', 'cert.pem')));
  });
});

void describe('certificate settings that cannot work', { timeout: 90_000 }, () => {
  let dir = '';
  let pair: SelfSignedCert;
  before(async () => {
    dir = join(root, 'conf');
    pair = await selfSignedCert(dir);
  });

  void it('a cert without a key (or a key without a cert) is a configuration error naming the missing key', () => {
    assert.throws(() => parseConfig('[signal]\ncert = "cert.pem"\n', 'sfu.toml'), {
      name: 'ConfigError',
      message: 'sfu.toml: signal.key: required with signal.cert (both PEM files, or neither)',
    });
    assert.throws(() => parseConfig('[signal]\nkey = "key.pem"\n', 'sfu.toml'), {
      message: 'sfu.toml: signal.cert: required with signal.key (both PEM files, or neither)',
    });
    assert.throws(() => parseConfig('[signal]\ntlsselfsigned = true\ncert = "c"\nkey = "k"\n', 'sfu.toml'), {
      message: /signal\.tlsselfsigned: exclusive with signal\.cert and signal\.key/,
    });
  });

  void it('a missing file stops the start with a configuration error naming it', async () => {
    const missing = join(dir, 'nope.pem');
    await assert.rejects(
      startSwitchboard((c) => {
        c.signal.cert = missing;
        c.signal.key = pair.keyPath;
      }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, `signal.cert: cannot read ${missing} (ENOENT)`);
        return true;
      },
    );
  });

  void it('a file that is not PEM, or a key of another certificate, is named too', async () => {
    const other = await selfSignedCert(join(dir, 'other'));
    await assert.rejects(
      startSwitchboard((c) => {
        c.signal.cert = pair.certPath;
        c.signal.key = other.keyPath;
      }),
      {
        name: 'ConfigError',
        message: `signal.key: ${other.keyPath} is not the private key of ${pair.certPath}`,
      },
    );
    await assert.rejects(
      startSwitchboard((c) => {
        c.signal.cert = pair.keyPath;
        c.signal.key = pair.keyPath;
      }),
      { name: 'ConfigError', message: `signal.cert: ${pair.keyPath} is not a PEM certificate` },
    );
  });

  void it('`switchboard start` with a missing certificate exits 2 and says which key and file', async () => {
    const config = join(dir, 'bad.toml');
    const missing = join(dir, 'missing.pem');
    await writeFile(
      config,
      `[signal]\nhost = "127.0.0.1"\nport = 0\ncert = ${JSON.stringify(missing)}\nkey = ${JSON.stringify(pair.keyPath)}\n` +
        `[api]\ndatadir = ${JSON.stringify(join(dir, 'data'))}\n`,
    );
    const result = await promisify(execFile)(process.execPath, [bin, 'start', '--config', config]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /invalid configuration\nsignal\.cert: cannot read .*missing\.pem \(ENOENT\)/);
  });
});
