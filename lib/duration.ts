/**
 * DURATION values of --timeout and --kill-after, read as timeout(1) reads them: a number as
 * C's strtod(3) reads it in the C locale (leading blanks, a `+` sign, a fraction and an
 * exponent, hexadecimal `0x1.8p3`, `inf` and `infinity`) followed by at most one unit, `s` (the
 * default), `m`, `h` or `d`. A `-` sign and `nan` are refused, as timeout(1) refuses them. 0,
 * one too small for a double, an infinite one and one too large for a double are no limit, as
 * in timeout(1) (which never reaches such a limit).
 */

/** A time limit as given and as dtee counts it. */
export interface Duration {
  /**
   * As the report says it (`timed out after 30m`): the number as given, with its unit;
   * leading blanks and a `+` left out.
   */
  text: string;
  /** The limit in nanoseconds; 0: no limit. Larger than any run can last when the value is huge. */
  ns: bigint;
}

/** What strtod(3) takes, after the blanks (C's isspace) and a `+` sign, then the unit. */
const FORM = new RegExp(
  "^[ \\t\\n\\v\\f\\r]*\\+?(" +
    // inf, infinity (any case)
    "inf(?:inity)?|" +
    // hexadecimal: at least one digit; `p` and its digits only together
    "0x(?:[0-9a-f]+\\.?[0-9a-f]*|\\.[0-9a-f]+)(?:p[+-]?\\d+)?|" +
    // decimal: at least one digit; `e` and its digits only together
    "(?:\\d+\\.?\\d*|\\.\\d+)(?:e[+-]?\\d+)?" +
    ")([smhd]?)$",
  "i",
);
const SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };
/** The largest deadline the shim can hold (ns in an i64): about 292 years. */
const NEVER = 1n << 62n;

/** `word` as a duration, or undefined when it is not one (a usage error for the caller). */
export function parseDuration(word: string): Duration | undefined {
  const m = FORM.exec(word);
  if (!m) return undefined;
  const [, number, unit] = m;
  // A unit is one letter of this case only, as timeout(1) reads it.
  if (!(unit in SECONDS)) return undefined;
  const seconds = valueOf(number) * SECONDS[unit];
  // A positive value too small for a nanosecond still limits: one nanosecond, as timeout(1)
  // rounds a positive duration up rather than to zero.
  const ns = seconds === 0 || seconds === Infinity
    ? 0n
    : seconds >= Number(NEVER) / 1e9
    ? NEVER
    : BigInt(Math.max(1, Math.ceil(seconds * 1e9)));
  return { text: `${number}${unit || "s"}`, ns };
}

/** The value of a number FORM matched: a double, as strtod(3) makes it (Infinity when too large). */
function valueOf(number: string): number {
  const hex = /^0x([0-9a-f]*)\.?([0-9a-f]*)(?:p([+-]?\d+))?$/i.exec(number);
  if (!hex) return /^inf/i.test(number) ? Infinity : Number(number);
  const [, whole, fraction, exponent = "0"] = hex;
  const mantissa = Number.parseInt(whole || "0", 16) +
    [...fraction].reduce((sum, digit, i) => sum + Number.parseInt(digit, 16) / 16 ** (i + 1), 0);
  return mantissa * 2 ** Number(exponent);
}
