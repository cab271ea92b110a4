// What `switchboard loadtest` prints: the progress line (stderr, once a second) and the summary
// table (stdout) of a LoadTestResult.
import type { LoadTestResult, Snapshot } from './LoadTest.ts';

const ms = (v: number | null): string => (v === null ? '-' : `${Math.round(v)} ms`);
const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(v < 0.1 ? 2 : 1)} %`);
const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** `[ 12s] joining  peers 7/8  out 1,234  in 5,678  loss 0.00 %  join p50 120 ms p95 310 ms` */
export function progressLine(s: Snapshot, durationS: number): string {
  const clock =
    s.phase === 'joining'
      ? `${Math.floor(s.elapsedS)}s joining`
      : `${Math.floor(s.measuredS)}/${durationS}s`.padStart(7);
  return [
    `[${clock}]`,
    `peers ${s.connected}/${s.peers}${s.failed > 0 ? ` (${s.failed} failed)` : ''}`,
    `out ${count(s.packetsSent)}`,
    `in ${count(s.packetsReceived)}`,
    `loss ${pct(s.loss)}`,
    `join p50 ${ms(s.joinMs.p50)} p95 ${ms(s.joinMs.p95)}`,
  ].join('  ');
}

/** The summary: one figure per line, label and value. */
export function summaryTable(r: LoadTestResult): string {
  const media =
    r.videoBitrate === 0
      ? 'Opus audio only'
      : `${Math.round(r.videoBitrate / 1000)} kbit/s VP8${r.simulcast ? ' (top of 3 simulcast layers)' : ''} + Opus`;
  const rows: [string, string][] = [
    ['Server', r.url],
    ['Rooms', `${r.rooms} × (${plural(r.publishers, 'publisher')} + ${plural(r.subscribers, 'subscriber')})`],
    ['Media', media],
    [
      'Measured',
      `${r.durationS} s (after ${Math.round(r.elapsedS - r.durationS)} s of joins${r.interrupted ? '; ended by Ctrl-C' : ''})`,
    ],
    ['Peers connected', `${r.connected}/${r.peers}${r.failed > 0 ? `, ${r.failed} failed to join` : ''}`],
    ['Subscribers receiving', `${r.subscribersReceiving}/${r.rooms * r.subscribers}`],
    ['Streams receiving', `${r.streamsActive}/${r.streamsExpected}`],
    ['Packets sent', count(r.packetsSent)],
    ['Packets received', `${count(r.packetsReceived)} (${(r.bytesReceived / 1e6).toFixed(1)} MB)`],
    ['Loss', pct(r.loss)],
    ['Join (to connected)', `p50 ${ms(r.joinMs.p50)}  p95 ${ms(r.joinMs.p95)}  max ${ms(r.joinMs.max)}`],
    [
      'Join (to first packet)',
      `p50 ${ms(r.firstPacketMs.p50)}  p95 ${ms(r.firstPacketMs.p95)}  max ${ms(r.firstPacketMs.max)}`,
    ],
    ['Latency (one-way)', `p50 ${ms(r.latencyMs.p50)}  p95 ${ms(r.latencyMs.p95)}`],
    ['Result', r.ok ? 'OK' : 'FAILED'],
  ];
  for (const e of r.errors) {
    rows.push(['Error', e]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
