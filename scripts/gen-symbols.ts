/**
 * The shim's FFI symbol table, generated from the `extern "C"` exports of rust/src/lib.rs (as
 * deno_bindgen would): each export's name, doc, parameter names and types, and result type,
 * written to lib/symbols.ts. scripts/gen-abi.ts runs it (and its `--check`) with lib/abi.ts.
 * Also checks that docs/architecture.md's table of the C ABI names every export and no other.
 */

export const SOURCE = "rust/src/lib.rs";
export const TARGET = "lib/symbols.ts";
export const DOC = "docs/architecture.md";

export class SymbolsError extends Error {}

export interface Export {
  name: string;
  doc: string[];
  parameters: { name: string; type: string }[];
  result: string;
}

/** Rust types of the ABI as Deno's FFI names them: integers, and a pointer is a buffer. */
const TYPES: Record<string, string> = {
  u8: "u8",
  i8: "i8",
  u16: "u16",
  i16: "i16",
  u32: "u32",
  i32: "i32",
  c_int: "i32",
  u64: "u64",
  i64: "i64",
  usize: "usize",
  isize: "isize",
};

function ffiType(rust: string, where: string): string {
  if (/^\*(?:mut|const) /.test(rust)) return "buffer";
  const type = TYPES[rust];
  if (!type) throw new SymbolsError(`${where}: type ${rust} is not part of the C ABI`);
  return type;
}

/** Every `#[no_mangle] pub extern "C" fn` of lib.rs, in order, with its `///` doc. */
export function parseExports(source: string): Export[] {
  const found: Export[] = [];
  const pattern =
    /((?:^[ \t]*\/\/\/[^\n]*\n)*)#\[no_mangle\]\s*pub extern "C" fn (\w+)\(([^)]*)\)(?:\s*->\s*([\w:]+))?/gm;
  for (const m of source.matchAll(pattern)) {
    const [, docText, name, params, result] = m;
    const where = `${SOURCE}: ${name}`;
    const parameters = params.split(",").map((p) => p.trim()).filter((p) => p !== "").map((p) => {
      const param = /^(\w+):\s*(.+)$/.exec(p);
      if (!param) throw new SymbolsError(`${where}: parameter not understood: ${p}`);
      return { name: param[1], type: ffiType(param[2].trim(), where) };
    });
    const doc = docText.split("\n").map((l) => l.trim().replace(/^\/\/\/ ?/, "")).filter((
      l,
      i,
      all,
    ) => i < all.length - 1 || l !== "");
    found.push({ name, doc, parameters, result: result ? ffiType(result, where) : "void" });
  }
  if (found.length === 0) throw new SymbolsError(`${SOURCE}: no exports found`);
  return found;
}

function comment(doc: string[]): string {
  if (doc.length === 0) return "";
  return `  /**\n${doc.map((d) => `   * ${d}`.trimEnd()).join("\n")}\n   */\n`;
}

export function renderSymbols(exports: Export[]): string {
  let out = `// Generated from ${SOURCE} by scripts/gen-abi.ts: do not edit.\n` +
    `// Change an export in ${SOURCE}, then run \`deno run -A scripts/gen-abi.ts\`.\n\n` +
    "/**\n * Every export of the shim as Deno's FFI binds it, each parameter named as in Rust\n" +
    " * (lib/ffi.ts holds the typed wrappers).\n */\n" +
    "export const symbols = {\n";
  for (const e of exports) {
    const parameters = e.parameters.map((p) => `/* ${p.name} */ "${p.type}"`).join(", ");
    out += `${
      comment(e.doc)
    }  ${e.name}: { parameters: [${parameters}], result: "${e.result}" },\n`;
  }
  return out + "} as const satisfies Deno.ForeignLibraryInterface;\n";
}

/**
 * What is wrong with the C ABI table of docs/architecture.md: exports it does not name, names
 * that are not exports, and an ABI version other than `version`. Empty when it is right.
 */
export function checkDocTable(doc: string, exports: Export[], version: number): string[] {
  const start = doc.indexOf("### The C ABI");
  if (start < 0) return [`${DOC}: no "### The C ABI" section`];
  const end = doc.indexOf("\n#", start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  const problems: string[] = [];
  const heading = /`ABI_VERSION` (\d+)/.exec(section);
  if (!heading || Number(heading[1]) !== version) {
    problems.push(`${DOC}: the C ABI section must say \`ABI_VERSION\` ${version}`);
  }
  const named = new Set(
    section.split("\n").filter((l) => l.startsWith("|")).flatMap((l) =>
      [...l.split("|")[1].matchAll(/`(dtee_\w+)/g)].map((m) => m[1])
    ),
  );
  const names = new Set(exports.map((e) => e.name));
  for (const e of names) if (!named.has(e)) problems.push(`${DOC}: the C ABI table misses ${e}`);
  for (const n of named) if (!names.has(n)) problems.push(`${DOC}: ${n} is not an export`);
  return problems;
}
