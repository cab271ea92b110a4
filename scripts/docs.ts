/**
 * `npm run docs`: writes the references generated from the code, docs/configuration.md (the zod config
 * schema), docs/cli.md (commander's help) and docs/rest-reference.md (the served OpenAPI document).
 * test/unit/docs/references.test.ts fails when a committed file differs from what this produces, so
 * the output must not depend on the machine or the date.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliReference } from './docs/cliReference.ts';
import { configReference } from './docs/configReference.ts';
import { formatMarkdown, generatedNotice } from './docs/markdown.ts';
import { restReference } from './docs/restReference.ts';

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const REFERENCES: { path: string; source: string; render: (notice: string) => string }[] = [
  { path: 'docs/configuration.md', source: 'src/config/schema.ts', render: configReference },
  { path: 'docs/cli.md', source: 'src/cli/program.ts', render: cliReference },
  { path: 'docs/rest-reference.md', source: 'src/api/openapi.ts', render: restReference },
];

/** Every generated file: its path relative to the repository, and its content. */
export async function generateDocs(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const r of REFERENCES) {
    files[r.path] = await formatMarkdown(r.render(generatedNotice(r.source)), r.path);
  }
  return files;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [path, content] of Object.entries(await generateDocs())) {
    const file = resolve(ROOT, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    console.log(`wrote ${path}`);
  }
}
