/**
 * The fuzzer's frames for `/ws`, by mutation class. Method parameters come from the real zod schemas
 * (`methods`, `roomMethods`, through `z.toJSONSchema`), so a method added there is fuzzed too. Each
 * class yields a systematic list first (every parameter of every method, every hostile SDP case),
 * interleaved by method so a short prefix still touches every method, then random frames forever.
 * Frames are text built by hand where JSON.stringify cannot (100,000-deep nesting, `__proto__` keys,
 * numbers out of range), and each knows which reply, if any, the server owes it.
 */
import { z } from 'zod';
import { methods } from '../../src/protocol/ionSfu.ts';
import { roomMethods } from '../../src/protocol/room.ts';
import { CI_MAX_SECTIONS, hostileSdps, randomHostileSdp, validOffer } from './hostileSdp.ts';
import { Random } from './random.ts';
import { paramsOf, sampleOf, wrongValuesFor, type JsonSchema } from './schemaParams.ts';

export const MUTATION_CLASSES = ['invalid-json', 'envelope', 'wrong-types', 'huge', 'deep', 'sdp'] as const;
export type MutationClass = (typeof MUTATION_CLASSES)[number];

/**
 * Where a frame goes: `fresh` = a socket that has not joined (join frames), `member` = a socket that
 * joined a room (signalling and `room.*` then reach the media and room roles), `any` = either.
 */
export type Needs = 'any' | 'fresh' | 'member';

/** What the server owes a frame. */
export type Expect =
  /** exactly one reply with this id */
  | { kind: 'reply'; id: string | number }
  /** exactly one reply with id null (unparseable, not a request, binary, unusable id) */
  | { kind: 'null-reply' }
  /** a notification: maybe an error with id 0/null, nothing else */
  | { kind: 'none' }
  /** over the frame limit: the socket closes with 1009 */
  | { kind: 'close'; code: number };

export interface Frame {
  cls: MutationClass;
  /** What was mutated, for the summary and violation reports. */
  label: string;
  data: string | Buffer;
  needs: Needs;
  expect: Expect;
  /** Sent as a binary WebSocket frame (a Buffer otherwise goes out as a text frame, even if not UTF-8). */
  binary?: boolean;
}

/** JSON text inserted verbatim by `toJson` (deep nesting, odd numbers, duplicate keys). */
export class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify that accepts `Raw` anywhere and keeps object keys such as `__proto__` as given. */
export function toJson(v: unknown): string {
  if (v instanceof Raw) {
    return v.text;
  }
  if (Array.isArray(v)) {
    return `[${v.map(toJson).join(',')}]`;
  }
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export interface WsMethod {
  name: string;
  schema: JsonSchema;
  needs: Needs;
}

/** `iceServers` params (private to ClientConnection; mirrored here). */
const iceServersSchema: JsonSchema = {
  type: 'object',
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 8192 },
    uid: { type: 'string', maxLength: 256 },
  },
  additionalProperties: false,
};

/** Every client method on `/ws` with its params schema. */
export function wsMethods(): WsMethod[] {
  const json = (s: z.ZodType): JsonSchema => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  return [
    ...Object.entries(methods).map(([name, s]): WsMethod => ({
      name,
      schema: json(s),
      needs: name === 'join' ? 'fresh' : 'member',
    })),
    ...Object.entries(roomMethods).map(([name, s]): WsMethod => ({ name, schema: json(s), needs: 'member' })),
    { name: 'iceServers', schema: iceServersSchema, needs: 'any' },
  ];
}

/** Values the schema cannot produce: an SDP, a room, uids that name nobody (so no one is kicked). */
function override(method: string, path: string[]): unknown {
  const key = path.join('.');
  if (key === 'offer.sdp' || key === 'desc.sdp') {
    return validOffer();
  }
  switch (key) {
    case 'sid':
      return 'fz-join';
    case 'uid':
      return method === 'join' ? 'fz-joiner' : 'nobody';
    case 'to':
      return 'nobody';
    case 'streamId':
      return 'no-stream';
    case 'candidate.candidate':
      return 'candidate:1 1 udp 2122260223 127.0.0.9 9 typ host';
    case 'config':
      return {};
    case 'data':
    case 'info':
      return { k: 'v' };
    default:
      return undefined;
  }
}

let nextId = 1;
/** Ids we track: strings, so a reply cannot be confused with ion-sfu's id 0 for notifications. */
const newId = (): string => `fz-${nextId++}`;

function request(cls: MutationClass, label: string, m: WsMethod, params: unknown): Frame {
  const id = newId();
  const data = `{"jsonrpc":"2.0","id":"${id}","method":${JSON.stringify(m.name)}${params === undefined ? '' : `,"params":${toJson(params)}`}}`;
  return { cls, label: `${m.name} ${label}`, data, needs: m.needs, expect: { kind: 'reply', id } };
}

/** A copy of `obj` with `value` at `path` (`undefined` deletes it). */
function setAt(obj: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) {
    return value;
  }
  const [head, ...rest] = path as [string, ...string[]];
  const o = typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? { ...obj } : {};
  (o as Record<string, unknown>)[head] = setAt((o as Record<string, unknown>)[head], rest, value);
  return o;
}

const sampleParams = (m: WsMethod): unknown => sampleOf(m.schema, undefined, (p) => override(m.name, p));

/** Takes one from each group in turn, so a prefix of the result touches every group. */
function interleave<T>(groups: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; groups.some((g) => i < g.length); i++) {
    for (const g of groups) {
      if (i < g.length) {
        out.push(g[i]!);
      }
    }
  }
  return out;
}

const describeValue = (v: unknown): string => {
  const s = v instanceof Raw ? v.text : toJson(v);
  return s.length > 40 ? `${s.slice(0, 30)}…(${s.length} chars)` : s;
};

// ---- classes ---------------------------------------------------------------------------------------

const BAD_JSON = [
  '{',
  '}',
  '{"id":"x"',
  '{"id":"x",}',
  "{'id':'x','method':'join'}",
  '{"id":"x" "method":"join"}',
  '',
  ' ',
  '\u0000',
  '\ufeff{"id":"x","method":"fz.nope"}',
  'nul',
  'NaN',
  'Infinity',
  '-',
  '0x10',
  '1e999999',
  '"unterminated',
  '{"a":"\\uZZZZ"}',
  '{"a":"\\',
  '['.repeat(100_000),
  '{"a":'.repeat(50_000),
  '[{"id":"x","method":"join"}',
  'undefined',
  '{"id":"x","method":"join","params":{"sid":"r","offer":{"type":"offer","sdp":"v=0',
];

/** Not requests: valid JSON of the wrong shape (-32600). */
const NOT_REQUESTS = [
  '[]',
  '42',
  '"str"',
  'true',
  'null',
  '[{"id":"x","method":"fz.nope"}]',
  '[[]]',
  '-0',
  '1e308',
];

function* invalidJson(rng: Random): Generator<Frame> {
  const cls = 'invalid-json';
  const nullReply = (label: string, data: string | Buffer): Frame => ({
    cls,
    label,
    data,
    needs: 'any',
    expect: { kind: 'null-reply' },
  });
  for (const t of BAD_JSON) {
    yield nullReply(`unparseable ${describeValue(t)}`, t);
  }
  for (const t of NOT_REQUESTS) {
    yield nullReply(`not a request ${t}`, t);
  }
  yield { ...nullReply('binary frame', Buffer.from([0xff, 0xfe, 0x00, 0x7b])), binary: true };
  // ws itself refuses a text frame that is not UTF-8: close 1007, no reply.
  yield {
    cls,
    label: 'invalid UTF-8 in a text frame',
    data: Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    needs: 'any',
    expect: { kind: 'close', code: 1007 },
  };
  const valid = `{"jsonrpc":"2.0","id":"t","method":"join","params":${toJson(sampleParams(wsMethods()[0]!))}}`;
  for (;;) {
    const r = rng.int(0, 3);
    if (r === 0) {
      const cut = rng.int(1, valid.length - 2);
      yield nullReply(`truncated at ${cut}`, valid.slice(0, cut));
    } else if (r === 1) {
      const bytes = Buffer.alloc(rng.int(1, 64));
      for (let i = 0; i < bytes.length; i++) {
        bytes[i] = rng.int(0x20, 0x7e);
      }
      const text = `{${bytes.toString('latin1')}`;
      // Random text may happen to be valid JSON (then it is not a request: still a null reply).
      yield nullReply(`garbage ${describeValue(text)}`, text);
    } else if (r === 2) {
      const bytes = Buffer.from(Array.from({ length: rng.int(1, 256) }, () => rng.int(0, 255)));
      yield { ...nullReply('random binary', bytes), binary: true };
    } else {
      const t = rng.pick([...BAD_JSON, ...NOT_REQUESTS]);
      yield nullReply(`unparseable ${describeValue(t)}`, t);
    }
  }
}

function* envelope(rng: Random): Generator<Frame> {
  const cls = 'envelope';
  const list: Frame[] = [];
  // Ids the server cannot echo: it answers with id null.
  for (const id of ['{}', '[]', 'true', 'false', '{"a":1}', '["fz"]']) {
    list.push({
      cls,
      label: `id ${id}`,
      data: `{"id":${id},"method":"room.info"}`,
      needs: 'any',
      expect: { kind: 'null-reply' },
    });
  }
  // Ids it must echo (any string or number); tracked only when they round-trip through JSON intact.
  for (const raw of ['""', '" "', `"${'i'.repeat(10_000)}"`, '"\\u0000"', '"fz-\\ud800"']) {
    const id = JSON.parse(raw) as string;
    list.push({
      cls,
      label: `id ${describeValue(raw)}`,
      data: `{"id":${raw},"method":"room.info"}`,
      needs: 'any',
      expect: { kind: 'reply', id },
    });
  }
  // Numeric ids come back as JSON numbers (2^53 + 1 as 2^53, -0 as 0): compared after parsing.
  for (const raw of ['-1', '1.5', '9007199254740993', '1e300', '-0', '7']) {
    const id = JSON.parse(raw) as number;
    list.push({
      cls,
      label: `numeric id ${raw}`,
      data: `{"id":${raw},"method":"room.info"}`,
      needs: 'any',
      expect: { kind: 'reply', id },
    });
  }
  for (const j of ['"1.0"', '2', 'null', '""', '"2.0 "', '{}']) {
    const id = newId();
    list.push({
      cls,
      label: `jsonrpc ${j}`,
      data: `{"jsonrpc":${j},"id":"${id}","method":"room.info"}`,
      needs: 'any',
      expect: { kind: 'reply', id },
    });
  }
  const names = [
    '',
    'JOIN',
    'join ',
    ' join',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'room.',
    'room.__proto__',
    'room.constructor',
    'room.toString',
    'room.info.x',
    '.',
    'fz\u0000',
    'm'.repeat(100_000),
    'rpc.discover',
    'leave',
    'relay',
  ];
  for (const n of names) {
    const id = newId();
    list.push({
      cls,
      label: `method ${describeValue(n)}`,
      data: `{"id":"${id}","method":${JSON.stringify(n)}}`,
      needs: 'any',
      expect: { kind: 'reply', id },
    });
  }
  for (const mv of ['123', 'null', '[]', '{}', 'true']) {
    const id = newId();
    list.push({
      cls,
      label: `method ${mv}`,
      data: `{"id":"${id}","method":${mv}}`,
      needs: 'any',
      expect: { kind: 'reply', id },
    });
  }
  const ids = (): string => newId();
  const extra: [string, (id: string) => string][] = [
    ['no method', (id) => `{"id":"${id}"}`],
    ['a response object', (id) => `{"id":"${id}","result":{}}`],
    ['an error object', (id) => `{"id":"${id}","error":{"code":1,"message":"x"}}`],
    ['duplicate id keys', (id) => `{"id":"dup-first","id":"${id}","method":"room.info"}`],
    ['duplicate method keys', (id) => `{"id":"${id}","method":"join","method":"room.info"}`],
    ['top-level __proto__', (id) => `{"__proto__":{"polluted":"yes"},"id":"${id}","method":"room.info"}`],
    [
      'top-level constructor',
      (id) => `{"constructor":{"prototype":{"polluted":"yes"}},"id":"${id}","method":"room.info"}`,
    ],
    [
      'params __proto__',
      (id) => `{"id":"${id}","method":"room.info","params":{"__proto__":{"polluted":"yes"}}}`,
    ],
    [
      '10,000 extra keys',
      (id) =>
        `{"id":"${id}","method":"room.info",${Array.from({ length: 10_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
    ],
  ];
  for (const [label, f] of extra) {
    const id = ids();
    list.push({ cls, label, data: f(id), needs: 'any', expect: { kind: 'reply', id } });
  }
  // Whole params of every method replaced by a non-object.
  for (const m of wsMethods()) {
    for (const p of [null, [], 'x', 0, true, [sampleParams(m)], new Raw('1e400')]) {
      list.push(request(cls, `params ${describeValue(p)}`, m, p));
    }
    list.push(request(cls, 'params absent', m, undefined));
  }
  // A notification (no id) to every method: the server may answer an error with id 0 or null, nothing more.
  for (const m of wsMethods()) {
    list.push({
      cls,
      label: `${m.name} notification`,
      data: `{"method":${JSON.stringify(m.name)},"params":${toJson(sampleParams(m))}}`,
      needs: m.needs,
      expect: { kind: 'none' },
    });
  }
  yield* list;
  for (;;) {
    yield rng.pick(list);
  }
}

function* wrongTypes(rng: Random): Generator<Frame> {
  const cls = 'wrong-types';
  const groups: Frame[][] = [];
  for (const m of wsMethods()) {
    const base = sampleParams(m);
    const group: Frame[] = [];
    for (const p of paramsOf(m.schema)) {
      const where = p.path.join('.');
      group.push(request(cls, `${where} missing`, m, setAt(base, p.path, undefined)));
      for (const v of wrongValuesFor(p.schema)) {
        group.push(request(cls, `${where}=${describeValue(v)}`, m, setAt(base, p.path, v)));
      }
      for (const raw of ['1e400', '-0', '{"__proto__":{"polluted":"yes"}}', '{"a":1,"a":"b"}', '"\\ud800"']) {
        group.push(request(cls, `${where}=${raw}`, m, setAt(base, p.path, new Raw(raw))));
      }
    }
    // Extra and prototype keys next to valid params.
    group.push(request(cls, 'extra key', m, setAt(base, ['zz'], 1)));
    group.push(request(cls, '__proto__ key', m, setAt(base, ['__proto__'], new Raw('{"polluted":"yes"}'))));
    group.push(
      request(
        cls,
        'constructor key',
        m,
        setAt(base, ['constructor'], new Raw('{"prototype":{"polluted":"yes"}}')),
      ),
    );
    group.push(request(cls, 'valid sample', m, base));
    groups.push(group);
  }
  const all = interleave(groups);
  yield* all;
  for (;;) {
    // Random: two parameters wrong at once.
    const m = rng.pick(wsMethods());
    const ps = paramsOf(m.schema);
    let params = sampleParams(m);
    const labels: string[] = [];
    for (let k = 0; k < 2 && ps.length > 0; k++) {
      const p = rng.pick(ps);
      const v = rng.pick(wrongValuesFor(p.schema));
      params = setAt(params, p.path, v);
      labels.push(`${p.path.join('.')}=${describeValue(v)}`);
    }
    yield request(cls, labels.join(' '), m, params);
  }
}

/** Deep nesting as text: `[[[…]]]` or `{"a":{"a":…}}`. */
export const deepArray = (depth: number): Raw => new Raw('['.repeat(depth) + ']'.repeat(depth));
export const deepObject = (depth: number): Raw => new Raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

function* deep(rng: Random): Generator<Frame> {
  const cls = 'deep';
  const depths = [1000, 20_000, 100_000];
  const groups: Frame[][] = [];
  for (const m of wsMethods()) {
    const base = sampleParams(m);
    const group: Frame[] = [];
    for (const d of depths) {
      group.push(request(cls, `params = array depth ${d}`, m, deepArray(d)));
    }
    for (const p of paramsOf(m.schema)) {
      for (const d of depths) {
        group.push(
          request(cls, `${p.path.join('.')} = array depth ${d}`, m, setAt(base, p.path, deepArray(d))),
        );
        group.push(
          request(cls, `${p.path.join('.')} = object depth ${d}`, m, setAt(base, p.path, deepObject(d))),
        );
      }
    }
    groups.push(group);
  }
  yield* interleave(groups);
  for (;;) {
    const m = rng.pick(wsMethods());
    const ps = paramsOf(m.schema);
    const d = rng.int(100, 120_000);
    const p = ps.length > 0 ? rng.pick(ps) : undefined;
    const v = rng.chance(0.5) ? deepArray(d) : deepObject(Math.floor(d / 2));
    yield request(
      cls,
      `${p?.path.join('.') ?? 'params'} = depth ${d}`,
      m,
      p ? setAt(sampleParams(m), p.path, v) : v,
    );
  }
}

/** Largest frame the server accepts is 1 MiB; these stay under it unless the case is the limit. */
const HUGE_STRING = 900 * 1024;

function hugeValues(): [string, unknown][] {
  return [
    ['900 KB string', 's'.repeat(HUGE_STRING)],
    ['100,000-element array', new Raw(`[${'0,'.repeat(99_999)}0]`)],
    ['30,000-key object', new Raw(`{${Array.from({ length: 30_000 }, (_, i) => `"k${i}":0`).join(',')}}`)],
    ['100,000-digit number', new Raw('9'.repeat(100_000))],
    ['200,000 empty objects', new Raw(`[${'{},'.repeat(199_999)}{}]`)],
    ['60 KB of emoji', '\u{1F600}'.repeat(15_000)],
  ];
}

function* huge(rng: Random): Generator<Frame> {
  const cls = 'huge';
  const groups: Frame[][] = [];
  for (const m of wsMethods()) {
    const base = sampleParams(m);
    const group: Frame[] = [];
    for (const p of paramsOf(m.schema)) {
      for (const [label, v] of hugeValues()) {
        group.push(request(cls, `${p.path.join('.')} = ${label}`, m, setAt(base, p.path, v)));
      }
    }
    group.push(request(cls, 'padding key of 900 KB', m, setAt(base, ['pad'], 'p'.repeat(HUGE_STRING))));
    groups.push(group);
  }
  const list = interleave(groups);
  // Over the frame limit: the server closes with 1009 (the fuzzer reconnects).
  const over = `{"id":"over","method":"room.info","params":{"pad":"${'o'.repeat(1024 * 1024 + 1024)}"}}`;
  list.splice(5, 0, {
    cls,
    label: 'frame of 1 MiB + 1 KiB',
    data: over,
    needs: 'any',
    expect: { kind: 'close', code: 1009 },
  });
  yield* list;
  for (;;) {
    yield rng.pick(list);
  }
}

function* sdp(rng: Random, maxSections: number): Generator<Frame> {
  const cls = 'sdp';
  const ms = wsMethods();
  const join = ms.find((m) => m.name === 'join')!;
  const offer = ms.find((m) => m.name === 'offer')!;
  const answer = ms.find((m) => m.name === 'answer')!;
  const as = (m: WsMethod, label: string, text: string): Frame => {
    const base = sampleParams(m);
    const path = m.name === 'join' ? ['offer', 'sdp'] : ['desc', 'sdp'];
    return request(cls, label, m, setAt(base, path, text));
  };
  const cases = hostileSdps(maxSections);
  for (const [i, c] of cases.entries()) {
    yield as(join, c.label, c.sdp);
    yield as(offer, c.label, c.sdp);
    if (i % 3 === 0) {
      yield as(answer, c.label, c.sdp);
    }
  }
  for (;;) {
    const c = randomHostileSdp(rng, maxSections);
    yield as(rng.pick([join, offer, offer, answer]), c.label, c.sdp);
  }
}

export interface GeneratorOptions {
  /** Largest m-section count of hostile SDPs (CI_MAX_SECTIONS by default). */
  maxSections?: number;
}

/** The frames of one class: the systematic list, then random ones (endless). */
export function framesOf(cls: MutationClass, seed: number, o: GeneratorOptions = {}): Generator<Frame> {
  const rng = new Random(seed ^ (MUTATION_CLASSES.indexOf(cls) * 0x9e3779b1));
  switch (cls) {
    case 'invalid-json':
      return invalidJson(rng);
    case 'envelope':
      return envelope(rng);
    case 'wrong-types':
      return wrongTypes(rng);
    case 'huge':
      return huge(rng);
    case 'deep':
      return deep(rng);
    case 'sdp':
      return sdp(rng, o.maxSections ?? CI_MAX_SECTIONS);
  }
}

/** The first `n` frames of a class. */
export function takeFrames(cls: MutationClass, seed: number, n: number, o?: GeneratorOptions): Frame[] {
  const out: Frame[] = [];
  for (const f of framesOf(cls, seed, o)) {
    if (out.length >= n) {
      break;
    }
    out.push(f);
  }
  return out;
}
