import { createCipheriv, createHash, hash, type Cipher } from 'node:crypto';

// One-shot hashing (`crypto.hash`, Node >= 20.12) is much cheaper than an Hmac object per packet.
const sha1: (data: Buffer) => Buffer =
  typeof hash === 'function'
    ? (data) => hash('sha1', data, 'buffer')
    : (data) => createHash('sha1').update(data).digest();

/**
 * HMAC-SHA1 (RFC 2104) as two one-shot hashes, [ipad | message] and [opad | inner]. The caller
 * builds [ipad | message] where the message is (the SRTP protector in the packet's headroom, the
 * unprotector in a scratch buffer) and hands it to `mac`.
 */
export class HmacSha1 {
  readonly ipad = Buffer.alloc(64);
  readonly #outer = Buffer.alloc(84);

  constructor(key: Buffer) {
    for (let i = 0; i < 64; i++) {
      const k = i < key.length ? key[i]! : 0;
      this.ipad[i] = k ^ 0x36;
      this.#outer[i] = k ^ 0x5c;
    }
  }

  /** The MAC of the message in `inner` = [ipad | message] (20 bytes, a fresh Buffer). */
  mac(inner: Buffer): Buffer {
    sha1(inner).copy(this.#outer, 64);
    return sha1(this.#outer);
  }
}

/**
 * The AES-CM keystream of RFC 3711 §4.1.1 with cipher state kept across packets
 * (shared/reference/hotpath-bench.md): one long-lived AES-ECB cipher turns a packet's counter blocks
 * (salt XOR (SSRC << 64) XOR (index << 16), block number in the low 16 bits) into its keystream in a
 * single call. Protect and unprotect use the same keystream.
 */
export class CmKeystream {
  readonly #ecb: Cipher;
  readonly #salt: Buffer;
  #counters = Buffer.alloc(2048);

  constructor(key: Buffer, salt: Buffer) {
    this.#ecb = createCipheriv('aes-128-ecb', key, null);
    this.#ecb.setAutoPadding(false);
    this.#salt = Buffer.from(salt.subarray(0, 14));
  }

  /** At least `len` keystream bytes for packet (ssrc, seq, roc). */
  generate(len: number, ssrc: number, seq: number, roc: number): Buffer {
    const blocks = (len + 15) >>> 4;
    if (blocks * 16 > this.#counters.length) {
      this.#counters = Buffer.alloc(blocks * 16);
    }
    const c = this.#counters;
    const s = this.#salt;
    const w0 = s.readUInt32BE(0);
    const w1 = (s.readUInt32BE(4) ^ ssrc) >>> 0;
    const w2 = (s.readUInt32BE(8) ^ roc) >>> 0;
    const w3hi = ((s[12]! << 8) | s[13]!) ^ seq;
    for (let i = 0, o = 0; i < blocks; i++, o += 16) {
      c.writeUInt32BE(w0, o);
      c.writeUInt32BE(w1, o + 4);
      c.writeUInt32BE(w2, o + 8);
      c.writeUInt32BE(((w3hi << 16) | i) >>> 0, o + 12);
    }
    return this.#ecb.update(c.subarray(0, blocks * 16));
  }
}

/** XORs `len` bytes of `ks` into `buf` at `at`, 32 bits at a time when both sides are aligned. */
export function xorInto(buf: Buffer, at: number, ks: Buffer, len: number): void {
  let i = 0;
  if (((buf.byteOffset + at) & 3) === 0 && (ks.byteOffset & 3) === 0) {
    const words = len >>> 2;
    const a = new Uint32Array(buf.buffer, buf.byteOffset + at, words);
    const b = new Uint32Array(ks.buffer, ks.byteOffset, words);
    for (; i < words; i++) {
      a[i] = a[i]! ^ b[i]!;
    }
    i = words << 2;
  }
  for (; i < len; i++) {
    buf[at + i] = buf[at + i]! ^ ks[i]!;
  }
}

/**
 * The AES-GCM key and per-packet IV of RFC 7714 §8.1: salt XOR (00 00 | SSRC | ROC | SEQ), written
 * into one reused buffer (valid until the next call).
 */
export class GcmNonce {
  readonly key: Buffer;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(12);

  constructor(key: Buffer, salt: Buffer) {
    this.key = Buffer.from(key);
    this.#salt = Buffer.from(salt.subarray(0, 12));
  }

  iv(ssrc: number, roc: number, seq: number): Buffer {
    const iv = this.#iv;
    const s = this.#salt;
    iv.writeUInt16BE(s.readUInt16BE(0), 0);
    iv.writeUInt32BE((s.readUInt32BE(2) ^ ssrc) >>> 0, 2);
    iv.writeUInt32BE((s.readUInt32BE(6) ^ roc) >>> 0, 6);
    iv.writeUInt16BE(s.readUInt16BE(10) ^ seq, 10);
    return iv;
  }
}
