/**
 * The parts of a VP8 RTP payload (RFC 7741) the forwarding path needs: is this packet the start of a
 * frame, of a keyframe, its temporal layer, and (for keyframes) the frame size. Parses the payload
 * where it lies (`buf[start, end)`) into a reused object.
 *
 * The payload descriptor is written by the sender's packetizer and always readable; the VP8 payload
 * header after it is the start of the encoded frame, which end-to-end encryption (insertable
 * streams, SFrame) may have turned into garbage. A keyframe is therefore only believed when its
 * header carries the keyframe start code (9d 01 2a, RFC 6386 §9.1); a frame start whose header
 * claims a keyframe without it is `opaque`: the frame is encrypted.
 */
export interface Vp8Info {
  /** First packet of a frame (S=1, PID=0 in the payload descriptor). */
  start: boolean;
  /** First packet of a keyframe: P=0 in the VP8 payload header and the keyframe start code. */
  keyframe: boolean;
  /** First packet of a frame whose payload header is not plain VP8 (P=0 without the start code). */
  opaque: boolean;
  /** Temporal layer id, or -1 when the descriptor carries none. */
  tid: number;
  width: number;
  height: number;
}

/** A Vp8Info for `parseVp8` to fill (one per parsing site, reused for every packet). */
export function newVp8Info(): Vp8Info {
  return { start: false, keyframe: false, opaque: false, tid: -1, width: 0, height: 0 };
}

export function parseVp8(buf: Buffer, start: number, end: number, out: Vp8Info): Vp8Info {
  out.start = false;
  out.keyframe = false;
  out.opaque = false;
  out.tid = -1;
  out.width = 0;
  out.height = 0;
  const len = end - start;
  if (len < 1) {
    return out;
  }
  const b0 = buf[start]!;
  const first = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  let o = 1;
  if (b0 & 0x80) {
    if (len < 2) {
      return out;
    }
    const x = buf[start + 1]!;
    o = 2;
    if (x & 0x80) {
      // PictureID: 7 or 15 bits
      o += len > o && buf[start + o]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) {
      o += 1; // TL0PICIDX
    }
    if (x & 0x30) {
      if (len > o && x & 0x20) {
        out.tid = (buf[start + o]! >> 6) & 0x03;
      }
      o += 1;
    }
  }
  if (!first || len <= o) {
    return out;
  }
  out.start = true;
  const h = start + o;
  // VP8 payload header: bit 0 of the first byte is P (0 = keyframe); a keyframe's 3-byte frame tag is
  // followed by the start code 9d 01 2a, then 14-bit width and height.
  if ((buf[h]! & 0x01) === 0) {
    if (len >= o + 10 && buf[h + 3] === 0x9d && buf[h + 4] === 0x01 && buf[h + 5] === 0x2a) {
      out.keyframe = true;
      out.width = buf.readUInt16LE(h + 6) & 0x3fff;
      out.height = buf.readUInt16LE(h + 8) & 0x3fff;
    } else {
      out.opaque = true;
    }
  }
  return out;
}

/** H264 (RFC 6184): an IDR or SPS at the start of the payload (single NAL, STAP-A or FU-A start). */
export function isH264Keyframe(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 2) {
    return false;
  }
  const type = buf[start]! & 0x1f;
  if (type === 5 || type === 7) {
    return true;
  }
  if (type === 24) {
    // STAP-A: walk the aggregated NAL units
    let o = start + 1;
    while (o + 2 < end) {
      const size = buf.readUInt16BE(o);
      const t = buf[o + 2]! & 0x1f;
      if (t === 5 || t === 7) {
        return true;
      }
      o += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    const fu = buf[start + 1]!;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === 5 || (fu & 0x1f) === 7);
  }
  return false;
}

/** VP9 (draft-ietf-payload-vp9): B=1 (start of frame) and P=0 (not inter-predicted). */
export function isVp9Keyframe(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 1) {
    return false;
  }
  const b = buf[start]!;
  return (b & 0x08) !== 0 && (b & 0x40) === 0;
}
