/**
 * Room and media events (LiveKit's webhook vocabulary). The sfu and room roles publish them on
 * `sb.<cluster>.events.<type>`; the api role delivers them to `[webhooks] urls`. Publishing never waits
 * for delivery, so nothing here can slow the media path.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '../backbone/index.ts';

/** Known types; the subject scheme leaves room for more (recording, egress) without changes here. */
export const EVENT_TYPES = [
  'room_started',
  'room_finished',
  'participant_joined',
  'participant_left',
  'track_published',
  'track_unpublished',
  'recording_started',
  'recording_finished',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventParticipant {
  identity: string;
  name: string;
}

export interface EventTrack {
  /** The track id (as in the publisher's SDP msid). */
  sid: string;
  type: 'audio' | 'video';
  streamId: string;
}

/** A recording (`recording_started` / `recording_finished`); see src/protocol/recording.ts. */
export interface EventRecording {
  id: string;
  /** Absolute path of the file on the media node. */
  path: string;
  /** `complete`, or `failed` (with `error`) when writing stopped early; absent in `recording_started`. */
  status?: 'complete' | 'failed';
  /** Bytes written (recording_finished). */
  size?: number;
  /** Seconds of media (recording_finished). */
  duration?: number;
  streamId?: string;
  error?: string;
}

/** The JSON body POSTed to webhook receivers. */
export interface SwitchboardEvent {
  event: EventType;
  /** Unique per event; receivers can use it to drop duplicates after a retry. */
  id: string;
  /** Seconds since the epoch. */
  createdAt: number;
  room: { sid: string; name: string };
  participant?: EventParticipant;
  track?: EventTrack;
  recording?: EventRecording;
  /** Id of the service owning the room, when the publisher knows it (its key signs the webhook). */
  service?: string;
  /** Why a participant left or a room finished (kicked, room-ended, client-leave, …). */
  reason?: string;
}

export const eventSubjects = {
  one: (cluster: string, type: string) => `sb.${cluster}.events.${type}`,
  all: (cluster: string) => `sb.${cluster}.events.>`,
};

export type EventInit = Omit<SwitchboardEvent, 'id' | 'createdAt'>;

/** Publishes an event on the Bus (fire and forget). */
export function publishEvent(bus: Bus, cluster: string, e: EventInit): void {
  const event: SwitchboardEvent = {
    id: `EV_${randomUUID()}`,
    createdAt: Math.floor(Date.now() / 1000),
    ...e,
  };
  bus.publish(eventSubjects.one(cluster, e.event), event);
}
