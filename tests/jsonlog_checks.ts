/**
 * Outside readers of JSON logs, shared by the tests: Debian's python3-jsonschema against
 * docs/jsonlog.schema.json, and jq. Each is optional; the tests that need one say so when
 * it is missing.
 */
import { equal } from "node:assert/strict";
import { ROOT } from "./helpers.ts";

const lossy = new TextDecoder();

export function has(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

// Debian's python3-jsonschema is for the system's python3; a python3 first in PATH may be another.
export const PYTHON = ["/usr/bin/python3", "python3"].find((p) =>
  has(p, ["-c", "import jsonschema"])
);
export const HAS_JSONSCHEMA = PYTHON !== undefined;
export const HAS_JQ = has("jq", ["--version"]);
if (!HAS_JSONSCHEMA) {
  console.log(
    "skipping the schema test: python3 with jsonschema (apt-get install python3-jsonschema) is missing",
  );
}
if (!HAS_JQ) console.log("skipping the jq test: jq (apt-get install jq) is missing");

/** Each line of `log` checked against the schema by python3-jsonschema: "ok" or why not. */
export async function validate(log: Uint8Array): Promise<string[]> {
  const child = new Deno.Command(PYTHON!, {
    args: ["-c", VALIDATE, `${ROOT}/docs/jsonlog.schema.json`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(log);
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  equal(code, 0, lossy.decode(stderr));
  return lossy.decode(stdout).split("\n").slice(0, -1);
}

// Also checks that str.splitlines(), which splits at U+2028 and other line breaks, finds the
// same lines as splitting at "\n".
const VALIDATE = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
text = sys.stdin.buffer.read().decode("utf-8")
lines = text.split("\\n")[:-1]
assert text.splitlines() == lines, "splitlines disagrees"
for line in lines:
    errors = list(validator.iter_errors(json.loads(line)))
    print(errors[0].message.replace("\\n", " ") if errors else "ok")
`;
