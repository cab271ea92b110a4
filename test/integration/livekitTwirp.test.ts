// LiveKit's Twirp RoomService (src/api/twirp) driven by livekit-server-sdk's RoomServiceClient, unchanged
// (it mints its own tokens from the API key and secret of `[livekit] keys`): rooms created, listed,
// given metadata and deleted; two @roamhq/wrtc clients joined over /ws and publishing, and a WHIP
// publisher, listed as participants with their tracks; a track muted (the other client's roster shows
// it), a participant's name / metadata / attributes set (the other client is told), the room metadata
// set (members get room.updated), data sent to a LiveKit participant's `_reliable` / `_lossy` channel
// (a LiveKit peer on the media node, driven over the Bus as the /rtc front drives one), a subscription
// dropped (the m-line goes inactive), a participant removed (its socket closes) and the room deleted;
// refusals (wrong secret, missing grant, another room's token), Twirp's errors for malformed, oversized
// and misrouted requests, binary protobuf bodies, and the superservice's id and key as an API key on a
// server without `[livekit] keys`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateRoomRequest,
  ListRoomsRequest,
  ListRoomsResponse,
  ParticipantInfo_State,
  type UserPacket,
} from '@livekit/protocol';
import {
  AccessToken,
  DataPacket_Kind,
  RoomServiceClient,
  TrackSource,
  TrackType,
  TwirpError,
  type ParticipantInfo,
  type VideoGrant,
} from 'livekit-server-sdk';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { clusterOf } from '../../src/config/index.ts';
import { livekitSid } from '../../src/protocol/livekit.ts';
import { findRoomByName } from '../../src/protocol/records.ts';
import { ALL_MEDIA_GRANTS } from '../../src/protocol/tokens.ts';
import { LiveKitBusPeer } from '../helpers/livekitBusPeer.ts';
import { WhipPublisher } from '../helpers/whipPublisher.ts';

const KEY = 'TwirpTestKey';
const SECRET = 'twirp-test-secret-of-enough-length';
const MEETING = 'lk-meeting';

/** The Twirp error a call rejects with. */
async function twirpError(p: Promise<unknown>): Promise<TwirpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TwirpError, String(err));
    return err;
  }
  assert.fail('expected a Twirp error');
}

function token(grant: VideoGrant, secret = SECRET, apiKey = KEY): Promise<string> {
  const at = new AccessToken(apiKey, secret, { ttl: '10m', identity: 'twirp-test' });
  at.addGrant(grant);
  return at.toJwt();
}

interface RosterTrack {
  id: string;
  kind: string;
  muted: boolean;
}

/** uid's published tracks in the latest `participants` roster `peer` received. */
function rosterTracks(peer: WrtcPeer, uid: string): RosterTrack[] {
  const last = peer.notifications.filter((n) => n.method === 'participants').at(-1);
  const p = (
    last?.params as { peers: { uid: string; streams: { tracks?: RosterTrack[] }[] }[] } | undefined
  )?.peers.find((x) => x.uid === uid);
  return p?.streams.flatMap((s) => s.tracks ?? []) ?? [];
}

void describe('LiveKit Twirp RoomService', { timeout: 180_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let rooms: RoomServiceClient;
  let url = '';
  const peers: WrtcPeer[] = [];

  /** A raw Twirp call: status, content type and parsed JSON (or bytes). */
  async function raw(
    method: string,
    body: string | Uint8Array,
    o: { type?: string; auth?: string | null; httpMethod?: string } = {},
  ): Promise<{ status: number; type: string | null; json: any; bytes: Uint8Array }> {
    const auth = o.auth === undefined ? await token({ roomCreate: true, roomList: true }) : o.auth;
    const res = await fetch(`${url}/twirp/livekit.RoomService/${method}`, {
      method: o.httpMethod ?? 'POST',
      headers: {
        'content-type': o.type ?? 'application/json',
        ...(auth !== null ? { authorization: `Bearer ${auth}` } : {}),
      },
      ...(o.httpMethod === 'GET' ? {} : { body: typeof body === 'string' ? body : new Uint8Array(body) }),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const type = res.headers.get('content-type');
    let json: any;
    if (type === 'application/json') {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    }
    return { status: res.status, type, json, bytes };
  }

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.livekit.keys = { [KEY]: SECRET };
    });
    url = sb.url;
    rooms = new RoomServiceClient(url, KEY, SECRET);
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
  });

  // ---- rooms ---------------------------------------------------------------------------------------------

  void it('CreateRoom makes a room of that name (a second call returns it), ListRooms lists it, DeleteRoom removes it', async () => {
    const r = await rooms.createRoom({
      name: 'lk-a',
      maxParticipants: 5,
      metadata: 'first',
      emptyTimeout: 60,
    });
    assert.match(r.sid, /^RM_[0-9a-f]{12}$/);
    assert.deepEqual([r.name, r.maxParticipants, r.metadata, r.numParticipants], ['lk-a', 5, 'first', 0]);
    assert.ok(Math.abs(Number(r.creationTime) - Date.now() / 1000) < 10, `creationTime ${r.creationTime}`);
    // The room record: the superservice's (the rooms of `[livekit] keys`), its max peers and metadata.
    const rec = await findRoomByName(
      sb!.store,
      clusterOf(sb!.config),
      sb!.secrets.superserviceId,
      'lk-a',
      true,
    );
    assert.ok(rec, 'a room record named lk-a');
    assert.deepEqual([rec.maxPeers, rec.metadata, rec.adhoc], [5, 'first', false]);
    // Sids from the room's id, as the /rtc front and the media nodes compute them.
    assert.equal(r.sid, livekitSid.room(rec.id));

    const again = await rooms.createRoom({ name: 'lk-a', maxParticipants: 9 });
    assert.deepEqual([again.sid, again.creationTime, again.maxParticipants], [r.sid, r.creationTime, 5]);
    await rooms.createRoom({ name: 'lk-b' });

    const all = await rooms.listRooms();
    assert.deepEqual(
      all.filter((x) => x.name.startsWith('lk-')).map((x) => x.name),
      ['lk-a', 'lk-b'],
    );
    assert.deepEqual(
      (await rooms.listRooms(['lk-b', 'nope'])).map((x) => [x.name, x.sid]),
      [['lk-b', all.find((x) => x.name === 'lk-b')!.sid]],
    );

    await rooms.deleteRoom('lk-a');
    assert.deepEqual(
      (await rooms.listRooms()).map((x) => x.name),
      ['lk-b'],
    );
    assert.equal(
      await findRoomByName(sb!.store, clusterOf(sb!.config), sb!.secrets.superserviceId, 'lk-a', true),
      undefined,
    );
    // LiveKit answers OK for a room that is not there.
    await rooms.deleteRoom('never-was');
    await rooms.deleteRoom('lk-b');
  });

  void it('UpdateRoomMetadata sets and clears a room metadata; an unknown room is not_found', async () => {
    await rooms.createRoom({ name: 'lk-meta' });
    assert.equal((await rooms.updateRoomMetadata('lk-meta', 'v1')).metadata, 'v1');
    assert.equal((await rooms.listRooms(['lk-meta']))[0]!.metadata, 'v1');
    assert.equal((await rooms.updateRoomMetadata('lk-meta', '')).metadata, '');
    const e = await twirpError(rooms.updateRoomMetadata('lk-nothing', 'x'));
    assert.deepEqual([e.status, e.code, e.message], [404, 'not_found', 'requested room does not exist']);
    await rooms.deleteRoom('lk-meta');
  });

  // ---- refusals and Twirp errors --------------------------------------------------------------------------

  void it('a wrong secret or an unknown API key is unauthenticated (401)', async () => {
    const wrong = await twirpError(
      new RoomServiceClient(url, KEY, 'not-the-secret-at-all-but-long').listRooms(),
    );
    assert.deepEqual([wrong.status, wrong.code], [401, 'unauthenticated']);
    assert.match(wrong.message, /signature/);
    const unknown = await twirpError(new RoomServiceClient(url, 'NoSuchKey', SECRET).listRooms());
    assert.deepEqual([unknown.status, unknown.code], [401, 'unauthenticated']);
    assert.match(unknown.message, /unknown API key/);
    const none = await raw('ListRooms', '{}', { auth: null });
    assert.deepEqual([none.status, none.type, none.json.code], [401, 'application/json', 'unauthenticated']);
  });

  void it('a token without the grant a method needs, or for another room, is refused: permissions denied', async () => {
    await rooms.createRoom({ name: MEETING });
    const as = async (grant: VideoGrant) => new RoomServiceClient(url, '', '', { token: await token(grant) });
    const joinOnly = await as({ roomJoin: true, room: MEETING });
    for (const p of [
      joinOnly.listParticipants(MEETING),
      joinOnly.listRooms(),
      joinOnly.createRoom({ name: 'lk-not-made' }),
      joinOnly.deleteRoom(MEETING),
      (await as({ roomAdmin: true, room: 'another-room' })).listParticipants(MEETING),
      (await as({ roomAdmin: true, room: 'another-room' })).sendData(
        MEETING,
        new Uint8Array([1]),
        DataPacket_Kind.RELIABLE,
      ),
      (await as({ roomAdmin: true, room: MEETING, roomList: false })).listRooms(),
      (await as({ roomList: true })).deleteRoom(MEETING),
    ]) {
      const e = await twirpError(p);
      assert.deepEqual([e.status, e.code, e.message], [401, 'unauthenticated', 'permissions denied']);
    }
    assert.deepEqual(
      (await rooms.listRooms()).map((r) => r.name),
      [MEETING],
      'nothing was created or deleted by a refused call',
    );
  });

  void it('malformed, oversized and misrouted requests get Twirp errors; the service goes on', async () => {
    const bad = await raw('CreateRoom', '{"name": ');
    assert.deepEqual([bad.status, bad.type, bad.json.code], [400, 'application/json', 'malformed']);
    assert.match(bad.json.msg, /json request could not be decoded/);
    const wrongType = await raw('CreateRoom', '{"name": 5, "maxParticipants": "many"}');
    assert.deepEqual([wrongType.status, wrongType.json.code], [400, 'malformed']);
    const huge = await raw('CreateRoom', JSON.stringify({ name: 'lk-huge', metadata: 'x'.repeat(400_000) }));
    assert.deepEqual([huge.status, huge.json.code], [400, 'malformed']);
    assert.match(huge.json.msg, /too large/);
    const long = await raw('CreateRoom', JSON.stringify({ name: 'lk-long', metadata: 'x'.repeat(20_000) }));
    assert.deepEqual(
      [long.status, long.json.code, long.json.msg],
      [400, 'invalid_argument', 'metadata: metadata size exceeds limits'],
    );
    const noName = await raw('CreateRoom', '{}');
    assert.deepEqual(
      [noName.status, noName.json.code, noName.json.msg],
      [400, 'invalid_argument', 'name: no room name'],
    );
    const noRoom = await raw('DeleteRoom', '{"room": ""}');
    assert.deepEqual(
      [noRoom.status, noRoom.json.code, noRoom.json.msg, noRoom.json.meta],
      [400, 'invalid_argument', 'room: no room name', { argument: 'room' }],
    );
    const unknown = await raw('DropEverything', '{}');
    assert.deepEqual([unknown.status, unknown.json.code], [404, 'bad_route']);
    const get = await raw('ListRooms', '', { httpMethod: 'GET' });
    assert.deepEqual([get.status, get.json.code], [404, 'bad_route']);
    const text = await raw('ListRooms', '{}', { type: 'text/plain' });
    assert.deepEqual([text.status, text.json.code], [404, 'bad_route']);
    const otherService = await fetch(`${url}/twirp/livekit.Egress/ListEgress`, {
      method: 'POST',
      body: '{}',
    });
    assert.deepEqual(
      [otherService.status, ((await otherService.json()) as { code: string }).code],
      [404, 'bad_route'],
    );
    // Nothing of it was created, and the service answers.
    assert.deepEqual(
      (await rooms.listRooms()).map((r) => r.name),
      [MEETING],
    );
  });

  void it('binary protobuf bodies are answered in protobuf; snake_case JSON is read too', async () => {
    const made = await raw(
      'CreateRoom',
      new CreateRoomRequest({ name: 'lk-proto', maxParticipants: 3 }).toBinary(),
      {
        type: 'application/protobuf',
      },
    );
    assert.deepEqual([made.status, made.type], [200, 'application/protobuf']);
    const listed = await raw('ListRooms', new ListRoomsRequest({ names: ['lk-proto'] }).toBinary(), {
      type: 'application/protobuf',
    });
    const res = ListRoomsResponse.fromBinary(listed.bytes);
    assert.deepEqual(
      res.rooms.map((r) => [r.name, r.maxParticipants]),
      [['lk-proto', 3]],
    );
    const snake = await raw('CreateRoom', JSON.stringify({ name: 'lk-snake', max_participants: 7 }), {
      type: 'application/json; charset=utf-8',
    });
    assert.equal(snake.status, 200);
    assert.deepEqual(
      [snake.json.name, snake.json.max_participants, typeof snake.json.creation_time],
      ['lk-snake', 7, 'string'],
    );
    await rooms.deleteRoom('lk-proto');
    await rooms.deleteRoom('lk-snake');
  });

  // ---- participants ---------------------------------------------------------------------------------------

  void describe('with two publishing clients on /ws', () => {
    let alice: WrtcPeer;
    let bob: WrtcPeer;
    let carol: LiveKitBusPeer | undefined;
    /** A WHIP publisher in the room too: every protocol's members are participants. */
    let studio: WhipPublisher | undefined;
    const audioOf = (p: ParticipantInfo) => p.tracks.find((t) => t.type === TrackType.AUDIO)!;
    const videoOf = (p: ParticipantInfo) => p.tracks.find((t) => t.type === TrackType.VIDEO)!;

    before(async () => {
      await rooms.createRoom({ name: MEETING });
      alice = await WrtcPeer.connect(wsUrlOf(url), 'alice');
      peers.push(alice);
      bob = await WrtcPeer.connect(wsUrlOf(url), 'bob');
      peers.push(bob);
      alice.joinExtras = { name: 'Alice' };
      await alice.join(MEETING, 'alice');
      await bob.join(MEETING, 'bob');
      await alice.publish();
      await bob.publish();
      studio = new WhipPublisher();
      const posted = await studio.publish(`${url}/whip/rooms/${MEETING}?name=Studio`);
      assert.equal(posted.status, 201, posted.body);
      // carol: a LiveKit participant on the media node (as the /rtc front drives one over the Bus),
      // whose subscriber PC has LiveKit's `_reliable` and `_lossy` channels.
      const rec = await findRoomByName(
        sb!.store,
        clusterOf(sb!.config),
        sb!.secrets.superserviceId,
        MEETING,
        true,
      );
      const lk = new LiveKitBusPeer({
        bus: sb!.bus,
        cluster: clusterOf(sb!.config),
        node: sb!.sfu!.nodeId,
        room: rec!.id,
        uid: 'carol',
        grants: ALL_MEDIA_GRANTS,
      });
      carol = lk;
      await lk.join();
      await waitFor(
        () =>
          lk.channels.get('_reliable')?.readyState === 'open' &&
          lk.channels.get('_lossy')?.readyState === 'open',
        { what: "carol's _reliable and _lossy channels open" },
      );
    });

    after(async () => {
      studio?.close();
      await carol?.close();
    });

    void it('ListParticipants shows the /ws clients and the WHIP publisher with their tracks; ListRooms counts them', async () => {
      const list = await waitFor(
        async () => {
          const ps = await rooms.listParticipants(MEETING);
          return ps.length === 3 && ps.every((p) => p.tracks.length === 2) && ps;
        },
        { what: 'three participants with two tracks each' },
      );
      assert.deepEqual(
        list.map((p) => [p.name, p.state, p.isPublisher]),
        [
          ['Alice', ParticipantInfo_State.ACTIVE, true],
          ['bob', ParticipantInfo_State.ACTIVE, true],
          ['Studio', ParticipantInfo_State.ACTIVE, true],
        ],
      );
      assert.deepEqual(
        list.slice(0, 2).map((p) => p.identity),
        ['alice', 'bob'],
      );
      for (const p of list) {
        assert.match(p.sid, /^PA_[0-9a-f]{12}$/);
        assert.ok(p.permission?.canPublish && p.permission.canSubscribe);
        assert.deepEqual(
          [audioOf(p).source, videoOf(p).source, audioOf(p).muted],
          [TrackSource.MICROPHONE, TrackSource.CAMERA, false],
        );
        assert.match(audioOf(p).sid, /^TR_[0-9a-f]{12}$/);
        assert.ok(Math.abs(Number(p.joinedAt) - Date.now() / 1000) < 60);
      }
      assert.equal(new Set(list.map((p) => p.sid)).size, 3);
      const rec = await findRoomByName(
        sb!.store,
        clusterOf(sb!.config),
        sb!.secrets.superserviceId,
        MEETING,
        true,
      );
      assert.equal(list[0]!.sid, livekitSid.participant(rec!.id, 'alice'));
      const room = (await rooms.listRooms([MEETING]))[0]!;
      assert.deepEqual([room.numParticipants, room.numPublishers], [3, 3]);
    });

    void it('GetParticipant answers one participant; an absent one is not_found', async () => {
      const a = await rooms.getParticipant(MEETING, 'alice');
      assert.deepEqual([a.identity, a.tracks.length], ['alice', 2]);
      const e = await twirpError(rooms.getParticipant(MEETING, 'mallory'));
      assert.deepEqual([e.status, e.code, e.message], [404, 'not_found', 'participant does not exist']);
    });

    void it('MutePublishedTrack mutes alice audio: bob roster and GetParticipant show it muted', async () => {
      const a = await rooms.getParticipant(MEETING, 'alice');
      const track = await rooms.mutePublishedTrack(MEETING, 'alice', audioOf(a).sid, true);
      assert.deepEqual([track?.sid, track?.muted, track?.type], [audioOf(a).sid, true, TrackType.AUDIO]);
      await waitFor(() => rosterTracks(bob, 'alice').find((t) => t.kind === 'audio')?.muted === true, {
        what: "alice's audio muted in bob's roster",
      });
      assert.equal(audioOf(await rooms.getParticipant(MEETING, 'alice')).muted, true);
      assert.equal(videoOf(await rooms.getParticipant(MEETING, 'alice')).muted, false);
      const e = await twirpError(rooms.mutePublishedTrack(MEETING, 'alice', 'TR_000000000000', true));
      assert.deepEqual([e.status, e.code], [404, 'not_found']);
    });

    void it('UpdateParticipant sets name, metadata and attributes: GetParticipant shows them, bob is told', async () => {
      const p = await rooms.updateParticipant(MEETING, 'alice', {
        name: 'Alice L.',
        metadata: '{"hand":true}',
        attributes: { role: 'speaker', seat: '3' },
      });
      assert.deepEqual(
        [p.name, p.metadata, p.attributes],
        ['Alice L.', '{"hand":true}', { role: 'speaker', seat: '3' }],
      );
      const again = await rooms.getParticipant(MEETING, 'alice');
      assert.deepEqual([again.name, again.metadata, again.attributes], [p.name, p.metadata, p.attributes]);
      // An attribute of value "" is removed; "" metadata leaves it as it is.
      const less = await rooms.updateParticipant(MEETING, 'alice', { attributes: { seat: '' } });
      assert.deepEqual([less.metadata, less.attributes], ['{"hand":true}', { role: 'speaker' }]);
      // bob's client hears of it (`room.peer` update with the member's info).
      await waitFor(
        () =>
          bob.notifications.some(
            (n) =>
              n.method === 'room.peer' &&
              n.params.state === 'update' &&
              n.params.peer.uid === 'alice' &&
              n.params.peer.info?.livekit?.metadata === '{"hand":true}',
          ),
        { what: 'bob told of alice metadata' },
      );
      // A permission other than its own is not something Switchboard can give.
      const e = await twirpError(
        rooms.updateParticipant(MEETING, 'alice', { permission: { canPublish: false } }),
      );
      assert.deepEqual([e.status, e.code], [501, 'unimplemented']);
    });

    void it('UpdateRoomMetadata reaches the members (room.updated)', async () => {
      const r = await rooms.updateRoomMetadata(MEETING, 'agenda: twirp');
      assert.deepEqual([r.name, r.metadata, r.numParticipants], [MEETING, 'agenda: twirp', 3]);
      await waitFor(
        () =>
          alice.notifications.some(
            (n) => n.method === 'room.updated' && n.params.room?.metadata === 'agenda: twirp',
          ),
        { what: 'alice told of the room metadata' },
      );
    });

    void it("SendData delivers a user DataPacket to a LiveKit participant's _reliable or _lossy channel", async () => {
      const lk = carol!;
      const text = (i: number) =>
        new TextDecoder().decode((lk.received[i]!.packet.value.value as UserPacket).payload);
      await rooms.sendData(MEETING, new TextEncoder().encode('hello carol'), DataPacket_Kind.RELIABLE, {
        topic: 'chat',
        destinationIdentities: ['carol'],
      });
      await waitFor(() => lk.received.length === 1, { what: 'a data packet for carol' });
      const got = lk.received[0]!;
      assert.deepEqual([got.label, got.packet.value.case, text(0)], ['_reliable', 'user', 'hello carol']);
      const user = got.packet.value.value as UserPacket;
      assert.equal(user.topic, 'chat');
      assert.equal(user.nonce.length, 16); // the SDK's
      assert.deepEqual(got.packet.destinationIdentities, ['carol']);
      assert.equal(got.packet.participantIdentity, '', 'from the server, not a participant');
      // For alice only, then for carol again: carol gets the second only (reliable: in order).
      await rooms.sendData(MEETING, new TextEncoder().encode('for alice'), DataPacket_Kind.RELIABLE, {
        destinationIdentities: ['alice'],
      });
      await rooms.sendData(MEETING, new TextEncoder().encode('again'), DataPacket_Kind.RELIABLE, {
        destinationIdentities: ['carol'],
      });
      await waitFor(() => lk.received.length >= 2, { what: 'the second packet for carol' });
      assert.equal(text(1), 'again');
      // Lossy, to everyone.
      await rooms.sendData(MEETING, new TextEncoder().encode('lossy'), DataPacket_Kind.LOSSY);
      await waitFor(() => lk.received.length >= 3, { what: 'the lossy packet' });
      assert.deepEqual([lk.received[2]!.label, text(2), lk.received.length], ['_lossy', 'lossy', 3]);
      const e = await twirpError(rooms.sendData(MEETING, new Uint8Array(70_000), DataPacket_Kind.LOSSY));
      assert.deepEqual([e.status, e.code], [400, 'invalid_argument']);
    });

    void it("UpdateSubscriptions unsubscribes bob from alice's video; an unknown track sid is not_found", async () => {
      const a = await rooms.getParticipant(MEETING, 'alice');
      await rooms.updateSubscriptions(MEETING, 'bob', [videoOf(a).sid], false);
      await waitFor(
        () =>
          bob.subscriber
            .getTransceivers()
            .some(
              (t) =>
                t.receiver.track.kind === 'video' &&
                t.currentDirection === 'inactive' &&
                [...bob.remoteTracks.values()].some((r) => r.streamId === alice.publishedStreamId),
            ),
        { what: "bob's video m-line of alice to go inactive" },
      );
      const e = await twirpError(rooms.updateSubscriptions(MEETING, 'bob', ['TR_ffffffffffff'], true));
      assert.deepEqual([e.status, e.code], [404, 'not_found']);
      await rooms.updateSubscriptions(MEETING, 'bob', [videoOf(a).sid], true);
    });

    void it('RemoveParticipant disconnects bob; then he is not_found', async () => {
      await rooms.removeParticipant(MEETING, 'bob');
      assert.equal((await bob.socketClosed).code, 4001);
      await waitFor(async () => (await rooms.listParticipants(MEETING)).length === 2, {
        what: 'bob gone from the participants',
      });
      assert.deepEqual(
        (await rooms.listParticipants(MEETING)).map((p) => p.name),
        ['Alice L.', 'Studio'],
      );
      const e = await twirpError(rooms.removeParticipant(MEETING, 'bob'));
      assert.deepEqual([e.status, e.code], [404, 'not_found']);
    });

    void it('DeleteRoom ends the meeting: alice is disconnected, the room is gone', async () => {
      await rooms.deleteRoom(MEETING);
      await alice.socketClosed;
      assert.deepEqual(
        (await rooms.listRooms()).map((r) => r.name),
        [],
      );
      const e = await twirpError(rooms.listParticipants(MEETING));
      assert.deepEqual([e.status, e.code], [404, 'not_found']);
    });
  });
});

void describe('LiveKit Twirp RoomService without [livekit] keys', { timeout: 60_000 }, () => {
  let sb: RunningSwitchboard | undefined;

  before(async () => {
    sb = await startSwitchboard();
  });

  after(async () => {
    await sb?.close();
  });

  void it("takes the superservice's id and key as API key and secret", async () => {
    const { superserviceId, superserviceKey } = sb!.secrets;
    const rooms = new RoomServiceClient(sb!.url, superserviceId, superserviceKey);
    const r = await rooms.createRoom({ name: 'super-room' });
    assert.equal(r.name, 'super-room');
    assert.deepEqual(
      (await rooms.listRooms()).map((x) => x.name),
      ['super-room'],
    );
    const e = await twirpError(
      new RoomServiceClient(sb!.url, superserviceId, 'a-wrong-key-of-some-length').listRooms(),
    );
    assert.deepEqual([e.status, e.code], [401, 'unauthenticated']);
    await rooms.deleteRoom('super-room');
    assert.deepEqual(await rooms.listRooms(), []);
  });
});
