/**
 * The shim against the world outside dtee, end to end through scripts/dtee
 * (docs/behaviour.md A6, A7): commands found and run as execvp(3) would,
 * odd signal states inherited from a supervisor, zero-length writes, the
 * failing stage of a spawn, and error texts in the user's locale.
 */

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  CRONTY,
  DTEE,
  ended,
  exists,
  readText,
  ROOT,
  run,
  tempName,
  waitUntil,
  withTempDir,
} from "./helpers.ts";

const FAILPOINT_SHIM = `${ROOT}/rust/target/failpoints/release/libdtee_shim.so`;

/** Starts `argv` from a python3 that first sets up a signal state, then execs. */
function python(setup: string, argv: string[], env?: Record<string, string>) {
  const code = `import os, signal, sys\n${setup}\nos.execvp(sys.argv[1], sys.argv[1:])`;
  return run("python3", ["-c", code, ...argv], { env });
}

/** The mask of a `SigXxx:` line of /proc/PID/status text, as a bigint. */
function sigMask(status: string, field: string): bigint {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(status);
  ok(m, `no ${field} in ${JSON.stringify(status)}`);
  return BigInt(`0x${m[1]}`);
}

const bit = (signal: number) => 1n << BigInt(signal - 1);

// --- Found and run as execvp does -------------------------------------------

Deno.test("an executable script without #! runs under /bin/sh, by path and through PATH", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/plain`, 'echo "ran $0 $1"; echo oops >&2; exit 5\n', {
      mode: 0o755,
    });
    const env = { PATH: `${dir}/missing:${dir}:${Deno.env.get("PATH")}` };
    for (const command of [`${dir}/plain`, "plain"]) {
      const log = `${dir}/log-${command.length}`;
      const r = await run(DTEE, ["-c", log, command, "arg"], { env });
      ended(r, 5, `ran ${dir}/plain arg\n`, "oops\n", command);
      equal(Deno.readTextFileSync(log), `ran ${dir}/plain arg\noops\n`);
    }
  });
});

Deno.test("a file found without execute permission: EACCES is remembered along PATH", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/a`);
    Deno.mkdirSync(`${dir}/b`);
    Deno.writeTextFileSync(`${dir}/a/dtee-x`, "echo never\n", { mode: 0o644 });
    const env = { PATH: `${dir}/a:${dir}/b:${Deno.env.get("PATH")}` };
    ended(await run(DTEE, ["dtee-x"], { env }), 66, "", `${DTEE}: dtee-x: Permission denied\n`);
    // A later match in PATH runs, as execvp goes on after EACCES.
    Deno.writeTextFileSync(`${dir}/b/dtee-x`, "echo later; exit 9\n", { mode: 0o755 });
    ended(await run(DTEE, ["dtee-x"], { env }), 9, "later\n", "");
  });
});

Deno.test("cron mode's exec in place (no sockets) also runs a script without #!", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/plain`, 'echo "ran $0"; exit 4\n', { mode: 0o755 });
    // An unusable TMPDIR: no capture, so the job runs in dtee's place.
    const tmp = `${dir}/no-such-tmp`;
    const r = await run(CRONTY, [`${dir}/plain`], { env: { TMPDIR: tmp } });
    equal(r.code, 4, r.err);
    equal(r.out, `ran ${dir}/plain\n`);
    // Both of the C tool's lines: the buffer file's, then the socket directory's.
    const message = `${CRONTY}: unable to create temporary file ${tempName("O", tmp, r.pid)}: `;
    ok(r.err.startsWith(message), r.err);
    ok(r.err.includes(`: unable to create temporary directory ${tempName("I", tmp, r.pid)}: `));
  });
});

// --- Signals inherited from whoever started dtee ----------------------------

Deno.test("started with SIGCHLD ignored: the command's status, and SIGCHLD default for it", async () => {
  const setup = "signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n" +
    "signal.signal(signal.SIGUSR1, signal.SIG_IGN)";
  const r = await python(setup, [DTEE, "sh", "-c", "cat /proc/self/status; exit 3"]);
  equal(r.code, 3, r.err);
  equal(r.err, "");
  const ignored = sigMask(r.out, "SigIgn");
  equal(ignored & bit(17), 0n, "SIGCHLD is not ignored in the command");
  // python3 ignores SIGPIPE and execs dtee so: the command gets it ignored too, as under
  // the C tool, like any inherited SIG_IGN dtee has no business with.
  equal(ignored & bit(13), bit(13), "SIGPIPE stays ignored");
  equal(ignored & bit(10), bit(10), "SIGUSR1 stays ignored");
  equal(sigMask(r.out, "SigBlk"), 0n, "the command starts with an empty mask");
});

Deno.test("cron mode started with SIGTERM blocked: SIGTERM is reported and dtee dies by it", async () => {
  await withTempDir(async (dir) => {
    const ready = `${dir}/ready`;
    const code = "import os, signal, sys\n" +
      "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n" +
      "os.execvp(sys.argv[1], sys.argv[1:])";
    const child = new Deno.Command("python3", {
      args: [
        "-c",
        code,
        CRONTY,
        "sh",
        "-c",
        // The command itself starts with nothing blocked.
        'echo held; grep SigBlk /proc/self/status > "$1"; exec sleep 10',
        "sh",
        ready,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const mask = await waitUntil("the command to start", () => readText(ready) || undefined);
    equal(sigMask(mask, "SigBlk"), 0n, "the command's mask");
    const started = Date.now();
    // python3 exec'd the launcher, which exec'd Deno: the same pid is dtee.
    Deno.kill(child.pid, "SIGTERM");
    const { code: status, signal, stdout, stderr } = await child.output();
    ok(Date.now() - started < 5_000, "dtee took the signal at once");
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    deepStrictEqual({ status, signal, out: decode(stdout), err: decode(stderr) }, {
      status: 143,
      signal: "SIGTERM",
      out: "held\n",
      err: `${CRONTY}: received signal 15: Terminated\n`,
    });
  });
});

// --- Zero-length writes ------------------------------------------------------

Deno.test("a zero-length write reaches an outer cronty through dtee, which then reports", async () => {
  const write = ["python3", "-c", "import os; os.write(2, b'')"];
  const r = await run(CRONTY, [DTEE, ...write]);
  ended(r, 0, "", `${CRONTY}: ${DTEE}: exited with status 0\n`);
  // And nothing at all when the job writes nothing.
  ended(await run(CRONTY, [DTEE, "python3", "-c", "pass"]), 0, "", "");
});

// --- Which stage of a spawn failed ------------------------------------------

Deno.test("fork and exec failures are told apart by the stage, not guessed from the errno", async () => {
  const failing = (spec: string, launcher = DTEE) =>
    run(launcher, ["sh", "-c", "echo ran"], {
      env: { DTEE_SHIM: FAILPOINT_SHIM, DTEE_FAILPOINTS: spec },
    });
  // EAGAIN from exec (the guess took any EAGAIN for fork's).
  ended(await failing("exec=1:11"), 66, "", `${DTEE}: sh: Resource temporarily unavailable\n`);
  ended(
    await failing("exec=1:12", CRONTY),
    66,
    "",
    `${CRONTY}: sh: Cannot allocate memory\n${CRONTY}: sh: exited with status 66\n`,
  );
  ended(await failing("fork=1:11"), 71, "", `${DTEE}: fork: Resource temporarily unavailable\n`);
  ended(await failing("fork=1:1", CRONTY), 71, "", `${CRONTY}: fork: Operation not permitted\n`);
  // A real exec failure, no failpoint.
  const missing = await run(DTEE, ["dtee-no-such-command"]);
  ended(missing, 66, "", `${DTEE}: dtee-no-such-command: No such file or directory\n`);
});

// --- Error texts in the user's locale ----------------------------------------

const FRENCH_CATALOGUE = "/usr/share/locale/fr/LC_MESSAGES/libc.mo";
const noFrench = !exists(FRENCH_CATALOGUE) || !exists("/usr/share/i18n/locales/fr_FR");
if (noFrench) {
  console.log(
    `skip: locale tests need glibc's French catalogue ${FRENCH_CATALOGUE} and the fr_FR ` +
      "locale source (Debian packages libc-l10n and locales)",
  );
}

/** Builds `names` (e.g. fr_FR.UTF-8) with localedef into `dir`, for LOCPATH. */
async function buildLocales(dir: string, names: string[]): Promise<void> {
  await Promise.all(names.map(async (name) => {
    const [input, charmap] = name.split(".");
    const r = await run("localedef", ["-i", input, "-f", charmap, `${dir}/${name}`], {
      timeoutMs: 120_000,
    });
    ok(exists(`${dir}/${name}/LC_MESSAGES`), `localedef ${name}: ${r.out} ${r.err}`);
  }));
}

/** The LC_MESSAGES locale the shim says it follows, in a fresh process with `env`. */
async function messagesLocale(env: Record<string, string>): Promise<string> {
  const code = `import { messagesLocale } from "${ROOT}/lib/ffi.ts";\n` +
    "console.log(messagesLocale());";
  const r = await run(Deno.execPath(), ["eval", "--no-config", code], { env });
  equal(r.err, "");
  return r.out.trim();
}

Deno.test({
  name: "strerror and strsignal texts follow LANG, LC_ALL, LC_MESSAGES and LANGUAGE",
  ignore: noFrench,
  fn: () =>
    withTempDir(async (dir) => {
      await buildLocales(dir, ["fr_FR.UTF-8", "en_US.UTF-8"]);
      const french = { LOCPATH: dir, LANG: "fr_FR.UTF-8" };
      const missing = await run(DTEE, ["/nonexistent"], { env: french });
      ended(missing, 66, "", `${DTEE}: /nonexistent: Aucun fichier ou dossier de ce type\n`);
      const killed = await run(CRONTY, ["sh", "-c", "kill -TERM $$"], { env: french });
      ended(killed, 143, "", `${CRONTY}: sh: process terminated by signal 15: Complété\n`);
      equal(await messagesLocale(french), "fr_FR.UTF-8");

      // LC_ALL wins over LANG, LC_MESSAGES over LANG.
      const english = "No such file or directory";
      for (
        const [env, text] of [
          [{ LOCPATH: dir, LANG: "fr_FR.UTF-8", LC_ALL: "C" }, english],
          [{ LOCPATH: dir, LANG: "C", LC_MESSAGES: "fr_FR.UTF-8" }, "Aucun fichier"],
          // gettext's LANGUAGE list, once the locale is not C.
          [{ LOCPATH: dir, LANG: "en_US.UTF-8", LANGUAGE: "fr" }, "Aucun fichier"],
          [{ LOCPATH: dir, LANG: "C", LANGUAGE: "fr" }, english],
          // An uninstalled locale: as setlocale fails, the texts stay C ones.
          [{ LOCPATH: dir, LC_ALL: "xx_XX.UTF-8" }, english],
        ] as const
      ) {
        const r = await run(DTEE, ["/nonexistent"], { env });
        equal(r.code, 66);
        // Only dtee's own line: what the launcher's shell says of an
        // uninstalled locale is not the shim's business.
        const line = r.err.split("\n").find((l) => l.startsWith(`${DTEE}: /nonexistent: `));
        ok(line?.startsWith(`${DTEE}: /nonexistent: ${text}`), `${JSON.stringify(env)}: ${r.err}`);
      }
      equal(await messagesLocale({ LOCPATH: dir, LANG: "en_US.UTF-8" }), "en_US.UTF-8");
      equal(await messagesLocale({ LOCPATH: dir, LC_ALL: "xx_XX.UTF-8" }), "C");
      equal(await messagesLocale({ LOCPATH: dir, LC_ALL: "", LANG: "", LC_MESSAGES: "" }), "C");
    }),
});

Deno.test("--version says License under en_US, as the C tool does, and Licence otherwise", async () => {
  await withTempDir(async (dir) => {
    await buildLocales(dir, ["en_US.UTF-8", "en_GB.UTF-8"]);
    for (
      const [lang, word] of [["en_US.UTF-8", "License"], ["en_GB.UTF-8", "Licence"], [
        "C",
        "Licence",
      ]]
    ) {
      const r = await run(DTEE, ["-V"], { env: { LOCPATH: dir, LANG: lang, LC_ALL: "" } });
      equal(r.code, 0, r.err);
      equal(r.out.split("\n")[2], `${word} MIT: <https://opensource.org/license/mit>.`, lang);
    }
  });
});
