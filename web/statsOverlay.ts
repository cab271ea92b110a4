/**
 * Connection quality on every tile (three bars, from loss and RTT) and a stats overlay (per track:
 * bitrate, resolution, frame rate, loss, RTT, codec, layer), both from the SDK's `StatsSampler` once a
 * second. Test hooks: `.tile .quality[data-quality]`, `#stats-toggle`, `#stats-overlay`, its rows
 * `tr[data-stream-id][data-kind][data-direction]` with cells `.bitrate[data-bps]` and `.resolution`.
 */
import type { Client, Quality, TrackStats } from '../client/index.ts';
import { StatsSampler, worstQuality } from '../client/index.ts';
import { addControl, h, streamTiles } from './panels.ts';

const INTERVAL_MS = 1000;

const QUALITY_WORDS: Record<Quality, string> = {
  good: 'Good connection',
  fair: 'Fair connection',
  poor: 'Poor connection',
  unknown: 'Connection quality not measured yet',
};

/** Mounts the quality bars and the Stats button and overlay; returns what removes them. */
export function mountStats(client: Client): () => void {
  const sampler = new StatsSampler(client);
  const button = h('button', { id: 'stats-toggle', type: 'button', 'aria-pressed': 'false' }, 'Stats');
  const body = h('tbody');
  const overlay = h(
    'div',
    {
      id: 'stats-overlay',
      class: 'stats-overlay',
      hidden: true,
      role: 'dialog',
      'aria-label': 'Media statistics',
    },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Who', 'Track', 'Bitrate', 'Resolution', 'FPS', 'Loss', 'RTT', 'Codec', 'Layer'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      body,
    ),
  );
  document.body.append(overlay);
  addControl(button);
  button.addEventListener('click', () => {
    overlay.hidden = !overlay.hidden;
    button.setAttribute('aria-pressed', String(!overlay.hidden));
  });

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async (): Promise<void> => {
    const rows = await sampler.sample().catch(() => []);
    if (stopped) {
      return;
    }
    showQuality(rows);
    if (!overlay.hidden) {
      body.replaceChildren(...rows.map(statsRow));
    }
    timer = setTimeout(() => void tick(), INTERVAL_MS);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    button.remove();
    overlay.remove();
    for (const q of document.querySelectorAll('.tile .quality')) {
      q.remove();
    }
  };
}

/** Bars on each tile: the worst quality of the tracks of its stream. */
function showQuality(rows: TrackStats[]): void {
  for (const tile of streamTiles()) {
    const id = tile.dataset.streamId;
    const quality = worstQuality(rows.filter((r) => r.streamId === id).map((r) => r.quality));
    let bars = tile.querySelector<HTMLElement>(':scope > .quality');
    if (!bars) {
      bars = h('span', { class: 'quality', role: 'img' }, h('i'), h('i'), h('i'));
      tile.append(bars);
    }
    if (bars.dataset.quality !== quality) {
      bars.dataset.quality = quality;
      bars.title = QUALITY_WORDS[quality];
      bars.setAttribute('aria-label', QUALITY_WORDS[quality]);
    }
  }
}

function statsRow(r: TrackStats): HTMLTableRowElement {
  const tile = streamTiles().find((t) => t.dataset.streamId === r.streamId);
  const who = tile?.querySelector('.name')?.textContent || (r.direction === 'outbound' ? 'You' : r.streamId);
  const video = r.kind === 'video';
  return h(
    'tr',
    {
      'data-stream-id': r.streamId,
      'data-kind': r.kind,
      'data-direction': r.direction,
      'data-quality': r.quality,
    },
    h('td', {}, who),
    h('td', {}, `${r.kind} ${r.direction === 'outbound' ? '↑' : '↓'}`),
    h('td', { class: 'bitrate', 'data-bps': Math.round(r.bitrate) }, formatBitrate(r.bitrate)),
    h('td', { class: 'resolution' }, video && r.width > 0 ? `${r.width}×${r.height}` : '–'),
    h('td', { class: 'fps' }, video && r.frameRate > 0 ? r.frameRate.toFixed(0) : '–'),
    h('td', { class: 'loss' }, `${(r.loss * 100).toFixed(1)} %`),
    h('td', { class: 'rtt' }, r.rttMs === undefined ? '–' : `${Math.round(r.rttMs)} ms`),
    h('td', { class: 'codec' }, r.codec || '–'),
    h('td', { class: 'layer-name' }, r.layer || '–'),
  );
}

function formatBitrate(bps: number): string {
  return bps >= 1_000_000 ? `${(bps / 1_000_000).toFixed(2)} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}
