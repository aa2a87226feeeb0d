/** The wall clock dtee stamps runs and records with (docs/jsonlog.md: every `time`). */

/** Nanoseconds in a second: every time dtee keeps is in ns since the epoch. */
export const NS_PER_S = 1_000_000_000n;

/** The whole second (since the epoch) that `ns` falls in: rounded down, also before 1970. */
export function secondOf(ns: bigint): bigint {
  const second = ns / NS_PER_S;
  return ns % NS_PER_S < 0n ? second - 1n : second;
}

/** Now, in ns since the epoch (the clock's own precision, about a microsecond). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}
