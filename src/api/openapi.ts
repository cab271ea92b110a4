/** The OpenAPI 3.1 document served at `/api/openapi.json`; request schemas come from the zod schemas. */
import { z } from 'zod';
import {
  createRoomBody,
  createServiceBody,
  createTokenBody,
  patchRoomBody,
  startRecordingBody,
  muteBody,
  endRoomBody,
  updateRoomBody,
} from './schemas.ts';
import { recordingInfo } from '../protocol/recording.ts';

function schema(s: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
}

const error = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
};

const room = {
  type: 'object',
  required: ['_id', 'name', 'locked', 'hasPassword', 'maxPeers'],
  properties: {
    _id: { type: 'string', description: 'Room id: the `sid` clients join on /ws' },
    name: { type: 'string' },
    p2p: { type: 'boolean' },
    data: {},
    mediaConfiguration: { type: 'string' },
    description: { type: 'string' },
    locked: { type: 'boolean' },
    hasPassword: { type: 'boolean' },
    maxPeers: { type: 'integer', description: '0 = unlimited' },
  },
};

/** A published track's identity and state, in users listings and statistics. */
const trackIdentity = {
  trackId: { type: 'string' },
  streamId: { type: 'string' },
  kind: { enum: ['audio', 'video'] },
  muted: { type: 'boolean' },
};

const user = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string' },
    host: { type: 'boolean' },
    permissions: {
      type: 'object',
      properties: { publish: { type: 'boolean' }, subscribe: { type: 'boolean' }, data: { type: 'boolean' } },
    },
    hidden: { type: 'boolean' },
    joinedAt: { type: 'integer', description: 'ms since the epoch' },
    node: {
      type: 'string',
      description: 'The media node holding the user’s media (absent before it joins one)',
    },
    dc: { type: 'string', description: 'That node’s region (`[global] dc`)' },
    protocol: {
      enum: ['jsonrpc', 'ion', 'licode', 'whip', 'whep', 'livekit'],
      description: 'How it connected',
    },
    tracks: {
      type: 'array',
      description: 'What it publishes',
      items: { type: 'object', properties: trackIdentity },
    },
  },
};

const transportStats = {
  type: 'object',
  properties: {
    state: { type: 'string', description: 'ICE state' },
    protocol: { type: ['string', 'null'], description: 'udp or tcp' },
    localType: { type: ['string', 'null'], description: 'selected pair, our side: host or relay' },
    remoteType: { type: ['string', 'null'], description: 'client side: host, srflx, prflx or relay' },
    remoteAddress: { type: ['string', 'null'] },
    rtt: { type: ['number', 'null'], description: 'ms, ICE consent checks (none with ICE-lite)' },
    bytesSent: { type: 'integer' },
    bytesReceived: { type: 'integer' },
  },
};

const layerStats = {
  type: 'object',
  properties: {
    rid: { type: 'string' },
    ssrc: { type: 'integer' },
    packets: { type: 'integer' },
    bytes: { type: 'integer' },
    bitrate: { type: 'number', description: 'bps over the last second' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    frameRate: { type: 'number', description: 'frames per second over the last second' },
    plis: { type: 'integer', description: 'keyframe requests sent to the publisher' },
    keyframes: { type: 'integer' },
    nacks: { type: 'integer', description: 'packets NACKed toward the publisher' },
    packetsLost: { type: 'integer', description: 'lost on the way in (RFC 3550 count)' },
    paused: { type: 'boolean', description: 'dynacast paused it at the publisher' },
  },
};

const participantStats = {
  type: 'object',
  properties: {
    uid: { type: 'string' },
    name: { type: 'string' },
    joinedAt: { type: 'integer' },
    node: { type: 'string' },
    dc: { type: 'string' },
    protocol: { enum: ['jsonrpc', 'ion', 'licode', 'whip', 'whep', 'livekit'] },
    estimate: { type: ['number', 'null'], description: 'the subscriber’s REMB, bps' },
    transport: {
      type: 'object',
      properties: { publisher: transportStats, subscriber: transportStats },
    },
    tracks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ...trackIdentity,
          codec: { type: 'string' },
          packets: { type: 'integer' },
          bytes: { type: 'integer' },
          layers: { type: 'array', items: layerStats },
          subscribers: { type: 'integer' },
        },
      },
    },
    subscriptions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          trackId: { type: 'string' },
          kind: { enum: ['audio', 'video'] },
          layer: { type: 'integer', description: 'forwarded layer, lowest 0; -1 none' },
          targetLayer: { type: 'integer' },
          bitrate: { type: 'number' },
          packetsSent: { type: 'integer' },
          bytesSent: { type: 'integer' },
          loss: { type: 'number' },
          nacks: { type: 'integer' },
          retransmitted: { type: 'integer' },
          muted: { type: 'boolean' },
          paused: {
            enum: ['subscriber', 'publisher', 'bandwidth', 'dynacast', null],
            description: 'why nothing is forwarded; null while it is',
          },
          rtt: { type: ['number', 'null'], description: 'ms, from its receiver reports' },
          jitter: { type: ['number', 'null'], description: 'ms, from its receiver reports' },
          packetsLost: { type: 'integer', description: 'as its receiver reports count them' },
        },
      },
    },
  },
};

const roomStats = {
  type: 'object',
  properties: {
    room: { type: 'string' },
    name: { type: 'string' },
    at: { type: 'integer', description: 'ms since the epoch' },
    owner: { type: ['string', 'null'], description: 'The node owning the room; the others relay to it' },
    totals: {
      type: 'object',
      properties: {
        participants: { type: 'integer' },
        tracks: { type: 'integer', description: 'published' },
        subscriptions: { type: 'integer', description: 'tracks forwarded to subscribers' },
        bitrateIn: { type: 'number', description: 'bps received from publishers (every layer)' },
        bitrateOut: { type: 'number', description: 'bps forwarded to subscribers' },
      },
    },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { node: { type: 'string' }, dc: { type: 'string' }, answered: { type: 'boolean' } },
      },
    },
    participants: { type: 'array', items: participantStats },
  },
};

const nodesSchema = {
  type: 'object',
  properties: {
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          node: { type: 'string' },
          dc: { type: 'string', description: 'region' },
          peers: { type: 'integer' },
          tracks: { type: 'integer' },
          rooms: { type: 'integer' },
          relays: { type: 'integer' },
          cpu: { type: 'number', description: '% of one core' },
          packetRate: { type: 'number', description: 'packets forwarded per second' },
          rss: { type: 'integer', description: 'bytes' },
          eventLoopDelayMs: { type: 'number', description: 'p99 since the last heartbeat' },
          maxPeers: { type: 'integer' },
          draining: { type: 'boolean' },
          at: { type: 'integer' },
          owns: { type: 'array', items: { type: 'string' }, description: 'rooms it owns' },
        },
      },
    },
  },
};

const service = {
  type: 'object',
  properties: {
    _id: { type: 'string' },
    name: { type: 'string' },
    superservice: { type: 'boolean' },
    rooms: { type: 'array', items: { $ref: '#/components/schemas/Room' } },
  },
  description: 'Service keys are never returned.',
};

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const jsonArray = (ref: string) => ({
  'application/json': { schema: { type: 'array', items: { $ref: `#/components/schemas/${ref}` } } },
});
const textBody = (description: string) => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' } } },
});
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const body = (ref: string, required = true) => ({ required, content: json(ref) });
const roomParam = {
  name: 'room',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'Room id (or its name when unique within the service)',
};
const userParam = {
  name: 'user',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'uid or name',
};
const serviceParam = { name: 'service', in: 'path', required: true, schema: { type: 'string' } };
const recordingParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard management API',
      version: '1',
      description:
        "Licode Nuve-compatible REST API. Authenticate every request with Licode's MAuth header " +
        '(HMAC-SHA1, `base64(hex(hmac))` over "timestamp,cnonce[,username,role]") or a bearer JWT carrying ' +
        'the `api` grant. Errors are JSON `{statusCode, error, message}`.',
    },
    servers: [{ url: '/api' }],
    security: [{ mauth: [] }, { bearer: [] }],
    components: {
      securitySchemes: {
        mauth: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1[,mauth_username=U,mauth_role=R],' +
            'mauth_serviceid=ID,mauth_cnonce=N,mauth_timestamp=T,mauth_signature=S. T (ms) must be within ' +
            '[api] mauthwindow of the server clock; each (T, N) is accepted once.',
        },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (HS256, grants.api = true)' },
      },
      schemas: {
        Error: error,
        Room: room,
        User: user,
        RoomStats: roomStats,
        ParticipantStats: participantStats,
        Nodes: nodesSchema,
        Service: service,
        CreateRoom: schema(createRoomBody),
        UpdateRoom: schema(updateRoomBody),
        PatchRoom: schema(patchRoomBody),
        CreateService: schema(createServiceBody),
        CreateToken: schema(createTokenBody),
        StartRecording: schema(startRecordingBody),
        MuteUser: schema(muteBody),
        EndRoom: schema(endRoomBody),
        Recording: schema(recordingInfo),
      },
      responses: Object.fromEntries(
        [
          [400, 'Invalid input'],
          [401, 'Missing or invalid credentials'],
          [403, 'Not allowed'],
          [404, 'Not found'],
          [409, 'Conflicts with the current state'],
          [413, 'Body too large'],
          [503, 'A role this needs is not running'],
        ].map(([c, d]) => [`E${c}`, { description: d, content: json('Error') }]),
      ),
    },
    paths: {
      '/rooms': {
        get: {
          summary: "The service's rooms",
          responses: { 200: { description: 'Rooms', content: jsonArray('Room') }, ...errors(401) },
        },
        post: {
          summary: 'Create a room (options.getOrCreate returns an existing one of the same name)',
          requestBody: body('CreateRoom'),
          responses: { 200: { description: 'The room', content: json('Room') }, ...errors(400, 401, 413) },
        },
      },
      '/rooms/{room}': {
        parameters: [roomParam],
        get: {
          summary: 'A room',
          responses: { 200: { description: 'The room', content: json('Room') }, ...errors(401, 404) },
        },
        put: {
          summary: 'Replace name and options (p2p can only be turned on; data is replaced)',
          requestBody: body('UpdateRoom'),
          responses: { 200: textBody('"Room Updated"'), ...errors(400, 401, 404, 413) },
        },
        patch: {
          summary: 'Update name and options (data keys are merged)',
          requestBody: body('PatchRoom'),
          responses: { 200: textBody('"Room Updated"'), ...errors(400, 401, 404, 413) },
        },
        delete: {
          summary: 'Delete a room; everyone in it is disconnected',
          responses: { 200: textBody('"Room deleted"'), ...errors(401, 404) },
        },
      },
      '/rooms/{room}/end': {
        parameters: [roomParam],
        post: {
          summary:
            'End the meeting: everyone leaves (told the reason); a created room stays, an ad-hoc one goes',
          requestBody: body('EndRoom', false),
          responses: {
            200: {
              description: 'Ended',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { ended: { type: 'boolean' }, peers: { type: 'integer' } },
                  },
                },
              },
            },
            ...errors(400, 401, 404, 413),
          },
        },
      },
      '/rooms/{room}/tokens': {
        parameters: [
          roomParam,
          {
            name: 'format',
            in: 'query',
            schema: { type: 'string', enum: ['licode', 'jwt'] },
            description:
              'licode (default): base64 Licode token; jwt: a single-use JWT (also with Accept: application/jwt)',
          },
        ],
        post: {
          summary: 'Create an access token (user and role from the MAuth header, or the body)',
          requestBody: body('CreateToken', false),
          responses: {
            200: {
              description: 'The token',
              content: {
                'text/plain': { schema: { type: 'string' } },
                'application/jwt': { schema: { type: 'string' } },
              },
            },
            ...errors(400, 401, 404, 413),
          },
        },
      },
      '/rooms/{room}/users': {
        parameters: [roomParam],
        get: {
          summary: 'Who is in the room',
          responses: { 200: { description: 'Users', content: jsonArray('User') }, ...errors(401, 404) },
        },
      },
      '/nodes': {
        get: {
          summary:
            "The cluster's live media nodes: heartbeat (load, region, limits) and rooms owned (superservice)",
          responses: { 200: { description: 'Nodes', content: json('Nodes') }, ...errors(401) },
        },
      },
      '/rooms/{room}/stats': {
        parameters: [roomParam],
        get: {
          summary: 'Media statistics of the room, from every media node hosting it',
          responses: { 200: { description: 'Statistics', content: json('RoomStats') }, ...errors(401, 404) },
        },
      },
      '/rooms/{room}/users/{user}/stats': {
        parameters: [roomParam, userParam],
        get: {
          summary: "One participant's entry of the room's media statistics (uid or name)",
          responses: {
            200: { description: 'Statistics', content: json('ParticipantStats') },
            ...errors(401, 404),
          },
        },
      },
      '/rooms/{room}/users/{user}': {
        parameters: [roomParam, userParam],
        get: {
          summary: 'One user',
          responses: { 200: { description: 'The user', content: json('User') }, ...errors(401, 404) },
        },
        delete: {
          summary: "Disconnect the user's clients (kick)",
          responses: { 200: textBody('"Success"'), ...errors(401, 404, 503) },
        },
      },
      '/rooms/{room}/users/{user}/mute': {
        parameters: [roomParam, userParam],
        post: {
          summary: "Mute (or unmute) one kind of the user's tracks, as a host can",
          requestBody: body('MuteUser'),
          responses: {
            200: {
              description: 'Tracks changed',
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { tracks: { type: 'integer' } } },
                },
              },
            },
            ...errors(400, 401, 404, 413, 503),
          },
        },
      },
      '/rooms/{room}/recordings': {
        parameters: [roomParam],
        get: {
          summary: "The room's recordings, oldest first",
          responses: {
            200: { description: 'Recordings', content: jsonArray('Recording') },
            ...errors(401, 404),
          },
        },
        post: {
          summary:
            'Record a participant (all its tracks in one WebM, or Matroska with H.264), a stream, or one kind of either',
          requestBody: body('StartRecording'),
          responses: {
            201: { description: 'The recording, started', content: json('Recording') },
            ...errors(400, 401, 404, 413, 503),
          },
        },
      },
      '/rooms/{room}/recordings/{id}': {
        parameters: [roomParam, recordingParam],
        get: {
          summary: 'A recording',
          responses: {
            200: { description: 'The recording', content: json('Recording') },
            ...errors(401, 404),
          },
        },
        delete: {
          summary: 'Stop a recording (a finished one is returned as it is)',
          responses: {
            200: { description: 'The finished recording', content: json('Recording') },
            ...errors(401, 404, 503),
          },
        },
      },
      '/rooms/{room}/recordings/{id}/file': {
        parameters: [roomParam, recordingParam],
        get: {
          summary: "Download a finished recording's file (needs the api role to see [recording] path)",
          responses: {
            200: {
              description: 'The file',
              content: {
                'video/webm': { schema: { type: 'string', format: 'binary' } },
                'audio/webm': { schema: { type: 'string', format: 'binary' } },
                'video/x-matroska': { schema: { type: 'string', format: 'binary' } },
              },
            },
            ...errors(401, 404, 409),
          },
        },
      },
      '/services': {
        get: {
          summary: 'All services (superservice only; keys are never returned)',
          responses: { 200: { description: 'Services', content: jsonArray('Service') }, ...errors(401) },
        },
        post: {
          summary: 'Create a service (superservice only)',
          requestBody: body('CreateService'),
          responses: { 200: textBody('The new service id'), ...errors(400, 401, 413) },
        },
      },
      '/services/{service}': {
        parameters: [serviceParam],
        get: {
          summary: 'A service (superservice only)',
          responses: { 200: { description: 'The service', content: json('Service') }, ...errors(401, 404) },
        },
        delete: {
          summary: 'Delete a service and its rooms (superservice only)',
          responses: { 200: textBody('"Service deleted"'), ...errors(401, 403, 404) },
        },
      },
      '/dev/token': {
        get: {
          summary: 'Development only: a JWT for the demo page; 404 unless [auth] anonymous = true',
          security: [],
          parameters: [
            { name: 'room', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'identity', in: 'query', schema: { type: 'string' } },
            { name: 'name', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: 'Token',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      token: { type: 'string' },
                      room: { type: 'string' },
                      identity: { type: 'string' },
                      expiresAt: { type: 'integer' },
                    },
                  },
                },
              },
            },
            ...errors(400, 404),
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1' } } },
      },
    },
  };
}
