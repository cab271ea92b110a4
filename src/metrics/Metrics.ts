import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { SFU } from '../media/index.ts';
import { RESIDENCE_BUCKETS, residenceHistogram, residenceQuantiles } from '../media/residence.ts';
import { nativeAvailable } from '../media/srtp/index.ts';
import { RtpStreamMetrics } from './RtpStreamMetrics.ts';

/**
 * Prometheus metrics with ion-sfu's names (`sfu_sessions`, `sfu_peers`, `sfu_audio_tracks`,
 * `sfu_video_tracks`) plus RTP totals and Node process metrics. Values are read from the media core
 * at scrape time, so nothing is counted in the per-packet path.
 */
export interface MetricsOptions {
  /** The cluster's namespace and this process's region (`[global] cluster` / `dc`). */
  cluster: string;
  dc: string;
  /** The media node of this process, if it runs one. */
  sfu?: { node: string; sfu: SFU } | undefined;
  /** The registry's placement counts, if this process runs the registry role. */
  placements?: { readonly local: number; readonly otherRegion: number } | undefined;
  /** `[sfu] withstats`: ION's per-stream `rtp_*` histograms (RtpStreamMetrics.ts). */
  withStats?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  #streams: RtpStreamMetrics | undefined;

  constructor(o: MetricsOptions) {
    collectDefaultMetrics({ register: this.registry });
    const reg = [this.registry];
    // Where this process sits: dashboards group nodes by region with it (`* on(instance) group_left(dc)`).
    new Gauge({
      name: 'switchboard_info',
      help: 'Always 1: the cluster, region (dc) and media node id of this process',
      labelNames: ['cluster', 'dc', 'node'],
      registers: reg,
    }).set({ cluster: o.cluster, dc: o.dc, node: o.sfu?.node ?? '' }, 1);
    const placements = o.placements;
    if (placements) {
      new Counter({
        name: 'registry_placements',
        help: "Joins placed by this registry: on a node of the client's region (local) or, none of its nodes taking peers, of another (other)",
        labelNames: ['region'],
        registers: reg,
        collect() {
          this.reset();
          this.inc({ region: 'local' }, placements.local);
          this.inc({ region: 'other' }, placements.otherRegion);
        },
      });
    }
    if (!o.sfu) {
      return;
    }
    const sfu = o.sfu.sfu;
    if (o.withStats) {
      this.#streams = new RtpStreamMetrics(sfu, this.registry);
    }
    const census = () => {
      let peers = 0;
      let audio = 0;
      let video = 0;
      let sessions = 0;
      const io = {
        packetsIn: sfu.totals.packetsIn,
        bytesIn: sfu.totals.bytesIn,
        packetsOut: sfu.totals.packetsOut,
        bytesOut: sfu.totals.bytesOut,
        fastStarts: sfu.totals.fastStarts,
        nacksIn: sfu.totals.nacksIn,
        retransmitted: sfu.totals.retransmitted,
      };
      for (const s of sfu.sessions) {
        sessions++;
        for (const p of s.peers) {
          peers++;
          for (const r of p.receivers) {
            if (r.kind === 'audio') {
              audio++;
            } else {
              video++;
            }
            io.packetsIn += r.packets;
            io.bytesIn += r.bytes;
          }
          for (const dt of p.subscriber.downTracks) {
            io.packetsOut += dt.packetsSent;
            io.bytesOut += dt.bytesSent;
            io.fastStarts += dt.fastStarts;
            io.nacksIn += dt.nacksReceived;
            io.retransmitted += dt.retransmitted;
          }
        }
      }
      return { sessions, peers, audio, video, io };
    };
    const gauge = (name: string, help: string, pick: (c: ReturnType<typeof census>) => number) =>
      new Gauge({
        name,
        help,
        registers: reg,
        collect() {
          this.set(pick(census()));
        },
      });
    gauge('sfu_sessions', 'Sessions (rooms) on this node', (c) => c.sessions);
    gauge('sfu_peers', 'Peers connected to this node', (c) => c.peers);
    gauge('sfu_audio_tracks', 'Published audio tracks', (c) => c.audio);
    gauge('sfu_video_tracks', 'Published video tracks', (c) => c.video);
    new Counter({
      name: 'rtp_packets',
      help: 'RTP packets received from publishers (in) and forwarded to subscribers (out)',
      labelNames: ['direction'],
      registers: reg,
      collect() {
        const c = census();
        this.reset();
        this.inc({ direction: 'in' }, c.io.packetsIn);
        this.inc({ direction: 'out' }, c.io.packetsOut);
      },
    });
    new Counter({
      name: 'rtp_bytes',
      help: 'RTP payload bytes received from publishers (in) and forwarded to subscribers (out)',
      labelNames: ['direction'],
      registers: reg,
      collect() {
        const c = census();
        this.reset();
        this.inc({ direction: 'in' }, c.io.bytesIn);
        this.inc({ direction: 'out' }, c.io.bytesOut);
      },
    });
    new Gauge({
      name: 'sfu_forward_residence_microseconds',
      help: 'Time an incoming packet spends in the forwarding code until its last subscriber send (recent packets)',
      labelNames: ['quantile'],
      registers: reg,
      collect() {
        const q = residenceQuantiles([0.5, 0.99]);
        this.reset();
        if (q) {
          this.set({ quantile: '0.5' }, q[0]!);
          this.set({ quantile: '0.99' }, q[1]!);
        }
      },
    });
    // A histogram the media core counts itself (prom-client's Histogram would be fed per packet);
    // registered as a plain metric object that prom-client formats like its own histograms.
    const residence = 'sfu_forward_residence_seconds';
    const help = 'Time an incoming packet spends in the forwarding code until its last subscriber send';
    this.registry.registerMetric({
      name: residence,
      help,
      type: 'histogram',
      reset() {},
      get() {
        const h = residenceHistogram();
        const bucket = `${residence}_bucket`;
        return {
          name: residence,
          help,
          type: 'histogram',
          aggregator: 'sum',
          values: [
            ...RESIDENCE_BUCKETS.map((le, i) => ({
              labels: { le },
              value: h.cumulative[i]!,
              metricName: bucket,
            })),
            { labels: { le: '+Inf' }, value: h.count, metricName: bucket },
            { labels: {}, value: h.sum, metricName: `${residence}_sum` },
            { labels: {}, value: h.count, metricName: `${residence}_count` },
          ],
        };
      },
    } as unknown as Metric);
    new Counter({
      name: 'sfu_ingress_packets',
      help: 'SRTP packets from publishers by outcome: forwarded (authenticated and routed to a track), dropped (failed authentication, replayed, malformed) or unrouted (authenticated, no track)',
      labelNames: ['result'],
      registers: reg,
      collect() {
        const t = sfu.ingressTotals();
        this.reset();
        this.inc({ result: 'forwarded' }, t.packets - t.unrouted);
        this.inc({ result: 'dropped' }, t.dropped);
        this.inc({ result: 'unrouted' }, t.unrouted);
      },
    });
    new Counter({
      name: 'sfu_fast_starts',
      help: "Subscribers' video that began with a replay of the publisher's latest keyframe instead of a keyframe request",
      registers: reg,
      collect() {
        this.reset();
        this.inc(census().io.fastStarts);
      },
    });
    new Counter({
      name: 'sfu_nack_requests',
      help: 'Packets the SFU asked publishers to retransmit (generic NACK entries), lost on the way in',
      registers: reg,
      collect() {
        this.reset();
        this.inc(sfu.ingressTotals().nacksSent);
      },
    });
    new Counter({
      name: 'sfu_subscriber_nacks',
      help: 'Packets subscribers asked the SFU to retransmit (generic NACK entries, repeats included)',
      registers: reg,
      collect() {
        this.reset();
        this.inc(census().io.nacksIn);
      },
    });
    new Counter({
      name: 'sfu_retransmissions',
      help: 'Packets the SFU resent to subscribers from its packet cache in answer to their NACKs',
      registers: reg,
      collect() {
        this.reset();
        this.inc(census().io.retransmitted);
      },
    });
    new Gauge({
      name: 'sfu_srtp_native',
      help: '1 when forwarded packets are encrypted by the native accelerator, 0 for the TypeScript path',
      registers: reg,
      collect() {
        this.set(nativeAvailable() ? 1 : 0);
      },
    });
  }

  /** Stops the `withstats` sampler. */
  close(): void {
    this.#streams?.close();
  }
}
