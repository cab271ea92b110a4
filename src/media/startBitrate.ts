/**
 * Chrome starts a video send at 300 kbit/s and, with REMB only (no transport-cc, werift workaround
 * 1), raises its loss-based estimate by about 8 % a second: a 960×540 simulcast publisher needed ~20 s
 * before its top layer was sent at all. libwebrtc reads `x-google-start-bitrate` (kbit/s) from the
 * remote codec's fmtp, so our answer to a publisher names the bitrate to start at; its loss-based
 * control still backs off within a second or two on a link that cannot carry it.
 */
import { withFmtpParam } from './fmtp.ts';

const VIDEO_CODECS = /^(vp8|vp9|h264|av1|h265)$/i;

/** `sdp` with `x-google-start-bitrate=<kbps>` on every video codec's fmtp (added where missing). */
export function withStartBitrate(sdp: string, kbps: number): string {
  return kbps <= 0 ? sdp : withFmtpParam(sdp, 'video', VIDEO_CODECS, 'x-google-start-bitrate', String(kbps));
}
