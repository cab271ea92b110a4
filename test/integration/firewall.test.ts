// Clients behind a firewall: UDP blocked → ICE-TCP ([webrtc] tcpport); TCP blocked too → the TURN
// server Switchboard runs (coturn, [turn]) with REST credentials handed out by `iceServers` / GET /ice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  clientFirewall,
  directLink,
  startServerIn,
  type ServerProcess,
  type ServerSide,
} from '../helpers/netns.ts';
import { turnAllocate } from '../helpers/turnAllocate.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { turnRestCredentials } from '../../src/turn/index.ts';

const TCP_PORT = 7881;
const TURN_PORT = 3478;
const SECRET = 'turn-shared-secret-for-tests';

interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

void describe('clients behind a firewall', { timeout: 240_000 }, () => {
  let side: ServerSide | undefined;
  let server: ServerProcess | undefined;
  const peers: WrtcPeer[] = [];
  const rules: { remove(): void }[] = [];

  before(async () => {
    side = directLink();
    server = await startServerIn(
      side,
      `[webrtc]\ntcpport = ${TCP_PORT}\n[turn]\nenabled = true\naddress = "0.0.0.0:${TURN_PORT}"\n[turn.auth]\nsecret = "${SECRET}"\n`,
    );
  });

  after(async () => {
    for (const r of rules) {
      r.remove();
    }
    await Promise.all(peers.map((p) => p.close()));
    await server?.stop();
    side?.close();
  });

  void it('the server runs coturn as its child process', () => {
    assert.ok(server!.children().length >= 1, 'no child process');
  });

  void it('TURN refuses expired REST credentials and accepts fresh ones', async () => {
    const expired = turnRestCredentials(SECRET, 'mallory', -60);
    assert.equal(await turnAllocate(side!.address, TURN_PORT, expired.username, expired.credential), 401);
    const forged = turnRestCredentials('not-the-secret', 'mallory');
    assert.equal(await turnAllocate(side!.address, TURN_PORT, forged.username, forged.credential), 401);
    const fresh = turnRestCredentials(SECRET, 'alice');
    assert.equal(await turnAllocate(side!.address, TURN_PORT, fresh.username, fresh.credential), 'success');
  });

  void it('`iceServers` and GET /ice hand out the TURN server with REST credentials for the caller', async () => {
    const p = await WrtcPeer.connect(wsUrlOf(server!.url), 'asker');
    peers.push(p);
    const viaRpc = await p.call<{ iceServers: IceServer[] }>('iceServers', { uid: 'asker' });
    const viaHttp = (await (await fetch(`${server!.url}/ice?uid=asker`)).json()) as {
      iceServers: IceServer[];
    };
    for (const { iceServers } of [viaRpc, viaHttp]) {
      assert.equal(iceServers.length, 1);
      const turn = iceServers[0]!;
      assert.deepEqual(turn.urls, [
        `turn:${side!.address}:${TURN_PORT}?transport=udp`,
        `turn:${side!.address}:${TURN_PORT}?transport=tcp`,
      ]);
      const [expiry, identity] = turn.username!.split(':');
      assert.equal(identity, 'asker');
      assert.ok(Number(expiry) > Date.now() / 1000 + 3600);
      assert.equal(
        turn.credential,
        turnRestCredentials(SECRET, 'asker', Number(expiry) - Math.floor(Date.now() / 1000)).credential,
      );
    }
  });

  void it('with UDP blocked, clients connect over ICE-TCP and media flows', async () => {
    rules.push(clientFirewall('udp', `    ip daddr ${side!.address} meta l4proto udp drop`));
    const url = wsUrlOf(server!.url);
    const alice = await WrtcPeer.connect(url, 'tcp-alice');
    const bob = await WrtcPeer.connect(url, 'tcp-bob');
    peers.push(alice, bob);
    await alice.join('fw-tcp', 'alice', undefined, 30_000);
    await bob.join('fw-tcp', 'bob', undefined, 30_000);
    await alice.publish();
    await waitFor(() => bob.videoFrames(alice.publishedStreamId) > 20, {
      what: 'bob to decode 20 frames',
      timeout: 45_000,
    });
    for (const target of [0, 1] as const) {
      const pair = await bob.selectedPair(target);
      assert.equal(pair?.local.protocol, 'tcp', JSON.stringify(pair));
      assert.equal(pair?.remote.port, TCP_PORT, JSON.stringify(pair));
    }
  });

  void it('with TCP blocked too (but TURN), clients connect through TURN: relay candidates, media flows', async () => {
    rules.push(
      clientFirewall(
        'tcp',
        `    ip daddr ${side!.address} tcp dport != { ${server!.port}, ${TURN_PORT} } drop`,
      ),
    );
    const ice = (uid: string): Promise<{ iceServers: IceServer[] }> =>
      fetch(`${server!.url}/ice?uid=${uid}`).then((r) => r.json() as Promise<{ iceServers: IceServer[] }>);
    const url = wsUrlOf(server!.url);
    const carol = await WrtcPeer.connect(url, 'turn-carol', await ice('carol'));
    const dave = await WrtcPeer.connect(url, 'turn-dave', await ice('dave'));
    peers.push(carol, dave);
    await carol.join('fw-turn', 'carol', undefined, 45_000);
    await dave.join('fw-turn', 'dave', undefined, 45_000);
    await carol.publish();
    await waitFor(() => dave.videoFrames(carol.publishedStreamId) > 20, {
      what: 'dave to decode 20 frames',
      timeout: 60_000,
    });
    for (const p of [carol, dave]) {
      for (const target of [0, 1] as const) {
        const pair = await p.selectedPair(target);
        assert.equal(pair?.local.type, 'relay', `${p.label} target ${target}: ${JSON.stringify(pair)}`);
      }
    }
  });
});
