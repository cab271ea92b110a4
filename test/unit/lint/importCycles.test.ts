import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { findCycles, formatCycle, importGraph } from '../../importCycles.ts';

/** A throwaway project: `files` by name, plus an ESM package.json and a tsconfig like ours. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-cycles-'));
  const tsconfig = {
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      allowImportingTsExtensions: true,
      noEmit: true,
    },
    include: ['.'],
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const names = (dir: string, cycles: ReturnType<typeof findCycles>) =>
  cycles.map((c) => c.map((e) => `${basename(e.from)}:${e.line}>${basename(e.to)}`));

await test('type-only imports, re-exports, import types, dynamic imports and .js files all close a cycle', async () => {
  const dir = await project({
    'a.ts': "import type { B } from './b.ts';\nexport type A = { b: B };\n",
    'b.ts': "export type { A } from './a.ts';\nexport interface B {\n  n: number;\n}\n",
    'c.ts': "export const c = () => import('./d.ts');\n",
    'd.ts': "import { c } from './c.ts';\nexport const d = c;\n",
    'x.js': "export { y } from './y.ts';\n",
    'x.d.ts': 'export declare const y: number;\n',
    'y.ts': "// y\nimport './x.js';\nexport const y = 1;\n",
    'p.ts': "export type P = typeof import('./q.ts');\n",
    'q.ts': "import type { P } from './p.ts';\nexport const q: P | undefined = undefined;\n",
    'leaf.ts': "import { d } from './d.ts';\nimport 'node:fs';\nexport const leaf = d;\n",
  });
  try {
    const cycles = findCycles(importGraph(join(dir, 'tsconfig.json')));
    assert.deepEqual(names(dir, cycles), [
      ['a.ts:1>b.ts', 'b.ts:1>a.ts'],
      ['c.ts:1>d.ts', 'd.ts:1>c.ts'],
      ['p.ts:1>q.ts', 'q.ts:1>p.ts'],
      ['x.js:1>y.ts', 'y.ts:2>x.js'],
    ]);
    assert.equal(
      formatCycle(cycles[0]!, dir),
      "import cycle: a.ts → b.ts → a.ts\n  a.ts:1 imports './b.ts'\n  b.ts:1 imports './a.ts'",
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});

await test('the reported cycle is the shortest one through the first file of its component', async () => {
  const dir = await project({
    'a.ts': "import './b.ts';\nimport './c.ts';\n",
    'b.ts': "import './c.ts';\n",
    'c.ts': "import './a.ts';\n",
    'self.ts': "import './self.ts';\n",
  });
  try {
    const cycles = findCycles(importGraph(join(dir, 'tsconfig.json')));
    assert.deepEqual(names(dir, cycles), [['a.ts:2>c.ts', 'c.ts:1>a.ts'], ['self.ts:1>self.ts']]);
  } finally {
    await rm(dir, { recursive: true });
  }
});

await test('a graph without cycles yields none', async () => {
  const dir = await project({
    'a.ts': "import type { B } from './b.ts';\nexport const a = (b: B) => b;\n",
    'b.ts': "export type B = number;\nexport const b = import('./c.ts');\n",
    'c.ts': 'export const c = 1;\n',
  });
  try {
    assert.deepEqual(findCycles(importGraph(join(dir, 'tsconfig.json'))), []);
  } finally {
    await rm(dir, { recursive: true });
  }
});
