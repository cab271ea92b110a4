import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { ALL_ROLES, Switchboard, type RoleName } from '../server/Switchboard.ts';

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

await program.parseAsync(process.argv);
