/**
 * The launcher and what the command inherits (docs/behaviour.md A7, "The
 * wrapper is invisible to the command"; README, "Install"): the exact
 * environment and closed descriptors through the native launcher, `deno run
 * main.ts` and `deno run` from a URL; a launcher that prints nothing of its
 * own whatever the environment, writes nothing in HOME, and says once that
 * it uses a stale shim it cannot rebuild.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import {
  CRONTY,
  DTEE,
  exists,
  LAUNCHER,
  ROOT,
  run,
  type RunOptions,
  serve,
  sleep,
  withTempDir,
} from "./helpers.ts";
import { URL_RUN_FLAGS } from "../scripts/release.ts";
import { OPTIONS } from "../lib/cli.ts";

const DENO = `${ROOT}/.deno/bin/deno`;
const MAIN_FLAGS = ["run", "-q", "--no-config", "--no-lock", "--allow-ffi", "--allow-env"];

/**
 * Execs argv with exactly the environment block `env` (entries as bytes:
 * any order, duplicates, no `=`, not UTF-8), which neither a shell nor
 * Deno.Command can give. python3 is a test dependency already (core tests).
 */
const EXECVE = `
import ctypes, sys
n = int(sys.argv[1])
env = [bytes.fromhex(e) for e in sys.argv[2:2 + n]]
argv = [a.encode() for a in sys.argv[2 + n:]]
array = lambda xs: (ctypes.c_char_p * (len(xs) + 1))(*xs, None)
ctypes.CDLL(None).execve(argv[0], array(argv), array(env))
sys.exit(127)
`;

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const bytesOf = (text: string) => new TextEncoder().encode(text);

function withExactEnv(env: Uint8Array[], argv: string[], options: RunOptions = {}) {
  return run("python3", ["-c", EXECVE, String(env.length), ...env.map(hex), ...argv], options);
}

/** The block `env -0` prints for `entries`: each one followed by a NUL. */
function block(entries: Uint8Array[]): Uint8Array {
  return new Uint8Array(entries.flatMap((e) => [...e, 0]));
}

/** Odd entries in a deliberate order: names that are no identifiers, no `=`, duplicates, bytes that are not UTF-8, an empty entry. */
function oddEntries(extra: string[] = []): Uint8Array[] {
  return [
    bytesOf("Z=first"),
    bytesOf("1bad=x"),
    bytesOf("a b=c d"),
    bytesOf("NOEQUALS"),
    bytesOf(""),
    bytesOf("DUP=1"),
    bytesOf("DUP=2"),
    new Uint8Array([0xff, 0x3d, 0xfe]),
    bytesOf("A=last"),
    ...extra.map(bytesOf),
  ];
}

/** The ways to start dtee on `args` that these tests compare. */
const WAYS: Record<string, { argv: (args: string[]) => string[]; extra: string[] }> = {
  launcher: { argv: (args) => [LAUNCHER, ...args], extra: [] },
  "deno run main.ts": {
    argv: (args) => [DENO, ...MAIN_FLAGS, `${ROOT}/main.ts`, ...args],
    // Deno needs a cache; the command sees the variable like any other.
    extra: [`DENO_DIR=${ROOT}/.deno/dir`],
  },
};

for (const [way, { argv, extra }] of Object.entries(WAYS)) {
  Deno.test(`${way}: the command's environment is byte for byte dtee's`, async () => {
    // Without PATH (Deno then puts its node shim first in its own PATH,
    // and the command is still found on the default path) and with one.
    for (const path of [[], ["PATH=/usr/bin:/bin"]]) {
      const entries = oddEntries([...extra, ...path]);
      const r = await withExactEnv(entries, argv(["env", "-0"]));
      equal(r.err, "", way);
      equal(r.code, 0, way);
      deepStrictEqual(r.stdout, block(entries), `${way} ${path}`);
    }
  });

  Deno.test(`${way}: a closed stdin is closed for the command, an open one stays open`, async () => {
    const closed = await run("sh", ["-c", 'exec 0<&-; exec "$@"', "sh", ...argv(["cat"])], {
      env: { DENO_DIR: `${ROOT}/.deno/dir` },
    });
    equal(closed.code, 1, closed.err);
    match(closed.err, /^cat: -: Bad file descriptor$/m);
    const open = await run("sh", ["-c", 'exec "$@" </dev/null', "sh", ...argv(["cat"])], {
      env: { DENO_DIR: `${ROOT}/.deno/dir` },
    });
    deepStrictEqual([open.code, open.err], [0, ""]);
  });
}

Deno.test("launcher: a closed stderr stays closed for a command it execs in place", async () => {
  // In cron mode with no usable TMPDIR dtee execs the command in place (docs/behaviour.md A4).
  const r = await run("sh", [
    "-c",
    'exec 2>&-; exec "$@"',
    "sh",
    LAUNCHER,
    "-q",
    "sh",
    "-c",
    "if [ -e /proc/$$/fd/2 ]; then echo open; else echo closed; fi",
  ], { env: { TMPDIR: "/nonexistent/dir" } });
  equal(r.code, 0);
  equal(r.out, "closed\n");
});

/** Variables aimed at other programs, or broken, that must change nothing. */
function hostileEnv(dir: string): Record<string, string> {
  Deno.writeTextFileSync(`${dir}/rc`, "echo sourced rc\n");
  return {
    LC_ALL: "de_DE.UTF-8",
    BASH_ENV: `${dir}/rc`,
    ENV: `${dir}/rc`,
    DENO_V8_FLAGS: "--bogus",
    DENO_LOG: "debug",
    RUST_LOG: "trace",
    RUST_BACKTRACE: "full",
    NO_COLOR: "1",
    DENO_DIR: `${dir}/not-for-dtee`,
  };
}

const SHOW =
  'printf "%s|" "$LC_ALL" "$BASH_ENV" "$DENO_V8_FLAGS" "$DENO_LOG" "$RUST_LOG" "$DENO_DIR"';

for (const way of ["launcher", "scripts/dtee"]) {
  Deno.test(`${way}: silent and unchanged whatever the environment; the variables reach the command`, async () => {
    await withTempDir(async (bin) => {
      let [dtee, cronty] = [DTEE, CRONTY];
      if (way === "launcher") {
        [dtee, cronty] = [LAUNCHER, `${bin}/cronty`];
        Deno.symlinkSync(LAUNCHER, cronty);
      }
      await withTempDir(async (dir) => {
        const env = hostileEnv(dir);
        const r = await run(dtee, ["-c", `${dir}/log`, "sh", "-c", SHOW], { env });
        const shown = [env.LC_ALL, env.BASH_ENV, "--bogus", "debug", "trace", env.DENO_DIR];
        deepStrictEqual([r.code, r.out, r.err], [0, shown.map((v) => `${v}|`).join(""), ""]);
        equal(Deno.readTextFileSync(`${dir}/log`), r.out);
        // Cron mode, quiet success: nothing at all.
        const q = await run(cronty, ["true"], { env });
        deepStrictEqual([q.code, q.out, q.err], [0, "", ""]);
        // Nothing was made in the DENO_DIR aimed at other programs.
        deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["log", "rc"]);
      });
    });
  });
}

Deno.test("launcher: a run writes nothing in HOME", async () => {
  await withTempDir(async (dir) => {
    const home = `${dir}/home`;
    Deno.mkdirSync(home);
    const r = await run(LAUNCHER, ["sh", "-c", "echo ok"], { env: { HOME: home } });
    deepStrictEqual([r.code, r.out, r.err], [0, "ok\n", ""]);
    // Without PATH too, where Deno would put its node shim into HOME's cache.
    const env = [`HOME=${home}`].map(bytesOf);
    const bare = await withExactEnv(env, [LAUNCHER, "env", "-0"]);
    deepStrictEqual([bare.code, bare.err], [0, ""]);
    deepStrictEqual([...Deno.readDirSync(home)], []);
  });
});

Deno.test("launcher: NAME is argv[0] as given, also through a symlink found in PATH", async () => {
  await withTempDir(async (dir) => {
    Deno.symlinkSync(LAUNCHER, `${dir}/cronty`);
    const r = await run("sh", ["-c", "cronty sh -c 'echo oops >&2; exit 4'"], {
      env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
    });
    deepStrictEqual([r.code, r.err], [4, "oops\ncronty: sh: exited with status 4\n"]);
  });
});

Deno.test("launcher: runs the pinned Deno, not the first deno on PATH", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/deno`, `#!/bin/sh\ntouch ${dir}/ran\nexit 99\n`);
    Deno.chmodSync(`${dir}/deno`, 0o755);
    for (const dtee of [LAUNCHER, DTEE]) {
      const r = await run(dtee, ["sh", "-c", "echo ok"], {
        env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
      });
      deepStrictEqual([r.code, r.out, r.err], [0, "ok\n", ""]);
    }
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["deno"]);
  });
});

/** A copy of the checkout's runnable parts, sharing its Deno, with mtimes that make the shim fresh. */
function copyCheckout(to: string): void {
  const copy = (from: string) => {
    const src = `${ROOT}/${from}`;
    if (Deno.statSync(src).isDirectory) {
      Deno.mkdirSync(`${to}/${from}`, { recursive: true });
      for (const e of Deno.readDirSync(src)) {
        // Podman's private storage (scripts/containers/state) is no part of the checkout.
        if (e.name !== "state") copy(`${from}/${e.name}`);
      }
    } else {
      Deno.copyFileSync(src, `${to}/${from}`);
    }
  };
  Deno.mkdirSync(`${to}/rust/target/release`, { recursive: true });
  for (const part of ["main.ts", "cronty.ts", "lib", "scripts", "rust/Cargo.toml", "rust/src"]) {
    copy(part);
  }
  for (const built of ["libdtee_shim.so", "dtee"]) copy(`rust/target/release/${built}`);
  Deno.chmodSync(`${to}/rust/target/release/dtee`, 0o755);
  Deno.symlinkSync(Deno.realPathSync(`${ROOT}/.deno`), `${to}/.deno`);
  const old = new Date(Date.now() - 3600_000);
  for (const e of Deno.readDirSync(`${to}/rust/src`)) {
    if (e.isFile) Deno.utimeSync(`${to}/rust/src/${e.name}`, old, old);
  }
  Deno.utimeSync(`${to}/rust/src/bin/dtee.rs`, old, old);
  Deno.utimeSync(`${to}/rust/Cargo.toml`, old, old);
}

const noCargo = ["/usr/bin/cargo", "/bin/cargo", "/usr/local/bin/cargo"].some((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (noCargo) {
  console.log("launcher_test: cargo in /usr/bin or /usr/local/bin: stale-shim test skipped");
}

Deno.test({
  name: "launcher: a stale shim without cargo is used, and said so once per change of the sources",
  ignore: noCargo,
  fn: async () => {
    await withTempDir(async (dir) => {
      const root = `${dir}/checkout`;
      copyCheckout(root);
      Deno.mkdirSync(`${dir}/home`);
      const env = { PATH: "/usr/bin:/bin", HOME: `${dir}/home` };
      const launcher = `${root}/rust/target/release/dtee`;
      const job = () => run(launcher, ["sh", "-c", "echo ran"], { env });
      const fresh = await job();
      deepStrictEqual([fresh.code, fresh.out, fresh.err], [0, "ran\n", ""], "a fresh shim");

      const touch = () => Deno.utimeSync(`${root}/rust/src/write.rs`, new Date(), new Date());
      touch();
      const first = await job();
      deepStrictEqual([first.code, first.out], [0, "ran\n"]);
      match(
        first.err,
        /^dtee bootstrap: cargo not found: using the existing rust\/target\/release\/libdtee_shim\.so \(said once until rust\/ changes again\)\n$/,
      );
      for (let i = 0; i < 2; i++) {
        const again = await job();
        deepStrictEqual([again.code, again.out, again.err], [0, "ran\n", ""], "said only once");
      }
      // Through the shell entry as well.
      const script = await run(`${root}/scripts/dtee`, ["true"], { env });
      deepStrictEqual([script.code, script.err], [0, ""]);
      await sleep(20);
      touch();
      const changed = await job();
      match(changed.err, /cargo not found/, "said again after the sources changed");
      deepStrictEqual([...Deno.readDirSync(`${dir}/home`)], []);
    });
  },
});

Deno.test("deno run from a URL: the command's environment and closed stdin are dtee's", async () => {
  await withTempDir(async (dir) => {
    const web = `${dir}/web`;
    const built = await run(`${ROOT}/scripts/dist`, [web], { timeoutMs: 300_000 });
    equal(built.code, 0, built.err);
    const server = serve(web);
    try {
      const url = `http://127.0.0.1:${server.addr.port}/main.ts`;
      const argv = (args: string[]) => [DENO, "run", ...URL_RUN_FLAGS, url, ...args];
      const entries = oddEntries([`DENO_DIR=${dir}/deno-dir`]);
      const r = await withExactEnv(entries, argv(["env", "-0"]));
      deepStrictEqual([r.code, r.err], [0, ""]);
      deepStrictEqual(r.stdout, block(entries));
      const closed = await run("sh", ["-c", 'exec 0<&-; exec "$@"', "sh", ...argv(["cat"])], {
        env: { DENO_DIR: `${dir}/deno-dir` },
      });
      equal(closed.code, 1, closed.err);
      match(closed.err, /^cat: -: Bad file descriptor$/m);
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("scripts/cronty needs no readlink(1): a cron job's PATH may have no coreutils", async () => {
  await withTempDir(async (dir) => {
    Deno.symlinkSync("/usr/bin/env", `${dir}/env`);
    const r = await run("/usr/bin/env", ["-i", `PATH=${dir}`, CRONTY, "env"]);
    deepStrictEqual([r.code, r.out, r.err], [0, "", ""]);
    const failing = await run("/usr/bin/env", ["-i", `PATH=${dir}`, CRONTY, "env", "false"]);
    equal(failing.code, 127);
    match(failing.err, /exited with status 127\n$/);
  });
});

Deno.test("the command gets the limit of open files dtee was started with, not the runtime's raised one", async () => {
  const r = await run("bash", ["-c", 'ulimit -Sn 1000; "$1" sh -c "ulimit -Sn"', "bash", DTEE]);
  deepStrictEqual([r.code, r.out, r.err], [0, "1000\n", ""]);
});

Deno.test("below the open files Deno needs: the soft limit is raised for Deno alone; a hard one is one line, 69, and cron mode runs the command in place", async () => {
  await withTempDir(async (dir) => {
    const under = (limit: string, ...words: string[]) =>
      run("bash", ["-c", `ulimit ${limit}; exec "$@"`, "bash", ...words]);
    // Soft only: Deno gets room, the command the limit dtee was started with.
    for (const soft of ["6", "12", "19"]) {
      const r = await under(`-Sn ${soft}`, LAUNCHER, "sh", "-c", "ulimit -Sn");
      deepStrictEqual([r.code, r.out, r.err], [0, `${soft}\n`, ""], `soft ${soft}`);
    }
    // The launcher itself: scripts/cronty, run by dash, needs 12 descriptors of its own.
    const cronty = `${dir}/cronty`;
    Deno.symlinkSync(LAUNCHER, cronty);
    for (const hard of ["6", "12", "19"]) {
      const why = `${hard} open files allowed (ulimit -n), dtee needs 20: Too many open files\n`;
      const ran = `${dir}/ran${hard}`;
      const r = await under(`-n ${hard}`, LAUNCHER, "-o", `${dir}/out`, "touch", ran);
      deepStrictEqual([r.code, r.out, r.err], [69, "", `${LAUNCHER}: ${why}`], `hard ${hard}`);
      equal(exists(ran), false, "the command ran");
      // In place: the command's own status, its output straight through, no report.
      const q = await under(
        `-n ${hard}`,
        cronty,
        "-o",
        `${dir}/out`,
        "sh",
        "-c",
        'touch "$0"; echo out; exit 3',
        ran,
      );
      deepStrictEqual(
        [q.code, q.out, q.err],
        [3, "out\n", `${cronty}: ${why}`],
        `cron, hard ${hard}`,
      );
      equal(exists(ran), true, "the cron job did not run");
    }
    const missing = await under("-n 12", LAUNCHER, "-q", "no-such-command");
    deepStrictEqual(
      [missing.code, missing.err.split("\n")[1]],
      [66, `${LAUNCHER}: no-such-command: No such file or directory`],
    );
  });
});

Deno.test("under a file size limit Deno's caches stay in memory: dtee runs, the command and the outputs keep the limit", async () => {
  await withTempDir(async (dir) => {
    const r = await run("bash", [
      "-c",
      `ulimit -f 20; "$1" -o "$2" bash -c 'ulimit -f; head -c 30000 /dev/zero >/dev/null'`,
      "bash",
      LAUNCHER,
      `${dir}/out`,
    ]);
    deepStrictEqual([r.code, r.signal, r.out, r.err], [0, null, "20\n", ""]);
    equal(Deno.readTextFileSync(`${dir}/out`), "20\n");
  });
});

Deno.test("the launcher skips the values of exactly the options of lib/cli.ts's table that take one", () => {
  // The launcher finds the command words without Deno when Deno cannot
  // start (a low ulimit -n): its lists must follow the option table.
  const source = Deno.readTextFileSync(`${ROOT}/rust/src/bin/dtee.rs`);
  const shorts = source.match(/const SHORT_WITH_VALUE: &\[u8\] = b"([^"]*)";/)?.[1] ?? "";
  const longs = source.match(/const LONG_WITH_VALUE: &\[&\[u8\]\] = &\[([^\]]*)\];/)?.[1] ?? "";
  const valued = OPTIONS.filter((d) => d.file || d.arg);
  deepStrictEqual(
    [...shorts].sort(),
    valued.flatMap((d) => d.short ? [d.short] : []).sort(),
    "SHORT_WITH_VALUE",
  );
  deepStrictEqual(
    [...longs.matchAll(/b"([^"]+)"/g)].map((m) => m[1]).sort(),
    valued.map((d) => d.long).sort(),
    "LONG_WITH_VALUE",
  );
});
