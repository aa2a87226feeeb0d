/**
 * `-L`, `--line-buffered` (README, "Why is my output out of order?"): real
 * programs of each runtime -L covers write out1, err1, out2, err2. With -L
 * the combined file, dtee's own streams and the JSON log hold exactly that
 * order; without it the same run shows the stdout buffer (err1 before
 * out1), so the test proves that -L is what changes it. Also nested
 * commands, cron mode's held output, a user's own LD_PRELOAD, PERL5OPT and
 * RUBYOPT kept, and the environment untouched without -L.
 */
import assert from "node:assert/strict";
import {
  CRONTY,
  DTEE,
  installed,
  LAUNCHER,
  ROOT,
  run,
  sh,
  unprivileged,
  withTempDir,
} from "./helpers.ts";
import { COMPILE_FLAGS } from "../scripts/release.ts";

const EXPECTED = "out1\nerr1\nout2\nerr2\n";

/** What the tests' own environment may hold, which would make buffering vanish or change. */
const CLEAN = ["PYTHONUNBUFFERED", "LD_PRELOAD", "PERL5OPT", "PERL5LIB", "RUBYOPT"];
const unset = CLEAN.flatMap((name) => ["-u", name]);

const C_PROGRAM = `#include <stdio.h>
int main(void) {
  printf("out1\\n");
  fprintf(stderr, "err1\\n");
  printf("out2\\n");
  fputs("err2\\n", stderr);
  return 0;
}
`;

const HAVE_RUBY = installed("ruby");

/**
 * A program's words, given the test's directory (where the C program is
 * built and the combined file is written). `slowWait`: how long the grep
 * pipeline waits for a line that will not come without -L.
 */
type Program = (dir: string, slowWait: number) => string[];

/**
 * grep has no error of its own to interleave (it flushes stdout before its
 * messages), so a shell around it writes the stderr lines, each once grep's
 * line before it has reached the combined file, or after `slowWait` seconds
 * when it does not come (without -L it comes only at the end).
 */
const GREP_SCRIPT = `
  arrived() { i=0; until grep -qx "$1" "$2/combined" 2>/dev/null || [ $i -ge $(($3 * 100)) ]; do
    sleep 0.01; i=$((i + 1)); done; }
  { echo out1; arrived out1 "$1" "$2"; echo err1 >&2; echo out2; arrived out2 "$1" "$2";
    echo err2 >&2; } | grep out`;

const PROGRAMS: Record<string, Program> = {
  "a C program (stdio)": (dir) => [`${dir}/prog`],
  "python3": () => [
    "python3",
    "-c",
    "import sys\nfor i in (1, 2):\n  print(f'out{i}')\n  print(f'err{i}', file=sys.stderr)",
  ],
  "perl": () => ["perl", "-e", 'for (1, 2) { print "out$_\\n"; print STDERR "err$_\\n" }'],
  "ruby": () => ["ruby", "-e", '[1, 2].each { |i| puts "out#{i}"; $stderr.puts "err#{i}" }'],
  "grep (stdio)": (dir, wait) => ["sh", "-c", GREP_SCRIPT, "sh", dir, String(wait)],
  "sed (stdio)":
    () => ["sh", "-c", "printf 'out1\\nout2\\n' | sed -n 'p; s/out/err/w /dev/stderr'"],
  "a C program started by sh -c": (dir) => ["sh", "-c", `"$1"; exit $?`, "sh", `${dir}/prog`],
  "python3 started by sh -c": () => [
    "sh",
    "-c",
    'python3 -c \'import sys; print("out1"); print("err1", file=sys.stderr); ' +
    'print("out2"); print("err2", file=sys.stderr)\'',
  ],
};

async function buildC(dir: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/prog.c`, C_PROGRAM);
  const cc = await run("cc", ["-o", `${dir}/prog`, `${dir}/prog.c`]);
  assert.equal(cc.code, 0, cc.err);
}

/** dtee [-L] with -C and -J, its own stdout and stderr into one file, in a clean environment. */
async function capture(dir: string, words: string[], lineBuffered: boolean) {
  const flags = [...(lineBuffered ? ["-L"] : []), "-C", `${dir}/combined`, "-J", `${dir}/log`];
  const r = await sh(
    'd=$1; shift; exec env "$@" >"$d/own" 2>&1',
    [dir, ...unset, DTEE, ...flags, ...words],
  );
  return {
    code: r.code,
    combined: await Deno.readTextFile(`${dir}/combined`),
    own: await Deno.readTextFile(`${dir}/own`),
    log: await Deno.readTextFile(`${dir}/log`),
  };
}

/** The JSON log's messages, consecutive writes to one stream joined (python writes "\n" apart). */
function runs(log: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of log.trim().split("\n")) {
    const record = JSON.parse(line);
    if (!("stream" in record)) continue;
    const last = out.at(-1);
    if (last && last[0] === record.stream) last[1] += record.log;
    else out.push([record.stream, record.log]);
  }
  return out;
}

for (const [name, program] of Object.entries(PROGRAMS)) {
  Deno.test({
    name: `-L: ${name} keeps out/err/out/err in every destination; without -L its buffer shows`,
    ignore: name === "ruby" && !HAVE_RUBY,
    async fn() {
      await withTempDir(async (dir) => {
        await buildC(dir);
        const on = await capture(dir, program(dir, 60), true);
        assert.equal(on.code, 0, on.own);
        assert.equal(on.combined, EXPECTED);
        assert.equal(on.own, EXPECTED);
        assert.deepEqual(runs(on.log), [
          ["stdout", "out1\n"],
          ["stderr", "err1\n"],
          ["stdout", "out2\n"],
          ["stderr", "err2\n"],
        ]);

        const off = await capture(dir, program(dir, 1), false);
        assert.equal(off.code, 0, off.own);
        // Every byte is there, but stdout came out of the buffer after err1.
        assert.deepEqual([...off.combined.split("\n")].sort(), [...EXPECTED.split("\n")].sort());
        assert.ok(
          off.combined.indexOf("err1") < off.combined.indexOf("out1"),
          `buffering should show without -L: ${JSON.stringify(off.combined)}`,
        );
        assert.equal(off.own, off.combined);
      });
    },
  });
}

Deno.test("-L in cron mode: the held output and the report keep the order", async () => {
  await withTempDir(async (dir) => {
    await buildC(dir);
    const job = async (flags: string[]) => {
      const r = await sh('d=$1; shift; env "$@" >"$d/own" 2>&1', [
        dir,
        ...unset,
        CRONTY,
        ...flags,
        `${dir}/prog`,
      ]);
      assert.equal(r.code, 0);
      return await Deno.readTextFile(`${dir}/own`);
    };
    const report = `${CRONTY}: ${dir}/prog: exited with status 0\n`;
    assert.equal(await job(["-L"]), EXPECTED + report);
    assert.equal(await job([]), "err1\nerr2\nout1\nout2\n" + report);
  });
});

Deno.test("-L keeps the user's own LD_PRELOAD, PERL5OPT, RUBYOPT and PYTHONUNBUFFERED", async () => {
  await withTempDir(async (dir) => {
    await buildC(dir);
    // A library of the user's: its constructor says it was loaded.
    await Deno.writeTextFile(
      `${dir}/mine.c`,
      "#include <unistd.h>\n__attribute__((constructor)) static void hello(void) " +
        '{ write(2, "mine\\n", 5); }\n',
    );
    const cc = await run("cc", ["-shared", "-fPIC", "-o", `${dir}/mine.so`, `${dir}/mine.c`]);
    assert.equal(cc.code, 0, cc.err);
    const env = {
      LD_PRELOAD: `${dir}/mine.so`,
      PERL5OPT: "-Mstrict",
      RUBYOPT: "-W0",
      PYTHONUNBUFFERED: "x",
    };
    const r = await run(DTEE, ["-L", "-C", `${dir}/combined`, `${dir}/prog`], { env });
    assert.equal(r.code, 0, r.err);
    assert.equal(await Deno.readTextFile(`${dir}/combined`), `mine\n${EXPECTED}`);

    const seen = await run(DTEE, ["-L", "sh", "-c", "env -u LD_PRELOAD env"], { env });
    const vars = Object.fromEntries(
      seen.out.split("\n").filter((l) => CLEAN.some((n) => l.startsWith(`${n}=`)))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const library = `${ROOT}/rust/target/release/libdtee_linebuf.so`;
    assert.deepEqual(vars, {
      PERL5OPT: `-Mstrict -I${ROOT}/preload -MDteeLineBuffered`,
      RUBYOPT: `-W0 -r${ROOT}/preload/dtee_line_buffered.rb`,
      PYTHONUNBUFFERED: "x",
    });
    const preload = await run(DTEE, ["-L", "sh", "-c", 'printf %s "$LD_PRELOAD"'], { env });
    assert.equal(preload.out, `${dir}/mine.so:${library}`);
  });
});

Deno.test("dtee -L inside dtee -L adds nothing twice, and the inner one keeps the order", async () => {
  await withTempDir(async (dir) => {
    await buildC(dir);
    const vars = 'printf "%s|%s|%s|%s" "$LD_PRELOAD" "$PERL5OPT" "$RUBYOPT" "$PYTHONUNBUFFERED"';
    const once = await run("env", [...unset, DTEE, "-L", "sh", "-c", vars]);
    const twice = await run("env", [...unset, DTEE, "-L", DTEE, "-L", "sh", "-c", vars]);
    assert.equal(twice.code, 0, twice.err);
    assert.equal(twice.out, once.out);
    const r = await run("env", [...unset, DTEE, "-L", DTEE, "-L", "-C", `${dir}/c`, `${dir}/prog`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(await Deno.readTextFile(`${dir}/c`), EXPECTED);
  });
});

Deno.test("-L: a program whose stdout is a file or a pipe keeps its buffer, as on a terminal", async () => {
  await withTempDir(async (dir) => {
    await buildC(dir);
    const script = '"$2" >"$1/file" 2>&1; "$2" 2>&1 | cat';
    const r = await run("env", [
      ...unset,
      DTEE,
      "-L",
      "sh",
      "-c",
      script,
      "sh",
      dir,
      `${dir}/prog`,
    ]);
    assert.equal(r.code, 0, r.err);
    const buffered = "err1\nerr2\nout1\nout2\n";
    assert.equal(await Deno.readTextFile(`${dir}/file`), buffered);
    assert.equal(r.out, buffered);
  });
});

Deno.test("without -L the command's environment is byte for byte dtee's", async () => {
  const env = { LD_PRELOAD: "", PERL5OPT: "-w", RUBYOPT: "", PYTHONUNBUFFERED: "" };
  const direct = await run("env", ["-0"], { env });
  // The native launcher: scripts/dtee is a shell script, which adds PWD.
  const wrapped = await run(LAUNCHER, ["env", "-0"], { env });
  assert.equal(wrapped.code, 0, wrapped.err);
  assert.deepEqual(wrapped.stdout, direct.stdout);
});

Deno.test("-L with --replay is a usage error", async () => {
  const r = await run(DTEE, ["-L", "--replay", "/dev/null"]);
  assert.equal(r.code, 64);
  assert.equal(
    r.err,
    `${DTEE}: option '--replay' cannot be used with option '--line-buffered'\n` +
      `Try '${DTEE} -h' for more information.\n`,
  );
});

Deno.test("-L from a tree that lacks its files says which, 69, cron runs on; under a space it runs", async () => {
  await withTempDir(async (dir) => {
    const tree = `${dir}/a tree`;
    await Deno.mkdir(`${tree}/lib`, { recursive: true });
    for (const file of ["main.ts", "cronty.ts"]) {
      await Deno.copyFile(`${ROOT}/${file}`, `${tree}/${file}`);
    }
    for (const entry of Deno.readDirSync(`${ROOT}/lib`)) {
      await Deno.copyFile(`${ROOT}/lib/${entry.name}`, `${tree}/lib/${entry.name}`);
    }
    const env: Record<string, string> = {
      DTEE_SHIM: `${ROOT}/rust/target/release/libdtee_shim.so`,
    };
    const start = (entry: string, args: string[]) =>
      run(
        Deno.execPath(),
        ["run", "-q", "--allow-ffi", "--allow-env", `${tree}/${entry}`, ...args],
        {
          env,
        },
      );
    const library = `${tree}/rust/target/release/libdtee_linebuf.so`;
    let r = await start("main.ts", ["-L", "sh", "-c", "echo ran"]);
    assert.deepEqual(
      [r.code, r.out, r.err],
      [69, "", `dtee: -L: ${library}: No such file or directory\n`],
    );
    // A cron job runs all the same, with what needs no file.
    r = await start("cronty.ts", [
      "-L",
      "sh",
      "-c",
      'echo "$PYTHONUNBUFFERED${LD_PRELOAD:-none}"; exit 1',
    ]);
    assert.equal(r.code, 69);
    assert.equal(r.out, "1none\n");
    assert.equal(
      r.err,
      `cronty: -L: ${library}: No such file or directory\ncronty: sh: exited with status 1\n`,
    );

    // Complete, the tree under a space has its files copied out for the run (the variables split at spaces).
    await Deno.mkdir(`${tree}/rust/target/release`, { recursive: true });
    await Deno.copyFile(`${ROOT}/rust/target/release/libdtee_linebuf.so`, library);
    await Deno.mkdir(`${tree}/preload`);
    for (const entry of Deno.readDirSync(`${ROOT}/preload`)) {
      await Deno.copyFile(`${ROOT}/preload/${entry.name}`, `${tree}/preload/${entry.name}`);
    }
    await Deno.mkdir(`${dir}/tmp`);
    env.TMPDIR = `${dir}/tmp`;
    const script = "printf 'out1\\nout2\\n' | sed -n 'p; s/out/err/w /dev/stderr'; " +
      'perl -e \'print "out3\\n"; print STDERR "err3\\n"\'';
    r = await start("main.ts", ["-L", "-C", `${dir}/c`, "sh", "-c", script]);
    assert.deepEqual([r.code, r.err], [0, "err1\nerr2\nerr3\n"]);
    assert.equal(await Deno.readTextFile(`${dir}/c`), "out1\nerr1\nout2\nerr2\nout3\nerr3\n");
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
  });
});

Deno.test("README, Why is my output out of order?: each example's job.log is as its comment says", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("\n### Why is my output out of order?\n"));
  const block = /```sh\n([^]*?)```/.exec(section)![1];
  const lines = block.trim().split("\n");
  assert.equal(lines.length, 2);
  for (const line of lines) {
    const [command, comment] = line.split(/\s+# job\.log: /);
    await withTempDir(async (dir) => {
      // dtee on PATH, as installed; nothing in the environment that unbuffers Python already.
      await Deno.mkdir(`${dir}/bin`);
      await Deno.symlink(LAUNCHER, `${dir}/bin/dtee`);
      const r = await run("env", [...unset, `PATH=${dir}/bin:/usr/bin:/bin`, "sh", "-c", command], {
        cwd: dir,
      });
      assert.equal(r.code, 0, r.err);
      assert.equal(
        await Deno.readTextFile(`${dir}/job.log`),
        comment.split(", ").join("\n") + "\n",
      );
    });
  }
});

const { prefix: asUser, skip: noUser } = await unprivileged();
if (noUser) console.log(`linebuf_test: the unprivileged -L test is skipped: ${noUser}`);

Deno.test({
  name: "-L as an unprivileged user: from the tree, and written out by the single binary's entry",
  ignore: noUser !== undefined,
  fn: async () => {
    await withTempDir(async (base) => {
      await Deno.chmod(base, 0o755);
      const dir = `${base}/work`;
      await Deno.mkdir(`${dir}/tmp`, { recursive: true });
      await buildC(dir);
      for (const path of [dir, `${dir}/tmp`]) await Deno.chmod(path, 0o777);
      const env = { TMPDIR: `${dir}/tmp`, HOME: dir, DENO_DIR: `${dir}/deno` };
      const as = (words: string[]) =>
        run(asUser[0] ?? "env", [...asUser.slice(1), "env", ...unset, ...words], { env });
      const entry = [Deno.execPath(), "run", "-q", ...COMPILE_FLAGS, `${ROOT}/compiled_main.ts`];
      for (const dtee of [[LAUNCHER], entry]) {
        const r = await as([...dtee, "-L", "-C", `${dir}/c`, `${dir}/prog`]);
        assert.equal(r.code, 0, r.err);
        assert.equal(await Deno.readTextFile(`${dir}/c`), EXPECTED);
        // What the binary's entry wrote out for the run is gone.
        assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
      }
    });
  },
});
