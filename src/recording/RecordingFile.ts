/**
 * The file a Recorder writes: created exclusively (an existing file is never overwritten; a taken name
 * gets `-1`, `-2`, … appended), written at the positions the muxer asks (it patches sizes and the
 * duration at the end), and failing loudly: the first write error (disk full, I/O error, read-only
 * file system) is kept and reported through `onError`, and the Recorder stops.
 */
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamTargetChunk } from 'mediabunny';

/** The subset of a FileHandle the recorder uses (tests substitute a failing one). */
export interface RecordingFileHandle {
  write(data: Uint8Array, offset: number, length: number, position: number): Promise<unknown>;
  close(): Promise<void>;
}

export type FileOpener = (path: string) => Promise<RecordingFileHandle>;

/** Opens a new file, failing with EEXIST when the name is taken. */
export const exclusiveOpen: FileOpener = (path) => open(path, 'wx', 0o644);

const MAX_NAME_TRIES = 1000;

export class RecordingFile {
  readonly path: string;
  /** Bytes in the file (the furthest position written). */
  size = 0;
  /** The first write error; once set, nothing more is written. */
  error: Error | undefined;
  onError: ((err: Error) => void) | undefined;
  readonly #handle: RecordingFileHandle;
  #closing: Promise<void> | undefined;

  private constructor(path: string, handle: RecordingFileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Creates `<dir>/<base>.<ext>` (folders included), or `<base>-N.<ext>` when that name is taken. */
  static async create(
    dir: string,
    base: string,
    ext: string,
    opener: FileOpener = exclusiveOpen,
  ): Promise<RecordingFile> {
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < MAX_NAME_TRIES; i++) {
      const path = join(dir, i === 0 ? `${base}.${ext}` : `${base}-${i}.${ext}`);
      try {
        return new RecordingFile(path, await opener(path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw err;
        }
      }
    }
    throw new Error(`no free file name for ${join(dir, base)}.${ext}`);
  }

  /** The WritableStream for mediabunny's StreamTarget. */
  writable(): WritableStream<StreamTargetChunk> {
    return new WritableStream<StreamTargetChunk>({
      write: async (chunk) => {
        if (this.error) {
          throw this.error;
        }
        try {
          await this.#handle.write(chunk.data, 0, chunk.data.byteLength, chunk.position);
        } catch (err) {
          this.#fail(err);
          throw err;
        }
        this.size = Math.max(this.size, chunk.position + chunk.data.byteLength);
      },
      close: () => this.close(),
    });
  }

  /** Closes the handle (idempotent; a failing close counts as a write error: data may be lost). */
  close(): Promise<void> {
    this.#closing ??= this.#handle.close().catch((err: unknown) => this.#fail(err));
    return this.#closing;
  }

  /** Closes and deletes the file (a recording that never got any media). */
  async remove(): Promise<void> {
    await this.close();
    await unlink(this.path).catch(() => undefined);
  }

  #fail(err: unknown): void {
    if (this.error) {
      return;
    }
    this.error = err instanceof Error ? err : new Error(String(err));
    this.onError?.(this.error);
  }
}
