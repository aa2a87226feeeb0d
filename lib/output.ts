/**
 * What every kind of output is (docs/behaviour.md A3): one interface that
 * lib/dispatch.ts drives alike for each, how a kind is opened, and the
 * descriptor bookkeeping they share. Each kind lives in a module of its own
 * (lib/output_*.ts) and is registered in lib/output_kinds.ts; the option
 * table (lib/cli.ts) names the kind and mode of each file option.
 */

import { Errno } from "./abi.ts";
import type { Options, OutputSpec } from "./cli.ts";
import { type Batch, type FdInfo, fdInfo, openOutput, writeAll } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import type { CommandEnd, Interruption, RecordedEnd } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";

/** One descriptor and the streams it wants. */
export interface Output {
  readonly fd: number;
  /** The streams it wants: bit 1 << stream (lib/abi.ts Mask). */
  readonly mask: number;
  /** What precedes the error text: the file name, or `stdout: write`. */
  readonly label: string;
  readonly info: FdInfo;
  /**
   * dtee's own stdout or stderr: the two are always one destination, with
   * every file that leads where they do, so that a reader of both sees the order.
   */
  readonly own: boolean;
  /** Whether its writes carry the messages' bytes as they are, so that one write can serve several outputs. */
  readonly mergeable: boolean;
  /** Whether a write can fail with EPIPE (a pipe, FIFO or socket whose reader is gone). */
  readonly breakable: boolean;
  wants(stream: number): boolean;
  /**
   * Writes the wanted messages of from..to (with `mask` instead of its own
   * when it stands for several outputs): `to`, or where a broken pipe or a
   * signal that stops dtee stopped it.
   */
  write(batch: Batch, from: number, to: number, mask?: number): number;
  /** What the output is called when its broken pipe stopped a delivery. */
  brokenLabel(): string;
  /** Every output is open, before the input (cron mode makes its buffer file then, as the C tool). */
  opened?(): void;
  /** The command has started, or a recorded run begins. */
  started?(run: RunInfo): void;
  /** The command has ended; false: a broken pipe or a signal cut the writes short (later outputs then hear nothing). */
  terminated?(end: CommandEnd, timeNs: bigint): boolean;
  /** dtee is about to die by a signal (or a log recorded that it did). */
  interrupted?(end: Interruption, timeNs: bigint): void;
}

/** A kind of output file: how an option's FILE is opened as one. */
export interface OutputKind {
  /** Opens the output `spec` asks for (as `options` configure it), or reports why it cannot: undefined. */
  open(spec: OutputSpec, reporter: Reporter, options: Options): Output | undefined;
  /**
   * It records how the run ended: dtee then stops by SIGHUP, SIGINT and
   * SIGTERM (after its `interrupted`) instead of dying by them at once.
   */
  readonly recordsEnd?: boolean;
}

/** Opens FILE as an output file in the mode `spec` says: its descriptor, or -1 once reported. */
export function openFile(spec: OutputSpec, reporter: Reporter): number {
  const fd = openOutput(spec.path, spec.append);
  if (!fd.ok) reporter.fail({ kind: "open", path: spec.path, errno: fd.errno });
  return fd.ok ? fd.value : -1;
}

/** The descriptor side every kind shares: its kind of file, and write failures reported once. */
export abstract class FdOutput implements Output {
  #failing = false;
  readonly info: FdInfo;
  readonly own: boolean = false;

  constructor(
    readonly fd: number,
    readonly mask: number,
    readonly label: string,
    readonly reporter: Reporter,
  ) {
    const info = fdInfo(fd);
    this.info = info.ok
      ? info.value
      : { kind: "other", identity: `fd:${fd}`, keepsBoundaries: false };
  }

  wants(stream: number): boolean {
    return (this.mask & (1 << stream)) !== 0;
  }

  get mergeable(): boolean {
    return true;
  }

  get breakable(): boolean {
    return this.info.kind === "pipe" || this.info.kind === "socket";
  }

  write(batch: Batch, from: number, to: number, mask = this.mask): number {
    // A datagram socket (an outer dtee's) takes each message in a write of its own.
    if (!this.info.keepsBoundaries) return this.#outcome(batch.write(this.fd, from, to, mask), to);
    for (let i = from; i < to; i++) {
      const at = this.#outcome(batch.write(this.fd, i, i + 1, mask), i + 1);
      if (at <= i) return i;
    }
    return to;
  }

  brokenLabel(): string {
    return this.label;
  }

  /** Whether the last write of writeBytes stopped short. */
  protected interruptedLast = false;

  /** Writes bytes that stand for messages from..to: `to`, or `from` on a broken pipe or a stop. */
  protected writeBytes(bytes: Uint8Array, from: number, to: number): number {
    this.interruptedLast = false;
    if (bytes.length === 0) return to;
    const ret = writeAll(this.fd, bytes);
    this.interruptedLast = !ret.ok && (ret.errno === Errno.EPIPE || ret.errno === Errno.EINTR);
    return this.#outcome(ret.ok ? { ok: true, value: 1 } : { ...ret, done: from }, to);
  }

  #outcome(ret: ReturnType<Batch["write"]>, to: number): number {
    if (ret.ok) {
      // Only a write that carried something shows the output has recovered.
      if (ret.value > 0) this.#failing = false;
      return to;
    }
    // EINTR: a signal that stops dtee ended the write (lib/signals.ts).
    if (ret.errno === Errno.EPIPE || ret.errno === Errno.EINTR) return ret.done;
    this.failed(ret.errno);
    return to;
  }

  /** A failed write is reported once, then again only after one has succeeded. */
  failed(errno: number): void {
    if (this.#failing) return;
    this.#failing = true;
    this.reporter.fail({ kind: "write", label: this.label, errno });
  }
}

const NEWLINE = new Uint8Array([0x0a]);

/**
 * An output that records the run in lines of its own (the JSON log, annotated
 * text): a record when the run starts, one when it ends (once per run,
 * whatever stops dtee after it), and in between what `write` makes of the
 * messages. After a write cut short (a stop signal, a reader that does not
 * read) the final record starts a line of its own.
 */
export abstract class RecordingOutput extends FdOutput {
  #ended = false;
  /** A write was cut short: the line is unfinished. */
  #torn = false;

  override get mergeable(): boolean {
    return false;
  }

  /** The bytes of the run's start. */
  protected abstract startRecord(run: RunInfo): Uint8Array;
  /** The bytes of the run's end at `timeNs`. */
  protected abstract endRecord(end: RecordedEnd, timeNs: bigint): Uint8Array;

  started(run: RunInfo): void {
    this.#ended = false;
    this.record(this.startRecord(run), 0, 0);
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
    if (this.#torn) this.record(NEWLINE, 0, 0);
    this.record(this.endRecord(end, timeNs), 0, 0);
  }

  /** Writes bytes that stand for messages from..to (see writeBytes), noting a cut-short line. */
  protected record(bytes: Uint8Array, from: number, to: number): number {
    const at = this.writeBytes(bytes, from, to);
    this.#torn = this.interruptedLast;
    return at;
  }
}
