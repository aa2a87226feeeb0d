/**
 * DURATION values of --timeout and --kill-after, read as timeout(1) reads them: a
 * non-negative decimal number (a fraction and an exponent allowed) with an optional unit,
 * `s` (the default), `m`, `h` or `d`. 0 means no limit, as in timeout(1).
 */

/** A time limit as given and as dtee counts it. */
export interface Duration {
  /** As the report says it (`timed out after 30m`): the number as given, with its unit. */
  text: string;
  /** The limit in nanoseconds; 0: no limit. Larger than any run can last when the value is huge. */
  ns: bigint;
}

const FORM = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?([smhd]?)$/;
const SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };
/** The largest deadline the shim can hold (ns in an i64): about 292 years. */
const NEVER = 1n << 62n;

/** `word` as a duration, or undefined when it is not one (a usage error for the caller). */
export function parseDuration(word: string): Duration | undefined {
  const m = FORM.exec(word);
  if (!m) return undefined;
  const [, number, exponent = "", unit] = m;
  const seconds = Number(number + exponent) * SECONDS[unit];
  // A positive value too small for a nanosecond still limits: one nanosecond, as timeout(1)
  // rounds a positive duration up rather than to zero.
  const ns = seconds === 0
    ? 0n
    : seconds >= Number(NEVER) / 1e9
    ? NEVER
    : BigInt(Math.max(1, Math.ceil(seconds * 1e9)));
  return { text: `${number}${exponent}${unit || "s"}`, ns };
}
