// `switchboard token` and `switchboard room list|create|delete` against a running server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { verifyToken } from '../../src/protocol/tokens.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

void describe('switchboard CLI', { timeout: 60_000 }, () => {
  let dir = '';
  let configFile = '';
  let sb: RunningSwitchboard | undefined;

  const cli = async (...args: string[]): Promise<string> =>
    (
      await run(process.execPath, [bin, ...args, '--config', configFile], {
        env: { ...process.env, SB_LOG_LEVEL: 'warn' },
      })
    ).stdout.trim();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-cli-'));
    configFile = join(dir, 'switchboard.toml');
    await writeFile(configFile, `[api]\ndatadir = ${JSON.stringify(dir)}\n`);
    sb = await startSwitchboard((c) => {
      c.api.datadir = dir;
    });
  });

  after(async () => {
    await sb?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('token prints a JWT with the given room, identity, grants and lifetime, signed with the generated secret', async () => {
    const jwt = await cli(
      'token',
      '--room',
      'r1',
      '--identity',
      'alice',
      '--name',
      'Alice',
      '--grant',
      'canPublish=false',
      '--grant',
      'roomAdmin',
      '--ttl',
      '10m',
    );
    const g = await verifyToken(jwt, sb!.secrets.authSecret, 's');
    assert.deepEqual(
      [g.room, g.identity, g.name, g.canPublish, g.roomAdmin],
      ['r1', 'alice', 'Alice', false, true],
    );
    const lifetime = g.exp - Math.floor(Date.now() / 1000);
    assert.ok(lifetime > 590 && lifetime <= 600, `lifetime ${lifetime}`);
  });

  void it('token refuses an unknown grant with exit code 1', async () => {
    await assert.rejects(
      cli('token', '--room', 'r', '--identity', 'a', '--grant', 'canFly=true'),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /unknown grant "canFly"/);
        return true;
      },
    );
  });

  void it('room create, list and delete go through the REST API as the superservice', async () => {
    const created = await cli('room', 'create', 'standup', '--max-peers', '8', '--url', sb!.url);
    assert.match(created, /^[0-9a-f]{24} {2}standup {2}max 8$/);
    const listed = await cli('room', 'list', '--url', sb!.url);
    assert.ok(listed.split('\n').includes(created), listed);
    assert.equal(await cli('room', 'delete', 'standup', '--url', sb!.url), 'Room deleted');
    assert.equal(await cli('room', 'list', '--url', sb!.url), '(no rooms)');
  });
});
