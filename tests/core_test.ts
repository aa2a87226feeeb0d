/**
 * End-to-end tests of dtee's core (docs/behaviour.md A1 to A7, B1): the real
 * launcher, real commands, real files and real signals.
 */

import { deepStrictEqual, equal, fail, match, ok } from "node:assert/strict";
import {
  Collector,
  CRONTY,
  DTEE,
  dtee,
  ended,
  entries,
  ERRNO,
  exists,
  exited,
  nonBlocking,
  readText,
  run,
  type RunResult,
  sh,
  sleep,
  tempName,
  unprivileged,
  waitUntil,
  withTempDir,
} from "./helpers.ts";

const read = (path: string) => Deno.readTextFileSync(path);

// --- Commands run under dtee -------------------------------------------------

/** A command that records that it ran ($RAN), writes to both streams and exits 3. */
const BOTH = 'touch "$RAN"; echo out; echo err >&2; exit 3';

/** argv[1] times: one write of `a` to stdout, then one of `b` to stderr. */
const ALTERNATE = `
import os, sys
for _ in range(int(sys.argv[1])):
    assert os.write(1, b"a") == 1
    assert os.write(2, b"b") == 1
`;

/** argv[1] numbered messages, even ones `O%06d\\n` on stdout, odd `E%06d\\n` on stderr. */
const NUMBERED = `
import os, sys
for i in range(int(sys.argv[1])):
    if i % 2 == 0:
        os.write(1, b"O%06d\\n" % i)
    else:
        os.write(2, b"E%06d\\n" % i)
`;

/** The messages NUMBERED writes: [all in order, stdout's, stderr's]. */
function numbered(n: number): [string, string, string] {
  const all: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  for (let i = 0; i < n; i++) {
    const stdout = i % 2 === 0;
    const message = `${stdout ? "O" : "E"}${String(i).padStart(6, "0")}\n`;
    all.push(message);
    (stdout ? out : err).push(message);
  }
  return [all.join(""), out.join(""), err.join("")];
}

/** One 1 MiB write to stdout, then one to stderr (the largest buffer size in the error). */
const BIG_WRITES = `
import errno, os, socket, sys
block = bytes(range(256)) * 4096
for fd, data in ((1, block), (2, bytes(reversed(block)))):
    try:
        written = os.write(fd, data)
    except OSError as e:
        s = socket.socket(fileno=fd)
        size = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        s.detach()
        sys.exit("write to fd %d: %s; SO_SNDBUF is %d" % (fd, os.strerror(e.errno), size))
    assert written == len(data), written
`;

/**
 * One write of argv[1] bytes to stdout, then one byte more, which must fail
 * with EMSGSIZE (reported on stderr); then `after` and exit 7.
 */
const LARGEST_WRITE = `
import errno, os, sys
n = int(sys.argv[1])
assert os.write(1, b"z" * n) == n
try:
    os.write(1, b"z" * (n + 1))
except OSError as e:
    os.write(2, errno.errorcode[e.errno].encode() + b"\\n")
else:
    sys.exit("a write of %d bytes got through" % (n + 1))
os.write(1, b"after\\n")
sys.exit(7)
`;

/**
 * Lists the process's own descriptors as `FD TARGET` lines, then for each
 * socket its type from /proc/net/unix (`FD type=0002` is a datagram).
 */
const LIST_FDS = `
import os
me = os.getpid()
fds = sorted(int(name) for name in os.listdir("/proc/self/fd"))
sockets = {}
for fd in fds:
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        continue  # the descriptor listdir used, closed again
    if target == "/proc/%d/fd" % me:
        continue
    print(fd, target)
    if target.startswith("socket:["):
        sockets[target[8:-1]] = fd
with open("/proc/net/unix") as f:
    next(f)
    for line in f:
        fields = line.split()
        if fields[6] in sockets:
            print(sockets[fields[6]], "type=" + fields[4])
`;

/**
 * Starts a command in a controlled state, then execs it:
 * `python3 -c LAUNCH [close-fds] [fd3=FILE] [clean-signals] [ignore=N,..]
 * [block=N,..] [nonblock=FD] -- COMMAND...`. clean-signals sets every
 * disposition, glibc's internal signals 32/33 included, to the default.
 */
const LAUNCH = `
import ctypes, fcntl, os, platform, signal, sys
args = sys.argv[1:]
opts = {}
while args[0] != "--":
    key, _, value = args.pop(0).partition("=")
    opts[key] = value
args.pop(0)
if "close-fds" in opts:
    os.closerange(3, 65536)
if "fd3" in opts:
    fd = os.open(opts["fd3"], os.O_RDONLY)
    if fd != 3:
        os.dup2(fd, 3)
        os.close(fd)
    os.set_inheritable(3, True)
if "clean-signals" in opts:
    # glibc refuses 32 and 33 in sigaction(): use the system call directly.
    libc = ctypes.CDLL(None, use_errno=True)
    rt_sigaction = {"x86_64": 13, "aarch64": 134}[platform.machine()]
    default = ctypes.create_string_buffer(64)
    for sig in range(1, 65):
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            if libc.syscall(rt_sigaction, sig, default, None, 8) != 0:
                sys.exit("rt_sigaction(%d) failed" % sig)
for sig in filter(None, opts.get("ignore", "").split(",")):
    signal.signal(int(sig), signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_SETMASK,
    [int(sig) for sig in filter(None, opts.get("block", "").split(","))])
if "nonblock" in opts:
    fd = int(opts["nonblock"])
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
os.execvp(args[0], args)
`;

function launch(settings: string[], command: string[]): string[] {
  return ["-c", LAUNCH, ...settings, "--", ...command];
}

// --- Assertions ---------------------------------------------------------------

/** dtee's output options for files in `dir`: "-c a -o b" gives "-c", `${dir}/a`, "-o", `${dir}/b`. */
function files(dir: string, options: string): string[] {
  const words = options.split(" ");
  return words.map((word, i) => i % 2 ? `${dir}/${word}` : word);
}

/** Equality of long texts, reporting where they first differ. */
function sameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  fail(
    `${what}: differs at offset ${i} (length ${actual.length}, expected ${expected.length}): ` +
      `got ${JSON.stringify(actual.slice(i, i + 40))}, ` +
      `expected ${JSON.stringify(expected.slice(i, i + 40))}`,
  );
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  if (i === actual.length && i === expected.length) return;
  fail(
    `${what}: differs at offset ${i} (length ${actual.length}, expected ${expected.length})`,
  );
}

function quiet(r: RunResult): void {
  equal(r.err, "", "dtee's stderr");
}

// --- A1: order, every output ----------------------------------------------------

Deno.test("1000 alternating 1-byte writes arrive in order in every output", async () => {
  await withTempDir(async (dir) => {
    const f = (name: string) => `${dir}/${name}`;
    const r = await dtee([
      ...files(dir, "-c c1 -c c2 -C c3 -o o1 -o o2 -O o3 -e e1 -e e2 -E e3"),
      "python3",
      "-c",
      ALTERNATE,
      "1000",
    ]);
    exited(r, 0);
    const combined = "ab".repeat(1000);
    const a = "a".repeat(1000);
    const b = "b".repeat(1000);
    sameText(r.out, a, "dtee's stdout");
    sameText(r.err, b, "dtee's stderr");
    for (const name of ["c1", "c2", "c3"]) sameText(read(f(name)), combined, name);
    for (const name of ["o1", "o2", "o3"]) sameText(read(f(name)), a, name);
    for (const name of ["e1", "e2", "e3"]) sameText(read(f(name)), b, name);
  });
});

Deno.test("dtee's own stdout and stderr on one file or pipe keep the order of the writes", async () => {
  await withTempDir(async (dir) => {
    // As on a terminal, or in a cron job's mail: one file behind both.
    const command = [DTEE, "python3", "-c", ALTERNATE, "10000"];
    const toFile = await sh(`"$@" >"${dir}/file" 2>&1`, command);
    exited(toFile, 0, "sh");
    sameText(read(`${dir}/file`), "ab".repeat(10000), "stdout and stderr on one file");
    const toPipe = await sh(`"$@" 2>&1 | cat >"${dir}/pipe"`, command);
    exited(toPipe, 0, "sh");
    sameText(read(`${dir}/pipe`), "ab".repeat(10000), "stdout and stderr on one pipe");
  });
});

Deno.test("200000 numbered writes alternating streams: all present, in order, everywhere", async () => {
  await withTempDir(async (dir) => {
    const n = 200_000;
    const r = await dtee([
      ...files(dir, "-c c -o o -e e"),
      "python3",
      "-c",
      NUMBERED,
      String(n),
    ], { timeoutMs: 50_000 });
    exited(r, 0);
    const [all, out, err] = numbered(n);
    sameText(read(`${dir}/c`), all, "-c file");
    sameText(read(`${dir}/o`), out, "-o file");
    sameText(read(`${dir}/e`), err, "-e file");
    sameText(r.out, out, "dtee's stdout");
    sameText(r.err, err, "dtee's stderr");
  });
});

/** What `dtee --debug-limits` reports, as numbers. */
async function debugLimits(): Promise<Record<string, number>> {
  const r = await dtee(["--debug-limits"]);
  exited(r, 0, "dtee --debug-limits");
  quiet(r);
  match(r.out, /^send-buffer=\d+\nreceive-buffer=\d+\nmax-write=\d+\n$/);
  return Object.fromEntries(
    r.out.trimEnd().split("\n").map((line) => {
      const [key, value] = line.split("=");
      return [key, Number(value)];
    }),
  );
}

const maxWrite = (await debugLimits())["max-write"];
if (!(maxWrite >= 1 << 20)) {
  console.log(`core_test: the largest single write here is ${maxWrite} bytes: 1 MiB test skipped`);
}

Deno.test({
  name: "a single 1 MiB write reaches every output intact (B1)",
  ignore: !(maxWrite >= 1 << 20),
}, async () => {
  await withTempDir(async (dir) => {
    const r = await dtee([...files(dir, "-C c -O o -E e"), "python3", "-c", BIG_WRITES]);
    exited(r, 0);
    const block = new Uint8Array(1 << 20).map((_, i) => i % 256);
    const reversed = block.slice().reverse();
    const both = new Uint8Array(2 << 20);
    both.set(block);
    both.set(reversed, 1 << 20);
    sameBytes(r.stdout, block, "dtee's stdout");
    sameBytes(r.stderr, reversed, "dtee's stderr");
    sameBytes(Deno.readFileSync(`${dir}/o`), block, "-O file");
    sameBytes(Deno.readFileSync(`${dir}/e`), reversed, "-E file");
    sameBytes(Deno.readFileSync(`${dir}/c`), both, "-C file");
  });
});

Deno.test("--debug-limits: the largest write it reports gets through, one byte more is EMSGSIZE", async () => {
  const limits = await debugLimits();
  const max = limits["max-write"];
  ok(Number.isInteger(max) && max >= 4096, JSON.stringify(limits));
  // B1: the buffers are raised as far as the system permits (the shim stops
  // at 4 MiB, beyond which the kernel answers ENOBUFS instead).
  const wmemMax = Number(read("/proc/sys/net/core/wmem_max"));
  ok(
    max + 32 >= Math.min(4 << 20, 2 * wmemMax),
    `max-write ${max} with net.core.wmem_max ${wmemMax}`,
  );
  await withTempDir(async (dir) => {
    const r = await dtee(["-C", `${dir}/c`, "python3", "-c", LARGEST_WRITE, String(max)]);
    // The command carries on after its failed write, and nothing of that write arrives.
    exited(r, 7);
    equal(r.err, "EMSGSIZE\n");
    equal(r.stdout.length, max + "after\n".length);
    ok(r.stdout.subarray(0, max).every((byte) => byte === 0x7a), "stdout intact");
    equal(r.out.slice(max), "after\n");
    equal(Deno.statSync(`${dir}/c`).size, max + "EMSGSIZE\n".length + "after\n".length);
  });
});

// --- A3: output files ------------------------------------------------------------

Deno.test("-o/-e/-c append to existing files, -O/-E/-C replace them, missing ones are created", async () => {
  await withTempDir(async (dir) => {
    const f = (name: string) => `${dir}/${name}`;
    for (const name of ["o", "O", "e", "E", "c", "C"]) Deno.writeTextFileSync(f(name), "old\n");
    const r = await dtee([
      ...files(dir, "-o o -O O -e e -E E -c c -C C -o new-o -E new-E -C new-C"),
      "sh",
      "-c",
      "echo out1; echo err1 >&2; echo out2",
    ]);
    exited(r, 0);
    equal(r.out, "out1\nout2\n");
    equal(r.err, "err1\n");
    deepStrictEqual(
      Object.fromEntries(
        ["o", "O", "e", "E", "c", "C", "new-o", "new-E", "new-C"].map((n) => [n, read(f(n))]),
      ),
      {
        o: "old\nout1\nout2\n",
        O: "out1\nout2\n",
        e: "old\nerr1\n",
        E: "err1\n",
        c: "old\nout1\nerr1\nout2\n",
        C: "out1\nerr1\nout2\n",
        "new-o": "out1\nout2\n",
        "new-E": "err1\n",
        "new-C": "out1\nerr1\nout2\n",
      },
    );
  });
});

Deno.test("the same file given twice in append mode gets everything twice (O_APPEND)", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/twice`;
    Deno.writeTextFileSync(file, "old\n");
    const r = await dtee(["-c", file, "-c", file, "python3", "-c", NUMBERED, "100"]);
    exited(r, 0);
    const [all] = numbered(100);
    const content = read(file);
    ok(content.startsWith("old\n"), "existing content kept");
    deepStrictEqual(
      content.slice(4).split("\n").sort(),
      [...all.split("\n"), ...all.split("\n")].filter((line) => line !== "").concat("").sort(),
      "every message twice, nothing overwritten",
    );
  });
});

Deno.test("output files are created with mode 0666 less the umask", async () => {
  await withTempDir(async (dir) => {
    const r = await sh(`umask 027; exec "$@"`, [
      DTEE,
      ...files(dir, "-o o -E E -c c"),
      "true",
    ]);
    exited(r, 0);
    for (const name of ["o", "E", "c"]) {
      equal((Deno.statSync(`${dir}/${name}`).mode! & 0o7777).toString(8), "640", name);
    }
  });
});

/** Writes line1..line$N, each only after the previous one reached $C: one write each. */
const LINES = 'i=1; while [ $i -le "$N" ]; do echo line$i; ' +
  'until grep -qx line$i "$C"; do sleep 0.005; done; i=$((i+1)); done';

Deno.test("a failed write to a file is reported once, the rest still get everything, exit 74", async () => {
  await withTempDir(async (dir) => {
    const r = await dtee([
      "-o",
      "/dev/full",
      "-c",
      `${dir}/c`,
      "sh",
      "-c",
      'python3 -c "$0" 50; exit 3',
      NUMBERED,
    ]);
    const [all, out, err] = numbered(50);
    equal(r.code, 74, "status");
    equal(r.out, out);
    // The report comes once, wherever the first failure falls among the messages.
    const report = `${DTEE}: /dev/full: No space left on device\n`;
    equal(r.err.split(report).length, 2, `one report in ${JSON.stringify(r.err)}`);
    equal(r.err.replace(report, ""), err);
    equal(read(`${dir}/c`), all);

    // One write at a time: still one report. Cron mode: still 74 and one
    // report; the clean run's output stays held.
    const n = 20;
    const lines = Array.from({ length: n }, (_, i) => `line${i + 1}\n`).join("");
    const env = { C: `${dir}/lines`, N: String(n) };
    const one = await run(DTEE, ["-o", "/dev/full", "-c", env.C, "sh", "-c", LINES], { env });
    ended(one, 74, lines, `${DTEE}: /dev/full: ${ERRNO.ENOSPC[1]}\n`);
    equal(readText(env.C), lines);
    const q = await run(CRONTY, ["-o", "/dev/full", "-C", env.C, "sh", "-c", LINES], { env });
    ended(q, 74, "", `${CRONTY}: /dev/full: ${ERRNO.ENOSPC[1]}\n`);
    equal(readText(env.C), lines);
  });
});

Deno.test("a stdout-only file that keeps failing is reported once, even across stderr-only messages", async () => {
  // The pauses put the stderr message on its own between two stdout ones:
  // nothing was written to the -o file then, so nothing succeeded there.
  const script = "echo out1; sleep 0.1; echo err >&2; sleep 0.1; echo out2";
  const r = await dtee(["-o", "/dev/full", "sh", "-c", script]);
  equal(r.code, 74, "status");
  equal(r.out, "out1\nout2\n");
  const report = `${DTEE}: /dev/full: No space left on device\n`;
  equal(r.err.split(report).length, 2, `one report in ${JSON.stringify(r.err)}`);
  equal(r.err.replace(report, ""), "err\n");
});

/** dtee started with `args` (stdin from /dev/null), its stdout and stderr being collected. */
function started(args: string[], env?: Record<string, string>) {
  const child = new Deno.Command(DTEE, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stdout: new Collector(child.stdout), stderr: new Collector(child.stderr) };
}

/**
 * Whatever a FIFO test left running, ended: its command let go on (`TMP/go`),
 * dtee killed if still there, then dtee, `reader` and the collectors waited for.
 */
async function release(
  tmp: string,
  child: Deno.ChildProcess,
  collectors: Collector[],
  reader?: Deno.ChildProcess,
): Promise<void> {
  Deno.writeTextFileSync(`${tmp}/go`, "");
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await child.status;
  await reader?.status;
  await Promise.allSettled(collectors.map((c) => c.done));
}

for (const cron of [false, true]) {
  Deno.test(`a FIFO output whose reader goes away is SIGPIPE at that message${cron ? " (cron mode)" : ""}`, async () => {
    await withTempDir(async (tmp) => {
      const fifo = `${tmp}/fifo`;
      const out = `${tmp}/out`;
      equal((await run("mkfifo", [fifo])).code, 0);
      const reader = new Deno.Command("sh", {
        args: ["-c", 'exec cat <"$1" >"$2"', "sh", fifo, `${tmp}/r1`],
        stdin: "null",
      }).spawn();
      // -c comes after -o in delivery order: `out` gets the message that broke the pipe.
      const script = 'echo one; until [ -e "$T/go" ]; do sleep 0.01; done; echo two; echo three';
      const { child, stdout, stderr } = started(
        [...(cron ? ["-q"] : []), "-c", fifo, "-o", out, "sh", "-c", script],
        { T: tmp },
      );
      try {
        await waitUntil("the reader to get `one`", () => readText(`${tmp}/r1`) === "one\n");
        reader.kill("SIGKILL");
        await reader.status;
        Deno.writeTextFileSync(`${tmp}/go`, "");
        const status = await child.status;
        await Promise.all([stdout.done, stderr.done]);
        const err = cron
          ? `${DTEE}: ${fifo}: ${ERRNO.EPIPE[1]}\n${DTEE}: received signal 13: Broken pipe\n`
          : "";
        deepStrictEqual(
          { code: status.code, signal: status.signal, out: stdout.text, err: stderr.text },
          { code: 141, signal: "SIGPIPE", out: "one\ntwo\n", err },
        );
        equal(readText(out), "one\ntwo\n");
        equal(readText(`${tmp}/r1`), "one\n");
      } finally {
        await release(tmp, child, [stdout, stderr]);
      }
    });
  });
}

/**
 * A command that writes 64 KiB (filling a FIFO's buffer exactly) and then
 * `marker`, each in one write; it exits 0.
 */
const FILL_THEN_MARKER = `
import os
assert os.write(1, b"x" * 65535 + b"\\n") == 65536
assert os.write(1, b"marker\\n") == 7
`;

for (const ignoreInterrupts of [false, true]) {
  Deno.test(`a FIFO output that blocks holds back no output before it${ignoreInterrupts ? "; -i and SIGINT, SIGSTOP, SIGCONT meanwhile change nothing" : ""}`, async () => {
    await withTempDir(async (tmp) => {
      const fifo = `${tmp}/fifo`;
      const file = `${tmp}/file`;
      equal((await run("mkfifo", [fifo])).code, 0);
      // The reader opens the FIFO at once but reads only after `go`.
      const reader = new Deno.Command("sh", {
        args: [
          "-c",
          'exec 3<"$1"; until [ -e "$2/go" ]; do sleep 0.01; done; exec cat <&3 >"$2/r1"',
          "sh",
          fifo,
          tmp,
        ],
        stdin: "null",
      }).spawn();
      // The FIFO comes after the file in delivery order (-o FILE, then -c FIFO).
      const flags = ignoreInterrupts ? ["-i"] : [];
      const { child, stdout, stderr } = started([
        ...flags,
        "-o",
        file,
        "-c",
        fifo,
        "python3",
        "-c",
        FILL_THEN_MARKER,
      ]);
      const all = "x".repeat(65535) + "\nmarker\n";
      try {
        // The FIFO's buffer is full: dtee blocks writing `marker` to it, and
        // dtee's stdout and the earlier file already have it.
        await waitUntil(
          "dtee's stdout and the file to get `marker`",
          () => stdout.text === all && readText(file) === all,
        );
        if (ignoreInterrupts) {
          for (const signal of ["SIGINT", "SIGSTOP", "SIGCONT"] as const) {
            Deno.kill(child.pid, signal);
            await sleep(100);
          }
        }
        await sleep(100);
        ok(!exists(`${tmp}/r1`), "the reader has not read yet");
        Deno.writeTextFileSync(`${tmp}/go`, "");
        const status = await child.status;
        await Promise.all([stdout.done, stderr.done, reader.status]);
        deepStrictEqual(
          { code: status.code, signal: status.signal, out: stdout.text, err: stderr.text },
          { code: 0, signal: null, out: all, err: "" },
        );
        equal(readText(file), all);
        equal(readText(`${tmp}/r1`), all);
      } finally {
        await release(tmp, child, [stdout, stderr], reader);
      }
    });
  });
}

// --- A5: exit status ---------------------------------------------------------------

Deno.test("the command's exit code is passed through", async () => {
  for (const code of [0, 1, 42, 255]) {
    const r = await dtee(["sh", "-c", `exit ${code}`]);
    exited(r, code, `exit ${code}`);
  }
});

Deno.test("a command killed by a signal gives 128+N (SIGTERM 143, SIGKILL 137)", async () => {
  for (const [signal, code] of [["TERM", 143], ["KILL", 137]] as const) {
    const r = await dtee(["sh", "-c", `echo before; kill -${signal} $$`]);
    exited(r, code, `SIG${signal}`);
    equal(r.out, "before\n");
  }
});

Deno.test("a command killed by SIGINT makes dtee die by SIGINT, after its output", async () => {
  await withTempDir(async (dir) => {
    const r = await dtee(["-c", `${dir}/c`, "sh", "-c", "echo before; kill -INT $$"]);
    equal(r.signal, "SIGINT", `dtee's end (code ${r.code}, stderr ${JSON.stringify(r.err)})`);
    equal(r.out, "before\n");
    quiet(r);
    equal(read(`${dir}/c`), "before\n");
  });
});

Deno.test("outside cron mode dtee dies by SIGHUP, SIGTERM, SIGINT and SIGPIPE sent to it", async () => {
  for (const signal of ["HUP", "TERM", "INT", "PIPE"]) {
    // The command's parent is dtee itself (the launcher execs Deno).
    const r = await dtee(["sh", "-c", `kill -${signal} $PPID; exec sleep 5`]);
    equal(
      r.signal,
      `SIG${signal}`,
      `SIG${signal}: code ${r.code}, stderr ${JSON.stringify(r.err)}`,
    );
    quiet(r);
  }
});

Deno.test("-i: dtee ignores SIGINT, the command does not", async () => {
  const script = "kill -INT $PPID; echo still here; grep ^SigIgn: /proc/self/status";
  const r = await dtee(["-i", "sh", "-c", script]);
  exited(r, 0);
  const [first, sigIgn] = r.out.split("\n");
  equal(first, "still here");
  match(sigIgn, /^SigIgn:\s+[0-9a-f]+$/);
  equal(BigInt("0x" + sigIgn.split(/\s+/)[1]) & 2n, 0n, `SIGINT ignored in the command: ${sigIgn}`);
});

Deno.test("a command that is not executable or not found: 66", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/script`;
    Deno.writeTextFileSync(script, "#!/bin/sh\necho never\n", { mode: 0o644 });
    const cases: [string, keyof typeof ERRNO][] = [
      [script, "EACCES"],
      [dir, "EACCES"],
      [`${dir}/missing`, "ENOENT"],
      ["dtee-no-such-command", "ENOENT"],
    ];
    await Promise.all(cases.flatMap(([command, errno]) =>
      [DTEE, CRONTY].map(async (launcher) => {
        const r = await run(launcher, ["-c", `${dir}/c`, command, "arg"]);
        const report = launcher === CRONTY
          ? `${launcher}: ${command}: exited with status 66\n`
          : "";
        ended(r, 66, "", `${launcher}: ${command}: ${ERRNO[errno][1]}\n${report}`, command);
      })
    ));
  });
});

Deno.test("an output file that cannot be opened gives 73 and the command never runs", async () => {
  await withTempDir(async (dir) => {
    const marker = `${dir}/marker`;
    const r = await dtee([
      "-c",
      `${dir}/ok`,
      "-o",
      "/nonexistent/dir/f",
      "sh",
      "-c",
      'touch "$0"; echo ran',
      marker,
    ]);
    ended(r, 73, "", `${DTEE}: /nonexistent/dir/f: No such file or directory\n`);
    ok(!exists(marker), "the command ran");
  });
});

Deno.test("`dtee yes | head -c1` ends dtee by SIGPIPE (141) without any message", async () => {
  await withTempDir(async (dir) => {
    const r = await run("bash", [
      "-c",
      `"$0" yes 2>"$1" | head -c1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
      DTEE,
      `${dir}/err`,
    ]);
    exited(r, 0, "bash");
    equal(r.out, "141\n");
    equal(read(`${dir}/err`), "", "dtee's stderr");
  });
});

// --- A2, A6: command line and NAME ------------------------------------------------

Deno.test("NAME is argv[0] as given: through a symlink, as a relative path", async () => {
  await withTempDir(async (dir) => {
    Deno.symlinkSync(DTEE, `${dir}/mytool`);
    const relative = await sh(`cd "$1" && exec ./mytool nonexistent-xyz`, [dir]);
    exited(relative, 66, "./mytool");
    equal(relative.err, "./mytool: nonexistent-xyz: No such file or directory\n");

    const unknown = await sh(`cd "$1" && exec ./mytool --bogus=1 true`, [dir]);
    exited(unknown, 64, "./mytool --bogus=1");
    equal(unknown.out, "");
    equal(
      unknown.err,
      "./mytool: unrecognised option '--bogus=1'\nTry './mytool -h' for more information.\n",
    );

    const usage = await sh(`cd "$1" && exec ./mytool`, [dir]);
    exited(usage, 64, "./mytool without a command");
    match(usage.out, /^Usage: \.\/mytool \[OPTION\]\.\.\. COMMAND \[ARG\]\.\.\.\n/);
    quiet(usage);
  });
});

Deno.test("NAME is argv[0] as given when found through PATH", async () => {
  // A user's `dtee` in a cron table is looked up in PATH: messages must say
  // `dtee: ...`, as the C tool's do, not the full path the lookup found.
  await withTempDir(async (dir) => {
    Deno.symlinkSync(DTEE, `${dir}/mytool`);
    const r = await sh(`PATH="$1:$PATH" exec mytool -o /nonexistent/dir/f true`, [dir]);
    exited(r, 73, "mytool");
    equal(r.err, "mytool: /nonexistent/dir/f: No such file or directory\n");
  });
});

Deno.test("no command: the usage on stdout, nothing on stderr, exit 64", async () => {
  for (const args of [[], ["-o", "/nonexistent/dir/f"], ["--"]]) {
    const r = await dtee(args);
    exited(r, 64, JSON.stringify(args));
    ok(r.out.startsWith(`Usage: ${DTEE} [OPTION]... COMMAND [ARG]...\n`), r.out);
    quiet(r);
  }
});

Deno.test("--debug-options through the launcher", async () => {
  const cases: [string[], string][] = [
    [
      ["--debug-options", "-o", "a", "-C", "b", "-qi", "--", "ls", "-la"],
      "-=ls\n-=-la\ncombined-overwrite=b\ncron=1\ndebug-options=1\nignore-interrupts=1\n" +
      "out-append=a\n",
    ],
    [
      ["-ofile", "--err-append=x", "-e", "-y", "--debug-options", "", "--", "-o"],
      "-=\n-=--\n-=-o\ndebug-options=1\nerr-append=x\nerr-append=-y\nout-append=file\n",
    ],
  ];
  for (const [args, expected] of cases) {
    const r = await dtee(args);
    ended(r, 0, expected, "", JSON.stringify(args));
  }
});

Deno.test("words after the command go to it, even when they start with a dash", async () => {
  await withTempDir(async (dir) => {
    const r = await dtee(["-o", `${dir}/o`, "printf", "%s|", "-la", "-x", "--", "-o", "x", ""]);
    exited(r, 0);
    equal(r.out, "-la|-x|--|-o|x||");
    equal(read(`${dir}/o`), "-la|-x|--|-o|x||");
    ok(!exists(`${dir}/x`));
  });
});

Deno.test("stdin passes through to the command", async () => {
  const r = await dtee(["cat"], { stdin: "hello\n" });
  ended(r, 0, "hello\n", "");
});

// --- A7: mechanics, seen from inside the command ------------------------------------

Deno.test("the command's stdout and stderr are datagram sockets, nothing of dtee's leaks", async () => {
  await withTempDir(async (dir) => {
    const r = await run(
      "python3",
      launch(["close-fds"], [
        DTEE,
        ...files(dir, "-o o -C c -e e"),
        "python3",
        "-c",
        LIST_FDS,
      ]),
    );
    exited(r, 0);
    const lines = r.out.trimEnd().split("\n");
    // Descriptors 0, 1 and 2, then the type of each socket (in any order).
    equal(lines.length, 5, r.out);
    deepStrictEqual(lines.slice(0, 3).map((line) => line.split(" ")[0]), ["0", "1", "2"], r.out);
    equal(lines[0], "0 /dev/null");
    match(lines[1], /^1 socket:\[\d+\]$/);
    match(lines[2], /^2 socket:\[\d+\]$/);
    ok(lines[1] !== lines[2].replace(/^2/, "1"), "one socket per stream");
    deepStrictEqual(lines.slice(3).sort(), ["1 type=0002", "2 type=0002"], "SOCK_DGRAM");
    equal(read(`${dir}/c`), r.out);
  });
});

Deno.test("fd 0, 1 and 2 closed in every combination: works, nothing lost", async () => {
  await withTempDir(async (tmp) => {
    const runs = [];
    for (let mask = 1; mask < 8; mask++) {
      const close = [0, 1, 2].filter((fd) => mask & (1 << fd)).map((fd) => `exec ${fd}>&-;`);
      for (const cron of [false, true]) {
        const c = `${tmp}/c${mask}${cron ? "q" : ""}`;
        const args = [...(cron ? ["-q"] : []), "-c", c, "sh", "-c", "echo out; echo err >&2"];
        runs.push((async () => {
          const r = await run("sh", ["-c", `${close.join(" ")} exec "$@"`, "sh", DTEE, ...args]);
          const what = `closed ${close.join(" ")} cron ${cron}`;
          equal(r.signal, null, what);
          equal(r.code, 0, `${what}: ${r.err}`);
          equal(readText(c), "out\nerr\n", what);
          // What is still open gets exactly its share.
          const report = cron ? `${DTEE}: sh: exited with status 0\n` : "";
          const expectOut = mask & 2 ? "" : "out\n";
          const expectErr = mask & 4 ? "" : `err\n${report}`;
          deepStrictEqual([r.out, r.err], [expectOut, expectErr], what);
        })());
      }
    }
    await Promise.all(runs);
  });
});

Deno.test("a descriptor dtee inherited (fd 3) passes through to the command", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/three`, "from fd 3\n");
    const r = await run(
      "python3",
      launch(["close-fds", `fd3=${dir}/three`], [
        DTEE,
        "sh",
        "-c",
        `cat <&3 && exec python3 -c "$0"`,
        LIST_FDS,
      ]),
    );
    exited(r, 0);
    const lines = r.out.trimEnd().split("\n");
    equal(lines[0], "from fd 3");
    deepStrictEqual(lines.slice(1, 5).map((line) => line.split(" ")[0]), ["0", "1", "2", "3"]);
    equal(lines[4], `3 ${dir}/three`);
    equal(lines.length, 7, r.out);
  });
});

/** The process's descriptors, `fd N TARGET` each, then exit 1. */
const FD_LISTING = [
  "import os, sys",
  'for fd in sorted(os.listdir("/proc/self/fd"), key=int):',
  '    try: print("fd", fd, os.readlink("/proc/self/fd/" + fd))',
  "    except OSError: pass",
  "sys.exit(1)",
].join("\n");

Deno.test("inside the command: fd 1 and 2 are sockets, the socket directory is gone, no dtee descriptor leaks", async () => {
  await withTempDir(async (dir) => {
    const tmp = `${dir}/tmp`;
    Deno.mkdirSync(tmp);
    const inherited = `${dir}/inherited`;
    Deno.writeTextFileSync(inherited, "");
    const probe = [
      "[ -S /proc/$$/fd/1 ] && echo fd1=socket",
      "[ -S /proc/$$/fd/2 ] && echo fd2=socket",
      'echo tmp=$(ls -A "$TMPDIR")',
      // The listing forks nothing: a command substitution's pipe would be
      // listed or not as the shell's close raced the child's look.
      `exec /usr/bin/python3 -c '${FD_LISTING}'`,
    ].join("; ");
    // What the command inherits without dtee: fd 3, plus whatever this test
    // itself inherited; dtee must add nothing but its two sockets.
    const start = (...words: string[]) =>
      run("sh", ["-c", 'exec 3<"$0"; exec "$@"', inherited, ...words], { env: { TMPDIR: tmp } });
    const plain = await start("sh", "-c", probe);
    const fds = (out: string) =>
      out.split("\n").filter((l) => l.startsWith("fd ")).map((l) =>
        l.replace(/ (socket|pipe):\[\d+\]$/, " $1")
      );
    ok(fds(plain.out).includes(`fd 3 ${inherited}`), plain.out);
    for (const launcher of [DTEE, CRONTY]) {
      const c = `${dir}/c${launcher === CRONTY ? "q" : ""}`;
      const r = await start(launcher, "-o", `${dir}/o`, "-c", c, "sh", "-c", probe);
      const report = launcher === CRONTY ? `${CRONTY}: sh: exited with status 1\n` : "";
      ended(r, 1, r.out, report, launcher);
      ok(r.out.startsWith("fd1=socket\nfd2=socket\ntmp=\n"), r.out);
      deepStrictEqual(
        fds(r.out),
        fds(plain.out).map((l) => l.replace(/^fd ([12]) .*/, "fd $1 socket")),
        `${launcher}: the command's descriptors`,
      );
      equal(readText(c), r.out);
      deepStrictEqual(entries(tmp), [], "left behind in $TMPDIR");
    }
  });
});

Deno.test("$TMPDIR missing or too long for a socket path: clear message, 69, the command does not run; cron mode runs it", async () => {
  await withTempDir(async (base) => {
    const ran = `${base}/ran`;
    // The socket path is $TMPDIR/dteePPPPPPPPIXXXXXX/i plus a NUL: 108 bytes
    // at most, so 85 is the longest $TMPDIR that works.
    const at = (len: number) => {
      const dir = `${base}/${"d".repeat(len - base.length - 1)}`;
      equal(dir.length, len);
      Deno.mkdirSync(dir);
      return dir;
    };
    const fits = at(85);
    const ok85 = await run(DTEE, ["sh", "-c", "echo out"], { env: { TMPDIR: fits } });
    ended(ok85, 0, "out\n", "");
    for (const long of [at(86), at(base.length + 121)]) {
      const r = await run(DTEE, ["sh", "-c", BOTH], { env: { TMPDIR: long, RAN: ran } });
      ended(r, 69, "", `${DTEE}: input socket: bind: ${ERRNO.ENAMETOOLONG[1]}\n`, long);
      ok(!exists(ran), "the command ran");
      deepStrictEqual(entries(long), [], "left behind in $TMPDIR");
      const q = await run(CRONTY, ["sh", "-c", BOTH], { env: { TMPDIR: long, RAN: ran } });
      ended(q, 3, "out\n", `${CRONTY}: input socket: bind: ${ERRNO.ENAMETOOLONG[1]}\nerr\n`);
      Deno.removeSync(ran);
    }
    const missing = `${base}/missing`;
    const m = await run(DTEE, ["sh", "-c", BOTH], { env: { TMPDIR: missing, RAN: ran } });
    ended(
      m,
      69,
      "",
      `${DTEE}: unable to create temporary directory ${tempName("I", missing, m.pid)}: ${
        ERRNO.ENOENT[1]
      }\n`,
    );
    ok(!exists(ran), "the command ran");
  });
});

const { prefix: asUser, skip: noUser } = await unprivileged();
if (noUser) console.log(`core_test: the non-writable $TMPDIR test is skipped: ${noUser}`);

Deno.test({
  name: "a $TMPDIR that is not writable: message, 69; cron mode runs the command",
  ignore: noUser !== undefined,
  fn: async () => {
    await withTempDir(async (base) => {
      Deno.chmodSync(base, 0o755);
      const home = `${base}/home`;
      Deno.mkdirSync(home);
      Deno.chmodSync(home, 0o777);
      const ro = `${base}/ro`;
      Deno.mkdirSync(ro);
      Deno.chmodSync(ro, 0o555);
      const env = { TMPDIR: ro, HOME: home, DENO_DIR: `${home}/deno` };
      const message = (name: string, pid: number) =>
        `${name}: unable to create temporary directory ${tempName("I", ro, pid)}: ${
          ERRNO.EACCES[1]
        }\n`;
      // In cron mode the buffer file's line comes first, as in the C tool.
      const buffer = (name: string, pid: number) =>
        `${name}: unable to create temporary file ${tempName("O", ro, pid)}: ${ERRNO.EACCES[1]}\n`;
      const as = (launcher: string) => {
        const [cmd, ...prefix] = [...asUser, launcher];
        return (args: string[]) => run(cmd, [...prefix, ...args], { env });
      };
      const r = await as(DTEE)(["sh", "-c", "echo out; echo err >&2; exit 3"]);
      // Through setpriv the pid is still dtee's: setpriv and the launcher exec.
      ended(r, 69, "", message(DTEE, r.pid));
      const q = await as(CRONTY)(["sh", "-c", "echo out; echo err >&2; exit 3"]);
      ended(q, 3, "out\n", buffer(CRONTY, q.pid) + message(CRONTY, q.pid) + "err\n");
    });
  },
});

/** SigBlk and SigIgn of the command, from /proc/self/status. */
async function commandSignals(settings: string[], args: string[] = []) {
  const r = await run(
    "python3",
    launch(settings, [
      DTEE,
      ...args,
      "grep",
      "-E",
      "^Sig(Blk|Ign):",
      "/proc/self/status",
    ]),
  );
  exited(r, 0);
  const masks = Object.fromEntries(
    r.out.trimEnd().split("\n").map((line) => {
      const [key, value] = line.split(/:\s+/);
      return [key, BigInt("0x" + value)];
    }),
  );
  return { blocked: masks.SigBlk, ignored: masks.SigIgn, text: r.out };
}

const bit = (signal: number) => 1n << BigInt(signal - 1);

Deno.test("the command starts with an empty signal mask, inherited SIG_IGN kept (SIGPIPE too)", async () => {
  // dtee is started with SIGUSR1 and SIGTERM blocked, SIGHUP (nohup),
  // SIGUSR2 and SIGPIPE ignored.
  const { blocked, ignored, text } = await commandSignals([
    "clean-signals",
    "ignore=1,12,13",
    "block=10,15",
  ]);
  equal(blocked, 0n, `signal mask: ${text}`);
  // The native launcher sees SIGPIPE's SIG_IGN before the runtime sets its own.
  equal(ignored & bit(13), bit(13), `inherited SIG_IGN for SIGPIPE lost: ${text}`);
  equal(ignored & bit(12), bit(12), `inherited SIG_IGN for SIGUSR2 lost: ${text}`);
  equal(ignored & bit(1), bit(1), `inherited SIG_IGN for SIGHUP lost: ${text}`);
});

Deno.test("the command does not get glibc's internal signals 32 and 33 ignored", async () => {
  // Started with every disposition at the default, dtee must not hand the
  // command anything ignored (posix_spawn sets 32/33 to SIG_IGN unless told).
  const { ignored, text } = await commandSignals(["clean-signals"]);
  equal(ignored, 0n, `ignored signals in the command: ${text}`);
});

Deno.test("dtee makes a non-blocking stdout or stderr blocking before writing: nothing lost", async () => {
  await withTempDir(async (dir) => {
    // 1 MiB through a pipe that is non-blocking and read slowly.
    const writer = "import os\nfor _ in range(16): os.write(1, b'y' * 65536)\n";
    const r = await sh(
      `{ python3 -c "$1" nonblock=1 -- "$2" python3 -c "$3" 2>"$4/err"; echo $? >"$4/status"; } |
        { sleep 0.3; cat >"$4/out"; }`,
      [LAUNCH, DTEE, writer, dir],
    );
    exited(r, 0, "sh");
    equal(read(`${dir}/err`), "", "dtee's stderr");
    equal(read(`${dir}/status`), "0\n");
    equal(Deno.statSync(`${dir}/out`).size, 1 << 20);

    // 4 MiB on each stream, with either or both non-blocking.
    const size = 4 << 20;
    const big = `head -c ${size} /dev/zero | tr '\\0' x`;
    await Promise.all([[1], [2], [1, 2]].map(async (fds, i) => {
      const c = `${dir}/c${i}`;
      const r = await nonBlocking(fds, [DTEE, "-c", c, "sh", "-c", `${big}; ${big} >&2`]);
      equal(r.signal, null);
      equal(r.code, 0, r.err.slice(-500));
      equal(r.stdout.length, size, `fds ${fds}: stdout`);
      equal(r.stderr.length, size, `fds ${fds}: stderr`);
      equal(Deno.statSync(c).size, 2 * size);
    }));
  });
});

Deno.test("output written after the command exited (by a grandchild) is not waited for", async () => {
  const r = await dtee(["sh", "-c", "(sleep 3; echo late) & echo early"]);
  ended(r, 0, "early\n", "");
});

// --- Found in review: outputs that are not plain files -----------------------

Deno.test("nested dtee with 2>&1: large messages reach the outer dtee one write each", async () => {
  await withTempDir(async (dir) => {
    // Ten 3 MB writes alternating streams: merged into one write, a batch
    // would be larger than the outer dtee's socket accepts.
    const inner = `import os
for i in range(10): os.write(1 + i % 2, (b"%02d" % i) * 1500000 + b"\\n")`;
    const r = await sh(
      `"$1" -C "$2/outer.log" sh -c '"$1" python3 -c "$3" 2>&1' sh "$1" "$2" "$3"`,
      [
        DTEE,
        dir,
        inner,
      ],
    );
    equal(r.code, 0, r.err.slice(0, 300));
    const expected = Array.from(
      { length: 10 },
      (_, i) => `${String(i).padStart(2, "0")}`.repeat(1500000) + "\n",
    )
      .join("");
    equal(r.out.length, expected.length);
    ok(r.out === expected, "dtee's stdout differs");
    ok(read(`${dir}/outer.log`) === expected, "outer.log differs");
  });
});

Deno.test("a stdout made non-blocking again by the command loses nothing", async () => {
  // dtee's stdin and stdout share one description (as on a terminal); the
  // command sets O_NONBLOCK on its stdin, and a slow reader fills the socket.
  const script = `import os, socket, subprocess, sys, time
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
cmd = [sys.argv[1], "python3", "-c",
  "import os, fcntl\\n"
  "fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)\\n"
  "for i in range(2000): os.write(1, b'%05d' % i + b'x' * 995 + b'\\\\n')\\n"]
p = subprocess.Popen(cmd, stdin=a.fileno(), stdout=a.fileno(), stderr=subprocess.PIPE)
a.close()
time.sleep(1)
data = b""
b.settimeout(10)
while True:
    d = b.recv(1 << 20)
    if not d: break
    data += d
err = p.stderr.read()
print(p.wait(), len(data), data == b"".join(b"%05d" % i + b"x" * 995 + b"\\n" for i in range(2000)), err)`;
  const r = await run("python3", ["-c", script, DTEE]);
  equal(r.out, "0 2002000 True b''\n", r.err);
});

if (Deno.uid() !== 0) {
  console.log(
    "core_test: raising a socket buffer past wmem_max needs root (SO_SNDBUFFORCE): skipped",
  );
}

Deno.test({
  name: "a command that raises its own send buffer: its largest write still arrives whole",
  ignore: Deno.uid() !== 0,
}, async () => {
  await withTempDir(async (dir) => {
    const script = `import os, socket
s = socket.socket(fileno=os.dup(1))
s.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)
os.write(1, b"B" * (4194304 + 60000))`;
    const r = await dtee(["-C", `${dir}/c`, "python3", "-c", script]);
    equal(r.code, 0, r.err);
    equal(r.stdout.length, 4194304 + 60000);
    equal(Deno.statSync(`${dir}/c`).size, 4194304 + 60000);
  });
});

Deno.test("long argument lists and bytes that are not UTF-8 reach the command and file names", async () => {
  const big = "a".repeat(100000);
  const r = await run("sh", [
    "-c",
    `"$1" sh -c 'echo "$#" "\${#1}"' x "$2" "$2" "$(printf '\\377')"`,
    "sh",
    DTEE,
    big,
  ]);
  equal(r.code, 0, r.err.slice(0, 300));
  equal(r.out, "3 100000\n");
  await withTempDir(async (dir) => {
    // printf's octal escapes make the bytes; od shows what arrived.
    const show = 'printf %s "$1" | od -An -tx1';
    const r = await run("sh", [
      "-c",
      'exec "$0" -o "$(printf "f\\377")" sh -c "$1" sh "$(printf "a\\377b")"',
      DTEE,
      show,
    ], { cwd: dir });
    ended(r, 0, r.out, "");
    equal(r.out.trim(), "61 ff 62", "the command's argument");
    const names = await run("sh", ["-c", "ls | od -An -tx1"], { cwd: dir });
    equal(names.out.trim(), "66 ff 0a", "the output file's name");
  });
});
