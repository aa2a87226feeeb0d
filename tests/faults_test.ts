/**
 * Injected failures (docs/behaviour.md A3, A4, A5, A6, A7; issue 4): every fault ends in the
 * documented message and exit status, with every byte that could be saved
 * still delivered.
 *
 * These are the faults the kernel cannot be made to produce on demand: the
 * failpoint build of the shim (cargo feature `failpoints`, see
 * rust/src/failpoints.rs; docs/architecture.md, "Testing") is loaded through DTEE_SHIM and
 * driven by DTEE_FAILPOINTS (`name=N:errno`: the Nth call of `name` fails).
 * Real faults (/dev/full, FIFOs whose reader goes away, impossible $TMPDIRs,
 * closed and non-blocking standard descriptors, oversized writes) are tested
 * with the rest of the core in tests/core_test.ts.
 */

import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  CRONTY,
  DTEE,
  ended,
  entries,
  ERRNO as E,
  escapeRegExp,
  exists,
  nonBlocking,
  readText,
  ROOT,
  run,
  type RunOptions,
  type RunResult,
  tempName,
  tempPattern,
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

type Errno = keyof typeof E;

/** `name=N:errno` for DTEE_FAILPOINTS. */
function fp(name: string, nth: number | string, errno: Errno): string {
  return `${name}=${nth}:${E[errno][0]}`;
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
  const subject = what.startsWith("unable") ? `${what} ${tempName("I", tmp, pid)}` : what;
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

/** Runs `sh -c script` in cron mode on the failpoint shim with `spec`, with -c `c`. */
function cronJob(spec: string, tmp: string, c: string, script: string, env = {}) {
  return faulty(spec, tmp, ["-c", c, "sh", "-c", script], { launcher: CRONTY, env });
}

/** How cron mode reports a failed `what` on its buffer file, as a RegExp source. */
function bufferError(what: string, tmp: string, pid: number, errno: Errno): string {
  return `${escapeRegExp(CRONTY)}: ${what} buffer file ${tempPattern("O", tmp, pid)}: ${
    E[errno][1]
  }\n`;
}

const REPORT_0 = `${CRONTY}: sh: exited with status 0\n`;

Deno.test("cron mode, buffer file cannot be created: message, unbuffered, report, 73", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const spec = fp("mkostemp", 1, "ENOSPC");
    const r = await cronJob(spec, tmp, c, "echo out; echo err >&2; echo more");
    const message = `unable to create temporary file ${tempName("O", tmp, r.pid)}`;
    ended(r, 73, "out\nmore\n", `${CRONTY}: ${message}: ${E.ENOSPC[1]}\nerr\n${REPORT_0}`);
    equal(readText(c), "out\nerr\nmore\n");
  });
});

Deno.test("cron mode, a write to the buffer file fails: message, everything out in order, report, 74", async () => {
  await withTempDir(async (tmp) => {
    await Promise.all([1, 2].map(async (nth) => {
      const c = `${tmp}/c${nth}`;
      // The second write fails after `one` was held: it must come out first.
      const spec = fp("buffer_write", nth, "ENOSPC");
      const r = await cronJob(spec, tmp, c, `${TWO_STEPS}; echo three`, { C: c });
      equal(r.signal, null);
      equal(r.out, "one\ntwo\nthree\n", `buffer_write=${nth}: stdout`);
      const error = bufferError("error writing to", tmp, r.pid, "ENOSPC");
      match(r.err, new RegExp(`^${error}${escapeRegExp(REPORT_0)}$`));
      equal(readText(c), "one\ntwo\nthree\n");
      equal(r.code, 74, `buffer_write=${nth}: exit status`);
    }));
  });
});

Deno.test("cron mode, seeking in the buffer file fails: message, the rest delivered, report, 74", async () => {
  await withTempDir(async (tmp) => {
    const c = `${tmp}/c`;
    const r = await cronJob(fp("lseek", 1, "EIO"), tmp, c, "echo held; echo err >&2; echo after");
    equal(r.signal, null);
    // What was held cannot be read back; it is in the -c file.
    equal(r.out, "after\n");
    const error = bufferError("error seeking to start of", tmp, r.pid, "EIO");
    match(r.err, new RegExp(`^${error}err\\n${escapeRegExp(REPORT_0)}$`));
    equal(readText(c), "held\nerr\nafter\n");
    equal(r.code, 74, "exit status");
  });
});

// --- Standard descriptors ---------------------------------------------------

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

Deno.test("signal handling that cannot be set up: message, 69; cron mode runs the command and reports", async () => {
  await withTempDir(async (tmp) => {
    const spec = fp("pipe2", "1+", "EMFILE");
    const text = `${DTEE}: signal 13: sigaction: ${E.EMFILE[1]}\n`;
    ended(
      await faulty(spec, tmp, ["sh", "-c", BOTH], { env: { RAN: `${tmp}/ran` } }),
      69,
      "",
      text,
    );
    equal(exists(`${tmp}/ran`), false, "the command ran");
    const cron = await faulty(spec, tmp, ["-q", "sh", "-c", BOTH], { env: { RAN: `${tmp}/ran` } });
    ended(cron, 69, "out\n", `${text}err\n${DTEE}: sh: exited with status 3\n`);
  });
});
