// `[sfu] withstats = true`: ION's per-stream rtp_* metrics on /metrics, fed by a libwebrtc client that
// publishes audio and video in one stream — packets expected and received each second (received close
// to the client's own count), loss, jitter and the audio-video capture drift from its sender reports.
// Without withstats (the default) none of them is exposed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

/** RTP packets the client's publisher PC sent (outbound-rtp `packetsSent`, every kind). */
async function packetsSent(p: WrtcPeer): Promise<number> {
  let n = 0;
  (await p.publisher.getStats()).forEach((s: Record<string, unknown>) => {
    if (s.type === 'outbound-rtp' && typeof s.packetsSent === 'number') {
      n += s.packetsSent;
    }
  });
  return n;
}

void describe('withstats: per-stream rtp_* metrics', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let plain: RunningSwitchboard | undefined;
  let peer: WrtcPeer | undefined;

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.sfu.withstats = true;
    });
    peer = await WrtcPeer.connect(wsUrlOf(sb.url), 'pub');
    await peer.join('withstats-room', 'pub');
    await peer.publish();
  });

  after(async () => {
    await peer?.close();
    await sb?.close();
    await plain?.close();
  });

  void it('expected, received, loss, jitter and drift are observed once a second per stream', async () => {
    const text = await waitFor(
      async () => {
        const t = await fetchMetrics(sb!);
        return (metricValue(t, 'rtp_drift_millis_count') ?? 0) >= 3 &&
          (metricValue(t, 'rtp_jitter_count') ?? 0) >= 6
          ? t
          : undefined;
      },
      { what: 'a few seconds of samples of both tracks', timeout: 30_000 },
    );
    const expected = metricValue(text, 'rtp_expected')!;
    const received = metricValue(text, 'rtp_received')!;
    const sent = await packetsSent(peer!);
    assert.ok(received > 100, `received ${received}`);
    assert.ok(received <= sent, `received ${received} of ${sent} sent`);
    // A loopback link loses nothing: every expected packet came.
    assert.ok(expected - received <= 2, `expected ${expected}, received ${received}`);
    assert.equal(
      metricValue(text, 'rtp_lost_rate_count'),
      metricValue(text, 'rtp_expected_minus_received_count'),
    );
    assert.ok((metricValue(text, 'rtp_lost_rate_bucket', { le: '0.01' }) ?? 0) >= 6);
    // Audio and video of one client are captured together: their latest packets lie a frame or so
    // apart (a wrong clock rate or sender-report mapping would put them seconds or hours apart).
    const drift = metricValue(text, 'rtp_drift_millis_sum')! / metricValue(text, 'rtp_drift_millis_count')!;
    assert.ok(drift >= 0 && drift < 400, `mean drift ${drift} ms`);
  });

  void it('off by default: no rtp_expected, rtp_jitter or rtp_drift_millis', async () => {
    plain = await startSwitchboard();
    const text = await fetchMetrics(plain);
    for (const name of ['rtp_expected', 'rtp_jitter_count', 'rtp_drift_millis_count']) {
      assert.equal(metricValue(text, name), undefined, name);
    }
  });
});
