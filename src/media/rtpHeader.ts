/** One RTP header extension to write: its negotiated id (1..14, one-byte form) and value. */
export interface HeaderExtension {
  id: number;
  value: Buffer;
}

/**
 * Size of a header with the first `n` of these extensions (RFC 8285 one-byte form, padded to 32
 * bits). A count, not a fresh array: the forwarding path reuses one array per DownTrack, and
 * emptying an array with `length = 0` makes V8 allocate a new backing store at the next push.
 */
export function rtpHeaderSize(exts: readonly HeaderExtension[], n = exts.length): number {
  if (n === 0) {
    return 12;
  }
  let len = 0;
  for (let i = 0; i < n; i++) {
    len += 1 + exts[i]!.value.length;
  }
  return 12 + 4 + ((len + 3) & ~3);
}

/**
 * Serialises a fixed RTP header plus the first `n` one-byte extensions into `out` at `at` and returns
 * the header length. Only extensions the subscriber negotiated are ever passed in: forwarding the
 * publisher's ids makes Chrome drop the video (werift-findings, bug 2).
 */
export function writeRtpHeader(
  out: Buffer,
  at: number,
  marker: boolean,
  payloadType: number,
  seq: number,
  timestamp: number,
  ssrc: number,
  exts: readonly HeaderExtension[],
  n = exts.length,
): number {
  out[at] = n > 0 ? 0x90 : 0x80;
  out[at + 1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  out.writeUInt16BE(seq & 0xffff, at + 2);
  out.writeUInt32BE(timestamp >>> 0, at + 4);
  out.writeUInt32BE(ssrc >>> 0, at + 8);
  if (n === 0) {
    return 12;
  }
  out[at + 12] = 0xbe;
  out[at + 13] = 0xde;
  let o = at + 16;
  for (let i = 0; i < n; i++) {
    const e = exts[i]!;
    out[o++] = ((e.id & 0x0f) << 4) | ((e.value.length - 1) & 0x0f);
    e.value.copy(out, o);
    o += e.value.length;
  }
  while ((o - at - 16) % 4 !== 0) {
    out[o++] = 0;
  }
  out.writeUInt16BE((o - at - 16) / 4, at + 14);
  return o - at;
}

/** abs-send-time: 24-bit 6.18 fixed-point seconds (only the low 6 bits of the seconds matter). */
export function absSendTime(nowMs: number, out: Buffer): Buffer {
  const v = Math.floor((nowMs * 262144) / 1000) & 0xffffff;
  out[0] = (v >> 16) & 0xff;
  out[1] = (v >> 8) & 0xff;
  out[2] = v & 0xff;
  return out;
}
