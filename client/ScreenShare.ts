/**
 * Screen sharing: the display (getDisplayMedia) published as a second stream of the same participant,
 * named as a screen in the participant's room `info` (`{screen: streamId}`), so the others tell it
 * from the camera (`meeting.isScreen(streamId)`). It stops with `stop()` and when the browser's own
 * "Stop sharing" ends the track.
 */
import { Emitter } from './Emitter.ts';
import { InvalidStateError } from './errors.ts';
import type { Meeting } from './Meeting.ts';

export type ScreenShareEvents = {
  /** Sharing started: the stream published (its id is what the others see). */
  started: [stream: MediaStream];
  /** Sharing stopped: by `stop()`, the browser's "Stop sharing", or the client closing. */
  stopped: [];
};

export interface ShareOptions {
  /**
   * Share this instead of asking the browser for the display: a track or stream (a canvas's
   * `captureStream()`, a window captured elsewhere). Default: `getDisplayMedia({video: true})`.
   */
  source?: MediaStream | MediaStreamTrack;
  /** Also share the display's audio, when the browser offers it. Default false. */
  audio?: boolean;
}

/**
 * ```ts
 * const screen = new ScreenShare(meeting);
 * screen.on('stopped', () => (button.textContent = 'Share screen'));
 * await screen.start(); // the browser asks which screen or window
 * ```
 */
export class ScreenShare extends Emitter<ScreenShareEvents> {
  readonly meeting: Meeting;
  #stream: MediaStream | undefined;
  #starting = false;

  constructor(meeting: Meeting) {
    super();
    this.meeting = meeting;
    meeting.client.on('close', () => this.#end(false));
  }

  /** The shared stream while sharing. */
  get stream(): MediaStream | undefined {
    return this.#stream;
  }

  get active(): boolean {
    return this.#stream !== undefined;
  }

  /** Asks for the display (or takes `options.source`), publishes it and marks it as our screen. */
  async start(options: ShareOptions = {}): Promise<MediaStream> {
    const client = this.meeting.client;
    if (this.#stream || this.#starting) {
      throw new InvalidStateError('share: already sharing');
    }
    if (client.state !== 'joined') {
      throw new InvalidStateError(`share: client is ${client.state}`);
    }
    this.#starting = true;
    let stream: MediaStream;
    try {
      stream = await displayStream(options);
    } finally {
      this.#starting = false;
    }
    const video = stream.getVideoTracks()[0];
    if (!video || client.state !== 'joined') {
      stop(stream);
      throw new InvalidStateError(video ? `share: client is ${client.state}` : 'share: no video track');
    }
    // Text and slides: keep resolution, let the frame rate drop.
    video.contentHint = 'detail';
    this.#stream = stream;
    video.addEventListener('ended', () => {
      if (this.#stream === stream) {
        this.#end(true);
      }
    });
    try {
      // Marked first, so the others know what the stream is by the time its tracks arrive.
      await this.meeting.setInfo({ screen: stream.id });
      client.publish(stream, { simulcast: false });
    } catch (err) {
      this.#end(false);
      throw err;
    }
    this.emit('started', stream);
    return stream;
  }

  /** Stops sharing: unpublishes the stream, ends its tracks and clears the mark. */
  stop(): void {
    this.#end(true);
  }

  #end(tellRoom: boolean): void {
    const stream = this.#stream;
    if (!stream) {
      return;
    }
    this.#stream = undefined;
    const client = this.meeting.client;
    try {
      client.unpublish(stream);
    } catch (err) {
      // Closed meanwhile: nothing is sent any more.
      void err;
    }
    stop(stream);
    if (tellRoom && client.state === 'joined') {
      void this.meeting.setInfo({ screen: null }).catch(() => undefined);
    }
    this.emit('stopped');
  }
}

async function displayStream(options: ShareOptions): Promise<MediaStream> {
  const source = options.source;
  if (source !== undefined) {
    return source instanceof MediaStream ? source : new MediaStream([source]);
  }
  if (typeof navigator === 'undefined' || !navigator.mediaDevices?.getDisplayMedia) {
    throw new InvalidStateError('share: this browser cannot capture the screen (getDisplayMedia)');
  }
  return navigator.mediaDevices.getDisplayMedia({
    video: { frameRate: { ideal: 15 } },
    audio: options.audio === true,
  });
}

function stop(stream: MediaStream): void {
  for (const track of stream.getTracks()) {
    track.stop();
  }
}
