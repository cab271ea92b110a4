import { assertVideoCodec } from './codecs.ts';
import type { VideoCodec } from './codecs.ts';
import { Emitter } from './Emitter.ts';
import { InvalidStateError, NegotiationError, RpcError, TimeoutError } from './errors.ts';
import { JsonRpcSocket } from './JsonRpcSocket.ts';
import { Transport } from './Transport.ts';
import { Target } from './types.ts';
import type {
  ClientEvents,
  ClientState,
  CloseReason,
  Layer,
  MediaKind,
  Participant,
  WireDescription,
} from './types.ts';
import { parseChannelMessage, parseDescription, parseParticipants, parseTrickle } from './wire.ts';

/** Label of the API data channel: created by us on the publisher (to get an m=application), by the server on the subscriber. */
const API_CHANNEL = 'ion-sfu';

export interface ClientOptions {
  /** Signalling URL. Default: `ws(s)://<location.host>/ws` of the page. */
  url?: string;
  /**
   * Access token (JWT or Licode token) for servers with `[auth] anonymous = false`; sent as the
   * `access_token` query parameter of the signalling URL. Default: none.
   */
  token?: string;
  /** Configuration of both RTCPeerConnections. Default `{}` (ICE servers: see `serverIceServers`). */
  rtcConfig?: RTCConfiguration;
  /**
   * Before `join`, ask the server for its ICE servers (Switchboard's `iceServers` call: its
   * `[[webrtc.iceserver]]` entries and its TURN server with credentials) and use them on both PCs.
   * Default: true unless `rtcConfig.iceServers` is given.
   */
  serverIceServers?: boolean;
  /**
   * Video codec to publish, put first with `setCodecPreferences`. Default `'vp8'`. One the browser cannot
   * send or the server does not forward (see `usableVideoCodecs`) throws an `UnsupportedCodecError`.
   */
  codec?: VideoCodec;
  /** How long a JSON-RPC call waits for its response. Default 10 000 ms. */
  callTimeoutMs?: number;
  /** How long `join` waits for the result and the server's `ion-sfu` data channel. Default 15 000 ms. */
  joinTimeoutMs?: number;
  /**
   * Rejoin by itself once joined: when the server sends `reconnect` (its media node drains or was lost),
   * the signalling socket closes, or ICE fails, the client joins the same room again as the same user on
   * new PCs (the registry places it on a live node) and republishes its streams; it emits `reconnecting`
   * and `reconnected`, or closes when every attempt failed. `false` closes instead. Default `true`.
   */
  reconnect?: boolean | ReconnectOptions;
}

export interface ReconnectOptions {
  /** Attempts before giving up (the client then closes with its original reason). Default 10. */
  attempts?: number;
  /** Wait before the second attempt (the first goes at once); doubles each time. Default 500 ms. */
  initialDelayMs?: number;
  /** Longest wait between attempts. Default 5000 ms. */
  maxDelayMs?: number;
}

export interface PublishOptions {
  /** Send video as three simulcast layers (rids f / h / q at full, half and quarter size, as ion-sdk-js does). */
  simulcast?: boolean;
}

/** ion-sdk-js's simulcast shape; bitrates sized for camera video up to 720p. */
const SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[] = [
  { rid: 'f', maxBitrate: 1_500_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];

export interface JoinOptions {
  /** Display name shown to the other participants (Switchboard extension of `join`). */
  name?: string;
  /** The room's password, when its host set one (Switchboard extension of `join`). */
  password?: string;
}

interface Published {
  stream: MediaStream;
  transceivers: RTCRtpTransceiver[];
  /** Kept to publish the stream again after a reconnect. */
  options: PublishOptions;
}

/** Per remote stream, what we asked the server to forward (sent whole on every change, as ion-sdk-js does). */
interface RemotePreference {
  video: Layer | 'none';
  audio: boolean;
}

/** After this many failed publisher renegotiations in a row, stop retrying on `negotiationneeded`. */
const MAX_PUBLISHER_FAILURES = 3;

/**
 * A Switchboard / ion-sfu client: JSON-RPC 2.0 over a WebSocket plus two RTCPeerConnections, the publisher
 * (target 0, we offer) and the subscriber (target 1, the server offers), as ion-sdk-js's `Client`.
 *
 * ```ts
 * const client = new Client();
 * client.on('track', (track, stream) => show(stream));
 * await client.join('room', 'alice', { name: 'Alice' });
 * client.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
 * ```
 */
export class Client extends Emitter<ClientEvents> {
  readonly url: string;

  readonly #options: ClientOptions;
  // Both PCs are new after a reconnect.
  #pub!: Transport;
  #sub!: Transport;
  /** Options of the last `join`, for rejoining. */
  #joinOptions: JoinOptions = {};
  /** The room service removed us (`room.kicked`, `room.ended`): the closing socket is final. */
  #removed = false;
  #socket: JsonRpcSocket | undefined;
  #state: ClientState = 'new';
  #sid: string | undefined;
  #uid: string | undefined;
  #participants: Participant[] = [];

  /** Local candidates gathered before the `join` call went out; sent right after it. */
  #joinSent = false;
  #earlyTrickles: { target: Target; candidate: RTCIceCandidateInit }[] = [];

  // Publisher renegotiation: one at a time; a request while busy (or before join) runs after.
  #pubReady = false;
  #pubBusy = false;
  #pubAgain = false;
  #pubFailures = 0;
  readonly #published = new Map<string, Published>();
  /** The id of the track each sender was created with: the msid the server knows, kept across `replaceTrack`. */
  readonly #sentTrackIds = new WeakMap<RTCRtpSender, string>();

  // Subscriber: server offers are answered strictly in order.
  #subChain: Promise<void> = Promise.resolve();
  readonly #remoteStreams = new Map<string, MediaStream>();
  /** Remote track id → stream id, kept because a removed track leaves its stream before we look. */
  readonly #trackStream = new Map<string, string>();
  readonly #remotePrefs = new Map<string, RemotePreference>();

  // The server-created `ion-sfu` data channel on the subscriber PC.
  #api: RTCDataChannel | undefined;
  #apiQueue: string[] = [];
  #apiReady!: Promise<void>;
  #resolveApi!: () => void;
  #rejectApi!: (err: Error) => void;

  constructor(options: ClientOptions = {}) {
    super();
    if (options.codec !== undefined) {
      assertVideoCodec(options.codec);
    }
    this.#options = options;
    this.url = withToken(options.url ?? defaultUrl(), options.token);
    this.#newSession();
  }

  /** Publisher PC (target 0); exposed for `getStats()`. A new one after each reconnect. */
  get publisher(): RTCPeerConnection {
    return this.#pub.pc;
  }

  /** Subscriber PC (target 1); exposed for `getStats()`. A new one after each reconnect. */
  get subscriber(): RTCPeerConnection {
    return this.#sub.pc;
  }

  /** Fresh PCs and per-connection state, for the first join and for each reconnect. */
  #newSession(): void {
    const rtcConfig = this.#options.rtcConfig ?? {};
    const pub = new Transport(Target.Publisher, rtcConfig);
    const sub = new Transport(Target.Subscriber, rtcConfig);
    this.#pub = pub;
    this.#sub = sub;
    this.#apiReady = new Promise<void>((resolve, reject) => {
      this.#resolveApi = resolve;
      this.#rejectApi = reject;
    });
    this.#apiReady.catch(() => undefined);
    this.#api = undefined;
    this.#joinSent = false;
    this.#earlyTrickles = [];
    this.#pubReady = false;
    this.#pubBusy = false;
    this.#pubAgain = false;
    this.#pubFailures = 0;
    this.#subChain = Promise.resolve();
    for (const transport of [pub, sub]) {
      transport.on('candidate', (candidate) => {
        if (transport === this.#pub || transport === this.#sub) {
          this.#sendTrickle(transport.target, candidate);
        }
      });
      transport.on('failed', () => {
        if (transport === this.#pub || transport === this.#sub) {
          this.#lost('ice-failed');
        }
      });
      transport.on('error', (err) => this.emit('error', err));
    }
    // As ion-sdk-js: the server ignores this channel's label on the publisher; it only forces an m=application.
    pub.pc.createDataChannel(API_CHANNEL);
    pub.pc.addEventListener('negotiationneeded', () => {
      if (pub === this.#pub) {
        void this.#negotiatePublisher();
      }
    });
    sub.pc.addEventListener('track', this.#onTrack);
    sub.pc.addEventListener('datachannel', this.#onDataChannel);
  }

  /**
   * The connection to the server is gone (socket closed, ICE failed, or the server said `reconnect`):
   * rejoin when joined and allowed to, else close.
   */
  #lost(reason: CloseReason): void {
    if (this.#state === 'reconnecting' || this.#state === 'closed') {
      return;
    }
    if (this.#state !== 'joined' || this.#options.reconnect === false || this.#removed) {
      this.close(reason);
      return;
    }
    void this.#reconnect(reason);
  }

  async #reconnect(reason: CloseReason): Promise<void> {
    const o = typeof this.#options.reconnect === 'object' ? this.#options.reconnect : {};
    const attempts = o.attempts ?? 10;
    let delay = o.initialDelayMs ?? 500;
    this.#state = 'reconnecting';
    this.emit('reconnecting', reason);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.#endSession();
      if (attempt > 1) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, o.maxDelayMs ?? 5000);
      }
      if (this.closed) {
        return;
      }
      this.#newSession();
      try {
        await this.#joinWithin(this.#sid!, this.#uid!, this.#joinOptions);
      } catch (err) {
        if (this.closed) {
          return;
        }
        this.emit('error', new Error(`reconnect attempt ${attempt} failed`, { cause: err }));
        // A refusal (token, room rules) will not change by trying again.
        const code = err instanceof RpcError ? err.code : undefined;
        if (code === 401 || code === 403) {
          break;
        }
        continue;
      }
      if (this.closed) {
        return;
      }
      this.#state = 'joined';
      const published = [...this.#published.values()];
      this.#published.clear();
      for (const p of published) {
        this.publish(p.stream, p.options);
      }
      // What we asked of remote streams (layers, audio) applies to the new connection too.
      for (const [streamId, pref] of this.#remotePrefs) {
        this.#apiQueue.push(JSON.stringify({ streamId, video: pref.video, audio: pref.audio }));
      }
      this.#flushApi();
      this.emit('reconnected');
      return;
    }
    this.close(reason);
  }

  /** Drops the current socket and PCs (their late events are ignored) and the remote streams. */
  #endSession(): void {
    this.#rejectApi(new InvalidStateError('connection replaced'));
    this.#api?.close();
    this.#api = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.removeAllListeners();
    socket?.close();
    this.#pub.close();
    this.#sub.close();
    for (const id of [...this.#remoteStreams.keys()]) {
      this.#removeRemoteStream(id);
    }
    this.#trackStream.clear();
  }

  get state(): ClientState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Session (room) id given to `join`. */
  get sid(): string | undefined {
    return this.#sid;
  }

  /** Our user id given to `join`. */
  get uid(): string | undefined {
    return this.#uid;
  }

  /** The latest roster from the server (includes ourselves). */
  get participants(): readonly Participant[] {
    return this.#participants;
  }

  /** Streams published with `publish`, by stream id. */
  get localStreams(): MediaStream[] {
    return [...this.#published.values()].map((p) => p.stream);
  }

  /** Remote streams currently received, by stream id. */
  get remoteStreams(): ReadonlyMap<string, MediaStream> {
    return this.#remoteStreams;
  }

  /**
   * Connects, sends `join {sid, uid, offer, name}`, applies the publisher answer, and resolves once the server's
   * `ion-sfu` data channel has arrived on the subscriber PC (as ion-sdk-js does). On failure the client closes
   * with `join-failed` and the promise rejects (an `RpcError` carries the server's `code`).
   */
  async join(sid: string, uid: string, options: JoinOptions = {}): Promise<void> {
    if (this.#state !== 'new') {
      throw new InvalidStateError(`join: client is ${this.#state}`);
    }
    if (typeof sid !== 'string' || sid === '') {
      throw new TypeError('join: sid must be a non-empty string');
    }
    this.#state = 'joining';
    this.#sid = sid;
    this.#uid = uid;
    this.#joinOptions = options;
    try {
      await this.#joinWithin(sid, uid, options);
    } catch (err) {
      this.close('join-failed');
      throw err;
    }
    if (this.#state !== 'joining') {
      throw new InvalidStateError('join: client closed while joining');
    }
    this.#state = 'joined';
  }

  async #joinWithin(sid: string, uid: string, options: JoinOptions): Promise<void> {
    const timeoutMs = this.#options.joinTimeoutMs ?? 15_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`join: not joined within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#join(sid, uid, options), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #join(sid: string, uid: string, options: JoinOptions): Promise<void> {
    const socket = new JsonRpcSocket(this.url, { callTimeoutMs: this.#options.callTimeoutMs ?? 10_000 });
    this.#socket = socket;
    socket.on('notification', this.#onNotification);
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', () => {
      if (socket === this.#socket) {
        this.#lost('socket-closed');
      }
    });
    await socket.opened;
    this.#assertOpen();
    if (this.#options.serverIceServers ?? this.#options.rtcConfig?.iceServers === undefined) {
      await this.#useServerIceServers(socket, uid);
      this.#assertOpen();
    }

    const offer = await this.publisher.createOffer();
    await this.publisher.setLocalDescription(offer);
    this.#assertOpen();
    const params: Record<string, unknown> = { sid, uid, offer: { type: 'offer', sdp: offer.sdp ?? '' } };
    if (options.name !== undefined) {
      params.name = options.name;
    }
    if (options.password !== undefined) {
      params.password = options.password;
    }
    const result = socket.call('join', params, this.#options.joinTimeoutMs ?? 15_000);
    // The server handles messages in order, so candidates sent after `join` find the peer it creates.
    this.#joinSent = true;
    for (const { target, candidate } of this.#earlyTrickles.splice(0)) {
      this.#sendTrickle(target, candidate);
    }
    const answer = parseDescription(await result, 'answer');
    this.#assertOpen();
    await this.#pub.setRemoteDescription(answer);
    this.#pubReady = true;
    if (this.#pubAgain) {
      void this.#negotiatePublisher();
    }
    await this.#apiReady;
  }

  /** Applies the server's ICE servers to both PCs before they gather; a server without the call is fine. */
  async #useServerIceServers(socket: JsonRpcSocket, uid: string): Promise<void> {
    let iceServers: unknown;
    try {
      iceServers = (await socket.call<{ iceServers?: unknown } | null>('iceServers', { uid }))?.iceServers;
    } catch {
      return; // not Switchboard, or refused: gather without them
    }
    if (!Array.isArray(iceServers) || iceServers.length === 0) {
      return;
    }
    for (const pc of [this.publisher, this.subscriber]) {
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: iceServers as RTCIceServer[] });
    }
  }

  /**
   * Adds the stream's tracks to the publisher PC as sendonly transceivers (preferred video codec first) and
   * renegotiates with an `offer` call once joined. Tracks added to the stream later are not published.
   */
  publish(stream: MediaStream, options: PublishOptions = {}): void {
    this.#assertOpen();
    const entry = this.#published.get(stream.id) ?? { stream, transceivers: [], options };
    entry.options = options;
    const sent = new Set(entry.transceivers.map((t) => t.sender.track));
    for (const track of stream.getTracks()) {
      if (sent.has(track)) {
        continue;
      }
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [stream] };
      if (track.kind === 'video' && options.simulcast) {
        init.sendEncodings = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));
      }
      const transceiver = this.publisher.addTransceiver(track, init);
      this.#sentTrackIds.set(transceiver.sender, track.id);
      this.#preferCodec(transceiver, track.kind);
      entry.transceivers.push(transceiver);
    }
    this.#published.set(stream.id, entry);
    this.#pubFailures = 0;
  }

  /** Stops sending one published stream (by stream or id), or all of them; renegotiates. */
  unpublish(stream?: MediaStream | string): void {
    if (this.closed) {
      return;
    }
    const ids =
      stream === undefined ? [...this.#published.keys()] : [typeof stream === 'string' ? stream : stream.id];
    for (const id of ids) {
      const entry = this.#published.get(id);
      if (!entry) {
        continue;
      }
      this.#published.delete(id);
      for (const transceiver of entry.transceivers) {
        // A sender of the PC a reconnect replaced is gone with it (the stream is not republished).
        if (transceiver.sender.track && this.publisher.getSenders().includes(transceiver.sender)) {
          this.publisher.removeTrack(transceiver.sender);
        }
      }
    }
    this.#pubFailures = 0;
  }

  /**
   * Sends `track` in place of the published `old` one (another camera or microphone) on the same sender:
   * no renegotiation, every simulcast layer switches, and the others keep decoding. The published stream
   * holds `track` afterwards (so `mute` and a reconnect use it); stopping `old` is the caller's choice.
   */
  async replaceTrack(old: MediaStreamTrack, track: MediaStreamTrack): Promise<void> {
    this.#assertOpen();
    if (old.kind !== track.kind) {
      throw new TypeError(`replaceTrack: a ${track.kind} track cannot replace a ${old.kind} track`);
    }
    const entry = [...this.#published.values()].find((p) => p.stream.getTracks().includes(old));
    if (!entry) {
      throw new InvalidStateError('replaceTrack: that track is not published');
    }
    const sender = entry.transceivers.find((t) => t.sender.track === old)?.sender;
    await sender?.replaceTrack(track);
    entry.stream.removeTrack(old);
    entry.stream.addTrack(track);
  }

  /**
   * Mutes or unmutes our own audio or video: sets `track.enabled` locally and calls `mute` so the server stops
   * forwarding the track and updates the roster. `streamId` defaults to the first published stream.
   */
  async mute(kind: MediaKind, muted: boolean, streamId?: string): Promise<void> {
    const entry =
      streamId === undefined ? this.#published.values().next().value : this.#published.get(streamId);
    if (!entry) {
      throw new InvalidStateError(
        streamId === undefined ? 'mute: nothing published' : `mute: ${streamId} is not published`,
      );
    }
    const socket = this.#socket;
    if (this.#state !== 'joined' || !socket) {
      throw new InvalidStateError(`mute: client is ${this.#state}`);
    }
    if (kind !== 'audio' && kind !== 'video') {
      throw new TypeError(`mute: kind must be 'audio' or 'video'`);
    }
    for (const track of entry.stream.getTracks()) {
      if (track.kind === kind) {
        track.enabled = !muted;
      }
    }
    await socket.call('mute', { streamId: entry.stream.id, kind, muted });
  }

  /**
   * Dynacast: the server tells which simulcast layers of one of our tracks anybody may receive; the
   * others are paused here (`active: false`) and resumed as soon as someone wants them.
   */
  #onLayers(params: unknown): void {
    const p = params as { trackId?: unknown; active?: unknown };
    if (typeof p?.trackId !== 'string' || !Array.isArray(p.active)) {
      return;
    }
    const active = new Set(p.active.filter((r): r is string => typeof r === 'string'));
    for (const t of this.publisher.getTransceivers()) {
      const sender = t.sender;
      if ((this.#sentTrackIds.get(sender) ?? sender.track?.id) !== p.trackId) {
        continue;
      }
      const params = sender.getParameters();
      if (!params.encodings.some((e) => e.rid)) {
        continue;
      }
      for (const e of params.encodings) {
        e.active = e.rid !== undefined && active.has(e.rid);
      }
      sender
        .setParameters(params)
        .catch((err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
    }
  }

  /**
   * Calls one of the server's other JSON-RPC methods by name, e.g. the room service's `room.peers`,
   * `room.message` or `room.kick`; rejects with an `RpcError` carrying the server's code (401, 403, …).
   * Their notifications (`room.peer`, `room.message`, …) arrive as `notification` events.
   */
  async call<T = unknown>(method: string, params: unknown = {}): Promise<T> {
    const socket = this.#socket;
    if (this.#state !== 'joined' || !socket) {
      throw new InvalidStateError(`call: client is ${this.#state}`);
    }
    return socket.call<T>(method, params);
  }

  /** Asks the server for a simulcast layer of a remote stream's video, or `'none'` to stop its video. */
  preferLayer(streamId: string, layer: Layer | 'none'): void {
    this.#setRemotePreference(streamId, { video: layer });
  }

  /** Asks the server to forward (or not) a remote stream's audio. */
  setRemoteAudio(streamId: string, enabled: boolean): void {
    this.#setRemotePreference(streamId, { audio: enabled });
  }

  /** Closes the data channel, both PCs and the socket. Idempotent; emits `close` once. */
  close(reason: CloseReason = 'client-leave'): void {
    if (this.#state === 'closed') {
      return;
    }
    this.#state = 'closed';
    this.#rejectApi(new InvalidStateError(`client closed (${reason})`));
    this.#api?.close();
    this.#api = undefined;
    this.#apiQueue = [];
    this.#earlyTrickles = [];
    this.#pub.close();
    this.#sub.close();
    this.#socket?.close();
    this.#published.clear();
    this.#remoteStreams.clear();
    this.#trackStream.clear();
    this.#remotePrefs.clear();
    this.emit('close', reason);
    this.removeAllListeners();
  }

  #assertOpen(): void {
    if (this.#state === 'closed') {
      throw new InvalidStateError('client closed');
    }
  }

  #sendTrickle(target: Target, candidate: RTCIceCandidateInit): void {
    if (this.closed) {
      return;
    }
    if (!this.#joinSent) {
      this.#earlyTrickles.push({ target, candidate });
      return;
    }
    const socket = this.#socket;
    if (socket && !socket.closed) {
      socket.notify('trickle', { target, candidate });
    }
  }

  readonly #onNotification = (method: string, params: unknown): void => {
    try {
      switch (method) {
        case 'offer':
          this.#onServerOffer(parseDescription(params, 'offer'));
          return;
        case 'trickle': {
          const { target, candidate } = parseTrickle(params);
          void (target === Target.Publisher ? this.#pub : this.#sub).addRemoteCandidate(candidate);
          return;
        }
        case 'participants':
          this.#onParticipants(parseParticipants(params));
          return;
        case 'layers':
          this.#onLayers(params);
          return;
        case 'reconnect':
          // Switchboard: this media node drains or was lost; the server closes the socket next.
          this.emit('notification', method, params);
          this.#lost('server-reconnect');
          return;
        case 'room.kicked':
        case 'room.ended':
          this.#removed = true;
          this.emit('notification', method, params);
          return;
        default:
          this.emit('notification', method, params);
      }
    } catch (err) {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    }
  };

  #onServerOffer(offer: WireDescription): void {
    this.#subChain = this.#subChain
      .then(() => this.#answerSubscriber(offer))
      .catch((err: unknown) => {
        if (!this.closed) {
          this.emit('error', new NegotiationError('subscriber negotiation failed', { cause: err }));
        }
      });
  }

  async #answerSubscriber(offer: WireDescription): Promise<void> {
    if (this.closed) {
      return;
    }
    await this.#sub.setRemoteDescription(offer);
    const answer = await this.subscriber.createAnswer();
    await this.subscriber.setLocalDescription(answer);
    if (this.closed) {
      return;
    }
    this.#socket?.notify('answer', { desc: { type: 'answer', sdp: answer.sdp ?? '' } });
    this.#sweepRemoteStreams();
  }

  async #negotiatePublisher(): Promise<void> {
    if (this.closed) {
      return;
    }
    if (!this.#pubReady || this.#pubBusy) {
      this.#pubAgain = true;
      return;
    }
    if (this.#pubFailures >= MAX_PUBLISHER_FAILURES) {
      return;
    }
    this.#pubBusy = true;
    try {
      do {
        this.#pubAgain = false;
        await this.#renegotiatePublisherOnce();
      } while (this.#pubAgain && !this.closed);
      this.#pubFailures = 0;
    } catch (err) {
      this.#pubFailures++;
      if (!this.closed) {
        this.emit('error', new NegotiationError('publisher renegotiation failed', { cause: err }));
      }
    } finally {
      this.#pubBusy = false;
    }
  }

  async #renegotiatePublisherOnce(): Promise<void> {
    const pc = this.publisher;
    const socket = this.#socket;
    if (!socket || pc.signalingState !== 'stable') {
      return;
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    let result: unknown;
    try {
      result = await socket.call('offer', { desc: { type: 'offer', sdp: offer.sdp ?? '' } });
    } catch (err) {
      // Back to stable, so a later renegotiation can start from a clean state.
      if (!this.closed) {
        await pc.setLocalDescription({ type: 'rollback' }).catch(() => undefined);
      }
      throw err;
    }
    if (this.closed) {
      return;
    }
    await this.#pub.setRemoteDescription(parseDescription(result, 'answer'));
  }

  #preferCodec(transceiver: RTCRtpTransceiver, kind: string): void {
    if (typeof transceiver.setCodecPreferences !== 'function' || typeof RTCRtpReceiver === 'undefined') {
      return;
    }
    // Receiver capabilities: older Chrome checks preferences against them even for sendonly transceivers.
    const codecs = RTCRtpReceiver.getCapabilities(kind)?.codecs;
    if (!codecs) {
      return;
    }
    const wanted = kind === 'video' ? `video/${this.#options.codec ?? 'vp8'}` : 'audio/opus';
    const first = codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
    if (first.length === 0) {
      return;
    }
    try {
      transceiver.setCodecPreferences([...first, ...codecs.filter((c) => !first.includes(c))]);
    } catch {
      // The browser's default order still works; the preference is an optimisation only.
    }
  }

  readonly #onTrack = (ev: RTCTrackEvent): void => {
    if (this.closed) {
      return;
    }
    const track = ev.track;
    const stream = ev.streams[0] ?? new MediaStream([track]);
    this.#trackStream.set(track.id, stream.id);
    if (this.#remoteStreams.get(stream.id) !== stream) {
      this.#remoteStreams.set(stream.id, stream);
      stream.addEventListener('removetrack', () => {
        if (stream.getTracks().length === 0 && this.#remoteStreams.get(stream.id) === stream) {
          this.#removeRemoteStream(stream.id);
        }
      });
    }
    this.emit('track', track, stream);
  };

  /** After each subscriber answer: a stream none of whose transceivers still receives is gone. */
  #sweepRemoteStreams(): void {
    const live = new Set<string>();
    for (const transceiver of this.subscriber.getTransceivers()) {
      const direction = transceiver.currentDirection;
      if (direction !== 'recvonly' && direction !== 'sendrecv') {
        continue;
      }
      const streamId = this.#trackStream.get(transceiver.receiver.track.id);
      if (streamId !== undefined) {
        live.add(streamId);
      }
    }
    for (const id of [...this.#remoteStreams.keys()]) {
      if (!live.has(id)) {
        this.#removeRemoteStream(id);
      }
    }
  }

  #removeRemoteStream(streamId: string): void {
    if (!this.#remoteStreams.delete(streamId)) {
      return;
    }
    for (const [trackId, id] of this.#trackStream) {
      if (id === streamId) {
        this.#trackStream.delete(trackId);
      }
    }
    this.#remotePrefs.delete(streamId);
    this.emit('streamremoved', streamId);
  }

  #onParticipants(peers: Participant[]): void {
    const before = new Set(this.#participants.flatMap((p) => p.streams.map((s) => s.streamId)));
    this.#participants = peers;
    const after = new Set(peers.flatMap((p) => p.streams.map((s) => s.streamId)));
    // Only a stream the roster listed and then dropped counts: a track may arrive before the roster names it.
    for (const id of before) {
      if (!after.has(id)) {
        this.#removeRemoteStream(id);
      }
    }
    this.emit('participants', peers);
  }

  readonly #onDataChannel = (ev: RTCDataChannelEvent): void => {
    const channel = ev.channel;
    if (channel.label !== API_CHANNEL) {
      this.emit('datachannel', channel);
      return;
    }
    this.#api = channel;
    channel.addEventListener('message', (msg: MessageEvent) => {
      if (typeof msg.data !== 'string') {
        return;
      }
      try {
        const parsed = parseChannelMessage(msg.data);
        if (parsed.kind === 'audioLevels') {
          this.emit('speaker', parsed.streamIds);
        } else if (parsed.kind === 'activeLayer') {
          this.emit('activelayer', parsed.layer);
        }
      } catch (err) {
        this.emit('error', new Error('bad ion-sfu data channel message', { cause: err }));
      }
    });
    if (channel.readyState === 'open') {
      this.#flushApi();
    } else {
      channel.addEventListener('open', () => this.#flushApi(), { once: true });
    }
    this.#resolveApi();
  };

  #setRemotePreference(streamId: string, change: Partial<RemotePreference>): void {
    this.#assertOpen();
    const pref = { ...(this.#remotePrefs.get(streamId) ?? { video: 'high', audio: true }), ...change };
    this.#remotePrefs.set(streamId, pref);
    this.#apiQueue.push(JSON.stringify({ streamId, video: pref.video, audio: pref.audio }));
    this.#flushApi();
  }

  #flushApi(): void {
    const api = this.#api;
    if (!api || api.readyState !== 'open') {
      return;
    }
    for (const text of this.#apiQueue.splice(0)) {
      api.send(text);
    }
  }
}

/** Adds `access_token` to the signalling URL (ion-sdk-js style servers read it from the query). */
function withToken(url: string, token: string | undefined): string {
  if (token === undefined || token === '') {
    return url;
  }
  const u = new URL(url);
  u.searchParams.set('access_token', token);
  return u.toString();
}

function defaultUrl(): string {
  if (typeof location === 'undefined') {
    throw new TypeError('Client: options.url is required outside a browser page');
  }
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}
