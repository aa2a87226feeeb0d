/**
 * The checks every way of getting dtee must pass alike (README, "Install"):
 * the single binary, its entry under `deno run`, and `deno run` from
 * a URL. Each way supplies how to start dtee and cronty; the checks run real
 * commands through them.
 */
import assert from "node:assert/strict";
import {
  installed,
  type RunOptions,
  type RunResult,
  unprivileged,
  withTempDir,
} from "./helpers.ts";

export interface Entry {
  /** Starts dtee (or cronty) with `args`. */
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** NAME in its messages. */
  name: string;
}

/** Runs the shared checks as steps of `t`. */
export async function checkEntries(
  t: Deno.TestContext,
  dtee: Entry,
  cronty: Entry,
): Promise<void> {
  await t.step("dtee: both streams pass through and reach -c in order; exit status", async () => {
    await withTempDir(async (dir) => {
      const log = `${dir}/job.log`;
      await Deno.writeTextFile(log, "before\n");
      const script = "echo o1; echo e1 >&2; echo o2; echo e2 >&2; exit 3";
      const r = await dtee.run(["-c", log, "--", "sh", "-c", script]);
      assert.equal(r.code, 3, r.err);
      assert.equal(r.out, "o1\no2\n");
      assert.equal(r.err, "e1\ne2\n");
      assert.equal(await Deno.readTextFile(log), "before\no1\ne1\no2\ne2\n");
    });
  });

  await t.step("cronty: a quiet success prints nothing", async () => {
    const r = await cronty.run(["sh", "-c", "echo held back"]);
    assert.deepEqual([r.code, r.out, r.err], [0, "", ""]);
  });

  await t.step("cronty: a failure prints everything, then how the job ended", async () => {
    const r = await cronty.run(["sh", "-c", "echo held; echo oops >&2; exit 2"]);
    assert.equal(r.code, 2);
    assert.equal(r.out, "held\n");
    assert.equal(r.err, `oops\n${cronty.name}: sh: exited with status 2\n`);
  });

  await t.step(
    "-L: stdio and perl write in order; the files it wrote out are gone after",
    async () => {
      await withTempDir(async (tmp) => {
        const log = `${tmp}/../${tmp.slice(tmp.lastIndexOf("/") + 1)}.log`;
        const script = "printf 'out1\\nout2\\n' | sed -n 'p; s/out/err/w /dev/stderr'; " +
          'perl -e \'print "out3\\n"; print STDERR "err3\\n"\'; printf %s "$LD_PRELOAD" >&2';
        try {
          const r = await dtee.run(["-L", "-C", log, "sh", "-c", script], {
            env: { TMPDIR: tmp, PYTHONUNBUFFERED: "" },
          });
          assert.equal(r.code, 0, r.err);
          // The preload library is a file of the run's own directory in TMPDIR.
          const library = new RegExp(`${tmp}/dtee[0-9A-F]{8}P\\w{6}/libdtee_linebuf\\.so$`);
          assert.match(r.err, library);
          const text = await Deno.readTextFile(log);
          assert.equal(text.replace(library, ""), "out1\nerr1\nout2\nerr2\nout3\nerr3\n");
          assert.deepEqual([...Deno.readDirSync(tmp)], []);
        } finally {
          await Deno.remove(log).catch(() => {});
        }
      });
    },
  );

  await t.step(
    "-L: a command that becomes another user, under a TMPDIR that is relative or has a space or a colon",
    async () => {
      // As root, each program runs as uid 65534 (runuser in a root crontab); else as dtee's user.
      const { prefix } = await unprivileged();
      const as = prefix.join(" ");
      const ruby = installed("ruby");
      const script = "cd /; printf 'c\\n' | " + as + " sed -n p; " + as +
        " perl -e 'print \"perl\\n\"'" +
        (ruby ? `; ${as} ruby -e 'puts "ruby"'` : "");
      const expected = `c\nperl\n${ruby ? "ruby\n" : ""}`;
      await withTempDir(async (tmp) => {
        // A TMPDIR the other user can reach, as /tmp is.
        await Deno.chmod(tmp, 0o755);
        for (const dir of ["relative", "has space", "a:colon"]) {
          await Deno.mkdir(`${tmp}/${dir}`);
          const r = await dtee.run(["-L", "sh", "-c", script], {
            env: { TMPDIR: dir },
            cwd: tmp,
          });
          assert.deepEqual([r.code, r.out, r.err], [0, expected, ""], `TMPDIR=${dir}`);
          assert.deepEqual([...Deno.readDirSync(`${tmp}/${dir}`)], [], `TMPDIR=${dir}`);
          const absolute = await dtee.run(["-L", "sh", "-c", script], {
            env: { TMPDIR: `${tmp}/${dir}` },
          });
          assert.deepEqual([absolute.code, absolute.out, absolute.err], [0, expected, ""], dir);
        }
      });
    },
  );

  await t.step(
    "cronty -L run in place (no sockets): the preload library is still found",
    async () => {
      await withTempDir(async (tmp) => {
        // Too long for a socket's name, not for a directory: the sockets fail, -L's files do not.
        const long = `${tmp}/${"d".repeat(100)}`;
        await Deno.mkdir(long);
        const script = "printf 'out1\\nout2\\n' | sed -n 'p; s/out/err/w /dev/stderr'; exit 1";
        const r = await cronty.run(["-L", "sh", "-c", script], { env: { TMPDIR: long } });
        assert.equal(r.code, 1);
        assert.equal(r.out, "out1\nout2\n");
        assert.match(r.err, /^cronty: input socket: .*\nerr1\nerr2\n$/);
      });
    },
  );

  await t.step("the shim is mapped from a memfd and no file is left behind", async () => {
    await withTempDir(async (tmp) => {
      // The command's parent is dtee itself: its mappings show where the shim came from.
      const r = await dtee.run(["sh", "-c", "cat /proc/$PPID/maps"], { env: { TMPDIR: tmp } });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /\/memfd:dtee-shim \(deleted\)$/m);
      assert.doesNotMatch(r.out, /libdtee_shim/);
      assert.deepEqual([...Deno.readDirSync(tmp)], []);
    });
  });
}
