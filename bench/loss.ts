// `npm run bench:loss`: media under loss, Switchboard's demo page against Janus VideoRoom's own demo,
// side by side (issue #26). Two headless Chromium pages (fake camera, simulcast) join one room on
// each server in turn, inside a private network namespace; nftables drops a share of every UDP
// datagram (both directions, RTCP alike), then polices what one page receives; every second each
// page's getStats is sampled. See docs/performance.md#media-under-loss and `--help`.
//
// Outer process (as root): creates namespace sbloss-<pid> (test/namespace.js's veth pair, as
// `npm run bench` does), re-runs itself inside it (`--inside`), and afterwards stops whatever is
// left there and deletes it, also on Ctrl-C. Inner process: servers, pages, steps, results.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNamespace, deleteNamespace, hasCommand, namespacePids, staleNamespaces } from './system.ts';
import { JANUS_ROOM, startJanus, startSwitchboard, type Server, type ServerKind } from './servers.ts';

const HELP = `npm run bench:loss [-- options]

Two Chromium pages (Ada and Grace) publish and watch each other on Switchboard's demo page and on
Janus VideoRoom's demo (Debian packages \`janus\`, \`janus-demos\`), in a private network namespace.
Steps: 0 %, 2 %, 5 %, 10 % of every UDP datagram dropped, then a policer on what Grace receives,
then the policer lifted. Prints per step and page: frames decoded per second, frame height, seconds
frozen, NACKs and PLIs sent, concealed audio; writes bench/results/loss-<time>.json. Root only.

  --only <server>     switchboard | janus
  --runs <n>          repeat the sequence n times per server; cells are medians (default 1)
  --seconds <s>       length of each step (default 15)
  --settle <s>        wait after both pages show video (default 10)
  --policer <kbit/s>  rate of the policer step (default 700)
  -h, --help`;

const NS_PREFIX = 'sbloss-';
const DEMOS = '/usr/share/janus/demos';
const DEMO_PORT = 18090;
const CHROMIUM = process.env.SB_CHROMIUM ?? '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '15' },
    settle: { type: 'string', default: '10' },
    policer: { type: 'string', default: '700' },
    inside: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}
const RUNS = Math.max(1, Number(opt.runs));
const STEP_MS = Number(opt.seconds) * 1000;
const SETTLE_MS = Number(opt.settle) * 1000;
const POLICER_KBIT = Number(opt.policer);
const servers: ServerKind[] = opt.only ? [opt.only as ServerKind] : ['switchboard', 'janus'];

// ------------------------------------------------------------------ outer: the namespace

function outside(): void {
  if (process.getuid?.() !== 0) {
    console.error('bench:loss must run as root (it creates a network namespace and nftables rules)');
    process.exit(2);
  }
  for (const cmd of ['ip', 'nft', ...(servers.includes('janus') ? ['janus'] : [])]) {
    if (!hasCommand(cmd)) {
      console.error(`bench:loss needs \`${cmd}\``);
      process.exit(2);
    }
  }
  if (servers.includes('janus') && !existsSync(join(DEMOS, 'videoroomtest.html'))) {
    console.error(`bench:loss needs Janus's demos in ${DEMOS} (apt-get install janus-demos)`);
    process.exit(2);
  }
  staleNamespaces().forEach(deleteNamespace);
  for (const ns of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
    const name = ns.split(' ')[0] ?? '';
    if (name.startsWith(NS_PREFIX) && !existsSync(`/proc/${name.slice(NS_PREFIX.length)}`)) {
      deleteNamespace(name);
    }
  }
  const ns = `${NS_PREFIX}${process.pid}`;
  const failed = createNamespace(ns, 1);
  if (failed) {
    console.error(failed);
    deleteNamespace(ns);
    process.exit(1);
  }
  const cleanup = () => {
    for (const pid of namespacePids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    deleteNamespace(ns);
  };
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--inside',
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  process.on('SIGINT', () => child.kill('SIGINT'));
  child.on('exit', (code) => {
    cleanup();
    process.exit(code ?? 1);
  });
}

// ------------------------------------------------------------------ inner: one sequence per server

interface Sample {
  at: number;
  height: number;
  frames: number;
  frozen: number;
  nack: number;
  pli: number;
  lost: number;
  concealed: number;
  samples: number;
}

/** Figures of one page over one step. */
interface Cell {
  fps: number;
  height: number;
  minHeight: number;
  frozen: number;
  longestFreeze: number;
  nacks: number;
  plis: number;
  lost: number;
  /** Concealed audio samples / samples received, %. */
  concealedPct: number;
  /** Policer: seconds until the page's height fell below its top; recovery: until it was back. */
  settledS?: number;
  heights: number[];
}

interface StepResult {
  step: string;
  pages: Record<string, Cell>;
}

// Every RTCPeerConnection a page makes, so the stats cover the demo's own PCs (Janus's demo makes one
// per remote feed).
const HOOK = `(() => { const Orig = window.RTCPeerConnection; if (!Orig || window.__pcs) return; window.__pcs = [];
  window.RTCPeerConnection = function (...a) { const pc = new Orig(...a); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Orig.prototype; Object.setPrototypeOf(window.RTCPeerConnection, Orig);
  window.token = null; window.apisecret = null; })();`;

const SNAP = `(async () => {
  const o = { at: Date.now(), height: 0, frames: 0, frozen: 0, nack: 0, pli: 0, lost: 0, concealed: 0, samples: 0 };
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      if (r.kind === 'video') {
        o.height = Math.max(o.height, r.frameHeight || 0);
        o.frames += r.framesDecoded || 0; o.frozen += r.totalFreezesDuration || 0;
        o.nack += r.nackCount || 0; o.pli += r.pliCount || 0; o.lost += r.packetsLost || 0;
      } else if (r.kind === 'audio') {
        o.concealed += r.concealedSamples || 0; o.samples += r.totalSamplesReceived || 0;
      }
    });
  }
  return o;
})()`;

/**
 * The local UDP ports of the selected candidate pairs of the page's PCs that receive video (what the
 * policer matches): not its publishing PC, whose feedback (REMB, NACK, PLI) must keep flowing.
 */
const PORTS = `(async () => {
  const ports = [];
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    const s = await pc.getStats();
    let receives = false;
    s.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) receives = true; });
    if (!receives) continue;
    s.forEach((r) => {
      if (r.type === 'candidate-pair' && r.state === 'succeeded' && r.nominated) {
        const l = s.get(r.localCandidateId);
        if (l && l.port) ports.push(l.port);
      }
    });
  }
  return ports;
})()`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nft(rules: string): void {
  execFileSync('nft', ['-f', '-'], { input: rules });
}
function clearRules(): void {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', 'sbloss'], { stdio: 'ignore' });
  } catch {
    // no table
  }
}
function rule(body: string): void {
  clearRules();
  nft(`table inet sbloss {\n chain out {\n  type filter hook output priority 0;\n  ${body}\n }\n}\n`);
}

/** Janus's demo pages, with a settings.js that points them at our Janus. */
function serveDemos(janusUrl: string): Promise<HttpServer> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.png': 'image/png',
    '.svg': 'image/svg+xml',
  };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    if (path === '/settings.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(`var server = ${JSON.stringify(janusUrl)};\nvar iceServers = null;\n`);
      return;
    }
    const file = join(DEMOS, path);
    if (!file.startsWith(DEMOS) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(DEMO_PORT, '127.0.0.1', () => resolve(server)));
}

async function joinPages(browser: Browser, kind: ServerKind): Promise<Record<string, Page>> {
  const pages: Record<string, Page> = {};
  for (const name of ['Ada', 'Grace']) {
    const ctx = await browser.newContext();
    await ctx.grantPermissions(['camera', 'microphone']);
    await ctx.addInitScript(HOOK);
    const page = await ctx.newPage();
    page.on('dialog', (d) => void d.dismiss());
    if (kind === 'switchboard') {
      await page.goto(`http://127.0.0.1:17000/?room=loss&name=${name}&autojoin=1`);
    } else {
      await page.goto(`http://127.0.0.1:${DEMO_PORT}/videoroomtest.html?simulcast=yes&room=${JANUS_ROOM}`);
      await page.click('#start');
      await page.waitForSelector('#username', { state: 'visible', timeout: 20_000 });
      await page.fill('#username', name);
      await page.click('#register');
    }
    pages[name] = page;
    await sleep(2000);
  }
  const deadline = Date.now() + 60_000;
  for (const [name, page] of Object.entries(pages)) {
    for (;;) {
      const s = await page.evaluate<Sample>(SNAP);
      if (s.frames > 10 && s.height > 0) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`${kind}: ${name} decoded no video within 60 s`);
      }
      await sleep(500);
    }
  }
  return pages;
}

/** Samples every page once a second for STEP_MS; `top` is each page's height at 0 %. */
async function runStep(
  step: string,
  pages: Record<string, Page>,
  top: Record<string, number>,
  settled?: { page: string; below: boolean },
): Promise<StepResult> {
  const names = Object.keys(pages);
  const series: Record<string, Sample[]> = {};
  for (const n of names) {
    series[n] = [await pages[n]!.evaluate<Sample>(SNAP)];
  }
  const start = Date.now();
  while (Date.now() - start < STEP_MS) {
    await sleep(1000);
    for (const n of names) {
      series[n]!.push(await pages[n]!.evaluate<Sample>(SNAP));
    }
  }
  const out: StepResult = { step, pages: {} };
  for (const n of names) {
    const s = series[n]!;
    const a = s[0]!;
    const b = s.at(-1)!;
    const heights = s.slice(1).map((x) => x.height);
    let longest = 0;
    for (let i = 1; i < s.length; i++) {
      longest = Math.max(longest, s[i]!.frozen - s[i - 1]!.frozen);
    }
    const cell: Cell = {
      fps: ((b.frames - a.frames) * 1000) / (b.at - a.at),
      height: b.height,
      minHeight: Math.min(...heights),
      frozen: b.frozen - a.frozen,
      longestFreeze: longest,
      nacks: b.nack - a.nack,
      plis: b.pli - a.pli,
      lost: b.lost - a.lost,
      concealedPct: b.samples > a.samples ? (100 * (b.concealed - a.concealed)) / (b.samples - a.samples) : 0,
      heights,
    };
    if (settled?.page === n) {
      const i = s.findIndex((x, k) => k > 0 && (settled.below ? x.height < top[n]! : x.height >= top[n]!));
      cell.settledS = i > 0 ? (s[i]!.at - a.at) / 1000 : -1;
    }
    out.pages[n] = cell;
  }
  return out;
}

async function sequence(kind: ServerKind, browser: Browser, dir: string): Promise<StepResult[]> {
  let server: Server;
  let demos: HttpServer | undefined;
  if (kind === 'switchboard') {
    server = await startSwitchboard(join(dir, 'switchboard'), 0);
  } else {
    server = await startJanus(join(dir, 'janus'), 0, 0, { bitrate: 1_500_000, firFreq: 10 });
    demos = await serveDemos(server.url);
  }
  const steps: StepResult[] = [];
  try {
    const pages = await joinPages(browser, kind);
    await sleep(SETTLE_MS);
    const top: Record<string, number> = {};
    for (const loss of [0, 2, 5, 10]) {
      if (loss > 0) {
        rule(`meta l4proto udp numgen random mod 1000 < ${loss * 10} drop`);
      }
      const r = await runStep(`${loss} %`, pages, top);
      clearRules();
      if (loss === 0) {
        for (const [n, c] of Object.entries(r.pages)) {
          top[n] = c.height;
        }
      }
      steps.push(r);
      progress(kind, r);
      await sleep(3000);
    }
    const ports = await pages.Grace!.evaluate<number[]>(PORTS);
    const kbytes = Math.round(POLICER_KBIT / 8);
    rule(`udp dport { ${ports.join(', ')} } limit rate over ${kbytes} kbytes/second burst 16 kbytes drop`);
    const policed = await runStep(`policer ${POLICER_KBIT} kbit/s on Grace`, pages, top, {
      page: 'Grace',
      below: true,
    });
    clearRules();
    steps.push(policed);
    progress(kind, policed);
    // The time back to the top layer means something only if the policer moved Grace down.
    const fell = policed.pages.Grace!.minHeight < top.Grace!;
    const lifted = await runStep(
      'policer lifted',
      pages,
      top,
      fell ? { page: 'Grace', below: false } : undefined,
    );
    steps.push(lifted);
    progress(kind, lifted);
    await Promise.all(browser.contexts().map((c) => c.close()));
  } finally {
    clearRules();
    demos?.close();
    await server.stop();
  }
  return steps;
}

function progress(kind: ServerKind, r: StepResult): void {
  const parts = Object.entries(r.pages).map(
    ([n, c]) =>
      `${n} ${c.fps.toFixed(1)} fps ${c.minHeight}-${c.height}p frozen ${c.frozen.toFixed(2)} s` +
      (c.settledS !== undefined ? ` (${c.settledS} s)` : ''),
  );
  console.log(`  ${kind} ${r.step}: ${parts.join(' | ')}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The median of each figure over runs, per step and page. */
function medianOf(runs: StepResult[][]): StepResult[] {
  return runs[0]!.map((step, i) => ({
    step: step.step,
    pages: Object.fromEntries(
      Object.keys(step.pages).map((n) => {
        const cells = runs.map((r) => r[i]!.pages[n]!);
        const m = (k: keyof Cell) => median(cells.map((c) => (c[k] as number | undefined) ?? -1));
        const cell: Cell = {
          fps: m('fps'),
          height: m('height'),
          minHeight: m('minHeight'),
          frozen: m('frozen'),
          longestFreeze: m('longestFreeze'),
          nacks: m('nacks'),
          plis: m('plis'),
          lost: m('lost'),
          concealedPct: m('concealedPct'),
          heights: cells[0]!.heights,
          ...(step.pages[n]!.settledS !== undefined ? { settledS: m('settledS') } : {}),
        };
        return [n, cell];
      }),
    ),
  }));
}

function table(results: Partial<Record<ServerKind, StepResult[]>>): string {
  const kinds = Object.keys(results) as ServerKind[];
  const head = [
    'step',
    'page',
    ...kinds.map((k) => `${k}: fps / height (min) / frozen s (longest) / NACK / PLI / concealed %`),
  ];
  const rows: string[][] = [];
  const first = results[kinds[0]!]!;
  first.forEach((step, i) => {
    for (const page of Object.keys(step.pages)) {
      rows.push([
        step.step,
        page,
        ...kinds.map((k) => {
          const c = results[k]![i]?.pages[page];
          if (!c) {
            return '—';
          }
          const settled = c.settledS === undefined ? '' : `, ${c.settledS < 0 ? 'never' : `${c.settledS} s`}`;
          return `${c.fps.toFixed(1)} / ${c.height}p (${c.minHeight}) / ${c.frozen.toFixed(2)} (${c.longestFreeze.toFixed(2)}) / ${c.nacks} / ${c.plis} / ${c.concealedPct.toFixed(1)}${settled}`;
        }),
      ]);
    }
  });
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

async function inside(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-loss-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  const all: Partial<Record<ServerKind, StepResult[][]>> = {};
  try {
    for (const kind of servers) {
      for (let run = 1; run <= RUNS; run++) {
        console.log(`${kind}, run ${run} of ${RUNS}`);
        (all[kind] ??= []).push(await sequence(kind, browser, join(dir, `${kind}-${run}`)));
      }
    }
  } finally {
    clearRules();
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const medians: Partial<Record<ServerKind, StepResult[]>> = {};
  for (const k of servers) {
    medians[k] = medianOf(all[k]!);
  }
  console.log(`\nMedians of ${RUNS} run(s) per server; steps of ${STEP_MS / 1000} s\n`);
  console.log(table(medians));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = join(root, 'bench/results');
  mkdirSync(out, { recursive: true });
  const json = JSON.stringify(
    {
      date: new Date().toISOString(),
      runs: RUNS,
      stepSeconds: STEP_MS / 1000,
      policerKbit: POLICER_KBIT,
      medians,
      all,
    },
    null,
    1,
  );
  writeFileSync(join(out, `loss-${stamp}.json`), json);
  writeFileSync(join(out, 'loss-latest.json'), json);
  console.log(`\nbench/results/loss-${stamp}.json`);
}

if (opt.inside) {
  await inside();
} else {
  outside();
}
