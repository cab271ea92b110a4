/**
 * Twirp's errors (twitchtv/twirp docs/spec_v7.md, "Error codes"): a JSON body `{code, msg, meta?}`,
 * `Content-Type: application/json` exactly (livekit-server-sdk reads the body as JSON only then), and
 * the HTTP status of the code. Every failure of `/twirp` goes through `twirpErrorOf`: one table from
 * Switchboard's error codes, fastify's body errors and zod's issues to Twirp's codes.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { BusRequestError } from '../../backbone/index.ts';
import { SwitchboardError, type ErrorCode } from '../../util/errors.ts';
import { logger } from '../../util/logger.ts';

/** Twirp's error codes and their HTTP statuses. */
export const TWIRP_STATUS = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
} as const;
export type TwirpCode = keyof typeof TWIRP_STATUS;

export class TwirpError extends Error {
  constructor(
    readonly code: TwirpCode,
    message: string,
    readonly meta?: Record<string, string>,
  ) {
    super(message);
    this.name = 'TwirpError';
  }

  get status(): number {
    return TWIRP_STATUS[this.code];
  }
}

/** What LiveKit answers a token without the grant a method needs (service/auth.go `twirpAuthError`). */
export function permissionDenied(): TwirpError {
  return new TwirpError('unauthenticated', 'permissions denied');
}

const CODE_OF: Partial<Record<ErrorCode, TwirpCode>> = {
  unauthorized: 'unauthenticated',
  forbidden: 'permission_denied',
  'not-found': 'not_found',
  'invalid-params': 'invalid_argument',
  'invalid-state': 'failed_precondition',
  conflict: 'already_exists',
  limited: 'resource_exhausted',
  unavailable: 'unavailable',
  timeout: 'unavailable',
  'no-responder': 'unavailable',
};

interface ZodLike {
  issues: { path: PropertyKey[]; message: string }[];
}

function isZodError(err: unknown): err is Error & ZodLike {
  return err instanceof Error && err.name === 'ZodError' && Array.isArray((err as unknown as ZodLike).issues);
}

/** Any error of a Twirp call as a Twirp error with a client-safe message. */
export function twirpErrorOf(err: unknown): TwirpError {
  if (err instanceof TwirpError) {
    return err;
  }
  if (isZodError(err)) {
    const i = err.issues[0];
    const field = i?.path.map(String).join('.') ?? '';
    return new TwirpError(
      'invalid_argument',
      i
        ? `${field === '' ? '' : `${field}: `}${i.message.replace(/^Invalid input: /, '')}`
        : 'invalid request',
      field === '' ? undefined : { argument: field },
    );
  }
  if (err instanceof BusRequestError && err.code === 'no-responder') {
    return new TwirpError('unavailable', 'room service unavailable');
  }
  if (err instanceof SwitchboardError) {
    const code = CODE_OF[err.code];
    if (code !== undefined) {
      return new TwirpError(code, code === 'unavailable' ? 'room service unavailable' : err.message);
    }
  }
  // fastify's own, before the handler: body too large, a bad Content-Type or Content-Length.
  const fe = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TwirpError('malformed', 'request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TwirpError(
        'bad_route',
        'unexpected Content-Type: use application/json or application/protobuf',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new TwirpError('malformed', 'request body does not match its Content-Length');
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new TwirpError('malformed', typeof fe.message === 'string' ? fe.message : 'bad request');
  }
  const logId = randomBytes(4).toString('hex');
  logger.error({ err, logId }, 'twirp call failed');
  return new TwirpError('internal', `internal error (log id ${logId})`);
}

/** Bytes, not a string: fastify would add `; charset=utf-8` to the type, and the SDK wants it exact. */
export function sendTwirpError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = twirpErrorOf(err);
  return reply
    .status(e.status)
    .type('application/json')
    .send(Buffer.from(JSON.stringify({ code: e.code, msg: e.message, ...(e.meta ? { meta: e.meta } : {}) })));
}
