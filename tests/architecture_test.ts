/**
 * docs/architecture.md's map of the code: every module of lib/ and rust/src/ is listed with its
 * job, and nothing listed is gone, so that a newcomer can trust it to find where a change goes.
 */

import { deepStrictEqual } from "node:assert/strict";
import { ROOT } from "./helpers.ts";

/** The paths the map lists: the first word of each line of the block under "## Architecture". */
function mapped(): Set<string> {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/architecture.md`);
  const section = doc.slice(doc.indexOf("\n## Architecture\n"));
  const start = section.indexOf("```\n") + 4;
  const block = section.slice(start, section.indexOf("\n```", start));
  return new Set(block.split("\n").flatMap((line) => line.match(/^(\S+)\s{2,}\S/)?.[1] ?? []));
}

/** The source files under `dir` (relative to the root), recursively. */
function modules(dir: string, ext: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(`${ROOT}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...modules(path, ext));
    else if (entry.name.endsWith(ext)) found.push(path);
  }
  return found.sort();
}

Deno.test("docs/architecture.md maps every module of lib/ and rust/src/, and none that is gone", () => {
  const map = mapped();
  const all = [...modules("lib", ".ts"), ...modules("rust/src", ".rs")];
  deepStrictEqual(all.filter((m) => !map.has(m)), [], "modules missing from the map");
  const listed = [...map].filter((p) => p.startsWith("lib/") || p.startsWith("rust/src/"));
  deepStrictEqual(listed.filter((p) => !all.includes(p)), [], "listed but not in the tree");
});
