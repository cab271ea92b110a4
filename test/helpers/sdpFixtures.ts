// SDP offers built by hand for the hostile-SDP tests (unit: sdpCheck, integration: hostileSdp).

/** A well-formed DTLS fingerprint line (its value is never checked against a certificate here). */
export const FP =
  'a=fingerprint:sha-256 9E:5D:6D:0A:0C:F4:3B:9F:0A:6F:F4:7C:9D:3C:6D:7E:BB:2E:DD:8F:2B:30:25:AB:6F:0C:1E:79:DD:7F:5E:31';

/**
 * `n` sendonly opus sections, bundled unless `bundle: false`, each with `extra(i)` lines; about 110
 * bytes a section (1,500 of them are the 170 KB offer of issue #13).
 */
export function audioOffer(n: number, o: { bundle?: boolean; extra?: (i: number) => string[] } = {}): string {
  const lines = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
  lines.push('a=ice-ufrag:ufrg', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', FP, 'a=setup:actpass');
  if (o.bundle ?? true) {
    lines.push(`a=group:BUNDLE ${Array.from({ length: n }, (_, i) => i).join(' ')}`);
  }
  for (let i = 0; i < n; i++) {
    lines.push(
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'c=IN IP4 0.0.0.0',
      `a=mid:${i}`,
      'a=sendonly',
      'a=rtcp-mux',
    );
    lines.push('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10', ...(o.extra?.(i) ?? []));
  }
  return lines.join('\r\n') + '\r\n';
}
