// The media core's DataPolicy hook (src/media/DataPolicy.ts) on a real SFU session: channels a policy
// opens from the start, which labels reach a peer, and how the sender's policy rewrites and addresses
// its messages (relay peers carry them whatever the address). No client connects: messages are
// injected as the Peer would emit them and the subscribers' sends are recorded.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { defaultConfig } from '../../../src/config/index.ts';
import { SFU, type DataPolicy, type Peer } from '../../../src/media/index.ts';
import { mediaOptions } from '../../../src/sfu/SfuRole.ts';

const sfu = new SFU(mediaOptions(defaultConfig()));
after(() => sfu.close());

const ROOM = 'data-policy';
const sent = new Map<string, [string, string | Buffer][]>();

function watch(peer: Peer): Peer {
  const list: [string, string | Buffer][] = [];
  sent.set(peer.uid, list);
  peer.subscriber.sendChannel = (label, data) => void list.push([label, data]);
  return peer;
}

async function join(uid: string, data?: DataPolicy): Promise<Peer> {
  const { peer } = await sfu.join({ sid: ROOM, uid, name: uid, sink: () => undefined, data });
  return watch(peer);
}

/** What the Peer emits when its client sends on, or opens, a channel. */
function emit(peer: Peer, event: 'channelMessage' | 'channel', ...args: unknown[]): void {
  (peer as unknown as { safeEmit(e: string, ...a: unknown[]): void }).safeEmit(event, ...args);
}

const only = (label: string): DataPolicy => ({
  channels: [{ label, ordered: false, maxRetransmits: 0 }],
  accepts: (l) => l === label,
  inbound: (l, data) => (l === label ? { data: `vouched:${String(data)}`, to: (m) => m === 'b' } : undefined),
});

void test('DataPolicy: channels from the start, accepted labels, rewritten and addressed messages', async () => {
  const a = await join('a', only('x'));
  const b = await join('b', only('x'));
  await join('c', only('x'));
  const plain = await join('plain');
  const relay = watch(sfu.addRelayPeer(ROOM, 'relay:far', 'relay', () => undefined).peer);

  assert.equal(a.subscriber.hasChannel('x'), true, 'opened at join');
  assert.equal(plain.subscriber.hasChannel('x'), false);

  emit(a, 'channelMessage', 'x', 'hi');
  assert.deepEqual(sent.get('b'), [['x', 'vouched:hi']], 'the addressee gets the rewritten message');
  assert.deepEqual(sent.get('c'), [], 'not addressed');
  assert.deepEqual(sent.get('plain'), [], 'not addressed');
  assert.deepEqual(sent.get('relay:far'), [['x', 'vouched:hi']], 'a relay carries it to its node');

  emit(a, 'channelMessage', 'other', 'dropped');
  assert.equal(
    [...sent.values()].flat().some(([, d]) => d === 'dropped' || d === 'vouched:dropped'),
    false,
    'its policy dropped it',
  );

  // A peer without a policy: as is, to every peer that takes the label.
  emit(plain, 'channel', { label: 'chat' });
  assert.deepEqual(
    [a, b, relay].map((p) => p.subscriber.hasChannel('chat')),
    [false, false, true],
  );
  emit(plain, 'channelMessage', 'chat', 'yo');
  assert.deepEqual(sent.get('relay:far')?.at(-1), ['chat', 'yo']);
  assert.deepEqual(
    [...sent.get('a')!, ...sent.get('b')!].filter(([label]) => label === 'chat'),
    [],
    'the x-only peers got no chat',
  );
});
