/**
 * The single binary (`deno task compile`). Building it needs a local Deno
 * runtime (DENORT_BIN), which cannot be downloaded here, so the binary
 * itself is tested only when DENORT_BIN is set. Everything it does that
 * `deno run main.ts` does not is tested regardless: its entry,
 * compiled_main.ts, runs under `deno run` with exactly the flags baked
 * into the binary (the embedded shim loaded through a memfd, argv[0] as
 * NAME and for cron mode), the temporary-file fallback of the loader, and
 * the task's refusal without DENORT_BIN.
 */
import assert from "node:assert/strict";
import { checkEntries } from "./entry_checks.ts";
import { ROOT, run, tempPattern, withTempDir } from "./helpers.ts";
import { COMPILE_FLAGS } from "../scripts/release.ts";
import { SHIM_FILE, viaMemfd, viaTempFile } from "../lib/shim_loader.ts";
import { ABI_VERSION } from "../lib/abi.ts";
import { symbols } from "../lib/symbols.ts";

const ENTRY = `${ROOT}/compiled_main.ts`;
const DENORT_BIN = Deno.env.get("DENORT_BIN");

/** `deno run` of the binary's entry with the binary's flags, with argv[0] set to `argv0`. */
function entryAs(argv0: string) {
  return (args: string[], options = {}) =>
    run("bash", [
      "-c",
      'exec -a "$0" "$@"',
      argv0,
      Deno.execPath(),
      "run",
      "-q",
      ...COMPILE_FLAGS,
      ENTRY,
      ...args,
    ], options);
}

Deno.test("the binary's entry under deno run, with the binary's flags", async (t) => {
  // As with `deno run main.ts`, argv[0] `deno` gives NAME dtee; a cronty
  // symlink to the binary gives argv[0] cronty and so cron mode.
  await checkEntries(
    t,
    { run: entryAs("deno"), name: "dtee" },
    { run: entryAs("cronty"), name: "cronty" },
  );

  await t.step("$DTEE_SHIM still wins over the embedded shim", async () => {
    const shim = `${ROOT}/rust/target/release/${SHIM_FILE}`;
    const r = await entryAs("deno")(["sh", "-c", "cat /proc/$PPID/maps"], {
      env: { DTEE_SHIM: shim },
    });
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.includes(shim));
    assert.doesNotMatch(r.out, /memfd:dtee-shim/);
  });
});

const abiVersion = { dtee_abi_version: symbols.dtee_abi_version };

/** What bind() in lib/ffi.ts does after loading: dlopen the same path again for one more symbol. */
function strsignalVia(path: string): string {
  const buf = new Uint8Array(64);
  const lib = Deno.dlopen(path, { dtee_strsignal: symbols.dtee_strsignal });
  const n = lib.symbols.dtee_strsignal(15, buf, BigInt(buf.length));
  return new TextDecoder().decode(buf.subarray(0, n));
}

Deno.test("memfd loading: close-on-exec, and its path keeps naming the library", () => {
  const bytes = Deno.readFileSync(`${ROOT}/rust/target/release/${SHIM_FILE}`);
  let version = 0;
  const path = viaMemfd(bytes, (p) => {
    version = Deno.dlopen(p, abiVersion).symbols.dtee_abi_version();
  });
  assert.ok(path, "memfd_create is available on this kernel");
  assert.equal(version, ABI_VERSION);
  const fd = path.slice(path.lastIndexOf("/") + 1);
  assert.equal(Deno.readLinkSync(path), "/memfd:dtee-shim (deleted)");
  const flags = /^flags:\s*(\d+)$/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`));
  assert.ok(flags && (parseInt(flags[1], 8) & 0o2000000) !== 0, "O_CLOEXEC");
  assert.equal(strsignalVia(path), "Terminated");
});

Deno.test("temporary-file fallback: private while loaded, gone right after", () => {
  const bytes = Deno.readFileSync(`${ROOT}/rust/target/release/${SHIM_FILE}`);
  const dir = Deno.makeTempDirSync({ prefix: "dtee-test-" });
  try {
    let mode = 0;
    const path = viaTempFile(bytes, (p) => {
      mode = Deno.statSync(p).mode! & 0o777;
      assert.equal(Deno.dlopen(p, abiVersion).symbols.dtee_abi_version(), ABI_VERSION);
    }, dir);
    assert.equal(mode, 0o700);
    assert.match(path, new RegExp(`^${tempPattern("L", dir, Deno.pid)}$`));
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // The file is gone, yet the path still names the loaded library, as bind() needs.
    assert.equal(strsignalVia(path), "Terminated");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("deno task compile without DENORT_BIN says why and builds nothing", async () => {
  await withTempDir(async (dir) => {
    const env = Deno.env.toObject();
    delete env.DENORT_BIN;
    const out = await new Deno.Command(`${ROOT}/scripts/compile`, {
      args: [`${dir}/out`],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0);
    assert.match(err, /not built: DENORT_BIN is not set/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

const skipReason = DENORT_BIN ? undefined : "DENORT_BIN is not set: deno compile needs a local " +
  "Deno runtime (denort) and this environment cannot download one";
if (skipReason) console.log(`compile_test: the compiled binary's test is skipped: ${skipReason}`);

Deno.test({
  name: "the compiled dtee and cronty run real commands",
  ignore: skipReason !== undefined,
  async fn(t) {
    await withTempDir(async (dir) => {
      const built = await run(`${ROOT}/scripts/compile`, [dir], { timeoutMs: 300_000 });
      assert.equal(built.code, 0, built.err);
      assert.equal(Deno.readLinkSync(`${dir}/cronty`), "dtee");
      const binary = (path: string) => ({
        run: (args: string[], options = {}) => run(path, args, options),
        name: path,
      });
      await checkEntries(t, binary(`${dir}/dtee`), binary(`${dir}/cronty`));
    });
  },
});
