/**
 * `application/trickle-ice-sdpfrag` (RFC 8840 §9, as WHIP's PATCH uses it: RFC 9725 §4.3): the ICE
 * credentials of the client's ICE session and the candidates it trickles, per media section.
 *
 *     a=ice-ufrag:EsAw
 *     a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
 *     m=audio 9 RTP/AVP 0
 *     a=mid:0
 *     a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0
 *     a=end-of-candidates
 */

/** One trickled candidate, as `RTCIceCandidateInit`. */
export interface FragCandidate {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

export interface SdpFrag {
  ufrag?: string;
  pwd?: string;
  candidates: FragCandidate[];
  /** `a=end-of-candidates` was present. */
  end: boolean;
}

/** A fragment this many candidates long is not a client's (a host has a handful per transport). */
export const MAX_FRAG_CANDIDATES = 64;

export class SdpFragError extends Error {}

// candidate:<foundation> <component-id> <transport> <priority> <address> <port> typ <type> …
const CANDIDATE =
  /^candidate:\S{1,32} \d{1,3} (udp|tcp|UDP|TCP) \d{1,10} \S{1,255} \d{1,5} typ (host|srflx|prflx|relay)( |$)/;
// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4)
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;

/** Parses a fragment; throws SdpFragError with the reason for a client (a 400's body). */
export function parseSdpFrag(text: string): SdpFrag {
  const out: SdpFrag = { candidates: [], end: false };
  let mline = -1;
  let mid: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === '') {
      continue;
    }
    if (line.startsWith('m=')) {
      mline++;
      mid = undefined;
      continue;
    }
    if (!line.startsWith('a=')) {
      throw new SdpFragError(`unexpected line in the SDP fragment: ${clip(line)}`);
    }
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const name = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1);
    switch (name) {
      case 'ice-ufrag':
      case 'ice-pwd':
        if (!ICE_CHARS.test(value) || value.length > 256 || value.length < (name === 'ice-ufrag' ? 4 : 22)) {
          throw new SdpFragError(`malformed a=${name}`);
        }
        if (name === 'ice-ufrag') {
          out.ufrag = value;
        } else {
          out.pwd = value;
        }
        break;
      case 'mid':
        if (value === '' || value.length > 32) {
          throw new SdpFragError('malformed a=mid');
        }
        mid = value;
        break;
      case 'candidate': {
        const candidate = attr;
        if (!CANDIDATE.test(candidate)) {
          throw new SdpFragError(`malformed candidate: ${clip(line)}`);
        }
        if (out.candidates.length >= MAX_FRAG_CANDIDATES) {
          throw new SdpFragError(`more than ${MAX_FRAG_CANDIDATES} candidates in one fragment`);
        }
        out.candidates.push({
          candidate,
          ...(mid !== undefined ? { sdpMid: mid } : {}),
          sdpMLineIndex: Math.max(0, mline),
        });
        break;
      }
      case 'end-of-candidates':
        out.end = true;
        break;
      default:
        break; // ice-options, group:BUNDLE, … carry nothing a trickle needs
    }
  }
  if ((out.ufrag === undefined) !== (out.pwd === undefined)) {
    throw new SdpFragError('a=ice-ufrag and a=ice-pwd go together');
  }
  return out;
}

/** The fragment a WHIP session answers an ICE restart with: its new credentials and candidates. */
export function buildSdpFrag(ufrag: string, pwd: string, mid: string, candidates: readonly string[]): string {
  const lines = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, `a=mid:${mid}`];
  for (const c of candidates) {
    lines.push(`a=${c.replace(/^a=/, '')}`);
  }
  lines.push('a=end-of-candidates');
  return `${lines.join('\r\n')}\r\n`;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
