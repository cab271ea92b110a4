/**
 * The `switchboard` command line: every command, option and help text. `buildProgram()` only builds it
 * (src/cli/main.ts runs it; `npm run docs` renders its help into docs/cli.md), so the help texts here
 * are the CLI reference: say what an option does in its description, and what a command does beyond
 * its options (output, exit codes, signals) in its `addHelpText('after', …)`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { ALL_ROLES, Switchboard, type RoleName } from '../server/Switchboard.ts';
import { CliError, makeToken, roomCommand, type RoomOptions, type TokenOptions } from './admin.ts';
import { runWorker } from './worker.ts';
import { DRAIN_TIMEOUT_MS } from '../sfu/index.ts';
import { runCluster, type ClusterOptions } from './cluster.ts';
import { recordingCommand, type RecordingOptions } from './recording.ts';
import { loadtestCommand } from '../loadtest/command.ts';

function parseRoles(value: string): RoleName[] {
  const roles = value.split(',').map((r) => r.trim());
  for (const r of roles) {
    if (!(ALL_ROLES as readonly string[]).includes(r)) {
      throw new InvalidArgumentError(`unknown role "${r}" (known: ${ALL_ROLES.join(', ')})`);
    }
  }
  return roles as RoleName[];
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError('expected a port number 0..65535');
  }
  return n;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError('expected a whole number >= 0');
  }
  return n;
}

/** Runs an operator command: prints its output, or the error and exit code 1 (2 for a bad config). */
async function run(f: () => Promise<string>): Promise<void> {
  try {
    console.log(await f());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`switchboard: invalid configuration\n${err.message}`);
      process.exit(2);
    }
    console.error(`switchboard: ${err instanceof CliError ? err.message : String(err)}`);
    process.exit(1);
  }
}

/** Help lines shared by the commands that call the REST API as the superservice. */
const SUPERSERVICE_HELP = `
The superservice's id and key come, first found wins, from the environment
variables SWITCHBOARD_SUPERSERVICE_ID and SWITCHBOARD_SUPERSERVICE_KEY, from
[api] superserviceid and superservicekey of --config, or, when the server
generated them, from <[api] datadir>/secrets.json (datadir of --config, default
./data; relative to the working directory, as the server resolves it). It calls
--url, else SWITCHBOARD_URL, else http://<[signal] host>:<[signal] port>
(127.0.0.1 for a wildcard host; https:// with [signal] cert or tlsselfsigned:
for a self-signed certificate, set NODE_EXTRA_CA_CERTS to its cert.pem).`;

const EXIT_HELP = `
Exit codes: 0 done; 1 an error (the message is on stderr); 2 an invalid
configuration file.`;

/** What `start` prints once listening: where to open the page, and the certificate to compare. */
function startBanner(sb: Switchboard): string {
  const [local, ...lan] = sb.urls;
  const lines = [`Switchboard is running: open ${local} in two browser tabs (Ctrl-C to stop)`];
  if (sb.signal && lan.length > 0) {
    lines.push(
      sb.tls
        ? `From other machines: ${lan.join(', ')}`
        : `From other machines (${lan.join(', ')}) browsers give camera and microphone only over HTTPS: ` +
            'start with --tls-self-signed, or see docs/deployment.md',
    );
  }
  if (sb.tls?.selfSigned) {
    lines.push(
      `Self-signed certificate ${sb.tls.certPath}, SHA-256 fingerprint\n  ${sb.tls.fingerprint256}\n` +
        'Browsers warn once per address: check that the fingerprint they show is this one, then accept.',
    );
  }
  return lines.join('\n');
}

/** The whole command line, not yet run: `await buildProgram().parseAsync(process.argv)`. */
export function buildProgram(): Command {
  const program = new Command('switchboard').description('Switchboard WebRTC conferencing server (SFU)');
  program.addHelpText(
    'after',
    `
Every --config is the server's TOML configuration file (docs/configuration.md).
Exit codes: 0 success, 1 an error (the message is on stderr), 2 an invalid
configuration file (one line per problem, naming the key).`,
  );

  program
    .command('start')
    .description('run the server (all roles in one process by default)')
    .option('-c, --config <file>', 'ION-style TOML configuration file')
    .option('-r, --role <roles>', `comma-separated roles to run (${ALL_ROLES.join(',')})`, parseRoles)
    .option('-p, --port <port>', 'HTTP/WebSocket port (overrides [signal] port)', parsePort)
    .option(
      '--tls-self-signed',
      'serve HTTPS and WSS with a self-signed certificate kept in <datadir>/tls/ (sets [signal] tlsselfsigned)',
    )
    .addHelpText(
      'after',
      `
--role takes any comma-separated subset of the roles; without it the process
runs them all (distributed mode runs them in separate processes sharing NATS
and Redis).

One HTTP port serves / (the demo page), /ws (signalling, WebSocket), /api (the
REST API; its OpenAPI document is /api/openapi.json), /metrics (Prometheus),
/healthz, /sdk/switchboard.js (the browser SDK) and /ice (the client's ICE
servers). With [signal] cert and key, or --tls-self-signed, all of it is
HTTPS and WSS on that port (browsers give camera and microphone only to
https:// pages, or to localhost).

--tls-self-signed is for trying the server from phones and other machines of a
LAN: it makes a certificate for localhost, 127.0.0.1, this host's name and its
IPv4 addresses on first start, keeps it in <[api] datadir>/tls/ (cert.pem,
key.pem) and reuses it while valid, so a browser's exception holds across
restarts. It prints the certificate's SHA-256 fingerprint (compare it with the
one the browser shows before accepting the warning) and the https:// URLs.

Signals: SIGINT closes every peer and exits at once. SIGTERM first drains the
media node (its clients are told to reconnect and move to another node; at
most ${DRAIN_TIMEOUT_MS / 1000} s), then exits.

Exit codes: 0 after a clean shutdown; 1 when the server fails to start or to
shut down; 2 when the configuration is invalid, with one line per problem,
naming the key:
  switchboard: invalid configuration
  sfu.toml: router.maxbandwith: unknown key
  sfu.toml: webrtc.portrange: expected [min, max] with min < max`,
    )
    .action(async (opts: { config?: string; role?: RoleName[]; port?: number; tlsSelfSigned?: boolean }) => {
      let sb: Switchboard;
      try {
        const config = await loadConfig(opts.config);
        if (opts.port !== undefined) {
          config.signal.port = opts.port;
        }
        if (opts.tlsSelfSigned) {
          if (config.signal.cert !== undefined) {
            throw new ConfigError([
              '--tls-self-signed: the configuration has [signal] cert and key; use one or the other',
            ]);
          }
          config.signal.tlsselfsigned = true;
        }
        sb = await Switchboard.start(config, opts.role ? { roles: opts.role } : {});
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(`switchboard: invalid configuration\n${err.message}`);
          process.exit(2);
        }
        console.error(`switchboard: failed to start: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
      console.log(startBanner(sb));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          return;
        }
        stopping = true;
        // SIGTERM drains (clients are told to reconnect and move to another node), SIGINT closes at once.
        const drain = signal === 'SIGTERM';
        console.log(`switchboard: ${signal} received, ${drain ? 'draining' : 'shutting down'}`);
        const force = setTimeout(() => process.exit(1), (drain ? DRAIN_TIMEOUT_MS : 0) + 10_000);
        force.unref();
        (drain ? sb.drain() : Promise.resolve())
          .then(() => sb.close())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              console.error('switchboard: shutdown failed', err);
              process.exit(1);
            },
          );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });

  program
    .command('cluster')
    .description('run a local cluster: nats-server, redis-server and several nodes, until Ctrl-C')
    .option('-c, --config <file>', 'base configuration for every node ([nats] and [redis] are set for you)')
    .option(
      '-n, --nodes <n>',
      'nodes to start per region, each with every role and one media worker (default: 3; 1 with --regions > 1)',
      parseCount,
    )
    .option(
      '-r, --regions <n>',
      'regions (data centres): one nats-server each, joined by gateways, and --nodes nodes each',
      parseCount,
      1,
    )
    .option(
      '-p, --port <port>',
      'HTTP port of the first node; the others take the next ones',
      parsePort,
      7000,
    )
    .addHelpText(
      'after',
      `
Starts Debian's nats-server and redis-server on free ports (nothing persisted),
then the nodes on HTTP ports --port, --port + 1, ..., prints their URLs, pids
and configuration files, and prefixes every line of their output with its name
([node1], [nats-server], ...). The configuration files stay in a temporary
folder while it runs: \`switchboard token --config <a node's file>\` signs tokens
the cluster accepts.

With --regions 2 (or more) it is one cluster across regions, as across data
centres: one nats-server per region ([nats-region1], ...), joined by NATS
gateways into a supercluster, one redis-server they all use, and --nodes nodes
per region, region 1's first. Every node has [global] cluster = "local" (or
the base file's) and [global] dc = "region1", "region2", ... and connects to
its region's nats-server. The summary lists each region's node URLs and
nats-server; a client is placed on a media node of the region of the node it
connected to, and a room spans regions through relay links.

Signals: Ctrl-C (SIGINT) or SIGTERM stops the nodes, then the servers, and
removes the temporary folder.

Exit codes: 0 after Ctrl-C; 1 when a server cannot be started or nats-server
or redis-server dies; 2 when the base configuration is invalid.`,
    )
    .action((opts: ClusterOptions) => runCluster(opts));

  // Internal: a media worker process, forked by `start` (src/agent); not for operators.
  program.command('worker', { hidden: true }).action(() => runWorker());

  program
    .command('token')
    .description('print an access token (JWT) for a room, signed with [auth] secret')
    .option('--room <room>', 'room (session id) the token is for')
    .requiredOption('--identity <uid>', 'user id of the participant')
    .option('--name <name>', 'display name')
    .option(
      '--grant <name=value>',
      'canPublish, canSubscribe, canPublishData, roomAdmin, hidden, api (repeatable; a bare name means true)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--ttl <duration>', 'lifetime: 90, 30s, 15m, 1h, 2d', '1h')
    .option('--single-use', 'the token joins once (a jti the server remembers)')
    .option(
      '--ion',
      "ION's token for Ion.Connector and ION's SDKs (claims uid, sid, publish, subscribe, services)",
    )
    .option(
      '--livekit',
      'a LiveKit access token for livekit-client, signed with the first [livekit] keys entry (else the superservice id and key)',
    )
    .option('-c, --config <file>', 'configuration file (for [auth] secret and [api] datadir)')
    .addHelpText(
      'after',
      `
Grants (--grant name=value; a grant not named keeps the default shown):
  canPublish=true       may publish audio and video
  canSubscribe=true     receives the other participants' tracks
  canPublishData=true   its data channels are fanned out; may send room.message
  roomAdmin=false       the room's host: lock, password, kick, mute, end,
                        record; gets past lock and password
  hidden=false          left out of participants, room.peers and room.peer
                        events (webhooks still name it)
  api=false             a management token: a bearer token for /api (needs no
                        --room; cannot join)

--ttl takes seconds (90) or a number with s, m, h or d (30s, 15m, 1h, 2d).
--single-use adds a jti: the server accepts the token for one join.
--ion prints ION's JWT instead (uid = --identity, sid = --room, publish and
subscribe from the grants, services rtc and room), signed with [signal.jwt] key
or [auth] secret.

The token is signed with, first found wins, the environment variable
SWITCHBOARD_SECRET, [auth] secret of --config, or, when the server generated
it, the one in <[api] datadir>/secrets.json (datadir of --config, default
./data; relative to the working directory, as the server resolves it).
${EXIT_HELP}`,
    )
    .action((opts: TokenOptions) => run(() => makeToken(opts)));

  program
    .command('room')
    .description('manage rooms through the REST API, as the superservice')
    .argument('<action>', 'list | create | delete | users | stats')
    .argument('[name]', 'room name (create) or name / id (delete, users, stats)')
    .option('--url <url>', 'server base URL (default: SWITCHBOARD_URL, else from [signal] host and port)')
    .option('--max-peers <n>', 'create: most participants at once (0 = unlimited)', parseCount)
    .option('--password <password>', 'create: join password')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file (for the superservice credentials and [api] datadir)')
    .addHelpText(
      'after',
      `
Actions:
  list           one line per room: id  name  [locked]  [password]  [max N]
  create <name>  create a room (--max-peers, --password) and print it
  delete <name>  delete a room, by name or id; everyone in it is disconnected
  users <name>   its participants, one line each: uid  name  role  protocol
                 tracks  node[/region]  joined (relative time); --json prints
                 the REST answer
  stats <name>   its media: per participant the tracks it publishes (codec,
                 layers with resolution and bitrate) and receives (layer,
                 bitrate, loss, rtt, why paused); --json prints
                 GET /api/rooms/{room}/stats
${SUPERSERVICE_HELP}
${EXIT_HELP}`,
    )
    .action((action: string, name: string | undefined, opts: RoomOptions) =>
      run(() => roomCommand(action, name, opts)),
    );

  program
    .command('recording')
    .description('record participants through the REST API, as the superservice')
    .argument('<action>', 'list | start | stop | download')
    .argument('[room]', 'room name or id')
    .argument('[id]', 'recording id (stop, download)')
    .option('--uid <uid>', 'start: record this participant (all its tracks, one file)')
    .option('--stream <streamId>', "start: record this stream's tracks")
    .option('--kind <kind>', 'start: only audio or only video')
    .option(
      '-o, --output <file>',
      "download: file to write (default: the recording's name; never overwritten)",
    )
    .option('--url <url>', 'server base URL (default: SWITCHBOARD_URL, else from [signal] host and port)')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file (for the superservice credentials and [api] datadir)')
    .addHelpText(
      'after',
      `
Actions:
  list <room>              one line per recording: id  state  participant
                           [duration]  [size]  path  [error]
  start <room>             record --uid (a participant) or --stream (one
                           stream), --kind audio or video for one kind only;
                           prints the recording
  stop <room> <id>         stop it; prints the finished recording
  download <room> <id>     write its file under its own name (or --output) and
                           print the name; an existing file is never overwritten
${SUPERSERVICE_HELP}
${EXIT_HELP}`,
    )
    .action((action: string, room: string | undefined, id: string | undefined, opts: RecordingOptions) =>
      run(() => recordingCommand(action, room, id, opts)),
    );

  program.addCommand(loadtestCommand());

  return program;
}
