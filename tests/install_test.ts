/**
 * Installs (README, "Install"): `deno install -g` from the published layout (`deno task
 * dist`, served on loopback as in tests/dist_test.ts), and the man pages: generated from the
 * option table that `--help` is rendered from (lib/cli.ts), checked in unchanged, naming every
 * option of the grammar, clean under `mandoc -T lint` and readable with `man -l`.
 */
import assert from "node:assert/strict";
import { checkEntries } from "./entry_checks.ts";
import { ROOT, run, serve, withTempDir } from "./helpers.ts";
import { INSTALL_FLAGS } from "../scripts/release.ts";
import { manPage, PAGES, visibleOptions } from "../docs/man/man.ts";
import { helpText, OPTIONS, parse } from "../lib/cli.ts";

Deno.test("deno install -g from the published layout: dtee and cronty", async (t) => {
  await withTempDir(async (dir) => {
    const web = `${dir}/web`;
    const built = await run(`${ROOT}/scripts/dist`, [web], { timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.err);
    const server = serve(web);
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      // A fresh module cache, and an install root of its own: nothing comes from elsewhere.
      const env = { DENO_DIR: `${dir}/deno-dir` };
      const root = `${dir}/root`;
      for (const [name, module] of [["dtee", "main.ts"], ["cronty", "cronty.ts"]]) {
        const r = await run(
          Deno.execPath(),
          ["install", ...INSTALL_FLAGS, "--root", root, "-n", name, `${base}/${module}`],
          { env, timeoutMs: 120_000 },
        );
        assert.equal(r.code, 0, r.err);
      }
      const entry = (name: string) => ({
        run: (args: string[], options: { env?: Record<string, string> } = {}) =>
          run(`${root}/bin/${name}`, args, { ...options, env: { ...env, ...options.env } }),
        name,
      });
      await checkEntries(t, entry("dtee"), entry("cronty"));

      await t.step(
        "under cron's PATH: deno is not found (127) until the README's fix",
        async () => {
          const cron = (name: string) =>
            run("env", ["-i", "PATH=/usr/bin:/bin", `HOME=${dir}`, `${root}/bin/${name}`, "true"]);
          const before = await cron("cronty");
          assert.equal(before.code, 127, before.err);
          assert.match(before.err, /deno: not found/);
          // The README's command, with this Deno for `command -v deno` and this root for ~/.deno.
          const fix = "s|^exec deno |exec $(command -v deno) |";
          assert.ok(readme.includes(`sed -i "${fix}" ~/.deno/bin/dtee ~/.deno/bin/cronty`));
          const sed = await run("sh", [
            "-c",
            `sed -i "${fix}" "$1/bin/dtee" "$1/bin/cronty"`,
            "sh",
            root,
          ], { env: { PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:/usr/bin:/bin` } });
          assert.equal(sed.code, 0, sed.err);
          for (const name of ["dtee", "cronty"]) {
            const after = await cron(name);
            assert.deepEqual([after.code, after.out, after.err], [0, "", ""]);
          }
        },
      );

      await t.step(
        "the installed scripts carry the release's flags and no other permission",
        async () => {
          const script = await Deno.readTextFile(`${root}/bin/dtee`);
          for (
            const flag of ["--allow-ffi", "--allow-env", "--unstable-raw-imports", "--no-lock"]
          ) {
            assert.ok(script.includes(` ${flag} `), `${flag} missing from ${script}`);
          }
          // -q is how Deno writes it; a cron job would mail a re-download's progress lines.
          assert.match(script, / --quiet /);
          assert.doesNotMatch(script, /--allow-(all|read|write|run|net)/);
        },
      );
    } finally {
      await server.shutdown();
    }
  });
});

const readme = await Deno.readTextFile(`${ROOT}/README.md`);
const readmeInstall = readme.includes("deno install");
if (!readmeInstall) {
  console.log("skipped: the README's deno install command: README.md has no `deno install` yet");
}

Deno.test({
  name: "the README gives exactly the deno install commands",
  ignore: !readmeInstall,
  fn: () => {
    for (const [name, module] of [["dtee", "main.ts"], ["cronty", "cronty.ts"]]) {
      const command = `deno install ${
        INSTALL_FLAGS.join(" ")
      } -n ${name} https://HOST/PATH/${module}`;
      assert.ok(readme.includes(command), `README.md lacks: ${command}`);
    }
  },
});

Deno.test("the checked-in man pages are the generator's output", async () => {
  for (const page of PAGES) {
    const checkedIn = await Deno.readTextFile(`${ROOT}/docs/man/${page}.1`);
    assert.equal(checkedIn, manPage(page), `docs/man/${page}.1 is stale: run docs/man/man.ts`);
  }
});

Deno.test("cronty.1's crontab examples mail for a warning on stderr exactly when they say so", async () => {
  const text = plain(manPage("cronty"));
  const section = text.slice(text.indexOf(".SH EXAMPLES"), text.indexOf(".SH SEE ALSO"));
  const examples = [
    ...section.matchAll(/([^\n]*\n[^\n]*)\n\.RS\n\.nf\n(?:.*\n)*?.*\* \* cronty (.*)/g),
  ];
  assert.equal(examples.length, 2, section);
  await withTempDir(async (dir) => {
    for (const [, caption, line] of examples) {
      // The job of the line, run for real: a warning on stderr, then success.
      const words = line.split(" ").slice(0, -1).map((w) => w.replace("/var/log", dir));
      const r = await run(`${ROOT}/scripts/cronty`, [...words, "sh", "-c", "echo warn >&2"]);
      assert.equal(r.code, 0, r.err);
      const mails = r.out + r.err !== "";
      const saysOnlyFailures = /only when (the job|it) fails/.test(caption.replace("\n", " "));
      assert.equal(mails, !saysOnlyFailures, `${caption}: ${line} printed ${r.out}${r.err}`);
    }
  });
});

Deno.test("deno task dist puts the man pages beside the modules", async () => {
  await withTempDir(async (dir) => {
    const built = await run(`${ROOT}/scripts/dist`, [dir], { timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.err);
    for (const page of PAGES) {
      assert.equal(await Deno.readTextFile(`${dir}/man/${page}.1`), manPage(page));
    }
  });
});

/** roff source as plain text: escapes and font changes gone, so that option names can be found. */
function plain(roff: string): string {
  return roff.replace(/\\f[BIRP]/g, "").replace(/\\-/g, "-").replace(/\\&/g, "").replace(
    /\\e/g,
    "\\",
  );
}

/** The short options the parser accepts, found by trying every letter and digit on it. */
function acceptedShorts(): string[] {
  const chars = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];
  return chars.filter((c) => {
    const r = parse([`-${c}`, "value", "true"], "dtee");
    return !(r.action === "usage" && r.message?.includes("unrecognised option"));
  });
}

Deno.test("every option of the grammar is in the help and in both man pages", () => {
  // The table is the grammar: the letters the parser accepts are exactly the table's.
  assert.deepEqual(
    acceptedShorts().sort(),
    OPTIONS.filter((d) => d.short).map((d) => d.short!).sort(),
  );
  for (const d of OPTIONS) {
    const r = parse([`--${d.long}`, "value", "true"], "dtee");
    assert.ok(!(r.action === "usage" && r.message?.includes("unrecognised")), `--${d.long}`);
  }
  // As docs/behaviour.md A2 lists them: none of those may be missing from the table.
  const behaviour = Deno.readTextFileSync(`${ROOT}/docs/behaviour.md`);
  const a2 = behaviour.slice(behaviour.indexOf("### A2."), behaviour.indexOf("### A3."));
  const documented = [...a2.matchAll(/`-([a-zA-Z])\/--([a-z-]+)`/g)];
  assert.ok(documented.length >= 10, "docs/behaviour.md A2 lists the options as `-x/--long`");
  for (const [, short, long] of documented) {
    assert.ok(OPTIONS.some((d) => d.short === short && d.long === long), `-${short}/--${long}`);
  }

  for (const page of PAGES) {
    const help = helpText(page);
    const man = plain(manPage(page));
    const options = man.slice(man.indexOf(".SH OPTIONS"), man.indexOf(".SH CRON MODE"));
    const prose = options.replace(/\s+/g, " ");
    for (const d of OPTIONS) {
      const shown = visibleOptions(page).includes(d);
      const names = [`--${d.long}`, ...(d.short ? [`-${d.short}`] : [])];
      for (const name of names) {
        // A whole word: "-o" must not be found inside "--out-append".
        const word = new RegExp(`(^|[\\s\\[,])${name}(?=[\\s\\],]|$)`, "m");
        assert.equal(word.test(help), shown, `${page} --help and ${name}`);
        assert.equal(word.test(options), shown, `${page}.1 OPTIONS and ${name}`);
      }
      if (shown) assert.ok(prose.includes(d.help!.slice(1)), `${page}.1: the help of --${d.long}`);
    }
  }
});

Deno.test("the man pages: every value, the replay form, the README's exit statuses, no source path", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const table = readme.slice(readme.indexOf("### Exit status"));
  const readmeCodes = [...table.matchAll(/^\| ([^|]+?)\s+\|/gm)].map(([, code]) => code)
    .filter((code) => code !== "status" && !code.startsWith("-"));
  for (const page of PAGES) {
    const man = plain(manPage(page));
    for (const d of visibleOptions(page).filter((d) => d.file)) {
      assert.match(
        man,
        new RegExp(`^(-${d.short}, )?--${d.long} ${d.arg ?? "FILE"}$`, "m"),
        `${page}.1: ${d.long}`,
      );
    }
    assert.match(man, new RegExp(`^\\.B ${page}\n\\[OPTION\\]\\.\\.\\. --replay FILE$`, "m"));
    const status = man.slice(man.indexOf(".SH EXIT STATUS"), man.indexOf(".SH DIAGNOSTICS"));
    const manCodes = [...status.matchAll(/^\.B (\S+)$/gm)].map(([, code]) => code);
    // The README's last row is the signals dtee dies by, which the page says after its list.
    assert.deepEqual([...manCodes, "141"], readmeCodes.map((c) => c.replace(/ etc$/, "")));
    assert.match(status, /unreadable|cannot be read/);
    // Roff comments (the generator's name) are not read by anyone.
    const text = man.split("\n").filter((line) => !line.startsWith('.\\"')).join("\n");
    assert.doesNotMatch(
      text,
      /docs\/|lib\/[a-z]+\.ts|rust\/src/,
      `${page}.1 points into the sources`,
    );
    assert.match(man, /^\.SH FILES$/m);
  }
});

Deno.test("the README's Options table is the option table: every option, its letter and value", () => {
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("### Options"), readme.indexOf("### Exit status"));
  const rows = [...section.matchAll(/^\| (`[^|]*`)\s+\|/gm)].map(([, cell]) => cell.trim());
  const expected = OPTIONS.filter((d) => d.group).map((d) => {
    const value = d.file ? ` ${d.arg ?? "FILE"}` : "";
    return `${d.short ? `\`-${d.short}\`, ` : ""}\`--${d.long}${value}\``;
  });
  assert.deepEqual([...rows].sort(), [...expected].sort());
});

/** Why mandoc or man cannot be run here, or undefined. */
async function missingTools(): Promise<string | undefined> {
  for (const tool of ["mandoc", "man"]) {
    try {
      await run(tool, ["-h"]);
    } catch (e) {
      return `${tool} is not installed (${e})`;
    }
  }
}
const mandoc = await missingTools();
if (mandoc) console.log(`skipped: mandoc -T lint and man -l of the man pages: ${mandoc}`);

Deno.test({
  name: "the man pages are clean under mandoc -T lint and readable with man -l",
  ignore: mandoc !== undefined,
  fn: async () => {
    const paths = PAGES.map((page) => `${ROOT}/docs/man/${page}.1`);
    const lint = await run("mandoc", ["-T", "lint", "-W", "all", ...paths]);
    assert.deepEqual([lint.code, lint.out, lint.err], [0, "", ""]);
    for (const page of PAGES) {
      const r = await run("man", ["-l", `${ROOT}/docs/man/${page}.1`], {
        env: { MANPAGER: "cat", PAGER: "cat", MANWIDTH: "80", LANG: "C.UTF-8" },
      });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^${page.toUpperCase()}\\(1\\)`));
      for (const section of ["SYNOPSIS", "OPTIONS", "CRON MODE", "EXIT STATUS", "ENVIRONMENT"]) {
        assert.match(r.out, new RegExp(`^${section}$`, "m"), `${page}.1: ${section}`);
      }
    }
  },
});
