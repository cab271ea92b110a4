import { z } from 'zod';

/**
 * WHIP (RFC 9725) and WHEP sessions across signal instances: a session's HTTP resource
 * (`/whip/sessions/<id>`) is a record in the Store, so a PATCH or DELETE that reaches any signal
 * instance finds the media node and the connection the session's peer lives under. The instance that
 * created the session renews the record while the session lives; a crashed instance's records expire.
 */

/** A session record outlives a few missed renewals. */
export const WHIP_RESOURCE_TTL_MS = 60_000;
export const WHIP_RESOURCE_RENEW_MS = 20_000;

export const whipResource = z.object({
  id: z.string().min(1),
  /** `whip`: a publisher (ingest); `whep`: a viewer (egress). */
  kind: z.enum(['whip', 'whep']),
  room: z.string().min(1),
  uid: z.string().min(1),
  /** The peer's connection id (`<signal>/whip-<id>`) and the signal instance holding the session. */
  conn: z.string().min(1),
  signal: z.string().min(1),
  /** The media node holding the peer. */
  node: z.string().min(1),
  /** The ICE session's entity-tag (RFC 9725 §4.3.1), quoted as it goes in the ETag header. */
  etag: z.string().min(1),
  /** The client's ICE username fragment: a PATCH with another one is an ICE restart. */
  ufrag: z.string().optional(),
  /** WHIP: the client's offer as last applied (an ICE restart re-offers it with new credentials). */
  offer: z.string().optional(),
});
export type WhipResource = z.infer<typeof whipResource>;

export const whipKeys = {
  resource: (cluster: string, id: string) => `sb:${cluster}:whip:${id}`,
};

/**
 * Notification (on the owning signal instance's notify subject, `conn` = the session's) that another
 * instance ended the session on a DELETE: the owner forgets it without telling the media node again.
 */
export const WHIP_ENDED_NOTIFICATION = 'sb.whipEnded';

/** A WHEP viewer's join, as the signal role forwards it to the media node (`PeerRequest` params). */
export const whepPeerJoin = z
  .object({
    sid: z.string().min(1).max(256),
    uid: z.string().min(1).max(512),
    name: z.string().max(256).optional(),
    whep: z.object({
      /** The player's recvonly offer (the node's SDP checks apply). */
      offer: z.string().min(1),
      /** Only this participant's tracks; absent: every track of the room. */
      participant: z.string().min(1).max(512).optional(),
    }),
  })
  .loose();
export type WhepPeerJoin = z.infer<typeof whepPeerJoin>;

/** The stream id a WHEP viewer's tracks carry (one stream, whichever participant they come from). */
export const WHEP_STREAM_ID = 'switchboard';
