import { pino, type Logger, type LevelWithSilent } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/** LoggerOptions configure createLogger. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** A file descriptor (1: stdout) or a stream. */
  destination?: number | NodeJS.WritableStream;
  /** Human-readable lines through pino-pretty instead of JSON (the CLI asks for it when stdout is a terminal). */
  pretty?: boolean;
}

/**
 * createLogger makes the root pino logger: JSON lines on stdout, one child per module
 * (`log.child({ module: 'dns' })`). With `pretty`, pino-pretty formats them in this thread,
 * synchronously: it is for a person at a terminal, not for production volume.
 */
export function createLogger({ level = 'info', destination = 1, pretty = false }: LoggerOptions = {}): Logger {
  const options = { level, base: { name: 'svcdns' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) {
    return pino(options, PinoPretty({ colorize: true, sync: true, destination, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
  }
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination;
  return pino(options, stream);
}

/** silentLogger is a logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
