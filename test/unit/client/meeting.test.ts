// The SDK's room layer (client/Meeting.ts) and stats (client/stats.ts) over a fake Client: roles, the
// member list with mute states and screens, chat, removal; per-track rates and quality from getStats().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '../../../client/Client.ts';
import { Emitter } from '../../../client/Emitter.ts';
import { Meeting } from '../../../client/Meeting.ts';
import type { ChatMessage } from '../../../client/Meeting.ts';
import { qualityOf, StatsSampler, worstQuality } from '../../../client/stats.ts';
import type { ClientEvents, Participant } from '../../../client/types.ts';

type Stat = Record<string, unknown> & { id: string; type: string; timestamp: number };

/** What Meeting and StatsSampler use of a Client. */
class FakeClient extends Emitter<ClientEvents> {
  state = 'joined';
  closed = false;
  uid = 'page-uid';
  participants: Participant[] = [];
  calls: { method: string; params: unknown }[] = [];
  remoteStreams = new Map<string, { getTracks(): { id: string }[] }>();
  localStreams: { id: string; getTracks(): { id: string }[] }[] = [];
  pubStats: Stat[] = [];
  subStats: Stat[] = [];
  publisher = { getStats: () => Promise.resolve(report(this.pubStats)) };
  subscriber = { getStats: () => Promise.resolve(report(this.subStats)) };

  call(method: string, params: unknown): Promise<unknown> {
    this.calls.push({ method, params });
    return Promise.resolve(method === 'room.lock' ? { id: 'r', name: 'r', locked: true } : {});
  }

  fire<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): void {
    this.emit(event, ...args);
  }
}

function report(stats: Stat[]): { forEach(f: (s: Stat) => void): void } {
  return { forEach: (f) => stats.forEach(f) };
}

function stream(id: string, ...tracks: string[]): { id: string; getTracks(): { id: string }[] } {
  return { id, getTracks: () => tracks.map((t) => ({ id: t })) };
}

function setup(): { client: FakeClient; meeting: Meeting } {
  const client = new FakeClient();
  const meeting = new Meeting(client as unknown as Client);
  client.fire('notification', 'room.joined', {
    room: { id: 'r', name: 'r', locked: false, hasPassword: false, maxPeers: 0 },
    role: 'host',
    self: { uid: 'alice', name: 'Alice', role: 'host', joinedAt: 1 },
    peers: [{ uid: 'bob', name: 'Bob', role: 'guest', joinedAt: 2 }],
  });
  return { client, meeting };
}

void describe('Meeting', () => {
  void it('takes role, members and room from room.joined; the token identity is our uid', () => {
    const { meeting } = setup();
    assert.equal(meeting.role, 'host');
    assert.equal(meeting.isHost, true);
    assert.equal(meeting.uid, 'alice');
    assert.deepEqual(
      meeting.peers.map((p) => p.uid),
      ['alice', 'bob'],
    );
    assert.equal(meeting.room?.locked, false);
  });

  void it('joins members with the media roster: mute states, and the screen stream apart', () => {
    const { client, meeting } = setup();
    client.fire('notification', 'room.peer', {
      state: 'update',
      peer: { uid: 'bob', name: 'Bob', role: 'guest', joinedAt: 2, info: { screen: 's2' } },
    });
    const flags = { audio: true, video: true, audioMuted: false, videoMuted: false };
    client.participants = [
      {
        uid: 'bob',
        name: 'Bob',
        streams: [
          { streamId: 's1', ...flags, audioMuted: true },
          { streamId: 's2', ...flags, audio: false },
        ],
      },
    ];
    client.fire('participants', client.participants);
    const bob = meeting.members().find((m) => m.uid === 'bob');
    assert.deepEqual(bob, {
      uid: 'bob',
      name: 'Bob',
      role: 'guest',
      self: false,
      audio: true,
      video: true,
      audioMuted: true,
      videoMuted: false,
      screen: 's2',
    });
    assert.equal(meeting.isScreen('s2'), true);
    assert.equal(meeting.isScreen('s1'), false);
    assert.equal(meeting.members().find((m) => m.self)?.uid, 'alice');
  });

  void it('chat: sends room.message type chat; shows its own and received messages with names', async () => {
    const { client, meeting } = setup();
    const seen: ChatMessage[] = [];
    meeting.on('chat', (m) => seen.push(m));
    await meeting.sendChat('  hello  ');
    assert.equal(client.calls[0]?.method, 'room.message');
    assert.deepEqual((client.calls[0]?.params as { to: string; type: string }).type, 'chat');
    client.fire('notification', 'room.message', {
      from: 'bob',
      to: 'all',
      type: 'chat',
      data: { text: 'hi', sentAt: 5 },
    });
    client.fire('notification', 'room.message', { from: 'bob', to: 'all', data: { other: 1 } });
    assert.deepEqual(
      seen.map((m) => [m.name, m.text, m.self]),
      [
        ['Alice', 'hello', true],
        ['Bob', 'hi', false],
      ],
    );
    assert.equal(meeting.chatHistory.length, 2);
    await assert.rejects(meeting.sendChat('   '), TypeError);
  });

  void it('host controls call room.mute, room.kick and room.lock; role and lock changes are followed', async () => {
    const { client, meeting } = setup();
    await meeting.mute('bob', 'audio');
    await meeting.kick('bob', 'bye');
    const room = await meeting.lock(true);
    assert.deepEqual(
      client.calls.map((c) => [c.method, c.params]),
      [
        ['room.mute', { uid: 'bob', kind: 'audio', muted: true }],
        ['room.kick', { uid: 'bob', reason: 'bye' }],
        ['room.lock', {}],
      ],
    );
    assert.equal(room.locked, true);
    const roles: string[] = [];
    meeting.on('role', (r) => roles.push(r));
    client.fire('notification', 'room.peer', {
      state: 'update',
      peer: { uid: 'alice', name: 'Alice', role: 'guest', joinedAt: 1 },
    });
    assert.deepEqual(roles, ['guest']);
    client.fire('notification', 'room.peer', {
      state: 'leave',
      peer: { uid: 'bob', name: 'Bob', role: 'guest' },
    });
    assert.deepEqual(
      meeting.peers.map((p) => p.uid),
      ['alice'],
    );
  });

  void it('room.kicked becomes removed with the reason in words', () => {
    const { client, meeting } = setup();
    const removed: [string, string][] = [];
    meeting.on('removed', (kind, reason) => removed.push([kind, reason]));
    client.fire('notification', 'room.kicked', { reason: 'Alice (host) removed you' });
    assert.deepEqual(removed, [['kicked', 'Alice (host) removed you']]);
  });

  void it('setInfo merges, null removes, and the result updates our own entry', async () => {
    const { client, meeting } = setup();
    await meeting.setInfo({ screen: 'x', hand: true });
    await meeting.setInfo({ screen: null });
    assert.deepEqual(client.calls.at(-1)?.params, { info: { hand: true } });
  });
});

void describe('stats', () => {
  void it('quality from loss and RTT; the worst of several', () => {
    assert.equal(qualityOf(0, 20), 'good');
    assert.equal(qualityOf(0.03, 20), 'fair');
    assert.equal(qualityOf(0, 300), 'fair');
    assert.equal(qualityOf(0.1, 20), 'poor');
    assert.equal(qualityOf(0, 800), 'poor');
    assert.equal(worstQuality(['good', 'fair']), 'fair');
    assert.equal(worstQuality([]), 'unknown');
  });

  void it('inbound: bitrate and loss over the interval, size, codec, RTT of the selected pair', async () => {
    const client = new FakeClient();
    client.remoteStreams.set('bobcam', stream('bobcam', 'v1'));
    const sampler = new StatsSampler(client as unknown as Client);
    const inbound = (t: number, bytes: number, packets: number, lost: number): Stat[] => [
      {
        id: 'in1',
        type: 'inbound-rtp',
        timestamp: t,
        kind: 'video',
        trackIdentifier: 'v1',
        bytesReceived: bytes,
        packetsReceived: packets,
        packetsLost: lost,
        frameWidth: 640,
        frameHeight: 360,
        framesPerSecond: 30,
        codecId: 'c1',
      },
      { id: 'c1', type: 'codec', timestamp: t, mimeType: 'video/VP8' },
      { id: 't', type: 'transport', timestamp: t, selectedCandidatePairId: 'p' },
      { id: 'p', type: 'candidate-pair', timestamp: t, currentRoundTripTime: 0.04 },
    ];
    client.subStats = inbound(1000, 0, 0, 0);
    const [first] = await sampler.sample();
    assert.equal(first?.quality, 'unknown');
    client.subStats = inbound(2000, 125_000, 95, 5);
    const [row] = await sampler.sample();
    assert.equal(row?.streamId, 'bobcam');
    assert.equal(row?.bitrate, 1_000_000);
    assert.equal(row?.loss, 0.05);
    assert.equal(row?.rttMs, 40);
    assert.equal(row?.codec, 'VP8');
    assert.equal(`${row?.width}x${row?.height}`, '640x360');
    assert.equal(row?.quality, 'fair');
  });

  void it('outbound: simulcast layers of one track summed, the largest size, rids sent', async () => {
    const client = new FakeClient();
    client.localStreams = [stream('mine', 'cam')];
    const sampler = new StatsSampler(client as unknown as Client);
    const outbound = (t: number, k: number): Stat[] => [
      { id: 'ms', type: 'media-source', timestamp: t, trackIdentifier: 'cam' },
      {
        id: 'of',
        type: 'outbound-rtp',
        timestamp: t,
        kind: 'video',
        rid: 'f',
        mediaSourceId: 'ms',
        bytesSent: 100_000 * k,
        packetsSent: 10 * k,
        frameWidth: 960,
        frameHeight: 540,
      },
      {
        id: 'oq',
        type: 'outbound-rtp',
        timestamp: t,
        kind: 'video',
        rid: 'q',
        mediaSourceId: 'ms',
        bytesSent: 10_000 * k,
        packetsSent: k,
        frameWidth: 240,
        frameHeight: 135,
      },
      {
        id: 'ri',
        type: 'remote-inbound-rtp',
        timestamp: t,
        localId: 'of',
        fractionLost: 0,
        roundTripTime: 0.01,
      },
    ];
    client.pubStats = outbound(1000, 0);
    await sampler.sample();
    client.pubStats = outbound(2000, 1);
    const rows = await sampler.sample();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.bitrate, 880_000);
    assert.equal(rows[0]?.width, 960);
    assert.equal(rows[0]?.layer, 'f q');
    assert.equal(rows[0]?.quality, 'good');
  });
});
