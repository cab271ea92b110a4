// LiveKit participants on the media node (issue #20), driven over the Bus as the /rtc front drives
// them, with libwebrtc peers (@roamhq/wrtc): a join without offer gets a subscriber offer carrying
// `_reliable` and `_lossy`; a later publisher offer is answered; DataPackets are vouched for (sender
// identity stamped) and reach only the identities they name; a participant without canPublishData
// is not forwarded; auto_subscribe=0 and canSubscribe=false joins get data and only what they may
// receive; audio levels come as signal notifications (late joiners too); an ion-sfu client in the same room
// and the LiveKit participants never see each other's data channels.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DataPacket, UserPacket } from '@livekit/protocol';
import { clusterOf } from '../../src/config/index.ts';
import { LIVEKIT_LEVELS_NOTIFICATION, livekitSid } from '../../src/protocol/livekit.ts';
import { ALL_MEDIA_GRANTS } from '../../src/protocol/tokens.ts';
import { LiveKitBusPeer } from '../helpers/livekitBusPeer.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';

const MEDIA_TIMEOUT = 20_000;

function userPacket(text: string, destinationIdentities: string[] = []): ArrayBuffer {
  const bytes = new DataPacket({
    participantIdentity: 'someone-else', // the server writes the real sender over it
    destinationIdentities,
    value: { case: 'user', value: new UserPacket({ payload: new TextEncoder().encode(text), topic: 't' }) },
  }).toBinary();
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function texts(p: LiveKitBusPeer): string[] {
  return p.received
    .filter((r) => r.packet.value.case === 'user')
    .map((r) => new TextDecoder().decode((r.packet.value.value as UserPacket).payload));
}

void describe('LiveKit participants on the media node', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let room = '';
  let dave: WrtcPeer; // an ion-sfu client in the same room
  const lk: LiveKitBusPeer[] = [];
  const peer = (
    uid: string,
    o: { canPublishData?: boolean; canSubscribe?: boolean; autoSubscribe?: boolean } = {},
  ) => {
    const p = new LiveKitBusPeer({
      bus: sb!.bus,
      cluster: clusterOf(sb!.config),
      node: sb!.sfu!.nodeId,
      room,
      uid,
      grants: {
        ...ALL_MEDIA_GRANTS,
        canPublishData: o.canPublishData ?? true,
        canSubscribe: o.canSubscribe ?? true,
      },
      ...(o.autoSubscribe !== undefined ? { autoSubscribe: o.autoSubscribe } : {}),
    });
    lk.push(p);
    return p;
  };
  let alice: LiveKitBusPeer;
  let bob: LiveKitBusPeer;
  let carol: LiveKitBusPeer;
  let reliable: RTCDataChannel;
  let lossy: RTCDataChannel;

  before(async () => {
    sb = await startSwitchboard();
    dave = await WrtcPeer.connect(wsUrlOf(sb.url), 'dave');
    await dave.join('livekit-peers', 'dave');
    room = [...sb.sfu!.sfu.sessions][0]!.id;
  });

  after(async () => {
    for (const p of lk) {
      await p.close();
    }
    await dave?.close();
    await sb?.close();
  });

  void it('a join without offer gets a subscriber offer with _reliable and _lossy, before any publisher offer', async () => {
    alice = peer('alice');
    assert.deepEqual(await alice.join(), {});
    await waitFor(
      () =>
        alice.channels.get('_reliable')?.readyState === 'open' &&
        alice.channels.get('_lossy')?.readyState === 'open',
      { timeout: MEDIA_TIMEOUT, what: "alice's _reliable and _lossy channels open" },
    );
    assert.equal(alice.channels.get('_lossy')!.ordered, false); // (src/media/werift.ts workaround 16)
    assert.equal(alice.channels.get('_lossy')!.maxRetransmits, 0);
    assert.equal(alice.channels.get('_reliable')!.ordered, true);
    assert.notEqual(alice.channels.get('_reliable')!.maxRetransmits, 0); // (libwebrtc says 65535: unset)
    assert.equal(alice.publisher.remoteDescription, null, 'the publisher PC is not negotiated yet');
  });

  void it('a later publisher offer (data channels and media) is answered, and others receive the media', async () => {
    bob = peer('bob');
    carol = peer('carol');
    await bob.join();
    await carol.join();
    const pub = await alice.publish({ media: true });
    reliable = pub.reliable;
    lossy = pub.lossy;
    assert.match(pub.answer, /^m=audio /m);
    assert.match(pub.answer, /^m=application /m);
    await waitFor(() => reliable.readyState === 'open', {
      timeout: MEDIA_TIMEOUT,
      what: "alice's own _reliable open",
    });
    for (const p of [bob, carol]) {
      await waitFor(
        () =>
          p.subscriber.getReceivers().some((r) => r.track.kind === 'video') &&
          p.channels.get('_reliable')?.readyState === 'open',
        { timeout: MEDIA_TIMEOUT, what: `${p.uid} to receive alice's video and have _reliable` },
      );
    }
  });

  void it("a packet to bob reaches bob only, stamped with alice's identity and sid", async () => {
    reliable.send(userPacket('for bob', ['bob']));
    reliable.send(userPacket('for all'));
    await waitFor(() => texts(bob).includes('for all') && texts(carol).includes('for all'), {
      what: 'bob and carol to get the broadcast',
    });
    assert.deepEqual(texts(bob), ['for bob', 'for all']);
    assert.deepEqual(texts(carol), ['for all'], 'carol is not a destination of the first');
    const got = bob.received[0]!;
    assert.equal(got.label, '_reliable');
    assert.equal(got.packet.participantIdentity, 'alice');
    assert.equal(got.packet.participantSid, livekitSid.participant(room, 'alice'));
    assert.equal((got.packet.value.value as UserPacket).participantIdentity, 'alice');
    assert.deepEqual(texts(alice), [], 'nothing comes back to its sender');
  });

  void it('a packet sent on _lossy arrives on _lossy', async () => {
    await waitFor(() => lossy.readyState === 'open', {
      timeout: MEDIA_TIMEOUT,
      what: "alice's own _lossy open",
    });
    lossy.send(userPacket('lossy'));
    await waitFor(() => bob.received.some((r) => r.label === '_lossy'), { what: 'bob to get it on _lossy' });
    assert.deepEqual(texts(bob).at(-1), 'lossy');
  });

  void it('a participant without canPublishData is not forwarded', async () => {
    const mallory = peer('mallory', { canPublishData: false });
    await mallory.join();
    const { reliable: mr } = await mallory.publish();
    await waitFor(() => mr.readyState === 'open', {
      timeout: MEDIA_TIMEOUT,
      what: "mallory's _reliable open",
    });
    mr.send(userPacket('from mallory'));
    reliable.send(userPacket('after mallory'));
    await waitFor(() => texts(bob).includes('after mallory'), { what: "bob to get alice's next packet" });
    await delay(300);
    for (const p of [alice, bob, carol]) {
      assert.equal(texts(p).includes('from mallory'), false, `${p.uid} got mallory's packet`);
    }
  });

  void it('auto_subscribe=0: channels and an offer at join, a track only once subscribed', async () => {
    const manual = peer('manual', { autoSubscribe: false });
    await manual.join();
    await waitFor(() => manual.channels.get('_reliable')?.readyState === 'open', {
      timeout: MEDIA_TIMEOUT,
      what: "manual's _reliable open",
    });
    reliable.send(userPacket('to manual', ['manual']));
    await waitFor(() => texts(manual).includes('to manual'), { what: 'data to reach manual' });
    assert.equal(manual.subscriber.getReceivers().length, 0, 'no track yet');
    const video = alice.publisher.getSenders().find((s) => s.track?.kind === 'video')!.track!.id;
    assert.deepEqual(
      await manual.request('subscription', { subscriptions: [{ trackId: video, subscribe: true }] }),
      {},
    );
    await waitFor(() => manual.subscriber.getReceivers().some((r) => r.track.kind === 'video'), {
      timeout: MEDIA_TIMEOUT,
      what: "manual to receive alice's video",
    });
    assert.equal(
      manual.subscriber.getReceivers().some((r) => r.track.kind === 'audio'),
      false,
    );
  });

  void it('a participant without canSubscribe joins (it may publish), gets data and no media', async () => {
    const blind = peer('blind', { canSubscribe: false });
    assert.deepEqual(await blind.join(), {});
    await waitFor(() => blind.channels.get('_reliable')?.readyState === 'open', {
      timeout: MEDIA_TIMEOUT,
      what: "blind's _reliable open",
    });
    reliable.send(userPacket('to blind', ['blind']));
    await waitFor(() => texts(blind).includes('to blind'), { what: 'data to reach blind' });
    assert.equal(blind.subscriber.getReceivers().length, 0);
  });

  void it('the ion-sfu client gets no LiveKit channel and the LiveKit participants none of its channels', async () => {
    const chat = dave.publisher.createDataChannel('chat');
    await waitFor(() => chat.readyState === 'open', { what: "dave's chat open" });
    chat.send('hello');
    reliable.send(userPacket('after chat'));
    await waitFor(() => texts(carol).includes('after chat'), { what: 'carol to get the next packet' });
    await delay(300);
    assert.deepEqual([...dave.channels.keys()].sort(), ['ion-sfu']);
    for (const p of [alice, bob, carol]) {
      assert.deepEqual([...p.channels.keys()].sort(), ['_lossy', '_reliable', 'ion-sfu'], p.uid);
    }
    assert.deepEqual(
      dave.dataMessages.filter((m) => m.label !== 'ion-sfu'),
      [],
    );
  });

  void it("audio levels come as notifications naming alice's stream (to late joiners too), and [] once she falls silent", async () => {
    const levels = (p: LiveKitBusPeer) =>
      p.notifications
        .filter((n) => n.method === LIVEKIT_LEVELS_NOTIFICATION)
        .map((n) => n.params as string[]);
    await waitFor(() => levels(bob).some((l) => l.includes(alice.publishedStreamId!)), {
      timeout: MEDIA_TIMEOUT,
      what: 'bob to be told alice speaks',
    });
    assert.ok(levels(carol).some((l) => l[0] === alice.publishedStreamId));
    assert.equal(bob.channels.get('ion-sfu') !== undefined, true);
    // A participant joining while the speakers stay the same is told them too.
    const late = peer('late');
    await late.join();
    await waitFor(() => levels(late).some((l) => l.includes(alice.publishedStreamId!)), {
      timeout: MEDIA_TIMEOUT,
      what: 'the late joiner to be told alice speaks',
    });
    alice.stopMedia();
    await waitFor(() => levels(bob).at(-1)?.length === 0, {
      timeout: MEDIA_TIMEOUT,
      what: 'bob to be told nobody speaks',
    });
    // The ion-sfu client still gets them on its channel.
    assert.ok(dave.audioLevels.some((l) => l.includes(alice.publishedStreamId!)));
  });
});
