// LiveKit's data rules on the media node (src/sfu/livekitData.ts): what a LiveKit participant's
// DataPacket becomes, who it is for, and which labels cross between protocols and relay links.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataPacket, DataPacket_Kind, UserPacket } from '@livekit/protocol';
import { MAX_DATA_BYTES } from '../../../src/protocol/room.ts';
import { LIVEKIT_LOSSY, LIVEKIT_RELIABLE, livekitSid } from '../../../src/protocol/livekit.ts';
import {
  livekitDataPolicy,
  livekitForward,
  livekitProtocolReady,
  otherClientDataPolicy,
  relayDataPolicy,
} from '../../../src/sfu/livekitData.ts';

const ROOM = 'room-id';
// The media node loads @livekit/protocol with its first join; here before the first packet.
await livekitProtocolReady();

const alice = { room: ROOM, uid: 'alice', canPublishData: true, hidden: false };

function packet(init: ConstructorParameters<typeof DataPacket>[0]): Buffer {
  return Buffer.from(new DataPacket(init).toBinary());
}

function user(payload: string, extra: Partial<UserPacket> = {}): DataPacket['value'] {
  return { case: 'user', value: new UserPacket({ payload: new TextEncoder().encode(payload), ...extra }) };
}

void describe('LiveKit data policy', () => {
  void it("stamps the sender's identity and sid over what the client wrote, on the packet and its user packet", () => {
    const out = livekitForward(
      alice,
      packet({
        participantIdentity: 'mallory',
        participantSid: 'PA_fake',
        value: user('hi', { participantIdentity: 'mallory' }),
      }),
    );
    assert.ok(out);
    const p = DataPacket.fromBinary(out.data as Buffer);
    assert.equal(p.participantIdentity, 'alice');
    assert.equal(p.participantSid, livekitSid.participant(ROOM, 'alice'));
    assert.equal(p.value.case, 'user');
    const u = p.value.value;
    assert.equal(u.participantIdentity, 'alice');
    assert.equal(u.participantSid, livekitSid.participant(ROOM, 'alice'));
    assert.equal(new TextDecoder().decode(u.payload), 'hi');
    assert.equal(out.to, undefined, 'no destinations: everyone');
    assert.equal(p.kind, DataPacket_Kind.RELIABLE);
    const lossy = livekitForward(
      alice,
      packet({ kind: DataPacket_Kind.RELIABLE, value: user('x') }),
      '_lossy',
    );
    assert.equal(
      DataPacket.fromBinary(lossy!.data as Buffer).kind,
      DataPacket_Kind.LOSSY,
      "the channel's kind",
    );
  });

  void it('destination identities, of the packet or its user packet, restrict who gets it', () => {
    const a = livekitForward(alice, packet({ destinationIdentities: ['bob'], value: user('x') }));
    assert.deepEqual([a?.to?.('bob'), a?.to?.('carol')], [true, false]);
    const b = livekitForward(alice, packet({ value: user('x', { destinationIdentities: ['carol'] }) }));
    assert.deepEqual([b?.to?.('bob'), b?.to?.('carol')], [false, true]);
    // Both levels say the same afterwards (LiveKit's server copies one into the other).
    const p = DataPacket.fromBinary(b!.data as Buffer);
    assert.deepEqual(p.destinationIdentities, ['carol']);
    const c = livekitForward(
      alice,
      packet({ value: user('x', { destinationSids: [livekitSid.participant(ROOM, 'bob')] }) }),
    );
    assert.deepEqual([c?.to?.('bob'), c?.to?.('carol')], [true, false], 'older clients name sids');
  });

  void it('other kinds of packet (chat, RPC, streams) are stamped and addressed too', () => {
    const out = livekitForward(
      alice,
      packet({
        destinationIdentities: ['bob'],
        value: {
          case: 'rpcRequest',
          value: { id: 'r1', method: 'm', payload: '{}', responseTimeoutMs: 1000, version: 1 },
        },
      }),
    );
    const p = DataPacket.fromBinary(out!.data as Buffer);
    assert.equal(p.participantIdentity, 'alice');
    assert.equal(p.value.case, 'rpcRequest');
    assert.deepEqual([out?.to?.('bob'), out?.to?.('carol')], [true, false]);
  });

  void it('refuses without canPublishData, over 64 KiB, undecodable or as text', () => {
    const ok = packet({ value: user('x') });
    assert.equal(livekitForward({ ...alice, canPublishData: false }, ok), undefined);
    const big = packet({ value: user('x'.repeat(MAX_DATA_BYTES)) });
    assert.equal(livekitForward(alice, big), undefined);
    assert.equal(livekitForward(alice, Buffer.from([0xff, 0xff, 0xff, 0xff])), undefined);
    assert.equal(livekitForward(alice, 'hello'), undefined);
  });

  void it('a hidden participant sends without its identity', () => {
    const out = livekitForward({ ...alice, hidden: true }, packet({ value: user('x') }));
    const p = DataPacket.fromBinary(out!.data as Buffer);
    assert.deepEqual([p.participantIdentity, p.participantSid], ['', '']);
  });

  void it("a LiveKit peer opens _reliable (ordered) and _lossy (unordered, no retransmits) and takes only LiveKit's labels", () => {
    const levels: string[][] = [];
    const policy = livekitDataPolicy(alice, (ids) => levels.push(ids));
    assert.deepEqual(policy.channels, [
      { label: LIVEKIT_RELIABLE, ordered: true },
      { label: LIVEKIT_LOSSY, ordered: false, maxRetransmits: 0 },
    ]);
    assert.deepEqual(
      ['_reliable', '_lossy', 'chat', 'ion-sfu'].map((l) => policy.accepts?.(l)),
      [true, true, false, false],
    );
    assert.equal(policy.inbound?.('chat', 'hello'), undefined, 'its other labels go nowhere');
    policy.levels?.(['s1']);
    assert.deepEqual(levels, [['s1']]);
  });

  void it("other clients neither get LiveKit's labels nor send on them", () => {
    assert.deepEqual(
      ['_reliable', '_lossy', 'chat'].map((l) => otherClientDataPolicy.accepts?.(l)),
      [false, false, true],
    );
    assert.equal(otherClientDataPolicy.inbound?.('_reliable', packet({ value: user('x') })), undefined);
    assert.deepEqual(otherClientDataPolicy.inbound?.('chat', 'hi'), { data: 'hi' });
  });

  void it("a relay peer carries every label and keeps a LiveKit packet's sender and destinations", () => {
    const relay = relayDataPolicy(ROOM);
    assert.equal('accepts' in relay, false, 'every label');
    const stamped = livekitForward(alice, packet({ destinationIdentities: ['bob'], value: user('x') }))!
      .data as Buffer;
    const out = relay.inbound?.('_reliable', stamped);
    assert.equal(out?.data, stamped, 'forwarded as it came (vouched for on its node)');
    assert.deepEqual([out?.to?.('bob'), out?.to?.('carol')], [true, false]);
    assert.equal(relay.inbound?.('_lossy', Buffer.from([0xff, 0xff])), undefined);
    assert.deepEqual(relay.inbound?.('chat', 'hi'), { data: 'hi' });
  });
});
