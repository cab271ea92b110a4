/**
 * DOM helpers of the meeting features (chat, people, stats, screen share): elements built in code so
 * index.html stays as it is, a control-bar button, and side panels of which one is open at a time.
 */

type Props = Record<string, string | boolean | number | undefined>;

/** `<tag>` with attributes (`class`, `id`, `hidden`, `data-*`, …) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) {
      continue;
    }
    el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...children);
  return el;
}

/** The conference's control bar (`.controls`), where feature buttons go before Leave. */
function controls(): HTMLElement {
  const bar = document.querySelector<HTMLElement>('#conference .controls');
  if (!bar) {
    throw new Error('missing #conference .controls');
  }
  return bar;
}

/** Adds a button to the control bar, before the Leave button when there is one. */
export function addControl(button: HTMLButtonElement): void {
  const bar = controls();
  const leave = bar.querySelector('#leave');
  bar.insertBefore(button, leave);
}

export interface SidePanel {
  el: HTMLElement;
  body: HTMLElement;
  /** Shows or hides it; showing it hides the other side panels. */
  toggle(open?: boolean): void;
  readonly open: boolean;
}

/** A side panel with a title and a close button, added to the page, hidden. */
export function sidePanel(id: string, title: string, onToggle?: (open: boolean) => void): SidePanel {
  const body = h('div', { class: 'side-panel-body' });
  const close = h(
    'button',
    { type: 'button', class: 'side-panel-close', 'aria-label': `Close ${title}` },
    '×',
  );
  const el = h(
    'aside',
    { id, class: 'side-panel', hidden: true, 'aria-label': title },
    h('header', {}, h('h2', {}, title), close),
    body,
  );
  document.body.append(el);
  const panel: SidePanel = {
    el,
    body,
    get open() {
      return !el.hidden;
    },
    toggle(open = el.hidden) {
      if (open) {
        for (const other of document.querySelectorAll<HTMLElement>('.side-panel')) {
          if (other !== el && !other.hidden) {
            other.hidden = true;
            other.dispatchEvent(new Event('panelclose'));
          }
        }
      }
      el.hidden = !open;
      onToggle?.(open);
    },
  };
  el.addEventListener('panelclose', () => onToggle?.(false));
  close.addEventListener('click', () => panel.toggle(false));
  return panel;
}

/** The conference's tiles (local and remote) that show a stream. */
export function streamTiles(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>('.tile[data-stream-id]')).filter(
    (t) => t.dataset.streamId !== '',
  );
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
