import { createDecipheriv, timingSafeEqual } from 'node:crypto';
import { CmKeystream, GcmNonce, HmacSha1, xorInto } from './jsCiphers.ts';
import { SRTP_AEAD_AES_128_GCM, type SrtpSessionKeys } from './Protector.ts';
import type { Unprotector } from './Unprotector.ts';

/**
 * AES_CM_128_HMAC_SHA1_80 unprotect in TypeScript (the fallback of native/srtp.c): the HMAC is
 * checked first (two one-shot hashes over [ipad | packet | ROC] and [opad | inner], the first built
 * in a scratch buffer since the packet has no headroom), then the payload is XORed with the
 * CmKeystream, as in JsCmProtector.
 */
export class JsCmUnprotector implements Unprotector {
  readonly kind = 'js';
  readonly tagLength = 10;
  readonly #keystream: CmKeystream;
  readonly #hmac: HmacSha1;
  /** [ipad | packet | ROC], grown for bigger packets. */
  #scratch = Buffer.alloc(2048);

  constructor(keys: SrtpSessionKeys) {
    this.#keystream = new CmKeystream(keys.key, keys.salt);
    this.#hmac = new HmacSha1(keys.authKey);
    this.#hmac.ipad.copy(this.#scratch);
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
    const mac = this.#hmac.mac(s.subarray(0, 64 + authed + 4));
    if (!timingSafeEqual(mac.subarray(0, 10), buf.subarray(off + authed, off + authed + 10))) {
      return -1;
    }
    if (plen > 0) {
      const ks = this.#keystream.generate(plen, buf.readUInt32BE(off + 8), buf.readUInt16BE(off + 2), roc);
      xorInto(buf, off + hdrLen, ks, plen);
    }
    return plen;
  }
}

/** AEAD_AES_128_GCM (RFC 7714) unprotect in TypeScript: one decipher per packet (Node cannot re-key one). */
export class JsGcmUnprotector implements Unprotector {
  readonly kind = 'js';
  readonly tagLength = 16;
  readonly #nonce: GcmNonce;

  constructor(keys: SrtpSessionKeys) {
    this.#nonce = new GcmNonce(keys.key, keys.salt);
  }

  unprotect(buf: Buffer, off: number, len: number, hdrLen: number, roc: number): number {
    const plen = len - hdrLen - 16;
    if (hdrLen < 12 || plen < 0 || off + len > buf.length) {
      return -1;
    }
    const n = this.#nonce;
    const iv = n.iv(buf.readUInt32BE(off + 8), roc, buf.readUInt16BE(off + 2));
    const p = off + hdrLen;
    try {
      const d = createDecipheriv('aes-128-gcm', n.key, iv);
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
