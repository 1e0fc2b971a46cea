/**
 * Counts the database commands the tool sends on the wire (the driver's command monitoring, on the
 * tool's connection and on ltijs's), for command budgets: a launch, a page, a download. The shared
 * test app connects with `monitorCommands=true` (test/support/app.ts), so every command it sends
 * is seen here, whatever the engine.
 */
import mongoose, { type Connection } from 'mongoose';

export interface SeenCommand {
  /** The command name: find, insert, update, findAndModify, aggregate, … */
  name: string;
  /** The collection it names, when it names one. */
  collection?: string;
  /** Which connection sent it. */
  via: 'tool' | 'ltijs';
}

/** Driver chatter that is not a command of the code under test. */
const NOT_OURS = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'saslStart', 'saslContinue', 'buildInfo', 'getMore_monitor']);

interface CommandStartedEvent {
  commandName: string;
  command: Record<string, unknown>;
}

/**
 * Runs `fn` and returns the commands sent meanwhile on `tool` and on ltijs's connection, except
 * those on `ignore` collections (default: those polled on timers of their own whatever requests
 * come: `jobs` by the job queue, `mail_outbox` by the mail service's tick).
 */
export async function countCommands<T>(tool: Connection, fn: () => Promise<T>, opts: { ignore?: string[] } = {}): Promise<{ value: T; commands: SeenCommand[] }> {
  const ignore = new Set(opts.ignore ?? ['jobs', 'mail_outbox']);
  const commands: SeenCommand[] = [];
  const listeners: Array<[ReturnType<Connection['getClient']>, (e: CommandStartedEvent) => void]> = [];
  for (const [conn, via] of [
    [tool, 'tool'],
    [mongoose.connection, 'ltijs'],
  ] as const) {
    const client = conn.getClient();
    const listener = (e: CommandStartedEvent) => {
      if (NOT_OURS.has(e.commandName)) return;
      const target = e.command[e.commandName];
      if (typeof target === 'string' && ignore.has(target)) return;
      commands.push({ name: e.commandName, collection: typeof target === 'string' ? target : undefined, via });
    };
    client.on('commandStarted', listener as never);
    listeners.push([client, listener]);
  }
  try {
    return { value: await fn(), commands };
  } finally {
    for (const [client, listener] of listeners) client.off('commandStarted', listener as never);
  }
}

/** "find sessions ×2, update deployments" — for failure messages. */
export function describeCommands(commands: SeenCommand[]): string {
  const counts = new Map<string, number>();
  for (const c of commands) {
    const key = `${c.via}:${c.name} ${c.collection ?? ''}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ');
}
