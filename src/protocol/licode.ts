/**
 * Licode's client protocol (erizo.js over socket.io, shared/reference/licode.md §3 and
 * licode-client.md): the payloads clients send, validated where they enter the signal role, the
 * error strings erizo.js shows, and the room-wide registry of Licode streams that every signal
 * instance shares (Store hash + Bus subject per room).
 */
import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import { sessionDescription } from './ionSfu.ts';

/** Licode's connect_error `data` strings (tokenAuthenticator.js). */
export const LICODE_AUTH_ERRORS = {
  noToken: 'token: No token information',
  signature: 'token: Authentication error',
  unknown: 'token: Token does not exist',
  host: 'token: Invalid host',
} as const;

/** What Licode's ErizoController answers a call its role does not allow. */
export const UNAUTHORIZED = 'Unauthorized';

/** The largest id we hand out: erizo.js keeps ids as JavaScript numbers (Licode's own 18-digit ids lose digits). */
const MAX_ID = 2 ** 48;

/**
 * The Licode id of a media stream of the room (any client's: demo page, ion-sdk-js, Licode): derived
 * from the room and the stream's msid, so every signal instance gives the same stream the same id
 * without sharing state.
 */
export function mediaStreamId(room: string, streamId: string): number {
  const h = createHash('sha256').update(room).update('\n').update(streamId).digest();
  return h.readUIntBE(0, 6) % MAX_ID || 1;
}

/** A fresh id for a data-only stream (it has no msid to derive one from). */
export function dataStreamId(): number {
  return randomInt(1, MAX_ID);
}

const attributes = z.record(z.string().max(256), z.unknown());

/** `publicStream` of Licode's `connected` and `onAddStream`. */
export const publicStream = z.object({
  id: z.number().int().positive(),
  audio: z.boolean(),
  video: z.union([z.boolean(), z.record(z.string(), z.unknown())]),
  data: z.boolean(),
  label: z.string().max(256),
  screen: z.union([z.boolean(), z.string()]).optional(),
  attributes: attributes.optional(),
});
export type PublicStream = z.infer<typeof publicStream>;

/** A stream in the room's registry: its public part, whose it is, and its msid for media streams. */
export const licodeStreamRecord = z.object({
  stream: publicStream,
  /** Connection id of the publishing client (signal instance / socket). */
  owner: z.string(),
  /** The publisher's MediaStream id (msid) for a media stream; absent for data-only streams. */
  msid: z.string().optional(),
});
export type LicodeStreamRecord = z.infer<typeof licodeStreamRecord>;

/** Room-wide events between the signal instances serving a room's Licode clients. */
export const licodeRoomEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('add'), record: licodeStreamRecord }),
  z.object({ type: z.literal('remove'), id: z.number().int() }),
  z.object({ type: z.literal('data'), id: z.number().int(), msg: z.unknown() }),
  z.object({ type: z.literal('attributes'), id: z.number().int(), attrs: attributes }),
]);
export type LicodeRoomEvent = z.infer<typeof licodeRoomEvent>;

/** NATS subject tokens cannot hold `.`, `*`, `>` or spaces: room ids go base64url-encoded. */
const subjectToken = (room: string) => Buffer.from(room, 'utf8').toString('base64url');

export const licodeSubjects = {
  room: (cluster: string, room: string) => `sb.${cluster}.licode.${subjectToken(room)}`,
};

export const licodeKeys = {
  /** Hash id → LicodeStreamRecord JSON: the room's Licode streams (attributes, data-only streams). */
  streams: (cluster: string, room: string) => `sb:${cluster}:licode:${room}`,
};

// ---- client events ----------------------------------------------------------------------------------

const streamIdParam = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number),
]);

export const publishOptions = z
  .object({
    state: z.enum(['erizo', 'data', 'p2p', 'url', 'recording']),
    audio: z.boolean().optional(),
    video: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
    data: z.boolean().optional(),
    screen: z.union([z.boolean(), z.string()]).optional(),
    label: z.string().max(256).optional(),
    attributes: attributes.optional(),
    metadata: z.unknown().optional(),
  })
  .loose();

export const licodeEvents = {
  publish: z.object({ options: publishOptions, sdp: z.unknown().optional() }).loose(),
  subscribe: z
    .object({
      options: z
        .object({
          streamId: streamIdParam,
          audio: z.boolean().optional(),
          video: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
          data: z.boolean().optional(),
          metadata: z.unknown().optional(),
        })
        .loose(),
    })
    .loose(),
  unpublish: streamIdParam,
  unsubscribe: streamIdParam,
  sendDataStream: z.object({ id: streamIdParam, msg: z.unknown() }).loose(),
  updateStreamAttributes: z.object({ id: streamIdParam, attrs: attributes }).loose(),
} as const;

// ---- signal → media node ----------------------------------------------------------------------------

/**
 * The `join` a signal instance forwards for one of a Licode client's peer connections: a publisher's
 * (its offer) or one subscription's (the msid of the stream; the media node offers first). `member`
 * is the client's identity, which the room's roster shows once for all its peers.
 */
export const licodePeerJoin = z
  .object({
    sid: z.string().min(1).max(256),
    uid: z.string().min(1).max(512),
    name: z.string().max(256).optional(),
    offer: sessionDescription('offer').optional(),
    licode: z.object({
      member: z.string().min(1).max(256),
      subscribe: z.string().min(1).max(256).optional(),
    }),
  })
  .loose()
  .refine((p) => (p.offer === undefined) !== (p.licode.subscribe === undefined), {
    message: 'a Licode peer either publishes (offer) or subscribes to one stream',
  });
export type LicodePeerJoin = z.infer<typeof licodePeerJoin>;

const sdpText = z
  .string()
  .min(1)
  .max(256 * 1024);

/** `connectionMessage`: the client's offer, answer, candidate (or failure) for one peer connection. */
export const licodeConnectionMessage = z
  .object({
    options: z
      .object({
        connectionId: z.union([z.string().min(1).max(64), z.number().int().transform(String)]),
        erizoId: z.unknown().optional(),
        msg: z.discriminatedUnion('type', [
          z.object({ type: z.literal('offer'), sdp: sdpText }).loose(),
          z.object({ type: z.literal('answer'), sdp: sdpText }).loose(),
          z
            .object({
              type: z.literal('candidate'),
              candidate: z
                .object({
                  candidate: z.string().max(4096),
                  sdpMid: z.string().max(64).nullish(),
                  sdpMLineIndex: z.number().int().nullish(),
                })
                .loose(),
            })
            .loose(),
          z.object({ type: z.enum(['failed', 'offer-error', 'error']) }).loose(),
        ]),
      })
      .loose(),
  })
  .loose();

/** `unsubscribe` on the Bus: the msid whose tracks a Licode subscription peer stops receiving. */
export const licodeUnsubscribe = z.object({ streamId: z.string().min(1).max(256) }).strict();

/** `streamMessage`: what a client wants of one of its streams or subscriptions (`updatestream`). */
export const licodeStreamMessage = z
  .object({
    options: z
      .object({
        streamId: streamIdParam,
        erizoId: z.unknown().optional(),
        msg: z.discriminatedUnion('type', [
          z
            .object({
              type: z.literal('updatestream'),
              config: z
                .object({
                  muteStream: z
                    .object({ audio: z.boolean().optional(), video: z.boolean().optional() })
                    .optional(),
                  qualityLayer: z
                    .object({ spatialLayer: z.number().int(), temporalLayer: z.number().int().optional() })
                    .optional(),
                })
                .loose(),
            })
            .loose(),
          z.object({ type: z.literal('control') }).loose(),
        ]),
      })
      .loose(),
  })
  .loose();

/** Licode roles with the `record` and `stats` permissions (erizoController.roles); `host` is ours. */
export const LICODE_PRESENTER_ROLES: ReadonlySet<string> = new Set(['presenter', 'host']);

export const licodeRecorderEvents = {
  getStreamStats: streamIdParam,
  startRecorder: z.object({ to: streamIdParam }).loose(),
  stopRecorder: z.object({ id: z.string().min(1).max(256) }).loose(),
} as const;
