// `[api] datadir` that does not exist yet: the server creates it (as with Redis, where no embedded
// Store snapshot creates it first) and writes the generated secrets there for the CLI.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryStore } from '../../src/backbone/index.ts';
import { defaultConfig } from '../../src/config/index.ts';
import { Switchboard } from '../../src/server/Switchboard.ts';

void describe('data folder', () => {
  let parent: string | undefined;
  let sb: Switchboard | undefined;

  after(async () => {
    await sb?.close();
    if (parent) {
      await rm(parent, { recursive: true, force: true });
    }
  });

  void it('a missing data folder is created and secrets.json written into it', async () => {
    parent = await mkdtemp(join(tmpdir(), 'sb-datadir-'));
    const dir = join(parent, 'not', 'yet', 'there');
    const cfg = defaultConfig();
    cfg.signal.host = '127.0.0.1';
    cfg.signal.port = 0;
    cfg.log.level = 'warn';
    cfg.api.datadir = dir;
    // A Store that is not the embedded one (as with [redis] addrs): nothing else creates the folder.
    sb = await Switchboard.start(cfg, { store: new MemoryStore() });
    const file = join(dir, 'secrets.json');
    const written = JSON.parse(await readFile(file, 'utf8')) as { authSecret?: string };
    assert.equal(written.authSecret, sb.secrets.authSecret);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });
});
