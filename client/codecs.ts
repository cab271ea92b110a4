/**
 * Which video codec a page may publish: one both this browser can send (`RTCRtpSender.getCapabilities`)
 * and the server forwards. A codec outside both is an error in words, never a silent fallback to VP8.
 */
import { SwitchboardClientError } from './errors.ts';

/** Video codec names the SDK knows (`ClientOptions.codec`). */
export type VideoCodec = 'vp8' | 'vp9' | 'h264' | 'av1';

const KNOWN: readonly VideoCodec[] = ['vp8', 'vp9', 'h264', 'av1'];

/**
 * Video codecs Switchboard's media path negotiates with publishers (`src/media/werift.ts`, `codecs()`:
 * VP8, VP9 profile 0, H.264 constrained baseline and baseline). A unit test keeps the two in step.
 */
export const SERVER_VIDEO_CODECS: readonly VideoCodec[] = ['vp8', 'vp9', 'h264'];

const LABELS: Record<VideoCodec, string> = { vp8: 'VP8', vp9: 'VP9', h264: 'H.264', av1: 'AV1' };

/** `codec` is an unknown name, or one the browser cannot send or the server does not forward. */
export class UnsupportedCodecError extends SwitchboardClientError {
  constructor(message: string) {
    super('codec-unsupported', message);
  }
}

/**
 * Video codecs this browser can send, lower case (`vp8`, `h264`, …), from
 * `RTCRtpSender.getCapabilities('video')`; `undefined` where the browser does not say (then only the
 * server's list is checked).
 */
export function browserVideoCodecs(): string[] | undefined {
  if (typeof RTCRtpSender === 'undefined' || typeof RTCRtpSender.getCapabilities !== 'function') {
    return undefined;
  }
  const codecs = RTCRtpSender.getCapabilities('video')?.codecs;
  if (!codecs) {
    return undefined;
  }
  return [...new Set(codecs.map((c) => c.mimeType.toLowerCase().replace(/^video\//, '')))];
}

/** The codecs a page may offer in a picker: those both the browser and the server support, VP8 first. */
export function usableVideoCodecs(): VideoCodec[] {
  const browser = browserVideoCodecs();
  return SERVER_VIDEO_CODECS.filter((c) => browser === undefined || browser.includes(c));
}

/**
 * Why `name` cannot be published here, in words for a person, or `undefined` when it can (names are
 * case-insensitive: `VP9` is `vp9`).
 */
export function videoCodecProblem(name: string): string | undefined {
  const codec = name.toLowerCase() as VideoCodec;
  const server = SERVER_VIDEO_CODECS.map((c) => LABELS[c]).join(', ');
  if (!KNOWN.includes(codec)) {
    return `"${name}" is not a video codec this page knows; choose one of ${server}.`;
  }
  if (!SERVER_VIDEO_CODECS.includes(codec)) {
    return `${LABELS[codec]} is not supported by this server (it forwards ${server}).`;
  }
  const browser = browserVideoCodecs();
  if (browser !== undefined && !browser.includes(codec)) {
    return `This browser cannot send ${LABELS[codec]}.`;
  }
  return undefined;
}

/** `name` as a `VideoCodec` when it can be published; else throws an `UnsupportedCodecError` saying why. */
export function assertVideoCodec(name: string): VideoCodec {
  const problem = videoCodecProblem(name);
  if (problem !== undefined) {
    throw new UnsupportedCodecError(problem);
  }
  return name.toLowerCase() as VideoCodec;
}
