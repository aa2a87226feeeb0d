/**
 * Annotated text (-a -A, docs/behaviour.md B6): an `I:` line when the run
 * starts and when it ends, one stamped and labelled line per line of the
 * messages between them (lib/annotate.ts). Each batch's lines go out in one
 * write.
 */

import { Mask } from "./abi.ts";
import { Annotator } from "./annotate.ts";
import type { Options } from "./cli.ts";
import { type Batch, localtime, strsignal } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import { openFile, type OutputKind, RecordingOutput } from "./output.ts";
import { type RecordedEnd, withoutTimeOut } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";
import { TimeFormat, TimeStamper } from "./timeformat.ts";

/** A new annotator in the run's --time-format, with the C library's local time. */
export function annotator(options: Options): Annotator {
  return new Annotator(new TimeStamper(TimeFormat.parse(options.timeFormat), localtime));
}

export class AnnotatedOutput extends RecordingOutput {
  constructor(fd: number, path: string, reporter: Reporter, readonly annotator: Annotator) {
    super(fd, Mask.combined, path, reporter);
  }

  override write(batch: Batch, from: number, to: number): number {
    return this.record(this.annotator.messages(batch, from, to), from, to);
  }

  protected startRecord(run: RunInfo): Uint8Array {
    return this.annotator.started(run.timeNs, run.command);
  }

  /** The signal's name as a log recorded it, else the C library's in this locale. */
  protected endRecord(end: RecordedEnd, timeNs: bigint): Uint8Array {
    const ended = withoutTimeOut(end);
    const name = ended.kind === "exited" ? "" : ended.signalName ?? strsignal(ended.signal);
    return this.annotator.finished(timeNs, end, name);
  }
}

export const annotatedKind: OutputKind = {
  open(spec, reporter, options) {
    const fd = openFile(spec, reporter);
    if (fd < 0) return undefined;
    const out = new AnnotatedOutput(fd, spec.path, reporter, annotator(options));
    return spec.append ? out.appendsAfter(spec.path) : out;
  },
  recordsEnd: true,
};
