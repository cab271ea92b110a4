/**
 * The pre-join screen: a live camera preview, a microphone level meter, camera / microphone / speaker
 * pickers, the name remembered in localStorage, "join with camera off" / "join muted", and the video
 * codecs this browser and the server share. `take()` hands the previewed stream to the call, so the
 * camera is opened once. Test hooks: `#preview` (video), `#mic-level` (its `data-level`, 0…1).
 */
import { LevelMeter, openMedia, openTrack, usableVideoCodecs, videoCodecProblem } from '../client/index.ts';
import type { MediaKind } from '../client/index.ts';
import { deviceIdOf, fillPickers, saveDevice, savedDevice } from './devicePickers.ts';

/** What the person chose before joining. */
export interface JoinChoice {
  /** The previewed camera and microphone; null when neither could be opened. */
  stream: MediaStream | null;
  cameraOff: boolean;
  muted: boolean;
  /** Audio output for the call, '' for the default. */
  speaker: string;
  /** Video codec to publish. */
  codec: string;
  /** Why a camera or microphone could not be opened for the preview (openMedia's errors). */
  mediaErrors: Error[];
}

const LABELS: Record<string, string> = { vp8: 'VP8', vp9: 'VP9', h264: 'H.264', av1: 'AV1' };

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) {
    throw new Error(`missing #${id}`);
  }
  return el as T;
}

export class PreJoin {
  readonly #video = byId<HTMLVideoElement>('preview');
  readonly #off = byId<HTMLDivElement>('preview-off');
  readonly #level = byId<HTMLDivElement>('mic-level');
  readonly #name = byId<HTMLInputElement>('name');
  readonly #camera = byId<HTMLSelectElement>('camera-select');
  readonly #microphone = byId<HTMLSelectElement>('mic-select');
  readonly #speaker = byId<HTMLSelectElement>('speaker-select');
  readonly #cameraOff = byId<HTMLInputElement>('join-cam-off');
  readonly #muted = byId<HTMLInputElement>('join-muted');
  readonly #codec = byId<HTMLSelectElement>('codec-select');
  readonly #videoConstraints: MediaTrackConstraints;
  readonly #onError: (text: string | null) => void;
  #stream: MediaStream | null = null;
  #mediaErrors: Error[] = [];
  #meter: LevelMeter | null = null;
  #frame = 0;
  /** Bumped by each start/stop: a preview that opens after a newer call is dropped. */
  #generation = 0;

  constructor(opts: {
    video: MediaTrackConstraints;
    codec: string | null;
    onError: (text: string | null) => void;
  }) {
    this.#videoConstraints = opts.video;
    this.#onError = opts.onError;
    this.#name.addEventListener('input', () => {
      try {
        localStorage.setItem('switchboard.name', this.#name.value.trim());
      } catch {
        // storage refused: the name is not remembered
      }
    });
    this.#camera.addEventListener('change', () => void this.#switch('video', this.#camera.value));
    this.#microphone.addEventListener('change', () => void this.#switch('audio', this.#microphone.value));
    this.#speaker.addEventListener('change', () => saveDevice('speaker', this.#speaker.value));
    this.#cameraOff.addEventListener('change', () => this.#showCamera());
    this.#fillCodecs(opts.codec);
    this.#codec.addEventListener('change', () => this.#onError(videoCodecProblem(this.#codec.value) ?? null));
  }

  /** The codec picker: the usable ones, plus an asked-for one that is not (shown as unavailable, and an error). */
  #fillCodecs(asked: string | null): void {
    const usable: string[] = usableVideoCodecs();
    const options = usable.map((c) => new Option(LABELS[c] ?? c, c));
    const wanted = (asked ?? 'vp8').toLowerCase();
    if (!usable.includes(wanted)) {
      options.push(new Option(`${LABELS[wanted] ?? wanted} (not available)`, wanted));
      this.#onError(videoCodecProblem(wanted) ?? null);
    }
    this.#codec.replaceChildren(...options);
    this.#codec.value = wanted;
  }

  /** The chosen video codec (checked at join: an unavailable one is an error, not VP8). */
  get codec(): string {
    return this.#codec.value;
  }

  /** Opens the preview with the remembered devices, fills the pickers and starts the meter. */
  async start(): Promise<void> {
    const generation = ++this.#generation;
    const { stream, errors } = await openMedia({
      camera: savedDevice('camera') || true,
      microphone: savedDevice('microphone') || true,
      video: this.#videoConstraints,
    });
    if (generation !== this.#generation) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    this.#stream = stream;
    this.#mediaErrors = errors;
    this.#video.srcObject = stream;
    if (stream.getTracks().length === 0) {
      const err = errors[0];
      this.#onError(
        err?.name === 'NotAllowedError'
          ? 'Camera and microphone are blocked for this page: allow them in the address bar, or join to watch only.'
          : 'No camera or microphone could be opened: you can join to watch only.',
      );
    }
    this.#showCamera();
    this.#startMeter();
    await this.#refreshPickers();
  }

  async #refreshPickers(): Promise<void> {
    try {
      await fillPickers(
        { camera: this.#camera, microphone: this.#microphone, speaker: this.#speaker },
        {
          camera: deviceIdOf(this.#stream?.getVideoTracks()[0]),
          microphone: deviceIdOf(this.#stream?.getAudioTracks()[0]),
          speaker: savedDevice('speaker'),
        },
      );
    } catch {
      // enumerateDevices refused: the pickers stay empty, the default devices are used
    }
    this.#speaker.closest('label')?.toggleAttribute('hidden', this.#speaker.options.length <= 1);
  }

  async #switch(kind: MediaKind, deviceId: string): Promise<void> {
    const stream = this.#stream;
    if (!stream) {
      return;
    }
    try {
      const track = await openTrack(kind, deviceId, this.#videoConstraints);
      for (const old of kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks()) {
        stream.removeTrack(old);
        old.stop();
      }
      stream.addTrack(track);
      saveDevice(kind === 'video' ? 'camera' : 'microphone', deviceId);
      this.#video.srcObject = stream;
      if (kind === 'audio') {
        this.#startMeter();
      }
      this.#onError(null);
    } catch (err) {
      this.#onError(`Could not open that ${kind === 'video' ? 'camera' : 'microphone'}: ${describe(err)}`);
    }
  }

  #showCamera(): void {
    const hasVideo = (this.#stream?.getVideoTracks().length ?? 0) > 0;
    const on = hasVideo && !this.#cameraOff.checked;
    this.#video.hidden = !on;
    this.#off.hidden = on;
    this.#off.textContent = hasVideo ? 'Camera off' : 'No camera';
  }

  #startMeter(): void {
    this.#stopMeter();
    const track = this.#stream?.getAudioTracks()[0];
    if (!track) {
      return;
    }
    try {
      this.#meter = new LevelMeter(track);
    } catch {
      return; // no WebAudio: no meter
    }
    const tick = (): void => {
      const level = this.#meter?.level() ?? 0;
      this.#level.style.width = `${Math.round(level * 100)}%`;
      this.#level.dataset.level = level.toFixed(3);
      this.#frame = requestAnimationFrame(tick);
    };
    tick();
  }

  #stopMeter(): void {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#meter?.close();
    this.#meter = null;
    this.#level.style.width = '0';
  }

  /** Hands the preview stream and the choices to the call; the preview stops showing it. */
  take(): JoinChoice {
    const stream = this.#stream;
    this.#stream = null;
    this.#generation++;
    this.#stopMeter();
    this.#video.srcObject = null;
    return {
      stream: stream && stream.getTracks().length > 0 ? stream : null,
      cameraOff: this.#cameraOff.checked,
      muted: this.#muted.checked,
      speaker: this.#speaker.value,
      codec: this.#codec.value,
      mediaErrors: this.#mediaErrors,
    };
  }

  /** Stops the preview (its tracks too). */
  stop(): void {
    this.take()
      .stream?.getTracks()
      .forEach((t) => t.stop());
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}
