/**
 * Writes what the front end shares with the shim from the Rust side
 * (docs/architecture.md, "The C ABI"): lib/abi.ts from rust/src/abi.rs, the
 * one place where the numbers of the C ABI are defined, and lib/symbols.ts,
 * the FFI symbol table, from the exports of rust/src/lib.rs
 * (scripts/gen-symbols.ts); and checks that the ABI table of
 * docs/architecture.md names every export.
 *
 *   deno run -A scripts/gen-abi.ts           rewrite lib/abi.ts and lib/symbols.ts
 *   deno run -A scripts/gen-abi.ts --check   exit 1 when one is out of date, or the table is
 */

import * as symbols from "./gen-symbols.ts";

const root = new URL("..", import.meta.url);
const SOURCE = "rust/src/abi.rs";
const TARGET = "lib/abi.ts";

interface Group {
  name: string;
  doc: string[];
  keepNames: boolean;
  entries: { name: string; value: number; doc: string[] }[];
}

class AbiError extends Error {}

/** Evaluates EXPR of abi.rs: integers, known names, `<<`, `|`, parentheses. */
function evaluate(expr: string, lookup: (name: string) => number | undefined): number {
  const tokens = expr.match(
    /0x[0-9a-fA-F_]+|[0-9_]+|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*|<<|\||\(|\)|\S/g,
  ) ??
    [];
  let pos = 0;
  const primary = (): number => {
    const token = tokens[pos++];
    if (token === "(") {
      const value = or();
      if (tokens[pos++] !== ")") throw new AbiError(`missing ) in ${expr}`);
      return value;
    }
    if (token !== undefined && /^(0x[0-9a-fA-F_]+|[0-9_]+)$/.test(token)) {
      return Number(token.replaceAll("_", ""));
    }
    const value = token === undefined ? undefined : lookup(token);
    if (value === undefined) {
      throw new AbiError(`cannot evaluate ${JSON.stringify(token)} in ${expr}`);
    }
    return value;
  };
  const shift = (): number => {
    let value = primary();
    while (tokens[pos] === "<<") {
      pos++;
      value = value * 2 ** primary();
    }
    return value;
  };
  const or = (): number => {
    let value = shift();
    while (tokens[pos] === "|") {
      pos++;
      value = value | shift();
    }
    return value;
  };
  const value = or();
  if (pos !== tokens.length) throw new AbiError(`unexpected ${tokens[pos]} in ${expr}`);
  return value;
}

const camel = (name: string) =>
  name.toLowerCase().replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (name: string) => camel(name).replace(/^./, (c) => c.toUpperCase());

export function parse(source: string): { version: number; groups: Group[] } {
  const groups: Group[] = [];
  const values = new Map<string, number>();
  let version: number | undefined;
  let group: Group | undefined;
  let doc: string[] = [];
  const lines = source.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    const where = `${SOURCE}:${index + 1}`;
    const docText = /^\/\/\/ ?(.*)$/.exec(line);
    if (docText) {
      doc.push(docText[1]);
      continue;
    }
    const mod = /^pub mod ([a-z_][a-z0-9_]*) \{$/.exec(line);
    const item = /^pub const ([A-Z_][A-Z0-9_]*): (?:u8|u16|u32|i32|u64|i64) = (.+);$/.exec(line);
    if (mod) {
      if (group) throw new AbiError(`${where}: nested module`);
      group = { name: mod[1], doc, keepNames: doc.join(" ").includes("C names"), entries: [] };
      groups.push(group);
    } else if (item) {
      // `super::group::NAME` in a group is `group::NAME` here.
      const lookup = (name: string) => {
        const bare = name.replace(/^super::/, "");
        return values.get(bare.includes("::") || !group ? bare : `${group.name}::${bare}`) ??
          values.get(bare);
      };
      let value: number;
      try {
        value = evaluate(item[2], lookup);
      } catch (e) {
        throw new AbiError(`${where}: ${(e as Error).message}`);
      }
      if (!group) {
        if (item[1] !== "ABI_VERSION") throw new AbiError(`${where}: constant outside a module`);
        version = value;
        values.set(item[1], value);
      } else {
        group.entries.push({ name: item[1], value, doc });
        values.set(`${group.name}::${item[1]}`, value);
      }
    } else if (line === "}" && group) {
      group = undefined;
    } else if (line !== "" && !line.startsWith("//")) {
      throw new AbiError(`${where}: not understood: ${line}`);
    }
    doc = [];
  }
  if (group) throw new AbiError(`${SOURCE}: module ${group.name} is not closed`);
  if (version === undefined) throw new AbiError(`${SOURCE}: no ABI_VERSION`);
  return { version, groups };
}

function comment(doc: string[], indent: string): string {
  if (doc.length === 0) return "";
  if (doc.length === 1) return `${indent}/** ${doc[0]} */\n`;
  return `${indent}/**\n${doc.map((d) => `${indent} * ${d}`.trimEnd()).join("\n")}\n${indent} */\n`;
}

export function render(abi: { version: number; groups: Group[] }): string {
  let out = `// Generated from ${SOURCE} by scripts/gen-abi.ts: do not edit.\n` +
    `// Change ${SOURCE}, then run \`deno run -A scripts/gen-abi.ts\`.\n\n`;
  out += `/** Must equal what the shim's dtee_abi_version() returns. */\n`;
  out += `export const ABI_VERSION = ${abi.version};\n`;
  for (const group of abi.groups) {
    out += `\n${comment(group.doc, "")}export const ${pascal(group.name)} = {\n`;
    for (const entry of group.entries) {
      const key = group.keepNames ? entry.name : camel(entry.name);
      out += `${comment(entry.doc, "  ")}  ${key}: ${entry.value},\n`;
    }
    out += `} as const;\n`;
  }
  return out;
}

/** Formats `text` as `deno fmt` would, so that the check compares like with like. */
async function format(text: string): Promise<string> {
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", new URL("deno.json", root).pathname, "--ext", "ts", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await fmt.output();
  if (code !== 0) throw new AbiError(`deno fmt: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** Whether `target` holds `wanted`; if not, says where it differs. */
async function upToDate(target: string, source: string, wanted: string): Promise<boolean> {
  let current = "";
  try {
    current = await Deno.readTextFile(new URL(target, root));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (current === wanted) return true;
  const have = current.split("\n");
  const want = wanted.split("\n");
  const line = want.findIndex((text, i) => text !== have[i]);
  console.error(
    `gen-abi: ${target} is out of date with ${source} (first difference at line ${line + 1}:` +
      ` have ${JSON.stringify(have[line] ?? "")}, want ${JSON.stringify(want[line] ?? "")});` +
      ` run \`deno run -A scripts/gen-abi.ts\``,
  );
  return false;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const read = (path: string) => Deno.readTextFile(new URL(path, root));
  const abi = parse(await read(SOURCE));
  const exports = symbols.parseExports(await read(symbols.SOURCE));
  const generated = [
    { source: SOURCE, target: TARGET, text: render(abi) },
    { source: symbols.SOURCE, target: symbols.TARGET, text: symbols.renderSymbols(exports) },
  ];
  let status = 0;
  for (const { source, target, text } of generated) {
    const wanted = await format(text);
    if (!check) await Deno.writeTextFile(new URL(target, root), wanted);
    else if (!await upToDate(target, source, wanted)) status = 1;
  }
  const problems = symbols.checkDocTable(await read(symbols.DOC), exports, abi.version);
  for (const problem of problems) console.error(`gen-abi: ${problem}`);
  return problems.length > 0 ? 1 : status;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (!(e instanceof AbiError || e instanceof symbols.SymbolsError)) throw e;
    console.error(`gen-abi: ${e.message}`);
    Deno.exit(2);
  }
}
