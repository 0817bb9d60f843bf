import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** createLogger makes the root pino logger: JSON lines on stdout (pipe them to pino-pretty to read). */
export function createLogger({ level = 'info' as LevelWithSilent, destination = 1 as number | NodeJS.WritableStream } = {}): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination;
  return pino({ level, base: { name: 'svcdns' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/** silentLogger is a logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
