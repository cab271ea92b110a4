import { createJsProtector } from './JsProtector.ts';
import { addon, NativeProtector } from './native.ts';
import type { Protector, SrtpSessionKeys } from './Protector.ts';

/** The native accelerator when it was built at install (and SB_NATIVE is not 0), else TypeScript. */
export function createProtector(keys: SrtpSessionKeys): Protector {
  return addon ? new NativeProtector(addon, keys) : createJsProtector(keys);
}

export const nativeAvailable = (): boolean => addon !== undefined;
