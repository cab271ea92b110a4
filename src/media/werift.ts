/**
 * The one place where Switchboard configures werift and works around its bugs (werift 0.25.2,
 * pinned exactly; see shared/reference/werift-findings.md and werift-internals.md):
 *
 * 1. No transport-cc towards anyone: werift's TWCC feedback is broken (Chrome's estimate stays near
 *    300 kbit/s). Publishers get REMB from us instead (goog-remb feedback, see Router).
 * 2. Forwarded packets never go through `RTCRtpSender.sendRtp`: it merges the publisher's header
 *    extensions into the subscriber's ids and Chrome drops the video (and costs ~35 µs a packet).
 *    DownTrack writes its own header, encrypts with our SRTP (`srtpKeysOf`) and sends on the
 *    nominated pair's socket (`sendDatagram`).
 * 3. werift queries stun.l.google.com when no STUN server is configured; a server has no use for a
 *    server-reflexive candidate of its own unless the operator configures one, so we disable it.
 * 4. Same URI, same id across bundled m-lines: werift numbers extensions 1..n over audio then video,
 *    so sharing one `mid` object between both lists gives it a single id.
 */
import {
  Connection,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useAbsSendTime,
  useAudioLevelIndication,
  useFIR,
  useNACK,
  usePLI,
  useREMB,
  useSdesMid,
  useSdesRTPStreamId,
  useRepairedRtpStreamId,
  useVideoOrientation,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type RTCRtpHeaderExtensionParameters,
} from 'werift';

import type { SrtpSessionKeys } from './srtp/index.ts';

export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
export const EXT_VIDEO_ORIENTATION = 'urn:3gpp:video-orientation';

export interface PeerConnectionOptions {
  iceServers: { urls: string[]; username?: string | undefined; credential?: string | undefined }[];
  portRange?: [number, number] | undefined;
  iceLite: boolean;
}

/** Codecs we accept from publishers and offer to subscribers (ion-sfu's payload types). */
function codecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  const videoFb = () => [useNACK(), usePLI(), useFIR(), useREMB()];
  return {
    audio: [
      new RTCRtpCodecParameters({
        mimeType: 'audio/opus',
        clockRate: 48000,
        channels: 2,
        payloadType: 111,
        parameters: 'minptime=10;useinbandfec=1',
        rtcpFeedback: [],
      }),
    ],
    video: [
      new RTCRtpCodecParameters({
        mimeType: 'video/VP8',
        clockRate: 90000,
        payloadType: 96,
        rtcpFeedback: videoFb(),
      }),
      new RTCRtpCodecParameters({
        mimeType: 'video/VP9',
        clockRate: 90000,
        payloadType: 98,
        parameters: 'profile-id=0',
        rtcpFeedback: videoFb(),
      }),
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        payloadType: 102,
        parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
        rtcpFeedback: videoFb(),
      }),
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        payloadType: 125,
        parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        rtcpFeedback: videoFb(),
      }),
    ],
  };
}

function extensions(role: 'publisher' | 'subscriber'): {
  audio: RTCRtpHeaderExtensionParameters[];
  video: RTCRtpHeaderExtensionParameters[];
} {
  const mid = useSdesMid(); // shared object: one id for both kinds (workaround 4)
  const video =
    role === 'publisher'
      ? [mid, useSdesRTPStreamId(), useRepairedRtpStreamId(), useAbsSendTime(), useVideoOrientation()]
      : [mid, useAbsSendTime(), useVideoOrientation()];
  return { audio: [mid, useAudioLevelIndication()], video };
}

export function createPeerConnection(
  role: 'publisher' | 'subscriber',
  opts: PeerConnectionOptions,
): RTCPeerConnection {
  return new RTCPeerConnection({
    codecs: codecs(),
    headerExtensions: extensions(role),
    iceServers: opts.iceServers.map((s) => ({
      urls: s.urls.length === 1 ? s.urls[0]! : s.urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    })),
    icePortRange: opts.portRange,
    iceLite: opts.iceLite,
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
}

// Workaround 3: skip werift's built-in fallback STUN server when the operator configured none.
const gather = (Connection.prototype as any).gatherCandidates as (...a: unknown[]) => Promise<unknown>;
(Connection.prototype as any).gatherCandidates = function (this: any, ...args: unknown[]) {
  const hasStun = (this.options?.stunServer ?? undefined) !== undefined;
  if (!hasStun) {
    this.stunServer = undefined;
  }
  return gather.apply(this, args);
};

/**
 * The local SRTP session keys of a DTLS transport, already derived by werift (RFC 3711 KDF).
 * `dtls.srtp` is replaced when DTLS restarts, so it doubles as the keys' identity. Switchboard
 * encrypts its forwarded RTP itself (src/media/srtp); werift keeps SRTCP and what it sends itself.
 */
export function srtpKeysOf(dtls: RTCDtlsTransport): SrtpSessionKeys {
  const session = dtls.srtp as unknown as {
    config: { profile: number };
    localContext: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag: Buffer };
  };
  const c = session.localContext;
  return {
    profile: session.config.profile,
    key: c.srtpSessionKey,
    salt: c.srtpSessionSalt,
    authKey: c.srtpSessionAuthTag,
  };
}

interface NominatedPair {
  protocol?: {
    transport?: { socket?: { type?: string; send: (b: Buffer, port: number, ip: string) => void } };
  };
  remoteAddr?: [string, number];
}

/**
 * Sends a protected packet on the transport's nominated ICE pair: straight on its UDP socket when
 * it has one (skipping werift's per-send promise chain and address validation), else through werift
 * (TCP framing, TURN). Nothing is sent without a nominated pair.
 */
export function sendDatagram(dtls: RTCDtlsTransport, data: Buffer): void {
  const connection = dtls.iceTransport.connection as unknown as {
    nominated?: NominatedPair;
    send(d: Buffer): Promise<void>;
  };
  const pair = connection.nominated;
  const socket = pair?.protocol?.transport?.socket;
  const addr = pair?.remoteAddr;
  if (socket && addr && (socket.type === 'udp4' || socket.type === 'udp6')) {
    socket.send(data, addr[1], addr[0]);
  } else if (pair) {
    connection.send(data).catch(() => undefined);
  }
}

/** The negotiated header-extension id for `uri` on a transceiver, or 0. */
export function extensionId(transceiver: RTCRtpTransceiver, uri: string): number {
  const ext = transceiver.headerExtensions.find((e) => e.uri === uri);
  return ext?.id ?? 0;
}

export function dtlsReady(dtls: RTCDtlsTransport | undefined): dtls is RTCDtlsTransport {
  return dtls !== undefined && dtls.state === 'connected' && dtls.srtpStarted;
}
