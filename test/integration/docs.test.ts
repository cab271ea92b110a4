// The documentation check (issue #14): README.md and every docs/**/*.md, one test per file. The checker
// is test/helpers/docCheck.ts; the first suite below proves on made-up docs that each rule catches what
// it should. Rules, as implemented:
//
// Links (inline links and images, reference definitions, <a href>, <img src>; not in code):
// - A relative target must be an existing file or folder of the repository (`/path` = from the repository
//   root). http(s), mailto and other scheme links are not fetched.
// - A `#anchor` (`#x` in the same file, `file.md#x`) must be a heading's GitHub anchor in that file:
//   the heading's text (code spans kept without backticks, links by their text, no emphasis or tags),
//   lower-cased, punctuation and symbols removed except `-` and `_`, each space a `-`; a repeated
//   heading gets -1, -2 … (so "## `[signal.limits]`" → #signallimits, "## Leaving and dying" →
//   #leaving-and-dying). `<a name="x">` / `id="x"` count too. Anchors into non-Markdown files are not checked.
// ```toml: a complete configuration file: smol-toml, then the server's own parseConfig (the zod schema)
//   and validateSupported, so a message is what `switchboard start` would print for that file.
// ```json: one JSON value, or one JSON value per line. ```jsonc: the same after removing // and /* */
//   comments and trailing commas.
// ```sh: each line (a trailing `\` continues it; blank and `#` lines skipped; here-documents belong to
//   their command) is either
//   - checked, not run: a line with an `npm …`, `switchboard start …` or `switchboard cluster …` command
//     (`npx switchboard …` too; leading NAME=value assignments allowed; several chained with && ; |, plus
//     `cd`). npm must be `npm ci`, `npm start`, `npm test` or `npm run <script in package.json>`; for a
//     script that is `node bin/switchboard.js <command>` (start, cluster) the arguments after `--` are
//     checked too. switchboard commands are parsed by the real commander program (src/cli/program.ts
//     buildProgram(), actions replaced), so unknown options and bad values (port, roles) fail. Any other
//     command on such a line is an error (put it on its own line).
//   - or run: all other lines of the block, in order, as one `bash -Eeuo pipefail` script (-E only
//     passes the ERR trap that finds the failing line), in an empty temporary folder, at most 20 s
//     per line to run (one `switchboard` call alone takes about 3 s on a 2-core machine),
//     with `switchboard` on PATH (node bin/switchboard.js) and $SB (http://127.0.0.1:<port>), $TOKEN (a
//     management JWT: what `switchboard token --identity docs --grant api --config "$CONFIG"` prints) and
//     $CONFIG (its config file: [signal] host 127.0.0.1 and port, [api] datadir and [recording] path in
//     a temporary folder, [log] level "error", everything else default) of a server started once per
//     file (in this process, only for files with a line to run). A failure names file:line and shows
//     the command's stderr (or stdout).
//   - A line starting with a "$ " prompt is an error.
// ```console: NOT exercised: commands a test cannot run (systemctl, nginx, apt, ip, turnutils,
//   browsers), transcripts with prompts and output. ```bash, ```shell and ```zsh are errors (use ```sh
//   or ```console). ```text, plain ``` and every other language are not checked.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkDocs,
  formatProblem,
  listDocs,
  startDocServer,
  type DocProblem,
  type DocServer,
} from '../helpers/docCheck.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fence = '```';

void describe('doc check (on made-up docs)', { timeout: 120_000 }, () => {
  let dir = '';
  let problems: DocProblem[] = [];

  /** The problems reported for `file` at `line`, formatted. */
  const at = (file: string, line: number): string[] =>
    problems.filter((p) => p.file === file && p.line === line).map(formatProblem);
  const assertOne = (file: string, line: number, pattern: RegExp): void => {
    const found = at(file, line);
    assert.equal(
      found.length,
      1,
      `expected one problem at ${file}:${line}, got:\n${problems.map(formatProblem).join('\n')}`,
    );
    assert.match(found[0]!, pattern);
  };

  const README = [
    '# Fixture', //                                                     1
    '',
    'Good: [guide](docs/guide.md), [section](docs/guide.md#signallimits), [again](docs/guide.md#setup-1),',
    '[here](#fixture), [folder](docs), ![shot](docs/guide.md), [web](https://example.com/nope),' +
      ' [a](docs/guide.md#deployment-nat-firewalls-turn), [b](docs/guide.md#node--2019--npm),' +
      ' [c](docs/guide.md#emphasis-and-bold-in-snake_case), [d](docs/guide.md#setext-title)',
    '`[not a link](nowhere.md)` and [a reference][ref].', //              5
    'Bad: [gone](missing.md) and [anchor](docs/guide.md#signal-limits).',
    '[ref]: docs/guide.md#setup',
    `${fence}toml`,
    '[signal]', //                                                       9
    'port = 7100',
    '[signal.limits]',
    'socketsperip = 10',
    fence,
    `${fence}toml`,
    '[signal]', //                                                      15
    'prot = 7100',
    fence,
    `${fence}toml`,
    '[webrtc]', //                                                      19
    'sdpsemantics = "plan-b"',
    fence,
    `${fence}toml`,
    '[log]', //                                                         23
    'level = "info', //                                                 24
    fence,
    `${fence}json`,
    '{ "method": "join", "params": { "sid": "room" } }',
    fence,
    `${fence}jsonc`,
    '{ "a": 1, // a comment', //                                        30
    '  "b": "not // a comment", }',
    fence,
    `${fence}json`,
    '{ "a": 1,', //                                                     34
    '  "b": }',
    fence,
    `${fence}sh`,
    '# comments are skipped', //                                        38
    'npm ci && npm start',
    'npm run cluster -- --nodes 5 --port 8000 > cluster.log 2>&1   # a comment',
    'SB_LOG_LEVEL=debug switchboard start -c cluster.toml --role registry,room \\',
    '  --port 7100',
    'curl -fsS "$SB/api/rooms" -H "Authorization: Bearer $TOKEN" \\',
    '  -H "Content-Type: application/json" -d \'{"name": "standup"}\'',
    'switchboard room list --config "$CONFIG" | grep -q standup',
    fence,
    `${fence}sh`,
    'npm run nosuch', //                                                48
    'npm install left-pad',
    'switchboard start --bogus',
    'switchboard cluster --port 70000',
    'npm start -- --role nope',
    'npm start & curl -fsS "$SB/healthz"',
    '$ npm test',
    fence,
    `${fence}sh`,
    'curl -fsS "$SB/api/rooms" -H "Authorization: Bearer $TOKEN" | grep -q standup # the block above ran', // 57
    'echo "about to fail" >&2',
    'curl -fsS "$SB/no-such-path"',
    'echo never',
    fence,
    `${fence}sh`,
    'echo "$NOT_SET"', //                                               63
    fence,
    `${fence}console`,
    '$ sudo systemctl restart switchboard',
    'false',
    fence,
    `${fence}bash`,
    'true', //                                                          70
    fence,
    '',
  ].join('\n');

  const GUIDE = [
    '# Guide',
    '## `[signal.limits]`',
    '## Setup',
    '## Setup',
    '## Deployment: NAT, firewalls, TURN',
    '## Node ≥ 20.19 & npm',
    '## _Emphasis_ and **bold** in snake_case',
    '',
    'Setext Title',
    '---',
    '',
  ].join('\n');

  const SLOW = [`${fence}sh`, 'sleep 30', fence, ''].join('\n');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-docfixture-'));
    const files: Record<string, string> = {
      'README.md': README,
      'docs/guide.md': GUIDE,
      'docs/slow/slow.md': SLOW,
      'package.json': JSON.stringify({
        scripts: {
          start: 'node bin/switchboard.js start',
          cluster: 'node bin/switchboard.js cluster',
          test: 'x',
        },
      }),
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    assert.deepEqual(listDocs(dir), ['README.md', 'docs/guide.md', 'docs/slow/slow.md']);
    problems = await checkDocs(dir, ['README.md', 'docs/guide.md'], { server: startDocServer });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('reports a missing link target and an anchor that is no heading, and nothing for good links', () => {
    assert.deepEqual(at('README.md', 6), [
      'README.md:6: link missing.md: no such file missing.md',
      'README.md:6: link docs/guide.md#signal-limits: no heading with anchor #signal-limits in docs/guide.md ' +
        '(did you mean #signallimits?)',
    ]);
    assert.deepEqual(
      [3, 4, 5, 7].flatMap((line) => at('README.md', line)),
      [],
    );
  });

  void it('validates ```toml blocks with the server schema: unknown key, unsupported value, TOML syntax', () => {
    assert.deepEqual(at('README.md', 9), []);
    assertOne('README.md', 15, /^README\.md:15: signal\.prot: unknown key$/);
    assertOne('README.md', 19, /webrtc\.sdpsemantics: plan-b is not supported/);
    assertOne('README.md', 24, /TOML syntax error/);
  });

  void it('parses ```json blocks; ```jsonc may have comments and trailing commas', () => {
    assert.deepEqual([...at('README.md', 27), ...at('README.md', 30)], []);
    assert.equal(problems.filter((p) => /not valid JSON/.test(p.message)).length, 1);
    assert.match(problems.find((p) => /not valid JSON/.test(p.message))!.message, /```json block/);
  });

  void it('checks npm and switchboard start|cluster lines against package.json and the commander program', () => {
    for (const line of [39, 40, 41, 43, 44, 45]) {
      assert.deepEqual(at('README.md', line), []);
    }
    assertOne('README.md', 48, /npm run nosuch: no script "nosuch" in package\.json/);
    assertOne('README.md', 49, /npm install left-pad: only npm ci, npm start/);
    assertOne('README.md', 50, /switchboard start --bogus: unknown option '--bogus'/);
    assertOne('README.md', 51, /switchboard cluster --port 70000: .*expected a port number/);
    assertOne('README.md', 52, /npm start -- --role nope .*unknown role "nope"/);
    assertOne('README.md', 53, /"curl -fsS \$SB\/healthz" shares a line with an npm/);
    assertOne('README.md', 54, /a "\$ " prompt/);
  });

  void it('runs the other ```sh lines with bash against one server per file and names the failing line with its stderr', () => {
    assertOne('README.md', 59, /block failed \(exit 22\) at `curl -fsS "\$SB\/no-such-path"`/);
    const msg = at('README.md', 59)[0]!;
    assert.match(msg, /stderr:\nabout to fail\ncurl: \(22\)[^\n]*404/);
    assertOne(
      'README.md',
      63,
      /block failed \(exit 1\)\nstderr:\nbash: README\.md:63: NOT_SET: unbound variable$/,
    );
  });

  void it('does not run ```console blocks and refuses ```bash', () => {
    assert.deepEqual(at('README.md', 66), []);
    assertOne('README.md', 69, /```bash block: use ```sh \(exercised\) or ```console \(not run\)/);
  });

  void it('finds exactly the problems above, no more', () => {
    assert.equal(problems.length, 16, problems.map(formatProblem).join('\n'));
  });

  void it('stops a ```sh block that runs too long', async () => {
    // `sleep` needs no Switchboard.
    const server = (): Promise<DocServer> =>
      Promise.resolve({ env: { SB: '', TOKEN: '', CONFIG: '' }, close: () => Promise.resolve() });
    const slow = await checkDocs(dir, ['docs/slow/slow.md'], { server, blockTimeoutMs: 500 });
    assert.deepEqual(slow.map(formatProblem), ['docs/slow/slow.md:2: ```sh block timed out after 500 ms']);
  });
});

void describe('documentation (README.md, docs/**/*.md)', { timeout: 600_000 }, () => {
  for (const file of listDocs(root)) {
    void it(`${file}: links, anchors and examples hold`, async () => {
      const problems = await checkDocs(root, [file], { server: startDocServer });
      assert.deepEqual(problems.map(formatProblem), [], problems.map(formatProblem).join('\n\n'));
    });
  }
});
