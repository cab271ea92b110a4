const EMPTY = Buffer.alloc(0);

/**
 * An RTP packet read in place (RFC 3550 §5.1, header extensions RFC 8285): fields are parsed from
 * the packet's own buffer into this reusable view, with no object per packet and no list of header
 * extensions (`extension(id)` finds one when asked). The ingress keeps one view and re-fills it for
 * every packet: whoever gets a view must not keep it past the call (keep `buf`, which is the packet's
 * own, and parse it again, as PacketCache does).
 */
export class RtpView {
  /** The packet: header from byte 0; after `parse` its plaintext is `buf[0, length)`. */
  buf: Buffer = EMPTY;
  length = 0;
  headerLength = 0;
  /** End of the payload: `length` less the padding. */
  payloadEnd = 0;
  marker = false;
  payloadType = 0;
  seq = 0;
  timestamp = 0;
  ssrc = 0;
  /** 0xBEDE (one-byte elements), 0x100x (two-byte elements) or another profile; 0 without extension. */
  extProfile = 0;
  /** Where the extension elements start and how many bytes they take. */
  extOffset = 0;
  extLength = 0;
  /** Length of the element `extension` found last. */
  extValueLength = 0;

  /**
   * Reads the fixed header, CSRCs and extension block of `buf[0, length)`; false when they do not
   * fit or the version is not 2. The payload bounds are known only after `setPayload`.
   */
  parseHeader(buf: Buffer, length: number): boolean {
    if (length < 12 || length > buf.length) {
      return false;
    }
    const b0 = buf[0]!;
    if (b0 >>> 6 !== 2) {
      return false;
    }
    let h = 12 + (b0 & 0x0f) * 4;
    this.extProfile = 0;
    this.extOffset = 0;
    this.extLength = 0;
    if ((b0 & 0x10) !== 0) {
      if (h + 4 > length) {
        return false;
      }
      this.extProfile = buf.readUInt16BE(h);
      this.extLength = buf.readUInt16BE(h + 2) * 4;
      this.extOffset = h + 4;
      h += 4 + this.extLength;
    }
    if (h > length) {
      return false;
    }
    this.buf = buf;
    this.length = length;
    this.headerLength = h;
    this.payloadEnd = length;
    const b1 = buf[1]!;
    this.marker = (b1 & 0x80) !== 0;
    this.payloadType = b1 & 0x7f;
    this.seq = buf.readUInt16BE(2);
    this.timestamp = buf.readUInt32BE(4);
    this.ssrc = buf.readUInt32BE(8);
    return true;
  }

  /**
   * Sets the packet's plaintext length (after SRTP) and strips its padding (RFC 3550: the last byte
   * counts the padding bytes, itself included); false when the padding does not fit the payload.
   */
  setLength(length: number): boolean {
    this.length = length;
    let end = length;
    if ((this.buf[0]! & 0x20) !== 0) {
      const pad = length > this.headerLength ? this.buf[length - 1]! : 0;
      if (pad === 0 || pad > length - this.headerLength) {
        return false;
      }
      end -= pad;
    }
    this.payloadEnd = end;
    return true;
  }

  get payloadLength(): number {
    return this.payloadEnd - this.headerLength;
  }

  /** The payload as a Buffer (a view into `buf`: one small object; hot paths use the offsets). */
  get payload(): Buffer {
    return this.buf.subarray(this.headerLength, this.payloadEnd);
  }

  /**
   * Offset in `buf` of the value of header extension `id` (one- or two-byte form), -1 when the
   * packet has none; its length is then in `extValueLength`.
   */
  extension(id: number): number {
    if (id <= 0 || this.extLength === 0) {
      return -1;
    }
    const buf = this.buf;
    const end = this.extOffset + this.extLength;
    let i = this.extOffset;
    if (this.extProfile === 0xbede) {
      while (i < end) {
        const b = buf[i]!;
        if (b === 0) {
          i++; // padding
          continue;
        }
        const eid = b >>> 4;
        if (eid === 15) {
          return -1; // reserved: stop reading (RFC 8285 §4.2)
        }
        const len = (b & 0x0f) + 1;
        if (i + 1 + len > end) {
          return -1;
        }
        if (eid === id) {
          this.extValueLength = len;
          return i + 1;
        }
        i += 1 + len;
      }
    } else if ((this.extProfile & 0xfff0) === 0x1000) {
      while (i < end) {
        const eid = buf[i]!;
        if (eid === 0) {
          i++;
          continue;
        }
        if (i + 2 > end) {
          return -1;
        }
        const len = buf[i + 1]!;
        if (i + 2 + len > end) {
          return -1;
        }
        if (eid === id) {
          this.extValueLength = len;
          return i + 2;
        }
        i += 2 + len;
      }
    }
    return -1;
  }

  /** The value of extension `id` as a latin1 string (mid, rid), or undefined. */
  extensionString(id: number): string | undefined {
    const at = this.extension(id);
    return at < 0 ? undefined : this.buf.toString('latin1', at, at + this.extValueLength);
  }
}
