/**
 * The meeting features of the demo page, mounted on a `Client` before it joins: chat, people (with host
 * controls), screen sharing and connection stats. Each lives in its own module over the SDK.
 */
import type { Client } from '../client/index.ts';
import { Meeting } from '../client/index.ts';
import { mountChat } from './chat.ts';
import { mountParticipants } from './participants.ts';
import { mountScreenShare } from './screenShare.ts';
import { mountStats } from './statsOverlay.ts';

export interface MeetingUiOptions {
  grid: HTMLElement;
  localStream(): MediaStream | null;
  /** Our microphone was muted by the host. */
  onLocalMuted(): void;
  status(text: string): void;
}

export interface MeetingUi {
  meeting: Meeting;
  /** Removes the features' buttons, panels and timers (on leave). */
  detach(): void;
}

/** Call right after `new Client()`, before `join`, so the room's first notifications are seen. */
export function attachMeetingUi(client: Client, options: MeetingUiOptions): MeetingUi {
  const meeting = new Meeting(client);
  const unmount = [
    mountChat(meeting),
    mountParticipants(meeting, options),
    mountScreenShare(meeting, options),
    mountStats(client),
  ];
  let detached = false;
  return {
    meeting,
    detach() {
      if (detached) {
        return;
      }
      detached = true;
      for (const off of unmount.reverse()) {
        off();
      }
      meeting.close();
    },
  };
}
