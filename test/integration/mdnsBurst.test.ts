// A burst of `.local` (mDNS) candidates in one offer: werift starts one lookup per candidate on one
// multicast-dns emitter that allows 50 listeners, so 60 of them raised MaxListenersExceededWarning
// (and held 60 lookups for 10 s each). The server resolves a few at a time and drops the rest.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../helpers/rawSocket.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';

const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc') as { RTCPeerConnection: typeof RTCPeerConnection };

void describe('mDNS candidate burst', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);

  before(async () => {
    process.on('warning', onWarning);
    sb = await startSwitchboard();
  });

  after(async () => {
    process.off('warning', onWarning);
    await sb?.close();
  });

  void it('60 .local candidates in one offer: answered, and no MaxListenersExceededWarning', async () => {
    const pc = new wrtc.RTCPeerConnection();
    pc.createDataChannel('x');
    const offer = await pc.createOffer();
    pc.close();
    const candidates = Array.from(
      { length: 60 },
      (_, i) =>
        `a=candidate:${i + 1} 1 udp 2122260223 ${i.toString(16).padStart(8, '0')}-1111-4111-8111-111111111111.local ${5000 + i} typ host`,
    ).join('\r\n');
    // Into the (only) media section, after its mid.
    const sdp = offer.sdp!.replace(/(a=mid:[^\r\n]+\r\n)/, `$1${candidates}\r\n`);
    const ws = await RawSocket.connect(wsUrlOf(sb!.url));
    try {
      const reply = await ws.request<{ result?: { sdp?: string }; error?: unknown }>(
        JSON.stringify({
          id: 1,
          method: 'join',
          params: { sid: 'mdns', uid: 'm', offer: { type: 'offer', sdp } },
        }),
        20_000,
      );
      assert.ok(reply.result?.sdp, JSON.stringify(reply));
      // Warnings are emitted on the next tick after the listener is added.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exceeded = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
      assert.deepEqual(
        exceeded.map((w) => w.message),
        [],
      );
    } finally {
      await ws.close();
    }
  });
});
