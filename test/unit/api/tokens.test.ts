// Access tokens: JWT grants and expiry, Licode tokens, and the signal role's checks of a join's token.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { MemoryStore } from '../../../src/backbone/index.ts';
import { roomKeys } from '../../../src/protocol/room.ts';
import {
  decodeLicodeToken,
  encodeLicodeToken,
  parseDuration,
  parseGrantArgs,
  signToken,
  verifyToken,
} from '../../../src/protocol/tokens.ts';
import { Authenticator } from '../../../src/signal/Authenticator.ts';

const SECRET = 'unit-test-secret-0123456789';
const SUPER_ID = 'super';
const SUPER_KEY = 'super-key-0123456789';

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error & { code?: string }) => {
    assert.equal(err.code, code, `code of "${err.message}"`);
    assert.match(err.message, message);
    return true;
  });
}

void describe('JWT grants', () => {
  void it('a signed token verifies with its identity, room, name and grants', async () => {
    const t = await signToken({
      secret: SECRET,
      identity: 'alice',
      room: 'r1',
      name: 'Alice',
      grants: { canPublish: false, roomAdmin: true },
      ttlSeconds: 60,
    });
    const g = await verifyToken(t, SECRET, 'svc');
    assert.equal(g.identity, 'alice');
    assert.equal(g.room, 'r1');
    assert.equal(g.name, 'Alice');
    assert.equal(g.service, 'svc');
    assert.deepEqual(
      [g.canPublish, g.canSubscribe, g.canPublishData, g.roomAdmin, g.hidden, g.api],
      [false, true, true, true, false, false],
    );
    assert.ok(g.exp > Date.now() / 1000 && g.exp <= Date.now() / 1000 + 61);
  });

  void it('missing grants default to publish, subscribe and data allowed; not admin, not hidden', async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = await new SignJWT({ room: 'r1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bob')
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(SECRET));
    const g = await verifyToken(t, SECRET, 'svc');
    assert.deepEqual(
      [g.canPublish, g.canSubscribe, g.canPublishData, g.roomAdmin, g.hidden],
      [true, true, true, false, false],
    );
  });

  void it('an expired token is refused as expired', async () => {
    const t = await signToken({ secret: SECRET, identity: 'a', room: 'r', ttlSeconds: 10, now: 1_000_000 });
    await rejectsWith(verifyToken(t, SECRET, 's'), 'unauthorized', /^token expired$/);
  });

  void it('a token is valid until exp and refused after it', async () => {
    const t = await signToken({ secret: SECRET, identity: 'a', room: 'r', ttlSeconds: 100, now: 2_000_000 });
    assert.equal((await verifyToken(t, SECRET, 's', 2_000_099)).identity, 'a');
    await rejectsWith(verifyToken(t, SECRET, 's', 2_000_101), 'unauthorized', /expired/);
  });

  void it('a token signed with another key is refused as a bad signature', async () => {
    const t = await signToken({ secret: 'another-secret-000000', identity: 'a', room: 'r', ttlSeconds: 60 });
    await rejectsWith(verifyToken(t, SECRET, 's'), 'unauthorized', /invalid token signature/);
  });

  void it('a token with a changed payload is refused', async () => {
    const t = await signToken({
      secret: SECRET,
      identity: 'a',
      room: 'r',
      grants: { roomAdmin: false },
      ttlSeconds: 60,
    });
    const [h, p, s] = t.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { grants: { roomAdmin: boolean } };
    claims.grants.roomAdmin = true;
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await rejectsWith(verifyToken(forged, SECRET, 's'), 'unauthorized', /invalid token signature/);
  });

  void it('a token without exp, or with an unknown grant, is refused', async () => {
    const key = new TextEncoder().encode(SECRET);
    const noExp = await new SignJWT({ room: 'r' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .sign(key);
    await rejectsWith(verifyToken(noExp, SECRET, 's'), 'unauthorized', /exp/);
    const odd = await new SignJWT({ room: 'r', grants: { canFly: true } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setExpirationTime('1h')
      .sign(key);
    await rejectsWith(verifyToken(odd, SECRET, 's'), 'unauthorized', /grants/);
  });

  void it('garbage is refused as malformed', async () => {
    await rejectsWith(verifyToken('a.b.c', SECRET, 's'), 'unauthorized', /malformed/);
  });
});

void describe('CLI parsing', () => {
  void it('parses grants as name=value, a bare name meaning true, names case-insensitive', () => {
    assert.deepEqual(parseGrantArgs(['canPublish=false', 'roomadmin', 'hidden=TRUE']), {
      canPublish: false,
      roomAdmin: true,
      hidden: true,
    });
  });

  void it('refuses unknown grants and values other than true/false', () => {
    assert.throws(() => parseGrantArgs(['canFly=true']), /unknown grant "canFly"/);
    assert.throws(() => parseGrantArgs(['canPublish=no']), /expected true or false/);
  });

  void it('parses durations in s, m, h, d or plain seconds', () => {
    assert.deepEqual(['90', '30s', '15m', '1h', '2d'].map(parseDuration), [90, 30, 900, 3600, 172800]);
    assert.throws(() => parseDuration('soon'), /bad duration/);
    assert.throws(() => parseDuration('0'), /positive/);
  });
});

void describe('Licode tokens', () => {
  void it('encode as base64 JSON signed with base64(hex(HMAC-SHA1(superservice key, "tokenId,host")))', () => {
    const s = encodeLicodeToken({ tokenId: 't1', host: 'h:7000', secure: false }, SUPER_KEY);
    const t = JSON.parse(Buffer.from(s, 'base64').toString()) as Record<string, unknown>;
    const expected = Buffer.from(createHmac('sha1', SUPER_KEY).update('t1,h:7000').digest('hex')).toString(
      'base64',
    );
    assert.deepEqual(t, { tokenId: 't1', host: 'h:7000', secure: false, signature: expected });
    assert.deepEqual(decodeLicodeToken(s), t);
    assert.equal(decodeLicodeToken('not base64 json!'), undefined);
  });
});

void describe('join token checks (signal role)', () => {
  const make = (anonymous: boolean, store = new MemoryStore()) =>
    new Authenticator({
      cluster: 'dc1',
      store,
      anonymous,
      authSecret: SECRET,
      superserviceId: SUPER_ID,
      superserviceKey: SUPER_KEY,
    });

  void it('without a token: refused unless anonymous mode, which grants everything but admin', async () => {
    await rejectsWith(make(false).authorize(undefined, 'r1', 'u'), 'unauthorized', /access token required/);
    const g = await make(true).authorize(undefined, 'r1', 'u');
    assert.deepEqual(
      [g.identity, g.room, g.anonymous, g.canPublish, g.roomAdmin],
      ['u', 'r1', true, true, false],
    );
  });

  void it('a token for room A cannot join room B', async () => {
    const t = await signToken({ secret: SECRET, identity: 'a', room: 'A', ttlSeconds: 60 });
    await rejectsWith(make(false).authorize(t, 'B', 'a'), 'forbidden', /token is for room "A", not "B"/);
    assert.equal((await make(false).authorize(t, 'A', 'someone-else')).identity, 'a');
  });

  void it('a single-use token (jti) joins once', async () => {
    const auth = make(false);
    const t = await signToken({ secret: SECRET, identity: 'a', room: 'A', ttlSeconds: 60, singleUse: true });
    await auth.authorize(t, 'A', undefined);
    await rejectsWith(auth.authorize(t, 'A', undefined), 'unauthorized', /already used/);
  });

  void it('a single-use token refused for another room is not spent; of two concurrent joins one wins', async () => {
    const auth = make(false);
    const t = await signToken({ secret: SECRET, identity: 'a', room: 'A', ttlSeconds: 60, singleUse: true });
    await rejectsWith(auth.authorize(t, 'B', undefined), 'forbidden', /not "B"/);
    const both = await Promise.allSettled([
      auth.authorize(t, 'A', undefined),
      auth.authorize(t, 'A', undefined),
    ]);
    assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  });

  void it('a single-use token released by a refused join joins on the retry, then never again', async () => {
    const auth = make(false);
    const t = await signToken({ secret: SECRET, identity: 'a', room: 'A', ttlSeconds: 60, singleUse: true });
    const first = await auth.authorize(t, 'A', undefined);
    assert.equal(typeof first.release, 'function');
    await rejectsWith(auth.authorize(t, 'A', undefined), 'unauthorized', /already used/);
    await first.release!();
    const retry = await auth.authorize(t, 'A', undefined);
    assert.equal(retry.identity, 'a');
    await first.release!(); // a stale release must not free the retry's claim
    await rejectsWith(auth.authorize(t, 'A', undefined), 'unauthorized', /already used/);
  });

  void it('a management token (api grant, no room) cannot join', async () => {
    const t = await signToken({ secret: SECRET, identity: 'ops', grants: { api: true }, ttlSeconds: 60 });
    await rejectsWith(make(false).authorize(t, 'A', undefined), 'forbidden', /management token/);
  });

  void it("a service's token verifies with that service's key from the Store", async () => {
    const store = new MemoryStore();
    const svc = { id: 'svc1', name: 's', key: 'service-one-key-000000', createdAt: 0 };
    await store.set(roomKeys.service('dc1', 'svc1'), JSON.stringify(svc));
    const good = await signToken({
      secret: svc.key,
      identity: 'a',
      room: 'A',
      ttlSeconds: 60,
      issuer: 'svc1',
    });
    assert.equal((await make(false, store).authorize(good, 'A', undefined)).service, 'svc1');
    const wrongKey = await signToken({
      secret: SECRET,
      identity: 'a',
      room: 'A',
      ttlSeconds: 60,
      issuer: 'svc1',
    });
    await rejectsWith(make(false, store).authorize(wrongKey, 'A', undefined), 'unauthorized', /signature/);
    const unknown = await signToken({
      secret: SECRET,
      identity: 'a',
      room: 'A',
      ttlSeconds: 60,
      issuer: 'x',
    });
    await rejectsWith(
      make(false, store).authorize(unknown, 'A', undefined),
      'unauthorized',
      /unknown issuer/,
    );
  });

  void it('a Licode token is accepted once, with its role as grants', async () => {
    const store = new MemoryStore();
    const doc = {
      tokenId: 'tk',
      room: 'A',
      userName: 'viewer1',
      role: 'viewer',
      service: SUPER_ID,
      host: 'h:1',
      secure: false,
      creationDate: Date.now(),
    };
    await store.set(roomKeys.licodeToken('dc1', 'tk'), JSON.stringify(doc));
    const s = encodeLicodeToken({ tokenId: 'tk', host: 'h:1', secure: false }, SUPER_KEY);
    const auth = make(false, store);
    const g = await auth.authorize(s, 'A', undefined);
    assert.deepEqual([g.identity, g.canPublish, g.canSubscribe, g.role], ['viewer1', false, true, 'viewer']);
    await rejectsWith(auth.authorize(s, 'A', undefined), 'unauthorized', /does not exist/);
    // A refused join puts the document back; the retry is the token's one use.
    await g.release!();
    assert.equal((await auth.authorize(s, 'A', undefined)).identity, 'viewer1');
    await rejectsWith(auth.authorize(s, 'A', undefined), 'unauthorized', /does not exist/);
  });

  void it('a Licode token with a forged signature or host is refused', async () => {
    const store = new MemoryStore();
    const doc = {
      tokenId: 'tk',
      room: 'A',
      userName: 'u',
      role: 'presenter',
      service: SUPER_ID,
      host: 'h:1',
      secure: false,
      creationDate: Date.now(),
    };
    await store.set(roomKeys.licodeToken('dc1', 'tk'), JSON.stringify(doc));
    const forged = encodeLicodeToken({ tokenId: 'tk', host: 'h:1', secure: false }, 'not-the-super-key-0000');
    await rejectsWith(make(false, store).authorize(forged, 'A', undefined), 'unauthorized', /signature/);
    const otherHost = encodeLicodeToken({ tokenId: 'tk', host: 'evil:1', secure: false }, SUPER_KEY);
    await rejectsWith(
      make(false, store).authorize(otherHost, 'A', undefined),
      'unauthorized',
      /invalid host/,
    );
    // Refused tokens were not consumed: the genuine one still joins.
    const genuine = encodeLicodeToken({ tokenId: 'tk', host: 'h:1', secure: false }, SUPER_KEY);
    assert.equal((await make(false, store).authorize(genuine, 'A', undefined)).identity, 'u');
  });
});
