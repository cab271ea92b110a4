/**
 * Schema of the TOML configuration file, key-compatible with ION's sfu.toml
 * (lower-case keys, same sections). Every table is strict so a misspelt key
 * is an error rather than a silently ignored setting.
 *
 * Sections use `.prefault({})` rather than `.default({})`: in zod 4 a
 * `.default()` value is returned as-is without being parsed, so the inner
 * key defaults would not be filled in; `.prefault()` feeds `{}` through the
 * schema, which yields a complete section.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.int().min(1).max(65535);

/** `[min, max]` UDP port range; min must be below max. */
const portRange = z
  .tuple([port, port])
  .refine(([min, max]) => min < max, { message: 'expected [min, max] with min < max' });

/** ION's TURN credential list: "user=pass,user2=pass2". */
const credentialList = z.string().refine(
  (s) =>
    s === '' ||
    s.split(',').every((entry) => {
      const eq = entry.indexOf('=');
      return eq > 0 && eq < entry.length - 1;
    }),
  { message: 'expected "user=pass,user2=pass2" (each entry user=pass, both non-empty)' },
);

const iceServer = z.strictObject({
  /** STUN/TURN URLs; a single string is accepted and normalised to a one-element array. */
  urls: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
      error: 'expected a URL string or a non-empty array of URL strings',
    })
    .transform((u) => (typeof u === 'string' ? [u] : u)),
  /** TURN username, if the server needs one. */
  username: z.string().optional(),
  /** TURN credential (password), if the server needs one. */
  credential: z.string().optional(),
});

const globalSection = z.strictObject({
  /** Data-centre id used to label this node in distributed mode. Default "dc1". */
  dc: z.string().min(1).default('dc1'),
});

const natsSection = z.strictObject({
  /** NATS server URL for distributed mode. Default: unset (standalone). */
  url: z.string().min(1).optional(),
});

const redisSection = z.strictObject({
  /** Redis addresses ("host:port"). Default [] (no Redis). */
  addrs: z.array(z.string().min(1)).default([]),
  /** Redis password. Default "". */
  password: z.string().default(''),
  /** Redis database number. Default 0. */
  db: z.int().min(0).default(0),
});

const signalSection = z.strictObject({
  /** Address the HTTP/WebSocket signalling server binds to. Default "0.0.0.0". */
  host: z.string().min(1).default('0.0.0.0'),
  /** Signalling port; 0 picks any free port (useful in tests). Default 7000. */
  port: z.int().min(0).max(65535).default(7000),
  /** Largest accepted WebSocket message in bytes. Default 1048576 (1 MiB). */
  maxmessagesize: z.int().min(1024).default(1048576),
  /** Allowed Origin header values; empty allows any origin, as ion-sfu does. Default []. */
  allowedorigins: z.array(z.string().min(1)).default([]),
});

const sfuSection = z.strictObject({
  /** GC ballast in MiB. Accepted for ION compatibility; has no effect in Node. Default 0. */
  ballast: z.int().min(0).default(0),
  /** Export per-stream rtp_* Prometheus metrics. Default false. */
  withstats: z.boolean().default(false),
});

const simulcastSection = z.strictObject({
  /** Start subscribers on the highest simulcast layer rather than the lowest. Default true. */
  bestqualityfirst: z.boolean().default(true),
  /** Also switch temporal layers (not only spatial). Default false. */
  enabletemporallayer: z.boolean().default(false),
});

const routerSection = z.strictObject({
  /**
   * REMB bitrate cap sent to publishers, in kbps; 0 = unlimited. Default 1500.
   * ION documents kbps but applies the value as bps; we apply it as kbps.
   */
  maxbandwidth: z.int().min(0).default(1500),
  /** Packets kept per video receiver to answer NACKs. Default 500. */
  maxpackettrack: z.int().min(1).default(500),
  /** Audio level (dBov, 0..127, lower is louder) a packet must reach to count as speech. Default 40. */
  audiolevelthreshold: z.int().min(0).max(127).default(40),
  /** Interval between active-speaker observations, in ms. Default 1000. */
  audiolevelinterval: z.int().min(10).default(1000),
  /** Percentage of packets in an interval that must be above the threshold. Default 20. */
  audiolevelfilter: z.int().min(0).max(100).default(20),
  simulcast: simulcastSection.prefault({}),
});

const candidatesSection = z.strictObject({
  /** Public IPs to advertise instead of host candidates (1:1 NAT). Default []. */
  nat1to1: z.array(z.string().refine((s) => isIP(s) !== 0, { message: 'not an IP address' })).default([]),
  /** Run ICE-lite (server behind a public IP). Default false. */
  icelite: z.boolean().default(false),
});

const positiveSeconds = z.number().positive();

const timeoutsSection = z.strictObject({
  /** Seconds without traffic before ICE reports "disconnected". Default 5. */
  disconnected: positiveSeconds.default(5),
  /** Seconds without traffic before ICE reports "failed". Default 25. */
  failed: positiveSeconds.default(25),
  /** Seconds between ICE keepalives. Default 2. */
  keepalive: positiveSeconds.default(2),
});

const webrtcSection = z
  .strictObject({
    /** Serve all ICE traffic on this one UDP port. Default: unset. */
    singleport: port.optional(),
    /** `[min, max]` UDP port range for ICE. Default: unset (OS-chosen ports). */
    portrange: portRange.optional(),
    /** STUN/TURN servers handed to the ICE agent. Default []. */
    iceserver: z.array(iceServer).default([]),
    /**
     * SDP semantics. All of ION's values parse so old configs load; only
     * "unified-plan" is supported at run time (see validateSupported). Default "unified-plan".
     */
    sdpsemantics: z.enum(['unified-plan', 'plan-b', 'unified-plan-with-fallback']).default('unified-plan'),
    /** Resolve/gather mDNS (.local) candidates. Default true. */
    mdns: z.boolean().default(true),
    candidates: candidatesSection.prefault({}),
    timeouts: timeoutsSection.prefault({}),
  })
  .refine((w) => w.singleport === undefined || w.portrange === undefined, {
    message: 'webrtc.singleport and webrtc.portrange are exclusive',
    path: ['singleport'],
  });

const turnAuthSection = z.strictObject({
  /** Shared secret for time-limited (REST API) TURN credentials. Default: unset. */
  secret: z.string().min(1).optional(),
  /** Static credentials, "user=pass,user2=pass2". Default "". */
  credentials: credentialList.default(''),
});

const turnSection = z.strictObject({
  /** Run the embedded TURN server. Default false (not implemented yet). */
  enabled: z.boolean().default(false),
  /** TURN realm. Default "ion". */
  realm: z.string().min(1).default('ion'),
  /** "host:port" the TURN server listens on. Default "0.0.0.0:3478". */
  address: z
    .string()
    .regex(/^.+:\d{1,5}$/, { message: 'expected "host:port"' })
    .default('0.0.0.0:3478'),
  /** TLS certificate file for TURNS. Default: unset. */
  cert: z.string().min(1).optional(),
  /** TLS key file for TURNS. Default: unset. */
  key: z.string().min(1).optional(),
  /** `[min, max]` relay port range. Default: unset. */
  portrange: portRange.optional(),
  auth: turnAuthSection.prefault({}),
});

const logSection = z.strictObject({
  /** Log level. Default "info". */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** ION verbosity: 0 info, 1 debug, 2 trace; overrides `level` when set. Default: unset. */
  v: z.int().min(0).max(2).optional(),
});

export const configSchema = z.strictObject({
  global: globalSection.prefault({}),
  nats: natsSection.prefault({}),
  redis: redisSection.prefault({}),
  signal: signalSection.prefault({}),
  sfu: sfuSection.prefault({}),
  router: routerSection.prefault({}),
  webrtc: webrtcSection.prefault({}),
  turn: turnSection.prefault({}),
  log: logSection.prefault({}),
});

/** The parsed configuration with every default filled in. */
export type Config = z.infer<typeof configSchema>;

/** A complete configuration with every key at its default (a fresh object each call). */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
