/**
 * The JSON Lines log (-j -J, docs/jsonlog.md): a start record when the
 * command starts, one record per message, a final record when the run
 * ends. Each batch's records go out in one write.
 */

import { Mask } from "./abi.ts";
import { type Batch, strsignal } from "./ffi.ts";
import { JsonLogEncoder } from "./jsonlog.ts";
import { FdOutput, openFile, type OutputKind } from "./output.ts";
import type { CommandEnd, Interruption, RecordedEnd } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";

const NEWLINE = new Uint8Array([0x0a]);

export class JsonOutput extends FdOutput {
  readonly #encoder = new JsonLogEncoder();
  /** The run's final record is written (one per run, whatever stops dtee after it). */
  #ended = false;
  /** A write was cut short (a stop signal, a reader that does not read): the line is unfinished. */
  #torn = false;

  override get mergeable(): boolean {
    return false;
  }

  override write(batch: Batch, from: number, to: number): number {
    return this.#write(this.#encoder.messages(batch, from, to), from, to);
  }

  started(run: RunInfo): void {
    this.#ended = false;
    this.#write(this.#encoder.start(run.timeNs, run.pid, run.command), 0, 0);
  }

  terminated(end: CommandEnd, timeNs: bigint): boolean {
    this.#end(end, timeNs);
    return true;
  }

  interrupted(end: Interruption, timeNs: bigint): void {
    this.#end(end, timeNs);
  }

  #end(end: RecordedEnd, timeNs: bigint): void {
    if (this.#ended) return;
    this.#ended = true;
    const name = end.kind === "exited" ? "" : strsignal(end.signal);
    // After a cut-short line the final record starts a line of its own.
    if (this.#torn) this.#write(NEWLINE, 0, 0);
    this.#write(this.#encoder.end(timeNs, end, name), 0, 0);
  }

  #write(bytes: Uint8Array, from: number, to: number): number {
    const at = this.writeBytes(bytes, from, to);
    this.#torn = this.interruptedLast;
    return at;
  }
}

export const jsonKind: OutputKind = {
  open(spec, reporter) {
    const fd = openFile(spec, reporter);
    return fd < 0 ? undefined : new JsonOutput(fd, Mask.combined, spec.path, reporter);
  },
  recordsEnd: true,
};
