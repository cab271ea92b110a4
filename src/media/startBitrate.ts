/**
 * Chrome starts a video send at 300 kbit/s and, with REMB only (no transport-cc, werift workaround
 * 1), raises its loss-based estimate by about 8 % a second: a 960×540 simulcast publisher needed ~20 s
 * before its top layer was sent at all. libwebrtc reads `x-google-start-bitrate` (kbit/s) from the
 * remote codec's fmtp, so our answer to a publisher names the bitrate to start at; its loss-based
 * control still backs off within a second or two on a link that cannot carry it.
 *
 * The answer is edited line by line, not with sdp-transform's parse/write: writing werift's SDP back
 * reorders its lines and drops the `ufrag` of every candidate line.
 */
const VIDEO_CODECS = /^(vp8|vp9|h264|av1|h265)$/i;

/** `sdp` with `x-google-start-bitrate=<kbps>` on every video codec's fmtp (added where missing). */
export function withStartBitrate(sdp: string, kbps: number): string {
  if (kbps <= 0) {
    return sdp;
  }
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  const param = `x-google-start-bitrate=${kbps}`;
  let video = false;
  // Per video section: payload types of video codecs, and those whose fmtp line we have seen.
  let codecPts = new Set<string>();
  let withFmtp = new Set<string>();
  /** Where each codec's rtpmap line landed in `out`, to add an fmtp after it if it has none. */
  let rtpmapAt = new Map<string, number>();
  const finishSection = () => {
    const missing = [...codecPts].filter((pt) => !withFmtp.has(pt));
    // Insert from the back so the earlier indexes stay valid.
    for (const pt of missing.sort((a, b) => rtpmapAt.get(b)! - rtpmapAt.get(a)!)) {
      out.splice(rtpmapAt.get(pt)! + 1, 0, `a=fmtp:${pt} ${param}`);
    }
    codecPts = new Set();
    withFmtp = new Set();
    rtpmapAt = new Map();
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      finishSection();
      video = line.startsWith('m=video');
    } else if (video) {
      const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
      if (rtpmap && VIDEO_CODECS.test(rtpmap[2]!)) {
        codecPts.add(rtpmap[1]!);
        rtpmapAt.set(rtpmap[1]!, out.length);
      }
      const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
      if (fmtp && codecPts.has(fmtp[1]!)) {
        withFmtp.add(fmtp[1]!);
        if (!fmtp[2]!.includes('x-google-start-bitrate=')) {
          out.push(`${line};${param}`);
          continue;
        }
      }
    }
    out.push(line);
  }
  finishSection();
  return out.join(eol);
}
