/**
 * The first run of a fresh clone (README, first paragraph): the bootstrap says what it builds,
 * says every 5 s that it is still at it and for how long, and ends with a line saying it is done
 * and how long it took, all on stderr; the run after it says nothing.
 *
 * cargo is a stand-in here that takes 6 s and then puts this checkout's built shim, preload
 * library and launcher where cargo would: what is tested is the bootstrap's reporting, and a real
 * build would take 15 to 25 s of a shared machine's two cores for the same lines. The real build
 * runs in every fresh checkout's first `scripts/test`.
 */
import assert from "node:assert/strict";
import { freshClone, ROOT, run, withTempDir } from "./helpers.ts";

Deno.test("first run: progress while it builds, then how long it took; later runs are silent", async () => {
  await withTempDir(async (dir) => {
    const clone = `${dir}/clone`;
    await freshClone(clone);
    await Deno.mkdir(`${dir}/bin`);
    const release = `${ROOT}/rust/target/release`;
    await Deno.writeTextFile(
      `${dir}/bin/cargo`,
      `#!/bin/sh
# cargo COMMAND --quiet --release --manifest-path ROOT/rust/Cargo.toml ARGS...
out=$(dirname "$5")/target/release
mkdir -p "$out"
case " $* " in
*" --lib "*) sleep 6; cp "${release}/libdtee_shim.so" "${release}/libdtee_linebuf.so" "$out/" ;;
*" --bin dtee "*) cp "${release}/dtee" "$out/" ;;
esac
`,
    );
    await Deno.chmod(`${dir}/bin/cargo`, 0o755);
    const env = { PATH: `${dir}/bin:/usr/bin:/bin`, HOME: dir };
    const first = await run(`${clone}/scripts/dtee`, ["sh", "-c", "echo hi"], {
      env,
      timeoutMs: 120_000,
    });
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, "hi\n");
    assert.match(
      first.err,
      new RegExp(
        "^dtee bootstrap: building rust/target/release/libdtee_shim\\.so \\(cargo build --release\\)\n" +
          "dtee bootstrap: still building \\(5 s so far\\)\n" +
          "dtee bootstrap: building rust/target/release/dtee, the native launcher\n" +
          "dtee bootstrap: done in ([0-9]+\\.[0-9]) s; later runs start at once\n$",
      ),
    );
    const took = Number(first.err.match(/done in ([0-9.]+) s/)![1]);
    assert.ok(took >= 6, `done in ${took} s, though cargo alone took 6 s`);

    const again = await run(`${clone}/scripts/dtee`, ["sh", "-c", "echo hi"], { env });
    assert.deepEqual([again.code, again.out, again.err], [0, "hi\n", ""]);
  });
});
