import { createCipheriv } from 'node:crypto';
import { CmKeystream, GcmNonce, HmacSha1, xorInto } from './jsCiphers.ts';
import {
  PROTECT_HEADROOM,
  SRTP_AEAD_AES_128_GCM,
  type Protector,
  type SrtpSessionKeys,
} from './Protector.ts';

/**
 * AES_CM_128_HMAC_SHA1_80 in TypeScript with cipher state kept across packets (CmKeystream, XORed
 * through 32-bit views); HMAC-SHA1 is two one-shot hashes over [ipad | packet | ROC] (built in the
 * headroom before the packet) and [opad | inner].
 */
export class JsCmProtector implements Protector {
  readonly kind = 'js';
  readonly tagLength = 10;
  readonly #keystream: CmKeystream;
  readonly #hmac: HmacSha1;

  constructor(keys: SrtpSessionKeys) {
    this.#keystream = new CmKeystream(keys.key, keys.salt);
    this.#hmac = new HmacSha1(keys.authKey);
  }

  protect(
    buf: Buffer,
    off: number,
    hdrLen: number,
    payloadLen: number,
    ssrc: number,
    seq: number,
    roc: number,
  ): number {
    const p = off + hdrLen;
    if (payloadLen > 0) {
      xorInto(buf, p, this.#keystream.generate(payloadLen, ssrc, seq, roc), payloadLen);
    }
    // Authentication tag over header + encrypted payload + ROC.
    const end = p + payloadLen;
    const start = off - PROTECT_HEADROOM;
    this.#hmac.ipad.copy(buf, start);
    buf.writeUInt32BE(roc >>> 0, end);
    this.#hmac.mac(buf.subarray(start, end + 4)).copy(buf, end, 0, 10);
    return hdrLen + payloadLen + 10;
  }
}

/**
 * AEAD_AES_128_GCM (RFC 7714) in TypeScript. Node has no way to re-key a GCM cipher with a new IV,
 * so this costs one cipher object per packet; the output goes straight back into the packet buffer.
 */
export class JsGcmProtector implements Protector {
  readonly kind = 'js';
  readonly tagLength = 16;
  readonly #nonce: GcmNonce;

  constructor(keys: SrtpSessionKeys) {
    this.#nonce = new GcmNonce(keys.key, keys.salt);
  }

  protect(
    buf: Buffer,
    off: number,
    hdrLen: number,
    payloadLen: number,
    ssrc: number,
    seq: number,
    roc: number,
  ): number {
    const n = this.#nonce;
    const cipher = createCipheriv('aes-128-gcm', n.key, n.iv(ssrc, roc, seq));
    cipher.setAAD(buf.subarray(off, off + hdrLen));
    const p = off + hdrLen;
    const enc = cipher.update(buf.subarray(p, p + payloadLen));
    cipher.final();
    enc.copy(buf, p);
    cipher.getAuthTag().copy(buf, p + payloadLen);
    return hdrLen + payloadLen + 16;
  }
}

export function createJsProtector(keys: SrtpSessionKeys): Protector {
  return keys.profile === SRTP_AEAD_AES_128_GCM ? new JsGcmProtector(keys) : new JsCmProtector(keys);
}
