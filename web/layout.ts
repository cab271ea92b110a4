/**
 * Places the tiles of the conference (every `.tile` child of the container, whoever added it) so they
 * fit the container at any size, phone width included: `grid` gives every tile the same, largest
 * 16:9 size that fits; `speaker` shows one tile large (a shared screen, else the active speaker) and the
 * others in a strip below. Another participant's shared screen is shown large in grid mode too. Tiles are absolutely positioned; the container is `position: relative`.
 * Test hooks: the container's `data-layout`, the large tile's `.featured`.
 */
export type LayoutMode = 'grid' | 'speaker';

/** A rectangle in the container's pixels. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

const ASPECT = 16 / 9;
/** The large tile changes at most this often, so several voices at once do not make it flicker. */
const FEATURE_HOLD_MS = 2000;

/**
 * `n` equal 16:9 rectangles in `width` × `height` with `gap` between them: the column count that gives
 * the largest tiles, rows centred, the last row centred too.
 */
export function gridRects(n: number, width: number, height: number, gap: number): Rect[] {
  if (n <= 0 || width <= 0 || height <= 0) {
    return [];
  }
  let best = { cols: 1, w: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - (cols - 1) * gap) / cols, ((height - (rows - 1) * gap) / rows) * ASPECT);
    if (w > best.w) {
      best = { cols, w };
    }
  }
  const { cols } = best;
  const w = Math.max(0, best.w);
  const h = w / ASPECT;
  const rows = Math.ceil(n / cols);
  const top0 = (height - (rows * h + (rows - 1) * gap)) / 2;
  const rects: Rect[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    const inRow = row === rows - 1 ? n - row * cols : cols;
    const left0 = (width - (inRow * w + (inRow - 1) * gap)) / 2;
    rects.push({ left: left0 + (i % cols) * (w + gap), top: top0 + row * (h + gap), width: w, height: h });
  }
  return rects;
}

/**
 * Speaker layout: the first rectangle is the large one (16:9, as large as fits above the strip), the
 * others share a strip along the bottom (at most a fifth of the height, between 56 and 140 px).
 */
export function speakerRects(n: number, width: number, height: number, gap: number): Rect[] {
  if (n <= 1) {
    return gridRects(n, width, height, gap);
  }
  const others = n - 1;
  const stripH = Math.max(56, Math.min(140, height / 5));
  const stripW = Math.min(stripH * ASPECT, (width - (others - 1) * gap) / others);
  const stripTileH = stripW / ASPECT;
  const mainH = height - stripTileH - gap;
  const [main] = gridRects(1, width, mainH, 0);
  const rects: Rect[] = [main ?? { left: 0, top: 0, width: 0, height: 0 }];
  const left0 = (width - (others * stripW + (others - 1) * gap)) / 2;
  for (let i = 0; i < others; i++) {
    rects.push({
      left: left0 + i * (stripW + gap),
      top: height - stripTileH,
      width: stripW,
      height: stripTileH,
    });
  }
  return rects;
}

/** Keeps a container's tiles laid out: on resize, on tiles coming and going, on the speaker changing. */
export class TileLayout {
  readonly #container: HTMLElement;
  readonly #gap: number;
  #mode: LayoutMode = 'grid';
  /** The tile shown large in speaker mode: the last one marked `.speaking` that is still here. */
  #featured: HTMLElement | null = null;
  #featuredAt = 0;
  #frame = 0;
  readonly #resize: ResizeObserver;
  readonly #mutations: MutationObserver;

  constructor(container: HTMLElement, gap = 12) {
    this.#container = container;
    this.#gap = gap;
    this.#resize = new ResizeObserver(() => this.schedule());
    this.#resize.observe(container);
    this.#mutations = new MutationObserver(() => this.schedule());
    this.#mutations.observe(container, {
      childList: true,
      subtree: true,
      attributeFilter: ['class', 'data-screen'],
    });
    this.#apply();
  }

  get mode(): LayoutMode {
    return this.#mode;
  }

  set mode(mode: LayoutMode) {
    this.#mode = mode;
    this.#apply();
  }

  /** Lays out at the next animation frame (many changes in one frame cost one layout). */
  schedule(): void {
    if (this.#frame === 0) {
      this.#frame = requestAnimationFrame(() => {
        this.#frame = 0;
        this.#apply();
      });
    }
  }

  #tiles(): HTMLElement[] {
    return [...this.#container.children].filter(
      (el): el is HTMLElement => el instanceof HTMLElement && el.classList.contains('tile') && !el.hidden,
    );
  }

  #apply(): void {
    const tiles = this.#tiles();
    // A shared screen first (web/screenShare.ts marks its tile `data-screen="1"`), else the active
    // speaker other than ourselves, held for a moment.
    const screen = tiles.find((t) => t.dataset.screen === '1');
    const speaking = tiles.find((t) => t.classList.contains('speaking') && !t.classList.contains('local'));
    const now = performance.now();
    const held =
      this.#featured !== null && tiles.includes(this.#featured) && now - this.#featuredAt < FEATURE_HOLD_MS;
    const next = screen ?? (held ? undefined : speaking);
    if (next && next !== this.#featured) {
      this.#featured = next;
      this.#featuredAt = now;
      if (!screen) {
        // Look again when the hold ends: the speaker may have changed meanwhile.
        setTimeout(() => this.schedule(), FEATURE_HOLD_MS);
      }
    }
    if (!this.#featured || !tiles.includes(this.#featured) || this.#featured.classList.contains('local')) {
      // Nobody else has spoken yet: the first remote participant, else ourselves.
      this.#featured = tiles.find((t) => !t.classList.contains('local')) ?? tiles[0] ?? null;
    }
    // Someone else's shared screen is shown large in either mode (grid tiles would make it unreadable).
    const remoteScreen = screen !== undefined && !screen.classList.contains('local');
    const speakerMode = (this.#mode === 'speaker' || remoteScreen) && tiles.length > 1;
    const ordered =
      speakerMode && this.#featured ? [this.#featured, ...tiles.filter((t) => t !== this.#featured)] : tiles;
    const { clientWidth: width, clientHeight: height } = this.#container;
    const rects = (speakerMode ? speakerRects : gridRects)(ordered.length, width, height, this.#gap);
    this.#container.dataset.layout = this.#mode;
    ordered.forEach((tile, i) => {
      const r = rects[i];
      tile.classList.toggle('featured', speakerMode && i === 0);
      tile.classList.toggle('strip', speakerMode && i > 0);
      if (!r) {
        return;
      }
      tile.style.left = `${Math.round(r.left)}px`;
      tile.style.top = `${Math.round(r.top)}px`;
      tile.style.width = `${Math.round(r.width)}px`;
      tile.style.height = `${Math.round(r.height)}px`;
    });
  }

  close(): void {
    this.#resize.disconnect();
    this.#mutations.disconnect();
    cancelAnimationFrame(this.#frame);
  }
}
