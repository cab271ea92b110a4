// ION's room.RoomService (administration) over native gRPC (GrpcServer, a real @grpc/grpc-js client
// built from the project's .proto files) and over gRPC-web WebSockets: management tokens, every method
// onto Switchboard's rooms, ION's error shapes, malformed and oversized input; with members joined
// through room.RoomSignal streams: peers listed, room info, peer updates, AddPeer / RemovePeer events,
// `Disconnect` on removal and on the room's end.
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { signToken } from '../../src/protocol/tokens.ts';
import { signIonToken } from '../../src/signal/ion/ionAuth.ts';
import { grpcWebUnary, openGrpcWeb, type GrpcWebCall } from '../helpers/grpcWeb.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const SECRET = 'ion-room-service-test-secret';
const PROTO_DIR = fileURLToPath(new URL('../../src/signal/ion/proto/', import.meta.url));

const packageDefinition = loadSync(['room.proto', 'rtc.proto'], {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
const ion = grpc.loadPackageDefinition(packageDefinition) as any;

interface Reply {
  success: boolean;
  error: { code: string; reason: string } | null;
  rooms?: {
    sid: string;
    name: string;
    lock: boolean;
    password: string;
    description: string;
    maxPeers: number;
  }[];
  peers?: {
    sid: string;
    uid: string;
    displayName: string;
    role: string;
    protocol: string;
    direction: string;
    avatar: string;
    vendor: string;
    extraInfo: Buffer;
  }[];
}

const management = (identity = 'admin') =>
  signToken({ secret: SECRET, identity, grants: { api: true }, ttlSeconds: 600 });

void describe('ION room.RoomService', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let client: grpc.Client & Record<string, any>;
  let port = 0;
  let adminToken = '';
  const streams: GrpcWebCall[] = [];

  /** A native unary call: the reply, or the error's status. */
  function call(
    method: string,
    request: unknown,
    /** null: no authorization metadata */
    token: string | null = adminToken,
  ): Promise<{ reply?: Reply; code: number; details: string }> {
    const md = new grpc.Metadata();
    if (token !== null) {
      md.set('authorization', token);
    }
    return new Promise((resolve) => {
      client[method](request, md, (err: grpc.ServiceError | null, reply: Reply) => {
        resolve(err ? { code: err.code, details: err.details } : { reply, code: 0, details: '' });
      });
    });
  }

  /** A native call that must succeed with success=true. */
  async function ok(method: string, request: unknown): Promise<Reply> {
    const r = await call(method, request);
    assert.equal(r.code, 0, `${method}: ${r.details}`);
    assert.equal(r.reply!.success, true, `${method}: ${JSON.stringify(r.reply!.error)}`);
    return r.reply!;
  }

  /** A native call that must be refused with ION's error `code`. */
  async function refused(method: string, request: unknown, code: string, reason?: RegExp): Promise<void> {
    const r = await call(method, request);
    assert.equal(r.code, 0, `${method}: ${r.details}`);
    assert.equal(r.reply!.success, false, `${method} should be refused`);
    assert.equal(r.reply!.error?.code, code, `${method}: ${JSON.stringify(r.reply!.error)}`);
    if (reason) {
      assert.match(r.reply!.error.reason, reason);
    }
  }

  /** A gRPC-web unary call on the server's HTTP port. */
  const web = (method: string, request: unknown, token: string | null = adminToken) =>
    grpcWebUnary<Reply>(
      sb!.url,
      `/room.RoomService/${method}`,
      request,
      token === null ? {} : { authorization: token },
    );

  /** A room.RoomSignal stream over gRPC-web, joined with an ION token. */
  async function joinRoom(sid: string, uid: string, password = '', extra: Record<string, unknown> = {}) {
    const token = await signIonToken({
      key: SECRET,
      uid,
      sid,
      publish: true,
      subscribe: true,
      ttlSeconds: 600,
    });
    const s = await openGrpcWeb(sb!.url, '/room.RoomSignal/Signal', { authorization: token });
    streams.push(s);
    s.send({
      join: {
        peer: { sid, uid, displayName: `${uid} name`, protocol: 'WebRTC', ...extra },
        password,
      },
    });
    const reply = await s.waitFor((m) => m.payload === 'join');
    assert.equal(reply.join.success, true, JSON.stringify(reply.join.error));
    return s;
  }

  const peerEvent = (s: GrpcWebCall, uid: string, state: string) =>
    s.waitFor((m) => m.payload === 'peer' && m.peer.peer.uid === uid && m.peer.state === state);

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.auth.secret = SECRET;
      c.auth.anonymous = false;
      // ION's native gRPC listener, as `[signal.grpc] enabled = true` starts it.
      c.signal.grpc.enabled = true;
      c.signal.grpc.port = 0;
    });
    adminToken = await management();
    port = sb.signal!.grpcPort!;
    client = new ion.room.RoomService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    for (const s of streams) {
      s.close();
    }
    client?.close();
    await sb?.close();
  });

  void it('refuses calls without a management token: UNAUTHENTICATED, PERMISSION_DENIED', async () => {
    const none = await call('GetRooms', {}, null);
    assert.equal(none.code, grpc.status.UNAUTHENTICATED, none.details);
    const badSignature = await call(
      'GetRooms',
      {},
      await signToken({
        secret: 'another-secret-of-enough-length',
        identity: 'x',
        grants: { api: true },
        ttlSeconds: 60,
      }),
    );
    assert.equal(badSignature.code, grpc.status.UNAUTHENTICATED, badSignature.details);
    const user = await call(
      'CreateRoom',
      { room: { sid: 'not-created' } },
      await signToken({ secret: SECRET, identity: 'alice', room: 'r', grants: {}, ttlSeconds: 60 }),
    );
    assert.equal(user.code, grpc.status.PERMISSION_DENIED, user.details);
    const ionToken = await signIonToken({
      key: SECRET,
      uid: 'u',
      sid: 'r',
      publish: true,
      subscribe: true,
      ttlSeconds: 60,
    });
    const byIon = await call('CreateRoom', { room: { sid: 'not-created' } }, ionToken);
    assert.equal(byIon.code, grpc.status.PERMISSION_DENIED, byIon.details);
    const garbage = await call('GetRooms', {}, 'not a token');
    assert.equal(garbage.code, grpc.status.PERMISSION_DENIED, garbage.details);
    const rooms = await ok('GetRooms', {});
    assert.ok(!rooms.rooms!.some((r) => r.sid === 'not-created'), 'a refused CreateRoom created nothing');
  });

  void it('CreateRoom, GetRooms, UpdateRoom, EndRoom onto the REST rooms', async () => {
    await ok('CreateRoom', {
      room: { sid: 'ion-a', name: 'ION A', password: 'pw', description: 'first', maxPeers: 5 },
    });
    await refused('CreateRoom', { room: { sid: 'ion-a' } }, 'RoomAlreadyExist');
    // A room whose name is another room's sid (a join by sid would reach the wrong one).
    await refused('CreateRoom', { room: { sid: 'ion-b', name: 'ion-a' } }, 'RoomAlreadyExist');
    await refused('CreateRoom', { room: { sid: 'ION A' } }, 'RoomAlreadyExist');

    const rest = await fetch(`${sb!.url}/api/rooms/ion-a`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(rest.status, 200);
    const json = (await rest.json()) as Record<string, unknown>;
    assert.equal(json._id, 'ion-a');
    assert.equal(json.name, 'ION A');
    assert.equal(json.hasPassword, true);
    assert.equal(json.maxPeers, 5);
    assert.equal(json.description, 'first');

    let rooms = (await ok('GetRooms', {})).rooms!;
    const a = rooms.find((r) => r.sid === 'ion-a');
    assert.deepEqual(a, {
      sid: 'ion-a',
      name: 'ION A',
      lock: false,
      password: '',
      description: 'first',
      maxPeers: 5,
    });

    await ok('UpdateRoom', {
      room: { sid: 'ion-a', lock: true, maxPeers: 3, password: 'pw', description: 'second' },
    });
    rooms = (await ok('GetRooms', {})).rooms!;
    assert.deepEqual(
      rooms.find((r) => r.sid === 'ion-a'),
      { sid: 'ion-a', name: 'ION A', lock: true, password: '', description: 'second', maxPeers: 3 },
      'the name is kept when UpdateRoom gives none',
    );
    await ok('UpdateRoom', { room: { sid: 'ion-a', name: 'Renamed', lock: false } });
    const after = (await ok('GetRooms', {})).rooms!.find((r) => r.sid === 'ion-a')!;
    assert.equal(after.name, 'Renamed');
    assert.equal(after.maxPeers, 0, 'ION replaces the settings');
    const restAfter = (await (
      await fetch(`${sb!.url}/api/rooms/ion-a`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as Record<string, unknown>;
    assert.equal(restAfter.hasPassword, false, 'an empty password removes it');

    await refused('UpdateRoom', { room: { sid: 'no-such-room', lock: true } }, 'RoomNotExist');
    await refused('EndRoom', { sid: 'no-such-room' }, 'RoomNotExist');
    await refused('GetPeers', { sid: 'no-such-room' }, 'RoomNotExist');
    await refused('RemovePeer', { sid: 'no-such-room', uid: 'x' }, 'RoomNotExist');

    await ok('EndRoom', { sid: 'ion-a', reason: 'over' });
    assert.ok(
      (await ok('GetRooms', {})).rooms!.some((r) => r.sid === 'ion-a'),
      'EndRoom without delete keeps it',
    );
    await ok('EndRoom', { sid: 'ion-a', delete: true });
    assert.ok(
      !(await ok('GetRooms', {})).rooms!.some((r) => r.sid === 'ion-a'),
      'EndRoom with delete removes it',
    );
  });

  void it('InvalidParams for empty or oversized fields', async () => {
    await refused('CreateRoom', {}, 'InvalidParams', /room is required/);
    await refused('CreateRoom', { room: { sid: '' } }, 'InvalidParams', /sid/);
    await refused('CreateRoom', { room: { sid: 'x'.repeat(257) } }, 'InvalidParams');
    await refused('CreateRoom', { room: { sid: 'big', maxPeers: 200_000 } }, 'InvalidParams', /maxPeers/);
    await refused('CreateRoom', { room: { sid: 'big', description: 'd'.repeat(2000) } }, 'InvalidParams');
    await refused('EndRoom', { sid: '' }, 'InvalidParams');
    await refused('GetPeers', {}, 'InvalidParams');
    await refused('RemovePeer', { sid: 'x' }, 'InvalidParams', /uid/);
    await refused('AddPeer', {}, 'InvalidParams', /peer is required/);
    await refused('UpdatePeer', { peer: { sid: 'x' } }, 'InvalidParams', /uid/);
    assert.ok(!(await ok('GetRooms', {})).rooms!.some((r) => r.sid === 'big'));
  });

  void it('AddPeer, UpdatePeer, GetPeers, RemovePeer of a participant without a connection', async () => {
    await ok('CreateRoom', { room: { sid: 'ion-gw', maxPeers: 1 } });
    assert.deepEqual((await ok('GetPeers', { sid: 'ion-gw' })).peers, []);
    await refused('AddPeer', { peer: { sid: 'no-such-room', uid: 'sip-1' } }, 'RoomNotExist');
    await ok('AddPeer', {
      peer: {
        sid: 'ion-gw',
        uid: 'sip-1',
        displayName: 'SIP caller',
        protocol: 'SIP',
        direction: 'OUTGOING',
        vendor: 'gw',
        extraInfo: Buffer.from('{"phone":"+100"}'),
        role: 'Host',
      },
    });
    await refused('AddPeer', { peer: { sid: 'ion-gw', uid: 'sip-1' } }, 'PeerAlreadyExist');
    await refused('AddPeer', { peer: { sid: 'ion-gw', uid: 'sip-2' } }, 'PermissionDenied', /full/);
    let peers = (await ok('GetPeers', { sid: 'ion-gw' })).peers!;
    assert.equal(peers.length, 1);
    assert.equal(peers[0]!.uid, 'sip-1');
    assert.equal(peers[0]!.sid, 'ion-gw');
    assert.equal(peers[0]!.displayName, 'SIP caller');
    assert.equal(peers[0]!.role, 'Guest', "AddPeer's role is not taken: tokens make hosts");
    assert.equal(peers[0]!.protocol, 'SIP');
    assert.equal(peers[0]!.direction, 'OUTGOING');
    assert.equal(peers[0]!.vendor, 'gw');
    assert.equal(Buffer.from(peers[0]!.extraInfo).toString(), '{"phone":"+100"}');

    await ok('UpdatePeer', {
      peer: { sid: 'ion-gw', uid: 'sip-1', displayName: 'Caller', protocol: 'RTMP' },
    });
    peers = (await ok('GetPeers', { sid: 'ion-gw' })).peers!;
    assert.equal(peers[0]!.displayName, 'Caller');
    assert.equal(peers[0]!.protocol, 'RTMP');
    await refused('UpdatePeer', { peer: { sid: 'ion-gw', uid: 'nobody' } }, 'PeerNotExist');

    // The REST API sees the same member.
    const users = (await (
      await fetch(`${sb!.url}/api/rooms/ion-gw/users`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as { id: string; name: string }[];
    assert.deepEqual(
      users.map((u) => [u.id, u.name]),
      [['sip-1', 'Caller']],
    );

    await ok('RemovePeer', { sid: 'ion-gw', uid: 'sip-1' });
    assert.deepEqual((await ok('GetPeers', { sid: 'ion-gw' })).peers, []);
    await refused('RemovePeer', { sid: 'ion-gw', uid: 'sip-1' }, 'PeerNotExist');
    // Its slot is free again.
    await ok('AddPeer', { peer: { sid: 'ion-gw', uid: 'sip-2' } });
    await ok('EndRoom', { sid: 'ion-gw', delete: true });
  });

  void it('malformed, oversized and unknown calls get a gRPC status; the server goes on', async () => {
    const raw = async (path: string, body: Buffer): Promise<number> => {
      const session = http2Connect(`http://127.0.0.1:${port}`);
      try {
        return await new Promise<number>((resolve, reject) => {
          const req = session.request({
            ':method': 'POST',
            ':path': path,
            'content-type': 'application/grpc',
            te: 'trailers',
            authorization: adminToken,
          });
          let status: number | undefined;
          req.on('response', (h) => {
            if (h['grpc-status'] !== undefined) {
              status = Number(h['grpc-status']);
            }
          });
          req.on('trailers', (t) => {
            if (t['grpc-status'] !== undefined) {
              status = Number(t['grpc-status']);
            }
          });
          req.on('data', () => undefined);
          req.on('end', () => (status === undefined ? reject(new Error('no grpc-status')) : resolve(status)));
          req.on('error', reject);
          req.end(body);
        });
      } finally {
        session.close();
      }
    };
    const garbage = await raw('/room.RoomService/CreateRoom', Buffer.from('this is not a gRPC frame at all'));
    assert.notEqual(garbage, 0, 'garbage bytes');
    // A well-framed message that is not a CreateRoomRequest (a field of the wrong wire type).
    const bad = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, bad.length]), bad]);
    const undecodable = await raw('/room.RoomService/CreateRoom', framed);
    assert.notEqual(undecodable, 0, 'an undecodable message');
    const truncated = await raw('/room.RoomService/CreateRoom', Buffer.from([0, 0, 0, 0, 10, 1, 2]));
    assert.notEqual(truncated, 0, 'a truncated frame');
    assert.equal(await raw('/room.RoomService/Nope', framed), grpc.status.UNIMPLEMENTED);
    assert.equal(await raw('/nope.Nope/Nope', framed), grpc.status.UNIMPLEMENTED);

    const unknown = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        '/room.RoomService/DeleteEverything',
        (x: Buffer) => x,
        (x: Buffer) => x,
        Buffer.alloc(0),
        new grpc.Metadata(),
        (err: grpc.ServiceError | null) => resolve(err),
      ),
    );
    assert.equal(unknown?.code, grpc.status.UNIMPLEMENTED);

    const big = await call('CreateRoom', {
      room: { sid: 'huge', description: 'x'.repeat(sb!.config.signal.maxmessagesize + 10) },
    });
    assert.equal(big.code, grpc.status.RESOURCE_EXHAUSTED, big.details);

    assert.equal((await call('GetRooms', {})).code, 0, 'the server still answers');
  });

  void it('the same calls over gRPC-web WebSockets', async () => {
    let r = await web('CreateRoom', { room: { sid: 'web-a', name: 'Web A', maxPeers: 2 } });
    assert.equal(r.status.code, 0, r.status.message);
    assert.equal(r.reply?.success, true);
    r = await web('CreateRoom', { room: { sid: 'web-a' } });
    assert.equal(r.status.code, 0);
    assert.deepEqual(r.reply?.error, { code: 'RoomAlreadyExist', reason: 'room "web-a" already exists' });
    r = await web('GetRooms', {});
    assert.equal(r.status.code, 0);
    assert.deepEqual(
      r.reply!.rooms!.find((x) => x.sid === 'web-a'),
      { sid: 'web-a', name: 'Web A', lock: false, password: '', description: '', maxPeers: 2 },
    );
    r = await web('UpdateRoom', { room: { sid: 'web-a', lock: true } });
    assert.equal(r.reply?.success, true);
    r = await web('GetRooms', {});
    assert.equal(r.reply!.rooms!.find((x) => x.sid === 'web-a')?.lock, true);
    r = await web('UpdateRoom', { room: { sid: 'web-none', lock: true } });
    assert.equal(r.reply?.error?.code, 'RoomNotExist');

    r = await web('GetRooms', {}, null);
    assert.equal(r.status.code, grpc.status.UNAUTHENTICATED);
    assert.equal(r.reply, undefined);
    r = await web(
      'GetRooms',
      {},
      await signToken({ secret: SECRET, identity: 'bob', room: 'x', grants: {}, ttlSeconds: 60 }),
    );
    assert.equal(r.status.code, grpc.status.PERMISSION_DENIED);

    r = await web('EndRoom', { sid: 'web-a', delete: true });
    assert.equal(r.reply?.success, true);
    r = await web('GetRooms', {});
    assert.ok(!r.reply!.rooms!.some((x) => x.sid === 'web-a'));

    // Unknown method; a frame that is not gRPC-web; an undecodable message; a declared length over
    // the limit; finish-send without a request.
    const rawCall = async (bytes: Buffer[]): Promise<number> => {
      const c = await openGrpcWeb(sb!.url, '/room.RoomService/CreateRoom', { authorization: adminToken });
      for (const b of bytes) {
        c.sendRaw(b);
      }
      const s = await c.status;
      c.close();
      return s.code;
    };
    const unknownRaw = await openGrpcWeb(sb!.url, '/room.RoomService/Nope', { authorization: adminToken });
    assert.equal((await unknownRaw.status).code, grpc.status.UNIMPLEMENTED);
    assert.equal(await rawCall([Buffer.from([0x07, 1, 2, 3])]), grpc.status.INVALID_ARGUMENT);
    assert.equal(
      await rawCall([Buffer.from([0x00, 0x00, 0, 0, 0, 3, 0x0a, 0xff, 0xff])]),
      grpc.status.INVALID_ARGUMENT,
    );
    const over = Buffer.alloc(6);
    over.writeUInt32BE(sb!.config.signal.maxmessagesize + 1, 2);
    assert.equal(await rawCall([over]), grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(await rawCall([Buffer.from([0x01])]), grpc.status.INVALID_ARGUMENT);
    r = await web('GetRooms', {});
    assert.equal(r.status.code, 0, 'the server still answers');
  });

  void it('members of room.RoomSignal streams: GetPeers, room info, peer updates and events, RemovePeer, EndRoom', async () => {
    await ok('CreateRoom', { room: { sid: 'ion-live', name: 'Live', password: 'secret' } });
    const alice = await joinRoom('ion-live', 'alice', 'secret', {
      avatar: 'https://example.com/a.png',
      vendor: 'ion-sdk-js',
      extraInfo: Buffer.from('hello'),
    });
    const bob = await joinRoom('ion-live', 'bob', 'secret');
    await peerEvent(alice, 'bob', 'JOIN');

    const peers = (await ok('GetPeers', { sid: 'ion-live' })).peers!;
    assert.deepEqual(
      peers.map((p) => [p.uid, p.displayName, p.role, p.protocol]),
      [
        ['alice', 'alice name', 'Guest', 'WebRTC'],
        ['bob', 'bob name', 'Guest', 'WebRTC'],
      ],
    );
    const a = peers.find((p) => p.uid === 'alice')!;
    assert.equal(a.avatar, 'https://example.com/a.png');
    assert.equal(a.vendor, 'ion-sdk-js');
    assert.equal(Buffer.from(a.extraInfo).toString(), 'hello');
    assert.equal(a.sid, 'ion-live');

    // UpdateRoom reaches the members as room info.
    await ok('UpdateRoom', { room: { sid: 'ion-live', lock: true, password: 'secret', maxPeers: 10 } });
    const info = await alice.waitFor((m) => m.payload === 'room' && m.room.lock === true);
    assert.equal(info.room.sid, 'ion-live');
    assert.equal(info.room.maxPeers, 10);
    assert.equal(info.room.password, '', 'never sent back');

    // UpdatePeer: the others see an UPDATE with the new name; alice's own ION fields are replaced.
    await ok('UpdatePeer', {
      peer: { sid: 'ion-live', uid: 'alice', displayName: 'Alice', avatar: 'b.png' },
    });
    const upd = await bob.waitFor(
      (m) => m.payload === 'peer' && m.peer.state === 'UPDATE' && m.peer.peer.uid === 'alice',
    );
    assert.equal(upd.peer.peer.displayName, 'Alice');
    assert.equal(upd.peer.peer.avatar, 'b.png');

    // AddPeer / RemovePeer of a gateway participant: JOIN and LEAVE to the members.
    await ok('AddPeer', {
      peer: { sid: 'ion-live', uid: 'rtmp-1', displayName: 'Stream', protocol: 'RTMP' },
    });
    const joined = await peerEvent(alice, 'rtmp-1', 'JOIN');
    assert.equal(joined.peer.peer.protocol, 'RTMP');
    assert.equal(joined.peer.peer.displayName, 'Stream');
    await ok('RemovePeer', { sid: 'ion-live', uid: 'rtmp-1' });
    await peerEvent(alice, 'rtmp-1', 'LEAVE');

    // RemovePeer of a connected member: ION's Disconnect, then the stream ends; the others see LEAVE.
    await ok('RemovePeer', { sid: 'ion-live', uid: 'bob' });
    const d = await bob.waitFor((m) => m.payload === 'disconnect');
    assert.deepEqual(d.disconnect, { sid: 'ion-live', reason: 'kicked by host' });
    assert.equal((await bob.status).code, 0);
    await peerEvent(alice, 'bob', 'LEAVE');
    assert.deepEqual(
      (await ok('GetPeers', { sid: 'ion-live' })).peers!.map((p) => p.uid),
      ['alice'],
    );

    // EndRoom: everyone gets Disconnect with the reason.
    await ok('EndRoom', { sid: 'ion-live', reason: 'meeting over', delete: true });
    const end = await alice.waitFor((m) => m.payload === 'disconnect');
    assert.deepEqual(end.disconnect, { sid: 'ion-live', reason: 'meeting over' });
    assert.equal((await alice.status).code, 0);
    assert.deepEqual(
      (await ok('GetRooms', {})).rooms!.filter((r) => r.sid === 'ion-live'),
      [],
    );
  });

  void it('a native room.RoomSignal stream through GrpcServer: join, peer events, half-close', async () => {
    await ok('CreateRoom', { room: { sid: 'ion-native' } });
    const token = await signIonToken({
      key: SECRET,
      uid: 'carol',
      sid: 'ion-native',
      publish: true,
      subscribe: true,
      ttlSeconds: 60,
    });
    const md = new grpc.Metadata();
    md.set('authorization', token);
    const signal = new ion.room.RoomSignal(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const stream = signal.Signal(md) as grpc.ClientDuplexStream<unknown, any>;
    const got: any[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('data', (m) => got.push(m));
    stream.on('error', () => undefined);
    stream.write({ join: { peer: { sid: 'ion-native', uid: 'carol', displayName: 'Carol' }, password: '' } });
    await waitFor(() => got.find((m) => m.payload === 'join'), { what: 'the join reply' });
    assert.equal(got.find((m) => m.payload === 'join').join.success, true);
    const dave = await joinRoom('ion-native', 'dave');
    await waitFor(() => got.find((m) => m.payload === 'peer' && m.peer.peer.uid === 'dave'), {
      what: "dave's JOIN on the native stream",
    });
    await peerEvent(dave, 'carol', 'JOIN');
    assert.deepEqual(
      (await ok('GetPeers', { sid: 'ion-native' })).peers!.map((p) => p.uid),
      ['carol', 'dave'],
    );
    stream.end(); // half-close: the membership ends with the stream
    assert.equal((await status).code, grpc.status.OK);
    await peerEvent(dave, 'carol', 'LEAVE');
    signal.close();

    // A native stream that is refused: a bad token ends it with UNAUTHENTICATED.
    const bad = new grpc.Metadata();
    bad.set('authorization', 'x.y.z');
    const refusedStream = new ion.room.RoomSignal(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const s2 = refusedStream.Signal(bad) as grpc.ClientDuplexStream<unknown, unknown>;
    s2.on('error', () => undefined);
    const st2 = await new Promise<grpc.StatusObject>((resolve) => s2.on('status', resolve));
    assert.equal(st2.code, grpc.status.UNAUTHENTICATED);
    refusedStream.close();
    await ok('EndRoom', { sid: 'ion-native', delete: true });
  });
});
