export { createProtector, createUnprotector, nativeAvailable } from './createProtector.ts';
export { PROTECT_HEADROOM, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from './Protector.ts';
export type { Protector, SrtpSessionKeys } from './Protector.ts';
export { JsCmProtector, JsGcmProtector } from './JsProtector.ts';
export { NativeProtector } from './native.ts';
export type { Unprotector } from './Unprotector.ts';
export { JsCmUnprotector, JsGcmUnprotector } from './JsUnprotector.ts';
export { NativeUnprotector } from './native.ts';
export { SrtpReplay } from './SrtpReplay.ts';
