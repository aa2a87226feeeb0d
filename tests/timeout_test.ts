/**
 * Time limits and reports for failures only (docs/behaviour.md B7, B8): --timeout,
 * --kill-after and --failures-only, tested from outside with real processes, signals,
 * process groups, JSON logs, and a real terminal (a pseudo-terminal driven by
 * tests/pty_run.py, with bash's job control where the test needs it).
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  CRONTY,
  DTEE,
  ended,
  procStat,
  readText,
  ROOT,
  run,
  waitUntil,
  withTempDir,
} from "./helpers.ts";
import { parse } from "../lib/cli.ts";

/** Runs dtee or cronty with stderr joined to stdout, so that the order across both shows. */
function joined(launcher: string, args: string[]) {
  return run("sh", ["-c", 'exec "$@" 2>&1', "sh", launcher, ...args]);
}

/** A job that says it started, then waits for a sleep it started (a grandchild of dtee's). */
const TRAPS_TERM = `trap 'echo "last words"; echo "to stderr" >&2; exit 3' TERM
echo started; sleep 30 & wait`;

Deno.test("cronty --timeout: a job that traps TERM has its last words in the report, in order", async () => {
  const r = await joined(CRONTY, ["--timeout=0.5", "sh", "-c", TRAPS_TERM]);
  ended(
    r,
    124,
    "started\nlast words\nto stderr\n" +
      `${CRONTY}: sh: timed out after 0.5s\n${CRONTY}: sh: exited with status 3\n`,
    "",
  );
});

Deno.test("dtee --timeout: the output as it comes, then one line on stderr, status 124", async () => {
  await withTempDir(async (dir) => {
    const r = await run(DTEE, ["-c", `${dir}/c`, "--timeout=0.5", "sh", "-c", TRAPS_TERM]);
    ended(r, 124, "started\nlast words\n", `to stderr\n${DTEE}: sh: timed out after 0.5s\n`);
    equal(
      readText(`${dir}/c`),
      "started\nlast words\nto stderr\n",
      "the file holds the job's words only",
    );
  });
});

Deno.test("--kill-after: a job that ignores TERM is killed, status 137", async () => {
  const script = `trap '' TERM; echo started; sleep 30; echo never`;
  const r = await joined(CRONTY, ["--timeout=0.3", "--kill-after=0.3", "sh", "-c", script]);
  ended(
    r,
    137,
    `started\n${CRONTY}: sh: timed out after 0.3s\n` +
      `${CRONTY}: sh: process terminated by signal 9: Killed\n`,
    "",
  );
  const plain = await run(DTEE, ["--timeout=0.3", "--kill-after=1s", "sh", "-c", script]);
  ended(plain, 137, "started\n", `${DTEE}: sh: timed out after 0.3s\n`);
});

Deno.test("--timeout: the job's whole process group gets SIGTERM, no grandchild outlives it", async () => {
  // A background sleep, and one in a subshell whose parent exits at once (an orphan).
  const script = `sleep 300 & echo $!; (sleep 301 & echo $!); wait`;
  const r = await run(DTEE, ["--timeout=0.5", "sh", "-c", script]);
  equal(r.code, 124, r.err);
  const pids = r.out.trim().split("\n").map(Number);
  equal(pids.length, 2, r.out);
  await allGone(pids);
});

/** Waits until none of `pids` runs any more (5 s at most). */
async function allGone(pids: number[]): Promise<void> {
  for (const pid of pids) {
    await waitUntil(`process ${pid} to be gone`, () => {
      const fields = procStat(pid);
      // A zombie waiting for its reaper is gone as far as running goes.
      return fields === undefined || fields[0] === "Z";
    }, 5000);
  }
}

/** A job that prints its shell's pid and its sleep's, then waits; TERM gets last words, exit 5. */
const SAYS_PIDS = `trap 'echo job got TERM; exit 5' TERM; echo $$; sleep 300 & echo $!; wait`;

Deno.test("--timeout under another dtee's limit: the inner job is not left running", async () => {
  // The outer limit's SIGTERM reaches the inner dtee only (its group), which relays it.
  const r = await run(DTEE, ["--timeout=0.5", DTEE, "--timeout=30", "sh", "-c", SAYS_PIDS]);
  equal(r.code, 124, r.err);
  await allGone(r.out.trim().split("\n").slice(0, 2).map(Number));
  match(r.out, /^\d+\n\d+\njob got TERM\n$/);
});

Deno.test("--timeout: SIGTERM to dtee's own group reaches the job's group too, then dtee ends by it", async () => {
  await withTempDir(async (dir) => {
    // As `kill %1` or a supervisor's stop signals dtee's job, not the job's own group.
    const child = new Deno.Command("setsid", {
      args: [CRONTY, "--timeout=30", "-c", `${dir}/c`, "-J", `${dir}/log`, "sh", "-c", SAYS_PIDS],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await waitUntil("the job to start", () => readText(`${dir}/c`).split("\n").length > 2);
    Deno.kill(-child.pid, "SIGTERM");
    const status = await child.status;
    let text = "";
    for (let got = await out.read(); !got.done; got = await out.read()) text += got.value;
    const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    equal(status.signal, "SIGTERM", `cronty ends by the signal, as without a limit: ${err}`);
    const lines = text.split("\n");
    equal(lines[2], "job got TERM", "the job's last words come before the report");
    equal(err, `${CRONTY}: received signal 15: Terminated\n`);
    await allGone(lines.slice(0, 2).map(Number));
    match(readText(`${dir}/log`), /"dtee_signal":15,/, "the log says dtee was stopped by it");
  });
});

Deno.test("--timeout: dtee under timeout(1) takes its job with it", async () => {
  const r = await run("timeout", ["0.5", CRONTY, "--timeout=1h", "sh", "-c", SAYS_PIDS]);
  equal(r.code, 124, r.err);
  const pids = r.out.trim().split("\n").slice(0, 2).map(Number);
  await allGone(pids);
  equal(r.out.split("\n")[2], "job got TERM", r.out);
});

Deno.test("--timeout: a dtee stopped by a broken pipe signals the job's group first", async () => {
  // head takes the pids and leaves: dtee's next write breaks, dtee dies by SIGPIPE.
  const script =
    `${DTEE} --timeout=1h sh -c 'echo $$; sleep 300 & echo $!; while :; do echo y; done' |
    head -n 2`;
  const r = await run("sh", ["-c", script]);
  equal(r.code, 0, r.err);
  await allGone(r.out.trim().split("\n").map(Number));
});

Deno.test("--timeout -i: SIGINT is passed on to the job's group, dtee ends as the job did", async () => {
  await withTempDir(async (dir) => {
    const script = `trap 'echo job got INT; exit 7' INT; echo go; sleep 300 & wait`;
    const child = new Deno.Command(DTEE, {
      args: ["-i", "--timeout=30", "-c", `${dir}/c`, "sh", "-c", script],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await waitUntil("the job to start", () => readText(`${dir}/c`) === "go\n");
    Deno.kill(child.pid, "SIGINT");
    const r = await child.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    deepStrictEqual([r.code, text(r.stdout), text(r.stderr)], [7, "go\njob got INT\n", ""]);
  });
});

Deno.test("a job that ends before its limit shows no trace of it", async () => {
  await withTempDir(async (dir) => {
    const quiet = await run(CRONTY, ["--timeout=30", "--kill-after=5", "sh", "-c", "echo fine"]);
    ended(quiet, 0, "", "", "cronty");
    const failing = await joined(CRONTY, ["--timeout=1d", "sh", "-c", "echo out; exit 2"]);
    ended(failing, 2, `out\n${CRONTY}: sh: exited with status 2\n`, "", "failing cronty");
    const log = `${dir}/log`;
    const plain = await run(DTEE, [
      "-J",
      log,
      "--timeout=2h",
      "sh",
      "-c",
      "echo out; echo err >&2",
    ]);
    ended(plain, 0, "out\n", "err\n", "dtee");
    const end = JSON.parse(readText(log).trim().split("\n").at(-1)!);
    deepStrictEqual(Object.keys(end), ["type", "run", "time", "exit_code"]);
    // It also did not wait for the limit: the run's timeout is far below 2 hours.
  });
});

Deno.test("--timeout: every DURATION form as timeout(1) reads it, 0 is no limit", async () => {
  for (
    const [word, text] of [["1", "1s"], ["0.3s", "0.3s"], [".005m", ".005m"], ["1e-4h", "1e-4h"]]
  ) {
    const r = await run(DTEE, [`--timeout=${word}`, "sleep", "30"]);
    ended(r, 124, "", `${DTEE}: sleep: timed out after ${text}\n`, word);
  }
  // 0 and a long limit: the job runs to its end.
  for (const word of ["0", "0s", "10m", "2h", "1d"]) {
    const r = await run(DTEE, ["--timeout", word, "--kill-after", word, "sh", "-c", "exit 5"]);
    ended(r, 5, "", "", word);
  }
});

Deno.test("--timeout: what the real timeout(1) accepts and refuses, dtee does", async () => {
  const forms = [
    ...["30", "1.5s", "10m", "2h", "1d", ".5", "5.", "1e3", "1e+2", "1e-400", "1e400", "007"],
    ...["inf", "infinity", "INF", "+inf", "infs", "+1", " 1", "\t2", " +1d", "+.5s", "0"],
    ...["0x10", "0x1p3", "0x1p-2", "0x.8", "0X1P1", "0x1.8p1", "0x1e2"],
    ...["-1", "-0", "-inf", "nan", "nan(1)", "1 ", "1e", "0x", "0x1p", "", ".", "1ss", "1S"],
    ...["+-1", "1,5", "inf m", "1x", "e3", "1..2"],
  ];
  for (const form of forms) {
    // 125: timeout(1)'s own usage error.
    const real = await run("timeout", [form, "true"]);
    ok(real.code === 0 || real.code === 125, `timeout ${form}: ${real.code} ${real.err}`);
    const ours = await run(DTEE, [`--timeout=${form}`, "true"]);
    equal(ours.code, real.code === 0 ? 0 : 64, `--timeout=${JSON.stringify(form)}: ${ours.err}`);
  }
  // The values too: a quarter of a second, in hexadecimal.
  const real = await run("timeout", ["0x1p-2", "sleep", "5"]);
  equal(real.code, 124);
  const r = await run(DTEE, ["--timeout=0x1p-2", "sleep", "5"]);
  ended(r, 124, "", `${DTEE}: sleep: timed out after 0x1p-2s\n`);
});

Deno.test("--timeout and --kill-after: bad values are usage errors, 64", async () => {
  const tryLine = `Try '${DTEE} -h' for more information.\n`;
  const cases: [string[], string][] = [
    [["--timeout=1x"], "the argument ('1x') for option '--timeout' is invalid"],
    [["--timeout", ""], "the argument ('') for option '--timeout' is invalid"],
    [["--timeout=-1"], "the argument ('-1') for option '--timeout' is invalid"],
    [
      ["--timeout=1", "--kill-after=soon"],
      "the argument ('soon') for option '--kill-after' is invalid",
    ],
    [["--kill-after=1"], "option '--kill-after' requires option '--timeout'"],
    [["--timeout=1", "--timeout=2"], "option '--timeout' cannot be specified more than once"],
    [["--failures-only"], "option '--failures-only' requires cron mode ('--cron' or cronty)"],
  ];
  for (const [args, message] of cases) {
    const r = await run(DTEE, [...args, "true"]);
    ended(r, 64, "", `${DTEE}: ${message}\n${tryLine}`, args.join(" "));
  }
  const replay = await run(DTEE, ["--timeout=1", "--replay", "/nonexistent"]);
  ended(
    replay,
    64,
    "",
    `${DTEE}: option '--timeout' cannot be used with option '--replay'\n${tryLine}`,
  );
  const missing = await run(DTEE, ["--timeout"]);
  ended(
    missing,
    64,
    "",
    `${DTEE}: the required argument for option '--timeout' is missing\n${tryLine}`,
  );
});

Deno.test("the grammar: --timeout, --kill-after and --failures-only as parsed", () => {
  const parsed = parse(["--timeout", "10m", "--kill-after=30", "--failures-only", "job"], "cronty");
  ok(parsed.action === "run");
  deepStrictEqual(parsed.options.limit, {
    timeout: { text: "10m", ns: 600_000_000_000n },
    killAfter: { text: "30s", ns: 30_000_000_000n },
  });
  equal(parsed.options.failuresOnly, true);
  const none = parse(["--timeout=0", "--kill-after=5", "job"], "dtee");
  ok(none.action === "run");
  equal(none.options.limit, undefined, "--timeout=0 is no limit");
  const noKill = parse(["--timeout=5", "--kill-after=0", "job"], "dtee");
  ok(noKill.action === "run");
  equal(noKill.options.limit?.killAfter, undefined, "--kill-after=0 sends no SIGKILL");
});

Deno.test("--failures-only: stderr output with exit 0 prints nothing", async () => {
  await withTempDir(async (dir) => {
    const script = "echo archiving; echo 'tar: Removing leading /' >&2; echo done";
    const r = await run(CRONTY, ["--failures-only", "-c", `${dir}/c`, "sh", "-c", script]);
    ended(r, 0, "", "");
    equal(
      readText(`${dir}/c`),
      "archiving\ntar: Removing leading /\ndone\n",
      "files get everything",
    );
    // The default stays the C tool's: stderr output reports.
    const plain = await joined(CRONTY, ["sh", "-c", script]);
    ended(
      plain,
      0,
      `archiving\ntar: Removing leading /\ndone\n${CRONTY}: sh: exited with status 0\n`,
      "",
    );
  });
});

Deno.test("--failures-only: a failure prints everything, both streams in order, then the report", async () => {
  const script = "echo one; echo two >&2; echo three; echo four >&2; exit 4";
  const r = await joined(CRONTY, ["--failures-only", "sh", "-c", script]);
  ended(r, 4, `one\ntwo\nthree\nfour\n${CRONTY}: sh: exited with status 4\n`, "");
  // Each stream still goes to its own descriptor.
  const split = await run(CRONTY, ["--failures-only", "sh", "-c", script]);
  ended(split, 4, "one\nthree\n", `two\nfour\n${CRONTY}: sh: exited with status 4\n`);
});

Deno.test("--failures-only: a signal and a time-out are failures", async () => {
  const killed = await joined(CRONTY, [
    "--failures-only",
    "sh",
    "-c",
    "echo out; echo err >&2; kill -USR1 $$",
  ]);
  ended(
    killed,
    138,
    `out\nerr\n${CRONTY}: sh: process terminated by signal 10: User defined signal 1\n`,
    "",
  );
  const timedOut = await joined(CRONTY, [
    "--failures-only",
    "--timeout=0.3",
    "sh",
    "-c",
    "echo out; echo err >&2; trap 'exit 0' TERM; sleep 30 & wait",
  ]);
  ended(
    timedOut,
    124,
    `out\nerr\n${CRONTY}: sh: timed out after 0.3s\n${CRONTY}: sh: exited with status 0\n`,
    "",
  );
});

Deno.test("--failures-only on --replay: a recorded success is silent, a failure reports", async () => {
  await withTempDir(async (dir) => {
    const quiet = `${dir}/quiet`;
    const failed = `${dir}/failed`;
    await run(DTEE, ["-J", quiet, "sh", "-c", "echo out; echo warning >&2"]);
    await run(DTEE, ["-J", failed, "sh", "-c", "echo out; echo error >&2; exit 2"]);
    ended(await run(CRONTY, ["--failures-only", "--replay", quiet]), 0, "", "");
    ended(
      await joined(CRONTY, ["--failures-only", "--replay", failed]),
      2,
      `out\nerror\n${CRONTY}: sh: exited with status 2\n`,
      "",
    );
  });
});

Deno.test("--failures-only: an error of dtee's reports what was held", async () => {
  await withTempDir(async (dir) => {
    const r = await joined(CRONTY, [
      "--failures-only",
      "-o",
      `${dir}/missing/o`,
      "sh",
      "-c",
      "echo out; echo err >&2",
    ]);
    // An output that cannot be opened: cron mode runs the command unbuffered.
    ended(
      r,
      73,
      `${CRONTY}: ${dir}/missing/o: No such file or directory\nout\nerr\n` +
        `${CRONTY}: sh: exited with status 0\n`,
      "",
    );
  });
});

Deno.test("--failures-only: writing out the held output names the stream whose write failed", async () => {
  await withTempDir(async (dir) => {
    const script = `${CRONTY} --failures-only -J ${dir}/log sh -c 'echo out; echo err >&2; exit 1'`;
    for (
      const [redirect, label, out] of [["2>/dev/full", "stderr", "out\n"], [
        ">/dev/full",
        "stdout",
        "",
      ]]
    ) {
      const r = await run("sh", ["-c", `${script} ${redirect}`]);
      equal(r.code, 74, r.err);
      equal(r.out, out);
      // The diagnostic cannot reach a full stderr: the log has it.
      const diagnostics = readText(`${dir}/log`).trim().split("\n").map((l) => JSON.parse(l))
        .filter((record) => record.type === "diagnostic").map((record) => record.text);
      deepStrictEqual(diagnostics.at(-1), `${label}: write: No space left on device`, redirect);
    }
  });
});

Deno.test("the JSON log's end record says the run timed out, and --replay prints the same report", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const live = await joined(CRONTY, ["-J", log, "--timeout=0.3", "sh", "-c", TRAPS_TERM]);
    equal(live.code, 124, live.out);
    const end = JSON.parse(readText(log).trim().split("\n").at(-1)!);
    deepStrictEqual({ ...end, time: "", run: "" }, {
      type: "end",
      run: "",
      time: "",
      exit_code: 3,
      timed_out_after: "0.3s",
    });
    const replayed = await joined(CRONTY, ["--replay", log]);
    ended(replayed, 124, live.out, "", "cronty --replay");
    const plain = await run(DTEE, ["--replay", log]);
    ended(plain, 124, "started\nlast words\n", `to stderr\n${DTEE}: sh: timed out after 0.3s\n`);
    // Killed after the time-out: 137, live and replayed.
    const killedLog = `${dir}/killed`;
    const killed = await run(DTEE, [
      "-J",
      killedLog,
      "--timeout=0.2",
      "--kill-after=0.2",
      "sh",
      "-c",
      "trap '' TERM; sleep 30",
    ]);
    equal(killed.code, 137, killed.err);
    const killedEnd = JSON.parse(readText(killedLog).trim().split("\n").at(-1)!);
    equal(killedEnd.signal, 9);
    equal(killedEnd.timed_out_after, "0.2s");
    ended(await run(DTEE, ["--replay", killedLog]), 137, "", `${DTEE}: sh: timed out after 0.2s\n`);
  });
});

Deno.test("--init with a limit: the command times out, and signals still go to it", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const script = `trap 'echo usr1' USR1; echo ready; while :; do sleep 0.05; done`;
    const child = new Deno.Command(DTEE, {
      args: ["--init", "--timeout=2", "-c", log, "sh", "-c", script],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await waitUntil("the job to start", () => readText(log).includes("ready\n"));
    child.kill("SIGUSR1");
    await waitUntil("the job to get SIGUSR1", () => readText(log).includes("usr1\n"));
    const status = await child.output();
    equal(status.code, 124);
    equal(new TextDecoder().decode(status.stderr), `${DTEE}: sh: timed out after 2s\n`);
    equal(readText(log), "ready\nusr1\n");
  });
});

Deno.test("as PID 1 with a limit: the command times out", async () => {
  const probe = await run("unshare", ["--pid", "--fork", "--mount-proc", "true"]).catch(() => null);
  if (probe?.code !== 0) {
    console.log("skipped: no PID namespace here");
    return;
  }
  const r = await run("unshare", [
    "--pid",
    "--fork",
    "--mount-proc",
    CRONTY,
    "--timeout=0.3",
    "sh",
    "-c",
    "echo held; sleep 30",
  ]);
  ended(
    r,
    124,
    "held\n",
    `${CRONTY}: sh: timed out after 0.3s\n${CRONTY}: sh: process terminated by signal 15: Terminated\n`,
  );
});

// At a terminal. tests/pty_run.py runs an interactive bash in a new pseudo-terminal, which
// runs each command line as a job in the terminal's foreground, as a user's shell does.

interface PtyResult {
  output: string;
  failed: unknown;
  status: { code?: number; signal?: number };
}

/** The prompt the tests set: `%%> `, typed so that the echo of the command does not match it. */
const PROMPT = "%%> ";
const SET_PROMPT = `PS1='%%''> '\n`;

/** Runs `steps` (see tests/pty_run.py) in an interactive bash in a new terminal. */
function atTerminal(steps: [string, string | number][]): Promise<PtyResult> {
  const all: [string, string | number][] = [
    ["send", SET_PROMPT],
    ["expect", PROMPT],
    ...steps,
    ["send", "exit\n"],
  ];
  return inPty(all, ["bash", "--norc", "--noprofile", "-i"]);
}

/** Runs `command` in a new terminal, driven by `steps` (see tests/pty_run.py). */
async function inPty(steps: [string, string | number][], command: string[]): Promise<PtyResult> {
  const r = await run(
    "python3",
    [`${ROOT}/tests/pty_run.py`, JSON.stringify(steps), ...command],
    { env: { PATH: `${ROOT}/scripts:${Deno.env.get("PATH")}`, TERM: "dumb" }, timeoutMs: 60_000 },
  );
  equal(r.code, 0, r.err);
  const result = JSON.parse(r.out) as PtyResult;
  equal(result.failed, null, `step ${JSON.stringify(result.failed)}: ${result.output}`);
  return result;
}

/** What the terminal showed after `marker` (CRs dropped, bash's bracketed-paste codes too). */
function after(result: PtyResult, marker: string): string {
  const text = result.output.replace(/\r/g, "").replaceAll("\x1b[?2004h", "")
    .replaceAll("\x1b[?2004l", "");
  return text.slice(text.lastIndexOf(marker) + marker.length);
}

for (const limit of ["", "--timeout=30 "]) {
  const what = limit ? "with --timeout" : "without --timeout (the anchor)";

  Deno.test(`at a terminal ${what}: the command reads what is typed`, async () => {
    const r = await atTerminal([
      ["send", `dtee ${limit}sh -c 'echo ready; read x; echo "got $x"'\n`],
      ["expect", "ready"],
      ["send", "hello\n"],
      ["expect", "got hello"],
      ["expect", PROMPT],
      ["send", "echo status=$?\n"],
      ["expect", "status=0"],
    ]);
    ok(r.output.includes("got hello"));
  });

  Deno.test(`at a terminal ${what}: Ctrl-C ends the job, status 130`, async () => {
    await atTerminal([
      ["send", `dtee ${limit}sh -c 'echo ready; sleep 30'\n`],
      ["expect", "ready"],
      ["sleep", 0.3],
      ["send", "\u0003"],
      ["expect", PROMPT],
      ["send", "echo status=$?\n"],
      ["expect", "status=130"],
    ]);
  });

  Deno.test(`at a terminal ${what}: Ctrl-Z stops the job, fg continues it at the terminal`, async () => {
    await atTerminal([
      ["send", `dtee ${limit}sh -c 'echo ready; read x; echo "got $x"'\n`],
      ["expect", "ready"],
      ["sleep", 0.3],
      ["send", "\u001a"],
      ["expect", "Stopped"],
      ["expect", PROMPT],
      ["send", "fg\n"],
      ["sleep", 0.3],
      ["send", "hello\n"],
      ["expect", "got hello"],
      ["expect", PROMPT],
      ["send", "echo status=$?\n"],
      ["expect", "status=0"],
    ]);
  });

  Deno.test(`at a terminal ${what}: started in the background, a job that reads is stopped, fg lets it read`, async () => {
    await atTerminal([
      ["send", `dtee ${limit}sh -c 'echo ready; read x; echo "got $x"' &\n`],
      ["expect", "ready"],
      ["sleep", 0.5],
      ["expect", PROMPT],
      ["send", "jobs\n"],
      ["expect", "Stopped"],
      ["expect", PROMPT],
      ["send", "fg\n"],
      ["sleep", 0.5],
      ["send", "hi\n"],
      ["expect", "got hi"],
      ["expect", PROMPT],
      ["send", "echo status=$?\n"],
      ["expect", "status=0"],
    ]);
  });

  Deno.test(`at a terminal ${what}: kill %1 of a background dtee leaves nothing running`, async () => {
    await withTempDir(async (dir) => {
      await atTerminal([
        ["send", `dtee ${limit}sh -c 'echo $$ >${dir}/pid; exec sleep 33' >${dir}/out 2>&1 &\n`],
        ["expect", PROMPT],
        ["sleep", 1],
        ["send", "kill %1; wait; echo killed\n"],
        ["expect", "killed"],
      ]);
      await allGone([Number(readText(`${dir}/pid`))]);
    });
  });

  Deno.test(`at a terminal ${what}: cronty and Ctrl-C`, async () => {
    const r = await atTerminal([
      ["send", `cronty ${limit}sh -c 'echo held; sleep 30'\n`],
      ["sleep", 1],
      ["send", "\u0003"],
      ["expect", PROMPT],
      ["send", "echo status=$?\n"],
      ["expect", "status=130"],
    ]);
    // The one difference, in the man page: the command's group has the terminal, so the
    // interrupt reaches the command alone, and the report says how the command ended.
    const report = limit
      ? "cronty: sh: process terminated by signal 2: Interrupt"
      : "cronty: received signal 2: Interrupt";
    match(after(r, "sleep 30'\n"), new RegExp(`held\n${report}\n`));
  });
}

Deno.test("at a terminal: a job that times out gives the terminal back to the shell", async () => {
  await atTerminal([
    ["send", "dtee --timeout=0.5 sh -c 'echo ready; read x'\n"],
    ["expect", "timed out after 0.5s"],
    ["expect", PROMPT],
    ["send", 'echo status=$?; read y; echo "shell got $y"\n'],
    ["expect", "status=124"],
    ["send", "typed\n"],
    ["expect", "shell got typed"],
  ]);
});

Deno.test("at a terminal, in a script without job control: the script reads the terminal after a time-out", async () => {
  // sh -c runs dtee in its own process group, the terminal's foreground: dtee must give it back.
  const script =
    `dtee --timeout=0.5 sh -c 'echo ready; read x'; echo "status=$?"; read y; echo "script got $y"`;
  const r = await inPty([
    ["expect", "status=124"],
    ["send", "typed\n"],
    ["expect", "script got typed"],
  ], ["sh", "-c", script]);
  deepStrictEqual(r.status, { code: 0 });
});
