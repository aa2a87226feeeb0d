/**
 * Order in every destination and broken pipes (docs/behaviour.md A3), and
 * internal errors (A6): outputs that lead to one file get the command's
 * writes in the order it made them, files are opened in the C tool's
 * order, a broken pipe is SIGPIPE at that message, and anything unexpected
 * is one `NAME: internal error: ...` line with exit 70.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { DTEE, ROOT, run, sh, withTempDir } from "./helpers.ts";

const SCRIPT = "echo out1; echo err1 >&2; echo out2";

/** Runs dtee through `sh -c` so that the redirections of `redirect` apply to dtee itself. */
function dteeSh(dir: string, args: string, redirect: string) {
  return sh(`cd "$1" && "$2" ${args} sh -c '${SCRIPT}' ${redirect}`, [dir, DTEE]);
}

for (
  const [args, redirect, expected] of [
    ["-o f -e f", ">/dev/null 2>&1", "out1\nerr1\nout2\n"],
    ["-o f", "2>>f >/dev/null", "out1\nerr1\nout2\n"],
    ["-e f", ">>f 2>/dev/null", "out1\nerr1\nout2\n"],
    ["-c f", ">>f 2>>f", "out1\nout1\nerr1\nerr1\nout2\nout2\n"],
    ["-c f -c f", ">/dev/null 2>&1", "out1\nout1\nerr1\nerr1\nout2\nout2\n"],
    ["-o f -c f", ">/dev/null 2>&1", "out1\nout1\nerr1\nout2\nout2\n"],
  ] as const
) {
  Deno.test(`order holds where outputs share a file: dtee ${args} ... ${redirect}`, async () => {
    await withTempDir(async (dir) => {
      const r = await dteeSh(dir, args, redirect);
      equal(r.code, 0, r.err);
      equal(Deno.readTextFileSync(`${dir}/f`), expected);
    });
  });
}

Deno.test("output files are opened, and failures reported, in the C tool's order", async () => {
  const r = await run(DTEE, ["-c", "/no/c", "-o", "/no/a", "-e", "/no/e", "-O", "/no/b", "true"]);
  equal(r.code, 73);
  const E = "No such file or directory";
  equal(r.err, ["/no/b", "/no/a", "/no/e", "/no/c"].map((f) => `${DTEE}: ${f}: ${E}\n`).join(""));
});

Deno.test("a broken stdout pipe is SIGPIPE before anything later reaches any output", async () => {
  await withTempDir(async (dir) => {
    // The reader takes the first line and goes; the command writes on.
    const script = "for i in 1 2 3 4 5; do echo $i; sleep 0.05; done; echo late >&2";
    const r = await run("bash", [
      "-c",
      `"$2" -o "$1/o" -c "$1/c" -e "$1/e" sh -c '${script}' 2>"$1/err" | head -n 1; ` +
      'echo "${PIPESTATUS[0]}"',
      "bash",
      dir,
      DTEE,
    ]);
    deepStrictEqual(r.out, "1\n141\n");
    equal(Deno.readTextFileSync(`${dir}/o`), "1\n");
    equal(Deno.readTextFileSync(`${dir}/c`), "1\n");
    equal(Deno.readTextFileSync(`${dir}/e`), "");
    equal(Deno.readTextFileSync(`${dir}/err`), "");
  });
});

Deno.test("a shim that cannot be loaded: one line naming the file and why, exit 70", async () => {
  const r = await run(DTEE, ["true"], { env: { DTEE_SHIM: "/nonexistent/libdtee_shim.so" } });
  deepStrictEqual({ code: r.code, out: r.out }, { code: 70, out: "" });
  match(
    r.err,
    /^dtee: internal error: cannot load the shim \/nonexistent\/libdtee_shim\.so: .*No such file or directory\n$/,
  );
});

Deno.test("an unexpected exception is an internal error: one line, no stack trace, exit 70", async () => {
  // Without --allow-env the runtime refuses the first environment read.
  const r = await run(Deno.execPath(), [
    "run",
    "-q",
    "--no-config",
    "--allow-ffi",
    `${ROOT}/main.ts`,
    "true",
  ]);
  deepStrictEqual({ code: r.code, out: r.out }, { code: 70, out: "" });
  match(r.err, /^dtee: internal error: [^\n]*\n$/);
});

Deno.test("cron mode: a broken stdout when the held output is released is SIGPIPE, nothing later written", async () => {
  await withTempDir(async (dir) => {
    const script = 'sleep 0.5; printf "a\\n"; printf "b\\n" >&2; printf "c\\n"; printf "d\\n" >&2';
    const r = await run("bash", [
      "-c",
      `"$2" -q -o "$1/f" sh -c '${script}' 2>"$1/err" | true; echo "\${PIPESTATUS[0]}"`,
      "bash",
      dir,
      DTEE,
    ]);
    equal(r.out, "141\n");
    equal(
      Deno.readTextFileSync(`${dir}/err`),
      `${DTEE}: stdout: write: Broken pipe\n${DTEE}: received signal 13: Broken pipe\n`,
    );
    equal(Deno.readTextFileSync(`${dir}/f`), "a\n");
  });
});

Deno.test("cron mode: a file that shares dtee's stdout and stderr gets each message in turn", async () => {
  await withTempDir(async (dir) => {
    // Stopped while it writes, so that dtee receives the messages in one batch.
    const script =
      "echo x >&2; sleep 0.3; kill -STOP $PPID; echo 1; echo 2 >&2; echo 3; kill -CONT $PPID";
    const r = await sh(`cd "$1" && "$2" -q -c f sh -c '${script}' >>f 2>&1`, [dir, DTEE]);
    equal(r.code, 0, r.err);
    equal(
      Deno.readTextFileSync(`${dir}/f`),
      `x\nx\n1\n1\n2\n2\n3\n3\n${DTEE}: sh: exited with status 0\n`,
    );
  });
});
