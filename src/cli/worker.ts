/**
 * A media worker process (`switchboard worker`, forked by AgentRole in src/agent): runs the sfu role
 * alone with the configuration its agent sends, and reports its node id. It drains on `drain` (or
 * SIGTERM), closes on `close`, and closes when its agent goes away (the IPC channel closes), so no
 * worker outlives it. SIGINT is left to the agent: Ctrl-C in a terminal reaches the whole process
 * group, and the agent closes its workers in order. It lives with the other entry points, not in
 * src/agent, because it starts a whole Switchboard (src/server), which itself starts the agent role.
 */
import { Switchboard } from '../server/Switchboard.ts';
import { logger } from '../util/logger.ts';
import type { AgentMessage, WorkerMessage } from '../agent/index.ts';

export function runWorker(): void {
  if (!process.send) {
    throw new Error('switchboard worker: run by `switchboard start` (an IPC channel is needed)');
  }
  const send = (m: WorkerMessage): void => {
    if (process.connected) {
      process.send!(m);
    }
  };
  let sb: Switchboard | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (drain: boolean): Promise<void> => {
    stopping ??= (async () => {
      try {
        if (drain) {
          await sb?.drain();
        }
        await sb?.close();
      } catch (err) {
        logger.error({ err }, 'worker shutdown failed');
      }
      process.exit(0);
    })();
    return stopping;
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void stop(true));
  process.on('disconnect', () => void stop(false));
  process.on('message', (raw: unknown) => {
    const m = raw as AgentMessage;
    if (m.type === 'start') {
      Switchboard.start(m.config, { roles: ['sfu'] }).then(
        (started) => {
          sb = started;
          if (stopping) {
            void started.close();
            return;
          }
          send({ type: 'ready', node: started.sfu!.nodeId, pid: process.pid, url: started.url });
        },
        (err: unknown) => {
          send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
          process.exit(1);
        },
      );
    } else if (m.type === 'drain' || m.type === 'close') {
      void stop(m.type === 'drain');
    }
  });
  send({ type: 'hello' });
}
