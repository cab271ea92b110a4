// Runs `switchboard loadtest` with parsed options: checks the target, runs the LoadTest with a
// progress line, prints the result; returns the exit code (0 ok, 1 error, 3 failed run).
import { LoadTest, newRoomPrefix, tokenRoom, type LoadTestResult, type Snapshot } from './LoadTest.ts';
import { LoadTestError } from './LoadTestError.ts';
import { progressLine, summaryTable } from './report.ts';
import { preflight, targetOf } from './preflight.ts';
import { MAX_PEERS, type LoadtestCliOptions } from './options.ts';

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);

function validate(o: LoadtestCliOptions): void {
  const peers = o.rooms * (o.publishers + o.subscribers);
  if (o.rooms < 1) {
    throw new LoadTestError('--rooms must be at least 1');
  }
  if (o.publishers < 1 && (o.token === undefined || o.subscribers !== 1)) {
    throw new LoadTestError('--publishers must be at least 1 (subscribers receive the publishers)');
  }
  if (peers > MAX_PEERS) {
    throw new LoadTestError(
      `${peers} peers: at most ${MAX_PEERS} in one run (one process sends and counts them all)`,
    );
  }
  if (o.token !== undefined && o.secret !== undefined) {
    throw new LoadTestError('--token and --secret: give one');
  }
  if (o.token !== undefined && peers !== 1) {
    throw new LoadTestError(
      `--token is one participant's token (the server names every connection after its identity): ` +
        `it runs one peer (--rooms 1 --publishers 1 --subscribers 0); --secret signs a token per peer`,
    );
  }
  if (o.token !== undefined && tokenRoom(o.token) === undefined) {
    throw new LoadTestError(
      '--token: not a JWT with a room claim (make one with switchboard token --room R)',
    );
  }
}

export async function runLoadtest(o: LoadtestCliOptions): Promise<number> {
  let test: LoadTest;
  let result: LoadTestResult;
  let timer: NodeJS.Timeout | undefined;
  try {
    const env = (name: string) => (process.env[name] === '' ? undefined : process.env[name]);
    const url = o.url ?? env('SWITCHBOARD_URL');
    if (url === undefined) {
      throw new LoadTestError('--url is required (or set SWITCHBOARD_URL), e.g. --url http://localhost:7000');
    }
    const secret = o.token === undefined ? (o.secret ?? env('SWITCHBOARD_SECRET')) : undefined;
    validate({ ...o, secret });
    const target = targetOf(url);
    await preflight(target);
    test = new LoadTest({
      wsUrl: target.wsUrl,
      rooms: o.rooms,
      publishers: o.publishers,
      subscribers: o.subscribers,
      videoBitrate: o.videoBitrate,
      simulcast: o.simulcast === true,
      audioOnly: o.audioOnly === true,
      durationMs: o.duration * 1000,
      roomPrefix: newRoomPrefix(),
      token: o.token,
      secret,
    });
    const tty = process.stderr.isTTY;
    const show = (last: Snapshot | undefined) => {
      const snap = last ?? test.snapshot();
      // Nothing to show yet: no line (a join refused at once then leaves only its error line).
      if (!last && snap.phase === 'joining' && snap.connected + snap.failed === 0 && snap.elapsedS < 5) {
        return;
      }
      const line = progressLine(snap, o.duration);
      process.stderr.write(tty ? `\r\x1b[K${line}${last ? '\n' : ''}` : `${line}\n`);
    };
    timer = setInterval(() => show(undefined), 1000);
    let interrupted = false;
    process.on('SIGINT', () => {
      if (interrupted) {
        process.exit(130);
      }
      interrupted = true;
      test.stop();
    });
    result = await test.run();
    clearInterval(timer);
    show(result); // as measured: its peers are closed by now
  } catch (e) {
    clearInterval(timer);
    if (process.stderr.isTTY) {
      process.stderr.write('\r\x1b[K');
    }
    err(
      `switchboard loadtest: ${e instanceof LoadTestError ? e.message : e instanceof Error ? e.message : String(e)}`,
    );
    return 1;
  }
  out(o.json ? JSON.stringify(result) : summaryTable(result));
  if (!result.ok) {
    const subscribers = result.rooms * result.subscribers;
    const why = [
      result.connected < result.peers
        ? `${result.peers - result.connected} of ${result.peers} peers not connected`
        : '',
      result.subscribersReceiving < subscribers
        ? `${subscribers - result.subscribersReceiving} of ${subscribers} subscribers received nothing`
        : '',
    ];
    err(`switchboard loadtest: failed: ${why.filter((w) => w !== '').join('; ')}`);
    return 3;
  }
  return 0;
}
