// The end of a bench run: headline rows (Switchboard vs Janus), a text table and an SVG chart.
import { percentile } from './stats.ts';
import type { BenchResult, ShapeResult, SummaryRow, SweepResult, Window } from './types.ts';

type Step = SweepResult['steps'][number];

const f1 = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
const fms = (x: number | undefined) => (x === undefined ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(0));
const fpct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(2)} %`);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? ''
    : (a / b).toFixed(2);

/** CPU µs per forwarded packet pooled over `steps` (Σ CPU / Σ packets). */
function pooled(steps: readonly Window[]): number | undefined {
  let cpu = 0;
  let pkts = 0;
  for (const s of steps) {
    cpu += s.serverCpu * s.seconds;
    pkts += s.fwdPps * s.seconds;
  }
  return pkts > 0 ? (cpu * 1e6) / pkts : undefined;
}

/** The passing steps with ≥ 25 subscribers that every measured server passed (same loads). */
function commonSteps(sweeps: (SweepResult | undefined)[]): Set<number> {
  const sets = sweeps
    .filter((s): s is SweepResult => s !== undefined)
    .map((s) => new Set(s.steps.filter((x) => x.pass && x.target >= 25).map((x) => x.target)));
  if (sets.length === 0) {
    return new Set();
  }
  return new Set([...sets[0]!].filter((t) => sets.every((s) => s.has(t))));
}

/** The passing step closest to half of the subscribers the server managed. */
export function halfLoad(s: SweepResult | undefined): Step | undefined {
  const passing = s?.steps.filter((x) => x.pass) ?? [];
  const half = (s?.maxSubs ?? 0) / 2;
  let best: Step | undefined;
  for (const x of passing) {
    if (!best || Math.abs(x.n - half) < Math.abs(best.n - half)) {
      best = x;
    }
  }
  return best;
}

export function summarize(r: BenchResult): SummaryRow[] {
  const sb = r.servers.switchboard;
  const ja = r.servers.janus;
  const rows: SummaryRow[] = [];
  const common = commonSteps([sb?.broadcast, ja?.broadcast]);
  const pool = (s: SweepResult | undefined) =>
    pooled(s?.steps.filter((x) => x.pass && (common.size > 0 ? common.has(x.target) : x.target >= 25)) ?? []);
  const usSb = pool(sb?.broadcast);
  const usJa = pool(ja?.broadcast);
  const commonText = common.size > 0 ? `N = ${[...common].join(', ')}` : 'passing steps N ≥ 25';
  rows.push({
    metric: `CPU µs per forwarded packet, 1→N broadcast (${commonText})`,
    switchboard: f1(usSb),
    janus: f1(usJa),
    ratio: ratio(usSb, usJa),
    better: 'lower',
  });
  const ppsSb = usSb ? 1e6 / usSb : undefined;
  const ppsJa = usJa ? 1e6 / usJa : undefined;
  rows.push({
    metric: 'Forwarded packets per CPU-second (same steps)',
    switchboard: f1(ppsSb, 0),
    janus: f1(ppsJa, 0),
    ratio: ratio(ppsSb, ppsJa),
    better: 'higher',
  });
  rows.push({
    metric: 'Marginal CPU µs per forwarded packet (least-squares over passing steps)',
    switchboard: f1(sb?.broadcast?.marginalUsPerPkt),
    janus: f1(ja?.broadcast?.marginalUsPerPkt),
    ratio: ratio(sb?.broadcast?.marginalUsPerPkt, ja?.broadcast?.marginalUsPerPkt),
    better: 'lower',
  });
  const subs = (s: SweepResult | undefined) => (s ? `${s.maxSubs} (${s.limitedBy})` : 'n/a');
  rows.push({
    metric: 'Most subscribers of one 1 Mbit/s publisher at ≤ 1 % loss (what stopped the sweep)',
    switchboard: subs(sb?.broadcast),
    janus: subs(ja?.broadcast),
    ratio: ratio(sb?.broadcast?.maxSubs, ja?.broadcast?.maxSubs),
    better: 'higher',
  });
  const pair = (a: number | undefined, b: number | undefined) => `${fms(a)} / ${fms(b)}`;
  const pairRatio = (
    a: [number | undefined, number | undefined],
    b: [number | undefined, number | undefined],
  ) => {
    const x = ratio(a[0], b[0]);
    const y = ratio(a[1], b[1]);
    return x || y ? `${x || '–'} / ${y || '–'}` : '';
  };
  const join = (s: SweepResult | undefined): [number | undefined, number | undefined] => [
    s?.joinP50Ms,
    s?.joinP95Ms,
  ];
  rows.push({
    metric: 'Join → first RTP packet p50 / p95, ms (joins of passing steps)',
    switchboard: pair(...join(sb?.broadcast)),
    janus: pair(...join(ja?.broadcast)),
    ratio: pairRatio(join(sb?.broadcast), join(ja?.broadcast)),
    better: 'lower',
  });
  const keyframe = (s: SweepResult | undefined): [number | undefined, number | undefined] => [
    s?.joinKeyframeP50Ms,
    s?.joinKeyframeP95Ms,
  ];
  rows.push({
    metric: 'Join → first keyframe packet p50 / p95, ms (joins of passing steps)',
    switchboard: pair(...keyframe(sb?.broadcast)),
    janus: pair(...keyframe(ja?.broadcast)),
    ratio: pairRatio(keyframe(sb?.broadcast), keyframe(ja?.broadcast)),
    better: 'lower',
  });
  // The sweeps stop at different sizes, and joins into a large room are slower (a busier server and
  // load core): over the steps both servers passed the two sets of joins are comparable.
  const keyframeSame = (s: SweepResult | undefined): [number | undefined, number | undefined] => {
    const samples = (s?.steps ?? [])
      .filter((x) => x.pass && common.has(x.target))
      .flatMap((x) => x.joinKeyframeSamplesMs ?? []);
    return [percentile(samples, 50), percentile(samples, 95)];
  };
  if (common.size > 0) {
    rows.push({
      metric: `Join → first keyframe packet p50 / p95, ms (joins of ${commonText})`,
      switchboard: pair(...keyframeSame(sb?.broadcast)),
      janus: pair(...keyframeSame(ja?.broadcast)),
      ratio: pairRatio(keyframeSame(sb?.broadcast), keyframeSame(ja?.broadcast)),
      better: 'lower',
    });
  }
  rows.push({
    metric: 'Server memory per subscriber, MB (RSS growth / N at the largest passing step)',
    switchboard: f1(sb?.broadcast?.memPerSubMB, 2),
    janus: f1(ja?.broadcast?.memPerSubMB, 2),
    ratio: ratio(sb?.broadcast?.memPerSubMB, ja?.broadcast?.memPerSubMB),
    better: 'lower',
  });
  const hSb = halfLoad(sb?.broadcast);
  const hJa = halfLoad(ja?.broadcast);
  rows.push({
    metric: `SFU residence time p50 / p99, ms, at half load (Switchboard's metric${hSb ? `, N=${hSb.n}` : ''})`,
    switchboard:
      hSb?.residenceP50Ms !== undefined ? pair(hSb.residenceP50Ms, hSb.residenceP99Ms) : 'not exposed',
    janus: 'n/a',
    ratio: '',
    better: '',
  });
  const lat = (h: Step | undefined): [number | undefined, number | undefined] => [
    h?.latencyP50Ms,
    h?.latencyP99Ms,
  ];
  rows.push({
    metric: 'One-way latency publisher → SFU → subscriber p50 / p99, ms, at half load',
    switchboard: `${pair(...lat(hSb))}${hSb ? ` (N=${hSb.n})` : ''}`,
    janus: `${pair(...lat(hJa))}${hJa ? ` (N=${hJa.n})` : ''}`,
    ratio: pairRatio(lat(hSb), lat(hJa)),
    better: 'lower',
  });
  const shape = (label: string, a: ShapeResult | undefined, b: ShapeResult | undefined) => {
    if (!a && !b) {
      return;
    }
    const n = a?.participants ?? b?.participants ?? 0;
    const us = (s: ShapeResult | undefined) => s?.window?.usPerPkt;
    const txt = (s: ShapeResult | undefined) =>
      s?.window
        ? `${f1(us(s))} µs, ${f1(s.window.fwdPps, 0)} pps, loss ${fpct(s.window.loss)}`
        : s?.error
          ? 'failed'
          : 'n/a';
    rows.push({
      metric: `${label} ${n}×${n}: CPU µs per forwarded packet, fwd pps, loss`,
      switchboard: txt(a),
      janus: txt(b),
      ratio: ratio(us(a), us(b)),
      better: 'lower',
    });
  };
  shape('Meeting (500 kbit/s video + Opus)', sb?.meeting, ja?.meeting);
  shape('Audio-only (Opus 50 pps, 60–120 B)', sb?.audio, ja?.audio);
  return rows;
}

/** How busy the two cores were with other processes than ours, averaged over every window. */
export function otherLoad(r: BenchResult): { server: number; load: number; max: number } | undefined {
  const windows: Window[] = [];
  for (const s of Object.values(r.servers)) {
    windows.push(...(s.broadcast?.steps ?? []));
    for (const w of [s.meeting?.window, s.audio?.window]) {
      if (w) {
        windows.push(w);
      }
    }
  }
  if (windows.length === 0) {
    return undefined;
  }
  const server = windows.map((w) => Math.max(0, w.serverCoreBusy - w.serverCpu));
  const load = windows.map((w) => Math.max(0, w.loadCoreBusy - w.loadCpu));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { server: avg(server), load: avg(load), max: Math.max(...server, ...load) };
}

export function renderTable(r: BenchResult): string {
  const head = ['metric', 'Switchboard', 'Janus', 'Switchboard / Janus'];
  const body = r.summary.map((x) => [
    x.metric,
    x.switchboard,
    x.janus,
    x.ratio ? `${x.ratio}${x.better ? ` (${x.better} is better)` : ''}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const notes = [
    `machine: ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}, load average at start ${r.machine.loadavgAtStart.join(' ')}` +
      `; Janus ${r.servers.janus?.version ?? 'not run'}, Switchboard ${r.servers.switchboard?.version ?? 'not run'}` +
      (r.config.idlePoll === true ? '; idle cores poll (--idle-poll)' : ''),
  ];
  const noise = otherLoad(r);
  if (noise) {
    notes.push(
      `other processes on this machine used on average ${(noise.server * 100).toFixed(0)} % of the server core and ` +
        `${(noise.load * 100).toFixed(0)} % of the load core during the measurement windows (max ${(noise.max * 100).toFixed(0)} %)`,
    );
  }
  if (r.interrupted) {
    notes.push(`interrupted: ${r.interrupted} (partial results)`);
  }
  return [line(head), sep, ...body.map(line), '', ...notes].join('\n');
}

// ------------------------------------------------------------------ SVG

const tick = (v: number) => String(Number(v.toFixed(2)));
const COLORS: Record<string, string> = { switchboard: '#1f6feb', janus: '#d1242f' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (!(v > 0)) {
    return 1;
  }
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * p >= v) {
      return m * p;
    }
  }
  return 10 * p;
}

interface Series {
  name: string;
  color: string;
  points: { x: number; y: number; pass: boolean }[];
}

function panel(
  x0: number,
  y0: number,
  w: number,
  h: number,
  title: string,
  xLabel: string,
  series: Series[],
  yFmt: (v: number) => string,
  yCap?: number,
): string {
  const pad = { l: 52, r: 12, t: 26, b: 38 };
  const all = series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(1, ...all.map((p) => p.x)));
  const yMax = niceMax(Math.min(yCap ?? Infinity, Math.max(...all.map((p) => p.y), 0)));
  const px = (v: number) => x0 + pad.l + (v / xMax) * (w - pad.l - pad.r);
  const py = (v: number) => y0 + h - pad.b - (Math.min(v, yMax) / yMax) * (h - pad.t - pad.b);
  const out: string[] = [];
  out.push(
    `<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const yv = (yMax * i) / 4;
    const xv = (xMax * i) / 4;
    out.push(
      `<line x1="${px(0)}" y1="${py(yv)}" x2="${px(xMax)}" y2="${py(yv)}" stroke="#ddd"/>`,
      `<text x="${px(0) - 6}" y="${py(yv) + 4}" text-anchor="end" font-size="11">${esc(yFmt(yv))}</text>`,
      `<text x="${px(xv)}" y="${py(0) + 16}" text-anchor="middle" font-size="11">${Math.round(xv)}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + pad.l + (w - pad.l - pad.r) / 2}" y="${y0 + h - 6}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`,
  );
  for (const s of series) {
    if (s.points.length === 0) {
      continue;
    }
    const d = s.points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.points) {
      out.push(
        p.pass
          ? `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.color}"/>`
          : `<text x="${px(p.x).toFixed(1)}" y="${(py(p.y) + 4).toFixed(1)}" text-anchor="middle" fill="${s.color}" font-weight="bold">×</text>`,
      );
    }
  }
  return out.join('\n');
}

export function renderSvg(r: BenchResult): string {
  const W = 1080;
  const panelW = W / 3;
  const panelH = 280;
  const sweeps = (['switchboard', 'janus'] as const).flatMap((k) => {
    const s = r.servers[k]?.broadcast;
    return s ? [{ k, steps: s.steps }] : [];
  });
  const series = (y: (s: Step) => number | undefined): Series[] =>
    sweeps.map(({ k, steps }) => ({
      name: k,
      color: COLORS[k]!,
      points: steps.flatMap((s) => {
        const v = y(s);
        return v === undefined ? [] : [{ x: s.n, y: v, pass: s.pass }];
      }),
    }));
  const rows = r.summary;
  const tableTop = panelH + 50;
  const rowH = 20;
  const H = tableTop + 30 + rows.length * rowH + 40;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    panel(
      0,
      0,
      panelW,
      panelH,
      'Server CPU, % of one core',
      'subscribers of one 1 Mbit/s publisher',
      series((s) => s.serverCpu * 100),
      tick,
    ),
    panel(
      panelW,
      0,
      panelW,
      panelH,
      'CPU µs per forwarded packet',
      'subscribers',
      series((s) => s.usPerPkt),
      tick,
      400,
    ),
    panel(
      2 * panelW,
      0,
      panelW,
      panelH,
      'Subscriber loss, % (× = step failed)',
      'subscribers',
      series((s) => s.loss * 100),
      tick,
      10,
    ),
  );
  let lx = 60;
  for (const { k } of sweeps) {
    parts.push(
      `<rect x="${lx}" y="${panelH + 8}" width="14" height="4" fill="${COLORS[k]}"/>`,
      `<text x="${lx + 20}" y="${panelH + 14}">${k === 'janus' ? `Janus ${esc(r.servers.janus?.version ?? '')} VideoRoom` : 'Switchboard'}</text>`,
    );
    lx += 200;
  }
  const cols = [10, 560, 790, 960];
  const head = ['metric', 'Switchboard', 'Janus', 'SB / Janus'];
  parts.push(
    ...head.map((h, i) => `<text x="${cols[i]}" y="${tableTop + 16}" font-weight="bold">${h}</text>`),
  );
  rows.forEach((row, j) => {
    const y = tableTop + 36 + j * rowH;
    const cells = [row.metric, row.switchboard, row.janus, row.ratio];
    parts.push(
      ...cells.map(
        (c, i) =>
          `<text x="${cols[i]}" y="${y}" font-size="11">${esc(c.length > 95 ? `${c.slice(0, 94)}…` : c)}</text>`,
      ),
    );
  });
  parts.push(
    `<text x="10" y="${H - 14}" font-size="10" fill="#555">${esc(
      `${r.startedAt}${r.quick ? ' (quick)' : ''} · ${r.machine.cpus} × ${r.machine.model} · server on one core, load on the other${r.config.idlePoll === true ? ' · idle cores poll' : ''} · shared machine: expect noise`,
    )}</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
