/**
 * docs/rest-reference.md from the OpenAPI document the api role serves (src/api/openapi.ts): one row per
 * operation. The document itself, with every schema, stays the authority.
 */
import { openApiDocument } from '../../src/api/openapi.ts';
import { code, table } from './markdown.ts';

type Security = Record<string, string[]>[];

interface Operation {
  summary?: string;
  security?: Security;
}

interface Document {
  info: { description: string };
  servers: { url: string }[];
  security: Security;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

/** What the security schemes are called in the table. */
const SCHEME_NAMES: Record<string, string> = { mauth: 'MAuth', bearer: 'bearer JWT (`api` grant)' };

function auth(security: Security): string {
  if (security.length === 0) {
    return 'none';
  }
  return security
    .map((alternative) =>
      Object.keys(alternative)
        .map((s) => {
          const name = SCHEME_NAMES[s];
          if (name === undefined) {
            throw new TypeError(
              `REST reference: no name for the security scheme "${s}"; add it to SCHEME_NAMES`,
            );
          }
          return name;
        })
        .join(' and '),
    )
    .join(' or ');
}

/** The Markdown of docs/rest-reference.md (before prettier). */
export function restReference(notice: string): string {
  const doc = openApiDocument() as unknown as Document;
  const base = doc.servers[0]?.url ?? '';
  const rows: string[][] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (op !== undefined) {
        if (op.summary === undefined) {
          throw new TypeError(
            `REST reference: ${method.toUpperCase()} ${path} has no summary in src/api/openapi.ts`,
          );
        }
        rows.push([method.toUpperCase(), code(base + path), op.summary, auth(op.security ?? doc.security)]);
      }
    }
  }
  const schemas = Object.keys(doc.components.schemas).map(code).join(', ');
  return `# REST API reference

After reading this you know every operation of the management API under \`${base}\`, how to
authenticate, and where to find the exact request and response schemas.

${notice}

The authoritative reference is the OpenAPI 3.1 document the server itself serves, without
authentication, at \`${base}/openapi.json\`. Fetch it from a running server (here \`$SB\` is its base URL,
such as \`http://127.0.0.1:7000\`) and open it in any OpenAPI viewer:

\`\`\`sh
curl -fsS "$SB${base}/openapi.json"
\`\`\`

${doc.info.description}

A bearer token with the \`api\` grant comes from \`switchboard token --identity ops --grant api\` (see
[the CLI reference](cli.md)); with one in \`$TOKEN\`:

\`\`\`sh
curl -fsS "$SB${base}/rooms" -H "Authorization: Bearer $TOKEN"
\`\`\`

## Operations

Paths are relative to the server's base URL; the document describes each \`{parameter}\`, the request
bodies and the answers, errors included.

${table(['method', 'path', 'summary', 'auth'], rows)}

The document's schemas (\`components.schemas\`): ${schemas}.
`;
}
