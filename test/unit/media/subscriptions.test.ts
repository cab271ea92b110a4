// What a peer receives (src/media/Subscriptions.ts) and the protocol around it: ion-sfu's join
// `config` flags and the `subscription` params (src/protocol/ionSfu.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SUBSCRIPTION_IDS, Subscriptions } from '../../../src/media/Subscriptions.ts';
import { joinConfig, methods, MAX_SUBSCRIPTIONS } from '../../../src/protocol/ionSfu.ts';

const track = (streamId: string, trackId: string) => ({ streamId, trackId });

await test('all(): every track and the data channels; an unsubscribed track stays away until added again', () => {
  const s = Subscriptions.all();
  assert.equal(s.auto, true);
  assert.equal(s.channels, true);
  assert.equal(s.offer, true);
  assert.equal(s.wants(track('s1', 'a1')), true);
  s.remove('a1');
  assert.equal(s.wants(track('s1', 'a1')), false, 'excluded');
  assert.equal(s.wants(track('s1', 'v1')), true, 'the stream’s other track still comes');
  assert.equal(s.wants(track('s1', 'a1')), false, 'still excluded when asked again (a renegotiation)');
  s.add('a1');
  assert.equal(s.wants(track('s1', 'a1')), true);
});

await test('only(streams): the named streams (a Licode peer) and tracks added later, nothing else', () => {
  const licode = Subscriptions.only(['s1']);
  assert.equal(licode.auto, false);
  assert.equal(licode.channels, false, 'Licode peers get no fanned-out channels');
  assert.equal(licode.offer, true, 'a subscribing Licode peer is offered at join');
  assert.equal(licode.wants(track('s1', 'a1')), true);
  assert.equal(licode.wants(track('s1', 'v1')), true);
  assert.equal(licode.wants(track('s2', 'a2')), false);
  licode.remove('v1');
  assert.equal(licode.wants(track('s1', 'v1')), false, 'a track of a subscribed stream can be dropped');

  const publisher = Subscriptions.only([]);
  assert.equal(publisher.offer, false, 'a Licode publisher has no subscriber PC to offer');
  assert.equal(publisher.wants(track('s1', 'a1')), false);

  const manual = Subscriptions.only([], { channels: true, offer: true }); // NoAutoSubscribe
  assert.deepEqual([manual.channels, manual.offer], [true, true]);
  assert.equal(manual.wants(track('s1', 'v1')), false);
  manual.add('v1');
  assert.equal(manual.wants(track('s1', 'v1')), true);
  assert.equal(manual.wants(track('s1', 'a1')), false, 'only the track asked for, not its stream');
  manual.remove('v1');
  assert.equal(manual.wants(track('s1', 'v1')), false);
});

await test(`at most ${MAX_SUBSCRIPTION_IDS} track ids are remembered: the oldest goes first`, () => {
  const s = Subscriptions.all();
  for (let i = 0; i <= MAX_SUBSCRIPTION_IDS; i++) {
    s.remove(`t${i}`);
  }
  assert.equal(s.wants(track('s', 't0')), true, 'the oldest exclusion was forgotten');
  assert.equal(s.wants(track('s', 't1')), false);
  assert.equal(s.wants(track('s', `t${MAX_SUBSCRIPTION_IDS}`)), false);
});

await test('join config: keys case-insensitive, booleans or "true"/"false", other keys ignored', () => {
  const none = { noPublish: false, noSubscribe: false, noAutoSubscribe: false };
  assert.deepEqual(joinConfig(undefined), none);
  assert.deepEqual(joinConfig({ NoPublish: true, nosubscribe: 'false', NOAUTOSUBSCRIBE: ' TRUE ', x: 5 }), {
    noPublish: true,
    noSubscribe: false,
    noAutoSubscribe: true,
  });
  assert.deepEqual(joinConfig({ NoAutoSubscribe: 'true' }), { ...none, noAutoSubscribe: true });
  assert.equal(joinConfig({ NoPublish: 1 }), undefined);
  assert.equal(joinConfig({ NoSubscribe: 'yes' }), undefined);
  const offer = { type: 'offer', sdp: 'v=0' };
  assert.equal(methods.join.safeParse({ sid: 'r', offer, config: { NoSubscribe: 'true' } }).success, true);
  const bad = methods.join.safeParse({ sid: 'r', offer, config: { NoSubscribe: 'maybe' } });
  assert.equal(bad.success, false);
  assert.match(bad.error.issues[0]!.message, /NoPublish, NoSubscribe and NoAutoSubscribe take true/);
});

await test('subscription params: track id, subscribe, optional mute and layer (f/h/q or empty), bounded', () => {
  const ok = (p: unknown) => methods.subscription.safeParse(p).success;
  assert.equal(ok({ subscriptions: [{ trackId: 't', subscribe: true }] }), true);
  assert.equal(ok({ subscriptions: [{ trackId: 't', subscribe: false, mute: true, layer: '' }] }), true);
  assert.equal(
    ok({ subscriptions: ['f', 'h', 'q'].map((layer) => ({ trackId: 't', subscribe: true, layer })) }),
    true,
  );
  assert.equal(ok({ subscriptions: [] }), true, 'nothing to change is no error (ION answers success)');
  assert.equal(ok({ subscriptions: [{ trackId: 't', subscribe: true, layer: 'x' }] }), false);
  assert.equal(ok({ subscriptions: [{ trackId: '', subscribe: true }] }), false);
  assert.equal(ok({ subscriptions: [{ trackId: 't' }] }), false, 'subscribe is required');
  assert.equal(ok({ subscriptions: [{ trackId: 't', subscribe: true, extra: 1 }] }), false);
  const many = Array.from({ length: MAX_SUBSCRIPTIONS + 1 }, (_, i) => ({
    trackId: `t${i}`,
    subscribe: true,
  }));
  assert.equal(ok({ subscriptions: many }), false);
  assert.equal(ok({ subscriptions: many.slice(1) }), true);
});
