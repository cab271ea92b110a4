/**
 * The media node's audio levels (stream ids, loudest first) as LiveKit's `speakers_changed`: deltas
 * of participants, active ones with a level by rank, those who stopped with `active: false`
 * (livekit-client keeps the list and applies the changes).
 */
import { SpeakerInfo } from '@livekit/protocol';

export class Speakers {
  /** Participant sid → level last told. */
  #told = new Map<string, number>();

  /** The changes since the last call; `sidOf` names a stream's participant (undefined: unknown). */
  update(streamIds: readonly unknown[], sidOf: (streamId: string) => string | undefined): SpeakerInfo[] {
    const now = new Map<string, number>();
    for (const streamId of streamIds) {
      const sid = typeof streamId === 'string' ? sidOf(streamId) : undefined;
      if (sid !== undefined && !now.has(sid)) {
        now.set(sid, Math.max(0.1, 1 - now.size * 0.15));
      }
    }
    const changes: SpeakerInfo[] = [];
    for (const [sid, level] of now) {
      if (this.#told.get(sid) !== level) {
        changes.push(new SpeakerInfo({ sid, level, active: true }));
      }
    }
    for (const sid of this.#told.keys()) {
      if (!now.has(sid)) {
        changes.push(new SpeakerInfo({ sid, level: 0, active: false }));
      }
    }
    this.#told = now;
    return changes;
  }
}
