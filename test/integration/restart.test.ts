// The embedded server keeps rooms, services and its credentials in its data folder across a restart.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCall, mauthHeader, type Credentials } from '../helpers/nuve.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';

void describe('restart of the embedded server', { timeout: 60_000 }, () => {
  let dir = '';
  let sb: RunningSwitchboard | undefined;
  let superCreds: Credentials;
  let service: Credentials;
  let roomId = '';
  let usedHeader = '';

  const start = () =>
    startSwitchboard((c) => {
      c.api.datadir = dir;
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-restart-'));
  });

  after(async () => {
    await sb?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('first start: generates credentials, creates a service and rooms', async () => {
    sb = await start();
    superCreds = { service: sb.secrets.superserviceId, key: sb.secrets.superserviceKey };
    const secrets = JSON.parse(await readFile(join(dir, 'secrets.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(secrets, {
      authSecret: sb.secrets.authSecret,
      superserviceId: superCreds.service,
      superserviceKey: superCreds.key,
    });
    assert.equal((await stat(join(dir, 'secrets.json'))).mode & 0o077, 0, 'secrets.json is private');

    service = { service: '', key: 'restart-service-key-0001' };
    service.service = (
      await apiCall(sb.url, 'POST', '/services', {
        creds: superCreds,
        body: { name: 'kept', key: service.key },
      })
    ).text;
    const room = await apiCall(sb.url, 'POST', '/rooms', {
      creds: service,
      body: { name: 'persistent', options: { data: { x: 1 }, maxPeers: 7, password: 'pw' } },
    });
    assert.equal(room.status, 200, room.text);
    roomId = (room.json as { _id: string })._id;
    usedHeader = mauthHeader(service);
    assert.equal(
      (await apiCall(sb.url, 'GET', '/rooms', { headers: { authorization: usedHeader } })).status,
      200,
    );
    await sb.close();
    sb = undefined;
  });

  void it('second start: same credentials, the service and its room are still there', async () => {
    sb = await start();
    assert.deepEqual(
      [sb.secrets.superserviceId, sb.secrets.superserviceKey],
      [superCreds.service, superCreds.key],
    );
    const services = await apiCall(sb.url, 'GET', '/services', { creds: superCreds });
    assert.ok(
      (services.json as { _id: string; name: string }[]).some(
        (s) => s._id === service.service && s.name === 'kept',
      ),
    );
    const room = await apiCall(sb.url, 'GET', `/rooms/${roomId}`, { creds: service });
    assert.equal(room.status, 200, room.text);
    assert.deepEqual(room.json, {
      _id: roomId,
      name: 'persistent',
      data: { x: 1 },
      locked: false,
      hasPassword: true,
      maxPeers: 7,
    });
  });

  void it('a MAuth header used before the restart is still refused as a replay', async () => {
    const again = await apiCall(sb!.url, 'GET', '/rooms', { headers: { authorization: usedHeader } });
    assert.equal(again.status, 401);
    assert.match((again.json as { message: string }).message, /replayed/);
  });

  void it('a deleted room stays deleted after the next restart', async () => {
    assert.equal((await apiCall(sb!.url, 'DELETE', `/rooms/${roomId}`, { creds: service })).status, 200);
    await sb!.close();
    sb = await start();
    assert.equal((await apiCall(sb.url, 'GET', `/rooms/${roomId}`, { creds: service })).status, 404);
  });
});
