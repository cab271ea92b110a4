/**
 * Adds a format parameter to the fmtp line of every codec of one kind in an SDP (added where the
 * codec has no fmtp line; left alone where the parameter is already there). Our answers to
 * publishers carry our own receive parameters this way (werift copies the offer's fmtp).
 *
 * The SDP is edited line by line, not with sdp-transform's parse/write: writing werift's SDP back
 * reorders its lines and drops the `ufrag` of every candidate line.
 */
export function withFmtpParam(
  sdp: string,
  kind: 'audio' | 'video',
  codecs: RegExp,
  key: string,
  value: string,
): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  const param = `${key}=${value}`;
  let inKind = false;
  // Per section: payload types of matching codecs, and those whose fmtp line we have seen.
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
      inKind = line.startsWith(`m=${kind}`);
    } else if (inKind) {
      const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
      if (rtpmap && codecs.test(rtpmap[2]!)) {
        codecPts.add(rtpmap[1]!);
        rtpmapAt.set(rtpmap[1]!, out.length);
      }
      const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
      if (fmtp && codecPts.has(fmtp[1]!)) {
        withFmtp.add(fmtp[1]!);
        if (!fmtp[2]!.split(';').some((p) => p.trim().startsWith(`${key}=`))) {
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

/**
 * Opus in-band FEC asked of a publisher (RFC 7587 `useinbandfec=1`, our receive preference): the
 * encoder then carries a low-rate copy of the previous frame, which a subscriber's decoder uses in
 * place of a lost packet. Chrome offers it itself; other clients' answers got werift's copy of their
 * offer without it.
 */
export function withOpusFec(sdp: string): string {
  return withFmtpParam(sdp, 'audio', /^opus$/i, 'useinbandfec', '1');
}
