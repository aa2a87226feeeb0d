/**
 * Cron mode and cronty (docs/behaviour.md A4, and the signal rules of A5 in cron mode),
 * tested from outside: real launcher processes, real files in fresh temporary
 * directories, real signals. Every wait is bounded so that a hang fails.
 */
import { deepStrictEqual, equal, fail, match, ok } from "node:assert/strict";
import {
  Collector,
  CRONTY,
  DTEE,
  escapeRegExp,
  exists,
  readText,
  ROOT,
  tempName,
  tempPattern,
  waitUntil,
} from "./helpers.ts";

const CRONTY_TS = `${ROOT}/cronty.ts`;
const PINNED_DENO = `${ROOT}/.deno/bin/deno`;
const DENO = exists(PINNED_DENO) ? PINNED_DENO : Deno.execPath();

/** How long any single process or condition may take before the test fails. */
const LIMIT_MS = 20_000;

/** Races `promise` against a timer (always cleared); undefined on timeout. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Result {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
}

/** A running process with its stdout and stderr collected. */
class Proc {
  readonly child: Deno.ChildProcess;
  readonly out: Collector;
  readonly err: Collector;
  #status: Deno.CommandStatus | undefined;
  readonly #statusPromise: Promise<Deno.CommandStatus>;

  constructor(readonly command: string, readonly args: string[], options: RunOptions = {}) {
    this.child = new Deno.Command(command, {
      args,
      env: options.env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.out = new Collector(this.child.stdout);
    this.err = new Collector(this.child.stderr);
    this.#statusPromise = this.child.status.then((s) => (this.#status = s));
  }

  get pid(): number {
    return this.child.pid;
  }

  get running(): boolean {
    return this.#status === undefined;
  }

  kill(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  /** Waits (bounded) for the process to end and its output to be read. */
  async finish(ms = LIMIT_MS): Promise<Result> {
    const status = await within(this.#statusPromise, ms);
    if (!status) {
      const sofar = `stdout ${JSON.stringify(this.out.text)}, stderr ${
        JSON.stringify(this.err.text)
      }`;
      await this.abort();
      fail(`${this.command} ${this.args.join(" ")}: still running after ${ms} ms (${sofar})`);
    }
    const drained = await within(Promise.all([this.out.done, this.err.done]), ms);
    if (!drained) {
      await this.abort();
      fail(`${this.command}: its output was still open ${ms} ms after it ended`);
    }
    return {
      code: status.code,
      signal: status.signal,
      stdout: this.out.text,
      stderr: this.err.text,
    };
  }

  /** Kills the process if it still runs and releases every resource. */
  async abort(): Promise<void> {
    if (this.running) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await within(this.#statusPromise, LIMIT_MS);
    await this.out.cancel();
    await this.err.cancel();
  }
}

/**
 * One test's world: a fresh root directory with an empty TMPDIR inside, the
 * processes started and the pids of commands that may outlive dtee. All of
 * it is killed and removed afterwards.
 */
class Scope {
  readonly root: string;
  readonly tmp: string;
  readonly #procs: Proc[] = [];
  readonly #pids: number[] = [];

  constructor() {
    this.root = Deno.makeTempDirSync({ prefix: "cron_test." });
    this.tmp = `${this.root}/tmp`;
    Deno.mkdirSync(this.tmp);
  }

  path(name: string): string {
    return `${this.root}/${name}`;
  }

  /** Starts a process with TMPDIR set to this scope's (unless `env` says otherwise). */
  start(command: string, args: string[], options: RunOptions = {}): Proc {
    const proc = new Proc(command, args, {
      cwd: options.cwd ?? this.root,
      env: { TMPDIR: this.tmp, ...options.env },
    });
    this.#procs.push(proc);
    return proc;
  }

  run(command: string, args: string[], options: RunOptions = {}): Promise<Result> {
    return this.start(command, args, options).finish();
  }

  /**
   * Runs `argv` with its stdout and stderr both sent to one file (`2>&1`);
   * the shell execs argv[0], so argv[0] is what the program sees and its pid
   * is the started process's. Returns the result and the file's content.
   */
  async runCombined(argv: string[], options: RunOptions = {}): Promise<[Result, string]> {
    const file = this.path(`combined.${this.#procs.length}`);
    const result = await this.run(
      "sh",
      ["-c", 'f=$1; shift; exec "$@" >"$f" 2>&1', "sh", file, ...argv],
      options,
    );
    return [result, readText(file)];
  }

  /**
   * Runs `argv` (whose command is QUEUED_SCRIPT) so that all its messages
   * are queued before dtee reads any of them: dtee is stopped (SIGSTOP)
   * while the command writes, then continued, so that it receives them
   * together. With `combined`, dtee's stdout and stderr go to one file
   * (`2>&1`, the shell execs dtee so the started process is dtee). Returns
   * the result and that file's content.
   */
  async runQueued(argv: string[], combined: boolean): Promise<[Result, string]> {
    const dir = this.path(`queued.${this.#procs.length}`);
    Deno.mkdirSync(dir);
    const file = `${dir}/combined`;
    const proc = combined
      ? this.start("sh", ["-c", 'f=$1; shift; exec "$@" >"$f" 2>&1', "sh", file, ...argv], {
        cwd: dir,
      })
      : this.start(argv[0], argv.slice(1), { cwd: dir });
    const alive = () => {
      if (!proc.running) fail(`dtee ended early: ${JSON.stringify(proc.err.text)}`);
    };
    await waitUntil("the command to start", () => {
      alive();
      return exists(`${dir}/ready`);
    });
    proc.kill("SIGSTOP");
    try {
      Deno.writeTextFileSync(`${dir}/go`, "");
      await waitUntil("the command to write everything", () => {
        return exists(`${dir}/written`);
      });
    } finally {
      proc.kill("SIGCONT");
    }
    const result = await proc.finish();
    return [result, readText(file)];
  }

  /** Remembers a pid to kill at the end (a command that may survive dtee). */
  adopt(pid: number): void {
    this.#pids.push(pid);
  }

  /** The dtee* entries in this scope's TMPDIR. */
  leftovers(): string[] {
    return [...Deno.readDirSync(this.tmp)].map((e) => e.name).filter((n) => n.startsWith("dtee"));
  }

  async close(): Promise<void> {
    for (const pid of this.#pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    for (const proc of this.#procs) await proc.abort();
    Deno.removeSync(this.root, { recursive: true });
  }
}

/** Runs `fn` in a fresh Scope that is always cleaned up. */
function scoped(fn: (s: Scope, t: Deno.TestContext) => Promise<void>) {
  return async (t: Deno.TestContext) => {
    const scope = new Scope();
    try {
      await fn(scope, t);
    } finally {
      await scope.close();
    }
  };
}

/** A shell loop that waits (bounded, ~20 s) until the file `go` exists in its cwd. */
const WAIT_GO = 'i=0; while [ ! -e go ] && [ "$i" -lt 1000 ]; do sleep 0.02; i=$((i+1)); done';

// ---------------------------------------------------------------------------

Deno.test(
  "cron: 50 MB of stdout on success prints nothing, exits 0, -c gets it all, no temp file left",
  scoped(async (s) => {
    const CHUNK = 65536;
    const CHUNKS = 800; // 50 MiB = 52428800 bytes
    // Chunk i is a window of a 251-periodic pattern starting at i % 251, so
    // a lost, repeated or reordered chunk changes the file.
    const script = `
import os
base = bytes(j % 251 for j in range(${CHUNK} + 251))
for i in range(${CHUNKS}):
    k = i % 251
    chunk = base[k:k + ${CHUNK}]
    n = os.write(1, chunk)
    assert n == len(chunk), n
`;
    const log = s.path("out.log");
    const r = await s.run(CRONTY, ["-c", log, "python3", "-c", script]);
    deepStrictEqual({ code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr }, {
      code: 0,
      signal: null,
      stdout: "",
      stderr: "",
    });
    const data = Deno.readFileSync(log);
    equal(data.length, CHUNK * CHUNKS, "size of the -c file");
    const base = new Uint8Array(CHUNK + 251).map((_, j) => j % 251);
    for (let i = 0; i < CHUNKS; i++) {
      const k = i % 251;
      const at = i * CHUNK;
      for (let j = 0; j < CHUNK; j++) {
        if (data[at + j] !== base[k + j]) fail(`-c file differs at byte ${at + j} (chunk ${i})`);
      }
    }
    deepStrictEqual(s.leftovers(), [], "dtee* files left in TMPDIR");
  }),
);

/** Ten messages: at most that many datagrams queue without blocking the sender. */
const INTERLEAVED: [1 | 2, string][] = [
  [1, "out-1\n"],
  [1, "out-2\n"],
  [1, "out-3\n"],
  [2, "err-1\n"],
  [1, "out-4\n"],
  [2, "err-2\n"],
  [2, "err-3\n"],
  [1, "out-5\n"],
  [1, "out-6\n"],
  [2, "err-4\n"],
];
const ALL = INTERLEAVED.map(([, m]) => m).join("");
const ALL_STDOUT = INTERLEAVED.filter(([fd]) => fd === 1).map(([, m]) => m).join("");
const ALL_STDERR = INTERLEAVED.filter(([fd]) => fd === 2).map(([, m]) => m).join("");

/** Writes INTERLEAVED once `go` exists in its cwd (see Scope.runQueued), then exits 3. */
const QUEUED_SCRIPT = `
import os, time
open("ready", "w").close()
for _ in range(1000):
    if os.path.exists("go"):
        break
    time.sleep(0.02)
for fd, m in ${JSON.stringify(INTERLEAVED)}:
    os.write(fd, m.encode())
open("written", "w").close()
raise SystemExit(3)
`;

Deno.test(
  "cron: interleaved stdout/stderr then exit 3: original order, then the report",
  scoped(async (s) => {
    const report = `${CRONTY}: python3: exited with status 3\n`;

    const [combined, text] = await s.runQueued([CRONTY, "python3", "-c", QUEUED_SCRIPT], true);
    equal(combined.code, 3, "status with 2>&1");
    equal(text, ALL + report, "dtee's stdout and stderr on one file (2>&1)");

    const log = s.path("out.log");
    const [r] = await s.runQueued([CRONTY, "-c", log, "python3", "-c", QUEUED_SCRIPT], false);
    deepStrictEqual(r, { code: 3, signal: null, stdout: ALL_STDOUT, stderr: ALL_STDERR + report });
    equal(readText(log), ALL, "-c file");
    deepStrictEqual(s.leftovers(), []);
  }),
);

Deno.test(
  "cron: stdout only then exit 1: held output, then the report, status 1",
  scoped(async (s) => {
    const cmd = ["sh", "-c", "echo a; echo b; printf 'c'; exit 1"];
    const report = `${CRONTY}: sh: exited with status 1\n`;

    const [combined, text] = await s.runCombined([CRONTY, ...cmd]);
    equal(combined.code, 1);
    equal(text, "a\nb\nc" + report);

    const r = await s.run(CRONTY, cmd);
    deepStrictEqual(r, { code: 1, signal: null, stdout: "a\nb\nc", stderr: report });
    deepStrictEqual(s.leftovers(), []);
  }),
);

Deno.test(
  "cron: a zero-length stderr write triggers the replay and 'exited with status 0'",
  scoped(async (s) => {
    // Control: the same without the empty write stays silent.
    const quiet = await s.run(CRONTY, ["python3", "-c", 'import os; os.write(1, b"x\\n")']);
    deepStrictEqual(quiet, { code: 0, signal: null, stdout: "", stderr: "" });

    const r = await s.run(CRONTY, [
      "python3",
      "-c",
      'import os; os.write(1, b"x\\n"); os.write(2, b"")',
    ]);
    deepStrictEqual(r, {
      code: 0,
      signal: null,
      stdout: "x\n",
      stderr: `${CRONTY}: python3: exited with status 0\n`,
    });
    deepStrictEqual(s.leftovers(), []);
  }),
);

/**
 * Runs `sh -c 'echo hi; kill -SIG $$'` directly (no dtee) under `ulimit -c
 * limit` in `cwd`, and returns the raw wait status, to know whether this
 * system dumps a core for it.
 */
async function probeWaitStatus(s: Scope, limit: string, signal: string, cwd: string) {
  const probe = `
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status = os.waitpid(pid, 0)
print(status)
`;
  const r = await s.run("sh", [
    "-c",
    `ulimit -c ${limit} && exec "$@"`,
    "sh",
    "python3",
    "-c",
    probe,
    "sh",
    "-c",
    `echo hi; kill -${signal} $$`,
  ], { cwd });
  const lines = r.stdout.trim().split("\n");
  const status = Number(lines[lines.length - 1]);
  ok(Number.isInteger(status), `probe output: ${JSON.stringify(r.stdout)} ${r.stderr}`);
  return status;
}

for (
  const [signal, number, text, limit] of [
    ["TERM", 15, "Terminated", "0"],
    ["KILL", 9, "Killed", "0"],
    ["QUIT", 3, "Quit", "0"],
    ["QUIT", 3, "Quit", "unlimited"],
  ] as const
) {
  Deno.test(
    `cron: command killed by SIG${signal} (ulimit -c ${limit}): report and status ${128 + number}`,
    scoped(async (s, t) => {
      // Each run in its own directory: a core file lands in the cwd.
      const probeDir = s.path("probe");
      const runDir = s.path("run");
      Deno.mkdirSync(probeDir);
      Deno.mkdirSync(runDir);
      const status = await probeWaitStatus(s, limit, signal, probeDir);
      equal(status & 0x7f, number, `the probe's command should die by signal ${number}`);
      const cored = (status & 0x80) !== 0;
      const r = await s.run("sh", [
        "-c",
        `ulimit -c ${limit} && exec "$@"`,
        "sh",
        CRONTY,
        "sh",
        "-c",
        `echo hi; kill -${signal} $$`,
      ], { cwd: runDir });
      const suffix = cored ? " (core dumped)" : "";
      deepStrictEqual(r, {
        code: 128 + number,
        signal: null,
        stdout: "hi\n",
        stderr: `${CRONTY}: sh: process terminated by signal ${number}: ${text}${suffix}\n`,
      });
      deepStrictEqual(s.leftovers(), []);
      if (limit === "unlimited") {
        if (cored) {
          ok(r.stderr.endsWith(" (core dumped)\n"));
        } else {
          const pattern = readText("/proc/sys/kernel/core_pattern").trim();
          const reason =
            `this system dumped no core for SIGQUIT with ulimit -c unlimited (core_pattern ${
              JSON.stringify(pattern)
            }): the '(core dumped)' assertion is skipped`;
          console.log(`skip: ${reason}`);
          await t.step({ name: `'(core dumped)' suffix: ${reason}`, ignore: true, fn() {} });
        }
      }
    }),
  );
}

/** A command that prints, then sleeps as the same pid; the pid shows in the -c file. */
const HELD_THEN_SLEEP = 'echo held-1; echo held-2; echo "pid=$$"; exec sleep 30';

/** Waits until the -c file shows the command's pid, adopts it and returns it. */
async function commandPid(s: Scope, log: string, proc: Proc): Promise<number> {
  const pid = await waitUntil(`the command's pid in ${log}`, () => {
    if (!proc.running) {
      fail(`dtee ended early: ${JSON.stringify(proc.out.text)} ${JSON.stringify(proc.err.text)}`);
    }
    const m = readText(log).match(/^pid=(\d+)$/m);
    return m ? Number(m[1]) : undefined;
  });
  s.adopt(pid);
  return pid;
}

for (
  const [signal, number, text] of [
    ["SIGTERM", 15, "Terminated"],
    ["SIGHUP", 1, "Hangup"],
    ["SIGPIPE", 13, "Broken pipe"],
    ["SIGINT", 2, "Interrupt"],
  ] as const
) {
  Deno.test(
    `cron: ${signal} to dtee while the command runs: replay, 'received signal ${number}', dies by it`,
    scoped(async (s) => {
      // Separate streams.
      const log = s.path("out.log");
      const proc = s.start(CRONTY, ["-c", log, "sh", "-c", HELD_THEN_SLEEP]);
      const pid = await commandPid(s, log, proc);
      equal(proc.out.text, "", "nothing printed before the signal (output is held)");
      proc.kill(signal);
      const r = await proc.finish();
      const held = `held-1\nheld-2\npid=${pid}\n`;
      deepStrictEqual({ signal: r.signal, stdout: r.stdout, stderr: r.stderr }, {
        signal,
        stdout: held,
        stderr: `${CRONTY}: received signal ${number}: ${text}\n`,
      });
      deepStrictEqual(s.leftovers(), []);

      // One file for both (2>&1): the held output comes first. The shell execs
      // dtee, so the started process is dtee itself.
      const file = s.path("combined");
      const log2 = s.path("out2.log");
      const proc2 = s.start("sh", [
        "-c",
        'f=$1; shift; exec "$@" >"$f" 2>&1',
        "sh",
        file,
        CRONTY,
        "-c",
        log2,
        "sh",
        "-c",
        HELD_THEN_SLEEP,
      ]);
      const pid2 = await commandPid(s, log2, proc2);
      proc2.kill(signal);
      const r2 = await proc2.finish();
      equal(r2.signal, signal);
      equal(
        readText(file),
        `held-1\nheld-2\npid=${pid2}\n${CRONTY}: received signal ${number}: ${text}\n`,
      );
      deepStrictEqual(s.leftovers(), []);
    }),
  );
}

Deno.test(
  "cron: with -i, SIGINT to dtee is ignored: it keeps copying, then reports the command's end",
  scoped(async (s) => {
    const log = s.path("out.log");
    const proc = s.start(CRONTY, [
      "-i",
      "-c",
      log,
      "sh",
      "-c",
      `echo before; echo "pid=$$"; ${WAIT_GO}; echo after; exec sleep 30`,
    ]);
    const pid = await commandPid(s, log, proc);
    proc.kill("SIGINT");
    // dtee must still be reading: output written after the SIGINT reaches the file.
    Deno.writeTextFileSync(s.path("go"), "");
    await waitUntil("'after' in the -c file (dtee still copying after SIGINT)", () => {
      if (!proc.running) fail(`dtee ended after SIGINT: ${JSON.stringify(proc.err.text)}`);
      return readText(log).includes("after\n");
    });
    ok(proc.running, "dtee still runs after SIGINT with -i");
    Deno.kill(pid, "SIGTERM");
    const r = await proc.finish();
    deepStrictEqual(r, {
      code: 128 + 15,
      signal: null,
      stdout: `before\npid=${pid}\nafter\n`,
      stderr: `${CRONTY}: sh: process terminated by signal 15: Terminated\n`,
    });
    deepStrictEqual(s.leftovers(), []);
  }),
);

Deno.test(
  "cron: unusable TMPDIR: the C tool's two errors (buffer file, then socket directory), then the command exec'd in place, unbuffered, no report, its status",
  scoped(async (s) => {
    const tmpdir = s.path("nonexistent/dir");
    const env = { TMPDIR: tmpdir };
    const errorLine = (pid: number) =>
      `${CRONTY}: unable to create temporary file ${
        tempName("O", tmpdir, pid)
      }: No such file or directory\n` +
      `${CRONTY}: unable to create temporary directory ${
        tempName("I", tmpdir, pid)
      }: No such file or directory\n`;
    const pattern = new RegExp(
      `^${escapeRegExp(CRONTY)}: unable to create temporary file ${
        tempPattern("O", tmpdir, undefined, "XXXXXX")
      }: No such file or directory\n` +
        `${escapeRegExp(CRONTY)}: unable to create temporary directory ${
          tempPattern("I", tmpdir, undefined, "XXXXXX")
        }: No such file or directory\n`,
    );

    // Live: the first line reaches dtee's stdout while the command still waits.
    const proc = s.start(CRONTY, [
      "sh",
      "-c",
      `echo "pid=$$"; echo out-1; ${WAIT_GO}; echo err-1 >&2; echo out-2; exit 5`,
    ], { env });
    await waitUntil("out-1 on stdout before the command ends (unbuffered)", () => {
      if (!proc.running) fail("the command ended before it was allowed to");
      return proc.out.text.includes("out-1\n");
    });
    Deno.writeTextFileSync(s.path("go"), "");
    const r = await proc.finish();
    match(r.stderr, pattern);
    equal(parseInt(r.stderr.match(pattern)![1], 16), proc.pid, "the pid in the pattern is dtee's");
    deepStrictEqual(r, {
      code: 5,
      signal: null,
      // The command has dtee's pid: it replaced dtee (exec in place).
      stdout: `pid=${proc.pid}\nout-1\nout-2\n`,
      stderr: `${errorLine(proc.pid)}err-1\n`,
    });

    // 2>&1: the error first, then the command's output in its own order.
    const [combined, text] = await s.runCombined([
      CRONTY,
      "sh",
      "-c",
      "echo out-1; echo err-1 >&2; echo out-2; exit 5",
    ], { env });
    equal(combined.code, 5);
    match(text, pattern);
    equal(text.replace(pattern, ""), "out-1\nerr-1\nout-2\n");
  }),
);

Deno.test(
  "cron: an output file that cannot be opened: error, command runs unbuffered, report, exit 73",
  scoped(async (s) => {
    const bad = s.path("nonexistent/x");
    const good = s.path("good.log");
    const error = `${CRONTY}: ${bad}: No such file or directory\n`;
    const report = `${CRONTY}: sh: exited with status 0\n`;

    const proc = s.start(CRONTY, [
      "-c",
      bad,
      "-c",
      good,
      "sh",
      "-c",
      `echo out-1; ${WAIT_GO}; echo err-1 >&2; echo out-2`,
    ]);
    await waitUntil("out-1 on stdout before the command ends (unbuffered)", () => {
      if (!proc.running) fail(`dtee ended early: ${JSON.stringify(proc.err.text)}`);
      return proc.out.text.includes("out-1\n");
    });
    Deno.writeTextFileSync(s.path("go"), "");
    const r = await proc.finish();
    deepStrictEqual(r, {
      code: 73,
      signal: null,
      stdout: "out-1\nout-2\n",
      stderr: `${error}err-1\n${report}`,
    });
    equal(readText(good), "out-1\nerr-1\nout-2\n", "the other output file gets everything");

    // 2>&1: the error, then every message in the command's order, then the report.
    const [combined, text] = await s.runQueued(
      [CRONTY, "-c", bad, "python3", "-c", QUEUED_SCRIPT],
      true,
    );
    equal(combined.code, 73);
    equal(text, `${error}${ALL}${CRONTY}: python3: exited with status 3\n`);
    deepStrictEqual(s.leftovers(), []);
  }),
);

Deno.test(
  "cron: cronty via scripts/cronty, a symlink of its own and `deno run cronty.ts` behave alike",
  scoped(async (s) => {
    const cmd = ["sh", "-c", "echo out-1; echo err-1 >&2; echo out-2; exit 4"];
    Deno.mkdirSync(s.path("bin"));
    const link = s.path("bin/cronty");
    Deno.symlinkSync(DTEE, link);

    const expected = (name: string): Result => ({
      code: 4,
      signal: null,
      stdout: "out-1\nout-2\n",
      stderr: `err-1\n${name}: sh: exited with status 4\n`,
    });
    deepStrictEqual(await s.run(CRONTY, cmd), expected(CRONTY), "scripts/cronty");
    deepStrictEqual(await s.run(link, cmd), expected(link), "own symlink named cronty");
    const viaDeno = await s.run(DENO, ["run", "--allow-ffi", "--allow-env", CRONTY_TS, ...cmd]);
    deepStrictEqual(viaDeno, expected("cronty"), "deno run cronty.ts");
    // The same under dtee's name without -q is not cron mode (control).
    const plain = await s.run(DTEE, cmd);
    deepStrictEqual(plain, { code: 4, signal: null, stdout: "out-1\nout-2\n", stderr: "err-1\n" });
    deepStrictEqual(s.leftovers(), []);
  }),
);

Deno.test(
  "cron: output files get everything live while dtee prints nothing; buffer is an unlinked file in TMPDIR",
  scoped(async (s) => {
    const combined = s.path("c.log");
    const out = s.path("o.log");
    const proc = s.start(CRONTY, [
      "-c",
      combined,
      "-o",
      out,
      "sh",
      "-c",
      `echo line-1; ${WAIT_GO}; echo line-2; printf line-3`,
    ]);
    await waitUntil("line-1 in the -c file while the command runs", () => {
      if (!proc.running) fail(`dtee ended early: ${JSON.stringify(proc.err.text)}`);
      return readText(combined) === "line-1\n";
    });
    equal(readText(out), "line-1\n", "-o file live");
    equal(proc.out.text, "", "dtee's stdout holds back");
    // The held output lives in an unlinked file named dtee<pid>O<6 random> in TMPDIR.
    const buffer = new RegExp(`^${tempPattern("O", s.tmp, proc.pid)} \\(deleted\\)$`);
    const targets: string[] = [];
    for (const entry of Deno.readDirSync(`/proc/${proc.pid}/fd`)) {
      try {
        targets.push(Deno.readLinkSync(`/proc/${proc.pid}/fd/${entry.name}`));
      } catch { /* closed meanwhile */ }
    }
    ok(targets.some((t) => buffer.test(t)), `no unlinked buffer file among ${targets.join(", ")}`);
    deepStrictEqual(s.leftovers(), [], "the buffer file is unlinked at once");

    Deno.writeTextFileSync(s.path("go"), "");
    const r = await proc.finish();
    deepStrictEqual(r, { code: 0, signal: null, stdout: "", stderr: "" });
    equal(readText(combined), "line-1\nline-2\nline-3");
    equal(readText(out), "line-1\nline-2\nline-3");
    deepStrictEqual(s.leftovers(), []);
  }),
);

Deno.test(
  "cron: help as cronty hides -q; as dtee it shows it",
  scoped(async (s) => {
    const r = await s.run(CRONTY, ["-h"]);
    equal(r.code, 0);
    equal(r.stderr, "");
    ok(r.stdout.startsWith(`Usage: ${CRONTY} [OPTION]... COMMAND [ARG]...\n`), r.stdout);
    ok(r.stdout.includes("printing nothing unless"), "the cron-mode description");
    ok(r.stdout.includes("-i [ --ignore-interrupts ]"), "other options still listed");
    ok(!/(^|\s)-q\b/.test(r.stdout), "-q listed in cronty's help");
    ok(!r.stdout.includes("--cron"), "--cron listed in cronty's help");

    const d = await s.run(DTEE, ["-h"]);
    equal(d.code, 0);
    ok(d.stdout.includes("-q [ --cron ]"), "dtee's help lists -q");
  }),
);
