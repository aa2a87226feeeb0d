/**
 * dtee as a container's entrypoint in a real container engine (docs/behaviour.md B2; README,
 * "Container image"). podman builds the image with the README's own command, downloading nothing
 * (scripts/containers/context lays out the build context), the README's run example runs as
 * written, and every check runs for dtee as process 1 and, as the anchor, for podman's own init
 * (catatonit, `--init`) with a shell entrypoint: dtee must do no worse on any. The results and times are printed as a table at the
 * end. Skipped, with the reason, where scripts/containers/setup cannot make podman usable.
 */
import assert from "node:assert/strict";
import { ROOT, run, type RunResult, sleep, waitUntil, withTempDir } from "./helpers.ts";

const PODMAN = `${ROOT}/scripts/containers/podman`;
/** What the README's build command tags (`-t dtee`). */
const IMAGE = "localhost/dtee:latest";

/**
 * The README's container example (README, "Container image"): the build command, then the run
 * command. The tests build the image with the first and run the second as they are written.
 */
function readmeExample(): { build: string; run: string } {
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("### Container image"));
  const block = section.match(/```sh\n([^]*?)```/)![1];
  const [build, run, ...rest] = block.trim().split("\n");
  assert.deepEqual(rest, [], "the README's container example is two commands");
  // "A container entrypoint" shows the same run.
  const use = readme.slice(readme.indexOf("### A container entrypoint"));
  assert.ok(use.includes(`\n${run}\n`), "the README's two container examples differ");
  return { build, run };
}

/**
 * Runs a README command with `sh` in `dir`, as a user in a checkout would (`scripts/` there is
 * this checkout's), with `podman` being this checkout's (its private storage, scripts/containers/
 * podman; a function, so that the real podman it runs is still found in PATH).
 */
async function asInReadme(dir: string, command: string): Promise<RunResult> {
  await Deno.symlink(`${ROOT}/scripts`, `${dir}/scripts`);
  return run("sh", ["-c", `podman() { "${PODMAN}" "$@"; }\n${command}`], {
    cwd: dir,
    timeoutMs: 300_000,
  });
}

function podman(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return run(PODMAN, args, { timeoutMs });
}

/** Why the container tests cannot run here, or undefined when they can. */
async function unusable(): Promise<string | undefined> {
  try {
    // Fast when done; makes the base image (about 40 s) when only that is missing.
    const setup = await run(`${ROOT}/scripts/containers/setup`, [], { timeoutMs: 300_000 });
    return setup.code === 0 ? undefined : setup.err.trim();
  } catch (e) {
    return String(e);
  }
}
const skip = await unusable();
if (skip) console.log(`skipped: container tests: podman is not usable here: ${skip}`);

/** How one init starts a command (its words) in `podman run`, with `dir` mounted at /logs. */
interface Variant {
  name: string;
  args(dir: string, words: string[]): string[];
  /** dtee's own copy of the output, which the anchor has no counterpart for. */
  log?: string;
}

const DTEE: Variant = {
  name: "dtee (PID 1)",
  args: (dir, words) => ["-v", `${dir}:/logs`, IMAGE, "-c", "/logs/job.log", "--", ...words],
  log: "job.log",
};
/** The first word as the image's entrypoint (instead of dtee), after podman's `extra` options. */
const entrypoint = (extra: string[]) => (dir: string, words: string[]) => [
  ...["-v", `${dir}:/logs`, ...extra],
  ...["--entrypoint", words[0], IMAGE, ...words.slice(1)],
];
const CATATONIT: Variant = { name: "catatonit (--init)", args: entrypoint(["--init"]) };
/** No init: `exec sleep` as process 1, which never waits. Shows that the zombie count can fail. */
const NONE: Variant = { name: "no init (control)", args: entrypoint([]) };
/** cronty as process 1: the same image, the cron-mode name as its entrypoint. */
const CRONTY: Variant = {
  name: "cronty (PID 1)",
  args: (dir, words) => entrypoint([])(dir, ["cronty", ...words]),
};

interface Row {
  result: string;
  ms: number;
}
const table = new Map<string, Map<string, Row>>();

/** Runs one check for one variant as a step, recording its result (or failure) and time. */
async function check(
  t: Deno.TestContext,
  name: string,
  variant: Variant,
  fn: (dir: string) => Promise<string>,
): Promise<void> {
  await t.step(variant.name, () =>
    withTempDir(async (dir) => {
      const row = table.get(name) ?? new Map<string, Row>();
      table.set(name, row);
      const start = performance.now();
      try {
        const result = await fn(dir);
        row.set(variant.name, { result, ms: performance.now() - start });
      } catch (e) {
        row.set(variant.name, { result: "FAILED", ms: performance.now() - start });
        throw e;
      }
    }));
}

/** Runs check() for each of `variants`, each in a fresh container. */
async function inContainers(
  t: Deno.TestContext,
  name: string,
  variants: Variant[],
  fn: (c: Container, variant: Variant, dir: string) => Promise<string>,
): Promise<void> {
  for (const variant of variants) {
    await check(t, name, variant, (dir) => withContainer((c) => fn(c, variant, dir)));
  }
}

let serial = 0;

/** A detached container, removed by `remove()`. */
class Container {
  readonly name = `dtee-test-${Deno.pid}-${++serial}`;

  async start(variant: Variant, dir: string, words: string[]): Promise<this> {
    const r = await podman([
      "run",
      "-d",
      "--name",
      this.name,
      "--network=none",
      ...variant.args(dir, words),
    ]);
    assert.equal(r.code, 0, r.err);
    return this;
  }

  /** What the container wrote so far, its stdout and stderr apart. */
  async logs(): Promise<{ out: string; err: string }> {
    const r = await podman(["logs", this.name]);
    assert.equal(r.code, 0, r.err);
    return { out: r.out, err: r.err };
  }

  waitForLog(text: string): Promise<boolean> {
    return waitUntil(
      `${this.name} to print ${JSON.stringify(text)}`,
      async () => {
        const { out, err } = await this.logs();
        return out.includes(text) || err.includes(text);
      },
      20_000,
      50,
    );
  }

  /** Waits for the container to end; its exit status. */
  async status(): Promise<number> {
    const r = await podman(["wait", this.name]);
    assert.equal(r.code, 0, r.err);
    return Number(r.out.trim());
  }

  async remove(): Promise<void> {
    await podman(["rm", "-f", "-t", "0", this.name]);
  }
}

async function withContainer<T>(fn: (c: Container) => Promise<T>): Promise<T> {
  const c = new Container();
  try {
    return await fn(c);
  } finally {
    await c.remove();
  }
}

/** Starts `words` in `c`, waits for `started`, then stops it with `podman stop -t grace`: ms taken. */
async function startThenStop(
  c: Container,
  variant: Variant,
  dir: string,
  words: string[],
  grace: number,
): Promise<number> {
  await c.start(variant, dir, words);
  await c.waitForLog("started\n");
  const start = performance.now();
  const stop = await podman(["stop", "-t", String(grace), c.name]);
  const took = ms(start);
  assert.equal(stop.code, 0, stop.err);
  return took;
}

async function readLog(variant: Variant, dir: string): Promise<string | undefined> {
  return variant.log ? await Deno.readTextFile(`${dir}/${variant.log}`) : undefined;
}

const ms = (start: number) => Math.round(performance.now() - start);

let built = false;
const test = (name: string, fn: (t: Deno.TestContext) => Promise<void>) =>
  Deno.test({
    name,
    ignore: skip !== undefined,
    fn: async (t) => {
      assert.ok(built, "the image was not built");
      await fn(t);
    },
  });

Deno.test({
  name: "container: the image builds with the README's command, downloading nothing",
  ignore: skip !== undefined,
  fn: async () => {
    await withTempDir(async (dir) => {
      // An image left from an earlier run must not stand in for this one.
      await podman(["rmi", "-f", IMAGE]);
      const b = await asInReadme(dir, readmeExample().build);
      assert.equal(b.code, 0, b.err);
      // --pull=never: the base image came from the local store, or the build failed.
      assert.match(b.out, /Successfully tagged localhost\/dtee:latest/);
      built = true;
    });
  },
});

test("container: the README's run example, as written", async () => {
  await withTempDir(async (dir) => {
    const r = await asInReadme(dir, readmeExample().run);
    assert.deepEqual([r.code, r.out, r.err], [3, "started\n", "warning\n"]);
    assert.equal(await Deno.readTextFile(`${dir}/logs/job.log`), "started\nwarning\n");
  });
});

test("container: exit status, both streams, the log in order", async (t) => {
  const words = ["sh", "-c", "echo a; echo b >&2; exit 7"];
  for (const variant of [DTEE, CATATONIT]) {
    await check(t, "status 7, streams, log", variant, async (dir) => {
      const r = await podman(["run", "--rm", "--network=none", ...variant.args(dir, words)]);
      assert.deepEqual([r.code, r.out, r.err], [7, "a\n", "b\n"]);
      const log = await readLog(variant, dir);
      if (log !== undefined) assert.equal(log, "a\nb\n");
      return `7, a / b${log === undefined ? "" : ", log a b"}`;
    });
  }
});

test("container: -L: a stdio program's and perl's lines in order, in the image's tree", async () => {
  // sed and perl are in the base image; both buffer stdout without -L.
  const script = "printf 'out1\\nout2\\n' | sed -n 'p; s/out/err/w /dev/stderr'; " +
    'perl -e \'print "out3\\n"; print STDERR "err3\\n"\'';
  await withTempDir(async (dir) => {
    const logs = [];
    for (const flags of [["-L"], []]) {
      const args = ["-v", `${dir}:/logs`, IMAGE, ...flags, "-C", "/logs/job.log", "sh", "-c"];
      const r = await podman(["run", "--rm", "--network=none", ...args, script]);
      assert.equal(r.code, 0, r.err);
      logs.push(await Deno.readTextFile(`${dir}/job.log`));
    }
    assert.deepEqual(logs, [
      "out1\nerr1\nout2\nerr2\nout3\nerr3\n",
      "err1\nerr2\nout1\nout2\nerr3\nout3\n",
    ]);
  });
});

test("container: messages name the program as invoked, dtee or cronty", async () => {
  for (
    const [entrypoint, name] of [["dtee", "dtee"], [
      "cronty",
      "cronty",
    ]]
  ) {
    const r = await podman([
      "run",
      "--rm",
      "--network=none",
      "--entrypoint",
      entrypoint,
      IMAGE,
      "no-such-command",
    ]);
    assert.equal(r.code, 66, r.err);
    assert.match(r.err, new RegExp(`^${name}: no-such-command: No such file or directory\n`));
  }
});

test("container: podman stop -t 10: the command's last words, within 2 s", async (t) => {
  const words = ["sh", "-c", "trap 'echo last words; exit 3' TERM; echo started; sleep 30 & wait"];
  await inContainers(t, "stop -t 10 (trap TERM)", [DTEE, CATATONIT], async (c, variant, dir) => {
    const took = await startThenStop(c, variant, dir, words, 10);
    assert.ok(took < 2000, `the container took ${took} ms to stop`);
    assert.equal(await c.status(), 3);
    assert.equal((await c.logs()).out, "started\nlast words\n");
    const log = await readLog(variant, dir);
    if (log !== undefined) assert.equal(log, "started\nlast words\n");
    return `3, last words, stop ${took} ms`;
  });
});

test("container: a command that ignores SIGTERM: SIGKILL after the grace period, no later", async (t) => {
  // A 2 s grace period instead of 10 keeps the test short; what counts is what comes after.
  const words = ["sh", "-c", "trap '' TERM; echo started; sleep 30"];
  await inContainers(t, "stop -t 2 (TERM ignored)", [DTEE, CATATONIT], async (c, variant, dir) => {
    const took = await startThenStop(c, variant, dir, words, 2);
    assert.ok(took >= 2000, `stopped after ${took} ms: the command did not ignore SIGTERM`);
    assert.ok(took < 3500, `the container lived ${took - 2000} ms past the grace period`);
    assert.equal(await c.status(), 137);
    const log = await readLog(variant, dir);
    if (log !== undefined) assert.equal(log, "started\n");
    return `137 (SIGKILL), stop ${took} ms`;
  });
});

test("container: orphans that exit leave no zombie", async (t) => {
  // Three grandchildren orphaned at once; `exec sleep` leaves the init alone to reap them.
  const words = ["sh", "-c", "for i in 1 2 3; do (sleep 0.2 &); done; echo forked; exec sleep 30"];
  // Zombies, and live sleeps: the orphans until they exit, plus the `sleep 30`.
  const count = `z=0 s=0
    for f in /proc/[0-9]*/status; do
      st=$(sed -n 's/^State:[[:space:]]*\\(.\\).*/\\1/p' "$f" 2>/dev/null)
      name=$(sed -n 's/^Name:[[:space:]]*//p' "$f" 2>/dev/null)
      [ "$st" = Z ] && z=$((z + 1))
      [ "$st" != Z ] && [ "$name" = sleep ] && s=$((s + 1))
    done
    echo "$z $s"`;
  await inContainers(
    t,
    "zombies after 3 orphans exit",
    [DTEE, CATATONIT, NONE],
    async (c, variant, dir) => {
      await c.start(variant, dir, words);
      await c.waitForLog("forked\n");
      // Long enough for the orphans to be sleeping (no longer `sh`); then until they are gone.
      await sleep(400);
      let [zombies, sleeping] = [-1, -1];
      for (let i = 0; i < 50; i++) {
        const r = await podman(["exec", c.name, "sh", "-c", count]);
        assert.equal(r.code, 0, r.err);
        [zombies, sleeping] = r.out.trim().split(" ").map(Number);
        if (sleeping === 1 && (variant === NONE || zombies === 0)) break;
        await sleep(100);
      }
      assert.equal(sleeping, 1, "the orphans did not exit");
      assert.equal(zombies, variant === NONE ? 3 : 0);
      return `${zombies} zombies`;
    },
  );
});

test("container: podman kill -s INT, HUP, USR1 reach the command", async (t) => {
  const signals = ["INT", "HUP", "USR1"];
  const traps = signals.map((s) => `trap 'echo got ${s}' ${s};`).join(" ");
  const words = ["sh", "-c", `${traps} echo ready; while :; do sleep 0.1; done`];
  await inContainers(t, "kill -s INT, HUP, USR1", [DTEE, CATATONIT], async (c, variant, dir) => {
    await c.start(variant, dir, words);
    await c.waitForLog("ready\n");
    for (const signal of signals) {
      const k = await podman(["kill", "-s", signal, c.name]);
      assert.equal(k.code, 0, k.err);
      await c.waitForLog(`got ${signal}\n`);
    }
    const expected = `ready\n${signals.map((s) => `got ${s}\n`).join("")}`;
    assert.equal((await c.logs()).out, expected);
    const log = await readLog(variant, dir);
    if (log !== undefined) assert.equal(log, expected);
    return "all three forwarded";
  });
});

test("container: cronty as entrypoint: silent on success, the report on failure", async (t) => {
  await check(t, "cronty: quiet success", CRONTY, (dir) =>
    withContainer(async (c) => {
      await c.start(CRONTY, dir, ["sh", "-c", "echo held back"]);
      assert.equal(await c.status(), 0);
      assert.deepEqual(await c.logs(), { out: "", err: "" });
      return "0, nothing logged";
    }));
  await check(t, "cronty: failure report", CRONTY, (dir) =>
    withContainer(async (c) => {
      await c.start(CRONTY, dir, ["sh", "-c", "echo held; echo oops >&2; exit 2"]);
      assert.equal(await c.status(), 2);
      assert.deepEqual(await c.logs(), {
        out: "held\n",
        err: "oops\ncronty: sh: exited with status 2\n",
      });
      return "2, held + oops + report";
    }));
});

test("container: dtee does no worse than catatonit on any check (the table)", () => {
  const variants = [DTEE, CATATONIT, NONE, CRONTY].map((v) => v.name);
  const lines = [
    `| check | ${variants.join(" | ")} |`,
    `| --- | ${variants.map(() => "---").join(" | ")} |`,
    ...[...table].map(([name, row]) =>
      `| ${name} | ${
        variants.map((v) => {
          const cell = row.get(v);
          return cell ? `${cell.result} (${Math.round(cell.ms)} ms)` : "—";
        }).join(" | ")
      } |`
    ),
  ];
  console.log(lines.join("\n"));
  for (const [name, row] of table) {
    const anchor = row.get(CATATONIT.name);
    if (!anchor || anchor.result === "FAILED") continue;
    const ours = row.get(DTEE.name);
    assert.ok(ours && ours.result !== "FAILED", `${name}: catatonit passed, dtee did not`);
    // Whole-check times include Deno's start; a stop that lingers would show here.
    assert.ok(ours.ms < anchor.ms + 1000, `${name}: ${ours.ms} ms against ${anchor.ms} ms`);
  }
  return Promise.resolve();
});
