// IonRtc (rtc.RTC/Signal) against an in-memory Bus: what it forwards to the media node (trickles routed
// by ICE ufrag, as Ion.RTC never sets a target) and what it tells the client (TrackEvents from rosters).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBus, MemoryStore } from '../../../src/backbone/index.ts';
import { subjects, type PeerRequest } from '../../../src/protocol/cluster.ts';
import { Authenticator } from '../../../src/signal/Authenticator.ts';
import { GrpcCall, type StatusCode } from '../../../src/signal/ion/GrpcCall.ts';
import { IonAuth } from '../../../src/signal/ion/ionAuth.ts';
import { IonRtc } from '../../../src/signal/ion/IonRtc.ts';
import type { RtcReply, RtcRequest } from '../../../src/signal/ion/protos.ts';
import { waitFor } from '../../helpers/waitFor.ts';

const DC = 'unit';
const NODE = 'media-1';

class TestCall extends GrpcCall<RtcRequest, RtcReply> {
  readonly replies: RtcReply[] = [];
  status: { code: StatusCode; message: string } | undefined;
  constructor() {
    super('/rtc.RTC/Signal', new Map(), '127.0.0.1');
  }
  protected writeMessage(msg: RtcReply): void {
    this.replies.push(msg);
  }
  protected finish(code: StatusCode, message: string): void {
    this.status = { code, message };
  }
  send(msg: RtcRequest): void {
    this.received(msg);
  }
}

const sdp = (ufrag: string): string =>
  `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:${ufrag}\r\na=ice-pwd:pppppppppppppppppppppppp\r\n`;

function setup(): { call: TestCall; forwarded: PeerRequest[]; rtc: IonRtc } {
  const bus = new MemoryBus();
  const store = new MemoryStore();
  const forwarded: PeerRequest[] = [];
  bus.subscribe(subjects.registryPlace(DC), () => ({ node: NODE }));
  bus.subscribe(subjects.sfuRpc(DC, NODE), (d) => {
    const req = d as PeerRequest;
    forwarded.push(req);
    return req.method === 'join' || req.method === 'offer' ? { type: 'answer', sdp: sdp('server') } : null;
  });
  const auth = new Authenticator({
    cluster: DC,
    store,
    anonymous: true,
    authSecret: 'a-secret-of-sixteen-chars',
    superserviceId: 'super',
    superserviceKey: 'super-key-of-sixteen',
  });
  const ionAuth = new IonAuth({
    auth,
    ionKey: 'a-secret-of-sixteen-chars',
    anonymous: true,
    superserviceId: 'super',
  });
  const call = new TestCall();
  const rtc = new IonRtc(call, Promise.resolve(undefined), {
    signalNode: 'signal-1',
    cluster: DC,
    dc: DC,
    bus,
    auth: ionAuth,
    joinTimeoutMs: 0,
    room: () => undefined,
    beginPeer: () => undefined,
    endPeer: () => undefined,
  });
  return { call, forwarded, rtc };
}

const candidate = (ufrag: string, n: number): string =>
  JSON.stringify({
    candidate: `candidate:${n} 1 udp 2122260223 127.0.0.1 ${5000 + n} typ host`,
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: ufrag,
  });

void describe('IonRtc', () => {
  void it('routes target-less trickles by ufrag, holding those of a PC it does not know yet', async () => {
    const { call, forwarded } = setup();
    call.send({
      payload: 'join',
      join: {
        sid: 'room',
        uid: 'u1',
        config: { NoAutoSubscribe: 'true' },
        description: { target: 'PUBLISHER', type: 'offer', sdp: sdp('pubfrag'), trackInfos: [] },
      },
    });
    await waitFor(() => call.replies.some((r) => 'join' in r), { timeout: 2000, what: 'the join reply' });
    const join = call.replies.find((r) => 'join' in r) as Extract<RtcReply, { join: unknown }>;
    assert.equal(join.join.success, true);
    assert.equal(join.join.description?.type, 'answer');
    const j = forwarded.find((f) => f.method === 'join')!;
    assert.deepEqual((j.params as { config: unknown }).config, { NoAutoSubscribe: true });
    // Ion.RTC sends every trickle as PUBLISHER; the second one's ufrag is the subscriber answer's.
    call.send({ payload: 'trickle', trickle: { target: 'PUBLISHER', init: candidate('pubfrag', 1) } });
    call.send({ payload: 'trickle', trickle: { target: 'PUBLISHER', init: candidate('subfrag', 2) } });
    await waitFor(() => forwarded.some((f) => f.method === 'trickle'), { timeout: 2000, what: 'a trickle' });
    assert.equal(forwarded.filter((f) => f.method === 'trickle').length, 1, 'the unknown ufrag is held');
    call.send({
      payload: 'description',
      description: { target: 'SUBSCRIBER', type: 'answer', sdp: sdp('subfrag'), trackInfos: [] },
    });
    await waitFor(() => forwarded.filter((f) => f.method === 'trickle').length === 2, {
      timeout: 2000,
      what: 'the held trickle',
    });
    const targets = forwarded
      .filter((f) => f.method === 'trickle')
      .map((f) => (f.params as { target: number }).target);
    assert.deepEqual(targets, [0, 1]);
    assert.ok(forwarded.some((f) => f.method === 'answer'));
  });

  void it('answers malformed trickles and descriptions with an error and stays open', async () => {
    const { call } = setup();
    call.send({ payload: 'trickle', trickle: { target: 'PUBLISHER', init: '{not json' } });
    call.send({
      payload: 'description',
      description: { target: 'PUBLISHER', type: 'offer', sdp: 'x', trackInfos: [] },
    });
    await waitFor(() => call.replies.filter((r) => 'error' in r).length === 2, {
      timeout: 2000,
      what: 'two errors',
    });
    assert.equal(call.status, undefined, 'the stream is still open');
  });

  void it('turns roster changes into TrackEvents ADD, UPDATE and REMOVE, never for its own tracks', async () => {
    const { call, rtc } = setup();
    call.send({
      payload: 'join',
      join: {
        sid: 'room',
        uid: 'me',
        config: {},
        description: { target: 'PUBLISHER', type: 'offer', sdp: sdp('a'), trackInfos: [] },
      },
    });
    await waitFor(() => call.replies.some((r) => 'join' in r), { timeout: 2000, what: 'the join reply' });
    const stream = (muted: boolean, layers: string[]) => ({
      streamId: 's1',
      tracks: [
        { id: 'a1', kind: 'audio', muted: false, layers: [] },
        { id: 'v1', kind: 'video', muted, layers },
      ],
    });
    const events = () =>
      call.replies
        .filter((r): r is Extract<RtcReply, { trackEvent: unknown }> => 'trackEvent' in r)
        .map((r) => r.trackEvent);
    rtc.notify('participants', {
      peers: [
        { uid: 'me', streams: [{ streamId: 'mine', tracks: [{ id: 'm', kind: 'audio', layers: [] }] }] },
        { uid: 'other', streams: [stream(false, ['q', 'h', 'f'])] },
      ],
    });
    assert.equal(events().length, 1);
    assert.equal(events()[0]!.state, 'ADD');
    assert.equal(events()[0]!.uid, 'other');
    assert.deepEqual(
      events()[0]!.tracks.map((t) => `${t.id}/${t.layer}`),
      ['a1/', 'v1/q', 'v1/h', 'v1/f'],
    );
    rtc.notify('participants', { peers: [{ uid: 'other', streams: [stream(true, ['q', 'h', 'f'])] }] });
    assert.equal(events()[1]!.state, 'UPDATE');
    assert.deepEqual(
      events()[1]!.tracks.map((t) => t.muted),
      [true, true, true],
    );
    rtc.notify('participants', { peers: [] });
    assert.equal(events()[2]!.state, 'REMOVE');
    assert.equal(events()[2]!.tracks.length, 4);
    assert.equal(events().length, 3);
  });
});
