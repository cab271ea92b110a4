// TURN REST credentials, the ICE servers clients get, and coturn's generated configuration.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { defaultConfig } from '../../../src/config/index.ts';
import { clientIceServers, coturnConfig, turnRestCredentials } from '../../../src/turn/index.ts';

await test('REST credentials: username = expiry:identity, credential = base64 HMAC-SHA1(secret, username)', () => {
  const c = turnRestCredentials('s3cret', 'alice', 3600, 1_700_000_000_000);
  assert.equal(c.username, '1700003600:alice');
  assert.equal(c.credential, createHmac('sha1', 's3cret').update('1700003600:alice').digest('base64'));
  assert.equal(c.expires, 1_700_003_600);
});

await test('clients get [[webrtc.iceserver]] entries, then the TURN server at the host they used', () => {
  const cfg = defaultConfig();
  cfg.webrtc.iceserver = [{ urls: ['stun:stun.example.org:3478'] }];
  cfg.turn.enabled = true;
  cfg.turn.auth.secret = 'k';
  const list = clientIceServers(cfg, 'bob', 'media.example.org:7000', 1_700_000_000_000);
  assert.deepEqual(list[0], { urls: ['stun:stun.example.org:3478'] });
  assert.deepEqual(list[1]!.urls, [
    'turn:media.example.org:3478?transport=udp',
    'turn:media.example.org:3478?transport=tcp',
  ]);
  assert.equal(list[1]!.username, `${1_700_000_000 + 86400}:bob`);
});

await test('the TURN host is [turn] address, else nat1to1, else the request host; static credentials when no secret', () => {
  const cfg = defaultConfig();
  cfg.turn.enabled = true;
  cfg.turn.auth.credentials = 'pion=ion,pion2=ion2';
  cfg.webrtc.candidates.nat1to1 = ['203.0.113.7'];
  assert.deepEqual(clientIceServers(cfg, 'x', 'ignored:1')[0], {
    urls: ['turn:203.0.113.7:3478?transport=udp', 'turn:203.0.113.7:3478?transport=tcp'],
    username: 'pion',
    credential: 'ion',
  });
  cfg.turn.address = '198.51.100.1:3479';
  assert.equal(clientIceServers(cfg, 'x', undefined)[0]!.urls[0], 'turn:198.51.100.1:3479?transport=udp');
  cfg.turn.enabled = false;
  assert.deepEqual(clientIceServers(cfg, 'x', 'h:1'), []);
});

await test('coturn config: secret mode, relay only to our addresses, no TLS without a certificate', () => {
  const cfg = defaultConfig();
  cfg.turn.enabled = true;
  cfg.turn.auth.secret = 'k';
  cfg.turn.auth.credentials = 'u=p';
  cfg.turn.portrange = [50000, 50100];
  const text = coturnConfig(cfg, '/tmp/x', ['10.0.0.5']);
  for (const line of [
    'listening-port=3478',
    'realm=ion',
    'use-auth-secret',
    'static-auth-secret=k',
    'min-port=50000',
    'max-port=50100',
    'denied-peer-ip=0.0.0.0-255.255.255.255',
    'allowed-peer-ip=10.0.0.5',
    'no-tls',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing ${line}`);
  }
  assert.ok(!text.includes('user=u:p'), 'static users are ignored when a secret is set (as ION does)');
  assert.ok(!text.includes('listening-ip'));
});
