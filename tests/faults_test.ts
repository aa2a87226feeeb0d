/**
 * Failure paths (docs/behaviour.md A3, A4, A5, A6, A7; issue 4): every fault ends in the
 * documented message and exit status, with every byte that could be saved
 * still delivered.
 *
 * Faults the kernel cannot be made to produce on demand are injected by the
 * failpoint build of the shim (cargo feature `failpoints`, see
 * rust/src/failpoints.rs), loaded through DTEE_SHIM and driven by
 * DTEE_FAILPOINTS (`name=N:errno`: the Nth call of `name` fails). The others
 * are real: /dev/full, FIFOs whose reader goes away, impossible $TMPDIRs,
 * closed and non-blocking standard descriptors, oversized writes.
 */

import { deepStrictEqual, equal, fail, match, ok } from "node:assert/strict";
import {
  CRONTY,
  DTEE,
  exists,
  prng,
  ROOT,
  run,
  type RunOptions,
  type RunResult,
  withTempDir,
} from "./helpers.ts";

const FAILPOINT_SHIM = `${ROOT}/rust/target/failpoints/release/libdtee_shim.so`;
const RELEASE_SHIM = `${ROOT}/rust/target/release/libdtee_shim.so`;

// scripts/test builds the failpoint shim; this makes a direct `deno test` work too.
{
  const built = await run("bash", [
    "-c",
    'DTEE_ROOT=$1; . "$1/scripts/bootstrap.sh" && dtee_ensure_shim && dtee_ensure_failpoint_shim',
    "bash",
    ROOT,
  ], { timeoutMs: 300_000 });
  if (built.code !== 0) throw new Error(`cannot build the failpoint shim:\n${built.err}`);
}

const decoder = new TextDecoder();

// glibc's strerror(3) texts of the errno values used below.
const E = {
  EPERM: [1, "Operation not permitted"],
  ENOENT: [2, "No such file or directory"],
  EIO: [5, "Input/output error"],
  EBADF: [9, "Bad file descriptor"],
  ECHILD: [10, "No child processes"],
  EAGAIN: [11, "Resource temporarily unavailable"],
  ENOMEM: [12, "Cannot allocate memory"],
  EACCES: [13, "Permission denied"],
  EINVAL: [22, "Invalid argument"],
  EMFILE: [24, "Too many open files"],
  ENOSPC: [28, "No space left on device"],
  EPIPE: [32, "Broken pipe"],
  ENAMETOOLONG: [36, "File name too long"],
  EMSGSIZE: [90, "Message too long"],
  EADDRINUSE: [98, "Address already in use"],
  ENOBUFS: [105, "No buffer space available"],
  ENOTCONN: [107, "Transport endpoint is not connected"],
  ECONNREFUSED: [111, "Connection refused"],
} as const;
type Errno = keyof typeof E;

/** `name=N:errno` for DTEE_FAILPOINTS. */
function fp(name: string, nth: number | string, errno: Errno): string {
  return `${name}=${nth}:${E[errno][0]}`;
}

/** The pid part of dtee's temporary names: 8 upper-case hex digits. */
function hexPid(pid: number): string {
  return pid.toString(16).toUpperCase().padStart(8, "0");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; fails after `ms`. */
async function waitUntil(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Runs dtee (or `launcher`) on the failpoint shim with `spec` and a private $TMPDIR. */
function faulty(
  spec: string,
  tmp: string,
  args: string[],
  options: RunOptions & { launcher?: string } = {},
): Promise<RunResult> {
  return run(options.launcher ?? DTEE, args, {
    ...options,
    env: { DTEE_SHIM: FAILPOINT_SHIM, DTEE_FAILPOINTS: spec, TMPDIR: tmp, ...options.env },
  });
}

/** Checks how a run ended: exit code (not a signal), stdout and stderr exactly. */
function ended(result: RunResult, code: number, out: string, err: string, what = ""): void {
  const where = what ? `${what}: ` : "";
  equal(result.signal, null, `${where}killed by ${result.signal}; stderr: ${result.err}`);
  deepStrictEqual(
    { code: result.code, out: result.out, err: result.err },
    { code, out, err },
    `${where}unexpected end`,
  );
}

/** A command that records that it ran, writes to both streams and exits 3. */
const BOTH = 'touch "$RAN"; echo out; echo err >&2; exit 3';

// --- The failpoint build ----------------------------------------------------

Deno.test("the release shim contains no failpoints; the failpoint shim does", () => {
  const has = (path: string, text: string) =>
    decoder.decode(Deno.readFileSync(path)).includes(text);
  for (const marker of ["DTEE_FAILPOINTS", "FOREIGN-", "buffer_write"]) {
    ok(!has(RELEASE_SHIM, marker), `${RELEASE_SHIM} contains ${marker}`);
    ok(has(FAILPOINT_SHIM, marker), `${FAILPOINT_SHIM} lacks ${marker}`);
  }
});

Deno.test("the release shim ignores DTEE_FAILPOINTS", async () => {
  await withTempDir(async (tmp) => {
    const r = await run(DTEE, ["sh", "-c", "echo out; echo err >&2; exit 3"], {
      env: { DTEE_FAILPOINTS: `${fp("bind", 1, "EACCES")},foreign`, TMPDIR: tmp },
    });
    ended(r, 3, "out\n", "err\n");
  });
});

// --- Socket setup (input side) ------------------------------------------------

/** [failpoint, what the message names] for every socket setup step. */
const SETUP: [string, string, Errno][] = [
  ["socket=1", "input socket: open", "EMFILE"],
  ["socket=2", "stdout socket: open", "EMFILE"],
  ["socket=3", "stderr socket: open", "ENOBUFS"],
  ["bind=1", "input socket: bind", "EACCES"],
  ["bind=2", "stdout socket: bind", "EADDRINUSE"],
  ["bind=3", "stderr socket: bind", "EACCES"],
  ["connect=1", "stdout socket: connect", "ECONNREFUSED"],
  ["connect=2", "stderr socket: connect", "EAGAIN"],
  ["shutdown=1", "stdout socket: shutdown", "ENOTCONN"],
  ["shutdown=2", "stderr socket: shutdown", "EINVAL"],
  ["mkdtemp=1", "unable to create temporary directory", "EACCES"],
];

function setupMessage(name: string, what: string, errno: Errno, tmp: string, pid: number) {
  const subject = what.startsWith("unable") ? `${what} ${tmp}/dtee${hexPid(pid)}IXXXXXX` : what;
  return `${name}: ${subject}: ${E[errno][1]}\n`;
}

Deno.test("socket setup failures: message, 69, the command does not run, nothing left in $TMPDIR", async () => {
  await withTempDir(async (dir) => {
    await Promise.all(SETUP.map(async ([point, what, errno], i) => {
      const tmp = `${dir}/t${i}`;
      Deno.mkdirSync(tmp);
      const ran = `${dir}/ran${i}`;
      const [name, nth] = point.split("=");
      const r = await faulty(fp(name, nth, errno), tmp, ["-c", `${dir}/c${i}`, "sh", "-c", BOTH], {
        env: { RAN: ran },
      });
      ended(r, 69, "", setupMessage(DTEE, what, errno, tmp, r.pid), point);
      ok(!exists(ran), `${point}: the command ran`);
      deepStrictEqual(entries(tmp), [], `${point}: left behind in $TMPDIR`);
    }));
  });
});

Deno.test("cron mode, socket setup failures: message, then the command runs in dtee's place", async () => {
  await withTempDir(async (dir) => {
    await Promise.all(SETUP.map(async ([point, what, errno], i) => {
      const tmp = `${dir}/t${i}`;
      Deno.mkdirSync(tmp);
      const [name, nth] = point.split("=");
      const r = await faulty(fp(name, nth, errno), tmp, ["sh", "-c", BOTH], {
        launcher: CRONTY,
        env: { RAN: `${dir}/ran${i}` },
      });
      // Exec in place: the command's own output and status, no report.
      ended(r, 3, "out\n", setupMessage(CRONTY, what, errno, tmp, r.pid) + "err\n", point);
      deepStrictEqual(entries(tmp), [], `${point}: left behind in $TMPDIR`);
    }));
  });
});

Deno.test("setsockopt failures are not errors: default buffers, everything delivered", async () => {
  await withTempDir(async (tmp) => {
    const spec = "setsockopt=1+:1";
    const limits = await faulty(spec, tmp, ["--debug-limits"]);
    equal(limits.code, 0, limits.err);
    const normal = await run(DTEE, ["--debug-limits"]);
    const send = (out: string) => Number(/^send-buffer=(\d+)$/m.exec(out)?.[1]);
    const wmemDefault = Number(readText("/proc/sys/net/core/wmem_default"));
    ok(send(limits.out) <= send(normal.out), `${limits.out} vs ${normal.out}`);
    if (wmemDefault) equal(send(limits.out), wmemDefault, limits.out);
    const r = await faulty(spec, tmp, ["-c", `${tmp}/c`, "sh", "-c", "echo out; echo err >&2"]);
    ended(r, 0, "out\n", "err\n");
    equal(readText(`${tmp}/c`), "out\nerr\n");
  });
});

// --- Starting the command ---------------------------------------------------

Deno.test("spawn failures: fork errors 71, exec errors 66, in both modes", async () => {
  const cases: [Errno, string, number][] = [
    ["EAGAIN", "fork", 71],
    ["ENOMEM", "fork", 71],
    ["ENOENT", "sh", 66],
    ["EACCES", "sh", 66],
  ];
  await withTempDir(async (tmp) => {
    await Promise.all(
      cases.flatMap(([errno, what, status]) =>
        [DTEE, CRONTY].map(async (launcher) => {
          const r = await faulty(fp(what === "fork" ? "fork" : "exec", 1, errno), tmp, [
            "sh",
            "-c",
            BOTH,
          ], {
            launcher,
            env: { RAN: `${tmp}/ran` },
          });
          // Cron mode reports an exec failure's 66 as the command's exit, as the C tool does.
          const report = launcher === CRONTY && status === 66
            ? `${launcher}: sh: exited with status 66\n`
            : "";
          const err = `${launcher}: ${what}: ${E[errno][1]}\n${report}`;
          ended(r, status, "", err, `${launcher} ${errno}`);
        })
      ),
    );
    ok(!exists(`${tmp}/ran`), "the command ran");
    deepStrictEqual(entries(tmp), [], "left behind in $TMPDIR");
  });
});

Deno.test("a command that is not executable or not found: 66", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/script`;
    Deno.writeTextFileSync(script, "#!/bin/sh\necho never\n", { mode: 0o644 });
    const cases: [string, Errno][] = [
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
        ended(r, 66, "", `${launcher}: ${command}: ${E[errno][1]}\n${report}`, command);
      })
    ));
  });
});

// --- The receive loop -------------------------------------------------------

/**
 * Writes `one`, waits until dtee has delivered it to the -c file $C, then
 * writes `two`: so that each arrives in a receive of its own.
 */
const TWO_STEPS = 'echo one; until grep -qx one "$C"; do sleep 0.01; done; echo two';

Deno.test("recv failure: message, 74, what was received is delivered", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const r = await faulty(fp("recv", 2, "EIO"), tmp, ["-c", c, "sh", "-c", TWO_STEPS], {
      env: { C: c },
    });
    ended(r, 74, "one\n", `${DTEE}: input socket: recv: ${E.EIO[1]}\n`);
    equal(readText(c), "one\n");
  });
});

Deno.test("cron mode, recv failure: the held output is still written out, 74", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const r = await faulty(fp("recv", 2, "EIO"), tmp, ["-c", c, "sh", "-c", TWO_STEPS], {
      launcher: CRONTY,
      env: { C: c },
    });
    equal(r.code, 74, r.err);
    ok(r.err.startsWith(`${CRONTY}: input socket: recv: ${E.EIO[1]}\n`), r.err);
    equal(r.out, "one\n", "the held stdout was lost");
  });
});

Deno.test("waitpid failure: message, 71, everything the command wrote is delivered", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join("");
    const script = 'i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done; ' +
      'until grep -qx "line 199" "$C"; do sleep 0.01; done';
    const r = await faulty(fp("waitpid", 1, "ECHILD"), tmp, ["-c", c, "sh", "-c", script], {
      env: { C: c },
    });
    ended(r, 71, lines, `${DTEE}: waitpid: ${E.ECHILD[1]}\n`);
    equal(readText(c), lines);
  });
});

Deno.test("cron mode, waitpid failure: the held output is still written out, 71", async () => {
  await withTempDir(async (tmp) => {
    const r = await faulty(fp("waitpid", 1, "ECHILD"), tmp, ["sh", "-c", "echo held"], {
      launcher: CRONTY,
    });
    equal(r.code, 71, r.err);
    ok(r.err.startsWith(`${CRONTY}: waitpid: ${E.ECHILD[1]}\n`), r.err);
    equal(r.out, "held\n", "the held stdout was lost");
  });
});

Deno.test("closing dtee's copy of an output socket fails: message, 74, everything delivered", async () => {
  await withTempDir(async (tmp) => {
    await Promise.all([[1, "stdout"], [2, "stderr"]].map(async ([nth, who]) => {
      const c = `${tmp}/c${nth}`;
      const r = await faulty(fp("close", nth, "EIO"), tmp, ["-c", c, "sh", "-c", BOTH], {
        env: { RAN: `${tmp}/ran` },
      });
      ended(r, 74, "out\n", `${DTEE}: ${who} socket: close: ${E.EIO[1]}\nerr\n`);
      equal(readText(c), "out\nerr\n");
      // Cron mode: unbuffered, reported, 74.
      const q = await faulty(fp("close", nth, "EIO"), tmp, ["sh", "-c", "echo out; exit 0"], {
        launcher: CRONTY,
      });
      ended(
        q,
        74,
        "out\n",
        `${CRONTY}: ${who} socket: close: ${E.EIO[1]}\n${CRONTY}: sh: exited with status 0\n`,
      );
    }));
  });
});

// --- Writes -----------------------------------------------------------------

Deno.test("a failed write to dtee's stdout: reported, 74, other outputs complete", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    // Write 1 is the first message to stdout (before the -c file gets it).
    const r = await faulty(fp("write", 1, "EIO"), tmp, ["-c", c, "sh", "-c", TWO_STEPS], {
      env: { C: c },
    });
    ended(r, 74, "two\n", `${DTEE}: stdout: write: ${E.EIO[1]}\n`);
    equal(readText(c), "one\ntwo\n");
  });
});

/** `$TMPDIR/dtee<pid>O<6 random>`: the cron buffer file's name. */
function bufferFile(tmp: string, pid: number): string {
  return `${escape(tmp)}/dtee${hexPid(pid)}O[A-Za-z0-9]{6}`;
}

Deno.test("cron mode, buffer file cannot be created: message, unbuffered, report, 73", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const r = await faulty(fp("mkostemp", 1, "ENOSPC"), tmp, [
      "-c",
      c,
      "sh",
      "-c",
      "echo out; echo err >&2; echo more",
    ], { launcher: CRONTY });
    ended(
      r,
      73,
      "out\nmore\n",
      `${CRONTY}: unable to create temporary file ${tmp}/dtee${hexPid(r.pid)}OXXXXXX: ${
        E.ENOSPC[1]
      }\nerr\n${CRONTY}: sh: exited with status 0\n`,
    );
    equal(readText(c), "out\nerr\nmore\n");
  });
});

Deno.test("cron mode, a write to the buffer file fails: message, everything out in order, report, 74", async () => {
  await withTempDir(async (tmp) => {
    await Promise.all([1, 2].map(async (nth) => {
      const c = `${tmp}/c${nth}`;
      // The second write fails after `one` was held: it must come out first.
      const r = await faulty(fp("buffer_write", nth, "ENOSPC"), tmp, [
        "-c",
        c,
        "sh",
        "-c",
        `${TWO_STEPS}; echo three`,
      ], { launcher: CRONTY, env: { C: c } });
      equal(r.signal, null);
      equal(r.out, "one\ntwo\nthree\n", `buffer_write=${nth}: stdout`);
      match(
        r.err,
        new RegExp(
          `^${escape(CRONTY)}: error writing to buffer file ${bufferFile(tmp, r.pid)}: ${
            E.ENOSPC[1]
          }\n${escape(CRONTY)}: sh: exited with status 0\n$`,
        ),
      );
      equal(readText(c), "one\ntwo\nthree\n");
      equal(r.code, 74, `buffer_write=${nth}: exit status`);
    }));
  });
});

Deno.test("cron mode, seeking in the buffer file fails: message, the rest delivered, report, 74", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const r = await faulty(fp("lseek", 1, "EIO"), tmp, [
      "-c",
      c,
      "sh",
      "-c",
      "echo held; echo err >&2; echo after",
    ], { launcher: CRONTY });
    equal(r.signal, null);
    // What was held cannot be read back; it is in the -c file.
    equal(r.out, "after\n");
    match(
      r.err,
      new RegExp(
        `^${escape(CRONTY)}: error seeking to start of buffer file ${bufferFile(tmp, r.pid)}: ${
          E.EIO[1]
        }\nerr\n${escape(CRONTY)}: sh: exited with status 0\n$`,
      ),
    );
    equal(readText(c), "held\nerr\nafter\n");
    equal(r.code, 74, "exit status");
  });
});

// --- Standard descriptors ---------------------------------------------------

/** Runs `args` under python3 with O_NONBLOCK set on each of `fds` first. */
function nonBlocking(fds: number[], args: string[], options: RunOptions = {}) {
  return run("python3", [
    "-c",
    "import os, sys\nfor fd in sys.argv[1].split(','): os.set_blocking(int(fd), False)\n" +
    "os.execv(sys.argv[2], sys.argv[2:])",
    fds.join(","),
    ...args,
  ], options);
}

Deno.test("non-blocking stdout/stderr: made blocking, nothing lost", async () => {
  await withTempDir(async (tmp) => {
    const size = 4 << 20;
    const big = `head -c ${size} /dev/zero | tr '\\0' x`;
    await Promise.all([[1], [2], [1, 2]].map(async (fds, i) => {
      const c = `${tmp}/c${i}`;
      const r = await nonBlocking(fds, [DTEE, "-c", c, "sh", "-c", `${big}; ${big} >&2`]);
      equal(r.signal, null);
      equal(r.code, 0, r.err.slice(-500));
      equal(r.stdout.length, size, `fds ${fds}: stdout`);
      equal(r.stderr.length, size, `fds ${fds}: stderr`);
      equal(Deno.statSync(c).size, 2 * size);
    }));
  });
});

Deno.test("fcntl(F_SETFL) fails on a non-blocking stdout: message, 71; cron mode carries on", async () => {
  await withTempDir(async (tmp) => {
    const env = { DTEE_SHIM: FAILPOINT_SHIM, DTEE_FAILPOINTS: "fcntl_setfl=1:5", TMPDIR: tmp };
    const r = await nonBlocking([1], [DTEE, "sh", "-c", BOTH], {
      env: { ...env, RAN: `${tmp}/r` },
    });
    ended(r, 71, "", `${DTEE}: stdout: fcntl(F_SETFL): ${E.EIO[1]}\n`);
    ok(!exists(`${tmp}/r`), "the command ran");
    const q = await nonBlocking([2], [CRONTY, "sh", "-c", "echo out; exit 0"], { env });
    ended(
      q,
      71,
      "out\n",
      `${CRONTY}: stderr: fcntl(F_SETFL): ${E.EIO[1]}\n${CRONTY}: sh: exited with status 0\n`,
    );
    // Any fcntl: calls 1-3 check that fds 0-2 are open, 4 and 5 read the
    // flags of fds 1 and 2 (F_GETFL), whether or not they are non-blocking.
    await Promise.all([[4, "stdout"], [5, "stderr"]].map(async ([nth, label]) => {
      const f = await faulty(fp("fcntl", nth, "EBADF"), tmp, ["sh", "-c", BOTH], {
        env: { RAN: `${tmp}/r` },
      });
      ended(f, 71, "", `${DTEE}: ${label}: fcntl(F_SETFL): ${E.EBADF[1]}\n`);
    }));
    ok(!exists(`${tmp}/r`), "the command ran");
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

// --- Real faults on outputs -------------------------------------------------

/** Writes line1..line$N, each only after the previous one reached $C: one write each. */
const LINES = 'i=1; while [ $i -le "$N" ]; do echo line$i; ' +
  'until grep -qx line$i "$C"; do sleep 0.005; done; i=$((i+1)); done';

Deno.test("an output file on /dev/full: reported once, other outputs complete, 74", async () => {
  await withTempDir(async (tmp) => {
    const n = 20;
    const lines = Array.from({ length: n }, (_, i) => `line${i + 1}\n`).join("");
    const env = { C: `${tmp}/c`, N: String(n) };
    const r = await run(DTEE, ["-o", "/dev/full", "-c", env.C, "sh", "-c", LINES], { env });
    ended(r, 74, lines, `${DTEE}: /dev/full: ${E.ENOSPC[1]}\n`);
    equal(readText(env.C), lines);
    // Cron mode: still 74, still one message; the clean run's output stays held.
    const q = await run(CRONTY, ["-o", "/dev/full", "-C", env.C, "sh", "-c", LINES], { env });
    ended(q, 74, "", `${CRONTY}: /dev/full: ${E.ENOSPC[1]}\n`);
    equal(readText(env.C), lines);
  });
});

/** Reads a stream to its end in the background; its text so far is always available. */
class Collector {
  text = "";
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      const d = new TextDecoder();
      for await (const chunk of stream) this.text += d.decode(chunk, { stream: true });
    })();
  }
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
      const child = new Deno.Command(DTEE, {
        args: [...(cron ? ["-q"] : []), "-c", fifo, "-o", out, "sh", "-c", script],
        env: { T: tmp },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stdout = new Collector(child.stdout);
      const stderr = new Collector(child.stderr);
      try {
        await waitUntil("the reader to get `one`", () => readText(`${tmp}/r1`) === "one\n");
        reader.kill("SIGKILL");
        await reader.status;
        Deno.writeTextFileSync(`${tmp}/go`, "");
        const status = await child.status;
        await Promise.all([stdout.done, stderr.done]);
        const err = cron
          ? `${DTEE}: ${fifo}: ${E.EPIPE[1]}\n${DTEE}: received signal 13: Broken pipe\n`
          : "";
        deepStrictEqual(
          { code: status.code, signal: status.signal, out: stdout.text, err: stderr.text },
          { code: 141, signal: "SIGPIPE", out: "one\ntwo\n", err },
        );
        equal(readText(out), "one\ntwo\n");
        equal(readText(`${tmp}/r1`), "one\n");
      } finally {
        Deno.writeTextFileSync(`${tmp}/go`, "");
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
        await child.status;
        await Promise.allSettled([stdout.done, stderr.done]);
      }
    });
  });
}

// --- $TMPDIR ----------------------------------------------------------------

Deno.test("$TMPDIR too long for a socket path: clear message, 69; cron mode runs the command", async () => {
  await withTempDir(async (base) => {
    // The socket path is $TMPDIR/dteePPPPPPPPIXXXXXX/i plus a NUL: 108 bytes
    // at most, so 85 is the longest $TMPDIR that works.
    const at = (len: number) => {
      const dir = `${base}/${"d".repeat(len - base.length - 1)}`;
      equal(dir.length, len);
      Deno.mkdirSync(dir);
      return dir;
    };
    const fits = at(85);
    const long = at(86);
    const ok85 = await run(DTEE, ["sh", "-c", "echo out"], { env: { TMPDIR: fits } });
    ended(ok85, 0, "out\n", "");
    const r = await run(DTEE, ["sh", "-c", BOTH], { env: { TMPDIR: long, RAN: `${base}/ran` } });
    ended(r, 69, "", `${DTEE}: input socket: bind: ${E.ENAMETOOLONG[1]}\n`);
    ok(!exists(`${base}/ran`), "the command ran");
    deepStrictEqual(entries(long), [], "left behind in $TMPDIR");
    const q = await run(CRONTY, ["sh", "-c", BOTH], { env: { TMPDIR: long, RAN: `${base}/ran` } });
    ended(q, 3, "out\n", `${CRONTY}: input socket: bind: ${E.ENAMETOOLONG[1]}\nerr\n`);
    const missing = `${base}/missing`;
    const m = await run(DTEE, ["true"], { env: { TMPDIR: missing } });
    ended(
      m,
      69,
      "",
      `${DTEE}: unable to create temporary directory ${missing}/dtee${hexPid(m.pid)}IXXXXXX: ${
        E.ENOENT[1]
      }\n`,
    );
  });
});

/**
 * How to run dtee as an unprivileged user (root bypasses directory
 * permissions), or why that is impossible here.
 */
async function unprivileged(): Promise<string[] | string> {
  if (Deno.uid() !== 0) return [];
  const setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
  try {
    const check = await run(setpriv[0], [
      ...setpriv.slice(1),
      "sh",
      "-c",
      'test -r "$1/main.ts" && test -x "$(command -v deno || echo "$1/.deno/bin/deno")"',
      "sh",
      ROOT,
    ]);
    if (check.code === 0) return setpriv;
    return `user 65534 cannot run dtee from ${ROOT}`;
  } catch {
    return "running as root without setpriv";
  }
}

const asUser = await unprivileged();
if (typeof asUser === "string") {
  console.warn(`skipping the non-writable $TMPDIR test: ${asUser}`);
}

Deno.test({
  name: "a $TMPDIR that is not writable: message, 69; cron mode runs the command",
  ignore: typeof asUser === "string",
  fn: async () => {
    if (typeof asUser === "string") return;
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
        `${name}: unable to create temporary directory ${ro}/dtee${hexPid(pid)}IXXXXXX: ${
          E.EACCES[1]
        }\n`;
      const as = (launcher: string) => {
        const [cmd, ...prefix] = [...asUser, launcher];
        return (args: string[]) => run(cmd, [...prefix, ...args], { env });
      };
      const r = await as(DTEE)(["sh", "-c", "echo out; echo err >&2; exit 3"]);
      // Through setpriv the pid is still dtee's: setpriv and the launcher exec.
      ended(r, 69, "", message(DTEE, r.pid));
      const q = await as(CRONTY)(["sh", "-c", "echo out; echo err >&2; exit 3"]);
      ended(q, 3, "out\n", message(CRONTY, q.pid) + "err\n");
    });
  },
});

// --- Security, seen from inside the command ---------------------------------

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
      "for fd in $(ls /proc/$$/fd); do echo fd $fd $(readlink /proc/$$/fd/$fd); done",
      "exit 1",
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

Deno.test("datagrams from foreign senders are ignored everywhere", async () => {
  await withTempDir(async (tmp) => {
    const files = ["c", "o", "e"].map((f) => `${tmp}/${f}`);
    const args = ["-c", files[0], "-o", files[1], "-e", files[2], "sh", "-c"];
    const r = await faulty("foreign", tmp, [...args, "echo out; echo err >&2"]);
    ended(r, 0, "out\n", "err\n");
    deepStrictEqual(files.map(readText), ["out\nerr\n", "out\n", "err\n"]);
    const q = await faulty("foreign", tmp, [...args, "echo out; exit 2"], { launcher: CRONTY });
    ended(q, 2, "out\n", `${CRONTY}: sh: exited with status 2\n`);
    ok(!files.map(readText).join("").includes("FOREIGN"));
    deepStrictEqual(entries(tmp), ["c", "e", "o"], "left behind in $TMPDIR");
  });
});

// --- Limits -----------------------------------------------------------------

Deno.test("the largest single write gets through whole; one byte more fails with EMSGSIZE in the command", async () => {
  const limits = await run(DTEE, ["--debug-limits"]);
  ended(limits, 0, limits.out, "");
  match(limits.out, /^send-buffer=\d+\nreceive-buffer=\d+\nmax-write=\d+\n$/);
  const max = Number(/max-write=(\d+)/.exec(limits.out)![1]);
  ok(max >= 4096, limits.out);
  const writer = "import os, sys\nn = int(sys.argv[1])\n" +
    "try:\n    os.write(2, b'wrote %d\\n' % os.write(1, b'x' * n))\n" +
    "except OSError as e:\n    os.write(2, b'errno %d\\n' % e.errno)\n" +
    "os.write(1, b'after\\n')\nsys.exit(7)\n";
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const whole = await run(DTEE, ["-c", c, "python3", "-c", writer, String(max)]);
    equal(whole.signal, null);
    equal(whole.code, 7, whole.err);
    equal(whole.err, `wrote ${max}\n`);
    equal(whole.stdout.length, max + 6);
    ok(/^x+after\n$/.test(whole.out));
    equal(Deno.statSync(c).size, max + `wrote ${max}\n`.length + 6);
    const over = await run(DTEE, ["-c", c, "python3", "-c", writer, String(max + 1)]);
    ended(over, 7, "after\n", `errno ${E.EMSGSIZE[0]}\n`);
  });
});

// --- Bad command lines, end to end ------------------------------------------

const OPTION_WORDS = [
  ..."oOeEcCiqhV".split("").map((c) => `-${c}`),
  ...[
    "out-append",
    "out-overwrite",
    "err-append",
    "err-overwrite",
    "combined-append",
    "combined-overwrite",
    "ignore-interrupts",
    "cron",
    "help",
    "version",
    "debug-options",
    "debug-limits",
  ].map((l) => `--${l}`),
  "--",
  "-",
  "---",
  "-x",
  "-qi",
  "-iq",
  "-io",
  "-qo",
  "-Z",
  "--bogus",
  "--out",
  "--cron=1",
  "--help=",
  "--out-append=",
  "--combined-append=f",
];
/** No `.` (no `..`), `/` only inside words: nothing outside the run's directory. */
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_=+ ,:'\"é日本🙂\u00a0\t";
const COMMANDS = ["true", "false", "echo"];

function argVector(next: () => number): string[] {
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const word = (): string => {
    const kind = next();
    if (kind < 0.1) return "";
    const len = kind < 0.15 ? 1000 + Math.floor(next() * 4000) : 1 + Math.floor(next() * 12);
    let w = "";
    for (let i = 0; i < len; i++) w += pick([...ALPHABET]);
    if (kind > 0.9) w = `${w}/${w}`;
    return w;
  };
  const args: string[] = [];
  const n = Math.floor(next() * 7);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.45) args.push(pick(OPTION_WORDS));
    else if (r < 0.55) {
      args.push(`${pick(OPTION_WORDS.filter((o) => o.startsWith("--")))}=${word()}`);
    } else if (r < 0.65) args.push(`-${pick([..."oOeEcC"])}${word()}`);
    else if (r < 0.8) args.push(pick(COMMANDS));
    else args.push(word());
  }
  if (next() < 0.6) {
    args.push(pick(COMMANDS), ...Array.from({ length: Math.floor(next() * 3) }, word));
  }
  return args;
}

const STRERROR = /^[A-Z][A-Za-z ,/'-]*[a-z]$/;

/** Whether `line` is one of dtee's documented messages (docs/behaviour.md A2, A4, A6) for `name`. */
function documented(line: string, name: string): boolean {
  const prefix = `${name}: `;
  if (line === `Try '${name} -h' for more information.`) return true;
  if (!line.startsWith(prefix)) return false;
  const rest = line.slice(prefix.length);
  if (/^unrecognised option '.*'$/s.test(rest)) return true;
  if (/^the required argument for option '--[a-z-]+' is missing$/.test(rest)) return true;
  // `--flag=value` for an option without a value (getopt's third complaint).
  if (/^option '--[a-z-]+' does not take any arguments$/.test(rest)) return true;
  // A bare `--=` (boost's form for a command word).
  if (rest === "the argument for option should follow immediately after the equal sign") {
    return true;
  }
  if (/^.*: exited with status \d+$/s.test(rest)) return true;
  const text = rest.slice(rest.lastIndexOf(": ") + 2);
  return rest.includes(": ") && STRERROR.test(text) && !text.includes("os error");
}

Deno.test("random command lines through the real launcher: no crash, documented statuses and messages", async () => {
  const seed = Number(Deno.env.get("DTEE_FUZZ_SEED") ?? Date.now() % 1_000_000);
  const count = Number(Deno.env.get("DTEE_FUZZ_COUNT") ?? 1000);
  const next = prng(seed);
  const vectors = Array.from({ length: count }, () => argVector(next));
  await withTempDir(async (dir) => {
    // Only harmless programs can be found: a random word never runs anything.
    const bin = `${dir}/bin`;
    Deno.mkdirSync(bin);
    const which = await run("sh", [
      "-c",
      "for c in bash readlink true false echo; do for d in /usr/local/bin /usr/bin /bin; do " +
      '[ -x "$d/$c" ] && { echo "$d/$c"; break; }; done; done',
    ]);
    for (const path of which.out.trim().split("\n")) {
      Deno.symlinkSync(path, `${bin}/${path.slice(path.lastIndexOf("/") + 1)}`);
    }
    Deno.symlinkSync(Deno.execPath(), `${bin}/deno`);
    const cwd = `${dir}/cwd`;
    Deno.mkdirSync(cwd);
    let index = 0;
    const worker = async () => {
      while (index < vectors.length) {
        const i = index++;
        const args = vectors[i];
        const launcher = i % 5 === 0 ? CRONTY : DTEE;
        const r = await run(launcher, args, { cwd, env: { PATH: bin, TMPDIR: dir } });
        const what = `seed ${seed} #${i}: ${launcher} ${JSON.stringify(args).slice(0, 300)}`;
        equal(r.signal, null, `${what}: killed by ${r.signal}`);
        ok([0, 1, 64, 66, 73].includes(r.code), `${what}: exit ${r.code}: ${r.err.slice(0, 500)}`);
        ok(!/error:|Uncaught|\n\s+at /.test(r.err), `${what}: runtime error: ${r.err}`);
        for (const line of r.err.split("\n").slice(0, -1)) {
          ok(documented(line, launcher), `${what}: undocumented message ${JSON.stringify(line)}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });
});

Deno.test("arguments that are not valid UTF-8 reach the command and files byte for byte", async () => {
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
