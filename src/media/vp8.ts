/**
 * The parts of a VP8 RTP payload (RFC 7741) the forwarding path needs: is this packet the start of a
 * keyframe, its temporal layer, and (for keyframes) the frame size. Parses into a reused object.
 */
export interface Vp8Info {
  /** First packet of a keyframe (S=1, PID=0, P=0 in the VP8 payload header). */
  keyframe: boolean;
  /** Temporal layer id, or -1 when the descriptor carries none. */
  tid: number;
  width: number;
  height: number;
}

export function parseVp8(payload: Buffer, out: Vp8Info): Vp8Info {
  out.keyframe = false;
  out.tid = -1;
  out.width = 0;
  out.height = 0;
  if (payload.length < 1) {
    return out;
  }
  const b0 = payload[0]!;
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  let o = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) {
      return out;
    }
    const x = payload[1]!;
    o = 2;
    if (x & 0x80) {
      // PictureID: 7 or 15 bits
      o += payload.length > o && payload[o]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) {
      o += 1; // TL0PICIDX
    }
    if (x & 0x30) {
      if (payload.length > o && x & 0x20) {
        out.tid = (payload[o]! >> 6) & 0x03;
      }
      o += 1;
    }
  }
  if (!start || payload.length <= o) {
    return out;
  }
  // VP8 payload header: bit 0 of the first byte is P (0 = keyframe).
  if ((payload[o]! & 0x01) === 0) {
    out.keyframe = true;
    // Keyframe header: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
    if (
      payload.length >= o + 10 &&
      payload[o + 3] === 0x9d &&
      payload[o + 4] === 0x01 &&
      payload[o + 5] === 0x2a
    ) {
      out.width = payload.readUInt16LE(o + 6) & 0x3fff;
      out.height = payload.readUInt16LE(o + 8) & 0x3fff;
    }
  }
  return out;
}

/** H264 (RFC 6184): an IDR or SPS at the start of the payload (single NAL, STAP-A or FU-A start). */
export function isH264Keyframe(payload: Buffer): boolean {
  if (payload.length < 2) {
    return false;
  }
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) {
    return true;
  }
  if (type === 24) {
    // STAP-A: walk the aggregated NAL units
    let o = 1;
    while (o + 2 < payload.length) {
      const size = payload.readUInt16BE(o);
      const t = payload[o + 2]! & 0x1f;
      if (t === 5 || t === 7) {
        return true;
      }
      o += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    return (payload[1]! & 0x80) !== 0 && ((payload[1]! & 0x1f) === 5 || (payload[1]! & 0x1f) === 7);
  }
  return false;
}

/** VP9 (draft-ietf-payload-vp9): B=1 (start of frame) and P=0 (not inter-predicted). */
export function isVp9Keyframe(payload: Buffer): boolean {
  if (payload.length < 1) {
    return false;
  }
  const b = payload[0]!;
  return (b & 0x08) !== 0 && (b & 0x40) === 0;
}
