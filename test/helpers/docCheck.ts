// The documentation check (issue #14): every relative link and anchor resolves, every ```toml block is a
// valid configuration, every ```json block parses, and every ```sh block is exercised. The rules are in
// the header of test/integration/docs.test.ts, which runs this over README.md and docs/**/*.md.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError, type Command } from 'commander';
import { TomlError } from 'smol-toml';
import { CliError, makeToken } from '../../src/cli/admin.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { ConfigError, parseConfig, validateSupported } from '../../src/config/index.ts';
import { Switchboard } from '../../src/server/Switchboard.ts';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/** One finding: `file` relative to the checked root, `line` 1-based. */
export interface DocProblem {
  file: string;
  line: number;
  message: string;
}

export const formatProblem = (p: DocProblem): string => `${p.file}:${p.line}: ${p.message}`;

/** What ```sh blocks run against: `$SB`, `$TOKEN` and `$CONFIG`, and how to stop it. */
export interface DocServer {
  env: { SB: string; TOKEN: string; CONFIG: string };
  close(): Promise<void>;
}

export interface DocCheckOptions {
  /** Starts the server a file's ```sh blocks run against; called once per file that has a line to run. */
  server?: () => Promise<DocServer>;
  /** Longest one ```sh block may run. Default 20 s per line it runs (a `switchboard` call alone takes 3 s). */
  blockTimeoutMs?: number;
}

/** README.md and docs/**\/*.md under `root`, relative to it, sorted. */
export function listDocs(root: string): string[] {
  const docs = join(root, 'docs');
  const found = existsSync(docs)
    ? readdirSync(docs, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.md'))
        .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
        .sort()
    : [];
  return [...(existsSync(join(root, 'README.md')) ? ['README.md'] : []), ...found];
}

// ---------------------------------------------------------------------------------------------------
// Markdown scanning

interface Fence {
  /** The info string's first word, lower case ("" for a plain block). */
  lang: string;
  /** 1-based line of the first content line (the opening fence is the line before). */
  line: number;
  body: string[];
}

interface Scanned {
  fences: Fence[];
  /** The text outside code blocks, code spans blanked out, same line numbering as the file. */
  prose: string;
  /** GitHub's heading anchors (plus explicit `<a name>` / `id` anchors). */
  anchors: Set<string>;
}

/** `text` with every `code span` replaced by spaces (so links inside code are not links). */
const blankCodeSpans = (text: string): string =>
  text.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, (m) => m.replace(/[^\n]/g, ' '));

/** A heading's text as GitHub renders it: code spans verbatim, links by their text, no emphasis or tags. */
function headingText(md: string): string {
  return md
    .split(/(`+[^`]*?`+)/)
    .map((part, i) => {
      if (i % 2 === 1) {
        return part.replace(/^`+\s?|\s?`+$/g, '');
      }
      return part
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/!?\[([^\]]*)\]\[[^\]]*\]/g, '$1')
        .replace(/<[^>]+>/g, '')
        .replace(/\*+/g, '')
        .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1')
        .replace(/\\([!-/:-@[-`{-~])/g, '$1');
    })
    .join('')
    .trim();
}

/**
 * github-slugger (what GitHub does): lower case; punctuation, symbols, other numbers, controls and
 * separators removed, except `-`, `_` (connector punctuation) and the space; each space a `-`.
 */
const slugOf = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\p{Alphabetic} -]/gu, '')
    .replace(/ /g, '-');

function scan(text: string): Scanned {
  const lines = text.split(/\r?\n/);
  const fences: Fence[] = [];
  const prose: string[] = [];
  const headings: string[] = [];
  let open: { fence: Fence; char: string; len: number; indent: number } | undefined;
  for (const [i, line] of lines.entries()) {
    if (open) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (close?.[1]?.[0] === open.char && close[1].length >= open.len) {
        open = undefined;
      } else {
        const strip = Math.min(open.indent, /^ */.exec(line)![0].length);
        open.fence.body.push(line.slice(strip));
      }
      prose.push('');
      continue;
    }
    const start = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/.exec(line);
    if (start) {
      const fence: Fence = { lang: (start[3] ?? '').toLowerCase(), line: i + 2, body: [] };
      fences.push(fence);
      open = { fence, char: start[2]![0]!, len: start[2]!.length, indent: start[1]!.length };
      prose.push('');
      continue;
    }
    prose.push(line);
    const atx = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) {
      headings.push(headingText(atx[2] ?? ''));
      continue;
    }
    const prev = lines[i - 1] ?? '';
    const prevIsText =
      prev.trim() !== '' &&
      !/^ {0,3}(#{1,6}(\s|$)|[-*+]\s|\d+[.)]\s|>|\||`{3,}|~{3,})/.test(prev) &&
      !/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(prev);
    if (/^ {0,3}(=+|-+)[ \t]*$/.test(line) && prevIsText && prose[i - 1] !== '') {
      headings.push(headingText(prev));
    }
  }
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const h of headings) {
    // github-slugger's de-duplication, exactly: "a", "a-1", "a-2"; a generated "a-1" is taken too.
    const base = slugOf(h);
    let slug = base;
    while (seen.has(slug)) {
      const n = seen.get(base)! + 1;
      seen.set(base, n);
      slug = `${base}-${n}`;
    }
    seen.set(slug, 0);
    anchors.add(slug);
  }
  const proseText = blankCodeSpans(prose.join('\n'));
  for (const m of proseText.matchAll(/<[a-z][^>]*?\s(?:name|id)\s*=\s*["']([^"']+)["']/gi)) {
    anchors.add(m[1]!);
  }
  return { fences, prose: proseText, anchors };
}

// ---------------------------------------------------------------------------------------------------
// Links

/** Every link destination in `prose` with its line: inline links and images, reference definitions, HTML. */
function linkTargets(prose: string): { target: string; line: number }[] {
  const lineAt = (index: number): number => prose.slice(0, index).split('\n').length;
  const found: { target: string; line: number; index: number }[] = [];
  const patterns = [
    /\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)/g,
    /^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm,
    /<(?:a|img|source)\b[^>]*?\s(?:href|src)\s*=\s*["']([^"']*)["']/gi,
  ];
  for (const re of patterns) {
    for (const m of prose.matchAll(re)) {
      const target = m[1]!.replace(/^<|>$/g, '');
      found.push({ target, line: lineAt(m.index + m[0].length - m[1]!.length), index: m.index });
    }
  }
  return found.sort((a, b) => a.index - b.index).map(({ target, line }) => ({ target, line }));
}

function checkLinks(
  root: string,
  file: string,
  s: Scanned,
  anchorsOf: (abs: string) => Set<string>,
): DocProblem[] {
  const problems: DocProblem[] = [];
  for (const { target, line } of linkTargets(s.prose)) {
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
      continue; // external (http, https, mailto, ws …): not fetched
    }
    const hash = target.indexOf('#');
    const path = (hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
    const anchor = hash < 0 ? undefined : target.slice(hash + 1);
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      problems.push({ file, line, message: `link ${target}: malformed %-escape` });
      continue;
    }
    const abs =
      path === ''
        ? join(root, file)
        : decoded.startsWith('/')
          ? join(root, decoded)
          : resolve(dirname(join(root, file)), decoded);
    const rel = relative(root, abs).split(sep).join('/');
    if (rel.startsWith('..')) {
      problems.push({ file, line, message: `link ${target}: points outside the repository` });
      continue;
    }
    if (!existsSync(abs)) {
      problems.push({ file, line, message: `link ${target}: no such file ${rel}` });
      continue;
    }
    if (anchor === undefined || anchor === '' || !abs.endsWith('.md')) {
      continue; // anchors into source files (#L10) are GitHub's line links, not checked
    }
    const want = decodeURIComponent(anchor);
    const have = anchorsOf(abs);
    if (!have.has(want)) {
      const squash = (a: string): string => a.toLowerCase().replace(/[-_]/g, '');
      const near = [...have].filter(
        (a) => squash(a) === squash(want) || a.includes(want) || (a.length > 2 && want.includes(a)),
      );
      const hint =
        near.length > 0
          ? ` (did you mean ${near
              .slice(0, 3)
              .map((a) => `#${a}`)
              .join(', ')}?)`
          : '';
      problems.push({
        file,
        line,
        message: `link ${target}: no heading with anchor #${want} in ${rel}${hint}`,
      });
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// ```toml and ```json

function checkToml(file: string, f: Fence): DocProblem[] {
  const source = `${file}:${f.line}`;
  try {
    const config = parseConfig(f.body.join('\n'), source);
    // What Switchboard.start refuses after the schema (values it accepts for ION but cannot honour).
    return validateSupported(config).map((message) => ({ file, line: f.line, message }));
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      throw err;
    }
    if (err.cause instanceof TomlError) {
      const what = (err.issues[0] ?? '').replace(/^.*?:\d+:\d+:\d+: /, '');
      return [{ file, line: f.line + err.cause.line - 1, message: what }];
    }
    return err.issues.map((issue) => ({ file, line: f.line, message: issue.slice(source.length + 2) }));
  }
}

/** `text` without // and /* *\/ comments (outside strings) and without trailing commas. */
function stripJsonc(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = /^"(?:[^"\\\n]|\\.)*"?/.exec(text.slice(i))![0];
      out += end;
      i += end.length - 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') {
        i++;
      }
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const skipped = text.slice(i, end < 0 ? text.length : end + 2);
      out += skipped.replace(/[^\n]/g, ' ');
      i += skipped.length - 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

function checkJson(file: string, f: Fence): DocProblem[] {
  const text = f.lang === 'jsonc' ? stripJsonc(f.body.join('\n')) : f.body.join('\n');
  try {
    JSON.parse(text);
    return [];
  } catch (whole) {
    // Also accepted: one JSON value per line (a JSON-RPC exchange, one message a line).
    const lines = text.split('\n');
    const bad = lines.findIndex((l) => {
      if (l.trim() === '') {
        return false;
      }
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    if (bad < 0) {
      return [];
    }
    const msg = (whole as Error).message.replace(/\s*\n\s*/g, ' ');
    // Node 20 names a position (in some messages), Node 22 a line.
    const pos = /position (\d+)/.exec(msg);
    const at = /\(line (\d+) column/.exec(msg);
    const lineInBlock = at ? Number(at[1]) : pos ? text.slice(0, Number(pos[1])).split('\n').length : 1;
    return [
      { file, line: f.line + lineInBlock - 1, message: `\`\`\`${f.lang} block is not valid JSON: ${msg}` },
    ];
  }
}

// ---------------------------------------------------------------------------------------------------
// ```sh

type Token = { word: string } | { op: string };

/** Shell words and control operators of one logical line (quotes removed, `$VAR`s left as written). */
export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let cur = '';
  let inWord = false;
  const flush = (): void => {
    if (inWord) {
      out.push({ word: cur });
    }
    cur = '';
    inWord = false;
  };
  for (let i = 0; i < line.length;) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      flush();
      i++;
      continue;
    }
    if (c === '#' && !inWord) {
      break;
    }
    const redirect = /^[<>]+&?[0-9-]*/.exec(line.slice(i));
    if (redirect) {
      inWord = true;
      cur += redirect[0];
      i += redirect[0].length;
      continue;
    }
    const op = ['&&', '||', ';', '|', '&'].find((o) => line.startsWith(o, i));
    if (op !== undefined) {
      flush();
      out.push({ op });
      i += op.length;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end + 1;
    } else if (c === '"') {
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1] ?? '')) {
          i++;
        }
        cur += line[i];
      }
      i++;
    } else if (c === '\\') {
      cur += line[i + 1] ?? '';
      i += 2;
    } else if (c === '$' && line[i + 1] === '(') {
      let depth = 0;
      const from = i;
      for (; i < line.length; i++) {
        depth += line[i] === '(' ? 1 : line[i] === ')' ? -1 : 0;
        if (depth === 0 && line[i] === ')') {
          break;
        }
      }
      i++;
      cur += line.slice(from, i);
    } else {
      cur += c;
      i++;
    }
  }
  flush();
  return out;
}

/** Tokens split at control operators into commands, leading `NAME=value` assignments dropped. */
function commands(tokens: Token[]): string[][] {
  const cmds: string[][] = [[]];
  for (const t of tokens) {
    if ('op' in t) {
      cmds.push([]);
    } else {
      cmds[cmds.length - 1]!.push(t.word);
    }
  }
  return cmds
    .map((c) => {
      // Redirections are the shell's, not the command's arguments: `2>&1`, `>log`, `> log`.
      const words = c.filter((w, i) => !/^\d*[<>]/.test(w) && !/^\d*(>>?|<)$/.test(c[i - 1] ?? ''));
      const first = words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
      return first < 0 ? [] : words.slice(first);
    })
    .filter((c) => c.length > 0);
}

/** The real `switchboard` program with every action replaced and exits turned into exceptions. */
function parseSwitchboard(args: string[]): string | undefined {
  const program = buildProgram();
  let stderr = '';
  const hook = (c: Command, isRoot: boolean): void => {
    c.exitOverride();
    c.configureOutput({ writeOut: () => {}, writeErr: (s) => (stderr += s) });
    if (!isRoot) {
      c.action(() => {});
    }
    for (const sub of c.commands) {
      hook(sub, false);
    }
  };
  hook(program, true);
  try {
    program.parse(args, { from: 'user' });
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) {
      return ['commander.helpDisplayed', 'commander.help'].includes(err.code)
        ? undefined
        : (stderr.trim() || err.message).replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    }
    throw err;
  }
}

type Scripts = Record<string, string>;

/** A statically checked command (npm …, switchboard start|cluster …): its problem, or undefined when fine. */
function checkStatic(cmd: string[], scripts: Scripts): string | undefined {
  const [first, sub] = cmd;
  if (first === 'cd') {
    return undefined;
  }
  if (first === 'switchboard' || first === 'npx') {
    const args = cmd.slice(first === 'npx' ? 2 : 1);
    const bad = parseSwitchboard(args);
    return bad === undefined ? undefined : `switchboard ${args.join(' ')}: ${bad}`;
  }
  // npm
  const text = cmd.join(' ');
  if (sub === 'ci') {
    return undefined;
  }
  let name: string | undefined;
  let rest: string[];
  if (sub === 'start' || sub === 'test') {
    [name, rest] = [sub, cmd.slice(2)];
  } else if (sub === 'run' || sub === 'run-script') {
    const at = cmd.findIndex((w, i) => i > 1 && !w.startsWith('-'));
    [name, rest] = at < 0 ? [undefined, []] : [cmd[at], cmd.slice(at + 1)];
  } else {
    return `${text}: only npm ci, npm start, npm test and npm run <script> are checked; put other npm commands in a \`\`\`console block`;
  }
  const body = name === undefined ? undefined : scripts[name];
  if (body === undefined) {
    return `${text}: no script "${name ?? ''}" in package.json (scripts: ${Object.keys(scripts).join(', ')})`;
  }
  // `npm start -- --port 8000`: a script that is `node bin/switchboard.js <command>` gets the arguments.
  const cli = /^node bin\/switchboard\.js (\S.*)$/.exec(body);
  if (cli) {
    const dash = rest.indexOf('--');
    const passed = [...(dash < 0 ? rest : rest.slice(0, dash)).filter((w) => !w.startsWith('-'))];
    const args = [...cli[1]!.split(/\s+/), ...passed, ...(dash < 0 ? [] : rest.slice(dash + 1))];
    const bad = parseSwitchboard(args);
    return bad === undefined ? undefined : `${text} (switchboard ${args.join(' ')}): ${bad}`;
  }
  return undefined;
}

const isStatic = (cmd: string[]): boolean =>
  cmd[0] === 'npm' ||
  (cmd[0] === 'switchboard' && ['start', 'cluster'].includes(cmd[1] ?? '')) ||
  (cmd[0] === 'npx' && cmd[1] === 'switchboard' && ['start', 'cluster'].includes(cmd[2] ?? ''));

interface ShPlan {
  problems: DocProblem[];
  /** The block's lines with statically checked ones blanked; undefined when nothing is left to run. */
  script: string[] | undefined;
  /** How many (logical) lines of `script` run. */
  runLines: number;
}

/** Classifies a ```sh block's lines: static checks now, the rest becomes one bash script. */
function planSh(file: string, f: Fence, scripts: Scripts): ShPlan {
  const problems: DocProblem[] = [];
  const script = [...f.body];
  let runLines = 0;
  for (let i = 0; i < f.body.length; i++) {
    const start = i;
    let text = f.body[i]!;
    while (/(^|[^\\])(\\\\)*\\$/.test(text) && i + 1 < f.body.length) {
      text = `${text.slice(0, -1)}${f.body[++i]!}`;
    }
    const line = f.line + start;
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      continue;
    }
    if (/^\$\s/.test(trimmed)) {
      script.fill('', start, i + 1);
      problems.push({
        file,
        line,
        message: 'a "$ " prompt in a ```sh block: write the bare command, or use ```console for a transcript',
      });
      continue;
    }
    const heredoc = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(text);
    if (heredoc) {
      const strip = heredoc[0].includes('<<-');
      while (i + 1 < f.body.length) {
        const l = f.body[++i]!;
        if ((strip ? l.replace(/^\t+/, '') : l) === heredoc[2]) {
          break;
        }
      }
    }
    const cmds = commands(tokenize(text));
    if (!cmds.some(isStatic)) {
      runLines++;
      continue;
    }
    script.fill('', start, i + 1); // checked here, not run
    const other = cmds.find((c) => !isStatic(c) && c[0] !== 'cd');
    if (other) {
      problems.push({
        file,
        line,
        message:
          `"${other.join(' ')}" shares a line with an npm / switchboard start|cluster command, which is ` +
          'checked but not run: put it on a line of its own',
      });
      continue;
    }
    for (const c of cmds) {
      const bad = checkStatic(c, scripts);
      if (bad !== undefined) {
        problems.push({ file, line, message: bad });
      }
    }
  }
  return { problems, script: runLines > 0 ? script : undefined, runLines };
}

const SCRIPT_HEADER = ['set -Eeuo pipefail', `trap 'echo "$LINENO" >&3' ERR`];

const tail = (s: string, n = 2000): string => (s.length > n ? `…${s.slice(-n)}` : s).trimEnd();

/** Runs one block's script in a fresh folder; a problem when it fails or runs too long. */
async function runSh(
  file: string,
  f: Fence,
  script: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number,
): Promise<DocProblem | undefined> {
  const child = spawn('bash', ['-c', [...SCRIPT_HEADER, ...script].join('\n')], {
    cwd,
    env,
    detached: true, // its own process group, so a timeout also stops what the block started
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let failedAt = '';
  child.stdout!.on('data', (b: Buffer) => (stdout = (stdout + b.toString()).slice(-8000)));
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (failedAt += b.toString()));
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  const closed = new Promise((done) => child.on('close', done));
  const code = await new Promise<number | null>((done) => {
    child.on('error', () => done(null));
    child.on('exit', (c) => done(c));
  });
  clearTimeout(timer);
  killGroup(); // anything the block left running in the background
  // The pipes close once the group is gone (a process that left it could hold them: wait 2 s at most).
  await Promise.race([closed, new Promise((done) => setTimeout(done, 2000).unref())]);
  if (code === 0 && !timedOut) {
    return undefined;
  }
  /** A line of the bash script as a line of the Markdown file. */
  const mdLine = (scriptLine: number): number => f.line + scriptLine - SCRIPT_HEADER.length - 1;
  const scriptLine = Number(failedAt.split('\n')[0]);
  const line =
    Number.isInteger(scriptLine) && scriptLine > SCRIPT_HEADER.length ? mdLine(scriptLine) : f.line;
  const command = failedAt !== '' ? ` at \`${(f.body[line - f.line] ?? '').trim()}\`` : '';
  const what = timedOut ? `timed out after ${timeoutMs} ms` : `failed (exit ${code})${command}`;
  // bash's own messages ("bash: line 7: x: unbound variable") name script lines.
  const named = stderr.replace(
    /^bash: line (\d+):/gm,
    (_, n: string) => `bash: ${file}:${mdLine(Number(n))}:`,
  );
  const output =
    stderr.trim() !== ''
      ? `\nstderr:\n${tail(named)}`
      : stdout.trim() !== ''
        ? `\nstdout:\n${tail(stdout)}`
        : '';
  return { file, line, message: `\`\`\`sh block ${what}${output}` };
}

// ---------------------------------------------------------------------------------------------------

/**
 * Checks `files` (relative to `root`, which also holds the package.json whose scripts `npm run` lines
 * must name). Resolves with every problem found; an empty array when the docs are fine.
 */
export async function checkDocs(
  root: string,
  files: readonly string[],
  opts: DocCheckOptions = {},
): Promise<DocProblem[]> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Scripts };
  const scripts = pkg.scripts ?? {};
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (abs: string): Set<string> => {
    let a = cache.get(abs);
    if (!a) {
      a = scan(readFileSync(abs, 'utf8')).anchors;
      cache.set(abs, a);
    }
    return a;
  };
  const problems: DocProblem[] = [];
  const work = await mkdtemp(join(tmpdir(), 'switchboard-doccheck-'));
  try {
    const shim = join(work, 'bin', 'switchboard');
    await mkdir(dirname(shim));
    await writeFile(
      shim,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
    );
    await chmod(shim, 0o755);
    let blockNo = 0;
    for (const file of files) {
      const s = scan(readFileSync(join(root, file), 'utf8'));
      problems.push(...checkLinks(root, file, s, anchorsOf));
      const runs: { fence: Fence; script: string[]; runLines: number }[] = [];
      for (const f of s.fences) {
        if (f.lang === 'toml') {
          problems.push(...checkToml(file, f));
        } else if (f.lang === 'json' || f.lang === 'jsonc') {
          problems.push(...checkJson(file, f));
        } else if (f.lang === 'sh') {
          const plan = planSh(file, f, scripts);
          problems.push(...plan.problems);
          if (plan.script) {
            runs.push({ fence: f, script: plan.script, runLines: plan.runLines });
          }
        } else if (['bash', 'shell', 'zsh'].includes(f.lang)) {
          problems.push({
            file,
            line: f.line - 1,
            message: `\`\`\`${f.lang} block: use \`\`\`sh (exercised) or \`\`\`console (not run)`,
          });
        }
      }
      if (runs.length === 0) {
        continue;
      }
      if (!opts.server) {
        problems.push({
          file,
          line: runs[0]!.fence.line,
          message: '```sh lines to run, but no server to run them against',
        });
        continue;
      }
      const server = await opts.server();
      try {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          ...server.env,
          PATH: `${dirname(shim)}:${process.env.PATH ?? ''}`,
        };
        delete env.NODE_TEST_CONTEXT; // node --test's marker: a `node` a block runs is not a test
        for (const { fence, script, runLines } of runs) {
          const cwd = join(work, `block-${++blockNo}`);
          await mkdir(cwd);
          const p = await runSh(file, fence, script, env, cwd, opts.blockTimeoutMs ?? 20_000 * runLines);
          if (p) {
            problems.push(p);
          }
        }
      } finally {
        await server.close();
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return problems;
}

/**
 * The server ```sh blocks run against: all roles in this process on 127.0.0.1, data and recordings in
 * a folder of its own. `$CONFIG` is its configuration file (with the port it got), `$TOKEN` what
 * `switchboard token --identity docs --grant api --config "$CONFIG"` prints.
 */
export async function startDocServer(): Promise<DocServer> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-docs-'));
  const toml = (port: number): string =>
    [
      '[signal]',
      'host = "127.0.0.1"',
      `port = ${port}`,
      '',
      '[api]',
      `datadir = ${JSON.stringify(join(dir, 'data'))}`,
      '',
      '[recording]',
      `path = ${JSON.stringify(join(dir, 'recordings'))}`,
      '',
      '[log]',
      'level = "error"',
      '',
    ].join('\n');
  try {
    const sb = await Switchboard.start(parseConfig(toml(0), 'doc check server'));
    try {
      const CONFIG = join(dir, 'switchboard.toml');
      await writeFile(CONFIG, toml(sb.port));
      const TOKEN = await makeToken({ identity: 'docs', grant: ['api'], ttl: '1h', config: CONFIG });
      return {
        env: { SB: sb.url, TOKEN, CONFIG },
        close: async () => {
          await sb.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      await sb.close();
      throw err instanceof CliError ? new Error(err.message) : err;
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
