/**
 * The one place where Switchboard configures werift and works around its bugs (werift 0.25.2,
 * pinned exactly; see shared/reference/werift-findings.md and werift-internals.md):
 *
 * 1. No transport-cc towards anyone: werift's TWCC feedback is broken (Chrome's estimate stays near
 *    300 kbit/s). Publishers get REMB from us instead (goog-remb feedback, see Router).
 * 2. Forwarded packets never go through `RTCRtpSender.sendRtp`: it merges the publisher's header
 *    extensions into the subscriber's ids and Chrome drops the video (and costs ~35 µs a packet).
 *    DownTrack writes its own header, encrypts with our SRTP (`srtpKeysOf`) and sends on the
 *    nominated pair's socket (`MediaRoute`).
 * 3. werift queries stun.l.google.com when no STUN server is configured; a server has no use for a
 *    server-reflexive candidate of its own unless the operator configures one, so we disable it.
 * 4. Same URI, same id across bundled m-lines: werift numbers extensions 1..n over audio then video,
 *    so sharing one `mid` object between both lists gives it a single id.
 * 5. werift binds no media socket of ours: its `icePortRange` probes each port with a throw-away
 *    socket and binds the one it found afterwards (a race with anything else binding meanwhile), its
 *    `UdpTransport` has no 'error' listener (a lost race is an uncaught exception), an exhausted
 *    range only leaves the PC without candidates (the join hangs), and it has no single-port mode,
 *    no address rewriting (nat1to1) and one TCP listener per PC. So `iceUseIpv4/6: false` stops its
 *    own gathering and `IceAttachment` below hands each ICE `Connection` our sockets
 *    (transport/TransportPool.ts): a werift `StunProtocol` whose transport sends on a shared
 *    `UdpMux`, and `TcpPassiveProtocol`s fed by the one `TcpMux` listener, each with the host
 *    candidate we choose (the nat1to1 address, the shared port). Hooked at the two points werift
 *    offers: `SecureTransportManager.createTransport` (a Connection is born) and
 *    `setLocalDescription` (before it gathers, which re-advertises protocols it already has).
 *    werift does not check MESSAGE-INTEGRITY on incoming Binding requests; the muxes do, for all.
 * 6. `.local` (mDNS) remote candidates: werift resolves them with a multicast-dns socket per
 *    Connection that has no 'error' listener (a multicast failure would crash the process); we add
 *    one, and drop such candidates when `[webrtc] mdns = false`. Remote candidates are also
 *    deduplicated and capped (`[webrtc] maxcandidates` per Connection): werift keeps every one it is
 *    given (a bundled SDP repeats them in each m-section, each renegotiation repeats them again) and
 *    re-sorts the whole check list for each, so thousands stalled the event loop for seconds.
 *    At most 8 `.local` names are resolved at once per Connection: each lookup is a listener on
 *    werift's one multicast-dns emitter (limit 50, MaxListenersExceededWarning past it) for 10 s.
 * 7. `[webrtc.timeouts]`: an ICE-lite werift agent never notices a vanished client and a full one
 *    only after 30 s (RFC 7675 consent); transport/IceMonitor.ts drives the Connection's
 *    disconnected / failed states and keepalives. werift leaves the PC `disconnected` when ICE comes
 *    back; we set it `connected` again.
 * 8. An ICE-lite werift agent keeps the first pair a USE-CANDIDATE check arrives on, for good. A
 *    full agent facing a lite one nominates aggressively (libwebrtc puts USE-CANDIDATE on every
 *    check of every pair, all the time), so the first check to arrive wins, even from an address
 *    our answers cannot reach (a client's second interface): DTLS then never completes. Like
 *    mediasoup (`MayForceSelectedTuple`), until data flows the latest nominating check selects the
 *    pair; after that, the pair the client sends DTLS/RTP on does (it sends on its selected pair only).
 * 9. DTLS waits: werift builds its DTLS endpoint only when its ICE agent calls itself connected,
 *    which came 50–100 ms after nomination in a browser join (`connectOnNomination`), and drops
 *    DTLS records that arrive earlier. A browser sends its ClientHello as soon as its own ICE is
 *    connected, so the first two to four were lost and the handshake waited for retransmissions
 *    (50, then 100 ms). `keepEarlyDtls` keeps those records and hands them to the endpoint once it
 *    exists. And as DTLS client werift sleeps 100 ms before its ClientHello, so a server answering
 *    an offer (`setup:actpass`) takes the DTLS server role (`setup:passive`, RFC 5763 lets the
 *    answerer choose): the client's hello then starts the handshake at once.
 * 10. Every Binding request a candidate pair receives adds its transaction id to a Set that is never
 *    pruned (`CandidatePair.requestTransactionIds`, for spotting retransmissions): a client's
 *    consent checks and keepalives grow it for the life of the call (tens of KB per PC an hour).
 *    Only recent ids can be retransmitted, so the last `MAX_TRANSACTION_IDS` are kept.
 * 11. Ingress: werift's receive path costs a new decipher (+ HMAC) per packet, several objects, an
 *    async hop per event and its own stats, NACK and RTCP machinery per packet. A publisher's SRTP
 *    packets go to our Ingress instead (`attachIngress`): from the UDP mux straight out of
 *    `IceAttachment.receive`, and on every other path (ICE-TCP, werift's own sockets) by taking them
 *    out of `Connection.onData` before werift's SRTP handler sees them. SRTCP stays werift's
 *    (`onRtcp`). Keys: `srtpKeysOf(dtls, 'remote')`, the session keys werift derived for the peer's side.
 * 12. `Buffer.poolSize` (below, where it is set).
 * 13. RTCP compounds: werift's `RtcpPacketConverter.deSerialize` hands each packet of a compound the
 *    rest of the compound as its payload, so a generic NACK followed by a REMB (libwebrtc sends
 *    them together) gained "lost" sequence numbers read from the REMB's bytes ("RE" = 21061...),
 *    and a padded packet took its padding count from the compound's last byte. Each packet is
 *    now parsed on its own (`splitRtcpCompound`).
 * 14. ICE-lite: werift writes `a=ice-lite` only in each media section, where RFC 8839 §5.3 does not
 *    define it; Chromium reads it at session level only, so it took a lite server for a full agent
 *    (both sides controlled on the PC where the server offers). Every description werift writes
 *    carries it at session level instead (`withSessionIceLite`).
 * 15. Overlapping `connect()`s: werift's `RTCPeerConnection.connect()` runs after each answer, and
 *    a second one (a client renegotiating before DTLS is up: the demo page adds its tracks one by
 *    one) waits for the same ICE start, then calls `RTCDtlsTransport.start()` again, which throws
 *    "state must be new" and fails the whole PC. Seen on one join in three once Chromium nominated
 *    promptly (workaround 14). A start while one is under way now joins it (`startDtlsOnce`).
 * 16. DATA_CHANNEL_OPEN (RFC 8832 §5.1): for a channel with maxRetransmits or maxPacketLifeTime werift
 *    writes the partial-reliability type over the unordered bit, so the far end is told an unordered
 *    channel (LiveKit's `_lossy`) is ordered. werift itself sends on it unordered; the announcement
 *    now says so too (`openWithOrder`).
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { udpBatch, type Remote } from './UdpBatch.ts';
import type { Socket as TcpSocket } from 'node:net';
import {
  Candidate,
  CandidatePair,
  Connection,
  StunProtocol,
  TcpPassiveProtocol,
  candidateFoundation,
  candidatePriority,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPacketConverter,
  type RtcpPacket,
  RTCDtlsTransport,
  RTCSctpTransport,
  type RTCDataChannel,
  SessionDescription,
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
  type RTCRtpTransceiver,
  type RTCRtpHeaderExtensionParameters,
} from 'werift';
import { logger } from '../util/logger.ts';
import type { MonitoredAgent, IceActivity } from './transport/IceMonitor.ts';
import type { PeerSockets } from './transport/TransportPool.ts';
import type { TcpEndpoint } from './transport/TcpMux.ts';
import type { MuxEndpoint, UdpMux } from './transport/UdpMux.ts';
import {
  bindingIndication,
  isStun,
  stunClass,
  stunType,
  transactionId,
  type Address,
} from './transport/stun.ts';

import type { SrtpSessionKeys } from './srtp/index.ts';

export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
export const EXT_REPAIRED_RID = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';
export const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
export const EXT_VIDEO_ORIENTATION = 'urn:3gpp:video-orientation';

export interface PeerConnectionOptions {
  iceServers: { urls: string[]; username?: string | undefined; credential?: string | undefined }[];
  portRange?: [number, number] | undefined;
  iceLite: boolean;
  /**
   * The peer's sockets (transport/TransportPool.ts). Without them werift binds its own sockets, one
   * per PC (ephemeral or in `portRange`), with the shortcomings of workaround 5.
   */
  sockets?: PeerSockets | undefined;
  /** `[webrtc] mdns`: resolve clients' `.local` candidates (true) or ignore them. Default true. */
  mdns?: boolean | undefined;
  /** `[webrtc] maxcandidates`: remote candidates kept per ICE Connection (workaround 6). Default 64. */
  maxCandidates?: number | undefined;
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
  const sockets = opts.sockets;
  const pc = new RTCPeerConnection({
    codecs: codecs(),
    headerExtensions: extensions(role),
    iceServers: opts.iceServers.map((s) => ({
      urls: s.urls.length === 1 ? s.urls[0]! : s.urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    })),
    // Workaround 5: with our sockets, werift gathers no host candidate of its own.
    icePortRange: sockets ? undefined : opts.portRange,
    iceUseIpv4: !sockets,
    iceLite: opts.iceLite,
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
  const manager = (pc as any).secureManager;
  const attachments: IceAttachment[] = [];
  const createTransport = manager.createTransport.bind(manager) as (...a: unknown[]) => RTCDtlsTransport;
  manager.createTransport = (...args: unknown[]): RTCDtlsTransport => {
    const dtls = createTransport(...args);
    const conn = dtls.iceTransport.connection as unknown as Connection;
    guardRemoteCandidates(conn, opts.mdns ?? true, opts.maxCandidates ?? 64);
    keepEarlyDtls(conn, dtls);
    connectOnNomination(conn);
    if (sockets) {
      attachments.push(new IceAttachment(conn, sockets));
    }
    return dtls;
  };
  if (sockets) {
    const setLocal = pc.setLocalDescription.bind(pc) as (d?: unknown) => Promise<unknown>;
    (pc as any).setLocalDescription = async (description?: unknown) => {
      for (const a of attachments.splice(0).filter((x) => !x.detached)) {
        await a.attach(); // binds the peer's socket: a full port range fails the call here
        attachments.push(a);
      }
      for (const a of attachments) {
        a.index(); // an ICE restart brings a new ufrag
      }
      return setLocal(description);
    };
  }
  // Workaround 9: answer an offer as the DTLS server unless the offer insists on being it.
  const setRemote = pc.setRemoteDescription.bind(pc) as (d: RTCSessionDescriptionInit) => Promise<unknown>;
  (pc as any).setRemoteDescription = async (description: RTCSessionDescriptionInit) => {
    const result = await setRemote(description);
    if (description.type === 'offer' && !/^a=setup:passive\b/m.test(description.sdp ?? '')) {
      for (const dtls of manager.dtlsTransports as RTCDtlsTransport[]) {
        if (dtls.role === 'auto' && dtls.state === 'new') {
          dtls.role = 'server';
        }
      }
    }
    return result;
  };
  // Workaround 7: werift never leaves `disconnected` on its own once ICE recovers.
  pc.iceConnectionStateChange.subscribe((state) => {
    if ((state === 'connected' || state === 'completed') && pc.connectionState === 'disconnected') {
      manager.setConnectionState('connected');
    }
  });
  return pc;
}

/**
 * Workaround 9: werift's `connect()` schedules a check every 20 ms until no pair is left waiting and
 * only then reports ICE connected, which starts DTLS. Once a pair is nominated the other pairs of
 * the component are dropped, but every candidate trickled in afterwards adds a new waiting pair, so
 * the report came 50–100 ms after nomination in a browser join. RFC 8445 ends ICE processing for a
 * component at its nominated pair: from then on there is nothing to schedule.
 */
export function connectOnNomination(conn: Connection): void {
  const c = conn as any;
  const scheduling = c.schedulingChecks.bind(c) as () => boolean;
  c.schedulingChecks = (): boolean =>
    c.nominated !== undefined && c.checkListDone === true ? false : scheduling();
}

/** DTLS records kept per transport until werift's DTLS endpoint exists (workaround 9). */
const MAX_EARLY_DTLS = 8;

/**
 * Workaround 9: DTLS records that reach the ICE Connection before werift starts the DTLS transport
 * are kept and delivered again right after it starts (its endpoint subscribes to the Connection's
 * data synchronously inside `start()`, after the state change to `connecting` that we hear).
 */
export function keepEarlyDtls(conn: Connection, dtls: RTCDtlsTransport): void {
  let early: Buffer[] | undefined = [];
  const sub = conn.onData.subscribe((data: Buffer) => {
    const b = data[0];
    if (
      early &&
      dtls.state === 'new' &&
      b !== undefined &&
      b >= 20 &&
      b <= 63 &&
      early.length < MAX_EARLY_DTLS
    ) {
      early.push(Buffer.from(data));
    }
  });
  dtls.onStateChange.subscribe((state) => {
    if (state === 'new' || !early) {
      return;
    }
    const kept = early;
    early = undefined;
    sub.unSubscribe();
    if (state === 'connecting' && kept.length > 0) {
      queueMicrotask(() => {
        for (const record of kept) {
          conn.onData.execute(record);
        }
      });
    }
  });
}

const candidateKey = (c: Candidate): string => `${c.component} ${c.transport} ${c.host} ${c.port} ${c.type}`;

/**
 * Workaround 6: mDNS candidates are resolved safely, or not at all; duplicates are dropped, and so
 * is anything past `max` (werift's list restarts empty on an ICE restart).
 */
function guardRemoteCandidates(conn: Connection, enabled: boolean, max: number): void {
  const add = conn.addRemoteCandidate.bind(conn);
  let guarded = false;
  /** `.local` candidates being resolved: not in `remoteCandidates` until their lookup answers. */
  const resolving = new Set<string>();
  conn.addRemoteCandidate = (candidate) => {
    if (candidate) {
      const known = conn.remoteCandidates;
      const key = candidateKey(candidate);
      if (
        known.length + resolving.size >= max ||
        resolving.has(key) ||
        known.some((c) => candidateKey(c) === key)
      ) {
        logger.debug(
          { host: candidate.host, known: known.length },
          'dropped remote candidate (duplicate or over the limit)',
        );
        return Promise.resolve();
      }
    }
    if (!candidate?.host.includes('.local')) {
      return add(candidate);
    }
    if (!enabled) {
      logger.debug({ host: candidate.host }, 'ignored mDNS candidate ([webrtc] mdns = false)');
      return Promise.resolve();
    }
    // Each lookup is a listener on the Connection's one multicast-dns emitter (werift allows 50) held
    // for up to 10 s; a browser sends one `.local` name per interface, so a burst is refused.
    if (resolving.size >= MAX_MDNS_LOOKUPS) {
      logger.debug({ host: candidate.host }, 'dropped mDNS candidate (too many lookups in flight)');
      return Promise.resolve();
    }
    const key = candidateKey(candidate);
    resolving.add(key);
    const pending = add(candidate); // creates conn.lookup synchronously, before its socket can fail
    const mdns = (conn as any).lookup?.mdnsInstance;
    if (mdns && !guarded) {
      guarded = true;
      mdns.on('error', (err: Error) => logger.debug({ err }, 'mDNS resolver error'));
    }
    return pending.finally(() => resolving.delete(key));
  };
}

/** `.local` candidates resolved at once per ICE Connection (workaround 6). */
const MAX_MDNS_LOOKUPS = 8;

const addrKey = (a: Address): string => `${a[0]}:${a[1]}`;
/** Whether a candidate pair's remote address is `addr` (werift's `remoteAddr` getter builds a tuple per call). */
const remoteIs = (pair: { remoteCandidate: { host: string; port: number } }, addr: Address): boolean =>
  pair.remoteCandidate.host === addr[0] && pair.remoteCandidate.port === addr[1];

/**
 * Our sockets for one werift ICE `Connection` (workaround 5), its mux endpoint (UDP and TCP) and
 * its `[webrtc.timeouts]` agent. Created when werift creates the Connection; `attach()` binds and
 * adds the protocols before the first `setLocalDescription`; it detaches when the Connection closes.
 */
class IceAttachment implements MuxEndpoint, TcpEndpoint, MonitoredAgent {
  readonly #conn: any;
  readonly #sockets: PeerSockets;
  #udp: UdpMux | undefined;
  readonly #stun: StunProtocol[] = [];
  readonly #tcp: TcpPassiveProtocol[] = [];
  /** The protocol that last sent to a remote address: its requests and data go back to it. */
  readonly #lastSender = new Map<string, StunProtocol>();
  #activity: IceActivity | undefined;
  /** DTLS/RTP arrived on the selected pair (workaround 8). */
  #dataSeen = false;
  #stopWatch: (() => void) | undefined;
  #attached = false;
  detached = false;

  constructor(conn: Connection, sockets: PeerSockets) {
    this.#conn = conn;
    this.#sockets = sockets;
    conn.stateChanged.subscribe((state) => {
      if (state === 'closed') {
        this.detach();
      }
    });
    if (conn.iceLite) {
      // Workaround 8, before data flows: the latest nominating check selects the pair.
      const c = this.#conn;
      const checkIncoming = c.checkIncoming.bind(c) as (m: any, addr: Address, protocol: unknown) => void;
      c.checkIncoming = (message: any, addr: Address, protocol: unknown) => {
        checkIncoming(message, addr, protocol);
        if (!this.#dataSeen && message.attributesKeys.includes('USE-CANDIDATE')) {
          this.#select(addr, protocol);
        }
      };
    }
  }

  /** Workaround 8: makes the nominated pair of `addr` on `protocol` the selected one. */
  #select(addr: Address, protocol: unknown): void {
    const c = this.#conn;
    const current = c.nominated;
    if (!current || (current.protocol === protocol && remoteIs(current, addr))) {
      return;
    }
    const pair = (c.checkList as any[]).find((p) => p.protocol === protocol && remoteIs(p, addr));
    if (pair?.nominated) {
      logger.debug({ from: current.remoteAddr, to: addr }, 'ICE-lite: selected pair follows the client');
      c.nominated = pair;
    }
  }

  // ---- MuxEndpoint / TcpEndpoint

  password(ufrag: string): string | undefined {
    const c = this.#conn;
    return c.state === 'closed' ? undefined : (c.userHistory[ufrag] as string | undefined);
  }

  get remoteUfrag(): string {
    return this.#conn.remoteUsername as string;
  }

  receive(data: Buffer, from: Address): void {
    const stun = isStun(data);
    let protocol: StunProtocol | undefined;
    if (this.#stun.length > 1 && stun && stunClass(stunType(data)) >= 2) {
      const tid = transactionId(data);
      protocol = this.#stun.find((p) => p.transactions[tid] !== undefined);
    }
    // One UDP protocol (the usual case): it is the one, no lookup by address.
    protocol ??=
      this.#stun.length === 1 ? this.#stun[0] : (this.#lastSender.get(addrKey(from)) ?? this.#stun[0]);
    if (!stun && this.#conn.iceLite) {
      this.#select(from, protocol); // workaround 8: the client sends data on its selected pair
      this.#dataSeen ||= this.#conn.nominated !== undefined;
    }
    this.#noteReceived(from, undefined);
    if (!stun && isSrtp(data)) {
      const ingress = ingresses.get(this.#conn);
      if (ingress) {
        // Workaround 11: straight to our ingress, past werift's protocol and connection events.
        const pair = this.#conn.nominated;
        if (pair) {
          pair.packetsReceived++;
          pair.bytesReceived += data.length;
        }
        ingress(data);
        return;
      }
    }
    (protocol as any)?.datagramReceived(data, from);
  }

  accept(socket: TcpSocket, buffered: Buffer, from: Address): void {
    const local = (socket.localAddress ?? '').replace(/^::ffff:/, '');
    const protocol = this.#tcp.find((p) => p.localCandidate?.host === local) ?? this.#tcp[0];
    if (!protocol || this.detached) {
      socket.destroy();
      return;
    }
    (protocol as any).registerSocket(socket, from);
    socket.unshift(buffered);
    socket.resume();
  }

  // ---- MonitoredAgent

  connected(): boolean {
    const c = this.#conn;
    return (
      c.nominated !== undefined &&
      (c.state === 'connected' || c.state === 'completed' || c.state === 'disconnected')
    );
  }

  finished(): boolean {
    return this.#conn.state === 'closed' || this.#conn.state === 'failed';
  }

  setDisconnected(): void {
    logger.debug({ ufrag: this.#conn.localUsername }, 'ICE disconnected ([webrtc.timeouts] disconnected)');
    this.#conn.setState('disconnected');
  }

  setReconnected(): void {
    if (this.#conn.state === 'disconnected') {
      this.#conn.setState('connected');
    }
  }

  fail(): void {
    logger.info({ ufrag: this.#conn.localUsername }, 'ICE failed: no traffic ([webrtc.timeouts])');
    this.#conn.stopConsentLifecycle?.();
    this.#conn.setState('failed');
  }

  sendKeepalive(): void {
    const pair = this.#conn.nominated;
    if (pair) {
      (pair.protocol as StunProtocol).sendData(bindingIndication(), pair.remoteAddr).catch(() => undefined);
    }
  }

  // ---- lifecycle

  /** Binds the peer's UDP socket and gives the Connection its protocols and host candidates. */
  async attach(): Promise<void> {
    if (this.#attached || this.detached) {
      return;
    }
    this.#attached = true;
    const conn = this.#conn;
    const udp = await this.#sockets.udp();
    if (this.detached) {
      return;
    }
    this.#udp = udp;
    const hosts = this.#sockets.addresses();
    for (const host of hosts) {
      const p = new StunProtocol();
      p.transport = this.#udpTransport(p, udp, host) as any;
      p.localIp = host;
      p.localCandidate = new Candidate(
        candidateFoundation('host', 'udp', host),
        1,
        'udp',
        candidatePriority('host', { transport: 'udp' }),
        host,
        udp.port,
        'host',
        undefined,
        undefined,
        undefined,
        conn.generation,
        conn.localUsername,
      );
      this.#add(p);
      this.#stun.push(p);
    }
    const tcp = this.#sockets.tcp;
    if (tcp) {
      for (const host of hosts) {
        const p = new TcpPassiveProtocol(); // never listens: the TcpMux hands it connections
        p.localIp = host;
        p.localCandidate = new Candidate(
          candidateFoundation('host', 'tcp', host),
          1,
          'tcp',
          candidatePriority('host', { transport: 'tcp', tcptype: 'passive' }),
          host,
          tcp.port,
          'host',
          undefined,
          undefined,
          'passive',
          conn.generation,
          conn.localUsername,
        );
        for (const name of ['sendData', 'sendStun'] as const) {
          const send = p[name].bind(p) as (...a: unknown[]) => Promise<void>;
          (p as any)[name] = (...a: unknown[]) => {
            this.#activity?.sent();
            return send(...a);
          };
        }
        p.onDataReceived.subscribe(() => this.#noteReceived(undefined, p));
        p.onRequestReceived.subscribe((_m, from) => this.#noteReceived(from, p));
        this.#add(p);
        this.#tcp.push(p);
      }
    }
    const watch = this.#sockets.monitor.watch(this);
    this.#activity = watch.activity;
    this.#stopWatch = watch.stop;
    this.index();
  }

  /** Makes the muxes route checks for every ufrag of the Connection (all generations) to us. */
  index(): void {
    if (this.detached || !this.#attached) {
      return;
    }
    for (const ufrag of Object.keys(this.#conn.userHistory as Record<string, string>)) {
      this.#udp?.register(ufrag, this);
      this.#sockets.tcp?.register(ufrag, this);
    }
  }

  detach(): void {
    if (this.detached) {
      return;
    }
    this.detached = true;
    this.#udp?.unregister(this);
    this.#sockets.tcp?.unregister(this);
    this.#stopWatch?.();
    this.#lastSender.clear();
  }

  /**
   * Traffic counts for `[webrtc.timeouts]` only on the selected pair once there is one: a client
   * that lost its path still sends checks on other pairs, which must not keep it alive.
   */
  #noteReceived(from: Address | undefined, tcp: TcpPassiveProtocol | undefined): void {
    const pair = this.#conn.nominated;
    if (
      !pair ||
      ((tcp ? pair.protocol === tcp : pair.protocol.type === 'stun') &&
        (from === undefined || remoteIs(pair, from)))
    ) {
      this.#activity?.received();
    }
  }

  #add(p: StunProtocol | TcpPassiveProtocol): void {
    this.#conn.ensureProtocol(p);
    this.#conn.protocols.push(p);
  }

  /** What werift's StunProtocol needs of a UdpTransport, over the shared socket. */
  #udpTransport(protocol: StunProtocol, udp: UdpMux, host: string) {
    const transport = {
      type: 'udp',
      socket: udp.socket,
      closed: false,
      addressFamily: 4,
      get address() {
        return { address: host, port: udp.port, family: 'IPv4' };
      },
      get host() {
        return host;
      },
      get port() {
        return udp.port;
      },
      onData: () => undefined,
      send: (data: Buffer, addr?: Address): Promise<void> => {
        if (transport.closed || udp.closed || !addr || this.detached) {
          return Promise.resolve();
        }
        this.#activity?.sent();
        this.#lastSender.set(addrKey(addr), protocol);
        udp.send(this, data, addr);
        return Promise.resolve();
      },
      close: (): Promise<void> => {
        transport.closed = true;
        return Promise.resolve();
      },
    };
    return transport;
  }
}

/** Workaround 10: transaction ids a candidate pair remembers to spot retransmitted requests. */
export const MAX_TRANSACTION_IDS = 64;
const noteIncomingRequest = (CandidatePair.prototype as any).noteIncomingRequest as (id: string) => boolean;
(CandidatePair.prototype as any).noteIncomingRequest = function (this: any, id: string): boolean {
  const retransmission = noteIncomingRequest.call(this, id);
  const ids = this.requestTransactionIds as Set<string>;
  if (ids.size > MAX_TRANSACTION_IDS) {
    ids.delete(ids.values().next().value!); // a Set iterates in insertion order: the oldest goes
  }
  return retransmission;
};

/**
 * Workaround 12: Node hands small `Buffer.allocUnsafe`/`Buffer.from` results out of shared 8 KiB
 * slabs, and one live slice keeps its whole slab. werift keeps small buffers for a connection's life
 * (DTLS master secret and handshake messages, SRTP/SRTCP session keys, certificate DER), each from a
 * slab otherwise filled by short-lived ones: a heap snapshot at 150 subscribers held ~1,200 such
 * slabs (9.7 MB) for a few hundred bytes of keys each. 1 KiB slabs keep the pool's speed for the
 * allocations it serves (under 512 bytes) and pin an eighth as much per slab: ArrayBuffer data at
 * 150 subscribers went from 11.6 to 7.9 MB.
 */
export const BUFFER_POOL_SIZE = 1024;
Buffer.poolSize = BUFFER_POOL_SIZE;

/** Workaround 13: every packet of an RTCP compound parsed by werift on its own (RFC 3550 §6.1 lengths). */
export function splitRtcpCompound(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= data.length) {
    const end = pos + 4 + data.readUInt16BE(pos + 2) * 4;
    if (end > data.length) {
      break; // truncated: the rest is garbage
    }
    out.push(data.subarray(pos, end));
    pos = end;
  }
  return out;
}
const rtcpDeSerialize = RtcpPacketConverter.deSerialize.bind(RtcpPacketConverter);
RtcpPacketConverter.deSerialize = (data: Buffer): RtcpPacket[] =>
  splitRtcpCompound(data).flatMap((p) => rtcpDeSerialize(p));

/** Workaround 14: `a=ice-lite` moved from the media sections to the session (RFC 8839 §5.3). */
export function withSessionIceLite(sdp: string): string {
  const at = sdp.indexOf('\r\nm=');
  if (at < 0 || !sdp.includes('\r\na=ice-lite\r\n', at)) {
    return sdp;
  }
  const session = sdp.slice(0, at + 2);
  const media = sdp.slice(at + 2).replaceAll('a=ice-lite\r\n', '');
  return session.includes('\r\na=ice-lite\r\n') ? session + media : `${session}a=ice-lite\r\n${media}`;
}
// eslint-disable-next-line @typescript-eslint/unbound-method -- a getter, called with its own `this` below
const sdpString = Object.getOwnPropertyDescriptor(SessionDescription.prototype, 'string')!.get!;
Object.defineProperty(SessionDescription.prototype, 'string', {
  get(this: SessionDescription): string {
    return withSessionIceLite(sdpString.call(this) as string);
  },
});

// Workaround 15: a DTLS start while one is under way (or done) joins it instead of failing the PC.
const dtlsStarts = new WeakMap<RTCDtlsTransport, Promise<void>>();
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
const dtlsStart = RTCDtlsTransport.prototype.start;
RTCDtlsTransport.prototype.start = function startDtlsOnce(this: RTCDtlsTransport): Promise<void> {
  const running = dtlsStarts.get(this);
  if (running && (this.state === 'connecting' || this.state === 'connected')) {
    return running;
  }
  const started = dtlsStart.call(this);
  dtlsStarts.set(this, started);
  return started;
};

// Workaround 16: the unordered bit of a partially reliable channel's DATA_CHANNEL_OPEN.
const WEBRTC_DCEP = 50;
const UNORDERED = 0x80;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
const dataChannelOpen = RTCSctpTransport.prototype.dataChannelOpen;
RTCSctpTransport.prototype.dataChannelOpen = function openWithOrder(
  this: RTCSctpTransport,
  channel: RTCDataChannel,
): void {
  // The message is queued (and maybe handed to SCTP) inside the call: fix it as it is queued.
  const queue = (this as unknown as { dataChannelQueue: [RTCDataChannel, number, Buffer][] })
    .dataChannelQueue;
  queue.push = function (this: typeof queue, ...items: [RTCDataChannel, number, Buffer][]): number {
    for (const [ch, protocol, data] of items) {
      if (protocol === WEBRTC_DCEP && !ch.ordered && data.length > 1) {
        data[1]! |= UNORDERED;
      }
    }
    return Array.prototype.push.apply(this, items);
  };
  try {
    dataChannelOpen.call(this, channel);
  } finally {
    delete (queue as { push?: unknown }).push; // back to Array.prototype.push
  }
};

// Workaround 3: skip werift's built-in fallback STUN server when the operator configured none.
const gather = (Connection.prototype as any).gatherCandidates as (...a: unknown[]) => Promise<unknown>;
(Connection.prototype as any).gatherCandidates = function (this: any, ...args: unknown[]) {
  const hasStun = (this.options?.stunServer ?? undefined) !== undefined;
  if (!hasStun) {
    this.stunServer = undefined;
  }
  return gather.apply(this, args);
};

type SessionKeys = { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag: Buffer };

/**
 * The SRTP session keys of a DTLS transport, already derived by werift (RFC 3711 KDF): `local` for
 * what we send (Egress), `remote` for what the peer sends (Ingress). `dtls.srtp` is replaced when
 * DTLS restarts, so it doubles as the keys' identity. werift keeps SRTCP and what it sends itself.
 */
export function srtpKeysOf(dtls: RTCDtlsTransport, side: 'local' | 'remote' = 'local'): SrtpSessionKeys {
  const session = dtls.srtp as unknown as {
    config: { profile: number };
    localContext: SessionKeys;
    remoteContext: SessionKeys;
  };
  const c = side === 'local' ? session.localContext : session.remoteContext;
  return {
    profile: session.config.profile,
    key: c.srtpSessionKey,
    salt: c.srtpSessionSalt,
    authKey: c.srtpSessionAuthTag,
  };
}

/** An SRTP (not SRTCP) packet by its first two bytes (RFC 7983 §7, RFC 5761 §4). */
export function isSrtp(data: Buffer): boolean {
  if (data.length < 12) {
    return false;
  }
  const b0 = data[0]!;
  const b1 = data[1]! & 0x7f;
  return b0 >= 128 && b0 <= 191 && !(b1 >= 64 && b1 <= 95);
}

/** Workaround 11: the ingress of each ICE Connection whose SRTP is ours. */
const ingresses = new WeakMap<object, (data: Buffer) => void>();

/**
 * Workaround 11: hands the SRTP packets of `dtls`'s ICE connection to `receive` instead of werift.
 * Returns the detach.
 */
export function attachIngress(dtls: RTCDtlsTransport, receive: (data: Buffer) => void): () => void {
  const conn = dtls.iceTransport.connection as unknown as { onData: { execute: (d: Buffer) => void } };
  ingresses.set(conn, receive);
  const onData = conn.onData;
  const execute = onData.execute;
  // Paths other than the UDP mux (TCP frames may share a buffer: copied, since we decrypt in place).
  onData.execute = (data: Buffer) => (isSrtp(data) ? receive(Buffer.from(data)) : execute(data));
  return () => {
    if (ingresses.get(conn) === receive) {
      ingresses.delete(conn);
      onData.execute = execute;
    }
  };
}

interface NominatedPair {
  protocol?: { transport?: { socket?: UdpSocket & { type?: string } } };
  // (`remoteAddr` is a getter that builds a new tuple per call: read the candidate instead.)
  remoteCandidate?: Remote;
}

/**
 * Sends protected packets on a transport's nominated ICE pair: straight on its UDP socket when it
 * has one (skipping werift's per-send promise chain and address validation), batched with the rest
 * of the fan-out when the native sendmmsg is built; else through werift (TCP framing, TURN).
 * Nothing is sent without a nominated pair. The pair's socket and address are looked up again only
 * when werift nominates another pair (walking werift's objects for every packet showed as 5 % or
 * more of the server's CPU in perf).
 */
export class MediaRoute {
  readonly #dtls: RTCDtlsTransport;
  #pair: NominatedPair | undefined;
  #socket: UdpSocket | undefined;
  #remote: Remote | undefined;

  constructor(dtls: RTCDtlsTransport) {
    this.#dtls = dtls;
  }

  /** Sends `buf[off, off + len)`. */
  send(buf: Buffer, off: number, len: number): void {
    const connection = this.#dtls.iceTransport.connection as unknown as {
      nominated?: NominatedPair;
      send(d: Buffer): Promise<void>;
    };
    const pair = connection.nominated;
    if (pair !== this.#pair) {
      this.#pair = pair;
      const socket = pair?.protocol?.transport?.socket;
      const udp = socket !== undefined && (socket.type === 'udp4' || socket.type === 'udp6');
      this.#socket = udp ? socket : undefined;
      this.#remote = udp ? pair?.remoteCandidate : undefined;
    }
    const socket = this.#socket;
    const remote = this.#remote;
    if (socket && remote) {
      if (udpBatch) {
        udpBatch.queue(socket, buf, off, len, remote);
      } else {
        socket.send(buf.subarray(off, off + len), remote.port, remote.host);
      }
    } else if (pair) {
      connection.send(buf.subarray(off, off + len)).catch(() => undefined);
    }
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

/** A peer connection's transport as statistics show it (the selected ICE pair and the DTLS byte counts). */
export interface TransportStats {
  state: string;
  /** `udp` or `tcp`; candidate types `host`, `srflx`, `prflx`, `relay`: how the client reached us. */
  protocol: string | null;
  localType: string | null;
  remoteType: string | null;
  remoteAddress: string | null;
  /** The last ICE round trip (consent checks; ms), null when not measured (an ICE-lite server sends none). */
  rtt: number | null;
  bytesSent: number;
  bytesReceived: number;
}

/** The selected pair of the PC's (bundled) transport: werift's internals, read only. */
export function transportStats(pc: RTCPeerConnection): TransportStats | undefined {
  const dtls = pc.dtlsTransports[0];
  if (!dtls) {
    return undefined;
  }
  const conn = dtls.iceTransport.connection as any;
  const pair = conn.nominated as
    | {
        protocol: { type?: string; localCandidate?: { type: string; transport: string } };
        remoteCandidate: { type: string; host: string; port: number; transport: string };
        rtt?: number;
      }
    | undefined;
  const local = pair?.protocol.localCandidate;
  return {
    state: String(conn.state),
    protocol: pair ? (local?.transport ?? pair.remoteCandidate.transport).toLowerCase() : null,
    localType: local?.type ?? null,
    remoteType: pair?.remoteCandidate.type ?? null,
    remoteAddress: pair ? `${pair.remoteCandidate.host}:${pair.remoteCandidate.port}` : null,
    rtt: pair?.rtt !== undefined ? Math.round(pair.rtt * 10_000) / 10 : null,
    bytesSent: dtls.bytesSent,
    bytesReceived: dtls.bytesReceived,
  };
}
