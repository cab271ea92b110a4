import { createJsProtector } from './JsProtector.ts';
import { createJsUnprotector } from './JsUnprotector.ts';
import { addon, NativeProtector, NativeUnprotector } from './native.ts';
import type { Protector, SrtpSessionKeys } from './Protector.ts';
import type { Unprotector } from './Unprotector.ts';

/** The native accelerator when it was built at install (and SB_NATIVE is not 0), else TypeScript. */
export function createProtector(keys: SrtpSessionKeys): Protector {
  return addon ? new NativeProtector(addon, keys) : createJsProtector(keys);
}

/** Same choice for the receiving direction (keys: the remote side's session keys). */
export function createUnprotector(keys: SrtpSessionKeys): Unprotector {
  return addon ? new NativeUnprotector(addon, keys) : createJsUnprotector(keys);
}

export const nativeAvailable = (): boolean => addon !== undefined;
