/**
 * Names of dtee's temporary files and directories (docs/behaviour.md A6):
 * `$TMPDIR/dtee<pid as 8 upper-case hex><kind><6 random>`, the random part
 * left as XXXXXX for mkdtemp/mkostemp to fill in.
 */

import { envVar } from "./env.ts";

/**
 * I: the socket directory; O: cron mode's buffer file; L: the shim written out to be loaded;
 * P: the directory of the files `-L` preloads, written out for a run (lib/preload.ts).
 */
export type TempKind = "I" | "O" | "L" | "P";

/** `pid`: another process's (the tests name dtee's files from outside). */
export function tempTemplate(
  kind: TempKind,
  dir = tmpDir(),
  pid = Deno.pid,
): string {
  const hex = pid.toString(16).toUpperCase().padStart(8, "0");
  return `${dir.replace(/\/+$/, "") || "/"}/dtee${hex}${kind}XXXXXX`;
}

/** $TMPDIR (any bytes, text.ts's escapes standing for those not UTF-8), else /tmp. */
export function tmpDir(): string {
  return envVar("TMPDIR") || "/tmp";
}
