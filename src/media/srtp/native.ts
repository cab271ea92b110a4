import { createRequire } from 'node:module';
import type { Protector, SrtpSessionKeys } from './Protector.ts';
import type { Unprotector } from './Unprotector.ts';
import { SRTP_AES128_CM_HMAC_SHA1_80 } from './Protector.ts';
import { logger } from '../../util/logger.ts';

/**
 * native/srtp.c `sendBatch`: datagram i is `bufs[i][offs[i], offs[i] + lens[i])` to sockaddr
 * `addrs[i]` on fd `fds[i]` (< 0: skipped), for i < n; returns how many were handled before a
 * socket's buffer was full (EAGAIN).
 */
export type SendBatch = (
  fds: Int32Array,
  bufs: readonly (Buffer | undefined)[],
  offs: Uint32Array,
  lens: Uint32Array,
  addrs: readonly (Buffer | undefined)[],
  n: number,
) => number;

interface Addon {
  /** Linux only: sends datagrams with sendmmsg (src/media/UdpBatch.ts). */
  sendBatch?: SendBatch;
  createContext(
    profile: number,
    key: Buffer,
    salt: Buffer,
    authKey: Buffer | null,
    decrypt?: boolean,
  ): object;
  unprotect(ctx: object, buf: Buffer, off: number, len: number, hdr: number, roc: number): number;
  protect(
    ctx: object,
    buf: Buffer,
    off: number,
    hdr: number,
    len: number,
    ssrc: number,
    seq: number,
    roc: number,
  ): number;
}

/** The accelerator built by native/build.js at install, or undefined (then TypeScript is used). */
function load(): Addon | undefined {
  if (process.env.SB_NATIVE === '0') {
    return undefined;
  }
  try {
    return createRequire(import.meta.url)('../../../native/build/Release/sb_srtp.node') as Addon;
  } catch {
    return undefined;
  }
}

export const addon: Addon | undefined = load();
logger.debug({ native: addon !== undefined }, 'SRTP accelerator');

const tagLengthOf = (keys: SrtpSessionKeys): number =>
  keys.profile === SRTP_AES128_CM_HMAC_SHA1_80 ? 10 : 16;

/** An OpenSSL context for one direction of `keys` (AES-CM also needs the HMAC key). */
const contextOf = (a: Addon, keys: SrtpSessionKeys, decrypt: boolean): object =>
  a.createContext(
    keys.profile,
    keys.key,
    keys.salt,
    keys.profile === SRTP_AES128_CM_HMAC_SHA1_80 ? keys.authKey : null,
    decrypt,
  );

/** OpenSSL contexts kept across packets, in C (native/srtp.c). */
export class NativeProtector implements Protector {
  readonly kind = 'native';
  readonly tagLength: number;
  readonly #ctx: object;
  readonly #addon: Addon;

  constructor(a: Addon, keys: SrtpSessionKeys) {
    this.#addon = a;
    this.tagLength = tagLengthOf(keys);
    this.#ctx = contextOf(a, keys, false);
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
    return this.#addon.protect(this.#ctx, buf, off, hdrLen, payloadLen, ssrc, seq, roc);
  }
}

/** Unprotect with OpenSSL contexts kept across packets (native/srtp.c `unprotect`). */
export class NativeUnprotector implements Unprotector {
  readonly kind = 'native';
  readonly tagLength: number;
  readonly #ctx: object;
  readonly #addon: Addon;

  constructor(a: Addon, keys: SrtpSessionKeys) {
    this.#addon = a;
    this.tagLength = tagLengthOf(keys);
    this.#ctx = contextOf(a, keys, true);
  }

  unprotect(buf: Buffer, off: number, len: number, hdrLen: number, roc: number): number {
    return this.#addon.unprotect(this.#ctx, buf, off, len, hdrLen, roc);
  }
}
