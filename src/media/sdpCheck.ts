import { SwitchboardError } from '../util/errors.ts';

/**
 * Bounds of one client SDP that no real client reaches (Chrome, Firefox, Safari, libwebrtc, werift).
 * Each is there because werift's cost grows faster than the SDP: a remote candidate re-sorts the
 * ICE check list (3,000 candidates stalled the event loop 8.5 s), every ssrc, rid and section adds
 * work, and each section outside BUNDLE becomes an ICE/DTLS transport whose every gathered
 * candidate rebuilds the whole local SDP (quadratic: 1,500 such sections stalled it for minutes).
 */
export const SDP_LIMITS = {
  /** Default of `[webrtc] maxmediasections`: a browser publishing 20 tracks and a channel uses 21. */
  mediaSections: 64,
  /** Default of `[webrtc] maxcandidates`: distinct ICE candidates per SDP, and trickled per PC and negotiation. */
  candidates: 64,
  /** Lines of one media section (Chrome's video section has about 150: codecs, feedback, extensions). */
  sectionLines: 512,
  /** Longest line (the longest trickled candidate, src/protocol/ionSfu.ts). */
  lineLength: 4096,
  /** `a=ssrc` and `a=ssrc-group` lines of one section (simulcast with RTX needs about 20). */
  ssrcLines: 64,
  /** `a=rid` lines of one section, and rids named in its `a=simulcast` (browsers send 3). */
  rids: 16,
  /** `a=extmap` lines of one section. */
  extmaps: 64,
} as const;

export interface SdpLimits {
  /** Most media sections; 0 = no limit (relay links, whose offers come from our own nodes). */
  maxMediaSections: number;
  /** Most distinct `a=candidate`s. */
  maxCandidates: number;
}

const HASH_BYTES: Record<string, number> = {
  'sha-1': 20,
  'sha-224': 28,
  'sha-256': 32,
  'sha-384': 48,
  'sha-512': 64,
};
const RTP_PROTO = /^(?:(?:UDP|TCP)\/(?:D)?TLS\/)?RTP\/SAVPF?$/;
const SCTP_PROTO = /^(?:(?:UDP|TCP)\/)?DTLS\/SCTP$/;
/** RFC 8843 / 8830 tokens; RFC 8839 ice-chars. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]+$/;
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
const RID = /^[A-Za-z0-9_-]{1,32}$/;
const INT = /^\d{1,10}$/;

interface Section {
  index: number;
  type: string;
  port: number;
  rtp: boolean;
  fmt: Set<number>;
  mid?: string | undefined;
  ufrag?: string | undefined;
  pwd?: string | undefined;
  fingerprint: boolean;
  bundleOnly: boolean;
  rtpmaps: Set<number>;
  fmtps: number[];
  lines: number;
  ssrcLines: number;
  rids: number;
  extmaps: number;
}

/**
 * werift accepts almost any string (it answered "garbage" with an empty answer) and some malformed
 * attributes reach code that throws a TypeError ("Cannot set properties of undefined"), so a client
 * SDP is checked here, in one linear pass, before werift sees it: what WebRTC cannot do without,
 * the values werift would choke on, and the bounds above. `kind` names it in the error.
 */
function check(sdp: string, kind: 'offer' | 'answer', limits: SdpLimits): Section[] {
  const fail = (why: string): never => {
    throw new SwitchboardError('negotiation', `invalid SDP ${kind}: ${why}`);
  };
  if (!sdp.startsWith('v=0')) {
    fail('must start with v=0');
  }
  const maxSections = limits.maxMediaSections > 0 ? limits.maxMediaSections : Infinity;
  const total = sdp.split('\nm=').length - 1;
  if (total > maxSections) {
    fail(`too many media sections (${total} > ${maxSections})`);
  }
  const sections: Section[] = [];
  const session = {
    ufrag: undefined as string | undefined,
    pwd: undefined as string | undefined,
    fingerprint: false,
  };
  const bundles: string[][] = [];
  const candidates = new Set<string>();
  const mids = new Set<string>();
  let m: Section | undefined;
  const where = (): string => (m ? `m-section ${m.index}` : 'session');

  for (const raw of sdp.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // (A BUNDLE group lists every mid: its length follows the section count, bounded above.)
    if (line.length > SDP_LIMITS.lineLength && !line.startsWith('a=group:')) {
      fail(`line longer than ${SDP_LIMITS.lineLength} characters in ${where()}`);
    }
    if (line.startsWith('m=')) {
      m = section(line, sections.length, fail);
      sections.push(m);
      continue;
    }
    if (m && ++m.lines > SDP_LIMITS.sectionLines) {
      fail(`more than ${SDP_LIMITS.sectionLines} lines in m-section ${m.index}`);
    }
    if (!line.startsWith('a=')) {
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? line.slice(2) : line.slice(2, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    switch (name) {
      case 'group':
        if (value.startsWith('BUNDLE')) {
          bundles.push(
            value
              .split(' ')
              .slice(1)
              .filter((s) => s !== ''),
          );
        }
        break;
      case 'ice-ufrag':
        if (value.length < 4 || value.length > 256 || !ICE_CHARS.test(value)) {
          fail(`bad a=ice-ufrag in ${where()} (4-256 of A-Z a-z 0-9 + /)`);
        }
        (m ?? session).ufrag = value;
        break;
      case 'ice-pwd':
        if (value.length < 22 || value.length > 256 || !ICE_CHARS.test(value)) {
          fail(`bad a=ice-pwd in ${where()} (22-256 of A-Z a-z 0-9 + /)`);
        }
        (m ?? session).pwd = value;
        break;
      case 'fingerprint': {
        const [hash = '', fp = ''] = value.split(' ');
        const bytes = HASH_BYTES[hash.toLowerCase()];
        if (
          bytes === undefined ||
          !new RegExp(`^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){${bytes - 1}}$`).test(fp)
        ) {
          fail(
            `bad a=fingerprint in ${where()} (expected sha-1/224/256/384/512 and colon-separated hex bytes)`,
          );
        }
        (m ?? session).fingerprint = true;
        break;
      }
      case 'setup':
        if (!['actpass', 'active', 'passive'].includes(value)) {
          fail(`bad a=setup:${value.slice(0, 16)} in ${where()}`);
        }
        break;
      case 'candidate':
        candidates.add(value);
        if (candidates.size > limits.maxCandidates) {
          const total = new Set(sdp.match(/^a=candidate:.*$/gm)).size;
          fail(`too many ICE candidates (${total} > ${limits.maxCandidates})`);
        }
        break;
    }
    if (m) {
      sectionAttribute(m, name, value, mids, fail);
    }
  }

  if (sections.length === 0) {
    fail('no media sections');
  }
  // A section needs an ICE/DTLS transport of its own unless it is bundled (see SDP_LIMITS).
  const live = sections.filter((s) => s.port !== 0 || s.bundleOnly);
  for (const s of live) {
    if (!(s.ufrag ?? session.ufrag) || !(s.pwd ?? session.pwd)) {
      fail(`m=${s.type} has no ICE credentials`);
    }
    if (!s.fingerprint && !session.fingerprint) {
      fail(`m=${s.type} has no DTLS fingerprint`);
    }
    if (s.mid === undefined) {
      fail(`m-section ${s.index} has no a=mid`);
    }
  }
  if (live.length > 1) {
    const group = bundles.find((g) => g.includes(live[0]!.mid!));
    const outside = live.filter((s) => !group?.includes(s.mid!));
    if (outside.length > 0) {
      fail(
        `media sections must share one BUNDLE group (a=group:BUNDLE); ${outside.length} of ${live.length} ` +
          `are outside it (mid "${outside[0]!.mid!.slice(0, 32)}")`,
      );
    }
  }
  return sections;
}

function section(line: string, index: number, fail: (why: string) => never): Section {
  const [type = '', portSpec = '', proto = '', ...fmt] = line.slice(2).split(' ');
  if (!['audio', 'video', 'application'].includes(type)) {
    fail(`unsupported media type "${type.slice(0, 32)}"`);
  }
  const port = Number(portSpec.split('/')[0]);
  if (!INT.test(portSpec.split('/')[0]!) || port > 65535) {
    fail(`bad port in m-section ${index}`);
  }
  const rtp = type !== 'application';
  if (!(rtp ? RTP_PROTO : SCTP_PROTO).test(proto)) {
    fail(`unsupported transport "${proto.slice(0, 32)}" in m-section ${index}`);
  }
  const pts = new Set<number>();
  if (rtp) {
    for (const f of fmt) {
      if (!INT.test(f) || Number(f) > 127) {
        fail(`bad payload type "${f.slice(0, 16)}" in m-section ${index} (0-127)`);
      }
      pts.add(Number(f));
    }
    if (pts.size === 0) {
      fail(`m-section ${index} has no payload types`);
    }
  }
  return {
    index,
    type,
    port,
    rtp,
    fmt: pts,
    fingerprint: false,
    bundleOnly: false,
    rtpmaps: new Set(),
    fmtps: [],
    lines: 0,
    ssrcLines: 0,
    rids: 0,
    extmaps: 0,
  };
}

/** `text` as one of the section's payload types. */
function onLine(m: Section, name: string, text: string, fail: (why: string) => never): number {
  if (!INT.test(text) || !m.fmt.has(Number(text))) {
    fail(`a=${name} for payload type "${text.slice(0, 16)}" not on the m= line of m-section ${m.index}`);
  }
  return Number(text);
}

function sectionAttribute(
  m: Section,
  name: string,
  value: string,
  mids: Set<string>,
  fail: (why: string) => never,
): void {
  const at = `m-section ${m.index}`;
  const payloadType = (text: string): number => onLine(m, name, text, fail);
  switch (name) {
    case 'mid':
      if (value.length > 32 || !TOKEN.test(value)) {
        fail(`bad a=mid in ${at} (1-32 token characters)`);
      }
      if (mids.has(value)) {
        fail(`a=mid:${value} used twice`);
      }
      mids.add(value);
      m.mid = value;
      break;
    case 'bundle-only':
      m.bundleOnly = true;
      break;
    case 'rtpmap': {
      if (!m.rtp) {
        break;
      }
      const r = /^(\d{1,10}) ([^/\s]{1,64})\/(\d{1,10})(?:\/(\d{1,10}))?$/.exec(value);
      if (!r) {
        fail(`bad a=rtpmap in ${at} (expected "<pt> <encoding>/<clock rate>[/<channels>]")`);
      }
      const pt = payloadType(r[1]!);
      if (m.rtpmaps.has(pt)) {
        fail(`a=rtpmap for payload type ${pt} twice in ${at}`);
      }
      m.rtpmaps.add(pt);
      const clock = Number(r[3]);
      if (clock < 1000 || clock > 1_000_000) {
        fail(`clock rate ${r[3]!.slice(0, 12)} of payload type ${pt} out of range (1000-1000000)`);
      }
      if (r[4] !== undefined && (Number(r[4]) < 1 || Number(r[4]) > 64)) {
        fail(`channel count ${r[4].slice(0, 12)} of payload type ${pt} out of range (1-64)`);
      }
      break;
    }
    case 'fmtp':
      if (m.rtp) {
        m.fmtps.push(payloadType(value.split(' ')[0]!));
      }
      break;
    case 'rtcp-fb': {
      const pt = value.split(' ')[0]!;
      if (m.rtp && pt !== '*') {
        payloadType(pt);
      }
      break;
    }
    case 'extmap': {
      const r = /^(\d{1,5})(?:\/[a-z]+)? \S+/.exec(value);
      if (!r || Number(r[1]) < 1 || Number(r[1]) > 255) {
        fail(`bad a=extmap in ${at} (id 1-255)`);
      }
      if (++m.extmaps > SDP_LIMITS.extmaps) {
        fail(`more than ${SDP_LIMITS.extmaps} a=extmap lines in ${at}`);
      }
      break;
    }
    case 'ssrc':
    case 'ssrc-group':
      if (name === 'ssrc' && (!INT.test(value.split(' ')[0]!) || Number(value.split(' ')[0]) > 0xffffffff)) {
        fail(`bad a=ssrc in ${at}`);
      }
      if (++m.ssrcLines > SDP_LIMITS.ssrcLines) {
        fail(`more than ${SDP_LIMITS.ssrcLines} a=ssrc lines in ${at}`);
      }
      break;
    case 'rid':
      if (!RID.test(value.split(' ')[0]!)) {
        fail(`bad a=rid in ${at} (1-32 of A-Z a-z 0-9 _ -)`);
      }
      if (++m.rids > SDP_LIMITS.rids) {
        fail(`more than ${SDP_LIMITS.rids} a=rid lines in ${at}`);
      }
      break;
    case 'simulcast':
      if (value.split(/[\s;,]+/).filter((t) => t !== 'send' && t !== 'recv').length > SDP_LIMITS.rids) {
        fail(`more than ${SDP_LIMITS.rids} rids in a=simulcast of ${at}`);
      }
      break;
    case 'msid':
      if (!/^[^\s]{1,64}(?: [^\s]{1,64})?$/.test(value)) {
        fail(`bad a=msid in ${at} (ids of 1-64 characters)`);
      }
      break;
    case 'sctp-port':
      if (!INT.test(value) || Number(value) > 65535) {
        fail(`bad a=sctp-port in ${at}`);
      }
      break;
    case 'max-message-size':
      if (!INT.test(value) || Number(value) > 0xffffffff) {
        fail(`bad a=max-message-size in ${at}`);
      }
      break;
  }
}

/** After the section's attributes: an a=fmtp needs its codec's a=rtpmap (werift throws without). */
function assertFormats(sections: Section[], kind: 'offer' | 'answer'): void {
  for (const s of sections) {
    const orphan = s.fmtps.find((pt) => !s.rtpmaps.has(pt));
    if (orphan !== undefined) {
      throw new SwitchboardError(
        'negotiation',
        `invalid SDP ${kind}: a=fmtp for payload type ${orphan} without a=rtpmap in m-section ${s.index}`,
      );
    }
  }
}

/**
 * Checks a client's offer (join, or a publisher renegotiation) before werift sees it. `known` are
 * the mids this PC already has: werift keeps a transceiver for every mid it was ever offered (a
 * renegotiation with new mids adds to them), so those count against `maxMediaSections` too.
 */
export function assertValidOffer(
  sdp: string,
  limits: SdpLimits = sdpLimits({}),
  known: ReadonlySet<string> = new Set(),
): void {
  const sections = check(sdp, 'offer', limits);
  assertFormats(sections, 'offer');
  const added = sections.filter((s) => s.mid !== undefined && !known.has(s.mid)).length;
  if (limits.maxMediaSections > 0 && known.size + added > limits.maxMediaSections) {
    throw new SwitchboardError(
      'negotiation',
      `invalid SDP offer: too many media sections (${known.size + added} > ${limits.maxMediaSections}, ` +
        `counting the ${known.size} negotiated before)`,
    );
  }
}

/** Checks a client's answer to our offer of `offered` media sections before werift sees it. */
export function assertValidAnswer(sdp: string, offered: number, limits: SdpLimits = sdpLimits({})): void {
  const sections = check(sdp, 'answer', { ...limits, maxMediaSections: 0 });
  if (sections.length !== offered) {
    throw new SwitchboardError(
      'negotiation',
      `invalid SDP answer: ${sections.length} media sections for an offer of ${offered}`,
    );
  }
  assertFormats(sections, 'answer');
}

/** The limits of a peer's media options (`[webrtc] maxmediasections`, `maxcandidates`). */
export function sdpLimits(o: {
  maxMediaSections?: number | undefined;
  maxCandidates?: number | undefined;
}): SdpLimits {
  return {
    maxMediaSections: o.maxMediaSections ?? SDP_LIMITS.mediaSections,
    maxCandidates: o.maxCandidates ?? SDP_LIMITS.candidates,
  };
}
