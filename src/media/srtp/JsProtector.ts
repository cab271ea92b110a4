import { createCipheriv, createHash, hash, type Cipher } from 'node:crypto';
import {
  PROTECT_HEADROOM,
  SRTP_AEAD_AES_128_GCM,
  type Protector,
  type SrtpSessionKeys,
} from './Protector.ts';

// One-shot hashing (`crypto.hash`, Node >= 20.12) is much cheaper than an Hmac object per packet.
const sha1: (data: Buffer) => Buffer =
  typeof hash === 'function'
    ? (data) => hash('sha1', data, 'buffer')
    : (data) => createHash('sha1').update(data).digest();

/**
 * AES_CM_128_HMAC_SHA1_80 in TypeScript with cipher state kept across packets
 * (shared/reference/hotpath-bench.md): one long-lived AES-ECB cipher turns counter blocks into the
 * keystream in a single call per packet, XORed through 32-bit views; HMAC-SHA1 is two one-shot
 * hashes over [ipad | packet | ROC] (built in the headroom before the packet) and [opad | inner].
 */
export class JsCmProtector implements Protector {
  readonly kind = 'js';
  readonly tagLength = 10;
  readonly #ecb: Cipher;
  readonly #salt: Buffer;
  readonly #ipad = Buffer.alloc(64);
  readonly #outer = Buffer.alloc(84);
  #counters = Buffer.alloc(2048);

  constructor(keys: SrtpSessionKeys) {
    this.#ecb = createCipheriv('aes-128-ecb', keys.key, null);
    this.#ecb.setAutoPadding(false);
    this.#salt = Buffer.from(keys.salt.subarray(0, 14));
    for (let i = 0; i < 64; i++) {
      const k = i < keys.authKey.length ? keys.authKey[i]! : 0;
      this.#ipad[i] = k ^ 0x36;
      this.#outer[i] = k ^ 0x5c;
    }
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
      const blocks = (payloadLen + 15) >>> 4;
      if (blocks * 16 > this.#counters.length) {
        this.#counters = Buffer.alloc(blocks * 16);
      }
      // Counter block i: salt XOR (SSRC << 64) XOR (index << 16), low 16 bits = i (RFC 3711 §4.1.1).
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
      const ks = this.#ecb.update(c.subarray(0, blocks * 16));
      xorInto(buf, p, ks, payloadLen);
    }
    // Authentication tag over header + encrypted payload + ROC.
    const end = p + payloadLen;
    const start = off - PROTECT_HEADROOM;
    this.#ipad.copy(buf, start);
    buf.writeUInt32BE(roc >>> 0, end);
    const inner = sha1(buf.subarray(start, end + 4));
    inner.copy(this.#outer, 64);
    sha1(this.#outer).copy(buf, end, 0, 10);
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
  readonly #key: Buffer;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(12);

  constructor(keys: SrtpSessionKeys) {
    this.#key = Buffer.from(keys.key);
    this.#salt = Buffer.from(keys.salt.subarray(0, 12));
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
    const iv = this.#iv;
    const s = this.#salt;
    // IV = salt XOR (00 00 | SSRC | ROC | SEQ)
    iv.writeUInt16BE(s.readUInt16BE(0), 0);
    iv.writeUInt32BE((s.readUInt32BE(2) ^ ssrc) >>> 0, 2);
    iv.writeUInt32BE((s.readUInt32BE(6) ^ roc) >>> 0, 6);
    iv.writeUInt16BE(s.readUInt16BE(10) ^ seq, 10);
    const cipher = createCipheriv('aes-128-gcm', this.#key, iv);
    cipher.setAAD(buf.subarray(off, off + hdrLen));
    const p = off + hdrLen;
    const enc = cipher.update(buf.subarray(p, p + payloadLen));
    cipher.final();
    enc.copy(buf, p);
    cipher.getAuthTag().copy(buf, p + payloadLen);
    return hdrLen + payloadLen + 16;
  }
}

function xorInto(buf: Buffer, at: number, ks: Buffer, len: number): void {
  let i = 0;
  // 32-bit XOR when both sides are 4-byte aligned (RTP headers are multiples of 4 bytes).
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

export function createJsProtector(keys: SrtpSessionKeys): Protector {
  return keys.profile === SRTP_AEAD_AES_128_GCM ? new JsGcmProtector(keys) : new JsCmProtector(keys);
}
