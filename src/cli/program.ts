/**
 * The `switchboard` command line. `buildProgram()` only builds it: src/cli/main.ts runs it, tests parse
 * command lines with it without running them.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { ALL_ROLES, Switchboard, type RoleName } from '../server/Switchboard.ts';
import { CliError, makeToken, roomCommand, type RoomOptions, type TokenOptions } from './admin.ts';
import { runWorker } from '../agent/index.ts';
import { DRAIN_TIMEOUT_MS } from '../sfu/index.ts';
import { runCluster, type ClusterOptions } from './cluster.ts';
import { recordingCommand, type RecordingOptions } from './recording.ts';

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

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError('expected a whole number >= 0');
  }
  return n;
}

export function buildProgram(): Command {
  const program = new Command('switchboard').description('Switchboard WebRTC conferencing server (SFU)');

  program
    .command('start')
    .description('run the server (all roles in one process by default)')
    .option('-c, --config <file>', 'ION-style TOML configuration file')
    .option('-r, --role <roles>', `comma-separated roles to run (${ALL_ROLES.join(',')})`, parseRoles)
    .option('-p, --port <port>', 'HTTP/WebSocket port (overrides [signal] port)', parsePort)
    .action(async (opts: { config?: string; role?: RoleName[]; port?: number }) => {
      let sb: Switchboard;
      try {
        const config = await loadConfig(opts.config);
        if (opts.port !== undefined) {
          config.signal.port = opts.port;
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
      console.log(`Switchboard is running: open ${sb.url} in two browser tabs (Ctrl-C to stop)`);
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
    .option('-n, --nodes <n>', 'nodes to start, each with every role and one media worker', parseCount, 3)
    .option(
      '-p, --port <port>',
      'HTTP port of the first node; the others take the next ones',
      parsePort,
      7000,
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
    .option('-c, --config <file>', 'configuration file (for [auth] secret and [api] datadir)')
    .action((opts: TokenOptions) => run(() => makeToken(opts)));

  program
    .command('room')
    .description('manage rooms through the REST API, as the superservice')
    .argument('<action>', 'list | create | delete')
    .argument('[name]', 'room name (create) or name / id (delete)')
    .option('--url <url>', 'server base URL (default: from [signal] host and port)')
    .option('--max-peers <n>', 'create: most participants at once (0 = unlimited)', parseCount)
    .option('--password <password>', 'create: join password')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file (for the superservice credentials and [api] datadir)')
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
    .option('--url <url>', 'server base URL (default: from [signal] host and port)')
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'configuration file (for the superservice credentials and [api] datadir)')
    .action((action: string, room: string | undefined, id: string | undefined, opts: RecordingOptions) =>
      run(() => recordingCommand(action, room, id, opts)),
    );

  return program;
}
