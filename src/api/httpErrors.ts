/** `/api`'s one error table: every failure becomes `{statusCode, error, message}` JSON with a 4xx/5xx status. */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BusRequestError } from '../backbone/index.ts';
import { SwitchboardError, type ErrorCode } from '../util/errors.ts';
import { logger } from '../util/logger.ts';
import { MAUTH_CHALLENGE } from './mauth.ts';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'invalid-params': 400,
  conflict: 409,
  limited: 429,
  unavailable: 503,
  timeout: 503,
  'no-responder': 503,
};

interface ZodLike {
  name: string;
  issues: { path: PropertyKey[]; message: string }[];
}

function isZodError(err: unknown): err is ZodLike {
  return err instanceof Error && err.name === 'ZodError' && Array.isArray((err as unknown as ZodLike).issues);
}

/** Status and client-safe message of any error thrown in an `/api` route. */
export function describeError(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) {
    return { status: err.statusCode, message: err.message };
  }
  if (isZodError(err)) {
    const detail = err.issues
      .map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message.replace(/^Invalid input: /, '')}`)
      .join('; ');
    return { status: 400, message: `Invalid request: ${detail}` };
  }
  if (err instanceof BusRequestError && err.code === 'no-responder') {
    return { status: 503, message: 'room service unavailable' };
  }
  if (err instanceof SwitchboardError) {
    const status = STATUS_OF[err.code];
    if (status !== undefined) {
      return { status, message: err.message };
    }
  }
  // fastify's own: 400 bad JSON, 413 body too large, 415 media type, …
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, message: fe.message ?? STATUS_CODES[fe.statusCode] ?? 'Bad Request' };
  }
  const logId = randomBytes(4).toString('hex');
  logger.error({ err, logId }, 'api request failed');
  return { status: 500, message: `internal error (log id ${logId})` };
}

export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  if (status === 401) {
    void reply.header('www-authenticate', MAUTH_CHALLENGE);
  }
  return reply
    .status(status)
    .type('application/json; charset=utf-8')
    .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
}

export function apiErrorHandler(err: unknown, _req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, message } = describeError(err);
  return sendError(reply, status, message);
}
