// An independent ion-sfu JSON-RPC client: `ws` for signalling, @roamhq/wrtc (libwebrtc) for media.
// Same wire behaviour as ion-sdk-js (reference/ion.md §2a, §2f): publisher PC = target 0 (we offer),
// subscriber PC = target 1 (the server offers), trickle both ways, join resolves on the subscriber's
// `ion-sfu` data channel. Media is synthetic: a 440 Hz sine and a moving 320x240 I420 gradient.
import { createRequire } from 'node:module';
import WebSocket from 'ws';

const require = createRequire(import.meta.url);
// CJS package with a native binding: load it through require.
const wrtc = require('@roamhq/wrtc') as typeof import('@roamhq/wrtc');
const { RTCAudioSource, RTCVideoSource, RTCVideoSink } = wrtc.nonstandard;

// @roamhq/wrtc 0.10 still crashes now and then (SIGSEGV/SIGABRT) in its N-API teardown when the
// process ends on an empty event loop (node-webrtc#636, WonderInventions/node-webrtc#7), which
// node:test reports as a failed file. process.exit() skips that teardown. Registered at
// 'beforeExit' so it runs after every other 'exit' listener; the exit code is kept.
process.once('beforeExit', () => process.once('exit', (code) => process.exit(code)));

type VideoSink = InstanceType<typeof RTCVideoSink>;
type Target = 0 | 1;
const PUBLISHER: Target = 0;
const SUBSCRIBER: Target = 1;

export const API_CHANNEL = 'ion-sfu';
const SAMPLE_RATE = 48000;
const AUDIO_CHUNK_MS = 10;
const VIDEO_WIDTH = 320;
const VIDEO_HEIGHT = 240;
const VIDEO_FRAME_MS = 33;

/** `http://host:port` (Switchboard's `url`) → `ws://host:port/ws`. */
export function wsUrlOf(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/ws`;
}

/**
 * A synthetic camera and microphone: a 48 kHz mono 440 Hz sine in 10 ms chunks and a moving 320x240
 * I420 gradient at 30 fps, as one MediaStream; `timers` feed them (clear them, stop the tracks).
 */
export function syntheticMedia(): { stream: MediaStream; timers: NodeJS.Timeout[] } {
  const audioSource = new RTCAudioSource();
  const videoSource = new RTCVideoSource();
  const stream = new wrtc.MediaStream([audioSource.createTrack(), videoSource.createTrack()]);
  const timers: NodeJS.Timeout[] = [];
  const samplesPerChunk = (SAMPLE_RATE * AUDIO_CHUNK_MS) / 1000;
  let sampleIndex = 0;
  timers.push(
    setInterval(() => {
      const samples = new Int16Array(samplesPerChunk);
      for (let i = 0; i < samples.length; i++, sampleIndex++) {
        // Loud enough (about -10 dBov) for the server's audio-level detector to call it speech.
        samples[i] = Math.round(10000 * Math.sin((2 * Math.PI * 440 * sampleIndex) / SAMPLE_RATE));
      }
      audioSource.onData({ samples, sampleRate: SAMPLE_RATE, bitsPerSample: 16, channelCount: 1 });
    }, AUDIO_CHUNK_MS),
  );
  const lumaSize = VIDEO_WIDTH * VIDEO_HEIGHT;
  const data = new Uint8Array(lumaSize * 1.5).fill(128); // chroma stays grey
  let frameNo = 0;
  timers.push(
    setInterval(() => {
      frameNo++;
      for (let y = 0; y < VIDEO_HEIGHT; y++) {
        data.fill((y + frameNo * 4) & 0xff, y * VIDEO_WIDTH, (y + 1) * VIDEO_WIDTH);
      }
      videoSource.onFrame({ width: VIDEO_WIDTH, height: VIDEO_HEIGHT, data });
    }, VIDEO_FRAME_MS),
  );
  return { stream, timers };
}

/** Counts the frames a received video track decodes (libwebrtc's sink); `stop()` detaches it. */
export function countFrames(track: MediaStreamTrack, onFrame: () => void): { stop(): void } {
  const sink = new RTCVideoSink(track);
  sink.onframe = onFrame;
  return { stop: () => sink.stop() };
}

/** @roamhq/wrtc's RTCPeerConnection (libwebrtc). */
export function newPeerConnection(config: RTCConfiguration = { iceServers: [] }): RTCPeerConnection {
  return new wrtc.RTCPeerConnection(config);
}

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`JSON-RPC error ${code}: ${message}`);
    this.name = 'RpcError';
  }
}

/** A track received on the subscriber PC. `frames` counts decoded video frames at our sink. */
export interface RemoteTrack {
  readonly id: string;
  readonly kind: string;
  readonly streamId: string;
  frames: number;
}

export interface JoinConfig {
  NoPublish?: boolean;
  NoSubscribe?: boolean;
  NoAutoSubscribe?: boolean;
}

interface RpcMessage {
  id?: unknown;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: unknown };
}

export class WrtcPeer {
  readonly publisher: RTCPeerConnection;
  readonly subscriber: RTCPeerConnection;
  /** Received tracks by track id. */
  readonly remoteTracks = new Map<string, RemoteTrack>();
  /** Every `audioLevels` message from the `ion-sfu` channel, oldest first. */
  readonly audioLevels: string[][] = [];
  /** Other data-channel messages (parsed JSON where possible), with their channel label. */
  readonly dataMessages: { label: string; data: unknown }[] = [];
  /** Channels the server opened on our subscriber PC, by label (`ion-sfu` and fanned-out ones). */
  readonly channels = new Map<string, RTCDataChannel>();
  /** Error replies that matched no pending call (errors to our notifications come back with id 0/null). */
  readonly rpcErrors: RpcMessage['error'][] = [];
  /** Stream id of our published media, once `publish()` ran. */
  publishedStreamId: string | undefined;
  /** Extra `join` params (Switchboard's `token`, `password`, `name`). */
  joinExtras: Record<string, unknown> = {};
  /** Server notifications other than `offer` and `trickle` (`participants`, `room.*`), oldest first. */
  readonly notifications: { method: string; params: any }[] = [];
  /** Resolves when the signalling socket closes, with the close code and reason the server sent. */
  readonly socketClosed: Promise<{ code: number; reason: string }>;

  /** Name used in log lines and test messages. */
  readonly label: string;
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly #remoteCandidates: [RTCIceCandidateInit[], RTCIceCandidateInit[]] = [[], []];
  readonly #localCandidates: RTCIceCandidateInit[] = []; // publisher candidates held until `join` is sent
  readonly #sinks: VideoSink[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #localTracks: MediaStreamTrack[] = [];
  #nextId = 1;
  #joinSent = false;
  #subscriberChain: Promise<void> = Promise.resolve();
  #apiChannel: RTCDataChannel | undefined;
  #apiReady: (() => void) | undefined;
  #closed = false;

  private constructor(ws: WebSocket, label: string, rtc: RTCConfiguration = {}) {
    this.#ws = ws;
    this.label = label;
    const config: RTCConfiguration = { iceServers: [], ...rtc };
    this.publisher = new wrtc.RTCPeerConnection(config);
    this.subscriber = new wrtc.RTCPeerConnection(config);
    // Forces m=application in the join offer, as ion-sdk-js does; the server ignores this channel.
    this.publisher.createDataChannel(API_CHANNEL);

    this.publisher.onicecandidate = ({ candidate }) => {
      if (!candidate?.candidate) {
        return;
      }
      if (this.#joinSent) {
        this.#trickle(PUBLISHER, candidate.toJSON());
      } else {
        this.#localCandidates.push(candidate.toJSON());
      }
    };
    this.subscriber.onicecandidate = ({ candidate }) => {
      if (candidate?.candidate) {
        this.#trickle(SUBSCRIBER, candidate.toJSON());
      }
    };
    this.subscriber.ontrack = (ev) => this.#onTrack(ev);
    this.subscriber.ondatachannel = ({ channel }) => {
      this.channels.set(channel.label, channel);
      channel.onmessage = (m: MessageEvent) => this.#onChannelMessage(channel.label, m.data);
      if (channel.label === API_CHANNEL) {
        this.#apiChannel = channel;
        this.#apiReady?.();
      }
    };

    // binaryType is the default 'nodebuffer', so frames arrive as one Buffer.
    ws.on('message', (data) => this.#onSignal((data as Buffer).toString('utf8')));
    ws.on('error', (err) => {
      if (!this.#closed) {
        console.error(`[${this.label}] signalling socket error: ${err.message}`);
      }
    });
    this.socketClosed = new Promise((resolve) => {
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    ws.on('close', () => {
      for (const p of this.#pending.values()) {
        p.reject(new Error(`${this.label}: signalling socket closed`));
      }
      this.#pending.clear();
    });
  }

  /**
   * Opens the signalling socket (`ws://host:port/ws`). `rtc` configures both PCs (`iceServers`,
   * `iceTransportPolicy`; default no ICE servers).
   */
  static async connect(wsUrl: string, label = 'wrtc', rtc: RTCConfiguration = {}): Promise<WrtcPeer> {
    const ws = new WebSocket(wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new WrtcPeer(ws, label, rtc);
  }

  /** The `ion-sfu` data channel on the subscriber PC (after `join`). */
  get apiChannel(): RTCDataChannel | undefined {
    return this.#apiChannel;
  }

  /**
   * Sends a JSON-RPC call and resolves with its result; rejects with `RpcError` on an error reply,
   * or after `timeout` ms (default 20000) without one.
   */
  call<T = unknown>(method: string, params: unknown, timeout = 20000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.label}: no reply to ${method} within ${timeout} ms`));
      }, timeout);
      const settle =
        <A>(f: (a: A) => void) =>
        (a: A): void => {
          clearTimeout(timer);
          f(a);
        };
      this.#pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  notify(method: string, params: unknown): void {
    if (this.#ws.readyState === WebSocket.OPEN) {
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
    }
  }

  /**
   * ion-sfu `join`; resolves when the server's `ion-sfu` data channel arrives on the subscriber PC
   * (as ion-sdk-js's `Client.join` does), rejects if that takes more than `timeout` ms.
   */
  async join(sid: string, uid: string, config?: JoinConfig, timeout = 20000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const apiReady = new Promise<void>((resolve, reject) => {
      this.#apiReady = resolve;
      if (this.#apiChannel) {
        resolve();
      }
      timer = setTimeout(
        () => reject(new Error(`${this.label}: no ion-sfu data channel within ${timeout} ms`)),
        timeout,
      );
    });
    apiReady.catch(() => undefined); // awaited below; not unhandled if the join call fails first
    const offer = await this.publisher.createOffer();
    await this.publisher.setLocalDescription(offer);
    const answerP = this.call<RTCSessionDescriptionInit>('join', {
      sid,
      uid,
      offer: { type: offer.type, sdp: offer.sdp },
      ...(config ? { config } : {}),
      ...this.joinExtras,
    });
    this.#joinSent = true;
    for (const c of this.#localCandidates.splice(0)) {
      this.#trickle(PUBLISHER, c);
    }
    try {
      const answer = await answerP;
      await this.publisher.setRemoteDescription(answer);
      await this.#flushRemoteCandidates(PUBLISHER);
      await apiReady;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Adds a synthetic audio track (48 kHz mono sine, 10 ms chunks) and video track (320x240 I420,
   * one frame per 33 ms) to the publisher PC and renegotiates through the `offer` call.
   */
  async publish(): Promise<void> {
    const media = syntheticMedia();
    this.#localTracks.push(...media.stream.getTracks());
    this.#timers.push(...media.timers);
    this.publishedStreamId = media.stream.id;
    for (const track of media.stream.getTracks()) {
      this.publisher.addTrack(track, media.stream);
    }

    const offer = await this.publisher.createOffer();
    await this.publisher.setLocalDescription(offer);
    const answer = await this.call<RTCSessionDescriptionInit>('offer', {
      desc: { type: offer.type, sdp: offer.sdp },
    });
    await this.publisher.setRemoteDescription(answer);
  }

  /** Frames decoded by our sinks, summed over received video tracks (optionally of one stream). */
  videoFrames(streamId?: string): number {
    let n = 0;
    for (const t of this.remoteTracks.values()) {
      if (t.kind === 'video' && (streamId === undefined || t.streamId === streamId)) {
        n += t.frames;
      }
    }
    return n;
  }

  /** Ids of the streams we receive tracks of. */
  remoteStreamIds(): Set<string> {
    return new Set([...this.remoteTracks.values()].map((t) => t.streamId));
  }

  /**
   * The selected (nominated, succeeded) candidate pair of a PC, from getStats: local and remote
   * candidate type, protocol, address and port; undefined while none is selected.
   */
  async selectedPair(target: Target = SUBSCRIBER): Promise<SelectedPair | undefined> {
    const report = await (target === PUBLISHER ? this.publisher : this.subscriber).getStats();
    const all = new Map<string, Record<string, any>>();
    report.forEach((s: Record<string, any>) => all.set(s.id as string, s));
    let pairId: string | undefined;
    for (const s of all.values()) {
      if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
        pairId = s.selectedCandidatePairId;
      }
    }
    const pair =
      (pairId ? all.get(pairId) : undefined) ??
      [...all.values()].find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    if (!pair) {
      return undefined;
    }
    const side = (id: unknown): CandidateInfo => {
      const c = all.get(id as string) ?? {};
      return { type: c.candidateType, protocol: c.protocol, address: c.address ?? c.ip, port: c.port };
    };
    return { local: side(pair.localCandidateId), remote: side(pair.remoteCandidateId) };
  }

  /** Connectivity-check counters summed over every candidate pair of a PC. */
  async checkCounters(
    target: Target = PUBLISHER,
  ): Promise<{ requestsSent: number; responsesReceived: number }> {
    const report = await (target === PUBLISHER ? this.publisher : this.subscriber).getStats();
    const out = { requestsSent: 0, responsesReceived: 0 };
    report.forEach((s: Record<string, any>) => {
      if (s.type === 'candidate-pair') {
        out.requestsSent += Number(s.requestsSent ?? 0);
        out.responsesReceived += Number(s.responsesReceived ?? 0);
      }
    });
    return out;
  }

  /** `packetsReceived` summed per kind over the subscriber PC's inbound-rtp stats. */
  inboundStats(): Promise<{ audio: number; video: number }> {
    return sumRtpStats(this.subscriber, 'inbound-rtp', 'packetsReceived');
  }

  /** UDP ports of the server's ICE candidates (both PCs' `remote-candidate` stats). */
  async remoteCandidatePorts(): Promise<number[]> {
    const ports = new Set<number>();
    for (const pc of [this.publisher, this.subscriber]) {
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'remote-candidate' && typeof s.port === 'number') {
          ports.add(s.port);
        }
      });
    }
    return [...ports];
  }

  /** `packetsSent` summed per kind over the publisher PC's outbound-rtp stats. */
  outboundStats(): Promise<{ audio: number; video: number }> {
    return sumRtpStats(this.publisher, 'outbound-rtp', 'packetsSent');
  }

  /** Stops sources, sinks and timers, closes both PCs and the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const t of this.#timers.splice(0)) {
      clearInterval(t);
    }
    for (const s of this.#sinks.splice(0)) {
      s.stop();
    }
    for (const t of this.#localTracks.splice(0)) {
      t.stop();
    }
    this.publisher.close();
    this.subscriber.close();
    if (this.#ws.readyState === WebSocket.CLOSED) {
      return;
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.#ws.terminate(), 2000);
      this.#ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      this.#ws.close();
    });
  }

  #trickle(target: Target, candidate: RTCIceCandidateInit): void {
    this.notify('trickle', { target, candidate });
  }

  async #flushRemoteCandidates(target: Target): Promise<void> {
    const pc = target === PUBLISHER ? this.publisher : this.subscriber;
    for (const c of this.#remoteCandidates[target].splice(0)) {
      await pc.addIceCandidate(c);
    }
  }

  #onSignal(text: string): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(text) as RpcMessage;
    } catch {
      console.error(`[${this.label}] unparsable signalling message: ${text.slice(0, 200)}`);
      return;
    }
    if (msg.method === undefined) {
      const pending = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined;
      if (pending && typeof msg.id === 'number') {
        this.#pending.delete(msg.id);
        if (msg.error) {
          pending.reject(new RpcError(msg.error.code, msg.error.message, msg.error.data));
        } else {
          pending.resolve(msg.result);
        }
      } else if (msg.error) {
        console.error(`[${this.label}] error reply: ${JSON.stringify(msg.error)}`);
        this.rpcErrors.push(msg.error);
      }
      return;
    }
    if (msg.method === 'offer') {
      const offer = msg.params as RTCSessionDescriptionInit;
      // Server offers are handled one at a time, in arrival order.
      this.#subscriberChain = this.#subscriberChain
        .then(() => this.#answerSubscriberOffer(offer))
        .catch((err: unknown) => {
          if (!this.#closed) {
            console.error(`[${this.label}] subscriber negotiation failed:`, err);
          }
        });
    } else if (msg.method !== 'trickle') {
      this.notifications.push({ method: msg.method, params: msg.params });
    } else {
      const { target, candidate } = msg.params as { target: Target; candidate: RTCIceCandidateInit };
      const pc = target === PUBLISHER ? this.publisher : this.subscriber;
      if (pc.remoteDescription) {
        pc.addIceCandidate(candidate).catch((err: unknown) => {
          console.error(`[${this.label}] addIceCandidate(target ${target}) failed:`, err);
        });
      } else {
        this.#remoteCandidates[target].push(candidate);
      }
    }
  }

  async #answerSubscriberOffer(offer: RTCSessionDescriptionInit): Promise<void> {
    if (this.#closed) {
      return;
    }
    await this.subscriber.setRemoteDescription(offer);
    await this.#flushRemoteCandidates(SUBSCRIBER);
    const answer = await this.subscriber.createAnswer();
    await this.subscriber.setLocalDescription(answer);
    this.notify('answer', { desc: { type: answer.type, sdp: answer.sdp } });
  }

  #onTrack(ev: RTCTrackEvent): void {
    const { track } = ev;
    const remote: RemoteTrack = {
      id: track.id,
      kind: track.kind,
      streamId: ev.streams[0]?.id ?? '',
      frames: 0,
    };
    this.remoteTracks.set(track.id, remote);
    if (track.kind === 'video') {
      const sink = new RTCVideoSink(track);
      sink.onframe = () => {
        remote.frames++;
      };
      this.#sinks.push(sink);
    }
  }

  #onChannelMessage(label: string, raw: unknown): void {
    let data: unknown = raw;
    if (typeof raw === 'string') {
      try {
        data = JSON.parse(raw);
      } catch {
        // keep the raw string
      }
    }
    const m = data as { method?: unknown; params?: unknown } | null;
    if (label === API_CHANNEL && m?.method === 'audioLevels' && Array.isArray(m.params)) {
      this.audioLevels.push(m.params as string[]);
    } else {
      this.dataMessages.push({ label, data });
    }
  }
}

export interface CandidateInfo {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

export interface SelectedPair {
  local: CandidateInfo;
  remote: CandidateInfo;
}

async function sumRtpStats(
  pc: RTCPeerConnection,
  type: 'inbound-rtp' | 'outbound-rtp',
  field: 'packetsReceived' | 'packetsSent',
): Promise<{ audio: number; video: number }> {
  const totals = { audio: 0, video: 0 };
  const report = await pc.getStats();
  report.forEach((s: Record<string, unknown>) => {
    const kind = s.kind ?? s.mediaType;
    if (s.type === type && (kind === 'audio' || kind === 'video')) {
      totals[kind] += typeof s[field] === 'number' ? s[field] : 0;
    }
  });
  return totals;
}
