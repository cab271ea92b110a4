// The embedded Store's snapshot: chosen prefixes survive a reopen, with their TTLs; others do not.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PersistentMemoryStore, SNAPSHOT_FILE } from '../../../src/server/PersistentMemoryStore.ts';
import { waitFor } from '../../helpers/waitFor.ts';

const PREFIXES = ['keep:'];

void describe('PersistentMemoryStore', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-store-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('keeps persisted strings and hashes across a reopen, and drops the rest', async () => {
    const a = await PersistentMemoryStore.open(dir, PREFIXES);
    await a.set('keep:s', 'one');
    await a.set('live:s', 'gone');
    await a.hset('keep:h', { x: '1', y: '2', ['__proto__']: 'p', constructor: 'c' });
    await a.hdel('keep:h', 'constructor');
    await a.hdel('keep:h', 'y');
    await a.setIfAbsent('keep:claimed', 'me');
    await a.set('keep:deleted', 'soon');
    await a.del('keep:deleted');
    await a.close();

    const b = await PersistentMemoryStore.open(dir, PREFIXES);
    assert.equal(await b.get('keep:s'), 'one');
    assert.equal(await b.get('live:s'), undefined);
    // A client-chosen field named __proto__ survives the snapshot as a plain field.
    assert.deepEqual(Object.entries(await b.hgetall('keep:h')).sort(), [['__proto__', 'p'], ['x', '1']]);
    assert.equal(await b.setIfAbsent('keep:claimed', 'you'), false);
    assert.equal(await b.get('keep:deleted'), undefined);
    await b.close();
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
  });

  void it('keeps TTLs as deadlines: an expired key does not come back', async () => {
    const a = await PersistentMemoryStore.open(dir, PREFIXES);
    const deadline = Date.now() + 1;
    await a.set('keep:short', 'x', 1);
    await a.set('keep:long', 'y', 60_000);
    await a.close();
    await waitFor(() => Date.now() > deadline, { interval: 1, what: 'the 1 ms deadline to pass' });
    const b = await PersistentMemoryStore.open(dir, PREFIXES);
    assert.equal(await b.get('keep:short'), undefined);
    assert.equal(await b.get('keep:long'), 'y');
    assert.equal(await b.refresh('keep:long', 'y', 60_000), true);
    await b.close();
  });

  void it('refuses to start from a snapshot it cannot read, rather than overwrite it', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'switchboard-store-bad-'));
    try {
      await writeFile(join(bad, SNAPSHOT_FILE), '{"version": 1, "entries": ');
      await assert.rejects(PersistentMemoryStore.open(bad, PREFIXES), /cannot read the store snapshot/);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
