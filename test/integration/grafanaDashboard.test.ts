// deploy/grafana/switchboard.json: a Grafana dashboard shape, and every metric its PromQL names is
// one a running Switchboard (a peer joined and publishing) really exposes on /metrics.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const FILE = new URL('../../deploy/grafana/switchboard.json', import.meta.url);

interface Target {
  expr?: unknown;
}
interface Panel {
  type?: unknown;
  title?: unknown;
  targets?: Target[];
  panels?: Panel[];
}

// PromQL words that are not metric names: aggregations, functions are recognised by their `(`.
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/** The metric names a PromQL expression selects (label matchers, strings, ranges and grouping lists removed). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    if (m[2] === undefined && !KEYWORDS.has(m[1]!)) {
      names.add(m[1]!);
    }
  }
  return [...names];
}

/** Every sample name of a Prometheus text exposition (histogram `_bucket`/`_sum`/`_count` included). */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)/.exec(line);
    if (m) {
      names.add(m[1]!);
    }
  }
  return names;
}

const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as {
  title?: unknown;
  uid?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: { name?: unknown; query?: { query?: unknown } }[] };
  __inputs?: { name?: unknown; pluginId?: unknown }[];
};
const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: String(p.title), expr: t.expr })));

void describe('Grafana dashboard deploy/grafana/switchboard.json', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;

  // Two peers publishing to each other: packets are forwarded, so the residence series have samples
  // (sfu_forward_residence_microseconds has none until a packet was forwarded), and the joins were placed.
  before(async () => {
    sb = await startSwitchboard();
    alice = await WrtcPeer.connect(wsUrlOf(sb.url), 'alice');
    bob = await WrtcPeer.connect(wsUrlOf(sb.url), 'bob');
    await alice.join('grafana', 'alice');
    await bob.join('grafana', 'bob');
    await alice.publish();
    await bob.publish();
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await sb?.close();
  });

  void it('is a dashboard: title, uid, schemaVersion, a Prometheus datasource input, panels with targets', () => {
    assert.equal(typeof dashboard.title, 'string');
    assert.equal(typeof dashboard.uid, 'string');
    assert.ok(typeof dashboard.schemaVersion === 'number' && dashboard.schemaVersion >= 36);
    assert.deepEqual(
      dashboard.__inputs?.map((i) => [i.name, i.pluginId]),
      [['DS_PROMETHEUS', 'prometheus']],
    );
    const graphs = panels.filter((p) => p.type !== 'row');
    assert.ok(graphs.length >= 10, `${graphs.length} panels`);
    for (const p of graphs) {
      assert.equal(typeof p.title, 'string');
      assert.ok((p.targets ?? []).length > 0, `panel ${String(p.title)} has targets`);
      for (const t of p.targets!) {
        assert.ok(typeof t.expr === 'string' && t.expr.length > 0, `panel ${String(p.title)}: an expr`);
      }
    }
    assert.deepEqual(
      dashboard.templating?.list?.map((v) => v.name),
      ['dc', 'instance'],
    );
  });

  void it('finds the metric names in PromQL (and not labels, functions or grouping lists)', () => {
    assert.deepEqual(
      metricNames(
        'sum by (dc) (rate(rtp_bytes{instance=~"$instance",direction="in"}[$__rate_interval]) * on (instance) group_left (dc) switchboard_info) / 1e6',
      ),
      ['rtp_bytes', 'switchboard_info'],
    );
  });

  void it('names only metrics a running Switchboard exposes on /metrics', async () => {
    const s = sb!;
    // A peer publishing: the sfu and rtp series exist with values, and the join was placed.
    await waitFor(
      async () => (metricValue(await fetchMetrics(s), 'rtp_packets', { direction: 'in' }) ?? 0) > 0,
      {
        what: '/metrics to count incoming RTP',
      },
    );
    const exposed = exposedNames(await fetchMetrics(s));
    const used = new Set<string>();
    const missing: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const name of metricNames(String(expr))) {
        used.add(name);
        if (!exposed.has(name)) {
          missing.push(`${name} (panel "${panel}")`);
        }
      }
    }
    for (const v of dashboard.templating?.list ?? []) {
      for (const name of metricNames(String(v.query?.query).replace(/^label_values\((.*),\s*\w+\)$/, '$1'))) {
        used.add(name);
        if (!exposed.has(name)) {
          missing.push(`${name} (variable ${String(v.name)})`);
        }
      }
    }
    assert.deepEqual(missing, []);
    for (const name of ['sfu_peers', 'rtp_packets', 'registry_placements', 'process_cpu_seconds_total']) {
      assert.ok(used.has(name), `the dashboard uses ${name}`);
    }
  });
});
