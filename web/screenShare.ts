/**
 * Screen sharing on the page: a Share screen button (SDK `ScreenShare`), a local preview tile while
 * sharing, and the mark on every tile that shows a screen share: `data-screen="1"`, a `screen` tag in
 * its label, and a bubbling `screenchange` event on the tile, for the layout to show it large.
 * Test hooks: `#share`, `.tile[data-screen="1"]`, `.tile.local.screen`.
 */
import type { Meeting } from '../client/index.ts';
import { ScreenShare } from '../client/index.ts';
import { addControl, errorText, h } from './panels.ts';

export interface ShareUiOptions {
  /** Where the tiles are (the local preview goes there too). */
  grid: HTMLElement;
  status(text: string): void;
}

/** Mounts the Share screen button and the screen marks; returns what removes them (and stops sharing). */
export function mountScreenShare(meeting: Meeting, options: ShareUiOptions): () => void {
  const share = new ScreenShare(meeting);
  const button = h(
    'button',
    { id: 'share', type: 'button', class: 'toggle', 'aria-pressed': 'false' },
    'Share screen',
  );
  button.hidden = typeof navigator.mediaDevices?.getDisplayMedia !== 'function';
  addControl(button);
  let preview: HTMLElement | null = null;

  button.addEventListener('click', () => {
    if (share.active) {
      share.stop();
      return;
    }
    button.disabled = true;
    share
      .start()
      .catch((err: unknown) => {
        // Cancelling the browser's picker is not an error worth more than a line; it comes as
        // NotAllowedError ("Permission denied"), which says nothing to a user who just cancelled.
        const cancelled = err instanceof DOMException && err.name === 'NotAllowedError';
        options.status(
          cancelled
            ? 'Screen not shared (cancelled, or blocked by the browser)'
            : `Screen not shared: ${errorText(err)}`,
        );
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  share.on('started', (stream) => {
    button.textContent = 'Stop sharing';
    button.setAttribute('aria-pressed', 'true');
    const video = h('video', { autoplay: true, playsinline: true });
    video.muted = true;
    video.srcObject = stream;
    preview = h(
      'div',
      { class: 'tile local screen', 'data-stream-id': stream.id, 'data-screen': '1' },
      video,
      h('div', { class: 'label' }, h('span', { class: 'name' }, 'Your screen')),
    );
    options.grid.append(preview);
    preview.dispatchEvent(new Event('screenchange', { bubbles: true }));
  });
  share.on('stopped', () => {
    button.textContent = 'Share screen';
    button.setAttribute('aria-pressed', 'false');
    preview?.remove();
    preview = null;
  });

  /** Marks (or unmarks) the remote tiles showing a screen share. */
  const mark = (): void => {
    const screens = meeting.screenStreams;
    for (const tile of options.grid.querySelectorAll<HTMLElement>('.tile.remote[data-stream-id]')) {
      const isScreen = screens.has(tile.dataset.streamId ?? '');
      if ((tile.dataset.screen === '1') === isScreen) {
        continue;
      }
      if (isScreen) {
        tile.dataset.screen = '1';
        tile.querySelector('.label')?.append(h('span', { class: 'screen-tag' }, 'screen'));
      } else {
        delete tile.dataset.screen;
        tile.querySelector('.screen-tag')?.remove();
      }
      tile.dispatchEvent(new Event('screenchange', { bubbles: true }));
    }
  };
  const observer = new MutationObserver(mark);
  observer.observe(options.grid, { childList: true });
  const offPeers = meeting.on('peers', mark);
  mark();
  return () => {
    observer.disconnect();
    offPeers();
    share.stop();
    button.remove();
  };
}
