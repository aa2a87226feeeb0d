/**
 * Every kind of output file, registered by the name the option table
 * gives it (lib/cli.ts OPTIONS), and the order in which dtee opens them.
 */

import type { Options, OutputKindName, OutputSpec } from "./cli.ts";
import type { Reporter } from "./failures.ts";
import type { Output, OutputKind } from "./output.ts";
import { fileKind } from "./output_file.ts";
import { jsonKind } from "./output_json.ts";
import { annotatedKind } from "./output_annotate.ts";

/** In the order they are opened: the C tool's files first, then the JSON logs, then annotated text. */
const KINDS: Record<OutputKindName, OutputKind> = {
  file: fileKind,
  json: jsonKind,
  annotated: annotatedKind,
};

const KIND_ORDER = Object.keys(KINDS);
const STREAM_ORDER = ["stdout", "stderr", "combined"];

/**
 * The C tool's order of opening, for every kind in turn: every overwrite,
 * then every append (-O -E -C -o -e -c: stdout's, stderr's, both streams'),
 * each in the order given.
 */
function openOrder(a: OutputSpec, b: OutputSpec): number {
  return KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    Number(a.append) - Number(b.append) ||
    STREAM_ORDER.indexOf(a.stream) - STREAM_ORDER.indexOf(b.stream);
}

/** Opens every output file before the command starts, reporting each failure, in opening order. */
export function openOutputs(options: Options, reporter: Reporter): Output[] {
  // Array.prototype.sort is stable: the order given stays within a group.
  return [...options.outputs].sort(openOrder).flatMap((spec) =>
    KINDS[spec.kind].open(spec, reporter, options) ?? []
  );
}

/** Whether one of these outputs records how the run ended (dtee then stops by a signal to write it). */
export function recordsEnd(specs: readonly OutputSpec[]): boolean {
  return specs.some((spec) => KINDS[spec.kind].recordsEnd);
}
