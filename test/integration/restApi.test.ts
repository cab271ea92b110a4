// The Nuve-compatible REST API under /api: MAuth (computed in the test), bearer JWT, rooms, tokens,
// users, services; bad input gets 4xx JSON and the server keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall, mauthHeader, type ApiAnswer, type CallOptions } from '../helpers/nuve.ts';
import { fetchMetrics, metricValue, startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { RpcError, WrtcPeer, wsUrlOf } from '../helpers/wrtcPeer.ts';
import { signToken } from '../../src/protocol/tokens.ts';

const SUPER = { service: 'superservice-test', key: 'superservice-key-for-tests' };
const SECRET = 'jwt-secret-for-rest-tests';

void describe('REST API (Nuve routes)', { timeout: 120_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  const answers: ApiAnswer[] = [];
  const peers: WrtcPeer[] = [];
  let other = { service: '', key: 'another-service-key-0001' };

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<ApiAnswer> => {
    const a = await apiCall(sb!.url, method, path, { creds: SUPER, ...o });
    answers.push(a);
    return a;
  };
  const assertJsonError = (a: ApiAnswer, status: number, message?: RegExp): void => {
    assert.equal(a.status, status, a.text);
    assert.match(a.type, /^application\/json/);
    assert.equal(a.json?.statusCode, status);
    assert.equal(typeof a.json?.error, 'string');
    if (message) {
      assert.match(a.json.message as string, message);
    }
  };

  before(async () => {
    sb = await startSwitchboard((c) => {
      c.api.superserviceid = SUPER.service;
      c.api.superservicekey = SUPER.key;
      c.auth.secret = SECRET;
    });
  });

  after(async () => {
    for (const p of peers) {
      await p.close();
    }
    await sb?.close();
  });

  void it('POST /rooms creates a room; GET lists and shows it; getOrCreate returns the same room', async () => {
    const created = await call('POST', '/rooms', {
      body: { name: 'lobby', options: { data: { a: 1 }, maxPeers: 5 } },
    });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.name, 'lobby');
    assert.match(created.json._id as string, /^[0-9a-f]{24}$/);
    assert.deepEqual(created.json.data, { a: 1 });
    assert.equal(created.json.maxPeers, 5);
    const again = await call('POST', '/rooms', { body: { name: 'lobby', options: { getOrCreate: true } } });
    assert.equal(again.json._id, created.json._id);
    const list = await call('GET', '/rooms');
    assert.deepEqual(
      (list.json as { _id: string }[]).map((r) => r._id),
      [created.json._id],
    );
    const one = await call('GET', `/rooms/${created.json._id}`);
    assert.deepEqual(one.json, created.json);
  });

  void it('PUT replaces name and data (p2p only turns on); PATCH merges data keys', async () => {
    const { json: r } = await call('POST', '/rooms', {
      body: { name: 'edit-me', options: { p2p: true, data: { a: 1, b: 2 } } },
    });
    const put = await call('PUT', `/rooms/${r._id}`, {
      body: { name: 'edited', options: { p2p: false, data: { c: 3 } } },
    });
    assert.equal(put.status, 200);
    assert.equal(put.text, 'Room Updated');
    let shown = (await call('GET', `/rooms/${r._id}`)).json;
    assert.deepEqual([shown.name, shown.p2p, shown.data], ['edited', true, { c: 3 }]);
    const patch = await call('PATCH', `/rooms/${r._id}`, {
      body: { options: { data: { d: 4 }, locked: true } },
    });
    assert.equal(patch.text, 'Room Updated');
    shown = (await call('GET', `/rooms/${r._id}`)).json;
    assert.deepEqual([shown.name, shown.data, shown.locked], ['edited', { c: 3, d: 4 }, true]);
    // Nuve's updateRoom(id, name) sends no options: the room keeps its data (Licode's basic example
    // finds its room by data after a rename).
    assert.equal((await call('PUT', `/rooms/${r._id}`, { body: { name: 'renamed' } })).status, 200);
    shown = (await call('GET', `/rooms/${r._id}`)).json;
    assert.deepEqual([shown.name, shown.data], ['renamed', { c: 3, d: 4 }]);
  });

  void it('bad input gets 400 JSON errors: wrong types, broken JSON, missing name; unknown Nuve keys are ignored', async () => {
    assertJsonError(await call('POST', '/rooms', { body: { name: 42 } }), 400, /name/);
    // Licode ignores options it does not know; so does Switchboard on Nuve's routes.
    const lenient = await call('POST', '/rooms', {
      body: { name: 'lenient', extra: 1, options: { maxpeers: 3, data: { k: 1 } } },
    });
    assert.equal(lenient.status, 200, lenient.text);
    assert.deepEqual(
      [lenient.json.maxPeers, lenient.json.data, lenient.json.extra],
      [0, { k: 1 }, undefined],
    );
    // Our own bodies stay strict: a misspelt grant must not pass unnoticed.
    assertJsonError(
      await call('POST', `/rooms/${lenient.json._id}/tokens?format=jwt`, {
        body: { identity: 'x', grants: { canPublsh: false } },
      }),
      400,
      /canPublsh/,
    );
    assertJsonError(
      await call('POST', '/rooms', { rawBody: '{"name": "p", "__proto__": {"admin": true}}' }),
      400,
      /forbidden key "__proto__"/,
    );
    assertJsonError(
      await call('POST', '/rooms', {
        rawBody: `{"name": "deep", "options": {"data": ${'['.repeat(5000)}${']'.repeat(5000)}}}`,
      }),
      400,
      /nests deeper than 32/,
    );
    assertJsonError(
      await call('POST', '/rooms', { body: { name: 'x', options: { maxPeers: -1 } } }),
      400,
      /maxPeers/,
    );
    assertJsonError(await call('POST', '/rooms', { rawBody: '{"name": ' }), 400);
    assertJsonError(await call('POST', '/rooms', { body: {} }), 400, /name/);
    assertJsonError(
      await call('POST', '/rooms', { body: { name: 'x', options: { test: true } } }),
      400,
      /test rooms/,
    );
    assertJsonError(await call('POST', '/services', { body: { name: 's', key: 'short' } }), 400, /key/);
  });

  void it('authorization errors say what is wrong with the header', async () => {
    const withHeader = (authorization: string) => call('GET', '/rooms', { headers: { authorization } });
    assertJsonError(await withHeader('Basic dXNlcjpwYXNz'), 401, /unsupported authorization scheme "Basic"/);
    assertJsonError(await withHeader('Bearer'), 401, /Bearer: the token is missing/);
    assertJsonError(await withHeader('Bearer    '), 401, /Bearer: the token is missing/);
    assertJsonError(await withHeader('MAuth garbage'), 401, /MAuth: malformed header/);
    assertJsonError(await withHeader('x'.repeat(300)), 401, /unsupported authorization scheme "x{24}…"/);
    assertJsonError(
      await withHeader(`MAuth realm=r,mauth_signature_method=PLAINTEXT`),
      401,
      /signature method must be HMAC_SHA1/,
    );
  });

  void it('an unknown room gets 404 JSON on every room route', async () => {
    for (const [method, path] of [
      ['GET', '/rooms/000000000000000000000000'],
      ['PUT', '/rooms/nope'],
      ['DELETE', '/rooms/nope'],
      ['POST', '/rooms/nope/tokens'],
      ['GET', '/rooms/nope/users'],
      ['DELETE', '/rooms/nope/users/bob'],
    ] as const) {
      const a = await call(method, path, method === 'PUT' ? { body: { name: 'x' } } : {});
      assertJsonError(a, 404, /Room does not exist/);
    }
    assertJsonError(await call('GET', '/no/such/route'), 404, /Resource not found/);
  });

  void it('an oversized body gets 413 JSON', async () => {
    assertJsonError(
      await call('POST', '/rooms', { body: { name: 'big', options: { data: 'x'.repeat(200_000) } } }),
      413,
    );
  });

  void it('missing or bad credentials get 401 JSON with a MAuth challenge; a replayed header is refused', async () => {
    const none = await call('GET', '/rooms', { anonymous: true });
    assertJsonError(none, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^MAuth realm=/);
    assertJsonError(
      await call('GET', '/rooms', { creds: { ...SUPER, key: 'wrong-key-0000000000' } }),
      401,
      /wrong signature/,
    );
    const header = mauthHeader(SUPER);
    assert.equal((await call('GET', '/rooms', { headers: { authorization: header } })).status, 200);
    assertJsonError(await call('GET', '/rooms', { headers: { authorization: header } }), 401, /replayed/);
    const stale = mauthHeader(SUPER, undefined, Date.now() - 3_600_000);
    assertJsonError(await call('GET', '/rooms', { headers: { authorization: stale } }), 401, /window/);
  });

  void it('OPTIONS answers a CORS preflight without credentials', async () => {
    const a = await call('OPTIONS', '/rooms', { anonymous: true });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('access-control-allow-origin'), '*');
  });

  void it('the superservice manages services; keys never appear; other services see only their own rooms', async () => {
    const created = await call('POST', '/services', { body: { name: 'acme', key: other.key } });
    assert.equal(created.status, 200, created.text);
    other = { service: created.text, key: other.key };
    const list = await call('GET', '/services/');
    assert.ok((list.json as { _id: string }[]).some((s) => s._id === other.service));
    const one = await call('GET', `/services/${other.service}`);
    assert.equal(one.json.name, 'acme');
    assert.equal(one.json.key, undefined);

    // The new service signs with its own key, has its own rooms, and may not manage services.
    assert.deepEqual((await call('GET', '/rooms', { creds: other })).json, []);
    const mine = await call('POST', '/rooms', { creds: other, body: { name: 'acme-room' } });
    assert.equal(mine.status, 200);
    assertJsonError(await call('GET', `/rooms/${mine.json._id}`), 404); // not the superservice's room
    assertJsonError(await call('GET', '/services', { creds: other }), 401, /not authorized/);
    assertJsonError(await call('DELETE', `/services/${SUPER.service}`), 403, /superservice/);

    const del = await call('DELETE', `/services/${other.service}`);
    assert.equal(del.text, 'Service deleted');
    assertJsonError(await call('GET', `/services/${other.service}`), 404);
    assertJsonError(await call('GET', '/rooms', { creds: other }), 401, /unknown service/);
  });

  void it('a bearer JWT with the api grant is accepted; a participant token is refused', async () => {
    const mgmt = await signToken({ secret: SECRET, identity: 'ops', grants: { api: true }, ttlSeconds: 60 });
    const ok = await call('GET', '/rooms', { headers: { authorization: `Bearer ${mgmt}` } });
    assert.equal(ok.status, 200, ok.text);
    const participant = await signToken({ secret: SECRET, identity: 'u', room: 'r', ttlSeconds: 60 });
    assertJsonError(
      await call('GET', '/rooms', { headers: { authorization: `Bearer ${participant}` } }),
      403,
      /management/,
    );
    const expired = await signToken({
      secret: SECRET,
      identity: 'ops',
      grants: { api: true },
      ttlSeconds: 1,
      now: 1000,
    });
    assertJsonError(
      await call('GET', '/rooms', { headers: { authorization: `Bearer ${expired}` } }),
      401,
      /expired/,
    );
  });

  void it('tokens: Licode tokens need a name and a known role; ?format=jwt gives a JWT with the role as grants', async () => {
    const { json: r } = await call('POST', '/rooms', { body: { name: 'tokens' } });
    assertJsonError(await call('POST', `/rooms/${r._id}/tokens`), 401, /Name and role/);
    assertJsonError(
      await call('POST', `/rooms/${r._id}/tokens`, { user: { name: 'x', role: 'emperor' } }),
      400,
      /unknown role/,
    );
    const licode = await call('POST', `/rooms/${r._id}/tokens`, { user: { name: 'carol', role: 'viewer' } });
    assert.equal(licode.status, 200);
    assert.match(licode.type, /^text\/plain/);
    const t = JSON.parse(Buffer.from(licode.text, 'base64').toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(t).sort(), ['host', 'secure', 'signature', 'tokenId']);
    const jwt = await call('POST', `/rooms/${r._id}/tokens?format=jwt`, {
      body: { identity: 'dave', role: 'viewer', ttl: 120 },
    });
    assert.match(jwt.type, /^application\/jwt/);
    const claims = JSON.parse(Buffer.from(jwt.text.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(
      [claims.sub, claims.room, claims.grants.canPublish, claims.grants.canSubscribe],
      ['dave', r._id, false, true],
    );
    assert.ok(claims.exp - claims.iat === 120 && typeof claims.jti === 'string');
  });

  void it('token grant overrides change only the grants they name (viewer stays a viewer, host stays admin)', async () => {
    const { json: r } = await call('POST', '/rooms', { body: { name: 'overrides' } });
    const claimsOf = async (body: Record<string, unknown>) => {
      const a = await call('POST', `/rooms/${r._id}/tokens?format=jwt`, { body });
      assert.equal(a.status, 200, a.text);
      return {
        token: a.text,
        grants: JSON.parse(Buffer.from(a.text.split('.')[1]!, 'base64url').toString()).grants,
      };
    };
    const viewer = await claimsOf({ identity: 'v', role: 'viewer', grants: { hidden: true } });
    assert.deepEqual(
      [viewer.grants.canPublish, viewer.grants.canPublishData, viewer.grants.hidden],
      [false, false, true],
    );
    const host = await claimsOf({ identity: 'h', role: 'host', grants: { hidden: true } });
    assert.deepEqual([host.grants.roomAdmin, host.grants.hidden, host.grants.canPublish], [true, true, true]);
    const widened = await claimsOf({ identity: 'w', role: 'viewer', grants: { canPublish: true } });
    assert.deepEqual([widened.grants.canPublish, widened.grants.canPublishData], [true, false]);

    // The hidden viewer's token really cannot publish; and the join its publishing offer got refused
    // did not spend the single-use token: the corrected join (no tracks) gets in, a third does not.
    const url = `${wsUrlOf(sb!.url)}?access_token=${encodeURIComponent(viewer.token)}`;
    const sender = await WrtcPeer.connect(url, 'hidden-viewer');
    peers.push(sender);
    sender.publisher.addTransceiver('audio', { direction: 'sendonly' });
    await assert.rejects(sender.join(r._id as string, 'v'), (err: RpcError) => {
      assert.equal(err.code, 403);
      assert.match(err.message, /canPublish=false/);
      return true;
    });
    const retry = await WrtcPeer.connect(url, 'hidden-viewer-retry');
    peers.push(retry);
    await retry.join(r._id as string, 'v');
    const third = await WrtcPeer.connect(url, 'hidden-viewer-third');
    peers.push(third);
    await assert.rejects(third.join(r._id as string, 'v'), (err: RpcError) => {
      assert.equal(err.code, 401);
      assert.match(err.message, /token already used/);
      return true;
    });
  });

  void it('a Licode token from /tokens joins its room once; /users lists the user; DELETE kicks it', async () => {
    const { json: r } = await call('POST', '/rooms', { body: { name: 'meeting' } });
    const token = (
      await call('POST', `/rooms/${r._id}/tokens`, { user: { name: 'alice', role: 'presenter' } })
    ).text;
    const url = `${wsUrlOf(sb!.url)}?access_token=${encodeURIComponent(token)}`;
    const alice = await WrtcPeer.connect(url, 'alice');
    peers.push(alice);
    await alice.join(r._id as string, 'whatever');

    const users = await call('GET', `/rooms/${r._id}/users/`);
    assert.equal(users.status, 200);
    assert.deepEqual(
      (users.json as { id: string; name: string; role: string }[]).map((u) => [u.id, u.name, u.role]),
      [['alice', 'alice', 'presenter']],
    );
    const one = (await call('GET', `/rooms/${r._id}/users/alice`)).json;
    assert.equal(one.permissions.publish, true);
    // Where the user's media is: this process's media node, in the default region.
    assert.deepEqual([one.node, one.dc], [sb!.sfu!.nodeId, 'dc1']);
    assert.deepEqual((users.json as { node: string }[])[0]!.node, sb!.sfu!.nodeId);
    assertJsonError(await call('GET', `/rooms/${r._id}/users/mallory`), 404, /User does not exist/);

    // Single use: the same token on another socket is refused.
    const replay = await WrtcPeer.connect(url, 'replay');
    peers.push(replay);
    await assert.rejects(replay.join(r._id as string, 'x'), (err: RpcError) => {
      assert.equal(err.code, 401);
      assert.match(err.message, /does not exist/);
      return true;
    });

    const del = await call('DELETE', `/rooms/${r._id}/users/alice`);
    assert.equal(del.text, 'Success');
    assert.equal((await alice.socketClosed).code, 4001);
    await waitFor(async () => ((await call('GET', `/rooms/${r._id}/users`)).json as unknown[]).length === 0, {
      what: 'the kicked user to leave the list',
    });
  });

  void it('DELETE /rooms/:room removes the room', async () => {
    const { json: r } = await call('POST', '/rooms', { body: { name: 'short-lived' } });
    assert.equal((await call('DELETE', `/rooms/${r._id}`)).text, 'Room deleted');
    assertJsonError(await call('GET', `/rooms/${r._id}`), 404);
  });

  void it('no answer ever contained a service key', () => {
    for (const a of answers) {
      assert.ok(
        !a.text.includes(SUPER.key) && !a.text.includes(other.key),
        `key leaked in: ${a.text.slice(0, 200)}`,
      );
    }
  });

  void it('the server still serves /metrics, /healthz and the OpenAPI document', async () => {
    assert.notEqual(metricValue(await fetchMetrics(sb!), 'sfu_peers'), undefined);
    const health = (await (await fetch(`${sb!.url}/healthz`)).json()) as {
      ok: boolean;
      roles: Record<string, boolean>;
    };
    assert.deepEqual([health.ok, health.roles.api, health.roles.room], [true, true, true]);
    const doc = await call('GET', '/openapi.json', { anonymous: true });
    assert.equal(doc.json.openapi, '3.1.0');
    assert.ok(doc.json.paths['/rooms/{room}/tokens']);
    assert.ok(doc.json.components.schemas.CreateRoom.properties.options);
  });
});
