// Hostile input on LiveKit's /rtc (src/signal/livekit): frames that are not protobuf, text frames,
// malformed SDP and candidates, an oversized cid, an oversized frame. Each gets dropped or refused
// alone: the connection keeps answering pings and another participant in the room is not disturbed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { AccessToken } from 'livekit-server-sdk';
import {
  AddTrackRequest,
  ParticipantInfo_State,
  SessionDescription,
  SignalRequest,
  SignalResponse,
  SignalTarget,
  TrackType,
  TrickleRequest,
} from '@livekit/protocol';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const KEY = 'badInputKey';
const SECRET = 'bad-input-secret-0123456789';

/** A raw LiveKit signalling connection: what it received, and a way to send anything. */
class RawLiveKit {
  readonly received: SignalResponse[] = [];
  closed: { code: number } | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d, binary) => {
      if (binary) {
        this.received.push(SignalResponse.fromBinary(d as Buffer));
      }
    });
    ws.on('close', (code) => (this.closed = { code }));
  }

  static async open(url: string, identity: string): Promise<RawLiveKit> {
    const at = new AccessToken(KEY, SECRET, { identity });
    at.addGrant({ roomJoin: true, room: 'hostile' });
    const ws = new WebSocket(`${url.replace('http', 'ws')}/rtc?access_token=${await at.toJwt()}&protocol=16`);
    const c = new RawLiveKit(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await waitFor(() => c.received.some((r) => r.message.case === 'join'), { timeout: 10_000, what: 'join' });
    return c;
  }

  send(req: SignalRequest): void {
    this.ws.send(req.toBinary());
  }

  /** A ping answered (the connection still works). */
  async pong(): Promise<void> {
    const ts = BigInt(Date.now());
    this.send(new SignalRequest({ message: { case: 'ping', value: ts } }));
    await waitFor(() => this.received.some((r) => r.message.case === 'pong'), {
      timeout: 5000,
      what: 'pong',
    });
    this.received.splice(0);
  }

  count(kind: SignalResponse['message']['case']): number {
    return this.received.filter((r) => r.message.case === kind).length;
  }
}

void describe('LiveKit /rtc under hostile input', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let alice: RawLiveKit | undefined;
  let mallory: RawLiveKit | undefined;

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.livekit.keys = { [KEY]: SECRET };
      c.signal.maxmessagesize = 64 * 1024;
    });
    alice = await RawLiveKit.open(sb.url, 'alice');
    mallory = await RawLiveKit.open(sb.url, 'mallory');
    await alice.pong();
  });

  after(async () => {
    alice?.ws.close();
    mallory?.ws.close();
    await sb?.close();
  });

  void it('bytes that are not a SignalRequest and text frames are dropped; pings still answered', async () => {
    mallory!.ws.send(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    mallory!.ws.send('{"offer": 12}');
    mallory!.ws.send('not json at all');
    await mallory!.pong();
    assert.equal(mallory!.closed, undefined);
  });

  void it('a malformed publisher offer and candidates get no answer and break nothing', async () => {
    mallory!.send(
      new SignalRequest({
        message: {
          case: 'offer',
          value: new SessionDescription({ type: 'offer', sdp: 'v=0\r\nm=video x\r\n', id: 1 }),
        },
      }),
    );
    for (const candidateInit of [
      'not json',
      '{"candidate": 5}',
      JSON.stringify({ candidate: 'candidate:garbage' }),
    ]) {
      mallory!.send(
        new SignalRequest({
          message: {
            case: 'trickle',
            value: new TrickleRequest({ candidateInit, target: SignalTarget.PUBLISHER }),
          },
        }),
      );
    }
    await mallory!.pong();
    assert.equal(mallory!.count('answer'), 0);
    assert.equal(mallory!.closed, undefined);
  });

  void it('add_track with an oversized or empty cid is refused; a proper one is published', async () => {
    for (const cid of ['', 'x'.repeat(300)]) {
      mallory!.send(
        new SignalRequest({
          message: {
            case: 'addTrack',
            value: new AddTrackRequest({ cid, type: TrackType.VIDEO, name: 'cam' }),
          },
        }),
      );
    }
    mallory!.send(
      new SignalRequest({
        message: {
          case: 'addTrack',
          value: new AddTrackRequest({ cid: 'fine-track', type: TrackType.AUDIO }),
        },
      }),
    );
    await waitFor(() => mallory!.count('trackPublished') > 0, { timeout: 5000, what: 'track_published' });
    const published = mallory!.received.filter((r) => r.message.case === 'trackPublished');
    assert.deepEqual(
      published.map((r) => (r.message.value as { cid: string }).cid),
      ['fine-track'],
    );
  });

  void it('a frame over [signal] maxmessagesize closes that socket only; the room and alice go on', async () => {
    mallory!.ws.send(Buffer.alloc(128 * 1024, 1));
    await waitFor(() => mallory!.closed !== undefined, { timeout: 5000, what: "mallory's socket to close" });
    // ws refuses the frame with 1009 (its close frame may not make it out before the socket ends: 1006).
    assert.ok([1006, 1009].includes(mallory!.closed!.code), `close code ${mallory!.closed!.code}`);
    // alice is told mallory left, keeps answering, and a newcomer still gets in.
    await waitFor(
      () =>
        alice!.received.some(
          (r) =>
            r.message.case === 'update' &&
            r.message.value.participants.some(
              (p) => p.identity === 'mallory' && p.state === ParticipantInfo_State.DISCONNECTED,
            ),
        ),
      { timeout: 5000, what: 'alice to be told mallory left' },
    );
    await alice!.pong();
    const bob = await RawLiveKit.open(sb!.url, 'bob');
    await bob.pong();
    bob.ws.close();
    assert.equal(alice!.closed, undefined);
  });
});
