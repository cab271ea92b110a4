/**
 * docs/configuration.md from the zod schema (src/config/schema.ts): one section per TOML table, one row
 * per key with its type, default and description. The schema is read through `z.toJSONSchema` (input
 * side, so a default is the value written in the file and a transform shows what it accepts); a key or
 * table without a description is an error, so the reference cannot silently lose a key.
 */
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.ts';
import { anchor, code, table } from './markdown.ts';

/** The parts of JSON Schema that `z.toJSONSchema` emits for the config schema. */
interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  format?: string;
}

interface Table {
  /** Dotted TOML name, e.g. `signal.limits`. */
  name: string;
  /** An array of tables (`[[webrtc.iceserver]]`). */
  array: boolean;
  description: string;
  rows: string[][];
}

/** A TOML literal of a default value. */
function toml(v: unknown): string {
  if (typeof v === 'string') {
    return JSON.stringify(v); // a TOML basic string for what our defaults hold
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  if (Array.isArray(v)) {
    return `[${v.map(toml).join(', ')}]`;
  }
  throw new TypeError(`no TOML literal for the default ${JSON.stringify(v)}`);
}

/** `integer 1–65535`, `number ≥ 0`, `number > 0 and ≤ 120`; zod's safe-integer bounds are left out. */
function numberType(s: JsonSchema): string {
  const bounded = (n: number | undefined) => n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  const lo = bounded(s.minimum) ? s.minimum : undefined;
  const hi = bounded(s.maximum) ? s.maximum : undefined;
  const parts: string[] = [];
  if (lo !== undefined && hi !== undefined) {
    return `${s.type} ${lo}–${hi}`;
  }
  if (lo !== undefined) {
    parts.push(`≥ ${lo}`);
  }
  if (s.exclusiveMinimum !== undefined) {
    parts.push(`> ${s.exclusiveMinimum}`);
  }
  if (hi !== undefined) {
    parts.push(`≤ ${hi}`);
  }
  if (s.exclusiveMaximum !== undefined) {
    parts.push(`< ${s.exclusiveMaximum}`);
  }
  return [s.type, parts.join(' and ')].filter((p) => p !== '').join(' ');
}

/**
 * A readable type: `boolean`, `integer 1–65535`, `array of strings`, enum values as TOML literals, or
 * the schema's `title` when it has one.
 */
function typeOf(s: JsonSchema, where: string): string {
  if (s.title !== undefined) {
    // A named type (`.meta({ title })` in the schema); a tuple's items, when alike, are shown too.
    const items = new Set(s.prefixItems?.map((p) => typeOf(p, where)));
    return items.size === 1 ? `${s.title} (each ${[...items][0]})` : s.title;
  }
  if (s.enum !== undefined) {
    return `one of ${s.enum.map((v) => code(toml(v))).join(', ')}`;
  }
  if (s.anyOf !== undefined) {
    return s.anyOf.map((a) => typeOf(a, where)).join(' or ');
  }
  switch (s.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'number':
      return numberType(s);
    case 'string': {
      const name = s.format === 'uri' ? 'URL' : 'string';
      return s.minLength !== undefined && s.minLength > 1 ? `${name} of ≥ ${s.minLength} characters` : name;
    }
    case 'array': {
      if (s.prefixItems !== undefined) {
        return `[${s.prefixItems.map((p) => typeOf(p, where)).join(', ')}]`;
      }
      if (s.items) {
        const item = typeOf(s.items, where);
        return /^\w+$/.test(item) ? `array of ${item}s` : `array of (${item})`;
      }
    }
  }
  throw new TypeError(`config reference: no type name for ${where}: ${JSON.stringify(s)}`);
}

function described(s: JsonSchema, where: string): string {
  if (s.description === undefined || s.description.trim() === '') {
    throw new TypeError(
      `config reference: ${where} has no description; add .describe('…') to it in src/config/schema.ts`,
    );
  }
  return s.description;
}

/** The tables under `s` (at dotted `path`), depth first in schema order: a table, then its sub-tables. */
function tables(path: string, s: JsonSchema, array: boolean): Table[] {
  const rows: string[][] = [];
  const nested: Table[] = [];
  const required = new Set(s.required ?? []);
  for (const [key, p] of Object.entries(s.properties ?? {})) {
    const where = `${path}.${key}`;
    if (p.type === 'object') {
      nested.push(...tables(where, p, false));
    } else if (p.type === 'array' && p.items && p.items.type === 'object') {
      nested.push(...tables(where, { ...p.items, description: p.items.description ?? p.description }, true));
    } else {
      const dflt = 'default' in p ? code(toml(p.default)) : required.has(key) ? 'required' : 'unset';
      rows.push([code(key), typeOf(p, where), dflt, described(p, where)]);
    }
  }
  const self: Table = { name: path, array, description: described(s, path), rows };
  return [self, ...nested];
}

/** `[signal.limits]` or `[[webrtc.iceserver]]`. */
function header(t: Table): string {
  return t.array ? `[[${t.name}]]` : `[${t.name}]`;
}

const EXAMPLE = `[signal]
port = 7000

[webrtc]
portrange = [50000, 50999]

[webrtc.candidates]
nat1to1 = ["203.0.113.7"]

[[webrtc.iceserver]]
urls = ["stun:stun.l.google.com:19302"]
`;

/** The Markdown of docs/configuration.md (before prettier). */
export function configReference(notice: string): string {
  configSchema.parse(parseToml(EXAMPLE)); // the example must stay a valid file
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const all = Object.entries(root.properties ?? {}).flatMap(([name, s]) => tables(name, s, false));
  const toc = all.map((t) => {
    const depth = t.name.split('.').length - 1;
    return `${'  '.repeat(depth)}- [${code(header(t))}](#${anchor(header(t))})`;
  });
  const sections = all.map((t) =>
    [
      `## ${code(header(t))}`,
      t.description + (t.array ? ' Repeat the table for each entry; there are none by default.' : ''),
      table(['key', 'type', 'default', 'meaning'], t.rows),
    ].join('\n\n'),
  );
  return `# Configuration reference

After reading this you can write a Switchboard configuration file and look up any key: its type,
its default and what it does.

${notice}

Switchboard reads one [TOML](https://toml.io) file, given with \`--config\` (\`-c\`):

\`\`\`sh
switchboard start --config sfu.toml
\`\`\`

\`switchboard token\`, \`room\` and \`recording\` read the same file (for the keys and the data folder,
so give them the server's \`--config\`), and \`switchboard cluster --config\` takes a base file for its
nodes (see [the CLI reference](cli.md)). Without \`--config\` every key has its default.

- **ION-compatible**: the tables and keys are those of ION's \`sfu.toml\` (lower-case keys), and every
  key of ION's file is accepted, so an ION file loads as it is. Where Switchboard differs from ION the
  key's meaning says so; Switchboard's own keys and tables are added alongside.
- **Every key is optional.** A key that is not set takes the default in its row; "unset" means the key
  has no value, and its meaning says what happens then (some values are generated at the first
  start, some are counted at start, such as one worker per CPU core).
- **Strict**: an unknown or misspelt key, a wrong type or a value out of range stops the start with
  exit code 2 and one line per problem, naming the file and the key:

  \`\`\`text
  switchboard: invalid configuration
  sfu.toml: router.maxbandwith: unknown key
  sfu.toml: webrtc.portrange: expected [min, max] with min < max
  \`\`\`

  A few values that parse are refused in the same way when the server starts, because they cannot
  work together or are not supported; the keys' meanings name them.

Types: \`integer 1–65535\` includes both bounds; defaults are written as TOML literals. The keys of
\`[a.b]\` go under that table header; an array of tables such as \`[[webrtc.iceserver]]\` repeats its
header for each entry. For example:

\`\`\`toml
${EXAMPLE}\`\`\`

Tables:

${toc.join('\n')}

${sections.join('\n\n')}
`;
}
