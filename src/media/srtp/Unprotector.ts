/**
 * Authenticates and decrypts one SRTP packet in place: the packet is `buf[off, off + len)`, its RTP
 * header `hdrLen` bytes (parsed by the caller, who also chose the rollover counter `roc` from the
 * stream's state, RFC 3711 §3.3.1). Returns the plaintext payload's length (the tag stripped: the
 * payload ends at `off + hdrLen + result`), or -1 when the packet does not authenticate; the caller
 * then drops it and leaves the stream's state as it was.
 */
export interface Unprotector {
  readonly kind: 'js' | 'native';
  readonly tagLength: number;
  unprotect(buf: Buffer, off: number, len: number, hdrLen: number, roc: number): number;
}
