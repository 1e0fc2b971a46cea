/**
 * A tiny leveled logger with namespaces (`createLogger('grades:sync')`). One line per event,
 * to stderr, so that stdout stays clean for scripts. The level comes from Config.logLevel via
 * `setLogLevel` at start.
 */
type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
let current: Level = 'info';

export function setLogLevel(level: Level): void {
  current = level;
}

export interface Logger {
  debug(msg: string, extra?: unknown): void;
  info(msg: string, extra?: unknown): void;
  warn(msg: string, extra?: unknown): void;
  error(msg: string, extra?: unknown): void;
}

export function createLogger(namespace: string): Logger {
  const write = (level: Exclude<Level, 'silent'>) => (msg: string, extra?: unknown) => {
    if (ORDER[level] < ORDER[current]) return;
    const tail = extra === undefined ? '' : ' ' + (extra instanceof Error ? extra.stack ?? extra.message : JSON.stringify(extra));
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${namespace}] ${msg}${tail}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
