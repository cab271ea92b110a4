// The synthetic load clients' werift peer connections (`npm run bench` and `switchboard loadtest`):
// Opus and VP8 only, no STUN server, a patient ICE consent check. Importing this patches werift for
// the whole process: load it in client processes only (the CLI imports it when `loadtest` runs).
import {
  Connection,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  StunProtocol,
  useFIR,
  useNACK,
  usePLI,
  useSdesMid,
  useSdesRTPStreamId,
} from 'werift';

// werift queries stun.l.google.com when no STUN server is configured; the bench namespace has no
// route out and must not have one, and a load client needs no server-reflexive candidate (the SFU
// learns a NATed client's address from its checks), so skip server-reflexive gathering (as
// src/media/werift.ts does).
const gather = (Connection.prototype as any).gatherCandidates as (...a: unknown[]) => Promise<unknown>;
(Connection.prototype as any).gatherCandidates = function (this: any, ...args: unknown[]) {
  if ((this.options?.stunServer ?? undefined) === undefined) {
    this.stunServer = undefined;
  }
  return gather.apply(this, args);
};

// ICE consent (RFC 7675): werift waits max(500 ms, 2·RTT + 200 ms) for each answer, without
// retransmitting, and fails the connection after 30 s without one. Browsers retransmit and accept
// answers seconds late, so a load client this strict hangs up on a busy SFU that a browser would stay
// with (seen: a publisher dropped during a join burst at ~250 subscribers). Wait up to 4 s (werift
// aborts the previous check when it sends the next one, every 4–6 s): a slow SFU then shows up as
// latency and loss, not as its publisher leaving.
const stunRequest = (StunProtocol.prototype as any).request as (...a: unknown[]) => Promise<unknown>;
(StunProtocol.prototype as any).request = function (this: unknown, ...args: unknown[]) {
  const o = args[3] as { retransmissions?: number; responseTimeout?: number } | undefined;
  if (o && typeof o === 'object' && o.retransmissions === 0 && typeof o.responseTimeout === 'number') {
    args[3] = { ...o, responseTimeout: Math.max(o.responseTimeout, 4000) };
  }
  return stunRequest.apply(this, args);
};

export interface ClientPcOptions {
  /** A publisher's PC sends mid; a subscriber's negotiates no extensions. */
  publisher: boolean;
  /** A publisher's PC also negotiates rid, for simulcast layers (SyntheticSource `layers`). */
  simulcast?: boolean | undefined;
  /** Gather on this IPv4 address only (the bench's client address); default: every interface's. */
  address?: string | undefined;
}

/** A werift PC for one side (publisher or subscriber) of an ion-sfu client. */
export function clientPc(o: ClientPcOptions): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: {
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48000,
          channels: 2,
          payloadType: 111,
        }),
      ],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90000,
          payloadType: 96,
          rtcpFeedback: [useNACK(), usePLI(), useFIR()],
        }),
      ],
    },
    // Publishers send mid (BUNDLE demux by mid, as browsers do), and rid with simulcast.
    headerExtensions: o.publisher
      ? { audio: [useSdesMid()], video: o.simulcast ? [useSdesMid(), useSdesRTPStreamId()] : [useSdesMid()] }
      : { audio: [], video: [] },
    ...(o.address !== undefined ? { iceInterfaceAddresses: { udp4: o.address } } : {}),
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
}
