/**
 * `-L`, `--line-buffered` (README, "Why is my output out of order?"): what
 * the command is given so that its programs write each line of stdout when
 * they make it, as they would to a terminal, and stderr at once. Without
 * -L none of it reaches the command (docs/behaviour.md A7).
 */

import { addEnv } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import { PERL_MODULE, PreloadError, type PreloadFiles, preloadFiles } from "./preload.ts";

type Join = Parameters<typeof addEnv>[2];

/**
 * Adds -L's variables to the command's environment, keeping the user's own:
 * a PYTHONUNBUFFERED already set wins, and ours goes after an LD_PRELOAD,
 * PERL5OPT or RUBYOPT the user set. Returns the files to remove once the
 * command has ended; when they cannot be had, reports it (the command still
 * gets what needs no file).
 */
export function lineBuffered(reporter: Reporter): PreloadFiles | undefined {
  const vars: [string, string, Join][] = [["PYTHONUNBUFFERED", "1", "keep"]];
  let files: PreloadFiles | undefined;
  try {
    files = preloadFiles();
  } catch (e) {
    if (!(e instanceof PreloadError)) throw e;
    reporter.fail({ kind: "line-buffered", what: e.what, errno: e.errno });
  }
  if (files) {
    if (files.library) vars.push(["LD_PRELOAD", files.library, "colon"]);
    const module = PERL_MODULE.replace(/\.pm$/, "");
    vars.push(["PERL5OPT", `-I${files.perlDir} -M${module}`, "space"]);
    vars.push(["RUBYOPT", `-r${files.rubyFile}`, "space"]);
  }
  for (const [name, value, join] of vars) {
    const added = addEnv(name, value, join);
    if (!added.ok) throw new Error(`cannot add ${name} to the environment: errno ${added.errno}`);
  }
  return files;
}
