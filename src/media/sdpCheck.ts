import { parse } from 'sdp-transform';
import { SwitchboardError } from '../util/errors.ts';

/**
 * werift accepts almost any string as an offer (it answered "garbage" with an empty answer), so a
 * client offer is checked for the parts a WebRTC offer cannot do without before it reaches werift.
 */
export function assertValidOffer(sdp: string): void {
  const fail = (why: string) => {
    throw new SwitchboardError('negotiation', `invalid SDP offer: ${why}`);
  };
  if (!sdp.startsWith('v=0')) {
    fail('must start with v=0');
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(sdp);
  } catch (err) {
    return fail(err instanceof Error ? err.message : 'unparseable');
  }
  if (!parsed.media || parsed.media.length === 0) {
    fail('no media sections');
  }
  for (const m of parsed.media) {
    if (!['audio', 'video', 'application'].includes(m.type)) {
      fail(`unsupported media type "${m.type}"`);
    }
    if (!(m.iceUfrag ?? parsed.iceUfrag) || !(m.icePwd ?? parsed.icePwd)) {
      fail(`m=${m.type} has no ICE credentials`);
    }
    if (!(m.fingerprint ?? parsed.fingerprint)) {
      fail(`m=${m.type} has no DTLS fingerprint`);
    }
  }
}
