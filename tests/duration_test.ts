/** DURATION of --timeout and --kill-after (lib/duration.ts), read as timeout(1) reads it. */
import { deepStrictEqual, equal } from "node:assert/strict";
import { parseDuration } from "../lib/duration.ts";

const S = 1_000_000_000n;

Deno.test("DURATION: every form timeout(1) reads", () => {
  const cases: [string, string, bigint][] = [
    ["30", "30s", 30n * S],
    ["1.5s", "1.5s", 1_500_000_000n],
    ["10m", "10m", 600n * S],
    ["2h", "2h", 7200n * S],
    ["1d", "1d", 86400n * S],
    [".5", ".5s", S / 2n],
    ["5.", "5.s", 5n * S],
    ["0.25m", "0.25m", 15n * S],
    ["1e3", "1e3s", 1000n * S],
    ["1.5E-3s", "1.5E-3s", 1_500_000n],
    ["007", "007s", 7n * S],
    ["+1", "1s", S],
    [" \t1m", "1m", 60n * S],
    ["0x10", "0x10s", 16n * S],
    ["0x1p3", "0x1p3s", 8n * S],
    ["0x1p-2", "0x1p-2s", S / 4n],
    ["0X.8", "0X.8s", S / 2n],
    ["0x1.8p1h", "0x1.8p1h", 3n * 3600n * S],
    ["0x1e2", "0x1e2s", 482n * S],
  ];
  for (const [word, text, ns] of cases) deepStrictEqual(parseDuration(word), { text, ns }, word);
});

Deno.test("DURATION: 0 is no limit, a positive one is at least a nanosecond", () => {
  for (const zero of ["0", "0s", "0.0m", "0d", "0e5", "0x0", "1e-400"]) {
    equal(parseDuration(zero)?.ns, 0n, zero);
  }
  // Infinite, or too large for a double (strtod's HUGE_VAL): no limit either.
  for (const inf of ["inf", "INFINITY", "+infs", "infd", "1e400", "1e999d"]) {
    equal(parseDuration(inf)?.ns, 0n, inf);
  }
  equal(parseDuration("1e-12")?.ns, 1n);
});

Deno.test("DURATION: a huge one is a limit no run reaches", () => {
  for (const huge of ["1e300", "0x1p1000", "99999999999999999999d"]) {
    equal(parseDuration(huge)?.ns, 1n << 62n, huge);
  }
});

Deno.test("DURATION: what timeout(1) refuses", () => {
  for (
    const bad of [
      "",
      "1 ",
      "-1",
      "-0",
      "+-1",
      "- 1",
      "+ 1",
      "1S",
      "1ss",
      "1x",
      "1ms",
      "1sec",
      "s",
      ".",
      "1..2",
      "1,5",
      "e3",
      "1e",
      "-inf",
      "inf m",
      "nan",
      "nan(1)",
      "0x",
      "0x1p",
      "0xg",
      "١",
    ]
  ) {
    equal(parseDuration(bad), undefined, JSON.stringify(bad));
  }
});
