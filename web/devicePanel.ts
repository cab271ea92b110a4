/**
 * The in-call device panel (the "Devices" button): switch camera or microphone without leaving, through
 * the SDK's `switchDevice` (the same sender sends the new track, so the others keep decoding), and
 * choose the speaker remote audio plays on.
 */
import { switchDevice } from '../client/index.ts';
import type { Client, MediaKind } from '../client/index.ts';
import { applySpeaker, deviceIdOf, fillPickers, saveDevice, savedDevice } from './devicePickers.ts';

export interface DevicePanelOptions {
  button: HTMLButtonElement;
  panel: HTMLElement;
  camera: HTMLSelectElement;
  microphone: HTMLSelectElement;
  speaker: HTMLSelectElement;
  /** Where the remote tiles are (their videos play the audio). */
  tiles: ParentNode;
  client: () => Client | null;
  /** Video constraints for a new camera (the size simulcast wants). */
  video: () => MediaTrackConstraints;
  /** After a switch: the local preview shows the published stream again. */
  onSwitched: (kind: MediaKind) => void;
  onStatus: (text: string) => void;
}

export class DevicePanel {
  readonly #o: DevicePanelOptions;
  #busy = false;

  constructor(o: DevicePanelOptions) {
    this.#o = o;
    o.button.addEventListener('click', () => void this.toggle());
    o.camera.addEventListener('change', () => void this.#switch('video', o.camera));
    o.microphone.addEventListener('change', () => void this.#switch('audio', o.microphone));
    o.speaker.addEventListener('change', () => {
      saveDevice('speaker', o.speaker.value);
      void applySpeaker(o.tiles, o.speaker.value);
    });
  }

  /** Opens (refreshing the lists) or closes the panel. */
  async toggle(open = this.#o.panel.hidden): Promise<void> {
    this.#o.panel.hidden = !open;
    this.#o.button.setAttribute('aria-expanded', String(open));
    if (open) {
      await this.refresh();
    }
  }

  async refresh(): Promise<void> {
    const stream = this.#o.client()?.localStreams[0];
    try {
      await fillPickers(
        { camera: this.#o.camera, microphone: this.#o.microphone, speaker: this.#o.speaker },
        {
          camera: deviceIdOf(stream?.getVideoTracks()[0]),
          microphone: deviceIdOf(stream?.getAudioTracks()[0]),
          speaker: savedDevice('speaker'),
        },
      );
    } catch {
      // no device list: the selects stay as they were
    }
    // Nothing published of a kind: nothing to switch.
    this.#o.camera.disabled ||= (stream?.getVideoTracks().length ?? 0) === 0;
    this.#o.microphone.disabled ||= (stream?.getAudioTracks().length ?? 0) === 0;
    this.#o.speaker.hidden = this.#o.speaker.options.length <= 1;
  }

  async #switch(kind: MediaKind, select: HTMLSelectElement): Promise<void> {
    const client = this.#o.client();
    if (!client || this.#busy) {
      return;
    }
    this.#busy = true;
    select.disabled = true;
    const what = kind === 'video' ? 'camera' : 'microphone';
    try {
      await switchDevice(client, kind, select.value, { video: this.#o.video() });
      saveDevice(kind === 'video' ? 'camera' : 'microphone', select.value);
      this.#o.onSwitched(kind);
      this.#o.onStatus(`Switched ${what}`);
    } catch (err) {
      this.#o.onStatus(
        `Could not switch ${what}: ${err instanceof Error ? err.message || err.name : String(err)}`,
      );
    } finally {
      this.#busy = false;
      await this.refresh();
    }
  }
}
