// Checks recorded files with Debian's ffmpeg: ffprobe for streams and timing, a full decode for errors.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  start_time?: string;
  duration?: string;
  width?: number;
  height?: number;
}

export interface Probe {
  streams: ProbedStream[];
  format: { format_name: string; duration?: string; size?: string };
}

export async function ffprobe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    file,
  ]);
  return JSON.parse(stdout) as Probe;
}

/** Seconds; the format's duration when a stream has none of its own (Matroska). */
export function seconds(v: string | undefined): number {
  return v === undefined ? NaN : Number(v);
}

/** What `ffmpeg -v error -i file -f null -` prints: decoding problems, empty when the file decodes cleanly. */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stderr.trim();
}

/** The start time of each stream of a probe, by type (first of each). */
export function startTimes(p: Probe): { audio: number; video: number } {
  const of = (t: string) => seconds(p.streams.find((s) => s.codec_type === t)?.start_time);
  return { audio: of('audio'), video: of('video') };
}
