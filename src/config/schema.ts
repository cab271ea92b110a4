/**
 * Schema of the TOML configuration file, key-compatible with ION's sfu.toml
 * (lower-case keys, same sections). Every table is strict so a misspelt key
 * is an error rather than a silently ignored setting.
 *
 * Sections use `.prefault({})` rather than `.default({})`: in zod 4 a
 * `.default()` value is returned as-is without being parsed, so the inner
 * key defaults would not be filled in; `.prefault()` feeds `{}` through the
 * schema, which yields a complete section.
 *
 * Every key and table carries its meaning as a description (`.describe()`, zod's global registry),
 * from which `npm run docs` writes docs/configuration.md. A description belongs to the schema instance
 * it is called on, not to wrappers made later, so it is always the last call: after `.default()`,
 * `.optional()` and `.refine()`. Say what the key does, its unit and where it differs from ION; the
 * type and default are rendered from the schema itself, so descriptions do not repeat them. A
 * `.meta({ title })` names a type the reference cannot put in words (`portRange`).
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.int().min(1).max(65535);

/** `[min, max]` UDP port range; min must be below max. The title names its type in the reference. */
const portRange = z
  .tuple([port, port])
  .refine(([min, max]) => min < max, { message: 'expected [min, max] with min < max' })
  .meta({ title: '[min, max] port range' });

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

const iceServer = z
  .strictObject({
    urls: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
        error: 'expected a URL string or a non-empty array of URL strings',
      })
      .transform((u) => (typeof u === 'string' ? [u] : u))
      .describe('STUN/TURN URLs (`stun:`, `turn:`, `turns:`); a single string means a one-element array.'),
    username: z.string().optional().describe('TURN username, if the server needs one.'),
    credential: z.string().optional().describe('TURN credential (password), if the server needs one.'),
  })
  .describe(
    'A STUN or TURN server, one table per server. Each is handed to clients (the `iceServers` call, ' +
      "`GET /ice`); TURN entries are also used by the server's own ICE agent.",
  );

/**
 * A cluster or data-centre name: a token of NATS subjects (`sb.<cluster>.…`) and Redis keys
 * (`sb:<cluster>:…`), so no dots, colons, wildcards or spaces.
 */
const clusterToken = z
  .string()
  .min(1, { message: 'must not be empty', abort: true })
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, { message: 'only letters, digits, `-` and `_` (a subject and key token)' });

const globalSection = z
  .strictObject({
    dc: clusterToken
      .default('dc1')
      .describe(
        'Data centre (region) of this process. Clients are placed on media nodes of the region of the ' +
          'signal instance they reach, and a room spans regions through relays. Alone (no `cluster`), ' +
          'it also names the cluster, as before: processes with different `dc` and no `cluster` are ' +
          'separate clusters sharing one NATS and one Redis.',
      ),
    cluster: clusterToken
      .optional()
      .describe(
        'Namespace of Bus subjects and Store keys that the processes of one cluster share (default: ' +
          'the `dc` value). Processes with the same `cluster` and different `dc` form one cluster ' +
          'across regions.',
      ),
  })
  .describe('Settings of the whole deployment.');

/** The namespace of subjects and keys this process shares with its cluster: `cluster`, else `dc`. */
export function clusterOf(config: { global: { dc: string; cluster?: string | undefined } }): string {
  return config.global.cluster ?? config.global.dc;
}

const natsSection = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .optional()
      .describe(
        'NATS server URL (comma-separated for several): the Bus runs on NATS. Unset: the in-process Bus ' +
          '(one process). A server that cannot be reached at start stops the start.',
      ),
  })
  .describe('The Bus of distributed mode (request/reply and publish/subscribe between roles).');

const redisSection = z
  .strictObject({
    addrs: z
      .array(z.string().min(1))
      .default([])
      .describe(
        '`"host:port"` addresses: the Store is Redis; several = a Redis Cluster (then `db` must be 0). ' +
          'Empty: the in-memory Store, snapshotted to `[api] datadir`.',
      ),
    password: z.string().default('').describe('Redis password; empty for none.'),
    db: z.int().min(0).default(0).describe('Redis database number.'),
  })
  .describe('The Store of distributed mode (rooms, services, leases, heartbeats).');

const signalLimitsSection = z
  .strictObject({
    pinginterval: z
      .number()
      .min(0)
      .default(20)
      .describe(
        'Seconds between WebSocket pings: a socket that neither answered the last ping nor sent anything ' +
          'is closed (no FIN needed), and its peer and room membership end with it. 0 = no pings.',
      ),
    jointimeout: z
      .number()
      .min(0)
      .default(60)
      .describe(
        'Seconds a socket may stay open without a successful `join` before it is closed (4004 `no join ' +
          'within 60 s`): long enough for an app that opens the socket before asking for the camera. ' +
          '0 = no limit.',
      ),
    joinretries: z
      .int()
      .min(0)
      .default(5)
      .describe(
        'Failed joins one socket may make: the socket is closed after that many refusals (4005 ' +
          '`5 failed joins`). 0 = no limit.',
      ),
    socketsperip: z
      .int()
      .min(0)
      .default(50)
      .describe(
        'Open sockets per remote address; a further one is closed at once (1008 `too many connections ' +
          'from your address`). 0 = no limit.',
      ),
    peersperip: z
      .int()
      .min(0)
      .default(50)
      .describe(
        'Joined (or joining) peers per remote address; a further `join` fails with 429 `too many peers ' +
          'from your address`. 0 = no limit.',
      ),
    joinrate: z
      .number()
      .min(0)
      .default(2)
      .describe(
        'Joins per second per remote address (token bucket refill); past it `join` fails with 429 ' +
          '`too many joins from your address (2/s); try again in N s`. 0 = no limit.',
      ),
    joinburst: z
      .int()
      .min(1)
      .default(30)
      .describe('Joins per remote address in a burst (token bucket size), with `joinrate`.'),
    trustproxy: z
      .boolean()
      .default(false)
      .describe(
        "The server is behind a reverse proxy that appends the client's address to `X-Forwarded-For`: " +
          'the limits then count the last address of that header. Leave false when clients connect ' +
          'directly (else they could pick their own address).',
      ),
  })
  .describe(
    'What one client (one remote address) may hold of a public server: sockets, peers, join rate, ' +
      'keepalive pings, join timeout and retries. Counts are per signal instance and 0 turns a limit off; ' +
      'the defaults fit a public demo server and a NATed office of a few dozen people behind one address.',
  );

/** ION's `[signal.grpc]` (configs/signal.toml): where native gRPC clients (ion-sdk-go, -flutter) connect. */
const signalGrpcSection = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Serve ION's services (`rtc.RTC`, `room.RoomSignal`, `room.RoomService`) over native gRPC (HTTP/2, " +
          'no TLS) on `port`. gRPC-web over WebSocket (`Ion.Connector`) is always served on `[signal] port`.',
      ),
    host: z
      .string()
      .min(1)
      .optional()
      .describe('Address the gRPC listener binds to; unset: `[signal] host`.'),
    port: z
      .union([z.int(), z.string().regex(/^\d+$/, { message: 'a port number' }).transform(Number)])
      .pipe(z.int().min(0).max(65535))
      .default(5551)
      .describe(
        "Port of the gRPC listener (ION's default 5551; ION writes it as a string, accepted); 0 picks any free port.",
      ),
    allow_all_origins: z
      .boolean()
      .optional()
      .describe("ION's key, accepted: origins of gRPC-web are `[signal] allowedorigins`."),
  })
  .describe("ION's native gRPC listener for its cluster clients (reference/ion.md §1.2).");

/** ION's `[signal.jwt]`: the key of ION's own access tokens (claims uid, sid, publish, subscribe, services). */
const signalJwtSection = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "ION's switch: true requires a token on ION's services even when `[auth] anonymous` is true; false " +
          'leaves it to `[auth] anonymous`.',
      ),
    key_type: z.literal('HMAC').default('HMAC').describe('Only HMAC (HS256) keys, as ION.'),
    key: z
      .string()
      .min(16, { message: 'must be at least 16 characters' })
      .optional()
      .describe(
        'HS256 key of ION tokens; unset: `[auth] secret` (the key `switchboard token --ion` signs with).',
      ),
  })
  .describe('ION tokens in the `authorization` metadata of the gRPC and gRPC-web services.');

const signalSection = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP and WebSocket listener binds to.'),
    port: z
      .int()
      .min(0)
      .max(65535)
      .default(7000)
      .describe(
        'Port of the HTTP and WebSocket listener (`/`, `/ws`, `/api`, `/metrics`, ...); 0 picks any free ' +
          'port. `switchboard start --port` overrides it.',
      ),
    maxmessagesize: z
      .int()
      .min(1024)
      .default(1048576)
      .describe(
        'Largest WebSocket frame, in bytes (1048576 = 1 MiB); a larger one closes the socket (1009).',
      ),
    allowedorigins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Allowed `Origin` header values for `/ws` and `/socket.io/`; empty allows any origin, as ion-sfu does.',
      ),
    publicurl: z
      .url({ protocol: /^(http|https|ws|wss)$/, error: 'an http(s):// or ws(s):// URL' })
      .optional()
      .describe(
        'Where clients reach the signal role, e.g. `https://meet.example.com` behind a proxy. Licode ' +
          'tokens (Nuve `createToken`) carry its host and port, and erizo.js connects there; unset, a token names the Host the REST request used, with the port it arrived on.',
      ),
    cert: z
      .string()
      .min(1)
      .optional()
      .describe(
        'TLS certificate (PEM file, the chain after it when there is one) of the HTTP and WebSocket ' +
          'listener: with `key`, everything on `port` (`/`, `/ws`, `/api`, `/whip`, `/dashboard`, ' +
          '`/metrics`, ...) is served over HTTPS and WSS only. Unset: plain HTTP (as behind a reverse ' +
          'proxy that terminates TLS). Read at start; an unreadable or invalid file stops the start.',
      ),
    key: z
      .string()
      .min(1)
      .optional()
      .describe('Private key (PEM file, unencrypted) of `cert`; `cert` and `key` go together.'),
    tlsselfsigned: z
      .boolean()
      .default(false)
      .describe(
        'Serve HTTPS and WSS with a self-signed certificate for trials on a LAN (`switchboard start ' +
          '--tls-self-signed`): made on first start for localhost, 127.0.0.1, the host name and its ' +
          'IPv4 addresses, kept in `<datadir>/tls/` and reused while valid and still naming them; its ' +
          'SHA-256 fingerprint is logged at start. Exclusive with `cert` and `key`.',
      ),
    limits: signalLimitsSection.prefault({}),
    grpc: signalGrpcSection.prefault({}),
    jwt: signalJwtSection.prefault({}),
  })
  .superRefine((s, ctx) => {
    if ((s.cert === undefined) !== (s.key === undefined)) {
      const [missing, given] = s.cert === undefined ? ['cert', 'key'] : ['key', 'cert'];
      ctx.addIssue({
        code: 'custom',
        message: `required with signal.${given} (both PEM files, or neither)`,
        path: [missing],
      });
    }
  })
  .refine((s) => !s.tlsselfsigned || s.cert === undefined, {
    message: 'exclusive with signal.cert and signal.key: pick one certificate',
    path: ['tlsselfsigned'],
  })
  .describe('The signal role: the HTTP and WebSocket listener clients connect to.');

const sfuSection = z
  .strictObject({
    ballast: z
      .int()
      .min(0)
      .default(0)
      .describe('GC ballast in MiB. Accepted for ION compatibility; no effect (V8 has no GC ballast).'),
    withstats: z
      .boolean()
      .default(false)
      .describe(
        "ION's per-stream `rtp_*` Prometheus metrics: expected / received packets, loss, jitter and audio-video drift per incoming stream, sampled each second.",
      ),
    workers: z
      .int()
      .min(0)
      .max(256)
      .default(0)
      .describe(
        'Media worker processes `switchboard start` runs for the sfu role, each a node of its own in the ' +
          'registry with an equal slice of `[webrtc] portrange`. 0 = one per CPU core (counted at start); ' +
          '1 = media in the main process. More than one needs `[nats] url` and `[redis] addrs` and no ' +
          '`[webrtc] singleport`: without them 0 means 1, and a larger number is an error at start.',
      ),
    maxpeers: z
      .int()
      .min(0)
      .default(0)
      .describe(
        'Most client peers this media node (each worker) hosts: a full node takes no new rooms, and new ' +
          'peers of its rooms cascade to another node. Relay links between nodes do not count. 0 = no limit.',
      ),
    maxpacketrate: z
      .int()
      .min(0)
      .default(0)
      .describe(
        'Most RTP packets per second this media node (each worker) forwards before it counts as full, ' +
          'as with `maxpeers`. 0 = no limit.',
      ),
  })
  .describe('The sfu (media) role: worker processes and how much one media node takes.');

const simulcastSection = z
  .strictObject({
    bestqualityfirst: z
      .boolean()
      .default(true)
      .describe(
        'A new subscriber starts on the best simulcast layer it may receive; false: on the lowest, then ' +
          'it climbs.',
      ),
    enabletemporallayer: z
      .boolean()
      .default(false)
      .describe(
        "Honour subscribers' `framerate` (VP8 temporal layers 2/1/0); false: every frame is forwarded.",
      ),
  })
  .describe('How subscribers are switched between the layers of a simulcast publisher.');

const routerSection = z
  .strictObject({
    maxbandwidth: z
      .int()
      .min(0)
      .default(1500)
      .describe(
        'REMB bitrate cap sent to publishers, in kbps; 0 = no cap. (ION documents kbps but applies the ' +
          'value as bps; Switchboard applies kbps.)',
      ),
    startbitrate: z
      .int()
      .min(0)
      .default(1000)
      .describe(
        "Bitrate a publisher's video starts at, in kbps, at most `maxbandwidth` (sent to Chrome as " +
          '`x-google-start-bitrate` in our answer; without it Chrome starts at 300 and, with REMB only, ' +
          "needs ~20 s to send the top layer of a 960×540 simulcast); 0 = the browser's own.",
      ),
    maxpackettrack: z.int().min(1).default(500).describe('Packets kept per video track to answer NACKs.'),
    audiolevelthreshold: z
      .int()
      .min(0)
      .max(127)
      .default(40)
      .describe('RFC 6464 audio level (-dBov, lower is louder) at or under which a packet counts as speech.'),
    audiolevelinterval: z
      .int()
      .min(10)
      .default(1000)
      .describe('Milliseconds between active-speaker evaluations.'),
    audiolevelfilter: z
      .int()
      .min(0)
      .max(100)
      .default(20)
      .describe("Percentage of an interval's packets that must be speech for a stream to be active."),
    simulcast: simulcastSection.prefault({}),
  })
  .describe('Forwarding inside a media node: bandwidth cap, NACK cache, active speakers.');

const candidatesSection = z
  .strictObject({
    nat1to1: z
      .array(z.string().refine((s) => isIP(s) !== 0, { message: 'not an IP address' }))
      .default([])
      .describe(
        "Public addresses put in the server's host candidates instead of its own (1:1 NAT, e.g. a cloud " +
          'VM); the first is also the host of the TURN URLs clients get when `[turn] address` is a ' +
          'wildcard. IPv4 only for now: an IPv6 address is an error at start.',
      ),
    icelite: z
      .boolean()
      .default(false)
      .describe(
        "Run the server's ICE agent in ICE-lite mode (it answers checks, never sends its own): suits a " +
          'server with a public address.',
      ),
  })
  .describe('Which candidates the server offers.');

const positiveSeconds = z.number().positive();

const timeoutsSection = z
  .strictObject({
    disconnected: positiveSeconds
      .default(5)
      .describe('Seconds without traffic from a client before its ICE connection is "disconnected".'),
    failed: positiveSeconds
      .default(25)
      .describe(
        'Further seconds without traffic, after "disconnected", before it "failed": the peer is closed ' +
          'and leaves its room.',
      ),
    keepalive: positiveSeconds
      .default(2)
      .describe('Seconds without anything sent before a keepalive (STUN Binding indication).'),
  })
  .describe('ICE consent and keepalive timing of client connections.');

const webrtcSection = z
  .strictObject({
    singleport: port
      .optional()
      .describe(
        "One UDP port for every peer's ICE and media, demultiplexed by ICE ufrag and remote address. " +
          'Exclusive with `portrange`. Unset: one UDP socket per peer.',
      ),
    portrange: portRange
      .optional()
      .describe(
        "UDP ports of the peers: each peer's one UDP socket (shared by its two PCs) is bound inside it; when all " +
          'are taken, `join` fails with `503 no free UDP port for media`. With several workers, at least ' +
          'two ports per worker. Unset: ephemeral ports.',
      ),
    tcpport: port
      .optional()
      .describe(
        'Passive ICE-TCP candidates (RFC 6544) of every peer on this TCP port, for clients whose UDP is ' +
          'blocked. Unset: no ICE-TCP.',
      ),
    iceserver: z.array(iceServer).default([]),
    sdpsemantics: z
      .enum(['unified-plan', 'plan-b', 'unified-plan-with-fallback'])
      .default('unified-plan')
      .describe(
        "All of ION's values parse so old files load; only `unified-plan` works, others fail at start.",
      ),
    mdns: z
      .boolean()
      .default(true)
      .describe("Resolve clients' mDNS (`.local`) candidates; false ignores them."),
    candidates: candidatesSection.prefault({}),
    timeouts: timeoutsSection.prefault({}),
    // -- hostile SDP (src/media/sdpCheck.ts)
    maxmediasections: z
      .int()
      .min(1)
      .max(1024)
      .default(64)
      .describe(
        "Most media sections in a client's SDP (join, renegotiation; counting mids negotiated before); " +
          'more are refused (`invalid SDP offer: too many media sections`). Relay links between nodes are ' +
          'not limited.',
      ),
    maxcandidates: z
      .int()
      .min(1)
      .max(1024)
      .default(64)
      .describe(
        'Most distinct ICE candidates in one client SDP, and most a client may trickle per PC and ' +
          'negotiation; more are refused (`invalid SDP offer: too many ICE candidates`).',
      ),
  })
  .refine((w) => w.singleport === undefined || w.portrange === undefined, {
    message: 'webrtc.singleport and webrtc.portrange are exclusive',
    path: ['singleport'],
  })
  .describe(
    "The media transport: UDP and TCP ports, NAT, ICE servers and timers, and the limits on a client's " +
      'SDP. With no port setting each peer gets one UDP socket on an ephemeral port.',
  );

const turnAuthSection = z
  .strictObject({
    secret: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Shared secret for time-limited TURN REST credentials: each client gets its own, valid 24 hours ' +
          '(`username = <expiry>:<identity>`, `credential = base64(HMAC-SHA1(secret, username))`). Wins ' +
          'over `credentials`.',
      ),
    credentials: credentialList
      .default('')
      .describe('Static credentials, `"user=pass,user2=pass2"`; clients get the first pair.'),
  })
  .describe(
    'Credentials of the TURN server: `[turn] enabled` needs `secret` or `credentials` (no open relay).',
  );

const turnSection = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Run a TURN server for this node's clients: coturn (`turnserver` on the PATH, Debian package " +
          '`coturn`) as a supervised child process, relaying only to this media node.',
      ),
    realm: z.string().min(1).default('ion').describe('TURN realm.'),
    address: z
      .string()
      .regex(/^.+:\d{1,5}$/, { message: 'expected "host:port"' })
      .default('0.0.0.0:3478')
      .describe(
        '`"host:port"` the TURN server listens on, UDP and TCP (TLS/DTLS on the same port with `cert` and ' +
          '`key`). A host that is not a wildcard is also the host clients are told.',
      ),
    cert: z.string().min(1).optional().describe('TLS certificate file for TURNS (`turns:` URLs).'),
    key: z.string().min(1).optional().describe('TLS private key file for TURNS.'),
    portrange: portRange.optional().describe("UDP ports coturn relays from. Unset: coturn's default."),
    auth: turnAuthSection.prefault({}),
  })
  .describe(
    'A TURN server for clients that can reach nothing but a TURN port. With workers, the main process ' +
      "runs the host's one coturn.",
  );

const authSection = z
  .strictObject({
    anonymous: z
      .boolean()
      .default(true)
      .describe(
        'Let clients join `/ws` without a token, with every grant but `roomAdmin` (the first joiner of an ' +
          'empty room is its host); tokens given are still checked. The demo default: the server logs a ' +
          'warning at start. Set false in production.',
      ),
    secret: z
      .string()
      .min(16, { message: 'must be at least 16 characters' })
      .optional()
      .describe(
        "HS256 key of the built-in service's JWTs (`switchboard token`, `/api/dev/token`, tokens of the " +
          "superservice's rooms). Unset: generated on first start and kept in " +
          'the Store (and in `<datadir>/secrets.json` for the CLI).',
      ),
  })
  .describe('Who may join: anonymous mode and the key of access tokens.');

const livekitSection = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Serve LiveKit's protocol: signalling at `/rtc` (livekit-client and its siblings) and the Twirp " +
          'RoomService at `/twirp` (livekit-server-sdk), on the signal port.',
      ),
    keys: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected 1-64 letters, digits, "_" or "-"' }),
        z.string().min(16, { message: 'must be at least 16 characters' }),
      )
      .default({})
      .describe(
        'LiveKit API keys and their secrets (`keys = { APIkey = "secret" }`): access tokens whose `iss` is ' +
          "one of them are verified with its secret, and their rooms are the superservice's. Besides these, " +
          "every service's id and key work as an API key and secret (the superservice's, printed at first " +
          'start, out of the box).',
      ),
  })
  .describe("LiveKit's protocol: API keys of `livekit-client` tokens and the Twirp RoomService.");

const apiSection = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the REST management API under `/api`.'),
    dashboard: z
      .boolean()
      .default(true)
      .describe(
        "Serve the operator's dashboard at `/dashboard` (with the api role). It always asks for the " +
          "superservice's key or a management token; `false` removes it (404).",
      ),
    datadir: z
      .string()
      .min(1)
      .default('./data')
      .describe(
        'Data folder: the Store snapshot without Redis (rooms, services, secrets, replay entries) and ' +
          '`secrets.json` (generated credentials, for the CLI); with Redis only `secrets.json`. Created ' +
          '(mode 0700) when missing.',
      ),
    superserviceid: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected 1-64 letters, digits, "_" or "-"' })
      .optional()
      .describe(
        'Id of the superservice (manages `/services`): 1 to 64 letters, digits, `_` or `-`. Unset: ' +
          'generated on first start and printed once.',
      ),
    superservicekey: z
      .string()
      .min(16, { message: 'must be at least 16 characters' })
      .optional()
      .describe('Key of the superservice (MAuth). Unset: generated on first start and printed once.'),
    mauthwindow: z
      .int()
      .min(1)
      .max(86400)
      .default(300)
      .describe(
        'Seconds of clock skew accepted in MAuth timestamps; a replayed (timestamp, cnonce) pair is ' +
          'refused within it.',
      ),
  })
  .describe('The api role: the REST management API and the superservice.');

const webhooksSection = z
  .strictObject({
    urls: z
      .array(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }))
      .default([])
      .describe(
        'http(s) URLs that receive every room, participant, track and recording event as a signed JSON POST.',
      ),
    retries: z
      .int()
      .min(0)
      .max(20)
      .default(5)
      .describe(
        'Delivery attempts after the first before an event is dropped (exponential backoff from 0.5 s, ' +
          'at most 30 s).',
      ),
    timeout: z.number().positive().max(120).default(5).describe("Seconds to wait for a receiver's answer."),
    queuesize: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(1000)
      .describe('Deliveries (all URLs) waiting at most; past it the oldest are dropped with a warning.'),
  })
  .describe('Event notifications to your application.');

const recordingSection = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default('./recordings')
      .describe(
        'Folder the media node writes recordings to, as `<room>/<participant>/<time>.webm|.mkv`; relative ' +
          'to the working directory. The api role reads downloads from it (shared storage in a cluster).',
      ),
  })
  .describe('Where recordings are written.');

const logSection = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Log level (pino).'),
    v: z
      .int()
      .min(0)
      .max(2)
      .optional()
      .describe("ION's verbosity: 0 info, 1 debug, 2 trace; overrides `level` when set."),
  })
  .describe('Logging (JSON lines on standard output).');

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
  livekit: livekitSection.prefault({}),
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
