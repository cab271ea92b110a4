// `switchboard loadtest`: its options and help (src/cli/program.ts adds it). The run itself is
// imported when the command runs: it patches werift for a client process, which a server must not get.
import { Command } from 'commander';
import { parseBitrate, parseCount, parseSeconds, type LoadtestCliOptions } from './options.ts';

export function loadtestCommand(): Command {
  return new Command('loadtest')
    .description('join synthetic publishers and subscribers to a server and report what they got')
    .option('--url <url>', 'the server: http(s)://host:port (default: SWITCHBOARD_URL)')
    .option('--rooms <n>', 'rooms to fill', parseCount, 1)
    .option('--publishers <n>', 'publishers per room (audio + video each)', parseCount, 1)
    .option('--subscribers <n>', 'subscribers per room (receive only)', parseCount, 4)
    .option(
      '--video-bitrate <bps>',
      "each publisher's video bitrate: 800000, 500k, 1.5M",
      parseBitrate,
      500_000,
    )
    .option('--simulcast', 'publish video as three simulcast layers (q, h, f; f at --video-bitrate)')
    .option('--audio-only', 'publish Opus audio only')
    .option(
      '--duration <duration>',
      'how long to measure after the joins: 30, 30s, 5m (at most 1h)',
      parseSeconds,
      30,
    )
    .option('--token <jwt>', "one participant's access token, used as given (the token's room; one peer)")
    .option(
      '--secret <secret>',
      "the server's [auth] secret: signs a token per peer (default: SWITCHBOARD_SECRET)",
    )
    .option('--json', 'print the result as one JSON object instead of the table')
    .addHelpText(
      'after',
      `
Every peer is an ion-sfu client on /ws (werift, in this process): publishers
send synthetic VP8 (or three simulcast layers) and Opus RTP at the given
bitrate, subscribers receive every publisher of their room and count packets
by RTP sequence number. Publishers join first, then subscribers (5 joins at a
time); the measurement then runs for --duration. Rooms are named
loadtest-<random>-1, -2, ...; uids <room>-pub1, <room>-sub1, ...

An https:// server with a self-signed certificate (start --tls-self-signed):
trust it for the run with NODE_EXTRA_CA_CERTS=<datadir>/tls/cert.pem.

Without --token or --secret the peers join without a token (the server's
[auth] anonymous mode). With --secret (or SWITCHBOARD_SECRET) each peer gets a
token of its own for its room. --token is used as given: the server names
every connection after the token's identity, so it runs one peer (--rooms 1,
one publisher or one subscriber) in the token's room.

Progress, once a second on stderr: peers connected/total, RTP packets sent
and received, loss, join time p50 / p95. At the end a summary on stdout (or
one JSON object with --json: peers, connected, failed, packetsSent,
packetsReceived, bytesReceived, loss (0..1, over the measurement),
streamsExpected, streamsActive, joinMs, firstPacketMs and latencyMs
{p50, p95, max}, durationS, errors, ok, interrupted). Ctrl-C ends the
measurement early and prints the summary (interrupted: true).

The server's per-address limits apply to the whole run ([signal.limits]
peersperip, default 50; joinrate / joinburst are waited out): raise them, or
run from several machines, for larger tests.

Exit codes: 0 every peer connected and every subscriber received packets; 1 an
error, one line on stderr (the server cannot be reached, is not a Switchboard,
or refused a join or a token); 3 the run finished but peers failed to connect
or subscribers received nothing (the summary says which).`,
    )
    .action(async (opts: LoadtestCliOptions) => {
      const { runLoadtest } = await import('./runLoadtest.ts');
      process.exit(await runLoadtest(opts));
    });
}
