/**
 * Annotated text (-a -A, docs/behaviour.md B6): an `I:` line when the run
 * starts and when it ends, one stamped and labelled line per line of the
 * messages between them (lib/annotate.ts). Each batch's lines go out in one
 * write.
 */

import { Mask } from "./abi.ts";
import { Annotator } from "./annotate.ts";
import type { Options } from "./cli.ts";
import { type Batch, fdSize, localtime, strsignal } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import { endsLine, openFile, type OutputKind, RecordingOutput } from "./output.ts";
import { type RecordedEnd, withoutTimeOut } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";
import { TimeFormat, TimeStamper } from "./timeformat.ts";

/** A new annotator in the run's --time-format, with the C library's local time. */
export function annotator(options: Options): Annotator {
  return new Annotator(new TimeStamper(TimeFormat.parse(options.timeFormat), localtime));
}

export class AnnotatedOutput extends RecordingOutput {
  /** Appending to a regular file: its size after this output's last write; else -1. */
  #size = -1;

  constructor(
    fd: number,
    readonly path: string,
    reporter: Reporter,
    readonly annotator: Annotator,
  ) {
    super(fd, Mask.combined, path, reporter);
  }

  override appendsAfter(path: string): this {
    if (this.info.kind === "file") this.#size = this.info.size;
    return super.appendsAfter(path);
  }

  override write(batch: Batch, from: number, to: number): number {
    this.#rejoin();
    return this.record(this.annotator.messages(batch, from, to), from, to);
  }

  /** The file's size after the write, as far as this output knows (#rejoin finds others'). */
  protected override writeBytes(bytes: Uint8Array, from: number, to: number): number {
    const at = super.writeBytes(bytes, from, to);
    if (this.#size >= 0) this.#size = this.failedLast ? this.#sizeNow() : this.#size + bytes.length;
    return at;
  }

  /**
   * Another process appended to the file since this output's last write
   * (docs/behaviour.md B6, "Appending"): a line this output left unfinished
   * is continued as `S+` on a line of its own, and a line the other left
   * unfinished is ended first, so that every line keeps its time and stream.
   */
  #rejoin(): void {
    if (this.#size < 0) return;
    const size = this.#sizeNow();
    if (size === this.#size) return;
    this.#size = size;
    this.annotator.close();
    if (!endsLine(this.path, size)) this.tear();
  }

  #sizeNow(): number {
    return fdSize(this.fd) ?? this.#size;
  }

  protected startRecord(run: RunInfo): Uint8Array {
    this.#rejoin();
    return this.annotator.started(run.timeNs, run.command);
  }

  /** The signal's name as a log recorded it, else the C library's in this locale. */
  protected endRecord(end: RecordedEnd, timeNs: bigint): Uint8Array {
    this.#rejoin();
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
