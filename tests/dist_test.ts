/**
 * `deno run` from a URL: `deno task dist` lays out a directory, a loopback
 * HTTP server publishes it, and dtee and cronty run from it with a fresh
 * DENO_DIR (nothing cached) and exactly the flags the README gives.
 */
import assert from "node:assert/strict";
import { checkEntries } from "./entry_checks.ts";
import { ROOT, run, serve, waitUntil, withTempDir } from "./helpers.ts";
import { URL_RUN_FLAGS } from "../scripts/release.ts";
import { PLATFORM, SHIM_FILE } from "../lib/shim_loader.ts";

Deno.test("dtee and cronty run from a URL with nothing but Deno", async (t) => {
  await withTempDir(async (dir) => {
    const web = `${dir}/web`;
    const built = await run(`${ROOT}/scripts/dist`, [web], { timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.err);
    assert.ok(Deno.statSync(`${web}/shim/${PLATFORM}/${SHIM_FILE}`).isFile);
    // Only what main.ts and cronty.ts import: not the single binary's entry.
    assert.throws(() => Deno.statSync(`${web}/compiled_main.ts`), Deno.errors.NotFound);

    const server = serve(web);
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      // A fresh module cache: every module and the shim come over HTTP.
      const env = { DENO_DIR: `${dir}/deno-dir` };
      const entry = (module: string, flags = URL_RUN_FLAGS) => ({
        run: (args: string[], options: { env?: Record<string, string> } = {}) =>
          run(Deno.execPath(), ["run", ...flags, `${base}/${module}`, ...args], {
            ...options,
            env: { ...env, ...options.env },
          }),
        name: module.replace(/\.ts$/, ""),
      });

      await checkEntries(t, entry("main.ts"), entry("cronty.ts"));

      await t.step("without --unstable-raw-imports, it says which flag is missing", async () => {
        const flags = URL_RUN_FLAGS.filter((f) => f !== "--unstable-raw-imports");
        const r = await entry("main.ts", flags).run(["true"]);
        assert.notEqual(r.code, 0);
        assert.match(r.err, /cannot load the shim for .*\(run deno with --unstable-raw-imports\)/);
      });

      await t.step("a platform missing from the layout fails, saying which", async () => {
        await Deno.rename(`${web}/shim/${PLATFORM}`, `${web}/shim-away`);
        try {
          // Its own cache: the shim is already in the shared one.
          const r = await entry("main.ts").run(["true"], {
            env: { DENO_DIR: `${dir}/deno-dir-2` },
          });
          assert.notEqual(r.code, 0);
          assert.match(r.err, new RegExp(`cannot load the shim for ${PLATFORM} from .*not found`));
        } finally {
          await Deno.rename(`${web}/shim-away`, `${web}/shim/${PLATFORM}`);
        }
      });

      await t.step("a layout without -L's files runs, and -L says what is missing", async () => {
        await Deno.rename(`${web}/preload`, `${dir}/preload-away`);
        try {
          const env = { DENO_DIR: `${dir}/deno-dir-3` };
          const plain = await entry("main.ts").run(["true"], { env });
          assert.deepEqual([plain.code, plain.err], [0, ""]);
          const r = await entry("main.ts").run(["-L", "true"], { env });
          assert.equal(r.code, 69, r.err);
          assert.match(r.err, /^dtee: -L: cannot load http:.*\/preload\/.*not found.*\n$/i);
          // A cron job runs all the same.
          const cron = await entry("cronty.ts").run(["-L", "sh", "-c", "echo ran"], { env });
          assert.equal(cron.code, 69);
          assert.match(cron.out, /^ran\n$/);
        } finally {
          await Deno.rename(`${dir}/preload-away`, `${web}/preload`);
        }
      });

      await t.step("the README gives exactly these flags", async () => {
        const readme = await Deno.readTextFile(`${ROOT}/README.md`);
        assert.ok(readme.includes(`deno run ${URL_RUN_FLAGS.join(" ")} https://HOST/PATH/main.ts`));
      });
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("the README's one-line server publishes dist/web so that deno run works", async () => {
  await withTempDir(async (dir) => {
    const readme = await Deno.readTextFile(`${ROOT}/README.md`);
    const section = readme.slice(readme.indexOf("#### Serving dist/web"));
    const line = section.match(/```sh\n(cd dist\/web && python3 -c .*)\n```/)![1];
    const web = `${dir}/dist/web`;
    const built = await run(`${ROOT}/scripts/dist`, [web], { timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.err);
    // A port nobody uses instead of the README's 8000, which the machine may not have free.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    const server = new Deno.Command("sh", {
      // exec: the server is then the child that is stopped at the end.
      args: [
        "-c",
        line.replace("&& python3", "&& exec python3").replace("port=8000", `port=${port}`),
      ],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const base = `http://127.0.0.1:${port}`;
      const type = await waitUntil(
        "the server to answer",
        async () => {
          try {
            const r = await fetch(`${base}/main.ts`, { method: "HEAD" });
            return r.headers.get("content-type");
          } catch {
            return undefined;
          }
        },
        10_000,
        50,
      );
      assert.equal(type, "application/typescript");
      const r = await run(Deno.execPath(), [
        "run",
        ...URL_RUN_FLAGS,
        `${base}/main.ts`,
        "-L",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
      ], { env: { DENO_DIR: `${dir}/deno-dir` }, timeoutMs: 60_000 });
      assert.deepEqual([r.code, r.out, r.err], [3, "out\n", "err\n"]);
    } finally {
      server.kill("SIGTERM");
      await server.status;
    }
  });
});
