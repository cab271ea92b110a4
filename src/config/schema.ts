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

/**
 * `[signal.limits]`: what one client (one remote address) may hold of a public server. Per signal
 * instance; 0 turns a limit off. The defaults fit a NATed office of a few dozen people behind one address.
 */
const signalLimitsSection = z.strictObject({
  /** Seconds between WebSocket pings; a socket that did not answer the previous ping is closed. 0 = no pings. Default 20. */
  pinginterval: z.number().min(0).default(20),
  /**
   * Seconds a socket may stay open without a successful `join` before it is closed (4004): long enough
   * for an app that opens the socket before asking for the camera. 0 = no limit. Default 60.
   */
  jointimeout: z.number().min(0).default(60),
  /** Failed joins one connection may make; the next one is refused and the socket closed (4005). 0 = no limit. Default 5. */
  joinretries: z.int().min(0).default(5),
  /** Open sockets per remote address; more are closed at once (1008). 0 = no limit. Default 50. */
  socketsperip: z.int().min(0).default(50),
  /** Joined (or joining) peers per remote address. 0 = no limit. Default 50. */
  peersperip: z.int().min(0).default(50),
  /** Joins per second per remote address (token bucket refill). 0 = no limit. Default 2. */
  joinrate: z.number().min(0).default(2),
  /** Joins per remote address in a burst (token bucket size). Default 30. */
  joinburst: z.int().min(1).default(30),
  /**
   * The server is behind a reverse proxy that appends the client's address to X-Forwarded-For: the
   * limits then count the last address of that header. Leave false when clients connect directly
   * (else they could pick their own address). Default false.
   */
  trustproxy: z.boolean().default(false),
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
  limits: signalLimitsSection.prefault({}),
});

const sfuSection = z.strictObject({
  /** GC ballast in MiB. Accepted for ION compatibility; has no effect in Node. Default 0. */
  ballast: z.int().min(0).default(0),
  /** Export per-stream rtp_* Prometheus metrics. Default false. */
  withstats: z.boolean().default(false),
  /**
   * Media worker processes `switchboard start` runs for the sfu role, each a node of its own in the
   * registry (src/agent). 0 = one per CPU core; 1 = media in the main process. More than one needs
   * `[nats] url` and `[redis] addrs` (the workers talk over them); without those 0 means 1. Default 0.
   */
  workers: z.int().min(0).max(256).default(0),
  /**
   * Most client peers this node (each worker) hosts; when full, new rooms go elsewhere and new peers of
   * its rooms cascade to another node. Relay links between nodes do not count. 0 = no limit. Default 0.
   */
  maxpeers: z.int().min(0).default(0),
  /**
   * Most RTP packets per second this node (each worker) forwards before it counts as full, as
   * `maxpeers`. 0 = no limit. Default 0.
   */
  maxpacketrate: z.int().min(0).default(0),
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
  /** Public addresses advertised in host candidates instead of the host's own (1:1 NAT; IPv4 only for now). Default []. */
  nat1to1: z.array(z.string().refine((s) => isIP(s) !== 0, { message: 'not an IP address' })).default([]),
  /** Run ICE-lite (server behind a public IP). Default false. */
  icelite: z.boolean().default(false),
});

const positiveSeconds = z.number().positive();

const timeoutsSection = z.strictObject({
  /** Seconds without traffic from a client before its ICE agent is "disconnected". Default 5. */
  disconnected: positiveSeconds.default(5),
  /** Further seconds without traffic, after "disconnected", before it "failed" (the peer is closed). Default 25. */
  failed: positiveSeconds.default(25),
  /** Seconds without anything sent before a keepalive (STUN Binding indication). Default 2. */
  keepalive: positiveSeconds.default(2),
});

const webrtcSection = z
  .strictObject({
    /**
     * One UDP port for every peer's ICE and media, demultiplexed by ICE ufrag and remote address.
     * Default: unset (one UDP socket per peer).
     */
    singleport: port.optional(),
    /** `[min, max]`: each peer's UDP socket is bound inside it (one port per peer). Default: unset (ephemeral ports). */
    portrange: portRange.optional(),
    /** Passive ICE-TCP candidates of every peer on this TCP port (clients whose UDP is blocked). Default: unset (no ICE-TCP). */
    tcpport: port.optional(),
    /** STUN/TURN servers: used by the server's own ICE agent (TURN) and handed to clients. Default []. */
    iceserver: z.array(iceServer).default([]),
    /**
     * SDP semantics. All of ION's values parse so old configs load; only
     * "unified-plan" is supported at run time (see validateSupported). Default "unified-plan".
     */
    sdpsemantics: z.enum(['unified-plan', 'plan-b', 'unified-plan-with-fallback']).default('unified-plan'),
    /** Resolve clients' mDNS (`.local`) candidates; false ignores them. Default true. */
    mdns: z.boolean().default(true),
    candidates: candidatesSection.prefault({}),
    timeouts: timeoutsSection.prefault({}),
    // -- hostile SDP (src/media/sdpCheck.ts)
    /**
     * Most media sections a client's offer may have (join, renegotiation); more are refused. Relay
     * links between nodes are not limited. Default 64.
     */
    maxmediasections: z.int().min(1).max(1024).default(64),
    /**
     * Most distinct ICE candidates in one client SDP, and most a client may trickle per PC and
     * negotiation; more are refused. Default 64.
     */
    maxcandidates: z.int().min(1).max(1024).default(64),
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
  /** Run a TURN server (coturn, supervised) for this node's clients. Default false. */
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

const authSection = z.strictObject({
  /**
   * Let clients join `/ws` without a token (full grants; the first joiner of an empty room is its host).
   * Default true, the demo default: the server logs a warning at start. Set false in production.
   */
  anonymous: z.boolean().default(true),
  /**
   * HS256 key of the built-in service's JWTs (`switchboard token`, `/api/dev/token`, tokens of the
   * superservice's rooms). Default: unset, generated on first start and kept in the Store (and in
   * `<datadir>/secrets.json` for the CLI).
   */
  secret: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
});

const apiSection = z.strictObject({
  /** Serve the REST management API under `/api`. Default true. */
  enabled: z.boolean().default(true),
  /** Folder for what must survive a restart of the embedded server (rooms, services, secrets). Default "./data". */
  datadir: z.string().min(1).default('./data'),
  /** Id of the superservice (manages `/services`). Default: unset, generated on first start and printed once. */
  superserviceid: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected 1-64 letters, digits, "_" or "-"' })
    .optional(),
  /** Key of the superservice (MAuth). Default: unset, generated on first start and printed once. */
  superservicekey: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** Accepted clock skew of MAuth timestamps, in seconds; replayed (timestamp, cnonce) pairs are refused within it. Default 300. */
  mauthwindow: z.int().min(1).max(86400).default(300),
});

const webhooksSection = z.strictObject({
  /** URLs that receive every room/participant/track event as a signed JSON POST. Default []. */
  urls: z.array(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })).default([]),
  /** Delivery attempts after the first before an event is dropped (exponential backoff from 0.5 s). Default 5. */
  retries: z.int().min(0).max(20).default(5),
  /** Seconds to wait for a receiver's answer. Default 5. */
  timeout: z.number().positive().max(120).default(5),
  /** Deliveries (all URLs) waiting at most; past it the oldest are dropped with a warning. Default 1000. */
  queuesize: z.int().min(1).max(1_000_000).default(1000),
});

const recordingSection = z.strictObject({
  /**
   * Folder recordings are written to (on the media node), as `<room>/<participant>/<time>.webm|.mkv`;
   * relative to the working directory. Default "./recordings".
   */
  path: z.string().min(1).default('./recordings'),
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
  auth: authSection.prefault({}),
  api: apiSection.prefault({}),
  webhooks: webhooksSection.prefault({}),
  recording: recordingSection.prefault({}),
  log: logSection.prefault({}),
});

/** The parsed configuration with every default filled in. */
export type Config = z.infer<typeof configSchema>;

/** A complete configuration with every key at its default (a fresh object each call). */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
