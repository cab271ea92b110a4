import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { ALL_ROLES, Switchboard, type RoleName } from '../server/Switchboard.ts';
import { CliError, makeToken, roomCommand, type RoomOptions, type TokenOptions } from './admin.ts';

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
      console.log(`switchboard: ${signal} received, shutting down`);
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      sb.close().then(
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

await program.parseAsync(process.argv);
