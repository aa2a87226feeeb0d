/**
 * The JSON log and replay end to end (docs/behaviour.md B3, B4; docs/jsonlog.md): real
 * commands through `dtee -j`, the log read by jq, Python and the schema, and
 * `dtee --replay` giving back every byte in order, in every output, with the recorded status.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { CRONTY, DTEE, joined, run, sh, signalAfterOutput, withTempDir } from "./helpers.ts";
import { HAS_JQ, HAS_JSONSCHEMA, validate } from "./jsonlog_checks.ts";
import { Buffer } from "node:buffer";

/** Writes `count` random messages (0 B to 1 MiB, any bytes) to random streams, then ends as `end` says. */
const GENERATOR = `
import os, random, signal, sys
r = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    k = r.random()
    size = 0 if k < 0.03 else r.randint(1 << 19, 1 << 20) if k > 0.997 else r.randint(1, 300)
    os.write(r.choice((1, 2)), r.randbytes(size))
end = sys.argv[3]
if end == "signal":
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(int(end))
`;

const read = (path: string) => Deno.readFileSync(path);

/**
 * Runs `dtee ARGS -j log -c c -o o -e e GENERATOR` with its stdout and stderr in files, then
 * replays the log three ways; every output of the replay must equal the live run's.
 */
async function roundTrip(dir: string, entry: string, args: string[], seed: number, end: string) {
  const generator = ["python3", "-c", GENERATOR, String(seed), "2000", end];
  const outputs = (
    p: string,
  ) => ["-c", `${dir}/${p}.c`, "-o", `${dir}/${p}.o`, "-e", `${dir}/${p}.e`];
  const live = await sh(
    '"$@" >"$D/live.out" 2>"$D/live.err"',
    [entry, ...args, "-j", `${dir}/log`, ...outputs("live"), ...generator],
    { env: { D: dir } },
  );
  const replayed = await sh('"$@" >"$D/r.out" 2>"$D/r.err"', [
    entry,
    ...args,
    "--replay",
    `${dir}/log`,
    ...outputs("r"),
  ], { env: { D: dir } });
  equal(replayed.code, live.code, "status");
  for (const f of ["out", "err", "c", "o", "e"]) {
    ok(Buffer.compare(read(`${dir}/live.${f}`), read(`${dir}/r.${f}`)) === 0, `${f} differs`);
  }
  // Both streams into one file. Outside cron mode that is the order of the combined file;
  // cron mode holds stdout back, so it is what a live run into one file printed.
  const merged = await sh('"$@" >"$D/m" 2>&1', [entry, ...args, "--replay", `${dir}/log`], {
    env: { D: dir },
  });
  equal(merged.code, live.code);
  let expected = `${dir}/live.c`;
  if (entry === CRONTY) {
    expected = `${dir}/live.m`;
    await sh('"$@" >"$D/live.m" 2>&1', [entry, ...args, ...generator], { env: { D: dir } });
  }
  ok(Buffer.compare(read(`${dir}/m`), read(expected)) === 0, "2>&1");
  return live;
}

Deno.test("random writes through -j, replayed: every byte and the order in every output", async () => {
  await withTempDir(async (dir) => {
    const live = await roundTrip(dir, DTEE, [], 11, "3");
    equal(live.code, 3);
    ok(read(`${dir}/live.c`).length > 100_000, "the generator wrote something");
  });
});

Deno.test("a command killed by a signal: the same replay, status 128+N", async () => {
  await withTempDir(async (dir) => {
    equal((await roundTrip(dir, DTEE, [], 12, "signal")).code, 143);
  });
});

Deno.test("cron mode: cronty --replay prints exactly what cronty printed, report line included", async () => {
  await withTempDir(async (dir) => {
    const live = await roundTrip(dir, CRONTY, [], 13, "1");
    equal(live.code, 1);
    match(Deno.readTextFileSync(`${dir}/live.err`), /cronty: python3: exited with status 1\n$/);
  });
});

Deno.test("a quiet successful cron job replays as silently as it ran", async () => {
  await withTempDir(async (dir) => {
    const live = await run(CRONTY, ["-j", `${dir}/log`, "sh", "-c", "echo quiet"]);
    deepStrictEqual([live.code, live.out, live.err], [0, "", ""]);
    const replayed = await run(CRONTY, ["--replay", `${dir}/log`]);
    deepStrictEqual([replayed.code, replayed.out, replayed.err], [0, "", ""]);
  });
});

Deno.test("the log: Docker's keys first, kernel times, start and final records; jq and Python read it", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const script = "printf 'one\\n'; sleep 0.05; printf 'two\\377\\n' >&2; exit 4";
    const r = await run(DTEE, ["-j", log, "sh", "-c", script]);
    equal(r.code, 4);
    const lines = Deno.readTextFileSync(log).split("\n");
    equal(lines.pop(), "");
    const records = lines.map((l) => JSON.parse(l));
    deepStrictEqual(Object.keys(records[1]), ["log", "stream", "time", "run"]);
    deepStrictEqual(Object.keys(records[2]), ["log", "stream", "time", "run", "log_base64"]);
    // One run id on every record of the run.
    match(records[0].run, /^[0-9a-f]{16}$/);
    ok(records.every((rec) => rec.run === records[0].run));
    deepStrictEqual(records[0].command, ["sh", "-c", script]);
    equal(records[0].type, "start");
    deepStrictEqual([records[1].log, records[1].stream], ["one\n", "stdout"]);
    deepStrictEqual([records[2].log, records[2].stream], ["two\ufffd\n", "stderr"]);
    equal(atob(records[2].log_base64), "two\xff\n");
    deepStrictEqual([records[3].type, records[3].exit_code], ["end", 4]);
    for (const rec of records) match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    // The time is when the kernel queued each write: 50 ms apart.
    const ms = (t: string) => Date.parse(t) + Number(t.slice(23, 29)) / 1e6;
    const gap = ms(records[2].time) - ms(records[1].time);
    ok(gap >= 45 && gap <= 80, `gap ${gap} ms`);
    const python = await run("python3", [
      "-c",
      "import json,sys; print(sum(1 for l in open(sys.argv[1], 'rb') if json.loads(l)))",
      log,
    ]);
    equal(python.out, "4\n", python.err);
    if (HAS_JQ) {
      const jq = await run("jq", ["-r", "select(.stream) | .stream", log]);
      equal(jq.out, "stdout\nstderr\n");
    }
    if (HAS_JSONSCHEMA) deepStrictEqual(await validate(read(log)), ["ok", "ok", "ok", "ok"]);
  });
});

Deno.test("dtee itself stopped by a signal writes the final record saying so", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const signal = await signalAfterOutput(
      DTEE,
      ["-j", log, "sh", "-c", "echo started; exec sleep 30"],
      "SIGTERM",
    );
    equal(signal, "SIGTERM");
    const last = JSON.parse(Deno.readTextFileSync(log).trimEnd().split("\n").at(-1)!);
    deepStrictEqual([last.type, last.dtee_signal, last.signal_name], ["end", 15, "Terminated"]);
    equal((await run(DTEE, ["--replay", log])).code, 143);
  });
});

Deno.test("an appended log replays its runs in turn; the status is the last run's", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo first; exit 1"]);
    await run(DTEE, ["-j", log, "sh", "-c", "echo second >&2"]);
    const r = await run(DTEE, ["--replay", log, "-c", `${dir}/c`]);
    deepStrictEqual([r.code, r.out, r.err], [0, "first\n", "second\n"]);
    equal(Deno.readTextFileSync(`${dir}/c`), "first\nsecond\n");
    // Replayed into a new log, it is the same runs again.
    await run(DTEE, ["--replay", log, "-J", `${dir}/again`]);
    const again = await run(DTEE, ["--replay", `${dir}/again`]);
    deepStrictEqual([again.code, again.out, again.err], [0, "first\n", "second\n"]);
  });
});

Deno.test("a bad record: everything before it is delivered, then FILE:LINE, the rest, exit 65", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo one; echo two"]);
    const lines = Deno.readTextFileSync(log).split("\n");
    const id = JSON.parse(lines[0]).run;
    const bad =
      `{"log":"x","stream":"stdin","time":"2026-12-01T00:00:00.000000000Z","run":"${id}"}`;
    lines.splice(2, 0, bad);
    Deno.writeTextFileSync(log, lines.join("\n"));
    const r = await joined(DTEE, ["--replay", log]);
    equal(r.code, 65);
    equal(r.out, `one\n${DTEE}: ${log}:3: unknown stream "stdin"\ntwo\n`);
    const missing = await run(DTEE, ["--replay", `${dir}/nothing`]);
    deepStrictEqual([missing.code, missing.err], [
      66,
      `${DTEE}: ${dir}/nothing: No such file or directory\n`,
    ]);
  });
});

Deno.test("--realtime reproduces the recorded gaps; without it the replay does not wait", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo a; sleep 0.4; echo b"]);
    const timed = async (args: string[]) => {
      const t0 = performance.now();
      const r = await run(DTEE, args);
      equal(r.out, "a\nb\n");
      return performance.now() - t0;
    };
    ok(await timed(["--replay", log, "--realtime"]) >= 380, "paced");
    ok(await timed(["--replay", log]) < 380, "not paced");
  });
});

Deno.test("cronty --replay of several runs reports each as live cronty did", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo a; echo b >&2"]);
    await run(DTEE, ["-j", log, "sh", "-c", "echo quiet"]);
    await run(DTEE, ["-j", log, "sh", "-c", "echo d; echo e >&2"]);
    const r = await run(CRONTY, ["--replay", log]);
    const report = `${CRONTY}: sh: exited with status 0\n`;
    deepStrictEqual([r.code, r.out, r.err], [0, "a\nd\n", `b\n${report}e\n${report}`]);
  });
});

Deno.test("cronty --replay of a log cut short still writes out what it held", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    await run(DTEE, ["-j", log, "sh", "-c", "echo out1; echo out2"]);
    const lines = Deno.readTextFileSync(log).split("\n");
    Deno.writeTextFileSync(`${dir}/cut`, lines.slice(0, 3).join("\n") + "\n");
    const r = await run(CRONTY, ["--replay", `${dir}/cut`]);
    equal(r.code, 65);
    equal(r.out, "out1\nout2\n");
    match(r.err, /cut:4: [^\n]*no final record[^\n]*\n$/);
  });
});

Deno.test("a log written by a replay is the recorded one: same pid, same times", async () => {
  await withTempDir(async (dir) => {
    await run(DTEE, ["-j", `${dir}/log`, "sh", "-c", "echo x; echo y >&2; exit 2"]);
    const r = await run(DTEE, ["--replay", `${dir}/log`, "-J", `${dir}/again`]);
    equal(r.code, 2);
    equal(Deno.readTextFileSync(`${dir}/again`), Deno.readTextFileSync(`${dir}/log`));
  });
});

Deno.test("cronty under dtee: its held messages reach the outer dtee one write each", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/outer`;
    const r = await run(DTEE, ["-J", log, CRONTY, "sh", "-c", "echo a; echo b; echo c >&2"]);
    equal(r.code, 0, r.err);
    const logged = Deno.readTextFileSync(log).trimEnd().split("\n").map((l) => JSON.parse(l))
      .filter((rec) => "log" in rec).map((rec) => rec.log);
    deepStrictEqual(logged, ["a\n", "b\n", "c\n", `${CRONTY}: sh: exited with status 0\n`]);
  });
});
