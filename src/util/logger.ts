import { pino, type Logger } from 'pino';

/** The process-wide logger; `setLogLevel` applies the config's level at start. */
export const logger: Logger = pino({ level: process.env.SB_LOG_LEVEL ?? 'info', base: { pid: process.pid } });

export function setLogLevel(level: string): void {
  logger.level = level;
}
