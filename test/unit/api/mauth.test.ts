// Licode's MAuth: signatures computed here with node:crypto, independently of src/api/mauth.ts.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../../src/backbone/index.ts';
import { MAuthVerifier, parseMAuthHeader } from '../../../src/api/mauth.ts';
import type { ServiceRecord } from '../../../src/protocol/room.ts';

const KEY = 'a-service-key-of-some-length';
const SERVICE: ServiceRecord = { id: '5f0c9a1b2c3d4e5f6a7b8c9d', name: 'svc', key: KEY, createdAt: 0 };
const NOW = 1_700_000_000_000;
const WINDOW_S = 300;

/** base64 of the *hex string* of HMAC-SHA1, as Licode's nuve client computes it. */
function licodeSign(key: string, toSign: string): string {
  return Buffer.from(createHmac('sha1', key).update(toSign).digest('hex')).toString('base64');
}

interface HeaderOptions {
  ts?: number;
  cnonce?: number | string;
  key?: string;
  user?: string;
  role?: string;
  method?: string;
  serviceId?: string;
  /** Sign these instead of what the header says (tampering). */
  signUser?: string;
}

/** The header exactly as nuve/nuveClient/src/N.API.js builds it. */
function header(o: HeaderOptions = {}): string {
  const ts = o.ts ?? NOW;
  const cnonce = o.cnonce ?? 12345;
  let toSign = `${ts},${cnonce}`;
  let h = `MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=${o.method ?? 'HMAC_SHA1'}`;
  if (o.user && o.role) {
    h += `,mauth_username=${o.user},mauth_role=${o.role}`;
    toSign += `,${o.signUser ?? o.user},${o.role}`;
  }
  const sig = licodeSign(o.key ?? KEY, toSign);
  return `${h},mauth_serviceid=${o.serviceId ?? SERVICE.id},mauth_cnonce=${cnonce},mauth_timestamp=${ts},mauth_signature=${sig}`;
}

function verifier(store = new MemoryStore(), now = NOW): MAuthVerifier {
  return new MAuthVerifier({
    cluster: 'dc1',
    store,
    windowSeconds: WINDOW_S,
    lookupService: (id) => Promise.resolve(id === SERVICE.id ? SERVICE : undefined),
    now: () => now,
  });
}

async function refused(v: MAuthVerifier, h: string, reason: RegExp): Promise<void> {
  await assert.rejects(v.verify(h), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'unauthorized');
    assert.match(err.message, reason);
    return true;
  });
}

void describe('MAuth', () => {
  void it("parses Licode's header, restoring the base64 padding '=' of the signature", () => {
    const h = header();
    const p = parseMAuthHeader(h);
    assert.equal(p.realm, 'http://marte3.dit.upm.es');
    assert.equal(p.signature_method, 'HMAC_SHA1');
    assert.equal(p.serviceid, SERVICE.id);
    assert.equal(p.timestamp, String(NOW));
    assert.equal(p.signature, licodeSign(KEY, `${NOW},12345`));
    assert.ok(p.signature?.endsWith('='), 'a 40-char hex digest base64-encodes with padding');
  });

  void it('accepts a correctly signed header and names the service', async () => {
    const r = await verifier().verify(header());
    assert.equal(r.service.id, SERVICE.id);
    assert.equal(r.username, undefined);
  });

  void it('accepts username and role signed into the header and returns them', async () => {
    const r = await verifier().verify(header({ user: 'alice', role: 'presenter' }));
    assert.deepEqual([r.username, r.role], ['alice', 'presenter']);
  });

  void it('refuses a signature made with another key', async () => {
    await refused(verifier(), header({ key: 'another-key-entirely-0000' }), /wrong signature/);
  });

  void it('refuses a header whose username differs from the signed one', async () => {
    await refused(verifier(), header({ user: 'admin', role: 'host', signUser: 'alice' }), /wrong signature/);
  });

  void it('refuses a method other than HMAC_SHA1', async () => {
    await refused(verifier(), header({ method: 'HMAC_SHA256' }), /HMAC_SHA1/);
  });

  void it('refuses an unknown service', async () => {
    await refused(verifier(), header({ serviceId: 'nope' }), /unknown service/);
  });

  void it('refuses a header without MAuth fields, or with a malformed timestamp', async () => {
    await refused(verifier(), 'Basic dXNlcjpwYXNz', /HMAC_SHA1/);
    await refused(verifier(), header().replace(/,mauth_cnonce=\d+/, ''), /required/);
    await refused(
      verifier(),
      header().replace(`mauth_timestamp=${NOW}`, 'mauth_timestamp=soon'),
      /malformed/,
    );
  });

  void it('refuses the same timestamp and cnonce twice', async () => {
    const v = verifier();
    const h = header({ cnonce: 777 });
    await v.verify(h);
    await refused(v, h, /replayed/);
  });

  void it('accepts the same timestamp with another cnonce, and the same cnonce at another timestamp', async () => {
    const v = verifier();
    await v.verify(header({ cnonce: 1 }));
    await v.verify(header({ cnonce: 2 }));
    await v.verify(header({ cnonce: 1, ts: NOW + 1 }));
  });

  void it('shares replay protection between instances through the Store', async () => {
    const store = new MemoryStore();
    const h = header({ cnonce: 4242 });
    await verifier(store).verify(h);
    await refused(verifier(store), h, /replayed/);
  });

  void it('refuses timestamps outside the skew window, in the past or the future', async () => {
    const v = verifier();
    await refused(v, header({ ts: NOW - WINDOW_S * 1000 - 1 }), /outside the allowed window/);
    await refused(v, header({ ts: NOW + WINDOW_S * 1000 + 1 }), /outside the allowed window/);
    await v.verify(header({ ts: NOW - WINDOW_S * 1000 + 1000 }));
    await v.verify(header({ ts: NOW + WINDOW_S * 1000 - 1000 }));
  });

  void it('a forged header does not use up its (timestamp, cnonce)', async () => {
    const v = verifier();
    await refused(v, header({ cnonce: 9, key: 'forger-key-0000000000' }), /wrong signature/);
    await v.verify(header({ cnonce: 9 }));
  });
});
