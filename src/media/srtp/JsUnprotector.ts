import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hash,
  timingSafeEqual,
  type Cipher,
} from 'node:crypto';
import { SRTP_AEAD_AES_128_GCM, type SrtpSessionKeys } from './Protector.ts';
import type { Unprotector } from './Unprotector.ts';

const sha1: (data: Buffer) => Buffer =
  typeof hash === 'function'
    ? (data) => hash('sha1', data, 'buffer')
    : (data) => createHash('sha1').update(data).digest();

/**
 * AES_CM_128_HMAC_SHA1_80 unprotect in TypeScript (the fallback of native/srtp.c): the HMAC is
 * checked first (two one-shot hashes over [ipad | packet | ROC] and [opad | inner], the first built
 * in a scratch buffer since the packet has no headroom), then the payload is XORed with the
 * keystream of one long-lived AES-ECB cipher, as in JsCmProtector.
 */
export class JsCmUnprotector implements Unprotector {
  readonly kind = 'js';
  readonly tagLength = 10;
  readonly #ecb: Cipher;
  readonly #salt: Buffer;
  readonly #outer = Buffer.alloc(84);
  #scratch = Buffer.alloc(2048);
  #counters = Buffer.alloc(2048);

  constructor(keys: SrtpSessionKeys) {
    this.#ecb = createCipheriv('aes-128-ecb', keys.key, null);
    this.#ecb.setAutoPadding(false);
    this.#salt = Buffer.from(keys.salt.subarray(0, 14));
    for (let i = 0; i < 64; i++) {
      const k = i < keys.authKey.length ? keys.authKey[i]! : 0;
      this.#scratch[i] = k ^ 0x36;
      this.#outer[i] = k ^ 0x5c;
    }
  }

  unprotect(buf: Buffer, off: number, len: number, hdrLen: number, roc: number): number {
    const plen = len - hdrLen - 10;
    if (hdrLen < 12 || plen < 0 || off + len > buf.length) {
      return -1;
    }
    const authed = hdrLen + plen;
    if (64 + authed + 4 > this.#scratch.length) {
      const grown = Buffer.alloc(64 + authed + 4);
      this.#scratch.copy(grown, 0, 0, 64);
      this.#scratch = grown;
    }
    const s = this.#scratch;
    buf.copy(s, 64, off, off + authed);
    s.writeUInt32BE(roc >>> 0, 64 + authed);
    sha1(s.subarray(0, 64 + authed + 4)).copy(this.#outer, 64);
    const mac = sha1(this.#outer);
    if (!timingSafeEqual(mac.subarray(0, 10), buf.subarray(off + authed, off + authed + 10))) {
      return -1;
    }
    if (plen > 0) {
      const blocks = (plen + 15) >>> 4;
      if (blocks * 16 > this.#counters.length) {
        this.#counters = Buffer.alloc(blocks * 16);
      }
      const c = this.#counters;
      const salt = this.#salt;
      const ssrc = buf.readUInt32BE(off + 8);
      const seq = buf.readUInt16BE(off + 2);
      const w0 = salt.readUInt32BE(0);
      const w1 = (salt.readUInt32BE(4) ^ ssrc) >>> 0;
      const w2 = (salt.readUInt32BE(8) ^ roc) >>> 0;
      const w3hi = ((salt[12]! << 8) | salt[13]!) ^ seq;
      for (let i = 0, o = 0; i < blocks; i++, o += 16) {
        c.writeUInt32BE(w0, o);
        c.writeUInt32BE(w1, o + 4);
        c.writeUInt32BE(w2, o + 8);
        c.writeUInt32BE(((w3hi << 16) | i) >>> 0, o + 12);
      }
      const ks = this.#ecb.update(c.subarray(0, blocks * 16));
      const p = off + hdrLen;
      for (let i = 0; i < plen; i++) {
        buf[p + i] = buf[p + i]! ^ ks[i]!;
      }
    }
    return plen;
  }
}

/** AEAD_AES_128_GCM (RFC 7714) unprotect in TypeScript: one decipher per packet (Node cannot re-key one). */
export class JsGcmUnprotector implements Unprotector {
  readonly kind = 'js';
  readonly tagLength = 16;
  readonly #key: Buffer;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(12);

  constructor(keys: SrtpSessionKeys) {
    this.#key = Buffer.from(keys.key);
    this.#salt = Buffer.from(keys.salt.subarray(0, 12));
  }

  unprotect(buf: Buffer, off: number, len: number, hdrLen: number, roc: number): number {
    const plen = len - hdrLen - 16;
    if (hdrLen < 12 || plen < 0 || off + len > buf.length) {
      return -1;
    }
    const iv = this.#iv;
    const s = this.#salt;
    iv.writeUInt16BE(s.readUInt16BE(0), 0);
    iv.writeUInt32BE((s.readUInt32BE(2) ^ buf.readUInt32BE(off + 8)) >>> 0, 2);
    iv.writeUInt32BE((s.readUInt32BE(6) ^ roc) >>> 0, 6);
    iv.writeUInt16BE(s.readUInt16BE(10) ^ buf.readUInt16BE(off + 2), 10);
    const p = off + hdrLen;
    try {
      const d = createDecipheriv('aes-128-gcm', this.#key, iv);
      d.setAAD(buf.subarray(off, p));
      d.setAuthTag(buf.subarray(p + plen, p + plen + 16));
      const plain = d.update(buf.subarray(p, p + plen));
      d.final(); // throws when the tag does not verify
      plain.copy(buf, p);
      return plen;
    } catch {
      return -1;
    }
  }
}

export function createJsUnprotector(keys: SrtpSessionKeys): Unprotector {
  return keys.profile === SRTP_AEAD_AES_128_GCM ? new JsGcmUnprotector(keys) : new JsCmUnprotector(keys);
}
