/**
 * The JSON Lines log (-j -J, docs/jsonlog.md): a start record when the
 * command starts, one record per message, a final record when the run
 * ends. Each batch's records go out in one write.
 */

import { Mask } from "./abi.ts";
import { type Batch, strsignal } from "./ffi.ts";
import { JsonLogEncoder } from "./jsonlog.ts";
import { openFile, type OutputKind, RecordingOutput } from "./output.ts";
import { type RecordedEnd, withoutTimeOut } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";

export class JsonOutput extends RecordingOutput {
  readonly #encoder = new JsonLogEncoder();

  override write(batch: Batch, from: number, to: number): number {
    return this.record(this.#encoder.messages(batch, from, to), from, to);
  }

  protected startRecord(run: RunInfo): Uint8Array {
    return this.#encoder.start(run.timeNs, run.pid, run.command);
  }

  protected endRecord(end: RecordedEnd, timeNs: bigint): Uint8Array {
    const ended = withoutTimeOut(end);
    const name = ended.kind === "exited" ? "" : strsignal(ended.signal);
    return this.#encoder.end(timeNs, end, name);
  }
}

export const jsonKind: OutputKind = {
  open(spec, reporter) {
    const fd = openFile(spec, reporter);
    return fd < 0 ? undefined : new JsonOutput(fd, Mask.combined, spec.path, reporter);
  },
  recordsEnd: true,
};
