/**
 * The node map: one column per region, a box per media node (its load, the rooms it owns) and an
 * arrow from a room's owner to every node relaying the room, labelled with the rooms they share.
 * Redrawn whole at each refresh (it holds nothing the operator interacts with).
 */
import type { NodeInfo } from './api.ts';
import { formatBytes, svg } from './dom.ts';

/** Where a room lives: its owner and every node hosting it (owner included). */
export interface RoomPlacement {
  name: string;
  owner: string | undefined;
  nodes: string[];
}

const COL_W = 270;
const BOX_W = 226;
const BOX_H = 78;
const ROW_GAP = 40;
const TOP = 34;
const LEFT = 12;

interface Box {
  node: string;
  dc: string;
  x: number;
  y: number;
  info: NodeInfo | undefined;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function text(x: number, y: number, content: string, cls: string): SVGTextElement {
  const t = svg('text', { x, y, class: cls });
  t.textContent = content;
  return t;
}

/** Every node known from heartbeats or from the rooms' statistics, placed by region. */
function layout(nodes: readonly NodeInfo[], rooms: readonly RoomPlacement[]): Box[] {
  const byId = new Map(nodes.map((n) => [n.node, n]));
  const ids = new Set(byId.keys());
  for (const r of rooms) {
    for (const n of r.nodes) {
      ids.add(n);
    }
  }
  const dcs = [...new Set([...ids].map((id) => byId.get(id)?.dc ?? '?'))].sort();
  const rows = new Map<string, number>();
  return [...ids].sort().map((node) => {
    const info = byId.get(node);
    const dc = info?.dc ?? '?';
    const row = rows.get(dc) ?? 0;
    rows.set(dc, row + 1);
    return { node, dc, x: LEFT + dcs.indexOf(dc) * COL_W, y: TOP + row * (BOX_H + ROW_GAP), info };
  });
}

function nodeBox(b: Box, roomName: (id: string) => string): SVGGElement {
  const g = svg('g', {
    class: `node${b.info?.draining ? ' draining' : ''}${b.info ? '' : ' gone'}`,
    'data-node': b.node,
  });
  const title = svg('title');
  g.append(title, svg('rect', { x: b.x, y: b.y, width: BOX_W, height: BOX_H, rx: 10 }));
  const n = b.info;
  const x = b.x + 12;
  g.append(text(x, b.y + 20, truncate(b.node, 30), 'name'));
  if (!n) {
    g.append(text(x, b.y + 40, 'no heartbeat (gone or not visible)', 'figure'));
    title.textContent = `${b.node}: no heartbeat`;
    return g;
  }
  const relays = n.relays ?? 0;
  g.append(
    text(
      x,
      b.y + 39,
      `${n.peers} peer${n.peers === 1 ? '' : 's'} · ${n.tracks} track${n.tracks === 1 ? '' : 's'} · ${relays} relay${relays === 1 ? '' : 's'}${n.draining ? ' · draining' : ''}`,
      'figure',
    ),
  );
  const loop = n.eventLoopDelayMs !== undefined ? ` · loop ${n.eventLoopDelayMs.toFixed(0)} ms` : '';
  g.append(text(x, b.y + 55, `cpu ${Math.round(n.cpu)} % · ${formatBytes(n.rss)}${loop}`, 'figure'));
  const owns = n.owns.map(roomName);
  g.append(
    text(x, b.y + 71, truncate(owns.length > 0 ? `owns ${owns.join(', ')}` : 'owns no room', 34), 'owns'),
  );
  title.textContent = `${b.node}${n.host !== undefined ? ` on ${n.host}` : ''}, region ${b.dc}\nowns: ${owns.join(', ') || 'none'}`;
  return g;
}

/** The path of an arrow from box `a` to box `b` (an arc on the right when they share a column). */
function edgePath(a: Box, b: Box): { d: string; mx: number; my: number; anchor: 'start' | 'middle' } {
  const ay = a.y + BOX_H / 2;
  const by = b.y + BOX_H / 2;
  if (a.x === b.x) {
    const x = a.x + BOX_W;
    const bend = x + 40 + Math.abs(by - ay) / 6;
    return {
      d: `M ${x} ${ay} C ${bend} ${ay}, ${bend} ${by}, ${x + 4} ${by}`,
      mx: x + 4 + (bend - x) * 0.75,
      my: (ay + by) / 2 + 4,
      anchor: 'start',
    };
  }
  const [from, to] = a.x < b.x ? [a.x + BOX_W, b.x - 4] : [a.x, b.x + BOX_W + 4];
  const mid = (from + to) / 2;
  return {
    d: `M ${from} ${ay} C ${mid} ${ay}, ${mid} ${by}, ${to} ${by}`,
    mx: mid,
    my: (ay + by) / 2 - 6,
    anchor: 'middle',
  };
}

/** Redraws `root` (an `<svg>`) for these nodes and rooms. */
export function drawNodeMap(
  root: SVGSVGElement,
  nodes: readonly NodeInfo[],
  rooms: readonly RoomPlacement[],
  roomName: (id: string) => string,
): void {
  const boxes = layout(nodes, rooms);
  const at = new Map(boxes.map((b) => [b.node, b]));
  const dcs = [...new Map(boxes.map((b) => [b.x, b.dc]))].sort((p, q) => p[0] - q[0]);
  const rows = Math.max(1, ...boxes.map((b) => (b.y - TOP) / (BOX_H + ROW_GAP) + 1));
  // Room on the right for the last column's arcs and their labels.
  const width = LEFT + (Math.max(1, dcs.length) - 1) * COL_W + BOX_W + 200;
  const height = TOP + rows * (BOX_H + ROW_GAP) - ROW_GAP + 12;
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));

  const defs = svg('defs');
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  const parts: SVGElement[] = [defs];
  for (const [x, dc] of dcs) {
    parts.push(text(x + 2, 18, `region ${dc}`, 'region'));
  }
  // One arrow per (owner, relaying node), labelled with the rooms they share.
  const edges = new Map<string, { from: Box; to: Box; rooms: string[] }>();
  for (const r of rooms) {
    const owner = r.owner !== undefined ? at.get(r.owner) : undefined;
    for (const n of r.nodes) {
      const to = at.get(n);
      if (!owner || !to || to === owner) {
        continue;
      }
      const k = `${owner.node}>${to.node}`;
      const e = edges.get(k) ?? { from: owner, to, rooms: [] };
      e.rooms.push(r.name);
      edges.set(k, e);
    }
  }
  for (const e of edges.values()) {
    const p = edgePath(e.from, e.to);
    const g = svg('g', { class: 'relay', 'data-from': e.from.node, 'data-to': e.to.node });
    g.append(svg('path', { d: p.d, 'marker-end': 'url(#arrow)' }));
    const label = text(p.mx, p.my, truncate(e.rooms.join(', '), 28), 'label');
    label.setAttribute('text-anchor', p.anchor);
    g.append(label);
    parts.push(g);
  }
  for (const b of boxes) {
    parts.push(nodeBox(b, roomName));
  }
  root.replaceChildren(...parts);
}
