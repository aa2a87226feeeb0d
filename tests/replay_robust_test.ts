/**
 * The JSON log and its replay when things go wrong (docs/jsonlog.md "Runs and records",
 * "Replay"; docs/behaviour.md B3, B4): records cut short by a killed dtee or a full disk,
 * runs appended at the same time by overlapping dtee processes, the largest message with
 * odd bytes, the log given as an output of its own replay, clock jumps, control characters
 * in the log, and dtee's own messages recorded so that a replay says what the run said.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CRONTY, DTEE, joined, run, sh, sleep, waitUntil, withTempDir } from "./helpers.ts";

const read = (path: string) => Deno.readFileSync(path);
const lines = (path: string) => Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/** A run of `sh -c SCRIPT` under dtee with `args` (a -j log among them), live output 2>&1. */
function live(entry: string, args: string[], script: string) {
  return joined(entry, [...args, "sh", "-c", script]);
}

Deno.test("a record cut short by a killed dtee: the next run starts on a line of its own, replay goes on, exit 65", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo one; echo two >&2; exit 3"]);
    // What SIGKILL in the middle of a write leaves: the last record without its end.
    const whole = read(log);
    const cut = whole.subarray(0, whole.length - 20);
    Deno.writeFileSync(log, cut);
    const second = await run(DTEE, ["-j", log, "sh", "-c", "echo three; exit 5"]);
    equal(second.code, 5);
    const text = Deno.readTextFileSync(log);
    ok(text.startsWith(new TextDecoder().decode(cut) + "\n{"), "a line of its own");
    const r = await joined(DTEE, ["--replay", log]);
    equal(r.code, 65);
    match(
      r.out,
      new RegExp(
        `^one\ntwo\n${DTEE}: ${log}:4: not valid JSON [^\n]*\n${DTEE}: ${log}:8: ` +
          `end of file inside the run started at line 1 \\(no final record\\)\n` +
          `three\n$`,
      ),
    );
  });
});

Deno.test("dtee killed by SIGKILL while writing big records: every later run replays whole", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    // 64 KiB writes, as fast as they go: the kill lands inside or between records.
    const writer = "import os\nwhile True: os.write(1, b'x' * 65535 + b'\\n')";
    for (let round = 0; round < 3; round++) {
      const dtee = new Deno.Command(DTEE, {
        args: ["-j", log, "python3", "-c", writer],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await sleep(300 + 50 * round);
      dtee.kill("SIGKILL");
      await dtee.status;
      // The orphaned writer dies by SIGPIPE or is killed here.
      await run("pkill", ["-KILL", "-f", `^python3 -c ${writer.slice(0, 10)}`]).catch(() => {});
    }
    const last = await run(DTEE, ["-j", log, "sh", "-c", "echo last; exit 7"]);
    equal(last.code, 7);
    const r = await sh('"$@" 2>"$D/err" | tail -c 5', [DTEE, "--replay", log], {
      env: { D: dir },
    });
    equal(r.out, "last\n");
    const err = Deno.readTextFileSync(`${dir}/err`).split("\n").filter(Boolean);
    // Three runs without a final record, each reported; nothing else is lost.
    equal(err.filter((l) => l.includes("no final record")).length, 3, err.join("\n"));
    ok(err.every((l) => l.startsWith(`${DTEE}: ${log}:`)), err.join("\n"));
    const status = await run(DTEE, ["--replay", log, "-o", "/dev/null"], {}).then((x) => x.code);
    equal(status, 65);
  });
});

Deno.test({
  name:
    "a full disk: the record cut short is the only one lost, the next run appends on a line of its own",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    await withTempDir(async (dir) => {
      const mnt = `${dir}/mnt`;
      Deno.mkdirSync(mnt);
      const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]);
      equal(mounted.code, 0, mounted.err);
      try {
        const log = `${mnt}/log`;
        // Leave a little room: the first messages fit, a big write does not.
        await run("sh", ["-c", `head -c 40000 /dev/zero > ${mnt}/ballast`]);
        const script = "echo small; sleep 0.1; head -c 30000 /dev/zero | tr '\\0' y; echo; exit 2";
        const full = await live(DTEE, ["-j", log], script);
        equal(full.code, 74);
        match(full.out, new RegExp(`${mnt}/log: No space left on device\n`));
        Deno.removeSync(`${mnt}/ballast`);
        const next = await run(DTEE, ["-j", log, "sh", "-c", "echo after; exit 4"]);
        equal(next.code, 4);
        const r = await sh('"$@" 2>"$D/err"', [DTEE, "--replay", log], { env: { D: dir } });
        equal(r.code, 65);
        ok(r.out.startsWith("small\n") && r.out.endsWith("after\n"), JSON.stringify(r.out));
        const err = Deno.readTextFileSync(`${dir}/err`);
        match(err, /no final record/);
        // The run after the full disk is whole: its start, its message, its end.
        const records = lines(log).slice(-3).map((l) => JSON.parse(l));
        deepStrictEqual(records.map((x) => x.type), ["start", undefined, "end"]);
      } finally {
        await run("umount", [mnt]);
      }
    });
  },
});

/** A script that writes `tagN` and `tagNe` (stderr) for N in 1..count, each once `$D/tag.N` exists. */
const STEPS = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return `while [ ! -e "$D/${tag}.${n}" ]; do sleep 0.01; done; echo ${tag}${n}; echo ${tag}${n}e >&2`;
  }).join("; ");

Deno.test("overlapping dtee processes appending to one log: each run replays whole, in the order they started", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const env = { D: dir };
    const start = (tag: string, code: number) =>
      new Deno.Command(DTEE, {
        args: ["-j", log, "sh", "-c", `${STEPS(tag, 3)}; exit ${code}`],
        env,
        stdout: "null",
        stderr: "null",
      }).spawn();
    const a = start("a", 1);
    // a1, then b starts and writes while a still runs, then they alternate; each step is
    // over once its dtee has logged it.
    const step = async (name: string) => {
      Deno.writeTextFileSync(`${dir}/${name}`, "");
      const record = `"log":"${name.replace(".", "")}e\\n"`;
      await waitUntil(
        `${name} in the log`,
        async () => (await Deno.readTextFile(log).catch(() => "")).includes(record),
        20_000,
        10,
      );
    };
    await step("a.1");
    const b = start("b", 2);
    for (const name of ["b.1", "a.2", "b.2", "a.3", "b.3"]) await step(name);
    equal((await a.status).code, 1);
    equal((await b.status).code, 2);
    // The records are interleaved in the file.
    const logged = lines(log).map((l) => JSON.parse(l)).filter((x) => x.log).map((x) => x.log);
    deepStrictEqual(logged.slice(0, 4), ["a1\n", "a1e\n", "b1\n", "b1e\n"]);
    const expected = "a1\na1e\na2\na2e\na3\na3e\nb1\nb1e\nb2\nb2e\nb3\nb3e\n";
    const file = await joined(DTEE, ["--replay", log]);
    deepStrictEqual([file.code, file.out], [2, expected]);
    // From a pipe, which cannot be read again: the same.
    const pipe = await sh('cat "$2" | "$1" --replay /dev/stdin 2>&1', [DTEE, log]);
    deepStrictEqual([pipe.code, pipe.out], [2, expected]);
    // cronty reports each run as a live cronty would have.
    const cron = await joined(CRONTY, ["--replay", log]);
    const report = (code: number) => `${CRONTY}: sh: exited with status ${code}\n`;
    equal(
      cron.out,
      "a1\na1e\na2\na2e\na3\na3e\n" + report(1) + "b1\nb1e\nb2\nb2e\nb3\nb3e\n" + report(2),
    );
  });
});

Deno.test("the largest write dtee can record, random bytes with invalid UTF-8, replays byte for byte", async () => {
  await withTempDir(async (dir) => {
    const limits = await run(DTEE, ["--debug-limits"]);
    const max = Number(limits.out.match(/^max-write=(\d+)$/m)![1]);
    ok(max > 200_000, limits.out);
    const writer = "import os, random, sys\nr = random.Random(5)\nn = int(sys.argv[1])\n" +
      "os.write(1, b'before\\n')\n" +
      "os.write(1, bytes([0xff]) + bytes(r.randrange(256) for _ in range(n - 1)))\n" +
      "os.write(2, b'a' * 3400000 + b'\\xfe')\nos.write(1, b'after\\n')";
    const log = `${dir}/log`;
    const liveRun = await sh('"$@" >"$D/live.out" 2>"$D/live.err"', [
      DTEE,
      "-j",
      log,
      "python3",
      "-c",
      writer,
      String(max),
    ], { env: { D: dir } });
    equal(liveRun.code, 0, Deno.readTextFileSync(`${dir}/live.err`).slice(0, 300));
    equal(read(`${dir}/live.out`).length, max + 13);
    const r = await sh('"$@" >"$D/r.out" 2>"$D/r.err"', [DTEE, "--replay", log], {
      env: { D: dir },
    });
    equal(r.code, 0, Deno.readTextFileSync(`${dir}/r.err`).slice(0, 300));
    ok(same(read(`${dir}/r.out`), read(`${dir}/live.out`)), "stdout");
    ok(same(read(`${dir}/r.err`), read(`${dir}/live.err`)), "stderr");
  });
});

Deno.test("the log as an output of its own replay, under any name: refused before any output is opened, 64", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo hi"]);
    const before = read(log);
    Deno.symlinkSync(log, `${dir}/link`);
    Deno.linkSync(log, `${dir}/hard`);
    const cases: [string, string[]][] = [
      [`${log}`, ["-j", log]],
      [`${dir}/link`, ["-j", `${dir}/link`]],
      [`${dir}/hard`, ["-J", `${dir}/hard`]],
      [`${dir}/link`, ["-C", `${dir}/link`]],
    ];
    for (const [name, args] of cases) {
      const r = await run(DTEE, ["--replay", log, "-O", `${dir}/untouched`, ...args]);
      deepStrictEqual(
        [r.code, r.out, r.err],
        [64, "", `${DTEE}: ${log}: input file is output file${name === log ? "" : ` (${name})`}\n`],
        args.join(" "),
      );
      ok(same(read(log), before), `${args.join(" ")}: the log is unchanged`);
      ok(!(await Deno.stat(`${dir}/untouched`).catch(() => null)), "no output was opened");
    }
    const fd = await sh('exec 7>>"$2"; "$1" --replay "$2" -c /proc/self/fd/7', [DTEE, log]);
    deepStrictEqual([fd.code, fd.err], [
      64,
      `${DTEE}: ${log}: input file is output file (/proc/self/fd/7)\n`,
    ]);
    const stdout = await sh('"$1" --replay "$2" >>"$2"', [DTEE, log]);
    deepStrictEqual([stdout.code, stdout.err], [
      64,
      `${DTEE}: ${log}: input file is output file (stdout)\n`,
    ]);
    ok(same(read(log), before));
    // Another file, or the same terminal or pipe on both sides, is fine.
    const ok2 = await sh('cat "$2" | "$1" --replay /dev/stdin', [DTEE, log]);
    deepStrictEqual([ok2.code, ok2.out], [0, "hi\n"]);
  });
});

Deno.test("--realtime --max-delay: a clock jump of years takes at most SECONDS; usage errors", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const rec = (fields: string) => `{${fields},"run":"r1"}`;
    Deno.writeTextFileSync(
      log,
      [
        rec('"type":"start","time":"2016-01-01T00:00:00Z","pid":1,"command":["x"]'),
        rec('"log":"a\\n","stream":"stdout","time":"2016-01-01T00:00:00.1Z"'),
        rec('"log":"b\\n","stream":"stdout","time":"2026-01-01T00:00:00Z"'),
        rec('"log":"c\\n","stream":"stdout","time":"2026-01-01T00:00:00.3Z"'),
        rec('"type":"end","time":"2026-01-01T00:00:01Z","exit_code":0'),
      ].join("\n") + "\n",
    );
    const t0 = performance.now();
    const r = await run(DTEE, ["--replay", log, "--realtime", "--max-delay=0.2"], {
      timeoutMs: 10_000,
    });
    const took = performance.now() - t0;
    deepStrictEqual([r.code, r.out, r.err], [0, "a\nb\nc\n", ""]);
    // 0.1 s, then 0.2 s instead of ten years, then 0.2 s instead of 0.3 s.
    ok(took >= 450 && took < 3000, `${took} ms`);
    // Without --max-delay the jump is waited for; a signal still ends it at once.
    const waiting = new Deno.Command(DTEE, {
      args: ["--replay", log, "--realtime"],
      stdout: "piped",
    }).spawn();
    await sleep(1500);
    waiting.kill("SIGTERM");
    const status = await waiting.output();
    equal(status.signal, "SIGTERM");
    equal(new TextDecoder().decode(status.stdout), "a\n");
    const usage = (args: string[], message: string) =>
      run(DTEE, ["--replay", log, ...args]).then((u) =>
        deepStrictEqual([u.code, u.err], [
          64,
          `${DTEE}: ${message}\nTry '${DTEE} -h' for more information.\n`,
        ])
      );
    await usage(["--max-delay=1"], "option '--max-delay' requires option '--realtime'");
    await usage(
      ["--realtime", "--max-delay", "1e3"],
      "the argument ('1e3') for option '--max-delay' is invalid",
    );
  });
});

Deno.test("bytes of a damaged log reach dtee's messages escaped, never raw", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo ok"]);
    const [start, ...rest] = lines(log);
    Deno.writeTextFileSync(
      log,
      [start, '\x1b]0;owned\x07{"log":"\x1b[2J"}', '{"type":"\\u001b[31m"}', ...rest].join("\n") +
        "\n",
    );
    const r = await run(DTEE, ["--replay", log]);
    equal(r.code, 65);
    equal(r.out, "ok\n");
    // deno-lint-ignore no-control-regex
    ok(!/[\x00-\x09\x0b-\x1f\x7f]/.test(r.err), JSON.stringify(r.err));
    match(r.err, /:2: not valid JSON \([^\n]*\\x1b[^\n]*\)\n/);
    match(r.err, /:3: unknown record type "\\u001b\[31m"\n/);
  });
});

Deno.test("cronty --replay prints exactly what cronty printed, dtee's own messages included", async () => {
  await withTempDir(async (dir) => {
    const shell = (script: string) => ["sh", "-c", script];
    const cases: string[][] = [
      // The command cannot be executed.
      ["-j", "LOG", "nosuch-command-xyz", "arg"],
      // A write error on an output file, in a quiet job and in one that fails.
      ["-o", "/dev/full", "-j", "LOG", ...shell("echo out")],
      [
        "-o",
        "/dev/full",
        "-j",
        "LOG",
        ...shell("echo out; sleep 0.05; echo err >&2; echo o2; exit 1"),
      ],
      // An output file that cannot be opened: cron mode runs unbuffered and reports.
      ["-o", `${dir}/no/such/dir`, "-j", "LOG", ...shell("echo out; echo o2; exit 0")],
    ];
    for (const [i, args] of cases.entries()) {
      const log = `${dir}/log${i}`;
      const argv = args.map((a) => a === "LOG" ? log : a);
      const script = argv.join(" ");
      const liveRun = await joined(CRONTY, argv);
      const replayed = await joined(CRONTY, ["--replay", log]);
      equal(replayed.out, liveRun.out, `${script}: ${JSON.stringify(lines(log))}`);
      ok(liveRun.out.includes(`${CRONTY}: `), liveRun.out);
      ok(lines(log).some((l) => JSON.parse(l).type === "diagnostic"), "recorded");
    }
  });
});
