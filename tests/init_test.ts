/**
 * Init-process duties (docs/behaviour.md B2): dtee as process 1 of a new PID namespace
 * (as in a container), and with --init elsewhere. Real namespaces, signals
 * and orphans.
 */
import assert from "node:assert/strict";
import { CRONTY, DTEE, readText, run, waitUntil, withTempDir } from "./helpers.ts";

/** Whether this machine lets us make a PID namespace (root, unshare present). */
async function namespacesAvailable(): Promise<string | undefined> {
  try {
    const probe = await run("unshare", ["--pid", "--fork", "--mount-proc", "true"]);
    return probe.code === 0 ? undefined : `unshare failed: ${probe.err.trim()}`;
  } catch (e) {
    return `unshare unavailable: ${e}`;
  }
}
const noNamespaces = await namespacesAvailable();
if (noNamespaces) console.log(`skipped: PID 1 tests: ${noNamespaces}`);

/** Prints the pids of the zombie children of process $1 (from inside a command). */
const ZOMBIES_OF = `zombies_of() {
  for f in /proc/[0-9]*/status; do
    awk -v p="$1" '/^State:/ {s = $2} /^PPid:/ {pp = $2} END {if (s == "Z" && pp == p) print FILENAME}' "$f" 2>/dev/null
  done
}`;

/** A command that orphans three short-lived grandchildren, waits for them to exit, counts zombies. */
const ORPHANS = `${ZOMBIES_OF}
for i in 1 2 3; do (sleep 0.1 &); done
sleep 1
echo "zombies: $(zombies_of $PPID | wc -l)"`;

function waitFor(path: string, text: string): Promise<boolean> {
  return waitUntil(`${path} to show ${JSON.stringify(text)}`, () => readText(path).includes(text));
}

Deno.test({
  name: "as PID 1: SIGTERM reaches the command, its last line is captured, dtee exits 0",
  ignore: noNamespaces !== undefined,
  fn: () =>
    withTempDir(async (dir) => {
      const log = `${dir}/log`;
      const script = `trap 'echo got TERM; exit 0' TERM; echo started; sleep 30 & wait`;
      const unshare = new Deno.Command("unshare", {
        args: ["--pid", "--fork", "--mount-proc", DTEE, "-c", log, "sh", "-c", script],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      try {
        await waitFor(log, "started\n");
        // dtee is unshare's only child; from inside the namespace it is process 1.
        const children = await Deno.readTextFile(
          `/proc/${unshare.pid}/task/${unshare.pid}/children`,
        );
        const dtee = Number(children.trim().split(/\s+/)[0]);
        Deno.kill(dtee, "SIGTERM");
        const status = await unshare.output();
        assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
        assert.equal(await Deno.readTextFile(log), "started\ngot TERM\n");
        assert.equal(new TextDecoder().decode(status.stdout), "started\ngot TERM\n");
      } finally {
        try {
          unshare.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }),
});

Deno.test({
  name: "as PID 1: orphaned grandchildren are reaped, none stays a zombie",
  ignore: noNamespaces !== undefined,
  fn: async () => {
    const r = await run("unshare", ["--pid", "--fork", "--mount-proc", DTEE, "sh", "-c", ORPHANS]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "zombies: 0\n");
  },
});

Deno.test({
  name: "as PID 1 in cron mode: the report still follows, with the command's status",
  ignore: noNamespaces !== undefined,
  fn: async () => {
    const r = await run("unshare", [
      "--pid",
      "--fork",
      "--mount-proc",
      CRONTY,
      "sh",
      "-c",
      "echo held; exit 3",
    ]);
    assert.equal(r.code, 3);
    assert.equal(r.out, "held\n");
    assert.equal(r.err, `${CRONTY}: sh: exited with status 3\n`);
  },
});

Deno.test("--init outside PID 1: orphans become dtee's and are reaped", async () => {
  const r = await run(DTEE, ["--init", "sh", "-c", ORPHANS]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, "zombies: 0\n");
});

Deno.test("orphans are re-parented to dtee with --init, and not without", async () => {
  // An orphaned sleep reports its parent; with --init that must be dtee ($PPID).
  const script = `(sleep 0.5 & echo $! >orphan) ; sleep 0.2
    ppid=$(awk '/^PPid:/ {print $2}' /proc/$(cat orphan)/status)
    [ "$ppid" = "$PPID" ] && echo dtee || echo other`;
  await withTempDir(async (dir) => {
    const withInit = await run(DTEE, ["--init", "sh", "-c", script], { cwd: dir });
    const without = await run(DTEE, ["sh", "-c", script], { cwd: dir });
    assert.equal(withInit.out, "dtee\n", withInit.err);
    assert.equal(without.out, "other\n", without.err);
  });
});

Deno.test("--init forwards SIGUSR1 and SIGWINCH to the command and keeps capturing", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/log`;
    const script = `trap 'echo usr1' USR1; trap 'echo winch' WINCH; echo ready
      while :; do sleep 0.05; if [ -f ${dir}/stop ]; then exit 5; fi; done`;
    const child = new Deno.Command(DTEE, {
      args: ["--init", "-c", log, "sh", "-c", script],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await waitFor(log, "ready\n");
    child.kill("SIGUSR1");
    await waitFor(log, "usr1\n");
    child.kill("SIGWINCH");
    await waitFor(log, "winch\n");
    await Deno.writeTextFile(`${dir}/stop`, "");
    const status = await child.output();
    assert.equal(status.code, 5);
    assert.equal(await Deno.readTextFile(log), "ready\nusr1\nwinch\n");
  });
});
