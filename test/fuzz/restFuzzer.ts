/**
 * The same mutation classes against `/api`: routes and body schemas come from the server's own
 * `/api/openapi.json`, so new routes are covered. Every request but the `headers` class carries valid
 * credentials (a fresh MAuth header, or a bearer JWT), so the mutation reaches the route. The server
 * must never answer 5xx nor show internal text, and its errors are `{statusCode, error, message}`.
 */
import { mauthHeader, type Credentials } from '../helpers/nuve.ts';
import { leakIn } from './leaks.ts';
import { deepArray, deepObject, toJson, Raw } from './mutations.ts';
import { Random } from './random.ts';
import { paramsOf, sampleOf, wrongValuesFor, type JsonSchema } from './schemaParams.ts';

export const REST_CLASSES = [
  'invalid-json',
  'wrong-types',
  'huge',
  'deep',
  'prototype',
  'path-params',
  'headers',
] as const;
export type RestClass = (typeof REST_CLASSES)[number];

export interface RestRequest {
  cls: RestClass;
  label: string;
  method: string;
  /** Under `/api`, with query string. */
  path: string;
  body?: string;
  headers: Record<string, string>;
  /** Send no Authorization header of ours (the `headers` class sets its own). */
  noAuth?: boolean;
}

export interface Route {
  method: string;
  /** OpenAPI template, e.g. `/rooms/{room}/tokens`. */
  template: string;
  body?: JsonSchema;
}

/** Routes of the OpenAPI document, with their JSON body schema when they take one. */
export function routesOf(doc: JsonSchema): Route[] {
  const out: Route[] = [];
  for (const [template, item] of Object.entries(
    (doc.paths ?? {}) as Record<string, Record<string, JsonSchema>>,
  )) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        continue;
      }
      const content = (op.requestBody as JsonSchema | undefined)?.content as
        Record<string, JsonSchema> | undefined;
      const body = content?.['application/json']?.schema as JsonSchema | undefined;
      out.push({ method: method.toUpperCase(), template, ...(body ? { body } : {}) });
    }
  }
  return out;
}

export interface RestContext {
  /** An existing room (most routes act on it). */
  room: string;
}

/** Path parameters: the real room, and ids that exist nowhere (so DELETE removes nothing of ours). */
function fill(template: string, ctx: RestContext, method: string): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) =>
    name === 'room' && method !== 'DELETE' ? encodeURIComponent(ctx.room) : `no-such-${name}`,
  );
}

const JSON_HEADERS = { 'content-type': 'application/json' };

const HOSTILE_SEGMENTS = [
  '..',
  '%2e%2e',
  '%00',
  'a%2Fb',
  '%ZZ',
  '%',
  'x'.repeat(10_000),
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  '%F0%9F%98%80',
  '%C3%28',
  '%20',
  '*',
  '{room}',
  '%7B%7D',
  ';',
  'a?b=c',
  '%0d%0aX-Injected:%201',
];

const BAD_BODIES = [
  '{',
  '}',
  '{"name":',
  "{'name':'x'}",
  '{"name":"x",}',
  '',
  ' ',
  'null',
  '[]',
  '42',
  '"str"',
  'true',
  'NaN',
  '\ufeff{"name":"x"}',
  '{"name":"\\uZZZZ"}',
  '['.repeat(30_000),
  '{"a":'.repeat(10_000),
  'undefined',
  '\u0000',
];

const BAD_AUTH = [
  '',
  'MAuth',
  'MAuth ',
  'Bearer',
  'Bearer ',
  'Bearer x',
  'Bearer a.b.c',
  `Bearer ${'x'.repeat(7000)}`,
  'Bearer eyJhbGciOiJub25lIn0.eyJncmFudHMiOnsiYXBpIjp0cnVlfX0.',
  'Basic dXNlcjpwYXNz',
  'MAuth realm=x,mauth_serviceid=,mauth_signature=',
  'MAuth mauth_serviceid=__proto__,mauth_timestamp=1,mauth_cnonce=1,mauth_signature=x',
  'MAuth mauth_serviceid=constructor,mauth_timestamp=NaN,mauth_cnonce=x,mauth_signature=',
  'MAuth ,,,,,=,=,==',
  'MAuth mauth_timestamp=99999999999999999999999,mauth_serviceid=x,mauth_signature=x',
  'MAuth mauth_serviceid=x,mauth_serviceid=y',
  `MAuth ${'k=v,'.repeat(2000)}`,
  'MAuth mauth_signature=%%%,mauth_serviceid=%00',
  'mauth realm=http://marte3.dit.upm.es',
  '\u00e9\u00e8',
];

/** The systematic requests of every class (interleaved by class), then random picks of them forever. */
export function* restRequests(doc: JsonSchema, ctx: RestContext, seed: number): Generator<RestRequest> {
  const rng = new Random(seed ^ 0x5eed);
  const docRoot = doc;
  const routes = routesOf(doc);
  const withBody = routes.filter((r) => r.body);
  const list: RestRequest[] = [];
  const req = (
    cls: RestClass,
    r: Route,
    label: string,
    body: string | undefined,
    extra: Partial<RestRequest> = {},
  ): RestRequest => ({
    cls,
    label: `${r.method} ${r.template} ${label}`,
    method: r.method,
    path: fill(r.template, ctx, r.method),
    ...(body !== undefined ? { body } : {}),
    headers: body !== undefined ? { ...JSON_HEADERS } : {},
    ...extra,
  });
  const sample = (r: Route): unknown =>
    sampleOf(r.body!, docRoot, (p) => (p.join('.') === 'name' ? `fz-rest-${rng.int(0, 1e9)}` : undefined));
  // invalid JSON
  for (const r of withBody) {
    for (const b of BAD_BODIES) {
      list.push(req('invalid-json', r, `body ${JSON.stringify(b.slice(0, 20))}`, b));
    }
  }
  // wrong types, every parameter of every body
  for (const r of withBody) {
    const base = sample(r);
    for (const p of paramsOf(r.body!, docRoot)) {
      list.push(req('wrong-types', r, `${p.path.join('.')} missing`, toJson(setAt(base, p.path, undefined))));
      for (const v of wrongValuesFor(p.schema)) {
        list.push(
          req(
            'wrong-types',
            r,
            `${p.path.join('.')}=${toJson(v).slice(0, 30)}`,
            toJson(setAt(base, p.path, v)),
          ),
        );
      }
      list.push(
        req('wrong-types', r, `${p.path.join('.')}=1e400`, toJson(setAt(base, p.path, new Raw('1e400')))),
      );
    }
    list.push(req('wrong-types', r, 'extra key', toJson(setAt(base, ['zz'], 1))));
  }
  // huge (the body limit is 64 KiB: 60 KB fits, 70 KB is refused with 413)
  for (const r of withBody) {
    const base = sample(r);
    for (const p of paramsOf(r.body!, docRoot)) {
      for (const [label, v] of [
        ['60 KB string', 's'.repeat(60_000)],
        ['20,000-element array', new Raw(`[${'0,'.repeat(19_999)}0]`)],
        ['5,000-key object', new Raw(`{${Array.from({ length: 5000 }, (_, i) => `"k${i}":0`).join(',')}}`)],
        ['50,000-digit number', new Raw('9'.repeat(50_000))],
      ] as const) {
        list.push(req('huge', r, `${p.path.join('.')} = ${label}`, toJson(setAt(base, p.path, v))));
      }
    }
    list.push(req('huge', r, '70 KB body', toJson(setAt(base, ['pad'], 'p'.repeat(70_000)))));
  }
  // deep
  for (const r of withBody) {
    const base = sample(r);
    for (const p of [...paramsOf(r.body!, docRoot), { path: ['options', 'data'] }]) {
      for (const d of [1000, 9000]) {
        list.push(
          req(
            'deep',
            r,
            `${p.path.join('.')} = object depth ${d}`,
            toJson(setAt(base, p.path, deepObject(d))),
          ),
        );
      }
      list.push(
        req(
          'deep',
          r,
          `${p.path.join('.')} = array depth 50000`,
          toJson(setAt(base, p.path, deepArray(50_000))),
        ),
      );
    }
  }
  // prototype keys
  for (const r of withBody) {
    const base = sample(r);
    const proto = new Raw('{"polluted":"yes"}');
    for (const path of [
      ['__proto__'],
      ['options', '__proto__'],
      ['constructor'],
      ['options', 'data', '__proto__'],
    ]) {
      const v = path[path.length - 1] === 'constructor' ? new Raw('{"prototype":{"polluted":"yes"}}') : proto;
      list.push(req('prototype', r, `${path.join('.')} key`, toJson(setAt(base, path, v))));
    }
    list.push(req('prototype', r, 'body is only __proto__', '{"__proto__":{"name":"x"}}'));
    list.push(req('prototype', r, 'duplicate keys', '{"name":"a","name":{"__proto__":1}}'));
    list.push({
      ...req('prototype', r, 'query __proto__', toJson(base)),
      path: `${fill(r.template, ctx, r.method)}?__proto__[polluted]=yes&constructor[prototype][polluted]=yes&format=jwt&format=licode`,
    });
  }
  // hostile path parameters on every route with one
  for (const r of routes.filter((x) => x.template.includes('{'))) {
    for (const seg of HOSTILE_SEGMENTS) {
      const path = r.template.replace(/\{\w+\}/g, seg);
      list.push({
        cls: 'path-params',
        label: `${r.method} ${r.template} param ${seg.slice(0, 20)}`,
        method: r.method,
        path,
        headers: r.body ? { ...JSON_HEADERS } : {},
        ...(r.body ? { body: toJson(sample(r)) } : {}),
      });
    }
  }
  // headers: broken credentials, odd content types
  const rooms = routes.find((r) => r.method === 'POST' && r.template === '/rooms');
  for (const r of routes.filter((x) => x.method === 'GET' || x === rooms)) {
    for (const a of BAD_AUTH) {
      list.push({
        ...req(
          'headers',
          r,
          `authorization ${JSON.stringify(a.slice(0, 30))}`,
          r.body ? toJson(sample(r)) : undefined,
        ),
        noAuth: true,
        headers: { ...(r.body ? JSON_HEADERS : {}), authorization: a },
      });
    }
  }
  for (const r of withBody) {
    for (const ct of [
      'text/plain',
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=nonsense',
      'application/jsonx',
      '',
    ]) {
      list.push({
        ...req('headers', r, `content-type ${JSON.stringify(ct)}`, toJson(sample(r))),
        headers: ct === '' ? {} : { 'content-type': ct },
      });
    }
  }
  // Interleaved by class so a prefix covers all of them.
  const byClass = REST_CLASSES.map((c) => list.filter((x) => x.cls === c));
  for (let i = 0; byClass.some((g) => i < g.length); i++) {
    for (const g of byClass) {
      if (i < g.length) {
        yield g[i]!;
      }
    }
  }
  for (;;) {
    yield rng.pick(list);
  }
}

function setAt(obj: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) {
    return value;
  }
  const [head, ...rest] = path as [string, ...string[]];
  const o: Record<string, unknown> =
    typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? { ...obj } : {};
  o[head] = setAt(o[head], rest, value);
  return o;
}

export interface RestViolation {
  cls: RestClass;
  label: string;
  problem: string;
}

export interface RestFuzzOptions {
  /** `http://host:port`. */
  httpUrl: string;
  /** MAuth credentials (a superservice, so every route is allowed). */
  creds: Credentials;
  /** A bearer JWT with the api grant; when given, every other request uses it instead of MAuth. */
  bearer?: string | undefined;
}

export class RestFuzzer {
  readonly responses = new Map<string, Map<string, number>>();
  readonly violations: RestViolation[] = [];
  sent = 0;
  readonly #o: RestFuzzOptions;

  constructor(o: RestFuzzOptions) {
    this.#o = o;
  }

  /** The OpenAPI document the server serves. */
  static async document(httpUrl: string): Promise<JsonSchema> {
    return (await (await fetch(`${httpUrl}/api/openapi.json`)).json()) as JsonSchema;
  }

  /** Creates the room most requests act on. */
  async createRoom(name: string): Promise<string> {
    const res = await fetch(`${this.#o.httpUrl}/api/rooms`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: mauthHeader(this.#o.creds) },
      body: JSON.stringify({ name }),
    });
    const j = (await res.json()) as { _id?: string };
    if (res.status !== 200 || typeof j._id !== 'string') {
      throw new Error(`POST /api/rooms answered ${res.status}`);
    }
    return j._id;
  }

  async send(r: RestRequest): Promise<void> {
    const headers: Record<string, string> = { ...r.headers };
    if (!r.noAuth) {
      headers.authorization =
        this.#o.bearer && this.sent % 2 === 1 ? `Bearer ${this.#o.bearer}` : mauthHeader(this.#o.creds);
    }
    this.sent++;
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${this.#o.httpUrl}/api${r.path}`, {
        method: r.method,
        headers,
        ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'DELETE' ? { body: r.body } : {}),
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      // undici refuses some header values itself (non-Latin-1): not the server's doing.
      const msg =
        err instanceof Error
          ? `${err.message} ${String((err.cause as Error | undefined)?.message ?? '')}`
          : String(err);
      if (/header|ByteString|invalid/i.test(msg) && !/ECONNRESET|socket|closed|timeout/i.test(msg)) {
        this.#count(r.cls, 'refused by the client library');
        return;
      }
      this.#count(r.cls, 'request failed');
      this.violations.push({ cls: r.cls, label: r.label, problem: `request failed: ${msg}` });
      return;
    }
    let json: { statusCode?: unknown; message?: unknown } | undefined;
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      json = undefined;
    }
    const message = typeof json?.message === 'string' ? json.message : '';
    this.#count(
      r.cls,
      `${status} ${message
        .replace(/"[^"]*"/g, '"…"')
        .replace(/[0-9a-f]{24}/g, '<id>')
        .replace(/\d+/g, '#')
        .slice(0, 80)}`,
    );
    const bad = (problem: string): void => {
      this.violations.push({ cls: r.cls, label: r.label, problem });
    };
    if (status >= 500) {
      bad(`status ${status}: ${text.slice(0, 300)}`);
    }
    if (status >= 400) {
      if (json?.statusCode !== status || typeof json.message !== 'string') {
        bad(`error body is not {statusCode, error, message}: ${text.slice(0, 200)}`);
      }
      const leak = leakIn(message || text);
      if (leak) {
        bad(`error shows ${leak}: ${(message || text).slice(0, 300)}`);
      }
    }
  }

  #count(cls: string, what: string): void {
    let m = this.responses.get(cls);
    if (!m) {
      m = new Map();
      this.responses.set(cls, m);
    }
    m.set(what, (m.get(what) ?? 0) + 1);
  }
}
