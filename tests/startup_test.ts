/**
 * What makes dtee start fast (docs/architecture.md, "Performance"): the launcher runs
 * build/dtee.js, the bundle of main.ts and lib/, while it is newer than
 * every module, and main.ts otherwise; the receive loop's symbols are
 * bound with Deno's compiler only once they are hot, and give the same
 * results before and after.
 */
import assert from "node:assert/strict";
import { AS_NOBODY, LAUNCHER, ROOT, run, withTempDir } from "./helpers.ts";
import { close, openOutput, writeAll } from "../lib/ffi.ts";

/** A checkout of copies (modules, scripts, rust sources older than the shim) sharing this one's Deno. */
function checkout(to: string): string {
  const copy = (from: string) => {
    const src = `${ROOT}/${from}`;
    if (Deno.statSync(src).isDirectory) {
      Deno.mkdirSync(`${to}/${from}`, { recursive: true });
      for (const e of Deno.readDirSync(src)) if (e.name !== "state") copy(`${from}/${e.name}`);
    } else {
      Deno.copyFileSync(src, `${to}/${from}`);
    }
  };
  Deno.mkdirSync(`${to}/rust/target/release`, { recursive: true });
  for (const part of ["main.ts", "lib", "scripts", "rust/Cargo.toml", "rust/src"]) copy(part);
  // One time for the shim and the launcher, as the bootstrap leaves them: none is rebuilt.
  const now = new Date();
  for (const built of ["libdtee_shim.so", "dtee"]) {
    copy(`rust/target/release/${built}`);
    Deno.utimeSync(`${to}/rust/target/release/${built}`, now, now);
  }
  Deno.chmodSync(`${to}/rust/target/release/dtee`, 0o755);
  Deno.symlinkSync(Deno.realPathSync(`${ROOT}/.deno`), `${to}/.deno`);
  const old = new Date(Date.now() - 3600_000);
  for (const dir of ["rust/src", "rust/src/bin"]) {
    for (const e of Deno.readDirSync(`${to}/${dir}`)) {
      if (e.isFile) Deno.utimeSync(`${to}/${dir}/${e.name}`, old, old);
    }
  }
  Deno.utimeSync(`${to}/rust/Cargo.toml`, old, old);
  return `${to}/rust/target/release/dtee`;
}

/** The script Deno runs for dtee under `launcher`: the word after the launcher's flags. */
async function script(launcher: string): Promise<string> {
  const r = await run(launcher, ["sh", "-c", 'tr "\\0" "\\n" </proc/$PPID/cmdline']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, "");
  const words = r.out.split("\n");
  return words[words.indexOf("--allow-env") + 1];
}

Deno.test("launcher: the bundle while it is fresh, rebuilt when a module changes, main.ts when it cannot be", async () => {
  await withTempDir(async (dir) => {
    const root = `${dir}/checkout`;
    const launcher = checkout(root);
    assert.equal(await script(launcher), `${root}/build/dtee.js`, "made on first use");
    const made = Deno.statSync(`${root}/build/dtee.js`).mtime!.getTime();

    await new Promise((resolve) => setTimeout(resolve, 20));
    Deno.utimeSync(`${root}/lib/text.ts`, new Date(), new Date());
    assert.equal(await script(launcher), `${root}/build/dtee.js`);
    assert.ok(Deno.statSync(`${root}/build/dtee.js`).mtime!.getTime() > made, "rebuilt");

    // A file where the directory should be: the bundle cannot be made.
    Deno.removeSync(`${root}/build`, { recursive: true });
    Deno.writeTextFileSync(`${root}/build`, "");
    assert.equal(await script(launcher), `${root}/main.ts`);
  });
});

Deno.test("the launcher's own run uses the bundle of this checkout", async () => {
  assert.equal(await script(LAUNCHER), `${ROOT}/build/dtee.js`);
});

Deno.test("a hot symbol gives the same results once bound", async () => {
  await withTempDir((dir) => {
    const opened = openOutput(`${dir}/out`, false);
    assert.ok(opened.ok);
    const line = new TextEncoder().encode("a line\n");
    // Well past the calls after which dtee_write is bound (lib/shim_loader.ts).
    const results = Array.from({ length: 2000 }, () => writeAll(opened.value, line));
    close(opened.value);
    assert.deepEqual(results[0], { ok: true, value: 0 });
    assert.ok(results.every((r) => r.ok && r.value === 0));
    assert.equal(Deno.readTextFileSync(`${dir}/out`), "a line\n".repeat(2000));
    return Promise.resolve();
  });
});

/**
 * A run of the copy at `root` through `prefix` (setpriv, unshare...): how
 * it ended, and the script Deno ran for it (read by the command into a
 * file in `shared`, which anyone may write).
 */
async function runAs(prefix: string[], root: string, shared: string) {
  const seen = `${shared}/cmdline`;
  const job = 'echo ran; tr "\\0" "\\n" </proc/$PPID/cmdline >"$0"';
  const [cmd, ...args] = [...prefix, `${root}/rust/target/release/dtee`, "sh", "-c", job, seen];
  const r = await run(cmd, args);
  const words = Deno.readTextFileSync(seen).split("\n");
  Deno.removeSync(seen);
  return { r, script: words[words.indexOf("--allow-env") + 1] };
}

Deno.test("a stale bundle and shim that cannot be rewritten (not the owner, read-only mount): a silent run of main.ts", async () => {
  await withTempDir(async (dir) => {
    Deno.chmodSync(dir, 0o755);
    const shared = `${dir}/shared`;
    Deno.mkdirSync(shared, { mode: 0o777 });
    Deno.chmodSync(shared, 0o777);
    const root = `${dir}/checkout`;
    assert.equal(await script(checkout(root)), `${root}/build/dtee.js`, "made on first use");
    const bundled = Deno.statSync(`${root}/build/dtee.js`).mtime!.getTime();
    const later = new Date(Date.now() + 5000);
    Deno.utimeSync(`${root}/lib/text.ts`, later, later);
    Deno.utimeSync(`${root}/rust/src/write.rs`, later, later);
    const ways: Record<string, string[]> = {
      "another user": AS_NOBODY,
      "a read-only mount": [
        "unshare",
        "--mount",
        "sh",
        "-c",
        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
        root,
      ],
    };
    for (const [way, prefix] of Object.entries(ways)) {
      for (const round of [1, 2]) {
        const { r, script } = await runAs(prefix, root, shared);
        assert.equal(r.err, "", `${way}, run ${round}`);
        assert.equal(r.code, 0, way);
        assert.equal(r.out, "ran\n", way);
        assert.equal(script, `${root}/main.ts`, way);
      }
    }
    assert.equal(
      Deno.statSync(`${root}/build/dtee.js`).mtime!.getTime(),
      bundled,
      "left as it was",
    );
  });
});
