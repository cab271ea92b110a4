// The browser side of test/e2e/livekit.test.ts: npm `livekit-client` 2.23.0, unchanged, bundled with this
// file by esbuild at test time (test/helpers/livekit.ts), driven through `window.lk` by page.evaluate.
// It uses the SDK as an application would: `new Room()` with default options, `connect(url, token)`,
// `enableCameraAndMicrophone()`, `publishData`, `setMicrophoneEnabled`, `disconnect()`; and it records
// the room's events with the participants' identities, and what each remote video element shows.
import {
  ConnectionError,
  ConnectionErrorReason,
  DataPacket_Kind,
  DisconnectReason,
  LogLevel,
  Room,
  RoomEvent,
  Track,
  setLogLevel,
  type Participant,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type RoomConnectOptions,
  type RoomOptions,
  type TrackPublication,
} from 'livekit-client';

/** One recorded room event; `at` is performance.now() in ms. */
export interface LkEvent {
  type:
    | 'connected'
    | 'participantConnected'
    | 'participantDisconnected'
    | 'trackSubscribed'
    | 'trackUnsubscribed'
    | 'trackMuted'
    | 'trackUnmuted'
    | 'activeSpeakers'
    | 'data'
    | 'disconnected'
    | 'reconnecting'
    | 'reconnected';
  at: number;
  /** The participant the event is about (the sender for `data`). */
  identity?: string;
  /** A track's source (`camera`, `microphone`) and kind. */
  source?: string;
  kind?: string;
  /** activeSpeakers: the speakers' identities, loudest first. */
  speakers?: string[];
  /** data: the payload as text, its topic, and whether it came on the reliable channel. */
  text?: string;
  topic?: string;
  reliable?: boolean;
  /** disconnected: DisconnectReason's name. */
  reason?: string;
}

/** What one remote video element has shown, and its receiver's inbound-rtp stats. */
export interface RemoteVideo {
  identity: string;
  trackSid: string;
  /** requestVideoFrameCallback calls: frames presented by the <video> element. */
  frames: number;
  /** performance.now() of the first presented frame, or null. */
  firstFrameAt: number | null;
  videoWidth: number;
  videoHeight: number;
  framesDecoded: number;
  frameWidth: number;
  /** More of inbound-rtp, for failure messages. */
  packetsReceived: number;
  keyFramesDecoded: number;
  pliCount: number;
  firCount: number;
  nackCount: number;
  framesDropped: number;
  framesReceived: number;
  freezeCount: number;
  /** The <video> element: paused, readyState, getVideoPlaybackQuality() totals. */
  paused: boolean;
  readyState: number;
  totalVideoFrames: number;
  droppedVideoFrames: number;
}

/** A refused or failed call: the SDK's error class name, message, and ConnectionError reason/status. */
export interface LkError {
  name: string;
  message: string;
  reason?: string;
  status?: number;
}

export interface LkHarness {
  connect(
    url: string,
    token: string,
    roomOptions?: RoomOptions,
    connectOptions?: RoomConnectOptions,
  ): Promise<{ connectMs: number } | { error: LkError }>;
  publish(): Promise<{ sources: string[] } | { error: LkError }>;
  setMicrophone(enabled: boolean): Promise<void>;
  setCamera(enabled: boolean): Promise<void>;
  sendData(
    text: string,
    opts: { reliable?: boolean; destinationIdentities?: string[]; topic?: string },
  ): Promise<void>;
  disconnect(): Promise<void>;
  /** Identities of the remote participants and the sids/sources of their publications. */
  remotes(): {
    identity: string;
    name: string;
    sid: string;
    tracks: { sid: string; source: string; subscribed: boolean }[];
  }[];
  videos(): Promise<RemoteVideo[]>;
  /** The remote audio tracks' receivers: packets, and energy (> 0 once something audible decoded). */
  audios(): Promise<{ identity: string; packetsReceived: number; totalAudioEnergy: number }[]>;
  /** The local camera's sender: its negotiated encodings and its outbound-rtp streams. */
  camera(): Promise<{
    encodings: { rid: string | null; active: boolean }[];
    outbound: { rid: string | null; bytesSent: number; frameWidth: number }[];
  } | null>;
  events: LkEvent[];
  state(): {
    state: string;
    identity: string;
    sid: string;
    connectStartedAt: number | null;
    /**
     * performance.now() when the last connect()'s answer from /rtc/v1/validate had arrived (the SDK's
     * probe before falling back to /rtc), from Resource Timing; null if it made none.
     */
    probeAnsweredAt: number | null;
  };
}

declare global {
  interface Window {
    lk: LkHarness;
  }
}

setLogLevel(LogLevel.debug);

function describeError(err: unknown): LkError {
  if (err instanceof ConnectionError) {
    // Room.connect re-wraps the engine's error: `reason` and `status` are copied, `reasonName` is not.
    return {
      name: err.name,
      message: err.message,
      reason: ConnectionErrorReason[err.reason] ?? String(err.reason),
      status: err.status,
    };
  }
  if (err instanceof Error) {
    return { name: err.name, message: err.message };
  }
  return { name: 'unknown', message: String(err) };
}

let room: Room | undefined;
let connectStartedAt: number | null = null;
const events: LkEvent[] = [];
const audios = new Map<string, { identity: string; track: RemoteTrack; el: HTMLMediaElement }>();
const videos = new Map<
  string,
  { identity: string; track: RemoteTrack; el: HTMLVideoElement; frames: number; firstFrameAt: number | null }
>();

function record(e: Omit<LkEvent, 'at'>): void {
  events.push({ at: performance.now(), ...e });
}

function pubInfo(pub: TrackPublication): { source: string; kind: string } {
  return { source: pub.source, kind: pub.kind };
}

function watchVideo(track: RemoteTrack, sid: string, participant: RemoteParticipant): void {
  const el = track.attach() as HTMLVideoElement;
  el.muted = true;
  el.autoplay = true;
  el.playsInline = true;
  el.width = 160;
  el.dataset.identity = participant.identity;
  document.body.appendChild(el);
  const entry = { identity: participant.identity, track, el, frames: 0, firstFrameAt: null as number | null };
  videos.set(sid, entry);
  const onFrame = (): void => {
    entry.frames += 1;
    entry.firstFrameAt ??= performance.now();
    if (videos.get(sid) === entry) {
      el.requestVideoFrameCallback(onFrame);
    }
  };
  el.requestVideoFrameCallback(onFrame);
}

function listen(r: Room): void {
  r.on(RoomEvent.Connected, () => record({ type: 'connected' }))
    .on(RoomEvent.Reconnecting, () => record({ type: 'reconnecting' }))
    .on(RoomEvent.Reconnected, () => record({ type: 'reconnected' }))
    .on(RoomEvent.ParticipantConnected, (p: RemoteParticipant) =>
      record({ type: 'participantConnected', identity: p.identity }),
    )
    .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) =>
      record({ type: 'participantDisconnected', identity: p.identity }),
    )
    .on(
      RoomEvent.TrackSubscribed,
      (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        record({ type: 'trackSubscribed', identity: p.identity, ...pubInfo(pub) });
        if (track.kind === Track.Kind.Video) {
          watchVideo(track, pub.trackSid, p);
        } else if (track.kind === Track.Kind.Audio) {
          // Played, as an app does: Chrome decodes remote audio only for a sink that pulls it.
          const el = track.attach();
          el.dataset.identity = p.identity;
          document.body.appendChild(el);
          audios.set(pub.trackSid, { identity: p.identity, track, el });
        }
      },
    )
    .on(
      RoomEvent.TrackUnsubscribed,
      (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
        record({ type: 'trackUnsubscribed', identity: p.identity, ...pubInfo(pub) });
        const v = videos.get(pub.trackSid);
        if (v) {
          v.el.remove();
          videos.delete(pub.trackSid);
        }
        audios.get(pub.trackSid)?.el.remove();
        audios.delete(pub.trackSid);
      },
    )
    .on(RoomEvent.TrackMuted, (pub: TrackPublication, p: Participant) =>
      record({ type: 'trackMuted', identity: p.identity, ...pubInfo(pub) }),
    )
    .on(RoomEvent.TrackUnmuted, (pub: TrackPublication, p: Participant) =>
      record({ type: 'trackUnmuted', identity: p.identity, ...pubInfo(pub) }),
    )
    .on(RoomEvent.ActiveSpeakersChanged, (speakers: Participant[]) =>
      record({ type: 'activeSpeakers', speakers: speakers.map((s) => s.identity) }),
    )
    .on(RoomEvent.DataReceived, (payload, participant, kind, topic, _enc, participantIdentity) =>
      record({
        type: 'data',
        identity: participant?.identity ?? participantIdentity,
        text: new TextDecoder().decode(payload),
        topic,
        reliable: kind === DataPacket_Kind.RELIABLE,
      }),
    )
    .on(RoomEvent.Disconnected, (reason?: DisconnectReason) =>
      record({
        type: 'disconnected',
        reason: reason === undefined ? 'undefined' : (DisconnectReason[reason] ?? String(reason)),
      }),
    );
}

const INBOUND = [
  'framesDecoded',
  'packetsReceived',
  'keyFramesDecoded',
  'pliCount',
  'firCount',
  'nackCount',
  'framesDropped',
  'framesReceived',
  'freezeCount',
] as const;
type Inbound = Record<(typeof INBOUND)[number] | 'frameWidth', number>;

async function inbound(track: RemoteTrack): Promise<Inbound> {
  const report = await track.getRTCStatsReport();
  const out: Inbound = {
    framesDecoded: 0,
    packetsReceived: 0,
    keyFramesDecoded: 0,
    pliCount: 0,
    firCount: 0,
    nackCount: 0,
    framesDropped: 0,
    framesReceived: 0,
    freezeCount: 0,
    frameWidth: 0,
  };
  report?.forEach((s: Record<string, unknown>) => {
    if (s.type === 'inbound-rtp') {
      for (const k of INBOUND) {
        out[k] += typeof s[k] === 'number' ? s[k] : 0;
      }
      out.frameWidth = Math.max(out.frameWidth, typeof s.frameWidth === 'number' ? s.frameWidth : 0);
    }
  });
  return out;
}

function need(): Room {
  if (!room) {
    throw new Error('not connected: call lk.connect first');
  }
  return room;
}

window.lk = {
  events,
  async connect(url, token, roomOptions, connectOptions) {
    room = new Room(roomOptions);
    listen(room);
    connectStartedAt = performance.now();
    try {
      await room.connect(url, token, connectOptions);
      return { connectMs: performance.now() - connectStartedAt };
    } catch (err) {
      return { error: describeError(err) };
    }
  },
  async publish() {
    const r = need();
    try {
      await r.localParticipant.enableCameraAndMicrophone();
      return { sources: [...r.localParticipant.trackPublications.values()].map((p) => p.source).sort() };
    } catch (err) {
      return { error: describeError(err) };
    }
  },
  async setMicrophone(enabled) {
    await need().localParticipant.setMicrophoneEnabled(enabled);
  },
  async setCamera(enabled) {
    await need().localParticipant.setCameraEnabled(enabled);
  },
  async sendData(text, opts) {
    await need().localParticipant.publishData(new TextEncoder().encode(text), opts);
  },
  async disconnect() {
    await need().disconnect();
  },
  remotes() {
    return [...need().remoteParticipants.values()].map((p) => ({
      identity: p.identity,
      name: p.name ?? '',
      sid: p.sid,
      tracks: [...p.trackPublications.values()].map((t) => ({
        sid: t.trackSid,
        source: t.source,
        subscribed: t.isSubscribed,
      })),
    }));
  },
  async videos() {
    const out: RemoteVideo[] = [];
    for (const [sid, v] of videos) {
      const st = await inbound(v.track);
      out.push({
        identity: v.identity,
        trackSid: sid,
        frames: v.frames,
        firstFrameAt: v.firstFrameAt,
        videoWidth: v.el.videoWidth,
        videoHeight: v.el.videoHeight,
        paused: v.el.paused,
        readyState: v.el.readyState,
        totalVideoFrames: v.el.getVideoPlaybackQuality().totalVideoFrames,
        droppedVideoFrames: v.el.getVideoPlaybackQuality().droppedVideoFrames,
        ...st,
      });
    }
    return out;
  },
  async audios() {
    const out: { identity: string; packetsReceived: number; totalAudioEnergy: number }[] = [];
    for (const a of audios.values()) {
      const report = await a.track.getRTCStatsReport();
      let packetsReceived = 0;
      let totalAudioEnergy = 0;
      report?.forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp') {
          packetsReceived += typeof s.packetsReceived === 'number' ? s.packetsReceived : 0;
          totalAudioEnergy += typeof s.totalAudioEnergy === 'number' ? s.totalAudioEnergy : 0;
        }
      });
      out.push({ identity: a.identity, packetsReceived, totalAudioEnergy });
    }
    return out;
  },
  async camera() {
    const sender = need().localParticipant.getTrackPublication(Track.Source.Camera)?.track?.sender;
    if (!sender) {
      return null;
    }
    const outbound: { rid: string | null; bytesSent: number; frameWidth: number }[] = [];
    (await sender.getStats()).forEach((s: Record<string, unknown>) => {
      if (s.type === 'outbound-rtp') {
        outbound.push({
          rid: typeof s.rid === 'string' ? s.rid : null,
          bytesSent: typeof s.bytesSent === 'number' ? s.bytesSent : 0,
          frameWidth: typeof s.frameWidth === 'number' ? s.frameWidth : 0,
        });
      }
    });
    return {
      encodings: sender
        .getParameters()
        .encodings.map((e) => ({ rid: e.rid ?? null, active: e.active !== false })),
      outbound,
    };
  },
  state() {
    return {
      state: room?.state ?? 'none',
      identity: room?.localParticipant.identity ?? '',
      sid: room?.localParticipant.sid ?? '',
      connectStartedAt,
      probeAnsweredAt:
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/rtc/v1/validate') && e.startTime >= (connectStartedAt ?? 0))
          .map((e) => (e as PerformanceResourceTiming).responseEnd)
          .pop() ?? null,
    };
  },
};
