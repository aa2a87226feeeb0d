/**
 * The README's "Use" examples run as written (the container's are run by tests/container_test.ts,
 * the install's by tests/install_tree_test.ts): each command line of the cron, CI and JSON log
 * examples, with dtee and cronty on PATH as an install puts them, in a directory of its own.
 */
import assert from "node:assert/strict";
import { LAUNCHER, ROOT, run, type RunResult, withTempDir } from "./helpers.ts";

const readme = Deno.readTextFileSync(`${ROOT}/README.md`);

/** The code blocks (language, text) of the README section under `heading`. */
function blocks(heading: string): { lang: string; text: string }[] {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README.md has no ${heading}`);
  const rest = readme.slice(start + heading.length + 2);
  // A section runs to the next one of its level or above; its #### parts belong to it.
  const end = rest.search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```(\w*)\n([^]*?)```/g)].map(([, lang, text]) => ({ lang, text }));
}

/** Runs each line of `text` with sh in `dir`, dtee and cronty on PATH; the results in order. */
async function runLines(dir: string, text: string): Promise<[string, RunResult][]> {
  const bin = `${dir}/.bin`;
  await Deno.mkdir(bin, { recursive: true });
  for (const name of ["dtee", "cronty"]) {
    await Deno.symlink(LAUNCHER, `${bin}/${name}`).catch(() => {});
  }
  const results: [string, RunResult][] = [];
  for (const line of text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))) {
    // 2>&1: what a terminal (or cron's mail) shows, in order.
    const r = await run("sh", ["-c", `exec 2>&1; ${line}`], {
      cwd: dir,
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    results.push([line, r]);
  }
  return results;
}

/** The status a line's comment gives (`# ...; status 3`), else 0. */
function expectedStatus(line: string): number {
  return Number(line.match(/#.*status (\d+)/)?.[1] ?? 0);
}

Deno.test("README, A cron job: each mail shown is what cronty prints", async () => {
  const all = blocks("### A cron job");
  // Every shell example followed by a plain block: the command, then what it prints.
  const pairs = all.flatMap((b, i) =>
    b.lang === "sh" && all[i + 1]?.lang === "" ? [[b, all[i + 1]]] : []
  );
  assert.ok(pairs.length >= 1);
  for (const [shell, mail] of pairs) {
    await withTempDir(async (dir) => {
      const [[line, r]] = await runLines(dir, shell.text);
      assert.equal(r.out, mail.text, line);
      const ended = mail.text.match(/exited with status (\d+)\n$/);
      // A time-out ends with 124, whatever the job's own status.
      const status = /timed out after/.test(mail.text) ? 124 : Number(ended?.[1] ?? 0);
      assert.equal(r.code, status, line);
    });
  }
});

Deno.test("README, A CI build step: the step's status, and the log in order", async () => {
  const [shell] = blocks("### A CI build step");
  await withTempDir(async (dir) => {
    for (const [line, r] of await runLines(dir, shell.text)) {
      assert.equal(r.code, expectedStatus(line), `${line}\n${r.out}`);
    }
    assert.equal(
      await Deno.readTextFile(`${dir}/build.log`),
      "compiling\nwarning: unused variable\nlinked\n",
    );
  });
});

Deno.test("README, The JSON log and replay: each line's status and output", async () => {
  const shell = blocks("### The JSON log and replay").filter((b) => b.lang === "sh").at(-1)!;
  await withTempDir(async (dir) => {
    const results = await runLines(dir, shell.text);
    assert.equal(results.length, 3);
    for (const [line, r] of results) {
      assert.equal(r.code, expectedStatus(line), `${line}\n${r.out}`);
      // The comment names what is printed, in order ("out, err").
      const said = line.replace(/.*# /, "").replace(/;.*/, "").replace(/ again$/, "");
      assert.equal(r.out, said.split(", ").map((w) => `${w}\n`).join(""), line);
    }
    assert.equal(await Deno.readTextFile(`${dir}/again.log`), "out\nerr\n");
  });
});
