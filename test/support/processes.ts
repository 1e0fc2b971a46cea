/**
 * Child processes for tests that kill or restart things for real (test/faults/): one helper that
 * spawns `node --import tsx <script>`, collects its output and resolves once a line matching
 * `ready` appears (or rejects with the output when it exits or times out first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export interface ChildHandle {
  child: ChildProcess;
  /** Everything the process wrote, for assertion messages. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** SIGKILL if still running, and wait for it to be gone. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  /** The whole environment of the child (nothing is inherited). */
  env?: NodeJS.ProcessEnv;
  /** Resolves when the output matches this. */
  ready: RegExp;
  timeoutMs?: number;
  /** Named in the error when the process does not get ready. */
  name?: string;
}

/** Spawns `node --import tsx <script> ...args` in the repository root; resolves once it is ready. */
export async function spawnTsx(script: string, args: string[], opts: SpawnOptions): Promise<ChildHandle & { match: RegExpExecArray }> {
  const timeoutMs = opts.timeoutMs ?? 25_000;
  const name = opts.name ?? script;
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  const match = await new Promise<RegExpExecArray>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
    const collect = (b: Buffer) => {
      out += b.toString();
      const m = opts.ready.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`${name} exited (${code}) before it was ready:\n${out}`));
    });
  });
  return {
    child,
    match,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
