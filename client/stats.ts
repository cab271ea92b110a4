/**
 * Per-track media figures from the client's two PCs' `getStats()`: inbound RTP of the subscriber for
 * remote streams, outbound RTP of the publisher for our own (simulcast layers summed). Rates are over
 * the interval since the previous `sample()`, so call it periodically (every second or so).
 */
import type { Client } from './Client.ts';
import type { MediaKind } from './types.ts';

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

export interface TrackStats {
  /** The stream the track belongs to (a remote stream's id is the roster's streamId). */
  streamId: string;
  trackId: string;
  kind: MediaKind;
  /** `inbound`: a remote track we receive; `outbound`: one we send. */
  direction: 'inbound' | 'outbound';
  /** Bits per second over the last interval (all layers for a simulcast track). */
  bitrate: number;
  /** Video: the frame size received or sent (largest layer), 0 when unknown. */
  width: number;
  height: number;
  frameRate: number;
  /** Fraction of packets lost over the last interval (0…1; outbound: as the server reports it). */
  loss: number;
  /** Round-trip time to the server in ms, undefined before it is measured. */
  rttMs: number | undefined;
  /** e.g. `VP8`, `opus`; empty when unknown. */
  codec: string;
  /** Simulcast layer: inbound, the one received (from `activeLayer`); outbound, the rids being sent. */
  layer: string;
  quality: Quality;
}

/** good below 2 % loss and 250 ms RTT, poor from 8 % loss or 600 ms RTT, else fair. */
export function qualityOf(loss: number, rttMs: number | undefined): Quality {
  if (!Number.isFinite(loss)) {
    return 'unknown';
  }
  const rtt = rttMs ?? 0;
  if (loss >= 0.08 || rtt >= 600) {
    return 'poor';
  }
  if (loss >= 0.02 || rtt >= 250) {
    return 'fair';
  }
  return 'good';
}

/** The worst of several qualities (a tile's audio and video), `unknown` when none is known. */
export function worstQuality(qualities: Quality[]): Quality {
  for (const q of ['poor', 'fair', 'good'] as const) {
    if (qualities.includes(q)) {
      return q;
    }
  }
  return 'unknown';
}

interface Counter {
  at: number;
  bytes: number;
  packets: number;
  lost: number;
}

type Stat = Record<string, unknown> & { id: string; type: string; timestamp: number };

/**
 * ```ts
 * const sampler = new StatsSampler(client);
 * setInterval(async () => render(await sampler.sample()), 1000);
 * ```
 */
export class StatsSampler {
  readonly client: Client;
  /** Previous counters by RTP stats id, for rates. */
  #previous = new Map<string, Counter>();
  readonly #layers = new Map<string, string>();

  constructor(client: Client) {
    this.client = client;
    client.on('activelayer', (l) => this.#layers.set(l.streamId, l.activeLayer));
    client.on('reconnected', () => this.#previous.clear());
  }

  /** Figures of every track sent and received now; empty once the client is closed. */
  async sample(): Promise<TrackStats[]> {
    const client = this.client;
    if (client.closed) {
      return [];
    }
    const [pub, sub] = await Promise.all([
      client.publisher.getStats().catch(() => undefined),
      client.subscriber.getStats().catch(() => undefined),
    ]);
    const seen = new Map<string, Counter>();
    const out = [...(sub ? this.#inbound(sub, seen) : []), ...(pub ? this.#outbound(pub, seen) : [])];
    this.#previous = seen;
    return out;
  }

  #inbound(report: RTCStatsReport, seen: Map<string, Counter>): TrackStats[] {
    const stats = all(report);
    const streamOf = new Map<string, string>();
    for (const [id, stream] of this.client.remoteStreams) {
      for (const t of stream.getTracks()) {
        streamOf.set(t.id, id);
      }
    }
    const rttMs = pairRtt(stats);
    const out: TrackStats[] = [];
    for (const s of stats.values()) {
      if (s.type !== 'inbound-rtp' || (s.kind !== 'audio' && s.kind !== 'video')) {
        continue;
      }
      const trackId = str(s.trackIdentifier);
      const streamId = streamOf.get(trackId);
      if (streamId === undefined) {
        continue;
      }
      const counter: Counter = {
        at: s.timestamp,
        bytes: num(s.bytesReceived),
        packets: num(s.packetsReceived),
        lost: num(s.packetsLost),
      };
      seen.set(s.id, counter);
      const rate = this.#rate(s.id, counter);
      out.push({
        streamId,
        trackId,
        kind: s.kind,
        direction: 'inbound',
        bitrate: rate.bitrate,
        width: num(s.frameWidth),
        height: num(s.frameHeight),
        frameRate: num(s.framesPerSecond),
        loss: rate.loss,
        rttMs,
        codec: codecName(stats, s.codecId),
        layer: s.kind === 'video' ? (this.#layers.get(streamId) ?? '') : '',
        quality: rate.measured ? qualityOf(rate.loss, rttMs) : 'unknown',
      });
    }
    return out;
  }

  #outbound(report: RTCStatsReport, seen: Map<string, Counter>): TrackStats[] {
    const stats = all(report);
    const streamOf = new Map<string, string>();
    for (const stream of this.client.localStreams) {
      for (const t of stream.getTracks()) {
        streamOf.set(t.id, stream.id);
      }
    }
    const remoteInbound = new Map<string, Stat>();
    for (const s of stats.values()) {
      if (s.type === 'remote-inbound-rtp' && typeof s.localId === 'string') {
        remoteInbound.set(s.localId, s);
      }
    }
    const pairMs = pairRtt(stats);
    const byTrack = new Map<string, TrackStats>();
    for (const s of stats.values()) {
      if (s.type !== 'outbound-rtp' || (s.kind !== 'audio' && s.kind !== 'video')) {
        continue;
      }
      const source = typeof s.mediaSourceId === 'string' ? stats.get(s.mediaSourceId) : undefined;
      const trackId = str(source?.trackIdentifier);
      const streamId = streamOf.get(trackId);
      if (streamId === undefined) {
        continue;
      }
      const counter: Counter = {
        at: s.timestamp,
        bytes: num(s.bytesSent),
        packets: num(s.packetsSent),
        lost: 0,
      };
      seen.set(s.id, counter);
      const { bitrate, measured } = this.#rate(s.id, counter);
      const remote = remoteInbound.get(s.id);
      const known = measured || remote !== undefined;
      const loss = num(remote?.fractionLost);
      const rttMs = typeof remote?.roundTripTime === 'number' ? remote.roundTripTime * 1000 : pairMs;
      const sending = s.active !== false && bitrate > 0;
      const layer = typeof s.rid === 'string' && sending ? s.rid : '';
      const row = byTrack.get(trackId);
      if (!row) {
        byTrack.set(trackId, {
          streamId,
          trackId,
          kind: s.kind,
          direction: 'outbound',
          bitrate,
          width: num(s.frameWidth),
          height: num(s.frameHeight),
          frameRate: num(s.framesPerSecond),
          loss,
          rttMs,
          codec: codecName(stats, s.codecId),
          layer,
          quality: known ? qualityOf(loss, rttMs) : 'unknown',
        });
        continue;
      }
      // Another simulcast layer of the same track.
      row.bitrate += bitrate;
      if (num(s.frameWidth) > row.width) {
        row.width = num(s.frameWidth);
        row.height = num(s.frameHeight);
        row.frameRate = num(s.framesPerSecond);
      }
      row.loss = Math.max(row.loss, loss);
      row.rttMs = row.rttMs === undefined ? rttMs : Math.max(row.rttMs, rttMs ?? 0);
      row.codec ||= codecName(stats, s.codecId);
      row.layer = [row.layer, layer].filter((l) => l !== '').join(' ');
      if (known || row.quality !== 'unknown') {
        row.quality = qualityOf(row.loss, row.rttMs);
      }
    }
    return [...byTrack.values()];
  }

  /** Bitrate and loss fraction since the previous sample of the same RTP stream. */
  #rate(id: string, now: Counter): { bitrate: number; loss: number; measured: boolean } {
    const before = this.#previous.get(id);
    if (!before || now.at <= before.at) {
      return { bitrate: 0, loss: 0, measured: false };
    }
    const bitrate = ((now.bytes - before.bytes) * 8 * 1000) / (now.at - before.at);
    const received = now.packets - before.packets;
    const lost = Math.max(0, now.lost - before.lost);
    return {
      bitrate: Math.max(0, bitrate),
      loss: received + lost > 0 ? lost / (received + lost) : 0,
      measured: true,
    };
  }
}

function all(report: RTCStatsReport): Map<string, Stat> {
  const map = new Map<string, Stat>();
  report.forEach((s: Stat) => map.set(s.id, s));
  return map;
}

/** RTT of the selected ICE candidate pair, in ms. */
function pairRtt(stats: Map<string, Stat>): number | undefined {
  for (const s of stats.values()) {
    if (s.type !== 'transport' || typeof s.selectedCandidatePairId !== 'string') {
      continue;
    }
    const rtt = stats.get(s.selectedCandidatePairId)?.currentRoundTripTime;
    if (typeof rtt === 'number') {
      return rtt * 1000;
    }
  }
  for (const s of stats.values()) {
    if (s.type === 'candidate-pair' && s.nominated === true && typeof s.currentRoundTripTime === 'number') {
      return s.currentRoundTripTime * 1000;
    }
  }
  return undefined;
}

function codecName(stats: Map<string, Stat>, codecId: unknown): string {
  const mime = typeof codecId === 'string' ? str(stats.get(codecId)?.mimeType) : '';
  return mime.includes('/') ? mime.slice(mime.indexOf('/') + 1) : mime;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
