/** The wall clock dtee stamps runs and records with (docs/jsonlog.md: every `time`). */

/** Now, in ns since the epoch (the clock's own precision, about a microsecond). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}
