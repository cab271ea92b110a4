// Test runner: `node test/run.js [files...]`. Node 20's --test has no globs, so we collect files here.
// WebRTC stacks skip loopback when gathering candidates, so integration and e2e tests run inside a
// network namespace of our own (veth pair sb0/sb1, 10.203.0.0/24) and no test traffic leaves the host.
/* global process, console */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ip, setUpNamespace } from './namespace.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const collect = (dir) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
        .map((e) => relative(root, join(e.parentPath ?? e.path, e.name)))
        .sort()
    : [];
const args = process.argv.slice(2);
// contract and distributed tests start their own nats-server and redis-server (Debian packages).
const folders = ['test/unit', 'test/contract', 'test/integration', 'test/distributed', 'test/e2e'];
const all = args.length > 0 ? args : folders.flatMap(collect);
// prettier-ignore
const nodeArgs = (files) => ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files];

/** Runs `cmd` with inherited stdio, forwarding SIGINT/SIGTERM to it; resolves with its exit code. */
function run(cmd, argv) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: 'inherit', cwd: root });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

let code = 0;
if (all.length === 0) {
  console.error('test/run.js: no test files found');
} else if (process.env.SB_NETNS) {
  code = await run(process.execPath, nodeArgs(all)); // already inside our namespace
} else {
  const ns = `sbtest-${process.pid}`;
  const isRoot = process.getuid?.() === 0;
  const noIp = () => (ip('-V').status !== 0 ? '`ip` (iproute2) not found' : undefined);
  const failure = isRoot
    ? (noIp() ??
      setUpNamespace(ns, [
        ['sb0', '10.203.0.1'],
        ['sb1', '10.203.0.2'],
      ]))
    : 'not running as root';
  if (isRoot) {
    process.on('exit', () => ip('netns', 'delete', ns)); // also removes a half-made namespace
  }
  if (failure !== undefined && isRoot) {
    // As root (CI) the namespace must work: quietly skipping integration and e2e would hide failures.
    console.error(`test/run.js: cannot create the test network namespace: ${failure}`);
    code = 1;
  } else if (failure === undefined) {
    const inNamespace = ['netns', 'exec', ns, 'env', `SB_NETNS=${ns}`, process.execPath];
    code = await run('ip', [...inNamespace, ...nodeArgs(all)]);
  } else {
    const unit = all.filter((f) => f.split(/[\\/]/).includes('unit'));
    console.error(
      `test/run.js: ${failure}; integration and e2e tests need a network namespace ` +
        `(run as root with iproute2). Running ${unit.length} unit test file(s) only.`,
    );
    code = unit.length > 0 ? await run(process.execPath, nodeArgs(unit)) : 0;
  }
}
process.exit(code);
