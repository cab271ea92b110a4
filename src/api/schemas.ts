/** Request bodies and query strings of `/api` (validated with zod; also the OpenAPI document's schemas). */
import { z } from 'zod';
import { grantOverridesSchema } from '../protocol/tokens.ts';

/** Largest request body `/api` accepts; larger gets 413. */
export const API_BODY_LIMIT = 64 * 1024;

const roomName = z.string().min(1).max(256);

/**
 * Nuve's room options plus the room service's settings. The bodies of Nuve's routes (rooms, services)
 * accept and ignore keys they do not know, as Licode does (see `unknownKeys`: the route logs them);
 * our own bodies (tokens, recordings) stay strict, where a misspelt grant must not pass unnoticed.
 */
export const roomOptions = z.object({
  p2p: z.boolean().optional().describe('Licode p2p room (stored; media always goes through the SFU)'),
  data: z.unknown().optional().describe('Free-form application data'),
  mediaConfiguration: z.string().max(128).optional().describe('Licode media configuration name (stored)'),
  getOrCreate: z
    .boolean()
    .optional()
    .describe('Return the existing room of this name instead of creating one'),
  test: z.boolean().optional().describe("Licode's test room: not supported (400)"),
  locked: z.boolean().optional().describe('Refuse new joins (hosts still get in)'),
  password: z.string().min(1).max(256).nullable().optional().describe('Join password; null removes it'),
  maxPeers: z.number().int().min(0).max(100_000).optional().describe('0 = unlimited'),
  description: z.string().max(1024).optional(),
});

export const createRoomBody = z.object({ name: roomName, options: roomOptions.optional() });
export const updateRoomBody = z.object({ name: roomName, options: roomOptions.optional() });
export const patchRoomBody = z.object({ name: roomName.optional(), options: roomOptions.optional() });

export const createServiceBody = z.object({
  name: z.string().min(1).max(128),
  key: z.string().min(16, { message: 'must be at least 16 characters' }).max(256),
});

/**
 * `POST /rooms/:room/tokens` body (optional): Licode clients send none and put username and role in
 * the MAuth header; bearer clients (and anyone) may send these instead.
 */
export const createTokenBody = z
  .object({
    identity: z.string().min(1).max(256).optional(),
    name: z.string().max(256).optional(),
    role: z.string().min(1).max(64).optional().describe('presenter | viewer | viewerWithData | host'),
    grants: grantOverridesSchema
      .omit({ api: true })
      .optional()
      .describe('Overrides on top of the role: only the grants named change'),
    ttl: z
      .number()
      .int()
      .min(1)
      .max(7 * 86400)
      .optional()
      .describe('JWT lifetime in seconds (default 3600)'),
  })
  .strict();

export const tokenQuery = z
  .object({
    format: z
      .enum(['licode', 'jwt'])
      .optional()
      .describe('Default licode, or jwt with Accept: application/jwt'),
  })
  .strict();

export const devTokenQuery = z
  .object({
    room: roomName,
    identity: z.string().min(1).max(256).optional(),
    name: z.string().max(256).optional(),
  })
  .strict();

export const roomParams = z.object({ room: z.string().min(1).max(256) });
export const userParams = z.object({ room: z.string().min(1).max(256), user: z.string().min(1).max(256) });
export const serviceParams = z.object({ service: z.string().min(1).max(256) });

/** `POST /rooms/:room/recordings`: a participant (all its tracks), a stream, or one kind of either. */
export const startRecordingBody = z
  .object({
    uid: z.string().min(1).max(256).optional().describe('Participant: all its current tracks in one file'),
    streamId: z.string().min(1).max(256).optional().describe("Stream (msid): that stream's tracks"),
    kind: z.enum(['audio', 'video']).optional().describe('Only this kind (per-track recording)'),
  })
  .strict()
  .refine((b) => b.uid !== undefined || b.streamId !== undefined, {
    message: 'uid or streamId is required',
    path: ['uid'],
  });

/** `POST /rooms/:room/users/:user/mute`: one kind of the participant's tracks (or of one stream). */
export const muteBody = z
  .object({
    kind: z.enum(['audio', 'video']).describe('Which tracks'),
    muted: z.boolean().default(true).describe('false unmutes'),
    streamId: z.string().min(1).max(256).optional().describe("Only this stream's (msid) track"),
  })
  .strict();

/** `POST /rooms/:room/end`: everyone leaves (a created room's record stays). */
export const endRoomBody = z
  .object({ reason: z.string().max(256).optional().describe('Told to the participants') })
  .strict();

export const recordingParams = z.object({
  room: z.string().min(1).max(256),
  id: z.string().min(1).max(256),
});

/** Dotted paths of the keys in `value` that `schema` (an object, nested objects followed) does not name. */
export function unknownKeys(schema: z.ZodType, value: unknown, prefix = ''): string[] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
    s = s.unwrap() as z.ZodType;
  }
  if (!(s instanceof z.ZodObject) || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [];
  }
  const shape = s.shape as Record<string, z.ZodType>;
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const field = Object.hasOwn(shape, k) ? shape[k] : undefined;
    if (field === undefined) {
      out.push(`${prefix}${k}`);
    } else {
      out.push(...unknownKeys(field, v, `${prefix}${k}.`));
    }
  }
  return out;
}
