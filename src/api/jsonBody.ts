/**
 * `/api`'s JSON body parser. fastify's own refuses a `__proto__` key with "Body is not valid JSON",
 * which sends a client looking for a syntax error that is not there; this one says what is wrong.
 * `JSON.parse` itself is safe (it defines `__proto__` as a plain own property), but such a key would
 * pollute a prototype once spread or merged into another object, so it is refused, as are
 * `constructor.prototype` and bodies nested deeper than any request of this API needs.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from './httpErrors.ts';
import { walkJson } from '../util/jsonDepth.ts';

/** Deepest nesting a body may have (room `data` is free-form; Licode apps keep it shallow). */
export const API_BODY_MAX_DEPTH = 32;

/** Why `value` may not be used as a request body, or undefined. */
export function bodyProblem(value: unknown): string | undefined {
  return walkJson(value, (v, depth) => {
    if (depth >= API_BODY_MAX_DEPTH) {
      return `body nests deeper than ${API_BODY_MAX_DEPTH} levels`;
    }
    if (Array.isArray(v)) {
      return undefined;
    }
    if (Object.hasOwn(v, '__proto__')) {
      return 'body contains the forbidden key "__proto__"';
    }
    const ctor = (v as Record<string, unknown>).constructor;
    if (Object.hasOwn(v, 'constructor') && typeof ctor === 'object' && ctor !== null && 'prototype' in ctor) {
      return 'body contains the forbidden key "constructor.prototype"';
    }
    return undefined;
  });
}

/** Replaces the JSON parser of the `/api` scope (route body limits still apply). */
export function useJsonBodyParser(api: FastifyInstance): void {
  api.removeContentTypeParser('application/json');
  api.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Not V8's parser message: it quotes the body back and reads like an internal error.
      done(new HttpError(400, 'Invalid request: body is not valid JSON'));
      return;
    }
    const problem = bodyProblem(value);
    done(problem === undefined ? null : new HttpError(400, `Invalid request: ${problem}`), value);
  });
}
