/**
 * The JSON Lines log (-j -J, docs/jsonlog.md): a start record when the
 * command starts, one record per message, a diagnostic record for each of
 * dtee's own messages in between, a final record when the run ends. Each
 * batch's records go out in one write, so that O_APPEND keeps them whole
 * among the records of other dtee processes appending to the same file.
 */

import { Mask } from "./abi.ts";
import { type Batch, strsignal } from "./ffi.ts";
import { nowNs } from "./clock.ts";
import { type Failure, failureKind, failureText } from "./failures.ts";
import { JsonLogEncoder } from "./jsonlog.ts";
import { openFile, type OutputKind, RecordingOutput } from "./output.ts";
import { type RecordedEnd, withoutTimeOut } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";

export class JsonOutput extends RecordingOutput {
  readonly #encoder = new JsonLogEncoder();
  /** dtee's messages while no run is going on: recorded after the next start record. */
  readonly #early: { failure: Failure; timeNs: bigint }[] = [];

  override write(batch: Batch, from: number, to: number): number {
    return this.record(this.#encoder.messages(batch, from, to), from, to);
  }

  override started(run: RunInfo): void {
    super.started(run);
    for (const { failure, timeNs } of this.#early.splice(0)) this.#said(failure, timeNs);
  }

  noted(failure: Failure): void {
    const timeNs = nowNs();
    if (this.running) this.#said(failure, timeNs);
    else this.#early.push({ failure, timeNs });
  }

  protected startRecord(run: RunInfo): Uint8Array {
    return this.#encoder.start(run.timeNs, run.pid, run.command, run.id);
  }

  protected endRecord(end: RecordedEnd, timeNs: bigint): Uint8Array {
    const ended = withoutTimeOut(end);
    const name = ended.kind === "exited" ? "" : strsignal(ended.signal);
    return this.#encoder.end(timeNs, end, name);
  }

  #said(failure: Failure, timeNs: bigint): void {
    const text = failureText(failure, this.reporter.name);
    this.record(this.#encoder.diagnostic(timeNs, failureKind(failure), text), 0, 0);
  }
}

export const jsonKind: OutputKind = {
  open(spec, reporter) {
    const fd = openFile(spec, reporter);
    if (fd < 0) return undefined;
    const log = new JsonOutput(fd, Mask.combined, spec.path, reporter);
    return spec.append ? log.appendsAfter(spec.path) : log;
  },
  recordsEnd: true,
};
