// Two independent libwebrtc clients (@roamhq/wrtc) in one room, each publishing audio and video.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/waitFor.ts';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

void describe('two wrtc peers in one room', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let alice: WrtcPeer | undefined;
  let bob: WrtcPeer | undefined;

  before(async () => {
    sb = await startSwitchboard();
    alice = await WrtcPeer.connect(wsUrlOf(sb.url), 'alice');
    bob = await WrtcPeer.connect(wsUrlOf(sb.url), 'bob');
    await alice.join('two-peers', 'alice');
    await bob.join('two-peers', 'bob');
    await alice.publish();
    await bob.publish();
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await sb?.close();
  });

  void it('each peer decodes more than 20 video frames of the other', async () => {
    const a = alice!;
    const b = bob!;
    await waitFor(() => a.videoFrames(b.publishedStreamId) > 20, {
      what: 'alice to decode 20 frames of bob',
    });
    await waitFor(() => b.videoFrames(a.publishedStreamId) > 20, {
      what: 'bob to decode 20 frames of alice',
    });
  });

  void it('each peer receives more than 50 audio packets', async () => {
    for (const peer of [alice!, bob!]) {
      await waitFor(async () => (await peer.inboundStats()).audio > 50, {
        what: `${peer.label} to receive 50 audio packets`,
      });
    }
  });

  void it('each peer receives the other stream and not its own', () => {
    assert.deepEqual([...alice!.remoteStreamIds()], [bob!.publishedStreamId]);
    assert.deepEqual([...bob!.remoteStreamIds()], [alice!.publishedStreamId]);
  });

  void it('/metrics reports sfu_peers 2', async () => {
    const s = sb!;
    await waitFor(async () => metricValue(await fetchMetrics(s), 'sfu_peers') === 2, {
      what: '/metrics to show sfu_peers 2',
    });
  });

  void it('/metrics has a residence histogram of the forwarded packets: cumulative buckets, +Inf = count', async () => {
    const text = await fetchMetrics(sb!);
    const count = metricValue(text, 'sfu_forward_residence_seconds_count') ?? 0;
    assert.ok(count > 50, `residence samples: ${count}`); // one per incoming packet with subscribers
    const buckets = [...text.matchAll(/^sfu_forward_residence_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map(
      (m) => [m[1]!, Number(m[2])] as const,
    );
    assert.ok(buckets.length > 10);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(buckets[i]![1] >= buckets[i - 1]![1], `bucket le=${buckets[i]![0]} is cumulative`);
    }
    assert.deepEqual(buckets.at(-1), ['+Inf', count]);
    const sum = metricValue(text, 'sfu_forward_residence_seconds_sum')!;
    assert.ok(sum > 0 && sum / count < 0.05, `mean residence ${(sum / count) * 1000} ms`);
  });

  void it('/metrics counts the ingress: SRTP packets forwarded through our ingress, none dropped', async () => {
    const text = await fetchMetrics(sb!);
    const forwarded = metricValue(text, 'sfu_ingress_packets', { result: 'forwarded' }) ?? 0;
    const rtpIn = metricValue(text, 'rtp_packets', { direction: 'in' }) ?? Infinity;
    assert.ok(forwarded > 100, `forwarded ${forwarded}`);
    // Every packet a Receiver counted came through the ingress (the ingress counter is read a moment later).
    assert.ok(forwarded >= rtpIn, `ingress ${forwarded} vs receivers ${rtpIn}`);
    assert.equal(metricValue(text, 'sfu_ingress_packets', { result: 'dropped' }), 0);
  });

  void it('/metrics names the region and cluster, and counts both joins as placed in the region', async () => {
    const s = sb!;
    const text = await fetchMetrics(s);
    const node = s.sfu!.nodeId;
    assert.equal(metricValue(text, 'switchboard_info', { cluster: 'dc1', dc: 'dc1', node }), 1);
    assert.ok((metricValue(text, 'registry_placements', { region: 'local' }) ?? 0) >= 2, 'placements');
    assert.equal(metricValue(text, 'registry_placements', { region: 'other' }), 0);
  });

  void it('sfu_peers drops to 0 once both peers have left', async () => {
    const s = sb!;
    await alice!.close();
    await bob!.close();
    await waitFor(async () => metricValue(await fetchMetrics(s), 'sfu_peers') === 0, {
      what: '/metrics to show sfu_peers 0',
    });
  });
});
