/**
 * Names of dtee's temporary files and directories (docs/behaviour.md A6):
 * `$TMPDIR/dtee<pid as 8 upper-case hex><kind><6 random>`, the random part
 * left as XXXXXX for mkdtemp/mkostemp to fill in.
 */

/**
 * I: the socket directory; O: cron mode's buffer file; L: the shim written out to be loaded;
 * P: the directory of the files `-L` preloads, written out for a run (lib/preload.ts).
 */
export type TempKind = "I" | "O" | "L" | "P";

/** `pid`: another process's (the tests name dtee's files from outside). */
export function tempTemplate(
  kind: TempKind,
  dir = Deno.env.get("TMPDIR") || "/tmp",
  pid = Deno.pid,
): string {
  const hex = pid.toString(16).toUpperCase().padStart(8, "0");
  return `${dir.replace(/\/+$/, "") || "/"}/dtee${hex}${kind}XXXXXX`;
}
