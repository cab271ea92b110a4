/** SRTP protection profiles Switchboard sends with (werift's numbering = the DTLS-SRTP ids). */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 1;
export const SRTP_AEAD_AES_128_GCM = 7;

/** Session keys of one direction of an SRTP session (after the RFC 3711 key derivation). */
export interface SrtpSessionKeys {
  profile: number;
  /** 16-byte AES session key. */
  key: Buffer;
  /** 14-byte session salt (GCM uses the first 12). */
  salt: Buffer;
  /** 20-byte HMAC-SHA1 key (AES-CM only). */
  authKey: Buffer;
}

/**
 * Encrypts one RTP packet in place. The packet sits in `buf` at `off` (header `hdrLen` bytes, then
 * `payloadLen` bytes of payload) with room for the tag after it and, for the JS AES-CM path,
 * `PROTECT_HEADROOM` free bytes before it. Returns the protected packet's length.
 */
export interface Protector {
  readonly kind: 'js' | 'native';
  readonly tagLength: number;
  protect(
    buf: Buffer,
    off: number,
    hdrLen: number,
    payloadLen: number,
    ssrc: number,
    seq: number,
    roc: number,
  ): number;
}

/** Free bytes a Protector may use before the packet (the HMAC inner pad block). */
export const PROTECT_HEADROOM = 64;
