/**
 * dtee starts wherever the C tool starts, and never speaks in Deno's words
 * (docs/behaviour.md A7): in a working directory that has been removed,
 * with an invocation name, arguments and file names that are not UTF-8
 * (with and without /proc), and with a command line right at the kernel's
 * limit. Through the native launcher, which hands Deno none of dtee's words
 * (rust/src/bin/dtee.rs).
 */
import assert from "node:assert/strict";
import { LAUNCHER, run, withTempDir } from "./helpers.ts";

/** Text with `\xNN` escapes as the bytes it means (not UTF-8 where it says so). */
const raw = (text: string) =>
  new Uint8Array(
    [...text.replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))]
      .map((c) => c.charCodeAt(0)),
  );

/** Prefixes that run a command with /proc mounted, or with an empty tmpfs in its place. */
const PROC = {
  "with /proc": [],
  "without /proc": [
    "unshare",
    "--mount",
    "sh",
    "-c",
    'mount -t tmpfs none /proc && exec "$@"',
    "sh",
  ],
};

Deno.test("from a working directory that has been removed, the command runs there (and in cron mode)", async () => {
  await withTempDir(async (dir) => {
    const removed = (script: string) =>
      run("sh", [
        "-c",
        `mkdir "$1/gone" && cd "$1/gone" && rmdir "$1/gone" && ${script}`,
        "sh",
        dir,
        LAUNCHER,
      ]);
    // Not sh: dash itself complains in such a directory (where dtee does not).
    const r = await removed(`exec "$2" readlink /proc/self/cwd`);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    assert.equal(r.out, `${dir}/gone (deleted)\n`);

    // cron mode: the command's stderr, then the report; a relative output
    // file cannot be made in a removed directory (as with the C tool).
    const cron = await removed(`exec "$2" -q ls /nonexistent`);
    assert.equal(cron.code, 2, cron.err);
    assert.match(cron.err, /^ls: cannot access '\/nonexistent': No such file or directory\n/);
    assert.ok(cron.err.endsWith(`${LAUNCHER}: ls: exited with status 2\n`), cron.err);
    const out = await removed(`exec "$2" -o log true`);
    assert.equal(out.err, `${LAUNCHER}: log: No such file or directory\n`);
    assert.equal(out.code, 73);
  });
});

for (const [how, prefix] of Object.entries(PROC)) {
  Deno.test(`${how}: a name, arguments, file names and an environment that are not UTF-8 pass byte for byte`, async () => {
    await withTempDir(async (dir) => {
      // Made by sh's printf: Deno cannot pass such bytes as arguments.
      const script = `
        name="$1/dt$(printf '\\377')ee"; ln -s "$2" "$name"
        out="$1/out$(printf '\\376')"
        "$name" -o "$out" printf '%s\\n' "a$(printf '\\375')b"; echo "status $?"; cat "$out"
        "$name" -o "$1/no/x$(printf '\\374')" true; echo "status $?"
        env -i A=1 "B=$(printf '\\373')" "$name" env; echo "status $?"
        "$name" sh -c 'for fd in 3 4 5 6 7 8 9; do (: <&$fd) 2>/dev/null && echo "fd $fd open"; done; true'
        echo "status $?"`;
      const [cmd, ...args] = [...prefix, "sh", "-c", script, "sh", dir, LAUNCHER];
      const r = await run(cmd, args);
      const name = `${dir}/dt\\xffee`;
      assert.deepEqual(
        r.stdout,
        raw("a\\xfdb\nstatus 0\na\\xfdb\nstatus 73\nA=1\nB=\\xfb\nstatus 0\nstatus 0\n"),
        r.out,
      );
      assert.deepEqual(
        r.stderr,
        raw(`${name}: ${dir}/no/x\\xfc: No such file or directory\n`),
        r.err,
      );
    });
  });
}

Deno.test("a TMPDIR that is not UTF-8 is used byte for byte, by dtee and in cron mode", async () => {
  await withTempDir(async (dir) => {
    // Where it is missing, the message names it byte for byte.
    const script = `
      export TMPDIR="$1/t$(printf '\\351')"; mkdir "$TMPDIR"; ln -s "$2" "$1/cronty"
      "$2" sh -c 'echo "$TMPDIR"'; echo "status $?"
      "$1/cronty" sh -c 'touch "$0/ran"; exit 1' "$1"
      echo "status $?"; test -e "$1/ran" && echo ran
      TMPDIR="$TMPDIR/missing" "$2" true; echo "status $?"`;
    const r = await run("sh", ["-c", script, "sh", dir, LAUNCHER]);
    const tmp = `${dir}/t\\xe9`;
    assert.deepEqual(
      r.stdout,
      raw(`${tmp}\nstatus 0\nstatus 1\nran\nstatus 69\n`),
      r.out,
    );
    assert.match(r.err, /^.*\/cronty: sh: exited with status 1\n/, r.err);
    const expected = raw(`${LAUNCHER}: unable to create temporary directory ${tmp}/missing/dtee`);
    const second = r.stderr.subarray(r.stderr.indexOf(10) + 1);
    assert.deepEqual(second.subarray(0, expected.length), expected, r.err);
  });
});

/**
 * Execs the launcher with an empty environment and a command line that
 * makes exec's total exactly the kernel's limit plus `over` bytes, the
 * longest word as long as a word may be (MAX_ARG_STRLEN). The kernel counts
 * the file name, every word and variable with its NUL, and a pointer for
 * each (fs/exec.c); the limit is a quarter of the stack limit, from 128 KiB
 * to 6 MiB. The command prints how many words it got and the last one's length.
 */
const AT_THE_LIMIT = `
import os, resource, sys
path, over = sys.argv[1], int(sys.argv[2])
soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
limit = max(min(soft // 4, 6 << 20), 32 * 4096)
argv = [path, "sh", "-c", 'eval "last=\\\${$#}"; echo "$# \${#last}"', "sh"]
# The file name, then each word (argv[0] is the file name again).
room = limit + over - (len(path) + 1) - sum(len(a) + 1 + 8 for a in argv)
longest = 32 * 4096 - 1
while room > 0:
    cost = min(room, longest + 1 + 8)
    if 0 < room - cost < 9:
        cost -= 9
    argv.append("x" * (cost - 9))
    room -= cost
try:
    os.execve(path, argv, {})
except OSError as e:
    print(os.strerror(e.errno))
    sys.exit(1)
`;

Deno.test("with an empty environment, the longest command line the kernel lets start dtee runs", async () => {
  const r = await run("python3", ["-c", AT_THE_LIMIT, LAUNCHER, "0"]);
  assert.equal(r.err, "");
  assert.equal(r.code, 0);
  const [words, lastLength] = r.out.trim().split(" ").map(Number);
  assert.ok(words >= 16 && lastLength >= 0, r.out);
  // One byte more is the kernel's refusal, before dtee runs at all.
  const over = await run("python3", ["-c", AT_THE_LIMIT, LAUNCHER, "1"]);
  assert.equal(over.out, "Argument list too long\n");
  assert.equal(over.code, 1);
});
