/**
 * Annotated text end to end (docs/behaviour.md B6): real commands through
 * `dtee -A`, `--annotate` and cron mode, times against date(1), the live file
 * against the replayed one, a DST change inside a replayed run.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CRONTY, DTEE, joined, run, sh, signalAfterOutput, withTempDir } from "./helpers.ts";

const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d`;
const read = (path: string) => Deno.readFileSync(path);
const readText = (path: string) => Deno.readTextFileSync(path);

/** Lines without their stamps (`TIME ` taken off), after checking that each has one. */
function unstamped(text: string, time = TIME): string[] {
  const lines = text.split("\n");
  equal(lines.pop(), "", "ends with a newline");
  return lines.map((line) => {
    match(line, new RegExp(`^${time} `), "stamped");
    return line.replace(new RegExp(`^${time} `), "");
  });
}

/** Runs dtee with -A FILE and `args`; the file's text. */
async function annotated(args: string[], env: Record<string, string> = {}) {
  return await withTempDir(async (dir) => {
    // In the directory: a command that dumps core leaves its core there.
    const r = await run(DTEE, ["-A", `${dir}/a`, ...args], { env, cwd: dir });
    return { r, text: readText(`${dir}/a`) };
  });
}

Deno.test("interleaved writes with unfinished lines: ended at the other stream's write, continued as S+", async () => {
  // Each printf of dash is one write(2).
  const script = 'printf "progress 10%%"; printf "warning: " >&2; printf " 20%%\\n"; ' +
    'printf "disk slow\\n" >&2; printf "last"';
  const { r, text } = await annotated(["sh", "-c", script]);
  equal(r.code, 0);
  equal(r.out, "progress 10% 20%\nlast");
  const lines = unstamped(text);
  deepStrictEqual(lines.slice(0, -1), [
    `I: Started sh -c '${script}'`,
    "O: progress 10%",
    "E: warning: ",
    "O+  20%",
    "E+ disk slow",
    "O: last",
  ]);
  match(lines.at(-1)!, /^I: Finished in \d+\.\d{6} s: exited with status 0$/);
});

Deno.test("a multi-line write: one line each, all with the write's time", async () => {
  const { text } = await annotated(["sh", "-c", "printf 'a\\nb\\n\\nc\\n'; echo d >&2"]);
  const lines = text.split("\n").slice(1, 6);
  const times = lines.map((l) => l.split(" ")[0]);
  deepStrictEqual(lines.map((l) => l.slice(l.indexOf(" ") + 1)), [
    "O: a",
    "O: b",
    "O: ",
    "O: c",
    "E: d",
  ]);
  equal(new Set(times.slice(0, 4)).size, 1, "one write, one time");
});

Deno.test("pauses show in the times; %@ counts from the I: Started line", async () => {
  const { text } = await annotated([
    "--time-format=%s.%N %@.s",
    "sh",
    "-c",
    "echo a; sleep 0.4; echo b; sleep 0.3; echo c >&2",
  ]);
  const lines = text.trimEnd().split("\n").map((l) => l.split(" "));
  const at = (i: number) => Number(lines[i][0]);
  const since = (i: number) => Number(lines[i][1]);
  deepStrictEqual(lines.map((l) => l[2]), ["I:", "O:", "O:", "E:", "I:"]);
  ok(at(2) - at(1) >= 0.4 && at(2) - at(1) < 2, `pause 1: ${at(2) - at(1)}`);
  ok(at(3) - at(2) >= 0.3 && at(3) - at(2) < 2, `pause 2: ${at(3) - at(2)}`);
  equal(since(0), 0);
  for (let i = 1; i < lines.length; i++) {
    ok(Math.abs(since(i) - (at(i) - at(0))) < 2e-6, `line ${i}`);
  }
  // I: Finished says the same duration as its own stamp.
  equal(lines[4].slice(3).join(" "), `Finished in ${lines[4][1]} s: exited with status 0`);
});

Deno.test("bytes that are not UTF-8 stay exactly as written, in the file and in the command words", async () => {
  await withTempDir(async (dir) => {
    await run("sh", [
      "-c",
      `"$@"`,
      "sh",
      DTEE,
      "-A",
      `${dir}/a`,
      "printf",
      "\\377\\376 ok\\n\\303",
    ]);
    const bytes = read(`${dir}/a`);
    const text = new TextDecoder("latin1").decode(bytes);
    const lines = text.split("\n");
    equal(lines[1].replace(/^\S+ /, ""), "O: \xff\xfe ok");
    equal(lines[2].replace(/^\S+ /, ""), "O: \xc3");
    match(lines[0], /I: Started printf '\\377\\376 ok\\n\\303'$/);
    // An argument that is not UTF-8 is quoted as $'\xHH'.
    await sh(`"$1" -A "$2" true "$(printf 'x\\377')"`, [DTEE, `${dir}/b`]);
    match(readText(`${dir}/b`).split("\n")[0], / I: Started true \$'x\\xff'$/);
  });
});

Deno.test("I: lines: exit status, death by a signal (and core), dtee itself stopped by a signal", async () => {
  const exit = await annotated(["sh", "-c", "exit 3"]);
  equal(exit.r.code, 3);
  match(exit.text, new RegExp(`\n${TIME} I: Finished in \\d+\\.\\d{6} s: exited with status 3\n$`));
  const killed = await annotated(["sh", "-c", "kill -9 $$"]);
  equal(killed.r.code, 137);
  match(killed.text, / I: Finished in \d+\.\d{6} s: terminated by signal 9 \(Killed\)\n$/);
  const core = await annotated(["sh", "-c", "ulimit -c unlimited; kill -SEGV $$"]);
  match(
    core.text,
    / I: Finished in \d+\.\d{6} s: terminated by signal 11 \(Segmentation fault\)(, core dumped)?\n$/,
  );
  await withTempDir(async (dir) => {
    const signal = await signalAfterOutput(
      DTEE,
      ["-A", `${dir}/a`, "sh", "-c", "printf started; exec sleep 30"],
      "SIGTERM",
    );
    equal(signal, "SIGTERM");
    // The unfinished line is ended before the I: line.
    match(
      readText(`${dir}/a`),
      new RegExp(
        `O: started\n${TIME} I: Interrupted after \\d+\\.\\d{6} s: dtee received signal 15 \\(Terminated\\)\n$`,
      ),
    );
  });
});

Deno.test("--time-format: every strftime conversion as date(1) gives it, under a POSIX TZ string", async () => {
  const format =
    "%Y %C %y %m %d %e %j %H %k %I %l %M %S %p %a %A %b %h %B %u %w %F %T %R %D %z %:z %Z %s %%";
  for (const tz of ["CET-1CEST,M3.5.0,M10.5.0/3", "<-0330>3:30", "UTC0"]) {
    const { text } = await annotated([`--time-format=${format}|%N|%3N|%f|%.s|%@s`, "true"], {
      TZ: tz,
    });
    const [stamp] = text.split(" I: Started")[0].split("\n");
    const [local, ns, ms, us, dotted] = stamp.split("|");
    const seconds = local.split(" ").at(-2)!;
    const date = await run("date", ["-d", `@${seconds}`, `+${format}`], { env: { TZ: tz } });
    equal(local, date.out.trimEnd(), tz);
    match(ns, /^\d{9}$/);
    equal(ms, ns.slice(0, 3));
    equal(us, ns.slice(0, 6));
    equal(dotted, `${seconds}.${us}`);
  }
});

Deno.test("a bad --time-format is a usage error, 64, and nothing runs", async () => {
  await withTempDir(async (dir) => {
    for (
      const [format, why] of [
        ["%Q", "unknown conversion '%Q'"],
        ["%H:%", "'%' at the end"],
        [
          "%@Y",
          "unknown conversion '%@Y' (since the start: %@s %@H %@M %@S %@T %@N %@f %@.s %@.S %@.T)",
        ],
      ]
    ) {
      const r = await run(DTEE, [
        "-A",
        `${dir}/a`,
        `--time-format=${format}`,
        "touch",
        `${dir}/ran`,
      ]);
      deepStrictEqual([r.code, r.out], [64, ""]);
      equal(
        r.err,
        `${DTEE}: the argument ('${format}') for option '--time-format' is invalid: ${why}\n` +
          `Try '${DTEE} -h' for more information.\n`,
      );
    }
    const alone = await run(DTEE, ["--time-format=%T", "true"]);
    equal(alone.code, 64);
    match(alone.err, /option '--time-format' requires option '--annotate' or an annotated output/);
    for (const f of ["ran", "a"]) equal((await run("test", ["-e", `${dir}/${f}`])).code, 1, f);
  });
});

/** A command that writes both streams, unfinished lines, a pause, not-UTF-8 bytes, and exits 5. */
const MIXED = [
  "python3",
  "-c",
  `import os, time
os.write(1, b"one\\ntwo")
os.write(2, b"err \\xff")
time.sleep(0.05)
os.write(1, b" more\\nthree\\n")
os.write(2, b"\\n")
os.write(1, b"")
os.write(1, b"tail")
raise SystemExit(5)`,
];

Deno.test("live and replayed: byte-identical annotated files and --annotate streams", async () => {
  await withTempDir(async (dir) => {
    const live = await sh('"$@" >"$D/live.out" 2>"$D/live.err"', [
      DTEE,
      "--annotate",
      "-J",
      `${dir}/log`,
      "-A",
      `${dir}/live.a`,
      "-a",
      `${dir}/live.b`,
      "--time-format=%F %T.%N %@.T",
      ...MIXED,
    ], { env: { D: dir } });
    equal(live.code, 5);
    const replayed = await sh('"$@" >"$D/r.out" 2>"$D/r.err"', [
      DTEE,
      "--annotate",
      "--replay",
      `${dir}/log`,
      "-A",
      `${dir}/r.a`,
      "-a",
      `${dir}/r.b`,
      "--time-format=%F %T.%N %@.T",
    ], { env: { D: dir } });
    equal(replayed.code, 5);
    for (
      const [a, b] of [["live.a", "r.a"], ["live.b", "r.b"], ["live.out", "r.out"], [
        "live.err",
        "r.err",
      ], ["live.a", "live.b"]]
    ) {
      ok(Buffer.compare(read(`${dir}/${a}`), read(`${dir}/${b}`)) === 0, `${a} and ${b} differ`);
    }
    const lines = (f: string) =>
      new TextDecoder("latin1").decode(read(`${dir}/${f}`)).split("\n").map((l) =>
        l.split(" ").slice(3).join(" ")
      );
    deepStrictEqual(lines("live.a"), [
      "I: Started python3 -c " + lines("live.a")[0].slice("I: Started python3 -c ".length),
      "O: one",
      "O: two",
      "E: err \xff",
      "O+  more",
      "O: three",
      "E+ ",
      "O: tail",
      lines("live.a")[8],
      "",
    ]);
    match(lines("live.a")[8], /^I: Finished in \d+\.\d{6} s: exited with status 5$/);
    // dtee's own streams: each its own lines, no I: lines; the last line is ended.
    deepStrictEqual(lines("live.out"), ["O: one", "O: two", "O+  more", "O: three", "O: tail", ""]);
    deepStrictEqual(lines("live.err"), ["E: err \xff", "E+ ", ""]);
  });
});

Deno.test("--annotate to one terminal-like place: no line mixes the streams", async () => {
  const r = await joined(DTEE, [
    "--annotate",
    "--time-format=%s",
    "sh",
    "-c",
    'printf "out"; printf "err" >&2; printf " more\\n"',
  ]);
  equal(r.code, 0);
  deepStrictEqual(r.out.split("\n").map((l) => l.replace(/^\d+ /, "")), [
    "O: out",
    "E: err",
    "O+  more",
    "",
  ]);
});

Deno.test("cron mode's mail says when each line happened; the report line stays as it is", async () => {
  const r = await run(CRONTY, [
    "--annotate",
    "sh",
    "-c",
    "echo held; sleep 0.2; echo oops >&2; exit 1",
  ]);
  equal(r.code, 1);
  const out = unstamped(r.out);
  deepStrictEqual(out, ["O: held"]);
  const err = r.err.split("\n");
  match(err[0], new RegExp(`^${TIME} E: oops$`));
  deepStrictEqual(err.slice(1), [`${CRONTY}: sh: exited with status 1`, ""]);
  const t = (line: string) => Date.parse(line.split(" ")[0]);
  ok(
    t(err[0]) - t(r.out) >= 190,
    "the held line has the time it was written, not the time it was printed",
  );
  // Replayed from its log, cron mode's annotated mail is the same, byte for byte.
  await withTempDir(async (dir) => {
    const args = ["--annotate", "--time-format=%T.%N"];
    const job = ["sh", "-c", "echo held; printf half; sleep 0.1; echo oops >&2; echo rest; exit 1"];
    const live = await run(CRONTY, [...args, "-J", `${dir}/log`, ...job]);
    const replayed = await run(CRONTY, [...args, "--replay", `${dir}/log`]);
    deepStrictEqual([replayed.code, replayed.out, replayed.err], [live.code, live.out, live.err]);
    deepStrictEqual(unstamped(live.out, String.raw`\d\d:\d\d:\d\d\.\d{9}`), [
      "O: held",
      "O: half",
      "O+ rest",
    ]);
  });
  // Silent when the job succeeds quietly, annotated or not.
  const quiet = await run(CRONTY, ["--annotate", "sh", "-c", "echo fine"]);
  deepStrictEqual([quiet.code, quiet.out, quiet.err], [0, "", ""]);
});

Deno.test("a DST change inside a run shows from its second on (a replayed log under TZ=Europe/Paris)", async () => {
  await withTempDir(async (dir) => {
    // 2026-03-29 01:00:00Z: 02:00 CET becomes 03:00 CEST.
    const log = [
      `{"type":"start","time":"2026-03-29T00:59:59.000000000Z","pid":1,"command":["job"]}`,
      `{"log":"before\\n","stream":"stdout","time":"2026-03-29T00:59:59.999999000Z"}`,
      `{"log":"after\\n","stream":"stderr","time":"2026-03-29T01:00:00.000001000Z"}`,
      `{"type":"end","time":"2026-03-29T01:00:01.000000000Z","exit_code":0}`,
    ].join("\n") + "\n";
    Deno.writeTextFileSync(`${dir}/log`, log);
    const r = await run(DTEE, ["--replay", `${dir}/log`, "-A", `${dir}/a`], {
      env: { TZ: "Europe/Paris" },
    });
    equal(r.code, 0);
    deepStrictEqual(readText(`${dir}/a`).split("\n"), [
      "2026-03-29T01:59:59.000000+01:00 I: Started job",
      "2026-03-29T01:59:59.999999+01:00 O: before",
      "2026-03-29T03:00:00.000001+02:00 E: after",
      "2026-03-29T03:00:01.000000+02:00 I: Finished in 2.000000 s: exited with status 0",
      "",
    ]);
  });
});

Deno.test("--annotate under an outer dtee: each message a write of its own, the cut newline on its stream", async () => {
  await withTempDir(async (dir) => {
    const inner = [
      DTEE,
      "--annotate",
      "--time-format=%s",
      "sh",
      "-c",
      'printf "a\\nb"; echo c >&2; echo d',
    ];
    const r = await run(DTEE, ["-J", `${dir}/outer`, "--", ...inner]);
    equal(r.code, 0);
    const records = readText(`${dir}/outer`).trimEnd().split("\n").map((l) => JSON.parse(l))
      .filter((rec) => rec.type === undefined)
      .map((rec) => [rec.stream, rec.log.replace(/^\d+ /gm, "")]);
    deepStrictEqual(records, [
      ["stdout", "O: a\nO: b"],
      ["stdout", "\n"],
      ["stderr", "E: c\n"],
      ["stdout", "O+ d\n"],
    ]);
  });
});

Deno.test("a write to an annotated file that fails is reported once, the others get everything, 74", async () => {
  await withTempDir(async (dir) => {
    const r = await run(DTEE, [
      "-A",
      "/dev/full",
      "-c",
      `${dir}/c`,
      "sh",
      "-c",
      "echo one; echo two >&2",
    ]);
    equal(r.code, 74);
    equal(r.out, "one\n");
    // The I: Started line is the first write to fail; later ones are not reported again.
    equal(r.err, `${DTEE}: /dev/full: No space left on device\ntwo\n`);
    equal(readText(`${dir}/c`), "one\ntwo\n");
  });
});

Deno.test("--annotate: a zero-length write of the other stream cuts no line, as in -A and replayed", async () => {
  await withTempDir(async (dir) => {
    const script = 'import os; os.write(2, b"x"); os.write(1, b""); os.write(2, b"y\\n")';
    const args = ["-A", `${dir}/a`, "--time-format=%s", "python3", "-c", script];
    const live = await run(DTEE, ["--annotate", "-J", `${dir}/log`, ...args]);
    equal(live.code, 0);
    const replayed = await run(DTEE, ["--annotate", "--replay", `${dir}/log`, "--time-format=%s"]);
    equal(replayed.code, 0);
    for (const err of [live.err, replayed.err]) {
      deepStrictEqual(unstamped(err, String.raw`\d+`), ["E: xy"]);
    }
    deepStrictEqual(unstamped(readText(`${dir}/a`), String.raw`\d+`).slice(1, -1), ["E: xy"]);
  });
});

Deno.test("replayed: a run without an end leaves no open line for the next run's I: Started, as live -a", async () => {
  await withTempDir(async (dir) => {
    // dtee killed outright (the command's parent) once the unfinished line is out.
    const killed = "echo full; printf partial; sleep 0.5; kill -9 $PPID; sleep 1";
    const live = await sh(
      `"$1" -a "$2/t" -j "$2/log" sh -c '${killed}'; "$1" -a "$2/t" -j "$2/log" echo next`,
      [DTEE, dir],
    );
    equal(live.code, 0);
    const replayed = await run(DTEE, ["--annotate", "--replay", `${dir}/log`, "-A", `${dir}/r`]);
    equal(replayed.code, 65);
    ok(Buffer.compare(read(`${dir}/t`), read(`${dir}/r`)) === 0, readText(`${dir}/r`));
    const lines = unstamped(readText(`${dir}/t`));
    deepStrictEqual([lines[1], lines[2], lines[3]], [
      "O: full",
      "O: partial",
      "I: Started echo next",
    ]);
    deepStrictEqual(unstamped(replayed.out), ["O: full", "O: partial", "O: next"]);
  });
});

Deno.test("-a by two dtees at once: every line keeps its time and stream, a broken-into line goes on as S+", async () => {
  await withTempDir(async (dir) => {
    // A leaves a line unfinished until B has run in between: both append to one file.
    const a = `printf half; until [ -e ${dir}/go ]; do sleep 0.05; done; echo rest`;
    const script = `"$1" -a "$2/f" sh -c "$3" >/dev/null &
      until grep -q half "$2/f" 2>/dev/null; do sleep 0.05; done
      "$1" -a "$2/f" sh -c 'printf B1; echo B2 >&2; printf B3' >/dev/null 2>&1
      touch "$2/go"; wait`;
    const r = await sh(script, [DTEE, dir, a]);
    equal(r.code, 0, r.err);
    const lines = unstamped(readText(`${dir}/f`));
    deepStrictEqual(lines.map((l) => l.replace(/ in \d+\.\d{6} s:/, ":")), [
      `I: Started sh -c '${a}'`,
      "O: half",
      "I: Started sh -c 'printf B1; echo B2 >&2; printf B3'",
      "O: B1",
      "E: B2",
      "O+ B3",
      "I: Finished: exited with status 0",
      "O+ rest",
      "I: Finished: exited with status 0",
    ]);
  });
});

Deno.test("replayed: a log's signal name with control characters stays on its I: line, escaped", async () => {
  await withTempDir(async (dir) => {
    const time = (s: number) => `"time":"2026-12-07T01:00:0${s}.000000000Z"`;
    const name = String.raw`"signal_name":"Kil\nled \u001b[2J\u0007"`;
    const log = [1, 2].map((n) =>
      `{"type":"start","run":"r${n}",${time(n)},"pid":1,"command":["x"]}\n` +
      `{"type":"end","run":"r${n}",${time(n + 1)},${
        n === 1 ? `"signal":9,${name},"core_dumped":false` : `"dtee_signal":15,${name}`
      }}\n`
    ).join("");
    Deno.writeTextFileSync(`${dir}/log`, log);
    const r = await run(DTEE, ["--replay", `${dir}/log`, "-A", `${dir}/a`, "--time-format=%s"]);
    equal(r.code, 128 + 15, r.err);
    deepStrictEqual(unstamped(readText(`${dir}/a`), String.raw`\d+`), [
      "I: Started x",
      String.raw`I: Finished in 1.000000 s: terminated by signal 9 (Kil\x0aled \x1b[2J\x07)`,
      "I: Started x",
      String.raw`I: Interrupted after 1.000000 s: dtee received signal 15 (Kil\x0aled \x1b[2J\x07)`,
    ]);
  });
});
