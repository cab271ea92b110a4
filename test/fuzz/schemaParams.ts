/**
 * Parameters of a method or route, read from its JSON Schema (zod's `z.toJSONSchema` for `/ws`
 * methods, `/api/openapi.json` for REST), so a method added to the schemas is fuzzed without
 * touching the fuzzer. Only the JSON Schema subset zod emits is understood.
 */
export type JsonSchema = { [key: string]: unknown };

export interface Param {
  /** Property names from the params object down to this parameter. */
  path: string[];
  schema: JsonSchema;
}

const asSchema = (v: unknown): JsonSchema | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonSchema) : undefined;

/** Resolves a local `$ref` (`#/components/schemas/X`) against `root`. */
export function deref(s: JsonSchema, root: JsonSchema | undefined): JsonSchema {
  const ref = s.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/') || !root) {
    return s;
  }
  let cur: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    cur = asSchema(cur)?.[part];
  }
  return asSchema(cur) ?? s;
}

/** The first non-null alternative of an `anyOf`, or the schema itself. */
function main(s: JsonSchema, root: JsonSchema | undefined): JsonSchema {
  const d = deref(s, root);
  if (Array.isArray(d.anyOf)) {
    const alts = (d.anyOf as unknown[]).map(asSchema).filter((a): a is JsonSchema => !!a);
    return alts.find((a) => a.type !== 'null') ?? d;
  }
  return d;
}

function typeOf(s: JsonSchema): string | undefined {
  if (Array.isArray(s.type)) {
    return (s.type as string[]).find((t) => t !== 'null');
  }
  return typeof s.type === 'string' ? s.type : undefined;
}

/** Every property at every depth of an object schema (objects themselves included). */
export function paramsOf(schema: JsonSchema, root?: JsonSchema, prefix: string[] = []): Param[] {
  const s = main(schema, root);
  const props = asSchema(s.properties);
  if (!props) {
    return [];
  }
  const out: Param[] = [];
  for (const [name, sub] of Object.entries(props)) {
    const child = asSchema(sub);
    if (!child) {
      continue;
    }
    const path = [...prefix, name];
    out.push({ path, schema: main(child, root) });
    out.push(...paramsOf(child, root, path));
  }
  return out;
}

/**
 * A valid value for `schema` with every property present; `override(path)` supplies values the
 * schema cannot describe (an SDP, a room id), returning undefined to let the schema decide.
 */
export function sampleOf(
  schema: JsonSchema,
  root?: JsonSchema,
  override: (path: string[]) => unknown = () => undefined,
  path: string[] = [],
): unknown {
  const given = override(path);
  if (given !== undefined) {
    return given;
  }
  const s = main(schema, root);
  if ('const' in s) {
    return s.const;
  }
  if (Array.isArray(s.enum) && s.enum.length > 0) {
    return s.enum[0];
  }
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(asSchema(s.properties) ?? {})) {
        const child = asSchema(sub);
        if (child) {
          out[name] = sampleOf(child, root, override, [...path, name]);
        }
      }
      return out;
    }
    case 'array':
      return [];
    case 'string':
      return 'x'.repeat(Math.max(1, Number(s.minLength ?? 1)));
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' && s.minimum > -1e9 ? Math.max(s.minimum, 0) : 0;
    case 'boolean':
      return false;
    default:
      return 'x'; // unknown (`{}`): anything goes
  }
}

/** Values of the wrong type or just outside the bounds of `schema` (JSON-encodable ones only). */
export function wrongValuesFor(schema: JsonSchema): unknown[] {
  const t = typeOf(schema);
  const out: unknown[] = [null, true, 0, -1, 1.5, '', 'x', [], {}, [null], { a: 1 }, 'null', '0'];
  if (t === 'string') {
    const max = Number(schema.maxLength ?? 0);
    if (max > 0) {
      out.push('y'.repeat(max + 1));
    }
    out.push(42, false, ['x'], { toString: 'x' });
  }
  if (t === 'integer' || t === 'number') {
    out.push('1', 1e308, -1e308, 2 ** 53 + 2, -0.0001, 0.5);
    if (typeof schema.minimum === 'number') {
      out.push(schema.minimum - 1);
    }
    if (typeof schema.maximum === 'number') {
      out.push(schema.maximum + 1);
    }
  }
  if (t === 'boolean') {
    out.push('true', 'false', 1);
  }
  if (Array.isArray(schema.enum)) {
    out.push('HIGH', 'none ', (schema.enum as unknown[]).join(','));
  }
  if ('const' in schema) {
    out.push(typeof schema.const === 'string' ? `${schema.const}x` : 2);
  }
  return out;
}
