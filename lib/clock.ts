/** The wall clock dtee stamps runs and records with (docs/jsonlog.md: every `time`). */

/** Nanoseconds in a second: every time dtee keeps is in ns since the epoch. */
export const NS_PER_S = 1_000_000_000n;

/** Now, in ns since the epoch (the clock's own precision, about a microsecond). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}
