/**
 * `POST /twirp/livekit.RoomService/<Method>` (Twirp v7 wire protocol; reference/livekit-protocol.md
 * §3): bodies in protobuf-JSON (`application/json`: camelCase or snake_case names, int64 as strings)
 * or binary (`application/protobuf`), answered in the same format; `Authorization: Bearer <LiveKit
 * access token>`. Everything under `/twirp` answers Twirp's errors: an unknown path or method,
 * another HTTP method or Content-Type is `bad_route`; a body that does not decode or is too large is
 * `malformed`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LiveKitToken } from '../../protocol/livekit.ts';
import type { Decode, LiveKitRoomService, RequestType } from './LiveKitRoomService.ts';
import { sendTwirpError, TwirpError } from './TwirpError.ts';

export const TWIRP_PREFIX = '/twirp';
const SERVICE = 'livekit.RoomService';

/** Largest body (SendData's 64 KiB payload in base64 JSON, with room to spare). */
export const TWIRP_BODY_LIMIT = 256 * 1024;

type Format = 'json' | 'protobuf';

export interface TwirpRouteOptions {
  /** The service, loaded with the first call (it brings `@livekit/protocol`, ≈ 0.3 s to import). */
  service: () => Promise<LiveKitRoomService>;
  /** Verifies a LiveKit access token (throws SwitchboardError `unauthorized`). */
  verify(token: string): Promise<LiveKitToken>;
}

/** The format of a Content-Type (parameters such as `charset` ignored), or undefined. */
export function formatOf(contentType: string | undefined): Format | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' ? 'json' : type === 'application/protobuf' ? 'protobuf' : undefined;
}

/** A request body as `type`: `malformed` when it does not decode. */
export function decodeBody<T>(type: RequestType<T>, body: Buffer, format: Format): T {
  if (format === 'protobuf') {
    try {
      return type.fromBinary(body);
    } catch {
      throw new TwirpError('malformed', 'the protobuf request could not be decoded');
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new TwirpError('malformed', 'the json request could not be decoded: not JSON');
  }
  try {
    return type.fromJson(json, { ignoreUnknownFields: true });
  } catch (err) {
    // protobuf-es names the field and what it expected; never a stack or internal detail.
    const why = err instanceof Error ? err.message.replace(/^cannot decode message \S+ from JSON: /, '') : '';
    throw new TwirpError('malformed', `the json request could not be decoded${why ? `: ${why}` : ''}`);
  }
}

function bearer(header: string | undefined): string {
  const m = /^bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) {
    throw new TwirpError('unauthenticated', 'authorization required: Bearer <access token>');
  }
  return m[1];
}

export async function registerTwirp(app: FastifyInstance, o: TwirpRouteOptions): Promise<void> {
  await app.register(
    (tw, _opts, done) => {
      // Bodies stay bytes until the method is known: JSON or protobuf is decoded by its request type.
      tw.removeAllContentTypeParsers();
      tw.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: TWIRP_BODY_LIMIT }, (_req, body, next) =>
        next(null, body),
      );
      tw.setErrorHandler((err, _req, reply) => sendTwirpError(reply, err));
      tw.setNotFoundHandler((req, reply) =>
        sendTwirpError(
          reply,
          new TwirpError(
            'bad_route',
            req.method === 'POST'
              ? `no handler for path "${req.url.split('?')[0]}"`
              : `unsupported method ${req.method} (only POST is allowed)`,
          ),
        ),
      );
      tw.post(`/${SERVICE}/:method`, { bodyLimit: TWIRP_BODY_LIMIT }, (req, reply) => handle(o, req, reply));
      done();
    },
    { prefix: TWIRP_PREFIX },
  );
}

async function handle(o: TwirpRouteOptions, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { method } = req.params as { method: string };
  const service = await o.service();
  if (!service.has(method)) {
    throw new TwirpError('bad_route', `no handler for path "${TWIRP_PREFIX}/${SERVICE}/${method}"`);
  }
  const format = formatOf(req.headers['content-type']);
  if (!format) {
    throw new TwirpError(
      'bad_route',
      `unexpected Content-Type: ${JSON.stringify(req.headers['content-type'] ?? '')} (use application/json or application/protobuf)`,
    );
  }
  const token = await o.verify(bearer(req.headers.authorization));
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const decode: Decode = (type) => decodeBody(type, body, format);
  const res = await service.call(method, token, decode);
  if (format === 'protobuf') {
    return reply.type('application/protobuf').send(Buffer.from(res.toBinary()));
  }
  return reply
    .type('application/json')
    .send(Buffer.from(JSON.stringify(res.toJson({ emitDefaultValues: true, useProtoFieldName: true }))));
}
