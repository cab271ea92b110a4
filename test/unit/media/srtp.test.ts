// Our SRTP protectors (TypeScript and native) against werift's own SRTP: byte-identical output, and
// werift's SrtpSession decrypts what we send, across payload sizes, SSRCs and ROC / sequence wrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket } from 'werift';
import {
  JsCmProtector,
  JsGcmProtector,
  NativeProtector,
  PROTECT_HEADROOM,
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
  nativeAvailable,
  type Protector,
  type SrtpSessionKeys,
} from '../../../src/media/srtp/index.ts';
import { srtpSessions } from '../../helpers/srtpSessions.ts';
import { addon } from '../../../src/media/srtp/native.ts';

function protectors(keys: SrtpSessionKeys): [string, Protector][] {
  const js: Protector =
    keys.profile === SRTP_AEAD_AES_128_GCM ? new JsGcmProtector(keys) : new JsCmProtector(keys);
  return addon
    ? [
        ['typescript', js],
        ['native', new NativeProtector(addon, keys)],
      ]
    : [['typescript', js]];
}

await test('the native accelerator is built (npm ci builds it; SB_NATIVE=0 opts out)', () => {
  assert.equal(nativeAvailable(), process.env.SB_NATIVE !== '0');
});

for (const [name, profile] of [
  ['AES_CM_128_HMAC_SHA1_80', SRTP_AES128_CM_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SRTP_AEAD_AES_128_GCM],
] as const) {
  await test(`${name}: output is byte-identical to werift's and werift decrypts it, across a sequence wrap`, () => {
    const { sender, receiver, keys } = srtpSessions(profile);
    const ps = protectors(keys);
    const ssrc = 0xfedcba98;
    let seq = 65500;
    let roc = 0;
    for (let i = 0; i < 300; i++) {
      const payload = randomBytes(1 + ((i * 37) % 1300));
      const header = new RtpHeader({
        ssrc,
        sequenceNumber: seq,
        timestamp: i * 3000,
        payloadType: 96,
        marker: i % 7 === 0,
      });
      const plain = new RtpPacket(header, payload).serialize();
      const expected = sender.encrypt(payload, header);
      for (const [impl, p] of ps) {
        const buf = Buffer.alloc(PROTECT_HEADROOM + plain.length + 16);
        plain.copy(buf, PROTECT_HEADROOM);
        const len = p.protect(buf, PROTECT_HEADROOM, 12, payload.length, ssrc, seq, roc);
        const out = buf.subarray(PROTECT_HEADROOM, PROTECT_HEADROOM + len);
        assert.deepEqual(out, expected, `${impl} packet ${i} (seq ${seq}, roc ${roc})`);
      }
      assert.deepEqual(receiver.decrypt(expected), plain);
      seq = (seq + 1) & 0xffff;
      if (seq === 0) {
        roc++;
      }
    }
    assert.equal(roc, 1);
  });
}
