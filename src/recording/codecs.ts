/**
 * What the recorder needs to know per codec: werift's depacketizer name, mediabunny's codec, whether
 * WebM may hold it, and the decoder configuration taken from the first keyframe (dimensions, avcC,
 * OpusHead). Depacketizing and muxing themselves are werift's and mediabunny's.
 */
import { OpusRtpPayload, annexb2avcSample, parseAvcDecoderConfig } from 'werift/nonstandard';
import type { Kind } from '../media/index.ts';

export type DepacketizerName = 'VP8' | 'VP9' | 'MPEG4/ISO/AVC' | 'OPUS';
export type MuxCodec = 'vp8' | 'vp9' | 'avc' | 'opus';

export interface CodecSpec {
  kind: Kind;
  /** RTP codec name as in the SDP (VP8, H264, …). */
  name: string;
  depacketizer: DepacketizerName;
  mux: MuxCodec;
  /** WebM allows it (VP8, VP9, Opus); anything else needs Matroska. */
  webm: boolean;
}

const SPECS: Record<string, Omit<CodecSpec, 'name'>> = {
  'video/vp8': { kind: 'video', depacketizer: 'VP8', mux: 'vp8', webm: true },
  'video/vp9': { kind: 'video', depacketizer: 'VP9', mux: 'vp9', webm: true },
  'video/h264': { kind: 'video', depacketizer: 'MPEG4/ISO/AVC', mux: 'avc', webm: false },
  'audio/opus': { kind: 'audio', depacketizer: 'OPUS', mux: 'opus', webm: true },
};

/** The spec of a negotiated codec (`video/VP8`, …), or undefined when it cannot be recorded without transcoding. */
export function codecSpec(mimeType: string): CodecSpec | undefined {
  const s = SPECS[mimeType.toLowerCase()];
  return s ? { ...s, name: mimeType.split('/')[1] ?? mimeType } : undefined;
}

/** What mediabunny needs with the first packet of a video track (WebCodecs' VideoDecoderConfig). */
export interface VideoConfig {
  codec: string;
  codedWidth: number;
  codedHeight: number;
  description?: Uint8Array;
}

/** The decoder configuration a keyframe describes; undefined when it does not parse. */
export function videoConfig(mux: MuxCodec, keyframe: Uint8Array): VideoConfig | undefined {
  switch (mux) {
    case 'vp8': {
      const d = vp8Size(keyframe);
      return d && { codec: 'vp8', codedWidth: d.width, codedHeight: d.height };
    }
    case 'vp9': {
      const d = vp9Size(keyframe);
      // Level 1.0 and 8 bit: mediabunny derives the WebM CodecPrivate from this string; decoders read the
      // real values from the bitstream.
      return d && { codec: `vp09.0${d.profile}.10.08`, codedWidth: d.width, codedHeight: d.height };
    }
    case 'avc': {
      const c = parseAvcDecoderConfig(Buffer.from(keyframe.buffer, keyframe.byteOffset, keyframe.byteLength));
      if (!c) {
        return undefined;
      }
      const hex = (i: number) => (c.avcc[i] ?? 0).toString(16).padStart(2, '0');
      return {
        codec: `avc1.${hex(1)}${hex(2)}${hex(3)}`,
        codedWidth: c.codedSize.width,
        codedHeight: c.codedSize.height,
        description: c.avcc,
      };
    }
    case 'opus':
      return undefined;
  }
}

/** Frame data as the container wants it: H.264 goes from RTP's Annex B to length-prefixed (avcC) NAL units. */
export function containerFrame(mux: MuxCodec, data: Buffer): Uint8Array {
  return mux === 'avc' ? annexb2avcSample(data) : data;
}

/** Width and height of a VP8 keyframe (RFC 6386 §9.1), undefined for an interframe. */
export function vp8Size(f: Uint8Array): { width: number; height: number } | undefined {
  if (f.length < 10 || (f[0]! & 1) !== 0 || f[3] !== 0x9d || f[4] !== 0x01 || f[5] !== 0x2a) {
    return undefined;
  }
  const width = (f[6]! | (f[7]! << 8)) & 0x3fff;
  const height = (f[8]! | (f[9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** Profile and size from a VP9 keyframe's uncompressed header (VP9 bitstream spec §6.2). */
export function vp9Size(f: Uint8Array): { profile: number; width: number; height: number } | undefined {
  let pos = 0;
  const bits = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, pos++) {
      const byte = f[pos >> 3];
      if (byte === undefined) {
        throw new RangeError('short VP9 header');
      }
      v = (v << 1) | ((byte >> (7 - (pos & 7))) & 1);
    }
    return v >>> 0;
  };
  try {
    if (bits(2) !== 2) {
      return undefined; // frame_marker
    }
    const low = bits(1);
    const profile = (bits(1) << 1) | low;
    if (profile === 3) {
      bits(1);
    }
    if (bits(1) === 1 || bits(1) !== 0) {
      return undefined; // show_existing_frame, or not a keyframe
    }
    bits(2); // show_frame, error_resilient_mode
    if (bits(24) !== 0x498342) {
      return undefined;
    }
    if (profile >= 2) {
      bits(1);
    }
    if (bits(3) !== 7) {
      bits(1); // color_range
      if (profile === 1 || profile === 3) {
        bits(3);
      }
    } else if (profile === 1 || profile === 3) {
      bits(1);
    }
    const width = bits(16) + 1;
    const height = bits(16) + 1;
    return { profile, width, height };
  } catch {
    return undefined;
  }
}

/**
 * Duration of an Opus packet in ms from its TOC byte (RFC 6716 §3.1); 20 ms when it is empty.
 * Matroska needs it for the last block's end (the file's duration).
 */
export function opusDurationMs(p: Uint8Array): number {
  const toc = p[0];
  if (toc === undefined) {
    return 20;
  }
  const config = toc >> 3;
  const frameMs =
    config < 12
      ? [10, 20, 40, 60][config & 3]!
      : config < 16
        ? [10, 20][config & 1]!
        : [2.5, 5, 10, 20][config & 3]!;
  const c = toc & 3;
  const frames = c === 0 ? 1 : c === 3 ? (p[1] ?? 0) & 0x3f : 2;
  return frameMs * Math.max(1, frames);
}

/**
 * The OpusHead identification header (RFC 7845 §5.1) Matroska keeps as CodecPrivate. Pre-skip 0: an
 * RTP stream has no encoder delay to hide, and 0 keeps audio aligned with video.
 */
export function opusHead(channels: number): Uint8Array {
  const head = Buffer.from(OpusRtpPayload.createCodecPrivate(48000));
  head[9] = channels;
  head.writeUInt16LE(0, 10);
  return head;
}
