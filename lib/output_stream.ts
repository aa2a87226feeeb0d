/**
 * dtee's own stdout and stderr: the first outputs in delivery order
 * (docs/behaviour.md A3). With --annotate their lines are stamped and
 * labelled (docs/behaviour.md B6), through one annotator for both, so that a
 * line one stream leaves unfinished is ended on its own stream when the
 * other writes.
 */

import { Mask, Stream } from "./abi.ts";
import type { Annotator } from "./annotate.ts";
import type { Batch } from "./ffi.ts";
import { type Reporter, timedOutText } from "./failures.ts";
import { FdOutput } from "./output.ts";
import type { CommandEnd, Interruption } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";

const NEWLINE = new Uint8Array([0x0a]);

export class StreamOutput extends FdOutput {
  override readonly own = true;
  /** The other of the two (`paired`): where the other stream's annotated bytes go. */
  partner: StreamOutput | undefined;

  constructor(
    readonly stream: "stdout" | "stderr",
    reporter: Reporter,
    readonly annotator?: Annotator,
  ) {
    super(stream === "stdout" ? 1 : 2, Mask[stream], writeLabel(stream), reporter);
  }

  /** Annotated lines are not the messages' bytes. */
  override get mergeable(): boolean {
    return !this.annotator;
  }

  override write(batch: Batch, from: number, to: number, mask = this.mask): number {
    if (!this.annotator) return super.write(batch, from, to, mask);
    const stream = Stream[this.stream];
    // One message at a time where each must be a write of its own (an outer dtee).
    const step = this.info.keepsBoundaries ? 1 : to - from;
    for (let i = from; i < to; i += step) {
      const end = Math.min(i + step, to);
      // A zero-length write begins no line, so it cuts none either.
      if (!writesText(batch, stream, i, end)) continue;
      // The other stream's unfinished line ends on its own way, before this stream's line.
      const other = stream === Stream.stdout ? Stream.stderr : Stream.stdout;
      if (this.annotator.cut(stream) && this.put(other, NEWLINE, i, i + 1) <= i) return i;
      if (this.put(stream, this.annotator.messages(batch, i, end, this.mask), i, end) < end) {
        return i;
      }
    }
    return to;
  }

  /** A line that a replayed run without an end left open is ended before the next run's. */
  started(run: RunInfo): void {
    if (!this.annotator) return;
    this.endLine();
    this.annotator.started(run.timeNs, run.command);
  }

  terminated(_end: CommandEnd, _timeNs: bigint): boolean {
    return this.endLine();
  }

  interrupted(_end: Interruption, _timeNs: bigint): void {
    this.endLine();
  }

  /**
   * Ends a line left unfinished when the run ends (on either stream: the
   * first of the two to hear of the end does it, before cron mode writes out
   * and reports). false when a broken pipe or a stop cut it.
   */
  protected endLine(): boolean {
    const open = this.annotator?.close() ?? 0;
    return open === 0 || this.put(open, NEWLINE, 0, 1) > 0;
  }

  /** Annotated bytes of `stream` that stand for messages from..to, through that stream's output. */
  protected put(stream: number, bytes: Uint8Array, from: number, to: number): number {
    const output = stream === Stream[this.stream] ? this : this.partner!;
    return output.emit(bytes, from, to);
  }

  /** Writes annotated bytes that stand for messages from..to: `to`, or `from` when cut short. */
  protected emit(bytes: Uint8Array, from: number, to: number): number {
    return this.writeBytes(bytes, from, to);
  }
}

/** What a failed write to dtee's own stdout or stderr is called in messages: `stdout: write`. */
export function writeLabel(stream: "stdout" | "stderr"): string {
  return `${stream}: write`;
}

/** Whether one of the messages from..to carries bytes of `stream`. */
function writesText(batch: Batch, stream: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (batch.streams[i] === stream && batch.lens[i] > 0) return true;
  }
  return false;
}

/** dtee's stdout and stderr output, each the other's partner. */
export function paired<T extends StreamOutput>(stdout: T, stderr: T): T[] {
  stdout.partner = stderr;
  stderr.partner = stdout;
  return [stdout, stderr];
}

/**
 * dtee's stderr outside cron mode, which says when the command's time limit passed, once the
 * command has ended (docs/behaviour.md B7; cron mode's report says it instead).
 */
class StderrOutput extends StreamOutput {
  /** The command word as given. */
  #command = "";

  constructor(reporter: Reporter, annotator?: Annotator) {
    super("stderr", reporter, annotator);
  }

  override started(run: RunInfo): void {
    this.#command = run.command[0];
    super.started(run);
  }

  override terminated(end: CommandEnd, timeNs: bigint): boolean {
    if (!super.terminated(end, timeNs)) return false;
    if (end.kind === "timed-out") this.reporter.say(timedOutText(this.#command, end));
    return true;
  }
}

/** dtee's stdout and stderr, in that order (cron mode has its own: lib/cron.ts). */
export function streamOutputs(reporter: Reporter, annotator?: Annotator): StreamOutput[] {
  return paired(
    new StreamOutput("stdout", reporter, annotator),
    new StderrOutput(reporter, annotator),
  );
}
