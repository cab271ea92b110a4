// The references generated from the code (docs/configuration.md, docs/cli.md, docs/rest-reference.md)
// must be what `npm run docs` writes now: a key, option or route changed without regenerating fails here.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateDocs, ROOT } from '../../../scripts/docs.ts';

/** Where two texts first differ: the line number and both versions of the line around that point. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i === -1 ? a.length : i; // committed is a prefix of generated
  const [x = '', y = ''] = [a[at], b[at]];
  let col = 0;
  while (col < x.length && x[col] === y[col]) {
    col++;
  }
  const from = Math.max(0, col - 60);
  const show = (line: string | undefined) =>
    line === undefined ? '(end of file)' : `${from > 0 ? '…' : ''}${line.slice(from, from + 160)}`;
  return `first difference at line ${at + 1}:\n    committed: ${show(a[at])}\n    generated: ${show(b[at])}`;
}

await test('the generated references are up to date (else run `npm run docs`)', async () => {
  const stale: string[] = [];
  for (const [path, generated] of Object.entries(await generateDocs())) {
    const committed = await readFile(join(ROOT, path), 'utf8').catch(() => undefined);
    if (committed === undefined) {
      stale.push(`${path}: missing`);
    } else if (committed !== generated) {
      stale.push(`${path}: differs from what the code generates; ${firstDifference(committed, generated)}`);
    }
  }
  if (stale.length > 0) {
    assert.fail(`${stale.join('\n')}\nRun \`npm run docs\` and commit the result.`);
  }
});
