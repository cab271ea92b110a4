// Recording with libwebrtc peers (VP8 + Opus): REST start / list / stop / download, Licode's
// startRecorder / stopRecorder on /ws (roomAdmin only), webhooks, a publisher leaving mid-recording,
// a full disk (a tiny tmpfs) and the CLI. Files are checked with Debian's ffprobe / ffmpeg.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { apiCall, mauthHeader, type Credentials } from '../helpers/nuve.ts';
import { decodeErrors, ffprobe, seconds, startTimes } from '../helpers/media.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { signToken, type GrantFlags } from '../../src/protocol/tokens.ts';
import type { RecordingInfo } from '../../src/protocol/recording.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));
const SUPER: Credentials = { service: 'rec-super', key: 'rec-superservice-key-0001' };
const SECRET = 'recording-test-secret-0123';
const ROOM = 'rec-room';
/** A tmpfs mounted over this room's folder fills up after a second or two of video. */
const FULL_ROOM = 'rec-full';

interface Hook {
  event: string;
  room: { sid: string };
  participant?: { identity: string };
  recording?: { id: string; path: string; size?: number; duration?: number; status?: string; error?: string };
}

void describe('recording', { timeout: 300_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let dir = '';
  let hooks: Server;
  const received: Hook[] = [];
  const peers: WrtcPeer[] = [];
  let mounted = false;

  const token = (identity: string, grants: Partial<GrantFlags> = {}, room = ROOM) =>
    signToken({ secret: SECRET, identity, room, grants, ttlSeconds: 600 });
  const api = (method: string, path: string, body?: unknown) =>
    apiCall(sb!.url, method, path, { creds: SUPER, ...(body !== undefined ? { body } : {}) });
  const manager = () => sb!.sfu!.recordings.manager;
  /** Waits until the active recording holds `s` seconds of media. */
  const recorded = (id: string, s: number) =>
    waitFor(() => (manager().get(id)?.duration ?? 0) >= s, {
      timeout: 30_000,
      what: `recording ${id} to hold ${s} s`,
    });

  async function publisher(uid: string, room = ROOM, grants: Partial<GrantFlags> = {}): Promise<WrtcPeer> {
    const p = await WrtcPeer.connect(
      `${wsUrlOf(sb!.url)}?access_token=${await token(uid, grants, room)}`,
      uid,
    );
    peers.push(p);
    await p.join(room, uid);
    await p.publish();
    // Both tracks arrive at the media node.
    await waitFor(
      () => {
        const peer = sb!.sfu!.sfu.getSession(room)?.findByUid(uid);
        const rs = peer ? [...peer.receivers] : [];
        return rs.length === 2 && rs.every((r) => r.packets > 20);
      },
      { timeout: 30_000, what: `${uid}'s audio and video at the server` },
    );
    return p;
  }

  /** The file is a WebM with VP8 and Opus that start together and decode without errors. */
  async function assertPlayable(path: string, expectedSeconds?: number): Promise<void> {
    const probe = await ffprobe(path);
    assert.match(probe.format.format_name, /webm|matroska/);
    const codecs = probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
    assert.deepEqual(codecs, ['audio:opus', 'video:vp8']);
    // The recorder syncs by the sender's reports (RtpClock), and wrtc's put its audio up to 0.75 s off
    // its video (past that they are not used); a file built on arrival times alone starts within 0.2 s.
    const start = startTimes(probe);
    assert.ok(Math.abs(start.audio - start.video) <= 0.75, `streams start ${JSON.stringify(start)} apart`);
    if (expectedSeconds !== undefined) {
      const d = seconds(probe.format.duration);
      assert.ok(
        Math.abs(d - expectedSeconds) <= 0.1 * expectedSeconds,
        `duration ${d} s, expected ${expectedSeconds} s ± 10 %`,
      );
    }
    assert.equal(await decodeErrors(path), '', 'ffmpeg decodes the file without errors');
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-rec-'));
    hooks = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hook);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`;
    sb = await startSwitchboard((c) => {
      c.recording.path = join(dir, 'recordings');
      c.auth.anonymous = false;
      c.auth.secret = SECRET;
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.webhooks.urls = [hookUrl];
    });
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
    await new Promise((resolve) => hooks.close(resolve));
    if (mounted) {
      await run('umount', [join(dir, 'recordings', FULL_ROOM)]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  });

  void it('REST: a participant recorded for 3 s gives a WebM with VP8 and Opus that decodes cleanly', async () => {
    await publisher('alice');
    const t0 = Date.now();
    const started = await api('POST', `/rooms/${ROOM}/recordings`, { uid: 'alice' });
    assert.equal(started.status, 201, started.text);
    const info = started.json as RecordingInfo;
    assert.equal(info.state, 'recording');
    assert.equal(info.format, 'webm');
    assert.ok(info.path.startsWith(join(dir, 'recordings', ROOM, 'alice')), info.path);
    await recorded(info.id, 3);
    const stopped = await api('DELETE', `/rooms/${ROOM}/recordings/${info.id}`);
    const elapsed = (Date.now() - t0) / 1000;
    assert.equal(stopped.status, 200, stopped.text);
    const done = stopped.json as RecordingInfo;
    assert.equal(done.state, 'finished');
    assert.equal(done.reason, 'stopped');
    assert.equal(done.size, (await stat(done.path)).size);
    assert.ok(
      done.duration! >= 3 && done.duration! <= elapsed,
      `duration ${done.duration}, elapsed ${elapsed}`,
    );
    await assertPlayable(done.path, done.duration);

    const list = await api('GET', `/rooms/${ROOM}/recordings`);
    assert.deepEqual(
      (list.json as RecordingInfo[]).map((r) => [r.id, r.state]),
      [[info.id, 'finished']],
    );
    const file = await fetch(`${sb!.url}/api/rooms/${ROOM}/recordings/${info.id}/file`, {
      headers: { authorization: mauthHeader(SUPER) },
    });
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'video/webm');
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), await readFile(done.path));
    // A second stop changes nothing.
    assert.equal(
      ((await api('DELETE', `/rooms/${ROOM}/recordings/${info.id}`)).json as RecordingInfo).state,
      'finished',
    );
  });

  void it('webhooks announce recording_started and recording_finished with path, size and duration', async () => {
    const [done] = (await api('GET', `/rooms/${ROOM}/recordings`)).json as RecordingInfo[];
    const hook = (type: string) => received.find((h) => h.event === type && h.recording?.id === done!.id);
    const finished = await waitFor(() => hook('recording_finished'), { what: 'recording_finished' });
    assert.ok(hook('recording_started'), 'recording_started was delivered');
    assert.equal(hook('recording_started')!.participant?.identity, 'alice');
    assert.deepEqual(finished.recording, {
      id: done!.id,
      path: done!.path,
      status: 'complete',
      size: done!.size,
      duration: done!.duration,
    });
  });

  void it("a guest's startRecorder is refused (403); a roomAdmin's startRecorder / stopRecorder record a stream", async () => {
    const alice = peers[0]!;
    const guest = await WrtcPeer.connect(`${wsUrlOf(sb!.url)}?access_token=${await token('guest')}`, 'guest');
    peers.push(guest);
    await guest.join(ROOM, 'guest');
    await assert.rejects(guest.call('startRecorder', { to: alice.publishedStreamId }), (err: unknown) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, 403);
      assert.match(err.message, /roomAdmin/);
      return true;
    });
    assert.deepEqual(manager().list(ROOM), []);

    const host = await WrtcPeer.connect(
      `${wsUrlOf(sb!.url)}?access_token=${await token('host', { roomAdmin: true })}`,
      'host',
    );
    peers.push(host);
    await host.join(ROOM, 'host');
    const info = await host.call<RecordingInfo>('startRecorder', { to: alice.publishedStreamId });
    assert.equal(info.streamId, alice.publishedStreamId);
    assert.equal(info.participant.identity, 'alice');
    await recorded(info.id, 2);
    await assert.rejects(guest.call('stopRecorder', { id: info.id }), /403/);
    const done = await host.call<RecordingInfo>('stopRecorder', { id: info.id });
    assert.equal(done.state, 'finished');
    await assertPlayable(done.path, done.duration);
    await guest.close();
    await host.close();
  });

  void it('one kind only: an audio recording holds just the Opus track', async () => {
    const info = (await api('POST', `/rooms/${ROOM}/recordings`, { uid: 'alice', kind: 'audio' }))
      .json as RecordingInfo;
    assert.match(info.path, /-audio\.webm$/);
    await recorded(info.id, 1);
    const done = (await api('DELETE', `/rooms/${ROOM}/recordings/${info.id}`)).json as RecordingInfo;
    const probe = await ffprobe(done.path);
    assert.deepEqual(
      probe.streams.map((s) => s.codec_name),
      ['opus'],
    );
    assert.equal(await decodeErrors(done.path), '');
  });

  void it('the publisher leaving mid-recording ends it (source-ended) with a playable file', async () => {
    const bob = await publisher('bob');
    const info = (await api('POST', `/rooms/${ROOM}/recordings`, { uid: 'bob' })).json as RecordingInfo;
    await recorded(info.id, 2);
    await bob.close();
    const done = await waitFor(
      async () => {
        const r = (await api('GET', `/rooms/${ROOM}/recordings/${info.id}`)).json as RecordingInfo;
        return r.state !== 'recording' ? r : undefined;
      },
      { what: "bob's recording to end" },
    );
    assert.equal(done.state, 'finished');
    assert.equal(done.reason, 'source-ended');
    await assertPlayable(done.path, done.duration);
  });

  void it('a recording request names what exists: unknown participant 404, missing target 400', async () => {
    assert.equal((await api('POST', `/rooms/${ROOM}/recordings`, { uid: 'nobody' })).status, 404);
    assert.equal((await api('POST', `/rooms/${ROOM}/recordings`, {})).status, 400);
    assert.equal((await api('GET', `/rooms/${ROOM}/recordings/rec_0000`)).status, 404);
  });

  void it('a full disk stops the recording, reports it (event and record), and the node goes on', async (t) => {
    const full = join(dir, 'recordings', FULL_ROOM);
    await mkdir(full, { recursive: true });
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', full]);
      mounted = true;
    } catch (err) {
      t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
      return;
    }
    await publisher('carol', FULL_ROOM);
    const info = (await api('POST', `/rooms/${FULL_ROOM}/recordings`, { uid: 'carol' }))
      .json as RecordingInfo;
    const done = await waitFor(
      async () => {
        const r = (await api('GET', `/rooms/${FULL_ROOM}/recordings/${info.id}`)).json as RecordingInfo;
        return r.state !== 'recording' ? r : undefined;
      },
      { timeout: 60_000, what: 'the recording on the full disk to stop' },
    );
    assert.equal(done.state, 'failed');
    assert.equal(done.reason, 'write-error');
    assert.match(done.error ?? '', /ENOSPC|no space/i);
    const hook = await waitFor(
      () => received.find((h) => h.event === 'recording_finished' && h.recording?.id === info.id),
      { what: 'recording_finished of the failed recording' },
    );
    assert.equal(hook.recording?.status, 'failed');
    assert.match(hook.recording?.error ?? '', /ENOSPC|no space/i);
    // The node goes on: the room still has carol's media, the API answers, a new recording starts.
    assert.equal((await api('GET', `/rooms/${FULL_ROOM}/users`)).status, 200);
    const carolAtServer = sb!.sfu!.sfu.getSession(FULL_ROOM)?.findByUid('carol');
    const before = [...carolAtServer!.receivers].reduce((n, r) => n + r.packets, 0);
    await waitFor(() => [...carolAtServer!.receivers].reduce((n, r) => n + r.packets, 0) > before + 50, {
      what: "carol's packets to keep arriving",
    });
    const again = await api('POST', `/rooms/${ROOM}/recordings`, { uid: 'alice' });
    assert.equal(again.status, 201, again.text);
    await api('DELETE', `/rooms/${ROOM}/recordings/${(again.json as RecordingInfo).id}`);
  });

  void it('switchboard recording start / list / stop / download drive the same routes', async () => {
    const config = join(dir, 'cli.toml');
    await writeFile(config, `[api]\nsuperserviceid = "${SUPER.service}"\nsuperservicekey = "${SUPER.key}"\n`);
    const cli = async (...args: string[]) =>
      (
        await run(process.execPath, [bin, 'recording', ...args, '--url', sb!.url, '--config', config], {
          cwd: dir,
        })
      ).stdout.trim();
    const started = JSON.parse(await cli('start', ROOM, '--uid', 'alice', '--json')) as RecordingInfo;
    assert.equal(started.state, 'recording');
    await recorded(started.id, 1);
    assert.match(await cli('stop', ROOM, started.id), new RegExp(`^${started.id}  finished  alice`));
    assert.match(await cli('list', ROOM), new RegExp(started.id));
    const out = join(dir, 'downloaded.webm');
    assert.equal(await cli('download', ROOM, started.id, '-o', out), out);
    assert.deepEqual(await readFile(out), await readFile(started.path));
    // Never overwrites.
    await assert.rejects(cli('download', ROOM, started.id, '-o', out), /EEXIST|exists/);
  });

  void it('closing the node finishes the recordings in progress (node-shutdown) into playable files', async () => {
    const info = (await api('POST', `/rooms/${ROOM}/recordings`, { uid: 'alice' })).json as RecordingInfo;
    await recorded(info.id, 2);
    const finished = new Promise<RecordingInfo>((resolve) => manager().once('finished', resolve));
    await sb!.close();
    const done = await finished;
    assert.equal(done.id, info.id);
    assert.equal(done.reason, 'node-shutdown');
    assert.equal(done.state, 'finished');
    await assertPlayable(done.path, done.duration);
  });
});
