// `npm run fuzz -- [--count N] [--seed S] [--url ws://host:port/ws]`: the hostile-input suite's
// generator (test/fuzz/mutations.ts) for as long as you like, against an in-process server on
// loopback (default) or a running one. Prints response classes per mutation class and every
// violation; exits 1 if there was one, if /healthz ever took over 1 s, if a normal client could not
// join and talk afterwards, or if peers/sessions did not return to zero.
import { parseArgs } from 'node:util';
import { signToken } from '../../src/protocol/tokens.ts';
import type { Credentials } from '../helpers/nuve.ts';
import { waitForZero, wellBehavedExchange } from './afterFuzz.ts';
import { HealthProbe } from './HealthProbe.ts';
import { CI_MAX_SECTIONS } from './hostileSdp.ts';
import { framesOf, MUTATION_CLASSES, type Frame, type MutationClass } from './mutations.ts';
import { Random } from './random.ts';
import { RestFuzzer, restRequests } from './restFuzzer.ts';
import { formatResponses, formatViolations } from './summary.ts';
import { WsFuzzer } from './WsFuzzer.ts';

const HELP = `npm run fuzz -- [options]

  --count <n>         /ws frames to send (default 10000), spread over the mutation classes
  --rest <n>          /api requests (default count/10; 0 = none)
  --seed <s>          PRNG seed (default: random, printed; the same seed replays the same frames)
  --classes <list>    ${MUTATION_CLASSES.join(',')} (default all)
  --url <ws-url>      fuzz a running server (ws://host:port/ws); default: one started in-process on 127.0.0.1
  --service <id> --key <key>   MAuth credentials for /api with --url (a superservice); without them /api is skipped
  --secret <s>        [auth] secret of that server, to also send bearer JWTs
  --max-sections <n>  largest m-section count of hostile SDPs (default ${CI_MAX_SECTIONS})
  --timeout <ms>      how long a reply may take (default 10000)
  --server-log <lvl>  log level of the in-process server (default fatal)
  -h, --help`;

const { values: a } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    rest: { type: 'string' },
    seed: { type: 'string' },
    classes: { type: 'string' },
    url: { type: 'string' },
    service: { type: 'string' },
    key: { type: 'string' },
    secret: { type: 'string' },
    'max-sections': { type: 'string', default: String(CI_MAX_SECTIONS) },
    timeout: { type: 'string', default: '10000' },
    'server-log': { type: 'string', default: 'fatal' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  console.log(HELP);
  process.exit(0);
}
const count = Number(a.count);
const restCount = a.rest !== undefined ? Number(a.rest) : Math.floor(count / 10);
const seed = a.seed !== undefined ? Number(a.seed) : Math.floor(Math.random() * 2 ** 31);
const classes = (a.classes?.split(',') ?? [...MUTATION_CLASSES]) as MutationClass[];
for (const c of classes) {
  if (!MUTATION_CLASSES.includes(c)) {
    console.error(`unknown class ${c}; known: ${MUTATION_CLASSES.join(', ')}`);
    process.exit(2);
  }
}
if (![count, restCount, seed, Number(a['max-sections']), Number(a.timeout)].every(Number.isFinite)) {
  console.error('--count, --rest, --seed, --max-sections and --timeout take numbers');
  process.exit(2);
}

let stopServer: (() => Promise<void>) | undefined;
let wsUrl: string;
let creds: Credentials | undefined;
let secret = a.secret;
if (a.url) {
  wsUrl = a.url;
  if (a.service && a.key) {
    creds = { service: a.service, key: a.key };
  }
} else {
  const { startSwitchboard } = await import('../helpers/server.ts');
  creds = { service: 'fuzz-superservice', key: 'fuzz-superservice-key-0001' };
  secret = 'fuzz-jwt-secret';
  const sb = await startSwitchboard((c) => {
    c.api.superserviceid = creds!.service;
    c.api.superservicekey = creds!.key;
    c.auth.secret = secret!;
    c.log.level = a['server-log'] as typeof c.log.level;
  });
  stopServer = () => sb.close();
  wsUrl = `${sb.url.replace(/^http/, 'ws')}/ws`;
}
const httpUrl = wsUrl.replace(/^ws/, 'http').replace(/\/ws\/?$/, '');
console.log(
  `fuzzing ${wsUrl} with seed ${seed}: ${count} /ws frames (${classes.join(', ')}), ${creds ? restCount : 0} /api requests`,
);

const probe = new HealthProbe(httpUrl);
const ws = new WsFuzzer({ wsUrl, replyTimeoutMs: Number(a.timeout), roomPrefix: `fz-${seed}` });
const gens = new Map(classes.map((c) => [c, framesOf(c, seed, { maxSections: Number(a['max-sections']) })]));
const rng = new Random(seed);
const t0 = Date.now();
let lastReport = t0;
const progress = (what: string, n: number, total: number, violations: number): void => {
  if (Date.now() - lastReport > 5000) {
    lastReport = Date.now();
    console.log(
      `  ${what} ${n}/${total} sent, ${violations} violation(s), ${Math.round((Date.now() - t0) / 1000)} s`,
    );
  }
};
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
});
for (let i = 0; i < count && !interrupted; i++) {
  const f: Frame = gens.get(rng.pick(classes))!.next().value as Frame;
  await ws.send(f);
  progress('/ws', i + 1, count, ws.violations.length);
}
await ws.close();

const rest = creds
  ? new RestFuzzer({
      httpUrl,
      creds,
      bearer: secret
        ? await signToken({ secret, identity: 'fuzz', grants: { api: true }, ttlSeconds: 86400 })
        : undefined,
    })
  : undefined;
if (rest && restCount > 0) {
  const room = await rest.createRoom(`fz-${seed}`);
  const gen = restRequests(await RestFuzzer.document(httpUrl), { room }, seed);
  for (let i = 0; i < restCount && !interrupted; i++) {
    await rest.send(gen.next().value as Parameters<RestFuzzer['send']>[0]);
    progress('/api', i + 1, restCount, rest.violations.length);
  }
}
const health = await probe.stop();

const problems: string[] = [];
const exchange = await wellBehavedExchange(wsUrl, `fz-${seed}-after`);
if (exchange) {
  problems.push(`a well-behaved client: ${exchange}`);
}
const zero = await waitForZero(httpUrl);
if (!zero.ok) {
  problems.push(
    `peers/sessions did not return to zero: sfu_peers ${zero.counts.peers}, sfu_sessions ${zero.counts.sessions}`,
  );
}
if (health.slow > 0 || health.failures.length > 0) {
  problems.push(`/healthz: max ${health.maxMs} ms; ${health.failures.slice(0, 5).join('; ')}`);
}
if (stopServer && (Object.prototype as Record<string, unknown>).polluted !== undefined) {
  problems.push('Object.prototype was polluted');
}

console.log(
  `\n/ws: ${ws.sent} frames in ${Math.round((Date.now() - t0) / 1000)} s (seed ${seed}; the fuzzer's own joins: ${ws.ownJoins})`,
);
console.log(formatResponses(ws.responses));
console.log(`\n/ws ${formatViolations(ws.violations)}`);
if (rest) {
  console.log(`\n/api: ${rest.sent} requests`);
  console.log(formatResponses(rest.responses));
  console.log(`\n/api ${formatViolations(rest.violations)}`);
}
console.log(`\n/healthz: ${health.polls} polls, max ${health.maxMs} ms`);
console.log(
  problems.length === 0 ? 'after the run: all checks passed' : `after the run:\n  ${problems.join('\n  ')}`,
);
await stopServer?.();
process.exit(ws.violations.length + (rest?.violations.length ?? 0) + problems.length > 0 ? 1 : 0);
