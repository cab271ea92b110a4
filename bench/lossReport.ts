// Figures of `npm run bench:loss` (bench/loss.ts): one page over one step from its 1 s getStats
// snapshots, medians over runs, and the printed tables. Pure functions.
import type { ServerKind } from './servers.ts';
import type { PageName, Snapshot } from './lossPages.ts';

/** One second of one page: deltas between consecutive snapshots. */
export interface Second {
  /** Seconds since the step began (its rule was installed), at the end of this second. */
  t: number;
  height: number;
  fps: number;
  kbps: number;
  frozen: number;
  nack: number;
  pli: number;
  lost: number;
  /** Concealed audio samples / samples received, %. */
  concealedPct: number;
  /** What the page itself sent: its tallest active layer and that layer's quality limitation. */
  sent: number;
  limit: string;
}

/** Figures of one page over one step. */
export interface Cell {
  fps: number;
  /** Received video, kbit/s. */
  kbps: number;
  /** Height at the step's end, and the lowest of its 1 s samples. */
  height: number;
  minHeight: number;
  /**
   * Seconds frozen (totalFreezesDuration: a freeze counts in the second it ends), and the most that
   * ended in any 1 s sample (about the longest freeze).
   */
  frozen: number;
  longestFreeze: number;
  /** Seconds of 1 s samples without a decoded frame: a freeze still going on at the step's end too. */
  stalled: number;
  nacks: number;
  plis: number;
  lost: number;
  concealedPct: number;
  /**
   * The lowest height the other page sent at (its tallest active layer) in any 1 s sample: a received
   * height below it is the server's choice, not the publisher's (e.g. its CPU).
   */
  peerSentMin: number;
  /**
   * Policer step, policed page: seconds from the limit until the first 1 s sample below its top
   * height with frames decoded; recovery step (if the policer moved the page below its top): from
   * the lifting until the sample from which it stays on top with frames decoded, 0 if it was on top
   * all along. null: never within the step. Absent elsewhere.
   */
  settleS?: number | null;
  seconds: Second[];
}

export type StepKind = 'loss' | 'policer' | 'recovery';

export interface StepResult {
  step: string;
  kind: StepKind;
  /** Loss steps: % of UDP datagrams dropped. */
  lossPct?: number;
  pages: Record<PageName, Cell>;
  /** Policer step: datagrams toward the policed page, and those the policer dropped. */
  policer?: { kbit: number; ports: number[]; packets: number; dropped: number };
  /** Switchboard: its counters' increase over the step (room-wide: RTP in/out, NACKs, resent). */
  server?: Record<string, number>;
  /** Policer step: the policed page's height when the step began, and seconds waited for its top. */
  start?: { height: number; waitedS: number };
}

const rate = (d: number, ms: number) => (ms > 0 ? (d * 1000) / ms : 0);
const pct = (num: number, den: number) => (den > 0 ? (100 * num) / den : 0);

function second(a: Snapshot, b: Snapshot, t0: number): Second {
  return {
    t: Math.round((b.at - t0) / 100) / 10,
    height: b.height,
    fps: rate(b.frames - a.frames, b.at - a.at),
    kbps: rate((b.bytes - a.bytes) * 8, b.at - a.at) / 1000,
    frozen: b.frozen - a.frozen,
    nack: b.nack - a.nack,
    pli: b.pli - a.pli,
    lost: b.lost - a.lost,
    concealedPct: pct(b.concealed - a.concealed, b.samples - a.samples),
    sent: b.sent,
    limit: b.limit,
  };
}

/**
 * A page's figures from its snapshots over a step (the first taken just before the step's rule went
 * in). `settle`: 'below' or 'back' to `top` (see Cell.settleS).
 */
export function cellOf(
  snaps: Snapshot[],
  peer: Snapshot[],
  settle?: { to: 'below' | 'back'; top: number },
): Cell {
  const a = snaps[0]!;
  const b = snaps.at(-1)!;
  const seconds = snaps.slice(1).map((s, i) => second(snaps[i]!, s, a.at));
  const cell: Cell = {
    fps: rate(b.frames - a.frames, b.at - a.at),
    kbps: rate((b.bytes - a.bytes) * 8, b.at - a.at) / 1000,
    height: b.height,
    minHeight: Math.min(...seconds.map((s) => s.height)),
    frozen: b.frozen - a.frozen,
    longestFreeze: Math.max(0, ...seconds.map((s) => s.frozen)),
    stalled: seconds.reduce((sum, s, i) => sum + (s.fps > 0 ? 0 : s.t - (seconds[i - 1]?.t ?? 0)), 0),
    nacks: b.nack - a.nack,
    plis: b.pli - a.pli,
    lost: b.lost - a.lost,
    concealedPct: pct(b.concealed - a.concealed, b.samples - a.samples),
    peerSentMin: Math.min(...peer.slice(1).map((s) => s.sent)),
    seconds,
  };
  if (settle?.to === 'below') {
    const hit = seconds.find((s) => s.fps > 0 && s.height < settle.top);
    cell.settleS = hit ? hit.t : null;
  } else if (settle?.to === 'back') {
    // From the last second off the top (below it, or no frame) on, the page stays on top.
    const off = seconds.findLastIndex((s) => s.fps === 0 || s.height < settle.top);
    cell.settleS = off < 0 ? 0 : off === seconds.length - 1 ? null : seconds[off + 1]!.t;
  }
  return cell;
}

/** Median; null (never) counts as later than any number. */
function median(xs: (number | null)[]): number | null {
  const s = xs.map((x) => x ?? Infinity).sort((p, q) => p - q);
  const m = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return Number.isFinite(m) ? m : null;
}

const FIGURES = [
  'fps',
  'kbps',
  'height',
  'minHeight',
  'frozen',
  'longestFreeze',
  'stalled',
  'nacks',
  'plis',
  'lost',
  'concealedPct',
  'peerSentMin',
] as const;

/** Each figure's median over runs, per step and page (the 1 s samples are the first run's). */
export function medianOf(runs: StepResult[][]): StepResult[] {
  return runs[0]!.map((step, i) => {
    const pages = {} as Record<PageName, Cell>;
    for (const name of Object.keys(step.pages) as PageName[]) {
      const cells = runs.map((r) => r[i]!.pages[name]);
      const cell = { seconds: cells[0]!.seconds } as Cell;
      for (const k of FIGURES) {
        cell[k] = median(cells.map((c) => c[k])) ?? 0;
      }
      if (step.pages[name].settleS !== undefined) {
        cell.settleS = median(cells.map((c) => c.settleS ?? null));
      }
      pages[name] = cell;
    }
    const { policer: _policer, start: _start, server: _server, ...rest } = step;
    return { ...rest, pages };
  });
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const settleText = (c: Cell | undefined) =>
  c?.settleS === undefined ? '' : c.settleS === null ? 'never' : f1(c.settleS);

function markdown(head: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One server: every figure per step and page. */
export function serverTable(steps: StepResult[]): string {
  const head = [
    'step',
    'page',
    'fps',
    'kbit/s',
    'height',
    'min',
    'peer sent',
    'frozen s',
    'longest',
    'no-frame s',
    'NACK',
    'PLI',
    'lost',
  ];
  const rows: string[][] = [];
  for (const step of steps) {
    for (const [name, c] of Object.entries(step.pages)) {
      rows.push([
        step.step,
        name,
        f1(c.fps),
        String(Math.round(c.kbps)),
        String(c.height),
        String(c.minHeight),
        String(c.peerSentMin),
        f2(c.frozen),
        f2(c.longestFreeze),
        f1(c.stalled),
        String(c.nacks),
        String(c.plis),
        String(c.lost),
        `${f1(c.concealedPct)}`,
        settleText(c),
      ]);
    }
  }
  return markdown([...head, 'concealed %', 'settle s'], rows);
}

/** Both servers side by side: each cell "Switchboard / Janus". */
export function sideBySide(results: Partial<Record<ServerKind, StepResult[]>>): string {
  const sb = results.switchboard ?? [];
  const janus = results.janus ?? [];
  const steps = sb.length ? sb : janus;
  const pair = (a: string | undefined, b: string | undefined) => `${a || '—'} / ${b || '—'}`;
  const rows: string[][] = [];
  steps.forEach((step, i) => {
    for (const name of Object.keys(step.pages) as PageName[]) {
      const x = sb[i]?.pages[name];
      const y = janus[i]?.pages[name];
      const both = (f: (c: Cell) => string) => pair(x && f(x), y && f(y));
      rows.push([
        step.step,
        name,
        both((c) => f1(c.fps)),
        both((c) => `${c.height} (${c.minHeight})`),
        both((c) => f2(c.frozen)),
        both((c) => f1(c.stalled)),
        both((c) => String(c.nacks)),
        both((c) => String(c.plis)),
        both((c) => String(c.lost)),
        both((c) => f1(c.concealedPct)),
        x?.settleS !== undefined || y?.settleS !== undefined ? pair(settleText(x), settleText(y)) : '',
      ]);
    }
  });
  return markdown(
    [
      'step',
      'page',
      'fps',
      'height (min)',
      'frozen s',
      'no-frame s',
      'NACK sent',
      'PLI sent',
      'lost',
      'concealed audio %',
      'settle s',
    ],
    rows,
  );
}

/** Whether the policer dropped at least 1 % of the datagrams toward the policed page. */
export function policerBit(r: StepResult): boolean {
  return !!r.policer && r.policer.dropped >= 0.01 * r.policer.packets;
}

/** One line per step while the bench runs. */
export function progressLine(kind: ServerKind, r: StepResult): string {
  const parts = Object.entries(r.pages).map(
    ([n, c]) =>
      `${n} ${f1(c.fps)} fps ${c.minHeight}-${c.height}p (peer sent ≥ ${c.peerSentMin}p) ${Math.round(c.kbps)} kbit/s frozen ${f2(c.frozen)} s (no frame ${f1(c.stalled)} s)` +
      ` nack ${c.nacks} pli ${c.plis}` +
      (c.settleS !== undefined ? ` settle ${settleText(c)} s` : ''),
  );
  const extra = r.policer
    ? ` [policer at ${r.policer.kbit} kbit/s dropped ${r.policer.dropped} of ${r.policer.packets} datagrams${policerBit(r) ? '' : ': it did not bite, the stream was below its rate'}]`
    : '';
  const sv = r.server;
  const server = sv
    ? ` [server: RTP in ${sv.rtpIn} out ${sv.rtpOut}, NACKed by subscribers ${sv.subscriberNacks},` +
      ` resent ${sv.retransmissions}, asked of publishers ${sv.nackRequests}]`
    : '';
  return `  ${kind} ${r.step}: ${parts.join(' | ')}${extra}${server}`;
}
