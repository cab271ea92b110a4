/**
 * The import graph has no cycle (`npm run lint` runs this after eslint): every file that tsconfig.json
 * includes (src, client, web, test, bench, bin; .js files too), with every kind of import counted:
 * `import`, `import type`, `export … from`, `import()` and `typeof import()`. Type-only imports count
 * because a type-only cycle still ties two modules together: neither can be read, tested or moved
 * without the other. (eslint-plugin-import-x's `no-cycle` skips them, so it never saw the
 * DownTrack ↔ Receiver cycle; hence this script, on the TypeScript compiler API we already have.)
 * Specifiers are resolved as tsc resolves them; imports of packages are not part of the graph.
 *
 * `node --import tsx test/importCycles.ts`: prints each cycle with the import lines that close it and
 * exits 1, or prints nothing and exits 0.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** One import of a project file by another: `from` imports `to` at line `line` (1-based). */
export interface ImportEdge {
  from: string;
  to: string;
  line: number;
  specifier: string;
}

/** A cycle as its edges, in order: the last edge leads back to the first edge's `from`. */
export type Cycle = ImportEdge[];

/** The files of `tsconfig` (with .js files) and the imports between them, keyed by absolute path. */
export function importGraph(tsconfig: string): Map<string, ImportEdge[]> {
  const read = ts.readConfigFile(tsconfig, (p) => ts.sys.readFile(p));
  if (read.error) {
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  }
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfig), { allowJs: true });
  const options = parsed.options;
  const files = new Set(parsed.fileNames);
  const cache = ts.createModuleResolutionCache(dirname(tsconfig), (f) => f, options);
  const graph = new Map<string, ImportEdge[]>();
  for (const from of parsed.fileNames) {
    const text = readFileSync(from, 'utf8');
    const mode = ts.getImpliedNodeFormatForFile(from, undefined, ts.sys, options);
    const edges: ImportEdge[] = [];
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      const resolved = ts.resolveModuleName(ref.fileName, from, options, ts.sys, cache, undefined, mode)
        .resolvedModule?.resolvedFileName;
      // A .js file with a .d.ts beside it (test/namespace.js) resolves to the .d.ts: the .js is the module.
      const to = resolved?.endsWith('.d.ts') ? resolved.replace(/\.d\.ts$/, '.js') : resolved;
      if (to !== undefined && files.has(to)) {
        const line = text.slice(0, ref.pos).split('\n').length;
        edges.push({ from, to, line, specifier: ref.fileName });
      }
    }
    graph.set(from, edges);
  }
  return graph;
}

/**
 * One cycle per strongly connected component of the graph (Tarjan), the shortest one through the
 * component's first file in path order, so the report is stable. Empty when there is none.
 */
export function findCycles(graph: Map<string, ImportEdge[]>): Cycle[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(v, Math.min(low.get(v)!, index.get(to)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfImport = (graph.get(v) ?? []).some((e) => e.to === v);
      if (component.length > 1 || selfImport) {
        components.push(component.sort());
      }
    }
  };
  for (const v of [...graph.keys()].sort()) {
    if (!index.has(v)) {
      visit(v);
    }
  }
  return components.sort((a, b) => a[0]!.localeCompare(b[0]!)).map((c) => shortestCycle(graph, c));
}

/** Breadth-first from `component[0]` over edges inside the component, back to itself. */
function shortestCycle(graph: Map<string, ImportEdge[]>, component: string[]): Cycle {
  const inside = new Set(component);
  const start = component[0]!;
  const via = new Map<string, ImportEdge>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const e of graph.get(queue[i]!) ?? []) {
      if (!inside.has(e.to)) {
        continue;
      }
      if (e.to === start) {
        const cycle = [e];
        for (let at = e.from; at !== start;) {
          const back = via.get(at)!;
          cycle.unshift(back);
          at = back.from;
        }
        return cycle;
      }
      if (!via.has(e.to)) {
        via.set(e.to, e);
        queue.push(e.to);
      }
    }
  }
  throw new Error(`no cycle through ${start}`); // unreachable: a component of 2+ files has one
}

/** `a.ts → b.ts → a.ts`, then one line per import that closes it. */
export function formatCycle(cycle: Cycle, root: string): string {
  const rel = (p: string) => relative(root, p);
  const path = [...cycle.map((e) => rel(e.from)), rel(cycle[0]!.from)].join(' → ');
  const lines = cycle.map((e) => `  ${rel(e.from)}:${e.line} imports '${e.specifier}'`);
  return [`import cycle: ${path}`, ...lines].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cycles = findCycles(importGraph(join(root, 'tsconfig.json')));
  for (const c of cycles) {
    console.error(formatCycle(c, root));
  }
  if (cycles.length > 0) {
    console.error(
      `${cycles.length} import cycle(s). Break each one: move what both sides need into a third module, ` +
        'or let one side declare an interface for what it needs, which the other implements ' +
        '(TrackSender in src/media/Receiver.ts).',
    );
    process.exit(1);
  }
}
