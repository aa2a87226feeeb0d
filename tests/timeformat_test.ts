/**
 * --time-format (lib/timeformat.ts): every conversion against a fixed local
 * time, the per-second cache across second and offset changes, the time since
 * the start, bad formats; and the shim's localtime_r against date(1) for TZ
 * values the runtime's own time zones get wrong.
 */

import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  DEFAULT_TIME_FORMAT,
  type LocalTimeFn,
  TimeFormat,
  TimeFormatError,
  TimeStamper,
} from "../lib/timeformat.ts";
import { fixedZone, run } from "./helpers.ts";

const S = 1_000_000_000n;

const stamp = (format: string, ns: bigint, zone = fixedZone(3600, "CET"), start = 0n) => {
  const s = new TimeStamper(TimeFormat.parse(format), zone);
  s.start(start);
  return s.text(ns);
};

// 2026-12-06T22:05:36.123456789Z, a Sunday: 23:05:36 in CET.
const T = 1796594736n * S + 123456789n;

Deno.test("the default format: RFC 3339 in local time with microseconds", () => {
  strictEqual(stamp(DEFAULT_TIME_FORMAT, T), "2026-12-06T23:05:36.123456+01:00");
  strictEqual(
    stamp(DEFAULT_TIME_FORMAT, T, fixedZone(-9000, "X")),
    "2026-12-06T19:35:36.123456-02:30",
  );
  strictEqual(
    stamp(DEFAULT_TIME_FORMAT, T, fixedZone(0, "UTC")),
    "2026-12-06T22:05:36.123456+00:00",
  );
});

Deno.test("every conversion of the local time", () => {
  const cases: [string, string][] = [
    ["%a %A", "Sun Sunday"],
    ["%b %h %B", "Dec Dec December"],
    ["%C %y %Y", "20 26 2026"],
    ["%d %e %j", "06  6 340"],
    ["%D", "12/06/26"],
    ["%F", "2026-12-06"],
    ["%H %I %k %l %p %P", "23 11 23 11 PM pm"],
    ["%m %M %S", "12 05 36"],
    ["%R %T", "23:05 23:05:36"],
    ["%s", "1796594736"],
    ["%u %w", "7 0"],
    ["%z %:z %Z", "+0100 +01:00 CET"],
    ["%% %t|", "% \t|"],
    ["plain text é", "plain text é"],
  ];
  for (const [format, want] of cases) strictEqual(stamp(format, T), want, format);
  // Morning and midnight for the 12-hour forms; Monday is 1 in %u.
  const morning = T + (8n * 3600n + 3600n) * S; // Monday 08:05
  strictEqual(stamp("%a %u %w %I %l %p", morning), "Mon 1 1 08  8 AM");
  const midnight = T + 3504n * S; // Monday 00:03
  strictEqual(stamp("%H %I %l %p", midnight), "00 12 12 AM");
});

Deno.test("sub-second digits: %N, %1N..%9N, %f, and ts's %.S %.s %.T", () => {
  const cases: [string, string][] = [
    ["%N", "123456789"],
    [
      "%1N %2N %3N %4N %5N %6N %7N %8N %9N",
      "1 12 123 1234 12345 123456 1234567 12345678 123456789",
    ],
    ["%f", "123456"],
    ["%.S", "36.123456"],
    ["%.s", "1796594736.123456"],
    ["%.T", "23:05:36.123456"],
  ];
  for (const [format, want] of cases) strictEqual(stamp(format, T), want, format);
  // Digits are cut, not rounded; leading zeros stay.
  strictEqual(stamp("%3N|%6N", 5n * S + 999999n), "000|000999");
  // Before 1970 %.s is signed as %@.s is (cut toward zero); %s.%N counts whole seconds down as
  // date(1) does, and %.S %.T are the local clock's.
  const utc = fixedZone(0, "UTC");
  strictEqual(stamp("%.s|%s.%N|%.T", -1n, utc), "-0.000000|-1.999999999|23:59:59.999999");
  strictEqual(stamp("%.s", -1500000000n), "-1.500000");
});

Deno.test("the time since the start of the run: %@ forms, hours beyond a day, before the start", () => {
  const start = T - (26n * 3600n + 62n) * S - 500000000n; // 26 h 1 min 2.5 s earlier
  const cases: [string, string][] = [
    ["%@s", "93662"],
    ["%@H:%@M:%@S", "26:01:02"],
    ["%@T", "26:01:02"],
    ["%@N %@3N %@f", "500000000 500 500000"],
    ["%@.s", "93662.500000"],
    ["%@.S", "02.500000"],
    ["%@.T", "26:01:02.500000"],
    ["[%@.s] %T", "[93662.500000] 23:05:36"],
  ];
  for (const [format, want] of cases) {
    strictEqual(stamp(format, T, undefined, start), want, format);
  }
  strictEqual(stamp("%@.s", T, undefined, T), "0.000000");
  // A clock step back makes a message earlier than the start.
  strictEqual(stamp("%@.s|%@T", T - 1500000000n, undefined, T), "-1.500000|-00:00:01");
});

Deno.test("the second is rendered once, and again when it changes (also backwards)", () => {
  let calls = 0;
  const zone = fixedZone(3600, "CET");
  const s = new TimeStamper(TimeFormat.parse(DEFAULT_TIME_FORMAT), (sec) => (calls++, zone(sec)));
  strictEqual(s.text(T), "2026-12-06T23:05:36.123456+01:00");
  strictEqual(s.text(T + 800000000n), "2026-12-06T23:05:36.923456+01:00");
  strictEqual(calls, 1);
  strictEqual(s.text(T + S), "2026-12-06T23:05:37.123456+01:00");
  strictEqual(s.text(T - S), "2026-12-06T23:05:35.123456+01:00");
  strictEqual(calls, 3);
  // Before 1970: the second is the floor.
  strictEqual(s.text(-1n), "1970-01-01T00:59:59.999999+01:00");
});

Deno.test("an offset that changes at a second (DST) shows from that second on", () => {
  // Local time jumps from +01:00 to +02:00 at T's second + 1.
  const change = Number(T / S) + 1;
  const zone: LocalTimeFn = (sec) =>
    sec < change ? fixedZone(3600, "CET")(sec) : fixedZone(7200, "CEST")(sec);
  const s = new TimeStamper(TimeFormat.parse("%T%:z %Z"), zone);
  deepStrictEqual(
    [s.text(T), s.text(T + S), s.text(T)],
    ["23:05:36+01:00 CET", "00:05:37+02:00 CEST", "23:05:36+01:00 CET"],
  );
});

Deno.test("a bad FORMAT says what is wrong", () => {
  const bad: [string, RegExp][] = [
    ["%Q", /unknown conversion '%Q'/],
    ["%", /'%' at the end/],
    ["x%@", /'%@' at the end/],
    ["%@Y", /unknown conversion '%@Y'/],
    ["%0N", /unknown conversion '%0'/],
    ["%:x", /unknown conversion '%:'/],
    ["a\nb", /line break/],
    ["%n", /unknown conversion '%n'/],
    ["%Ec", /unknown conversion '%E'/],
  ];
  for (const [format, why] of bad) {
    throws(
      () => TimeFormat.parse(format),
      (e) => e instanceof TimeFormatError && why.test(e.message),
      format,
    );
  }
});

Deno.test("localtime_r through the shim follows TZ as date(1) does, where the runtime's Date does not", async () => {
  // 2026-03-29 00:59:59Z and 01:00:00Z: the last second of CET and the first of CEST.
  const times = [1774745999, 1774746000, 1782907200];
  const script = `
    import { localtime } from "${new URL("../lib/ffi.ts", import.meta.url).pathname}";
    for (const t of Deno.args) {
      const l = localtime(Number(t));
      const p = (n) => String(n).padStart(2, "0");
      const off = Math.abs(l.offset);
      console.log(\`\${l.year}-\${p(l.month)}-\${p(l.day)} \${p(l.hour)}:\${p(l.minute)}:\${p(l.second)} \${l.offset < 0 ? "-" : "+"}\${p(Math.floor(off / 3600))}\${p(off / 60 % 60)} \${l.zone} \${l.weekday} \${p(l.yearDay + 1).padStart(3, "0")}\`);
    }`;
  for (
    const tz of [
      "CET-1CEST,M3.5.0,M10.5.0/3",
      "<+0330>-3:30",
      "Europe/Paris",
      ":America/New_York",
      "UTC0",
    ]
  ) {
    const ours = await run(Deno.execPath(), [
      "eval",
      "--no-config",
      "--allow-ffi",
      "--allow-env",
      "--allow-read",
      script,
      ...times.map(String),
    ], { env: { TZ: tz } });
    const dates = await Promise.all(
      times.map((t) =>
        run("date", ["-d", `@${t}`, "+%Y-%m-%d %H:%M:%S %z %Z %w %j"], { env: { TZ: tz } })
      ),
    );
    strictEqual(ours.err, "", tz);
    strictEqual(ours.out, dates.map((d) => d.out).join(""), tz);
  }
});
