import { z } from 'zod';

/**
 * ion-sfu's JSON-RPC params (shared/reference/ion.md §2a) plus our own methods, validated where they
 * enter a role: the signal role answers -32602 on a mismatch, the sfu role re-checks what the Bus brings.
 */
export const sessionDescription = (type: 'offer' | 'answer') =>
  z
    .object({
      type: z.literal(type),
      sdp: z
        .string()
        .min(1)
        .max(256 * 1024),
    })
    .loose();

export const iceCandidate = z
  .object({
    candidate: z.string().max(4096),
    sdpMid: z.string().nullish(),
    sdpMLineIndex: z.number().int().nullish(),
    usernameFragment: z.string().nullish(),
  })
  .loose();

const idString = z.string().max(256);

export const methods = {
  join: z
    .object({
      sid: idString.min(1),
      uid: idString.optional(),
      offer: sessionDescription('offer'),
      // ion-sfu reads Go's untagged struct fields, so keys are case-insensitive; we accept either form.
      config: z.record(z.string(), z.unknown()).optional(),
      /** Our extension: a display name for the roster. */
      name: z.string().max(256).optional(),
    })
    .loose(),
  offer: z.object({ desc: sessionDescription('offer') }).loose(),
  answer: z.object({ desc: sessionDescription('answer') }).loose(),
  trickle: z
    .object({ target: z.union([z.literal(0), z.literal(1)]).default(0), candidate: iceCandidate })
    .loose(),
  /** Our extension: what the caller wants of a received stream (same as ion-sfu's data-channel message). */
  layer: z
    .object({
      streamId: idString,
      video: z.enum(['high', 'medium', 'low', 'none']).optional(),
      audio: z.boolean().optional(),
      framerate: z.enum(['high', 'medium', 'low']).optional(),
    })
    .strict(),
  /** Our extension: publisher-side mute of one of the caller's own tracks. */
  mute: z.object({ streamId: idString, kind: z.enum(['audio', 'video']), muted: z.boolean() }).strict(),
  /**
   * Licode's names, roomAdmin only: record a stream (`to`, Licode's param), a participant (`uid`), or
   * one `kind` of either; the result is the recording (its `id` stops it).
   */
  startRecorder: z
    .object({
      to: idString.min(1).optional(),
      uid: idString.min(1).optional(),
      kind: z.enum(['audio', 'video']).optional(),
    })
    .strict()
    .refine((p) => p.to !== undefined || p.uid !== undefined, {
      message: 'to (a stream id) or uid is required',
      path: ['to'],
    }),
  stopRecorder: z.object({ id: idString.min(1) }).strict(),
} as const;

export type MethodName = keyof typeof methods;
export type MethodParams<M extends MethodName> = z.infer<(typeof methods)[M]>;

export function isMethod(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}
