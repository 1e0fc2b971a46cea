/**
 * The two things from the outside world that every service takes as arguments instead of
 * reaching for them (mod_customcert's injected time provider): the clock and randomness.
 * createApp() (the composition root) builds one `Runtime` and passes it down; a test passes a
 * fixed clock (`() => T0`) and, where it matters, fixed bytes.
 */
import { randomBytes } from 'node:crypto';

/** The clock: `() => new Date()` in production. Services read it once per operation. */
export type Clock = () => Date;

/** Source of randomness, same shape as `crypto.randomBytes` (verification codes use it). */
export type RandomBytes = (size: number) => Uint8Array;

export interface Runtime {
  now: Clock;
  random: RandomBytes;
}

/** The real clock and the operating system's randomness. */
export function systemRuntime(overrides: Partial<Runtime> = {}): Runtime {
  return { now: overrides.now ?? (() => new Date()), random: overrides.random ?? ((n) => randomBytes(n)) };
}
