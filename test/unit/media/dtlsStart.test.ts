// Workaround 15: a second RTCDtlsTransport.start() while the first is under way (werift's connect()
// after a renegotiation's answer) joins it instead of rejecting with "state must be new".
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import type { RTCDtlsTransport } from 'werift';
import { createPeerConnection } from '../../../src/media/werift.ts';

await test('a DTLS start while one is under way joins it instead of rejecting', async () => {
  const client = createPeerConnection('subscriber', { iceServers: [], iceLite: false });
  const server = createPeerConnection('publisher', { iceServers: [], iceLite: true });
  try {
    client.addTransceiver('audio', { direction: 'sendonly' });
    await client.setLocalDescription(await client.createOffer());
    await server.setRemoteDescription(client.localDescription!);
    const dtls = (server as any).secureManager.dtlsTransports[0] as RTCDtlsTransport;
    assert.equal(dtls.state, 'new');
    const first = dtls.start();
    const second = dtls.start();
    // No ICE: the handshake never completes, so both stay pending; before the fix `second` rejected.
    const outcome = await Promise.race([
      second.then(
        () => 'resolved',
        (err: Error) => err.message,
      ),
      sleep(300).then(() => 'pending'),
    ]);
    assert.equal(outcome, 'pending');
    assert.equal(dtls.state, 'connecting');
    first.catch(() => undefined);
    second.catch(() => undefined);
  } finally {
    await client.close();
    await server.close();
  }
});
