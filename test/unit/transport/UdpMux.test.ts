// The shared UDP socket: which datagrams it routes, learns from, and drops (real loopback sockets).
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { classes, Message, methods } from 'werift';
import { UdpMux, type MuxEndpoint } from '../../../src/media/transport/UdpMux.ts';
import { iceUsername, isStun, verifyIntegrity, type Address } from '../../../src/media/transport/stun.ts';
import { waitFor } from '../../helpers/waitFor.ts';

class Endpoint implements MuxEndpoint {
  readonly got: { data: Buffer; from: Address }[] = [];
  constructor(
    readonly ufrag: string,
    readonly pwd: string,
    readonly remoteUfrag = 'them',
  ) {}
  password(u: string): string | undefined {
    return u === this.ufrag ? this.pwd : undefined;
  }
  receive(data: Buffer, from: Address): void {
    this.got.push({ data, from });
  }
}

/** A Binding request for `ufrag`, signed with `password` (werift builds it, as a client would). */
function check(ufrag: string, password: string): Buffer {
  return new Message(methods.BINDING, classes.REQUEST)
    .setAttribute('USERNAME', `${ufrag}:them`)
    .setAttribute('PRIORITY', 1)
    .addMessageIntegrity(Buffer.from(password, 'utf8'))
    .addFingerprint().bytes;
}

void describe('stun helpers', () => {
  void it('read the USERNAME of a check and verify its MESSAGE-INTEGRITY', () => {
    const m = check('abcd', 'secret-password-123456');
    assert.ok(isStun(m));
    assert.deepEqual(iceUsername(m), { local: 'abcd', remote: 'them' });
    assert.ok(verifyIntegrity(m, 'secret-password-123456'));
    assert.ok(!verifyIntegrity(m, 'wrong-password'));
  });
});

void describe('UdpMux', () => {
  let mux: UdpMux;
  let client: Socket;
  let other: Socket;
  const a = new Endpoint('ufa', 'password-of-a-000000000');
  const b = new Endpoint('ufb', 'password-of-b-000000000');
  const to = (): Address => ['127.0.0.1', mux.port];
  const send = (s: Socket, data: Buffer): void => void s.send(data, mux.port, '127.0.0.1');
  const portOf = (s: Socket): number => s.address().port;

  before(async () => {
    mux = await UdpMux.bind(0, '127.0.0.1');
    mux.register(a.ufrag, a);
    mux.register(b.ufrag, b);
    client = createSocket('udp4');
    other = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => other.bind(0, '127.0.0.1', r));
  });

  after(async () => {
    client.close();
    other.close();
    await mux.close();
  });

  void it('drops data and unauthenticated checks from an unknown address', async () => {
    send(client, Buffer.from([0x80, 1, 2, 3]));
    send(client, check(a.ufrag, 'not-the-password'));
    send(client, check('nobody', 'x'));
    await waitFor(() => mux.stats.dropped === 3, { what: 'three drops' });
    assert.equal(a.got.length + b.got.length, 0);
    assert.equal(mux.endpointFor(['127.0.0.1', portOf(client)]), undefined);
  });

  void it('learns an address from an integrity-checked check, then routes its data there', async () => {
    send(client, check(a.ufrag, a.pwd));
    await waitFor(() => a.got.length === 1, { what: 'the check at a' });
    send(client, Buffer.from([0x80, 9]));
    await waitFor(() => a.got.length === 2, { what: 'the data at a' });
    assert.equal(mux.endpointFor(['127.0.0.1', portOf(client)]), a);
    assert.equal(b.got.length, 0);
  });

  void it("an endpoint's send learns a new address but never takes one from another endpoint", async () => {
    mux.send(b, Buffer.from('x'), ['127.0.0.1', portOf(client)]); // a's address
    assert.equal(mux.endpointFor(['127.0.0.1', portOf(client)]), a);
    mux.send(b, Buffer.from('x'), ['127.0.0.1', portOf(other)]);
    assert.equal(mux.endpointFor(['127.0.0.1', portOf(other)]), b);
    send(other, Buffer.from([0x80, 7]));
    await waitFor(() => b.got.length === 1, { what: 'the answer at b' });
  });

  void it('an authenticated check moves an address to its endpoint; unregister forgets it', async () => {
    send(other, check(a.ufrag, a.pwd));
    await waitFor(() => mux.endpointFor(['127.0.0.1', portOf(other)]) === a, { what: 'other to move to a' });
    mux.unregister(a);
    assert.equal(mux.endpointFor(['127.0.0.1', portOf(client)]), undefined);
    assert.equal(mux.endpoints, 1);
    assert.ok(to()[1] > 0);
  });
});
