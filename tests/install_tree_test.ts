/**
 * scripts/install (README, "Install"): from a fresh clone of this checkout into a temporary
 * prefix, the clone then deleted; dtee and cronty under cron's environment (`env -i
 * PATH=/usr/bin:/bin`, no HOME), as a user who cannot write the prefix, and from a read-only
 * prefix, writing nothing; the man pages through `man -M`; `--uninstall` (run from the installed
 * tree, the clone being gone) leaves nothing.
 *
 * The clone (tests/helpers.ts, freshClone) gets this checkout's uncommitted changes and its built
 * Deno, shim, launcher and bundle: what is tested is this work tree's state, installed the way a
 * clone installs it, in about a second instead of a build.
 */
import assert from "node:assert/strict";
import { AS_NOBODY, freshClone, run, type RunResult, withTempDir } from "./helpers.ts";

const CRON_PATH = "/usr/bin:/bin";

/** Every path under `dir` with its size and modification time, one per line. */
async function snapshot(dir: string): Promise<string[]> {
  const r = await run("find", [dir, "-printf", "%p %s %T@ %m\n"]);
  assert.equal(r.code, 0, r.err);
  return r.out.split("\n").filter((l) => l !== "").sort();
}

/** Runs `words` as cron would: nothing in the environment but PATH (and `env`), from /. */
function asCron(
  words: string[],
  as: { nobody?: boolean; env?: string[] } = {},
): Promise<RunResult> {
  const user = as.nobody ? AS_NOBODY : [];
  const [cmd, ...args] = [...user, "env", "-i", `PATH=${CRON_PATH}`, ...as.env ?? [], ...words];
  return run(cmd, args, { cwd: "/" });
}

/** The checks every installed command must pass: dtee with a log, cronty silent and reporting. */
async function checkCommands(
  bin: string,
  logDir: string,
  as: { nobody?: boolean; env?: string[] } = {},
): Promise<void> {
  const log = `${logDir}/job.log`;
  const script = "echo o1; echo e1 >&2; echo o2; exit 3";
  const d = await asCron([`${bin}/dtee`, "-c", log, "--", "sh", "-c", script], as);
  assert.deepEqual([d.code, d.out, d.err], [3, "o1\no2\n", "e1\n"]);
  assert.equal(await Deno.readTextFile(log), "o1\ne1\no2\n");
  await Deno.remove(log);
  const quiet = await asCron([`${bin}/cronty`, "sh", "-c", "echo held back"], as);
  assert.deepEqual([quiet.code, quiet.out, quiet.err], [0, "", ""]);
  const failed = await asCron([`${bin}/cronty`, "sh", "-c", script], as);
  assert.deepEqual([failed.code, failed.out, failed.err], [
    3,
    "o1\no2\n",
    `e1\n${bin}/cronty: sh: exited with status 3\n`,
  ]);
  // -L's files come from the tree (its real path): every one exists and is readable.
  const preloads = 'for f in $LD_PRELOAD; do test -r "$f" || exit 9; done; echo "$LD_PRELOAD"';
  const linebuf = await asCron([`${bin}/dtee`, "-L", "sh", "-c", preloads], as);
  assert.equal(linebuf.code, 0, linebuf.err);
  assert.equal(
    linebuf.out,
    `${
      Deno.realPathSync(bin.replace(/bin$/, "lib/dtee"))
    }/rust/target/release/libdtee_linebuf.so\n`,
  );
}

Deno.test("scripts/install from a fresh clone: runs under cron, unprivileged, read-only; --uninstall leaves nothing", async (t) => {
  await withTempDir(async (dir) => {
    // Traversable by the unprivileged user, as /usr/local is.
    await Deno.chmod(dir, 0o755);
    const clone = `${dir}/clone`;
    const prefix = `${dir}/prefix`;
    const bin = `${prefix}/bin`;
    await freshClone(clone, { built: true });
    const installed = await run(`${clone}/scripts/install`, ["--prefix", prefix], {
      timeoutMs: 300_000,
    });
    assert.equal(installed.code, 0, installed.err);
    assert.match(installed.err, /^dtee install: installed .* in [0-9.]+ s\n$/);

    await t.step(
      "installing again replaces the tree whole; a -L job keeps the one it started from",
      async () => {
        const stray = `${prefix}/lib/dtee/lib/gone.ts`;
        await Deno.writeTextFile(stray, "");
        const first = Deno.readLinkSync(`${prefix}/lib/dtee`);
        // Perl started after the install still loads -L's module from the tree before.
        const job = run(`${prefix}/bin/dtee`, [
          "-L",
          "sh",
          "-c",
          `while [ ! -e ${dir}/installed ]; do sleep 0.05; done; perl -e 'print "perl ran\\n"'`,
        ]);
        const again = await run(`${clone}/scripts/install`, ["--prefix", prefix]);
        assert.equal(again.code, 0, again.err);
        await Deno.writeTextFile(`${dir}/installed`, "");
        assert.deepEqual(await job.then((r) => [r.code, r.out, r.err]), [0, "perl ran\n", ""]);
        assert.throws(() => Deno.statSync(stray), Deno.errors.NotFound);
        // PREFIX/lib/dtee is a link to the tree, swapped in one rename; the tree
        // before stays until the next install, and those before it go.
        const trees = () => [...Deno.readDirSync(`${prefix}/lib`)].map((e) => e.name).sort();
        const second = Deno.readLinkSync(`${prefix}/lib/dtee`);
        assert.deepEqual(trees(), [first, second, "dtee"].sort());
        const third = await run(`${clone}/scripts/install`, ["--prefix", prefix]);
        assert.equal(third.code, 0, third.err);
        const last = Deno.readLinkSync(`${prefix}/lib/dtee`);
        assert.deepEqual(trees(), [second, last, "dtee"].sort());
      },
    );

    await t.step("as a user, by default into ~/.local", async () => {
      const home = `${dir}/home`;
      await Deno.mkdir(home);
      await Deno.chown(home, 65534, 65534);
      const user = await run(AS_NOBODY[0], [
        ...AS_NOBODY.slice(1),
        "env",
        "-i",
        `PATH=${CRON_PATH}`,
        `HOME=${home}`,
        `${clone}/scripts/install`,
      ]);
      assert.equal(user.code, 0, user.err);
      const r = await asCron([`${home}/.local/bin/cronty`, "sh", "-c", "echo oops >&2"], {
        nobody: true,
      });
      assert.deepEqual([r.code, r.out, r.err], [
        0,
        "",
        `oops\n${home}/.local/bin/cronty: sh: exited with status 0\n`,
      ]);
    });
    await Deno.remove(clone, { recursive: true });
    const layout = (await snapshot(prefix)).map((l) => l.split(" ")[0].slice(prefix.length));
    const expected = [
      ...["/bin/dtee", "/bin/cronty", "/share/man/man1/dtee.1", "/share/man/man1/cronty.1"],
      ...["/share/doc/dtee/jsonlog.md", "/lib/dtee"],
    ];
    for (const path of expected) {
      assert.ok(layout.includes(path), `${path} missing: ${layout.join(" ")}`);
    }

    await t.step("under cron's environment, the clone gone", async () => {
      await checkCommands(bin, dir);
    });

    await t.step(
      "as a user who cannot write the prefix, HOME missing: nothing written",
      async () => {
        const tmp = `${dir}/tmp`;
        await Deno.mkdir(tmp, { mode: 0o1777 });
        await Deno.chmod(tmp, 0o1777);
        const before = await snapshot(prefix);
        await checkCommands(bin, tmp, {
          nobody: true,
          env: ["HOME=/nonexistent", `TMPDIR=${tmp}`],
        });
        assert.deepEqual(await snapshot(prefix), before);
        // The socket directory is dtee's one file at run time, and it is gone.
        assert.deepEqual([...Deno.readDirSync(tmp)], []);
      },
    );

    await t.step("from a read-only prefix (a read-only bind mount, as root)", async () => {
      const script = `mount --bind -o ro "$1" "$1" && mount -o remount,bind,ro "$1" &&
        ! touch "$1/x" 2>/dev/null && cd / && exec env -i PATH=${CRON_PATH} "$1/bin/cronty" sh -c 'echo out; echo err >&2'`;
      const r = await run("unshare", ["-m", "sh", "-c", script, "sh", prefix]);
      assert.deepEqual([r.code, r.out, r.err], [
        0,
        "out\n",
        `err\n${bin}/cronty: sh: exited with status 0\n`,
      ]);
    });

    await t.step("as root on a writable prefix: no file appears or grows", async () => {
      const shape = async () => (await snapshot(prefix)).map((l) => l.split(" ").slice(0, 2));
      const before = await shape();
      await checkCommands(bin, dir);
      assert.deepEqual(await shape(), before);
    });

    await t.step("man -M PREFIX/share/man renders both pages", async () => {
      for (const page of ["dtee", "cronty"]) {
        const r = await run("man", ["-M", `${prefix}/share/man`, page], {
          env: { MANPAGER: "cat", PAGER: "cat", MANWIDTH: "80", LANG: "C.UTF-8" },
        });
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, new RegExp(`^${page.toUpperCase()}\\(1\\)`));
        assert.match(r.out, /^FILES\n.*PREFIX\/share\/doc\/dtee\/jsonlog\.md/ms);
      }
    });

    await t.step("--uninstall, from the installed tree, leaves nothing", async () => {
      const r = await run(`${prefix}/lib/dtee/scripts/install`, [
        "--prefix",
        prefix,
        "--uninstall",
      ]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual([...Deno.readDirSync(prefix)], []);
    });
  });
});
