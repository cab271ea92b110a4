// `switchboard token` and `switchboard room list|create|delete|users` against a running server; keys
// from the environment in a directory without data/, and the one-line error when none are found.
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
import { verifyLiveKitToken } from '../../src/protocol/livekit.ts';
import { WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { waitFor } from '../helpers/waitFor.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

void describe('switchboard CLI', { timeout: 180_000 }, () => {
  let dir = '';
  let configFile = '';
  let sb: RunningSwitchboard | undefined;

  const cli = async (...args: string[]): Promise<string> =>
    (
      await run(process.execPath, [bin, ...args, '--config', configFile], {
        env: { ...process.env, SB_LOG_LEVEL: 'warn' },
      })
    ).stdout.trim();

  /** Runs the CLI in `cwd` (no data/ there) with no --config, no SWITCHBOARD_* but `vars`. */
  const bare = async (cwd: string, vars: Record<string, string>, ...args: string[]): Promise<string> => {
    const env: Record<string, string | undefined> = { ...process.env, SB_LOG_LEVEL: 'warn', ...vars };
    for (const k of Object.keys(env)) {
      if (k.startsWith('SWITCHBOARD_') && !(k in vars)) {
        delete env[k];
      }
    }
    return (await run(process.execPath, [bin, ...args], { cwd, env })).stdout.trim();
  };

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

  void it('token --livekit prints a LiveKit access token the server takes on /rtc (signed with the superservice id and key)', async () => {
    const jwt = await cli(
      'token',
      '--livekit',
      '--room',
      'r1',
      '--identity',
      'alice',
      '--name',
      'Alice',
      '--grant',
      'canPublish=false',
      '--ttl',
      '10m',
    );
    const t = await verifyLiveKitToken(jwt, (key) =>
      Promise.resolve(
        key === sb!.secrets.superserviceId
          ? { secret: sb!.secrets.superserviceKey, service: key }
          : undefined,
      ),
    );
    assert.deepEqual(
      [t.identity, t.name, t.video.room, t.video.roomJoin, t.video.canPublish],
      ['alice', 'Alice', 'r1', true, false],
    );
    assert.ok(t.exp - Math.floor(Date.now() / 1000) <= 600);
    // The server's own check of a livekit-client connection (what /rtc does before the upgrade).
    const ok = await fetch(`${sb!.url}/rtc/validate?access_token=${jwt}`);
    assert.equal(ok.status, 200);
    const tampered = await fetch(`${sb!.url}/rtc/validate?access_token=${jwt.slice(0, -2)}xx`);
    assert.equal(tampered.status, 401);
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

  void it('room users lists a joined wrtc peer with its uid, name, role, protocol, tracks, node and join time', async () => {
    const peer = await WrtcPeer.connect(wsUrlOf(sb!.url), 'carol');
    try {
      await peer.join('cli-users', 'carol-uid');
      await peer.publish();
      await waitFor(
        async () =>
          (
            JSON.parse(await cli('room', 'users', 'cli-users', '--json', '--url', sb!.url)) as {
              tracks: unknown[];
            }[]
          )[0]?.tracks.length === 2,
        { what: "carol's tracks in the listing" },
      );
      const json = JSON.parse(await cli('room', 'users', 'cli-users', '--json', '--url', sb!.url)) as {
        id: string;
        node?: string;
        dc?: string;
      }[];
      assert.equal(json.length, 1, JSON.stringify(json));
      assert.equal(json[0]!.id, 'carol-uid');
      assert.ok(typeof json[0]!.node === 'string' && json[0]!.node !== '', JSON.stringify(json));
      const lines = (await cli('room', 'users', 'cli-users', '--url', sb!.url)).split('\n');
      assert.match(lines[0]!, /^UID +NAME +ROLE +PROTOCOL +TRACKS +NODE\/REGION +JOINED$/);
      assert.equal(lines.length, 2, lines.join('\n'));
      const cells = lines[1]!.split(/ {2,}/);
      assert.equal(cells[0], 'carol-uid');
      assert.equal(cells[3], 'jsonrpc');
      assert.match(cells[4]!, /^(audio, video|video, audio)$/);
      const { node, dc } = json[0]!;
      assert.equal(cells[5], dc === undefined ? node : `${node}/${dc}`, lines[1]);
      assert.match(cells.at(-1)!, /^\d+s ago$/);
    } finally {
      await peer.close();
    }
  });

  void it('room stats prints what a publishing wrtc peer sends, per track', async () => {
    const peer = await WrtcPeer.connect(wsUrlOf(sb!.url), 'erin');
    try {
      await peer.join('cli-stats', 'erin-uid');
      await peer.publish();
      const out = await waitFor(
        async () => {
          const text = await cli('room', 'stats', 'cli-stats', '--url', sb!.url);
          return /erin-uid .*publishes +video video\/\w+ +320x240 [1-9]\d* kbit\/s/.test(text)
            ? text
            : undefined;
        },
        { what: 'room stats to show the video bitrate' },
      );
      assert.match(out.split('\n')[0]!, /^UID +NODE\/REGION +TRACK +FIGURES$/);
      assert.match(out, /erin-uid .*publishes +audio audio\/opus/);
      const json = JSON.parse(await cli('room', 'stats', 'cli-stats', '--json', '--url', sb!.url)) as {
        participants: { uid: string }[];
      };
      assert.deepEqual(
        json.participants.map((p) => p.uid),
        ['erin-uid'],
      );
    } finally {
      await peer.close();
    }
  });

  void it('keys and URL from SWITCHBOARD_* environment variables work in a directory without data/', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'switchboard-cli-cwd-'));
    try {
      const vars = {
        SWITCHBOARD_URL: sb!.url,
        SWITCHBOARD_SUPERSERVICE_ID: sb!.secrets.superserviceId,
        SWITCHBOARD_SUPERSERVICE_KEY: sb!.secrets.superserviceKey,
        SWITCHBOARD_SECRET: sb!.secrets.authSecret,
      };
      assert.equal(await bare(cwd, vars, 'room', 'list'), '(no rooms)');
      const jwt = await bare(cwd, vars, 'token', '--room', 'r2', '--identity', 'dave');
      assert.equal((await verifyToken(jwt, sb!.secrets.authSecret, 's')).identity, 'dave');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  void it('without options, environment variables, --config or data/secrets.json: one line naming them all', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'switchboard-cli-cwd-'));
    try {
      for (const [args, names] of [
        [['room', 'list', '--url', sb!.url], /SWITCHBOARD_SUPERSERVICE_ID and SWITCHBOARD_SUPERSERVICE_KEY/],
        [
          ['recording', 'list', 'r', '--url', sb!.url],
          /SWITCHBOARD_SUPERSERVICE_ID and SWITCHBOARD_SUPERSERVICE_KEY/,
        ],
        [['token', '--room', 'r', '--identity', 'a'], /SWITCHBOARD_SECRET/],
      ] as const) {
        await assert.rejects(bare(cwd, {}, ...args), (err: { code: number; stderr: string }) => {
          assert.equal(err.code, 1);
          const lines = err.stderr.trim().split('\n');
          assert.equal(lines.length, 1, err.stderr);
          assert.match(lines[0]!, names);
          assert.match(lines[0]!, /--config/);
          assert.ok(lines[0]!.includes(join(cwd, 'data')), lines[0]);
          return true;
        });
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
