import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  clusterOf,
  ConfigError,
  defaultConfig,
  loadConfig,
  logLevel,
  parseConfig,
  validateSupported,
} from '../../../src/config/index.ts';

/** An ION-style sfu.toml setting every key the schema knows (singleport omitted: exclusive with portrange). */
const FULL_TOML = `
[global]
dc = "eu-west"

[nats]
url = "nats://127.0.0.1:4222"

[redis]
addrs = ["127.0.0.1:6379", "10.0.0.2:6379"]
password = "hunter2"
db = 3

[signal]
host = "127.0.0.1"
port = 7001
maxmessagesize = 65536
allowedorigins = ["https://example.com"]

[sfu]
ballast = 1024
withstats = true

[router]
maxbandwidth = 2500
maxpackettrack = 600
audiolevelthreshold = 50
audiolevelinterval = 500
audiolevelfilter = 30

[router.simulcast]
bestqualityfirst = false
enabletemporallayer = true

[webrtc]
portrange = [5000, 5200]
tcpport = 7881
sdpsemantics = "unified-plan"
mdns = false

[[webrtc.iceserver]]
urls = ["stun:stun.l.google.com:19302"]

[[webrtc.iceserver]]
urls = ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
username = "awsome"
credential = "secret"

[[webrtc.iceserver]]
urls = "stun:single.example.org:3478"

[webrtc.candidates]
icelite = true
nat1to1 = ["1.2.3.4", "2001:db8::1"]

[webrtc.timeouts]
disconnected = 10
failed = 30
keepalive = 3

[turn]
enabled = true
realm = "pion"
address = "0.0.0.0:3479"
cert = "/etc/cert.pem"
key = "/etc/key.pem"
portrange = [49152, 65535]

[turn.auth]
secret = "s3cret"
credentials = "pion=ion,pion2=ion2"

[auth]
anonymous = false
secret = "0123456789abcdef-jwt"

[api]
enabled = false
datadir = "/var/lib/switchboard"
superserviceid = "super-1"
superservicekey = "0123456789abcdef-key"
mauthwindow = 60

[livekit]
keys = { APIdev = "0123456789abcdef-lk-secret" }

[webhooks]
urls = ["https://hooks.example.com/switchboard", "http://10.0.0.5:8080/in"]
retries = 3
timeout = 2.5
queuesize = 50

[recording]
path = "/var/lib/switchboard/recordings"

[log]
level = "warn"
v = 1
`;

/** Parse text expected to fail and return its ConfigError. */
function parseError(toml: string, source = 'config.toml'): ConfigError {
  try {
    parseConfig(toml, source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected parseConfig to throw');
}

/** `[signal.limits]` when the file does not set it (documented in docs/configuration.md). */
const DEFAULT_LIMITS = {
  pinginterval: 20,
  jointimeout: 60,
  joinretries: 5,
  socketsperip: 50,
  peersperip: 50,
  joinrate: 2,
  joinburst: 30,
  trustproxy: false,
};

await test('a full ION sfu.toml parses with the values it sets', () => {
  const c = parseConfig(FULL_TOML, 'sfu.toml');
  assert.deepEqual(c, {
    global: { dc: 'eu-west' },
    nats: { url: 'nats://127.0.0.1:4222' },
    redis: { addrs: ['127.0.0.1:6379', '10.0.0.2:6379'], password: 'hunter2', db: 3 },
    signal: {
      host: '127.0.0.1',
      port: 7001,
      maxmessagesize: 65536,
      allowedorigins: ['https://example.com'],
      tlsselfsigned: false,
      limits: DEFAULT_LIMITS, // an ION file has no [signal.limits]
      grpc: { enabled: false, port: 5551 },
      jwt: { enabled: false, key_type: 'HMAC' },
    },
    sfu: { ballast: 1024, withstats: true, workers: 0, maxpeers: 0, maxpacketrate: 0 },
    router: {
      maxbandwidth: 2500,
      startbitrate: 1000,
      maxpackettrack: 600,
      audiolevelthreshold: 50,
      audiolevelinterval: 500,
      audiolevelfilter: 30,
      simulcast: { bestqualityfirst: false, enabletemporallayer: true },
    },
    webrtc: {
      portrange: [5000, 5200],
      tcpport: 7881,
      sdpsemantics: 'unified-plan',
      mdns: false,
      iceserver: [
        { urls: ['stun:stun.l.google.com:19302'] },
        {
          urls: ['turn:turn.example.org:3478', 'turns:turn.example.org:5349'],
          username: 'awsome',
          credential: 'secret',
        },
        { urls: ['stun:single.example.org:3478'] },
      ],
      candidates: { icelite: true, nat1to1: ['1.2.3.4', '2001:db8::1'] },
      timeouts: { disconnected: 10, failed: 30, keepalive: 3 },
      maxmediasections: 64,
      maxcandidates: 64,
    },
    turn: {
      enabled: true,
      realm: 'pion',
      address: '0.0.0.0:3479',
      cert: '/etc/cert.pem',
      key: '/etc/key.pem',
      portrange: [49152, 65535],
      auth: { secret: 's3cret', credentials: 'pion=ion,pion2=ion2' },
    },
    auth: { anonymous: false, secret: '0123456789abcdef-jwt' },
    api: {
      enabled: false,
      dashboard: true,
      datadir: '/var/lib/switchboard',
      superserviceid: 'super-1',
      superservicekey: '0123456789abcdef-key',
      mauthwindow: 60,
    },
    livekit: { enabled: true, keys: { APIdev: '0123456789abcdef-lk-secret' } },
    webhooks: {
      urls: ['https://hooks.example.com/switchboard', 'http://10.0.0.5:8080/in'],
      retries: 3,
      timeout: 2.5,
      queuesize: 50,
    },
    recording: { path: '/var/lib/switchboard/recordings' },
    log: { level: 'warn', v: 1 },
  });
});

await test('an empty document yields the documented defaults', () => {
  const c = parseConfig('');
  assert.deepEqual(c, defaultConfig());
  assert.equal(c.global.dc, 'dc1');
  assert.equal(c.nats.url, undefined);
  assert.deepEqual(c.redis, { addrs: [], password: '', db: 0 });
  assert.deepEqual(c.signal, {
    host: '0.0.0.0',
    port: 7000,
    maxmessagesize: 1048576,
    allowedorigins: [],
    tlsselfsigned: false,
    limits: DEFAULT_LIMITS,
    grpc: { enabled: false, port: 5551 },
    jwt: { enabled: false, key_type: 'HMAC' },
  });
  assert.deepEqual(c.sfu, { ballast: 0, withstats: false, workers: 0, maxpeers: 0, maxpacketrate: 0 });
  assert.deepEqual(c.router, {
    maxbandwidth: 1500,
    startbitrate: 1000,
    maxpackettrack: 500,
    audiolevelthreshold: 40,
    audiolevelinterval: 1000,
    audiolevelfilter: 20,
    simulcast: { bestqualityfirst: true, enabletemporallayer: false },
  });
  assert.deepEqual(c.webrtc, {
    iceserver: [],
    sdpsemantics: 'unified-plan',
    mdns: true,
    candidates: { nat1to1: [], icelite: false },
    timeouts: { disconnected: 5, failed: 25, keepalive: 2 },
    maxmediasections: 64,
    maxcandidates: 64,
  });
  assert.deepEqual(c.turn, {
    enabled: false,
    realm: 'ion',
    address: '0.0.0.0:3478',
    auth: { credentials: '' },
  });
  assert.deepEqual(c.auth, { anonymous: true });
  assert.deepEqual(c.api, { enabled: true, dashboard: true, datadir: './data', mauthwindow: 300 });
  assert.deepEqual(c.livekit, { enabled: true, keys: {} });
  assert.deepEqual(c.webhooks, { urls: [], retries: 5, timeout: 5, queuesize: 1000 });
  assert.deepEqual(c.recording, { path: './recordings' });
  assert.deepEqual(c.log, { level: 'info' });
});

await test('anonymous mode is the default and can be turned off', () => {
  assert.equal(parseConfig('').auth.anonymous, true);
  assert.equal(parseConfig('[auth]\nanonymous = false\n').auth.anonymous, false);
});

await test('a short auth.secret or superservice key fails naming the key', () => {
  const err = parseError('[auth]\nsecret = "short"\n[api]\nsuperservicekey = "tiny"\n');
  assert.deepEqual(err.issues, [
    'config.toml: auth.secret: must be at least 16 characters',
    'config.toml: api.superservicekey: must be at least 16 characters',
  ]);
});

await test('global.cluster defaults to dc; the same cluster with another dc is one cluster in another region', () => {
  const one = parseConfig('[global]\ndc = "eu-west"\n');
  assert.equal(one.global.cluster, undefined);
  assert.equal(clusterOf(one), 'eu-west');
  const region = parseConfig('[global]\ncluster = "world"\ndc = "us-east"\n');
  assert.equal(clusterOf(region), 'world');
  assert.equal(region.global.dc, 'us-east');
});

await test('an empty or malformed global.dc / global.cluster fails naming the key', () => {
  const err = parseError('[global]\ndc = ""\ncluster = "eu.west"\n');
  assert.deepEqual(err.issues, [
    'config.toml: global.dc: must not be empty',
    'config.toml: global.cluster: only letters, digits, `-` and `_` (a subject and key token)',
  ]);
  assert.deepEqual(parseError('[global]\ndc = "a b"\ncluster = ""\n').issues, [
    'config.toml: global.dc: only letters, digits, `-` and `_` (a subject and key token)',
    'config.toml: global.cluster: must not be empty',
  ]);
  assert.match(
    parseError('[global]\ncluster = 7\n').issues[0]!,
    /^config\.toml: global\.cluster: expected string/,
  );
});

await test('a superservice id with odd characters fails naming api.superserviceid', () => {
  const err = parseError('[api]\nsuperserviceid = "a b/c"\n');
  assert.match(err.message, /^config\.toml: api\.superserviceid: expected 1-64 letters/);
});

await test('api.mauthwindow must be a positive whole number of seconds', () => {
  assert.match(parseError('[api]\nmauthwindow = 0\n').message, /^config\.toml: api\.mauthwindow: /);
  assert.match(parseError('[api]\nmauthwindow = 1.5\n').message, /^config\.toml: api\.mauthwindow: /);
});

await test('a webhook URL that is not http(s) fails naming its index', () => {
  const err = parseError('[webhooks]\nurls = ["https://ok.example.com/", "ftp://x.example.com/"]\n');
  assert.deepEqual(err.issues, ['config.toml: webhooks.urls[1]: expected an http(s) URL']);
});

await test('an unknown key in the new sections fails naming it', () => {
  const err = parseError('[auth]\nanonymus = true\n[webhooks]\nurl = "http://x/"\n');
  assert.deepEqual(err.issues, [
    'config.toml: auth.anonymus: unknown key',
    'config.toml: webhooks.url: unknown key',
  ]);
});

await test('a partly filled section gets defaults for the keys it omits', () => {
  const c = parseConfig('[router]\nmaxbandwidth = 0\n');
  assert.equal(c.router.maxbandwidth, 0);
  assert.equal(c.router.maxpackettrack, 500);
  assert.equal(c.router.simulcast.bestqualityfirst, true);
});

await test('defaultConfig returns a fresh object each call', () => {
  const a = defaultConfig();
  a.redis.addrs.push('x');
  assert.deepEqual(defaultConfig().redis.addrs, []);
});

await test('an unknown key fails naming the key', () => {
  const err = parseError('[router]\nmaxbandwith = 10\n');
  assert.deepEqual(err.issues, ['config.toml: router.maxbandwith: unknown key']);
});

await test('an unknown key in a nested table fails naming the full path', () => {
  const err = parseError('[webrtc]\nfoo = 1\n');
  assert.deepEqual(err.issues, ['config.toml: webrtc.foo: unknown key']);
});

await test('an unknown section fails naming the section', () => {
  const err = parseError('[routr]\nmaxbandwidth = 10\n');
  assert.deepEqual(err.issues, ['config.toml: routr: unknown key']);
});

await test('a wrong type fails naming the key and the expected type', () => {
  const err = parseError('[router]\nmaxbandwidth = "fast"\n');
  assert.deepEqual(err.issues, ['config.toml: router.maxbandwidth: expected number, received string']);
  assert.equal(err.message, 'config.toml: router.maxbandwidth: expected number, received string');
});

await test('every problem is reported on its own line', () => {
  const err = parseError('[router]\nmaxbandwidth = "fast"\nbogus = 1\n[log]\nlevel = "loud"\n');
  assert.equal(err.issues.length, 3);
  assert.equal(err.message.split('\n').length, 3);
  assert.ok(err.issues.some((l) => l.startsWith('config.toml: log.level: ')));
});

await test('a portrange with min >= max fails naming webrtc.portrange', () => {
  for (const range of ['[5200, 5000]', '[5000, 5000]']) {
    const err = parseError(`[webrtc]\nportrange = ${range}\n`);
    assert.deepEqual(err.issues, ['config.toml: webrtc.portrange: expected [min, max] with min < max']);
  }
});

await test('setting both singleport and portrange fails', () => {
  const err = parseError('[webrtc]\nsingleport = 5000\nportrange = [5000, 5200]\n');
  assert.equal(err.issues.length, 1);
  assert.match(err.message, /webrtc\.singleport and webrtc\.portrange are exclusive/);
});

await test('a nat1to1 entry that is not an IP address fails naming its index', () => {
  const err = parseError('[webrtc.candidates]\nnat1to1 = ["1.2.3.4", "example.com"]\n');
  assert.deepEqual(err.issues, ['config.toml: webrtc.candidates.nat1to1[1]: not an IP address']);
});

await test('malformed turn credentials fail naming turn.auth.credentials', () => {
  const err = parseError('[turn.auth]\ncredentials = "pion=ion,pion2"\n');
  assert.match(err.message, /^config\.toml: turn\.auth\.credentials: /);
});

await test('an out-of-range value fails naming the key', () => {
  const err = parseError('[router]\naudiolevelthreshold = 128\n');
  assert.match(err.message, /^config\.toml: router\.audiolevelthreshold: /);
});

await test('a TOML syntax error gives a ConfigError naming the file and position', () => {
  const err = parseError('[router\nmaxbandwidth = 1\n', 'broken.toml');
  assert.equal(err.issues.length, 1);
  assert.match(err.message, /^broken\.toml:1:\d+: TOML syntax error: /);
});

await test('the source name in errors defaults to <inline>', () => {
  assert.throws(() => parseConfig('x = 1'), { name: 'ConfigError', message: '<inline>: x: unknown key' });
});

await test('loadConfig with no path gives the defaults', async () => {
  assert.deepEqual(await loadConfig(), defaultConfig());
});

await test('loadConfig reads and validates the file, naming it in errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-config-'));
  try {
    const good = join(dir, 'good.toml');
    await writeFile(good, '[global]\ndc = "dc9"\n');
    assert.equal((await loadConfig(good)).global.dc, 'dc9');

    const bad = join(dir, 'bad.toml');
    await writeFile(bad, '[router]\nmaxbandwidth = "fast"\n');
    await assert.rejects(loadConfig(bad), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${bad}: router.maxbandwidth: expected number, received string`);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

await test('loadConfig of a missing file gives a ConfigError naming the file', async () => {
  const missing = join(tmpdir(), 'switchboard-no-such-config.toml');
  await assert.rejects(loadConfig(missing), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.message.startsWith(`${missing}: cannot read config file`));
    return true;
  });
});

await test('validateSupported accepts the defaults', () => {
  assert.deepEqual(validateSupported(defaultConfig()), []);
});

await test('validateSupported flags plan-b as unsupported', () => {
  const c = parseConfig('[webrtc]\nsdpsemantics = "plan-b"\n');
  assert.deepEqual(validateSupported(c), ['webrtc.sdpsemantics: plan-b is not supported; only unified-plan']);
});

await test('validateSupported flags an IPv6 nat1to1 address (media sockets are IPv4)', () => {
  const c = parseConfig('[webrtc.candidates]\nnat1to1 = ["1.2.3.4", "2001:db8::1"]\n');
  assert.deepEqual(validateSupported(c), [
    'webrtc.candidates.nat1to1: 2001:db8::1: only IPv4 addresses are supported (media sockets are IPv4)',
  ]);
});

await test('validateSupported accepts turn.enabled = true with credentials, and refuses an open relay', () => {
  assert.deepEqual(validateSupported(parseConfig('[turn]\nenabled = true\n[turn.auth]\nsecret = "s"\n')), []);
  assert.deepEqual(validateSupported(parseConfig('[turn]\nenabled = true\n')), [
    'turn.auth: turn.enabled needs a secret or credentials (an open relay is refused)',
  ]);
});

await test('webrtc.tcpport takes a port number', () => {
  assert.equal(parseConfig('[webrtc]\ntcpport = 7881\n').webrtc.tcpport, 7881);
  assert.match(parseError('[webrtc]\ntcpport = 70000\n').message, /webrtc\.tcpport/);
});

await test('logLevel is log.level when log.v is unset', () => {
  assert.equal(logLevel(parseConfig('[log]\nlevel = "error"\n')), 'error');
});

await test('logLevel: log.v overrides log.level (0 info, 1 debug, 2 trace)', () => {
  const at = (v: number) => logLevel(parseConfig(`[log]\nlevel = "error"\nv = ${v}\n`));
  assert.deepEqual([at(0), at(1), at(2)], ['info', 'debug', 'trace']);
});

await test("ION's [signal.grpc] and [signal.jwt] (configs/signal.toml): a port written as a string, the JWT key", () => {
  const c = parseConfig(
    '[signal.grpc]\nenabled = true\nhost = "0.0.0.0"\nport = "5551"\nallow_all_origins = true\n' +
      '[signal.jwt]\nenabled = true\nkey_type = "HMAC"\nkey = "1q2dGu5pzikcrECJgW3ADfXX3EsmoD99"\n',
  );
  assert.deepEqual(c.signal.grpc, { enabled: true, host: '0.0.0.0', port: 5551, allow_all_origins: true });
  assert.deepEqual(c.signal.jwt, {
    enabled: true,
    key_type: 'HMAC',
    key: '1q2dGu5pzikcrECJgW3ADfXX3EsmoD99',
  });
  assert.throws(() => parseConfig('[signal.grpc]\nport = "x"\n'), /signal\.grpc\.port/);
  assert.throws(() => parseConfig('[signal.jwt]\nkey = "short"\n'), /signal\.jwt\.key/);
});
