// What a browser page receives, read from its RTCPeerConnection's getStats() and from the demo page's DOM.
// Page code is passed as strings: tsx's esbuild transform may wrap functions in helpers (`__name`)
// that do not exist inside the page.
import type { Page } from 'playwright-core';

/** The demo page's subscriber PC (`window.sb = {client, joined}`). */
export const DEMO_SUBSCRIBER = 'window.sb && window.sb.client && window.sb.client.subscriber';

export interface InboundVideo {
  /** The receiving track's id (`trackIdentifier`). */
  track: string;
  framesDecoded: number;
  packetsReceived: number;
  /** Width of the last decoded frame, 0 before the first. */
  frameWidth: number;
}

export interface PageRtpStats {
  video: InboundVideo[];
  /** framesDecoded summed over all inbound video. */
  framesDecoded: number;
  /** packetsReceived summed over all inbound audio. */
  audioPackets: number;
}

/** Inbound RTP totals of the RTCPeerConnection that `pcExpression` evaluates to in the page; null if none yet. */
export function inboundStats(page: Page, pcExpression = DEMO_SUBSCRIBER): Promise<PageRtpStats | null> {
  return page.evaluate<PageRtpStats | null>(`(async () => {
    const pc = ${pcExpression};
    if (!pc) return null;
    const report = await pc.getStats();
    const out = { video: [], framesDecoded: 0, audioPackets: 0 };
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        const v = { track: String(s.trackIdentifier || s.id), framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0, frameWidth: s.frameWidth || 0 };
        out.video.push(v);
        out.framesDecoded += v.framesDecoded;
      } else if (s.kind === 'audio') {
        out.audioPackets += s.packetsReceived || 0;
      }
    });
    return out;
  })()`);
}

export interface RemoteTile {
  streamId: string;
  uid: string;
  speaking: boolean;
}

/** The demo page's remote tiles (`.tile.remote[data-stream-id][data-uid]`). */
export function remoteTiles(page: Page): Promise<RemoteTile[]> {
  return page.evaluate<RemoteTile[]>(`Array.from(document.querySelectorAll('.tile.remote')).map((el) => ({
    streamId: el.getAttribute('data-stream-id') || '',
    uid: el.getAttribute('data-uid') || '',
    speaking: el.classList.contains('speaking'),
  }))`);
}
