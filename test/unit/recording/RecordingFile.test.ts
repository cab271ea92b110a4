import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RecordingFile, type RecordingFileHandle } from '../../../src/recording/RecordingFile.ts';

const dir = await mkdtemp(join(tmpdir(), 'switchboard-recfile-'));
after(() => rm(dir, { recursive: true, force: true }));

await test('RecordingFile never overwrites: a taken name gets -1, -2, …', async () => {
  await writeFile(join(dir, 'a.webm'), 'keep me');
  const f1 = await RecordingFile.create(dir, 'a', 'webm');
  const f2 = await RecordingFile.create(dir, 'a', 'webm');
  assert.deepEqual([f1.path, f2.path], [join(dir, 'a-1.webm'), join(dir, 'a-2.webm')]);
  await f1.close();
  await f2.close();
  assert.equal(await readFile(join(dir, 'a.webm'), 'utf8'), 'keep me');
});

await test('RecordingFile writes at the positions asked and counts the size', async () => {
  const f = await RecordingFile.create(join(dir, 'sub', 'deeper'), 'b', 'mkv');
  const w = f.writable().getWriter();
  await w.write({ type: 'write', data: new Uint8Array([1, 2, 3, 4]), position: 0 });
  await w.write({ type: 'write', data: new Uint8Array([9]), position: 1 });
  await w.close();
  assert.equal(f.size, 4);
  assert.deepEqual([...(await readFile(f.path))], [1, 9, 3, 4]);
});

await test('a write error is kept, reported once, and refuses further writes', async () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  let closed = false;
  const handle: RecordingFileHandle = {
    write: () => Promise.reject(enospc),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
  const f = await RecordingFile.create(dir, 'c', 'webm', () => Promise.resolve(handle));
  const reported: Error[] = [];
  f.onError = (err) => reported.push(err);
  const w = f.writable().getWriter();
  await assert.rejects(w.write({ type: 'write', data: new Uint8Array(8), position: 0 }), /ENOSPC/);
  await assert.rejects(w.write({ type: 'write', data: new Uint8Array(8), position: 8 }));
  assert.deepEqual(reported, [enospc]);
  assert.equal(f.error, enospc);
  await f.close();
  assert.equal(closed, true);
});
