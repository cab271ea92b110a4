// Hostile input on /ws and /api (the fuzzer's mutation classes, test/fuzz/): no crash, one JSON-RPC
// reply per request with a JSON-RPC code and no internal text, /healthz answering within 1 s
// throughout, no 5xx from /api, and afterwards a normal client still gets in and nothing is left over.
// Deterministic seed, a few hundred frames per class; `npm run fuzz -- --count 100000` runs longer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signToken } from '../../src/protocol/tokens.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';
import { waitForZero, wellBehavedExchange } from '../fuzz/afterFuzz.ts';
import { HealthProbe } from '../fuzz/HealthProbe.ts';
import { compactOffer } from '../fuzz/hostileSdp.ts';
import { MUTATION_CLASSES, takeFrames, type MutationClass } from '../fuzz/mutations.ts';
import { REST_CLASSES, RestFuzzer, restRequests, type RestRequest } from '../fuzz/restFuzzer.ts';
import { WsFuzzer, type Violation } from '../fuzz/WsFuzzer.ts';

const SEED = 0x13;
const SUPER = { service: 'fuzz-superservice', key: 'fuzz-superservice-key-0001' };
const SECRET = 'fuzz-jwt-secret';

/**
 * Frames per class. wrong-types covers every parameter of every method (its systematic list is
 * ~1,250 frames, most answered at validation); the others a few hundred each.
 */
const FRAMES: Record<MutationClass, number> = {
  'invalid-json': 300,
  envelope: 300,
  'wrong-types': 1300,
  huge: 320,
  deep: 360,
  sdp: 210,
};
const REST_PER_CLASS = 150;
/** A /healthz answer slower than this during the fuzzing fails the test (see `before`). */
const SLOW_MS = 2000;

const show = (vs: { label: string; problem: string }[]): string =>
  vs
    .slice(0, 15)
    .map((v) => `  ${v.label}: ${v.problem}`)
    .join('\n') + (vs.length > 15 ? `\n  … and ${vs.length - 15} more` : '');

void describe('hostile input on /ws and /api', { timeout: 600_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let probe: HealthProbe | undefined;
  let ws: WsFuzzer | undefined;
  let rest: RestFuzzer | undefined;
  const restList: RestRequest[] = [];

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.auth.secret = SECRET;
    });
    // The fuzzing clients run in this process: building, sending and reading their 1 MiB frames share
    // the server's event loop, so the probe sees their time too (one run on the 2-core VM saw 1.24 s).
    // 2 s still catches what this guards against: a frame or offer that freezes the process for long.
    probe = new HealthProbe(sb.url, 100, SLOW_MS);
    ws = new WsFuzzer({ wsUrl: wsUrlOf(sb.url), roomPrefix: 'hostile' });
    const bearer = await signToken({
      secret: SECRET,
      identity: 'fuzz',
      grants: { api: true },
      ttlSeconds: 3600,
    });
    rest = new RestFuzzer({ httpUrl: sb.url, creds: SUPER, bearer });
    const room = await rest.createRoom('fuzz-room');
    const doc = await RestFuzzer.document(sb.url);
    const gen = restRequests(doc, { room }, SEED);
    const perClass = new Map<string, number>();
    for (const r of gen) {
      const n = perClass.get(r.cls) ?? 0;
      if (n < REST_PER_CLASS) {
        perClass.set(r.cls, n + 1);
        restList.push(r);
      }
      if (
        [...perClass.values()].reduce((a, b) => a + b, 0) >= REST_PER_CLASS * REST_CLASSES.length ||
        restList.length > 5000
      ) {
        break;
      }
    }
  });

  after(async () => {
    await ws?.close();
    await probe?.stop();
    await sb?.close();
  });

  for (const cls of MUTATION_CLASSES) {
    void it(`/ws ${cls}: one well-formed reply per request, no internal text`, async () => {
      for (const f of takeFrames(cls, SEED, FRAMES[cls])) {
        await ws!.send(f);
      }
      const vs: Violation[] = ws!.violations.filter((v) => v.cls === cls);
      assert.equal(vs.length, 0, `${vs.length} violation(s) in ${cls}:\n${show(vs)}`);
    });
  }

  for (const cls of REST_CLASSES) {
    void it(`/api ${cls}: never 5xx, errors as JSON without internal text`, async () => {
      const list = restList.filter((r) => r.cls === cls);
      assert.ok(list.length > 0, `no ${cls} requests generated`);
      for (const r of list) {
        await rest!.send(r);
      }
      const vs = rest!.violations.filter((v) => v.cls === cls);
      assert.equal(vs.length, 0, `${vs.length} violation(s) in ${cls}:\n${show(vs)}`);
    });
  }

  void it('/healthz answered every poll within 2 s during the fuzzing', async () => {
    const s = await probe!.stop();
    probe = new HealthProbe(sb!.url, 100, SLOW_MS); // keeps watching the checks below
    assert.ok(s.polls > 10, `only ${s.polls} polls`);
    assert.equal(s.slow + s.failures.length, 0, `max ${s.maxMs} ms; ${s.failures.slice(0, 5).join('; ')}`);
  });

  void it('a well-behaved client still joins and exchanges a room.message', async () => {
    await ws!.close();
    const problem = await wellBehavedExchange(wsUrlOf(sb!.url), 'hostile-after');
    assert.equal(problem, undefined);
  });

  void it('peers and sessions return to zero once the fuzzing sockets close', async () => {
    await ws!.close();
    const { ok, counts } = await waitForZero(sb!.url);
    assert.ok(ok, `sfu_peers ${counts.peers}, sfu_sessions ${counts.sessions}`);
  });

  void it('no prototype was polluted by __proto__ / constructor keys', () => {
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  // The big case (defect A of issue #13): 1,500 unbundled m-sections froze the server for minutes
  // (a transport per section). The class runs above stay at <= 200 sections (CI_MAX_SECTIONS) so
  // they stay fast either way; this one case must be refused or answered quickly once the limit is in.
  void it('a 1,500-section unbundled offer is answered within 10 s and /healthz stays under 1 s', async () => {
    const big = new HealthProbe(sb!.url);
    const fuzz = new WsFuzzer({ wsUrl: wsUrlOf(sb!.url), roomPrefix: 'hostile-big' });
    const t0 = Date.now();
    await fuzz.send({
      cls: 'sdp',
      label: 'join with 1,500 unbundled m-sections',
      data: JSON.stringify({
        jsonrpc: '2.0',
        id: 'big',
        method: 'join',
        params: { sid: 'hostile-big', offer: { type: 'offer', sdp: compactOffer(1500, false) } },
      }),
      needs: 'fresh',
      expect: { kind: 'reply', id: 'big' },
    });
    const took = Date.now() - t0;
    await fuzz.close();
    const s = await big.stop();
    assert.equal(fuzz.violations.length, 0, show(fuzz.violations));
    assert.ok(took < 10_000, `reply after ${took} ms`);
    assert.ok(s.maxMs < 1000, `/healthz took up to ${s.maxMs} ms`);
    const { ok, counts } = await waitForZero(sb!.url);
    assert.ok(ok, `after the big offer: sfu_peers ${counts.peers}, sfu_sessions ${counts.sessions}`);
  });
});
