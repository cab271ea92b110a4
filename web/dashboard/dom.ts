/**
 * The few DOM tools the dashboard needs without a framework: an element builder, keyed lists whose
 * rows live on between refreshes (a button under the pointer is never replaced while it is clicked),
 * inline-SVG sparklines of a figure's recent history, and number formats.
 */

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** `el('td', {class: 'num'}, '12')`; attributes set to false or undefined are left out. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== false) {
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false) {
      e.append(c);
    }
  }
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== false) {
      e.setAttribute(k, String(v));
    }
  }
  return e;
}

/** Sets a text node's content only when it changed (no needless layout). */
export function setText(e: Element, text: string): void {
  if (e.textContent !== text) {
    e.textContent = text;
  }
}

/** A row or card that stays in the page while its key does; `update` refreshes its figures. */
export interface View<T> {
  el: Element;
  update(item: T): void;
}

const views = new WeakMap<Element, Map<string, View<never>>>();

/**
 * Makes `parent`'s children the views of `items`, in order: a key seen before keeps its element (and
 * whatever the operator has open or focused in it), new keys get `make`, keys gone are removed.
 */
export function reconcile<T>(
  parent: Element,
  items: readonly T[],
  key: (item: T) => string,
  make: (item: T) => View<T>,
): void {
  const old = (views.get(parent) ?? new Map()) as Map<string, View<T>>;
  const next = new Map<string, View<T>>();
  let cursor: ChildNode | null = parent.firstChild;
  for (const item of items) {
    const k = key(item);
    let v = old.get(k);
    if (!v) {
      v = make(item);
    }
    v.update(item);
    next.set(k, v);
    if (v.el === cursor) {
      cursor = cursor.nextSibling;
    } else {
      parent.insertBefore(v.el, cursor);
    }
  }
  for (const [k, v] of old) {
    if (!next.has(k)) {
      v.el.remove();
    }
  }
  views.set(parent, next);
}

/** Samples kept per figure: a minute and a half at one refresh per 1.5 s. */
export const HISTORY = 60;

/**
 * Recent values of every figure that has a sparkline, by key, one sample per refresh (a redraw within
 * a refresh replaces its sample); figures not seen in a refresh are dropped at its end.
 */
export class History {
  readonly #series = new Map<string, { values: number[]; refresh: number }>();
  #refresh = 0;

  push(key: string, value: number): number[] {
    let s = this.#series.get(key);
    if (!s) {
      s = { values: [], refresh: -1 };
      this.#series.set(key, s);
    }
    const v = Number.isFinite(value) ? value : 0;
    if (s.refresh === this.#refresh) {
      s.values[s.values.length - 1] = v;
    } else {
      s.values.push(v);
      s.refresh = this.#refresh;
    }
    if (s.values.length > HISTORY) {
      s.values.shift();
    }
    return s.values;
  }

  /** Ends a refresh: series not pushed to during it are forgotten. */
  sweep(): void {
    for (const [k, s] of this.#series) {
      if (s.refresh !== this.#refresh) {
        this.#series.delete(k);
      }
    }
    this.#refresh++;
  }
}

const SPARK_W = 90;
const SPARK_H = 22;

/** An inline SVG sparkline; `draw(values, max?)` redraws it (max: the top of the scale, e.g. 1 for loss). */
export function sparkline(kind: 'bitrate' | 'loss'): {
  el: SVGSVGElement;
  draw(values: number[], max?: number): void;
} {
  const root = svg('svg', {
    class: `spark ${kind}`,
    width: SPARK_W,
    height: SPARK_H,
    viewBox: `0 0 ${SPARK_W} ${SPARK_H}`,
    'aria-hidden': 'true',
  });
  const area = svg('polygon', { class: 'area' });
  const line = svg('polyline', { class: 'line' });
  root.append(area, line);
  return {
    el: root,
    draw(values: number[], max?: number): void {
      const top = Math.max(max ?? 0, ...values, kind === 'loss' ? 0.05 : 1);
      // The history so far fills the width (a new figure's line is not a stub at the right edge).
      const step = SPARK_W / Math.max(1, values.length - 1);
      const x0 = values.length > 1 ? 0 : SPARK_W;
      const pts = values.map((v, i) => {
        const x = x0 + i * step;
        const y = SPARK_H - 1 - (v / top) * (SPARK_H - 2);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      line.setAttribute('points', pts.join(' '));
      area.setAttribute(
        'points',
        pts.length > 0 ? `${x0.toFixed(1)},${SPARK_H} ${pts.join(' ')} ${SPARK_W},${SPARK_H}` : '',
      );
    },
  };
}

/** 1234567 → "1.2 Mb/s". */
export function formatBitrate(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) {
    return '0 b/s';
  }
  if (bps < 1000) {
    return `${Math.round(bps)} b/s`;
  }
  if (bps < 1_000_000) {
    return `${(bps / 1000).toFixed(bps < 10_000 ? 1 : 0)} kb/s`;
  }
  return `${(bps / 1_000_000).toFixed(1)} Mb/s`;
}

/** 0.034 → "3.4 %". */
export function formatLoss(loss: number): string {
  return `${(loss * 100).toFixed(loss > 0 && loss < 0.1 ? 1 : 0)} %`;
}

/** Bytes → "12 MB". */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) {
    return '–';
  }
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** Seconds → "1 h 02 min", "3 min 05 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) {
    return `${h} h ${String(m).padStart(2, '0')} min`;
  }
  if (m > 0) {
    return `${m} min ${String(r).padStart(2, '0')} s`;
  }
  return `${r} s`;
}

/** 12345 → "12 345". */
export function formatCount(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n)
    ? '–'
    : Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
}
