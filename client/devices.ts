/**
 * Cameras, microphones and speakers: list them, open a preview, measure a microphone's level, play
 * remote audio on a chosen speaker, and switch the camera or microphone of a call without leaving it
 * (`switchDevice`, through `Client.replaceTrack`: the others keep decoding).
 */
import type { Client } from './Client.ts';
import type { MediaKind } from './types.ts';

/** The devices of one kind, as `enumerateDevices` lists them (labels are empty until a permission). */
export interface DeviceList {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  /** Audio outputs; empty where the browser cannot choose one (`setSinkId` missing, e.g. Firefox < 116). */
  speakers: MediaDeviceInfo[];
}

/** What to open: a device id per kind, `false` for none. Default: the default device of each. */
export interface MediaChoice {
  /** Camera `deviceId`, `true` for the default camera, `false` for no video. Default `true`. */
  camera?: string | boolean;
  /** Microphone `deviceId`, `true` for the default, `false` for no audio. Default `true`. */
  microphone?: string | boolean;
  /** Extra video constraints (size, frame rate). Default: 960x540 at 30 fps, what simulcast wants. */
  video?: MediaTrackConstraints;
}

/** 960x540: below that Chrome drops the smallest of three simulcast layers. */
export const DEFAULT_VIDEO: MediaTrackConstraints = {
  width: { ideal: 960 },
  height: { ideal: 540 },
  frameRate: { ideal: 30 },
};

/** Lists cameras, microphones and (where choosable) speakers. */
export async function listDevices(): Promise<DeviceList> {
  const all = await navigator.mediaDevices.enumerateDevices();
  const of = (kind: MediaDeviceKind) => all.filter((d) => d.kind === kind && d.deviceId !== '');
  return {
    cameras: of('videoinput'),
    microphones: of('audioinput'),
    speakers: canChooseSpeaker() ? of('audiooutput') : [],
  };
}

/** Calls `listener` whenever a device is plugged in or out; returns a function that stops it. */
export function onDeviceChange(listener: () => void): () => void {
  navigator.mediaDevices.addEventListener('devicechange', listener);
  return () => navigator.mediaDevices.removeEventListener('devicechange', listener);
}

function constraintFor(choice: string | boolean | undefined, extra: MediaTrackConstraints = {}) {
  if (choice === false) {
    return false;
  }
  return typeof choice === 'string' && choice !== ''
    ? { ...extra, deviceId: { exact: choice } }
    : { ...extra };
}

/**
 * Opens camera and microphone as chosen (for a preview, then to publish). A device that cannot be
 * opened is left out rather than failing the other: the stream may have one kind of track, or none
 * (then `errors` says why, e.g. `NotAllowedError`).
 */
export async function openMedia(choice: MediaChoice = {}): Promise<{ stream: MediaStream; errors: Error[] }> {
  const video = constraintFor(choice.camera, choice.video ?? DEFAULT_VIDEO);
  const audio = constraintFor(choice.microphone);
  const errors: Error[] = [];
  const attempts: MediaStreamConstraints[] = [{ audio, video }];
  if (audio !== false && video !== false) {
    attempts.push({ audio }, { video });
  }
  for (const constraints of attempts) {
    if (constraints.audio === false && constraints.video === false) {
      break;
    }
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints), errors };
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
    }
  }
  return { stream: new MediaStream(), errors };
}

/** Opens one new track of `kind` from `deviceId` (the default device when empty). */
export async function openTrack(
  kind: MediaKind,
  deviceId: string,
  video: MediaTrackConstraints = DEFAULT_VIDEO,
): Promise<MediaStreamTrack> {
  const constraints: MediaStreamConstraints =
    kind === 'video'
      ? { video: constraintFor(deviceId || true, video) }
      : { audio: constraintFor(deviceId || true) };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
  if (!track) {
    throw new Error(`no ${kind} track from the device`);
  }
  return track;
}

/**
 * Replaces the published camera or microphone track with one from another device (or with `track`
 * itself, e.g. a canvas capture), keeping its mute state; the old track is stopped. The others keep
 * decoding: the same sender sends the new track (all simulcast layers), no renegotiation.
 */
export async function switchDevice(
  client: Client,
  kind: MediaKind,
  device: string | MediaStreamTrack,
  options: { streamId?: string; video?: MediaTrackConstraints } = {},
): Promise<MediaStreamTrack> {
  const stream =
    options.streamId === undefined
      ? client.localStreams[0]
      : client.localStreams.find((s) => s.id === options.streamId);
  const old = kind === 'video' ? stream?.getVideoTracks()[0] : stream?.getAudioTracks()[0];
  if (!stream || !old) {
    throw new Error(`nothing to switch: no published ${kind === 'video' ? 'camera' : 'microphone'}`);
  }
  const track =
    typeof device === 'string' ? await openTrack(kind, device, options.video ?? DEFAULT_VIDEO) : device;
  track.enabled = old.enabled;
  try {
    await client.replaceTrack(old, track);
  } catch (err) {
    if (typeof device === 'string') {
      track.stop();
    }
    throw err;
  }
  old.stop();
  return track;
}

/** Whether remote audio can be sent to a chosen output (`HTMLMediaElement.setSinkId`). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

/** Plays `el`'s audio on the output `deviceId` ('' = default); false where the browser cannot. */
export async function setSpeaker(el: HTMLMediaElement, deviceId: string): Promise<boolean> {
  const sink = el as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (typeof sink.setSinkId !== 'function') {
    return false;
  }
  await sink.setSinkId(deviceId);
  return true;
}

/**
 * A microphone's level, 0…1 (RMS of the waveform, scaled so speech reaches about 0.5), from a WebAudio
 * `AnalyserNode`; `close()` releases the AudioContext (not the track).
 */
export class LevelMeter {
  readonly #context: AudioContext;
  readonly #analyser: AnalyserNode;
  readonly #source: MediaStreamAudioSourceNode;
  readonly #samples: Float32Array<ArrayBuffer>;
  #closed = false;

  constructor(track: MediaStreamTrack) {
    this.#context = new AudioContext();
    this.#source = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#analyser = this.#context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
    // A context created without a user gesture starts suspended in some browsers.
    void this.#context.resume().catch(() => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The level now, 0 (silence) to 1 (loud). */
  level(): number {
    if (this.#closed) {
      return 0;
    }
    this.#analyser.getFloatTimeDomainData(this.#samples);
    let sum = 0;
    for (const s of this.#samples) {
      sum += s * s;
    }
    const rms = Math.sqrt(sum / this.#samples.length);
    return Math.min(1, rms * 4);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#source.disconnect();
    void this.#context.close().catch(() => undefined);
  }
}
