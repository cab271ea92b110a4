// The Twirp edge of LiveKit's RoomService (src/api/twirp): request formats by Content-Type, bodies decoded
// from protobuf-JSON (camelCase or snake_case, int64 as strings) or binary, and the one error table
// (Switchboard's codes, zod issues, fastify's body errors, anything else as `internal` with a log id).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateRoomRequest, RoomParticipantIdentity, SendDataRequest } from '@livekit/protocol';
import { z } from 'zod';
import { BusRequestError } from '../../../src/backbone/index.ts';
import {
  TWIRP_STATUS,
  TwirpError,
  permissionDenied,
  twirpErrorOf,
} from '../../../src/api/twirp/TwirpError.ts';
import { decodeBody, formatOf } from '../../../src/api/twirp/twirpRoutes.ts';
import { SwitchboardError } from '../../../src/util/errors.ts';
import { setLogLevel } from '../../../src/util/logger.ts';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

void describe('Twirp request formats and bodies', () => {
  void it('formatOf reads the media type, ignoring parameters and case', () => {
    assert.equal(formatOf('application/json'), 'json');
    assert.equal(formatOf('Application/JSON;charset=UTF-8'), 'json');
    assert.equal(formatOf('application/protobuf'), 'protobuf');
    assert.equal(formatOf('application/x-www-form-urlencoded'), undefined);
    assert.equal(formatOf('text/plain'), undefined);
    assert.equal(formatOf(undefined), undefined);
  });

  void it('decodes camelCase and snake_case JSON, int64 as a string, and ignores unknown fields', () => {
    const camel = decodeBody(
      CreateRoomRequest,
      json({ name: 'a', maxParticipants: 4, emptyTimeout: 9 }),
      'json',
    );
    const snake = decodeBody(
      CreateRoomRequest,
      json({ name: 'a', max_participants: 4, future_field: 1 }),
      'json',
    );
    assert.deepEqual([camel.name, camel.maxParticipants, camel.emptyTimeout], ['a', 4, 9]);
    assert.deepEqual([snake.name, snake.maxParticipants], ['a', 4]);
    const ts = decodeBody(
      RoomParticipantIdentity,
      json({ room: 'r', identity: 'u', revokeTokenTs: '1700000000' }),
      'json',
    );
    assert.equal(ts.revokeTokenTs, 1_700_000_000n);
    const data = decodeBody(
      SendDataRequest,
      json({ room: 'r', data: Buffer.from('hi').toString('base64'), kind: 'LOSSY' }),
      'json',
    );
    assert.deepEqual([Buffer.from(data.data).toString(), data.kind], ['hi', 1]);
  });

  void it('decodes binary protobuf', () => {
    const bytes = Buffer.from(new CreateRoomRequest({ name: 'p', metadata: 'm' }).toBinary());
    const r = decodeBody(CreateRoomRequest, bytes, 'protobuf');
    assert.deepEqual([r.name, r.metadata], ['p', 'm']);
  });

  void it('a body that does not decode is malformed, naming the format', () => {
    const malformed = (body: Buffer, format: 'json' | 'protobuf', msg: RegExp) =>
      assert.throws(
        () => decodeBody(CreateRoomRequest, body, format),
        (err: unknown) => err instanceof TwirpError && err.code === 'malformed' && msg.test(err.message),
      );
    malformed(Buffer.from('{"name":'), 'json', /json request could not be decoded: not JSON/);
    malformed(Buffer.from(''), 'json', /json request could not be decoded/);
    malformed(json({ name: 5 }), 'json', /json request could not be decoded/);
    malformed(json({ maxParticipants: 'many' }), 'json', /json request could not be decoded/);
    malformed(json([1, 2]), 'json', /json request could not be decoded/);
    malformed(Buffer.from([0x0a, 0xff, 0xff]), 'protobuf', /protobuf request could not be decoded/);
  });
});

void describe('Twirp errors', () => {
  void it('every code has its Twirp HTTP status', () => {
    assert.deepEqual(
      [
        TWIRP_STATUS.unauthenticated,
        TWIRP_STATUS.permission_denied,
        TWIRP_STATUS.not_found,
        TWIRP_STATUS.bad_route,
      ],
      [401, 403, 404, 404],
    );
    assert.deepEqual(
      [
        TWIRP_STATUS.invalid_argument,
        TWIRP_STATUS.malformed,
        TWIRP_STATUS.internal,
        TWIRP_STATUS.unavailable,
      ],
      [400, 400, 500, 503],
    );
    assert.equal(new TwirpError('unimplemented', 'x').status, 501);
  });

  void it("a missing grant is LiveKit's unauthenticated 'permissions denied'", () => {
    const e = permissionDenied();
    assert.deepEqual([e.code, e.status, e.message], ['unauthenticated', 401, 'permissions denied']);
  });

  void it('maps Switchboard errors by code', () => {
    const of = (code: ConstructorParameters<typeof SwitchboardError>[0]) =>
      twirpErrorOf(new SwitchboardError(code, 'why')).code;
    assert.equal(of('unauthorized'), 'unauthenticated');
    assert.equal(of('forbidden'), 'permission_denied');
    assert.equal(of('not-found'), 'not_found');
    assert.equal(of('invalid-params'), 'invalid_argument');
    assert.equal(of('conflict'), 'already_exists');
    assert.equal(of('timeout'), 'unavailable');
    const none = twirpErrorOf(new BusRequestError('no-responder', 'no responders', 'sb.x.room.control'));
    assert.deepEqual([none.code, none.message], ['unavailable', 'room service unavailable']);
  });

  void it('zod issues are invalid_argument naming the field', () => {
    const r = z.object({ name: z.string().min(1, { message: 'no room name' }) }).safeParse({ name: '' });
    assert.ok(!r.success);
    const e = twirpErrorOf(r.error);
    assert.deepEqual(
      [e.code, e.message, e.meta],
      ['invalid_argument', 'name: no room name', { argument: 'name' }],
    );
  });

  void it("fastify's body errors: too large and bad lengths are malformed, a bad media type bad_route", () => {
    const fe = (code: string, statusCode: number) =>
      Object.assign(new Error('fastify says'), { code, statusCode });
    assert.equal(twirpErrorOf(fe('FST_ERR_CTP_BODY_TOO_LARGE', 413)).code, 'malformed');
    assert.match(twirpErrorOf(fe('FST_ERR_CTP_BODY_TOO_LARGE', 413)).message, /too large/);
    assert.equal(twirpErrorOf(fe('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400)).code, 'malformed');
    assert.equal(twirpErrorOf(fe('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).code, 'bad_route');
  });

  void it('anything else is internal with a log id, never its own message', () => {
    setLogLevel('silent'); // it is logged (with the log id) as an error
    const e = twirpErrorOf(new Error('secret detail at /srv/app.ts:12'));
    assert.equal(e.code, 'internal');
    assert.match(e.message, /^internal error \(log id [0-9a-f]{8}\)$/);
    const other = twirpErrorOf(new SwitchboardError('internal', 'secret detail'));
    assert.equal(other.code, 'internal');
    assert.doesNotMatch(other.message, /secret/);
  });
});
