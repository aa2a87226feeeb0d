/**
 * What the front end shares with the shim is generated from the Rust side (scripts/gen-abi.ts):
 * lib/abi.ts from rust/src/abi.rs, lib/symbols.ts from the exports of rust/src/lib.rs. The
 * check that `deno task check` runs passes on the tree as it is, and fails, naming the file, once
 * an export changes without regenerating (in a copy of the files it reads), or once the ABI
 * table of docs/architecture.md misses an export.
 */

import { equal, match } from "node:assert/strict";
import { ROOT, run, withTempDir } from "./helpers.ts";

const FILES = [
  "deno.json",
  "scripts/gen-abi.ts",
  "scripts/gen-symbols.ts",
  "rust/src/abi.rs",
  "rust/src/lib.rs",
  "lib/abi.ts",
  "lib/symbols.ts",
  "docs/architecture.md",
];

/** Runs the check in a copy of the files it reads, after `change` has edited the copy. */
async function checkCopy(change: (dir: string) => void) {
  return await withTempDir(async (dir) => {
    for (const file of FILES) {
      Deno.mkdirSync(`${dir}/${file.slice(0, file.lastIndexOf("/") + 1)}`, { recursive: true });
      Deno.copyFileSync(`${ROOT}/${file}`, `${dir}/${file}`);
    }
    change(dir);
    return await run(Deno.execPath(), ["run", "-A", `${dir}/scripts/gen-abi.ts`, "--check"]);
  });
}

function edit(path: string, from: string, to: string): void {
  const text = Deno.readTextFileSync(path);
  if (!text.includes(from)) throw new Error(`${path} has no ${from}`);
  Deno.writeTextFileSync(path, text.replace(from, to));
}

Deno.test("the generated files are up to date: the check passes on the tree as it is", async () => {
  const r = await checkCopy(() => {});
  equal(r.code, 0, r.err);
});

Deno.test("an export changed without regenerating fails the check, naming lib/symbols.ts", async () => {
  const r = await checkCopy((dir) =>
    edit(
      `${dir}/rust/src/lib.rs`,
      'pub extern "C" fn dtee_close(fd: i32)',
      'pub extern "C" fn dtee_close(fd: i32, how: u32)',
    )
  );
  equal(r.code, 1);
  match(r.err, /lib\/symbols\.ts is out of date with rust\/src\/lib\.rs/);
});

Deno.test("a new export missing from the ABI table fails the check", async () => {
  const r = await checkCopy((dir) => {
    edit(
      `${dir}/rust/src/lib.rs`,
      '#[no_mangle]\npub extern "C" fn dtee_close(',
      '#[no_mangle]\npub extern "C" fn dtee_sync(fd: i32) -> c_int {\n    fd\n}\n\n' +
        '#[no_mangle]\npub extern "C" fn dtee_close(',
    );
  });
  equal(r.code, 1);
  match(r.err, /the C ABI table misses dtee_sync/);
  match(r.err, /lib\/symbols\.ts is out of date/);
});

Deno.test("a number changed in abi.rs without regenerating fails the check, naming lib/abi.ts", async () => {
  const r = await checkCopy((dir) => {
    const path = `${dir}/rust/src/abi.rs`;
    const text = Deno.readTextFileSync(path);
    const version = /pub const ABI_VERSION: u32 = (\d+);/.exec(text)!;
    edit(path, version[0], `pub const ABI_VERSION: u32 = ${Number(version[1]) + 1};`);
  });
  equal(r.code, 1);
  match(r.err, /lib\/abi\.ts is out of date with rust\/src\/abi\.rs/);
});
