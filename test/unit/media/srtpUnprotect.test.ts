// Our SRTP unprotect (TypeScript and native) against werift's own SRTP: what werift's sender protects
// we decrypt to the bytes werift's receiver gets, across a sequence wrap (ROC from SrtpReplay);
// replayed, too old and corrupted packets are refused and leave the stream's state as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RtpHeader } from 'werift';
import {
  JsCmUnprotector,
  JsGcmUnprotector,
  NativeUnprotector,
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
  SrtpReplay,
  type SrtpSessionKeys,
  type Unprotector,
} from '../../../src/media/srtp/index.ts';
import { srtpSessions } from '../../helpers/srtpSessions.ts';
import { REPLAY_WINDOW } from '../../../src/media/srtp/SrtpReplay.ts';
import { addon } from '../../../src/media/srtp/native.ts';
import { RtpView } from '../../../src/media/RtpView.ts';

function unprotectors(keys: SrtpSessionKeys): [string, Unprotector][] {
  const js: Unprotector =
    keys.profile === SRTP_AEAD_AES_128_GCM ? new JsGcmUnprotector(keys) : new JsCmUnprotector(keys);
  return addon
    ? [
        ['typescript', js],
        ['native', new NativeUnprotector(addon, keys)],
      ]
    : [['typescript', js]];
}

/** Unprotects like the Ingress: replay check, ROC from the index, commit only on success. */
function receive(u: Unprotector, replay: SrtpReplay, packet: Buffer): Buffer | undefined {
  const view = new RtpView();
  if (!view.parseHeader(packet, packet.length)) {
    return undefined;
  }
  const index = replay.estimate(view.seq);
  if (index < 0) {
    return undefined;
  }
  const plen = u.unprotect(packet, 0, packet.length, view.headerLength, Math.floor(index / 65536));
  if (plen < 0) {
    return undefined;
  }
  replay.commit(index);
  return packet.subarray(0, view.headerLength + plen);
}

const headers = (seq: number, ts: number): RtpHeader[] => [
  new RtpHeader({ sequenceNumber: seq, timestamp: ts, ssrc: 0x1234abcd, payloadType: 96, marker: true }),
  new RtpHeader({
    sequenceNumber: seq,
    timestamp: ts,
    ssrc: 0x1234abcd,
    payloadType: 96,
    extension: true,
    extensionProfile: 0xbede,
    extensions: [
      { id: 1, payload: Buffer.from('0') },
      { id: 4, payload: Buffer.from([1, 2, 3]) },
    ],
  }),
  new RtpHeader({ sequenceNumber: seq, timestamp: ts, ssrc: 0x1234abcd, payloadType: 96, csrc: [7, 8] }),
];

for (const [name, profile] of [
  ['AES_CM_128_HMAC_SHA1_80', SRTP_AES128_CM_HMAC_SHA1_80],
  ['AEAD_AES_128_GCM', SRTP_AEAD_AES_128_GCM],
] as const) {
  await test(`${name}: decrypts what werift protects to werift's own plaintext, across a sequence wrap`, () => {
    for (const which of addon ? [0, 1] : [0]) {
      // A fresh pair per implementation: werift's sender state carries on across packets.
      const { sender, receiver, keys } = srtpSessions(profile);
      const [kind, u] = unprotectors(keys)[which]!;
      const replay = new SrtpReplay();
      let n = 0;
      for (let i = 0; i < 120; i++) {
        const seq = (65470 + i) & 0xffff; // wraps at i = 66: ROC 0 → 1
        for (const h of headers(seq, i * 3000).slice(i % 3, (i % 3) + 1)) {
          const payload = randomBytes(1 + ((i * 37) % 1200));
          const protectedPacket = sender.encrypt(payload, h);
          const expected = receiver.decrypt(Buffer.from(protectedPacket));
          const ours = receive(u, replay, Buffer.from(protectedPacket));
          assert.ok(ours, `${kind}: packet ${i} (seq ${seq}) authenticated`);
          assert.deepEqual(ours, expected, `${kind}: packet ${i} plaintext`);
          n++;
        }
      }
      assert.equal(n, 120);
      assert.equal(replay.highest, 65536 + ((65470 + 119) & 0xffff), `${kind}: index past the wrap`);
    }
  });

  await test(`${name}: replayed, corrupted and forged packets are refused without moving the stream's state`, () => {
    const { sender, keys } = srtpSessions(profile);
    for (const [kind, u] of unprotectors(keys)) {
      const replay = new SrtpReplay();
      const pkts = [100, 101, 102, 103].map((seq) =>
        sender.encrypt(randomBytes(200), new RtpHeader({ sequenceNumber: seq, ssrc: 5, payloadType: 96 })),
      );
      assert.ok(receive(u, replay, Buffer.from(pkts[0]!)), kind);
      assert.ok(receive(u, replay, Buffer.from(pkts[2]!)), kind);
      assert.equal(receive(u, replay, Buffer.from(pkts[0]!)), undefined, `${kind}: replay refused`);
      assert.equal(receive(u, replay, Buffer.from(pkts[2]!)), undefined, `${kind}: replay refused`);
      // Corrupt a payload byte, then a tag byte: refused, and the genuine packet still gets in.
      const flipped = Buffer.from(pkts[1]!);
      flipped[40] = flipped[40]! ^ 0x01;
      assert.equal(receive(u, replay, flipped), undefined, `${kind}: corrupted payload`);
      const tag = Buffer.from(pkts[1]!);
      tag[tag.length - 1] = tag[tag.length - 1]! ^ 0x80;
      assert.equal(receive(u, replay, tag), undefined, `${kind}: corrupted tag`);
      // A forged packet far ahead (seq + 30000) must not move the highest index.
      const forged = Buffer.from(pkts[3]!);
      forged.writeUInt16BE(30103, 2);
      assert.equal(receive(u, replay, forged), undefined, `${kind}: forged sequence number`);
      assert.equal(replay.highest, 102);
      assert.ok(receive(u, replay, Buffer.from(pkts[1]!)), `${kind}: the late genuine packet`);
      assert.ok(receive(u, replay, Buffer.from(pkts[3]!)), kind);
      // Truncated below header + tag: refused, no throw.
      assert.equal(u.unprotect(Buffer.from(pkts[3]!.subarray(0, 20)), 0, 20, 12, 0), -1, kind);
    }
  });
}

await test('replay list: a late packet inside the window is taken once, one older than the window never', () => {
  const r = new SrtpReplay();
  for (let seq = 0; seq < 2000; seq += 2) {
    r.commit(r.estimate(seq));
  }
  assert.equal(r.highest, 1998);
  assert.equal(r.estimate(1997), 1997); // never seen, inside the window
  r.commit(1997);
  assert.equal(r.estimate(1997), -1);
  assert.equal(r.estimate(1998 - REPLAY_WINDOW + 1), 1998 - REPLAY_WINDOW + 1);
  assert.equal(r.estimate(1998 - REPLAY_WINDOW), -1); // too old
  assert.equal(r.estimate(1000), -1); // seen long ago
});

await test('index estimate (RFC 3711 Appendix A): forward across the wrap, late packets from before it', () => {
  const r = new SrtpReplay();
  r.commit(r.estimate(65530));
  assert.equal(r.estimate(3), 65536 + 3); // after the wrap: ROC + 1
  r.commit(65536 + 3);
  assert.equal(r.estimate(65533), 65533); // a late one from before the wrap: ROC - 1
  assert.equal(r.estimate(65530), -1); // replay of the first
  // Many wraps later the index keeps counting.
  let index = r.highest;
  for (let i = 0; i < 5 * 65536; i += 1000) {
    index = r.estimate((index + 1000) & 0xffff);
    r.commit(index);
  }
  assert.equal(Math.floor(r.highest / 65536), 6);
});
