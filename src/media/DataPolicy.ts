/**
 * A peer's data rules, for clients whose protocol has its own (the sfu role supplies them; the media
 * core knows no protocol). A peer without one behaves as ion-sfu's: it takes every fanned-out label,
 * its messages go to everyone as they are, and audio levels reach it on its `ion-sfu` channel.
 */
export interface DataPolicy {
  /** Channels its subscriber PC opens from the start, before its first offer (the client expects them there). */
  readonly channels?: readonly ChannelSpec[];
  /** Whether other peers' channels of `label` (and their messages) reach it. Default: every label. */
  accepts?(label: string): boolean;
  /** A message this peer sent on `label`: what to forward to whom, or undefined to drop it. Default: as is, to all. */
  inbound?(label: string, data: string | Buffer): DataForward | undefined;
  /**
   * The room's audio levels (stream ids, loudest first; `[]` once when nobody speaks any more) go here
   * instead of its `ion-sfu` channel.
   */
  levels?(streamIds: string[]): void;
}

/** A data channel's label and delivery (RTCDataChannelInit's). */
export interface ChannelSpec {
  label: string;
  /** Default true. */
  ordered?: boolean;
  /** Unset: reliable. */
  maxRetransmits?: number;
}

/** What a DataPolicy forwards of one message. */
export interface DataForward {
  data: string | Buffer;
  /**
   * Which members receive it (undefined: every one). Relay peers carry it whatever it says: their far
   * node applies its own peers' policies to what arrives.
   */
  to?: (member: string) => boolean;
}
