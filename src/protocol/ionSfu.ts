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

/** ion-sfu's join `config` flags, as the media node applies them (see `joinConfig`). */
export interface JoinConfig {
  /** The peer may not publish: offers that send audio or video are refused. */
  noPublish: boolean;
  /** The peer receives no track and may not subscribe (its subscriber PC still carries `ion-sfu`). */
  noSubscribe: boolean;
  /** The peer starts subscribed to nothing and receives what it asks for with `subscription`. */
  noAutoSubscribe: boolean;
}

const CONFIG_KEYS = {
  nopublish: 'noPublish',
  nosubscribe: 'noSubscribe',
  noautosubscribe: 'noAutoSubscribe',
} as const;

/**
 * The flags of a join's `config`: keys case-insensitive (ion-sfu reads Go's untagged struct fields),
 * values booleans or the strings "true" / "false" (ION's gRPC `map<string,string>`); other keys are
 * ignored. Undefined for a value of another kind (the schema's refinement reports it).
 */
export function joinConfig(config: Record<string, unknown> | undefined): JoinConfig | undefined {
  const out: JoinConfig = { noPublish: false, noSubscribe: false, noAutoSubscribe: false };
  for (const [key, value] of Object.entries(config ?? {})) {
    const flag = (CONFIG_KEYS as Record<string, keyof JoinConfig | undefined>)[key.toLowerCase()];
    if (flag === undefined) {
      continue;
    }
    const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
    if (v !== true && v !== false && v !== 'true' && v !== 'false') {
      return undefined;
    }
    out[flag] = v === true || v === 'true';
  }
  return out;
}

/** ION's simulcast layer names (rids of ion-sdk-js) of a `subscription`; '' = no cap. */
export const SUBSCRIPTION_LAYERS = ['', 'q', 'h', 'f'] as const;
/** Most changes in one `subscription` call. */
export const MAX_SUBSCRIPTIONS = 256;

export const methods = {
  join: z
    .object({
      sid: idString.min(1),
      uid: idString.optional(),
      offer: sessionDescription('offer'),
      // ion-sfu reads Go's untagged struct fields, so keys are case-insensitive; see joinConfig.
      config: z
        .record(z.string(), z.unknown())
        .refine((c) => joinConfig(c) !== undefined, {
          message: 'NoPublish, NoSubscribe and NoAutoSubscribe take true / false ("true" / "false")',
        })
        .optional(),
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
  /**
   * ION's `subscription` (rtc.proto SubscriptionRequest), also ours on `/ws`: per track id of the
   * roster (`tracks[].id`), subscribe or unsubscribe, pause (`mute`) and cap the simulcast layer
   * (`layer` f/h/q; '' = no cap). Result `{}`.
   */
  subscription: z
    .object({
      subscriptions: z
        .array(
          z
            .object({
              trackId: idString.min(1),
              subscribe: z.boolean(),
              mute: z.boolean().optional(),
              layer: z.enum(SUBSCRIPTION_LAYERS).optional(),
            })
            .strict(),
        )
        .max(MAX_SUBSCRIPTIONS),
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
