/**
 * What every kind of output is (docs/behaviour.md A3): one interface that
 * lib/dispatch.ts drives alike for each, how a kind is opened, and the
 * descriptor bookkeeping they share. Each kind lives in a module of its own
 * (lib/output_*.ts) and is registered in lib/output_kinds.ts; the option
 * table (lib/cli.ts) names the kind and mode of each file option.
 */

import { Errno } from "./abi.ts";
import type { Options, OutputSpec } from "./cli.ts";
import {
  type Batch,
  close,
  type FdInfo,
  fdInfo,
  openInput,
  openOutput,
  read,
  seek,
  writeAll,
} from "./ffi.ts";
import type { Failure, Reporter } from "./failures.ts";
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
  /** dtee reported `failure` (a log records what dtee said). */
  noted?(failure: Failure): void;
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
      : { kind: "other", identity: `fd:${fd}`, keepsBoundaries: false, size: 0 };
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

  /** Whether the last write of writeBytes failed: part of its bytes may have been written. */
  protected failedLast = false;

  /** Writes bytes that stand for messages from..to: `to`, or `from` on a broken pipe or a stop. */
  protected writeBytes(bytes: Uint8Array, from: number, to: number): number {
    this.failedLast = false;
    if (bytes.length === 0) return to;
    const ret = writeAll(this.fd, bytes);
    this.failedLast = !ret.ok;
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

/**
 * An output that records the run in lines of its own (the JSON log, annotated
 * text): a record when the run starts, one when it ends (once per run,
 * whatever stops dtee after it), and in between what `write` makes of the
 * messages. After a write cut short (a stop signal, a reader that does not
 * read) the final record starts a line of its own.
 */
export abstract class RecordingOutput extends FdOutput {
  #ended = false;
  /** Between the run's start and its end. */
  protected running = false;
  /**
   * The file may end in a line cut short (a write that failed part way, a dtee
   * killed while writing, found at open): the next write starts a line of its own.
   */
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
    this.running = true;
    this.record(this.startRecord(run), 0, 0);
  }

  terminated(end: CommandEnd, timeNs: bigint): boolean {
    this.#end(end, timeNs);
    return true;
  }

  interrupted(end: Interruption, timeNs: bigint): void {
    this.#end(end, timeNs);
  }

  /** Appending to `path`, whose last line may be cut short: the first record then starts a new one. */
  appendsAfter(path: string): this {
    this.#torn = this.info.kind === "file" && !endsLine(path, this.info.size);
    return this;
  }

  #end(end: RecordedEnd, timeNs: bigint): void {
    if (this.#ended) return;
    this.#ended = true;
    this.running = false;
    this.record(this.endRecord(end, timeNs), 0, 0);
  }

  /** The file no longer ends a line (another process left one unfinished): the next write starts one. */
  protected tear(): void {
    this.#torn = true;
  }

  /** Writes bytes that stand for messages from..to (see writeBytes), on a line of their own. */
  protected record(bytes: Uint8Array, from: number, to: number): number {
    if (this.#torn && bytes.length > 0 && bytes[0] !== 0x0a) {
      // In the same write, so that no other process's record comes between (bytes that
      // begin with a newline end the torn line themselves).
      const line = new Uint8Array(bytes.length + 1);
      line[0] = 0x0a;
      line.set(bytes, 1);
      bytes = line;
    }
    const at = this.writeBytes(bytes, from, to);
    this.#torn = this.failedLast || (this.#torn && bytes.length === 0);
    return at;
  }
}

/** Whether the file at `path`, `size` bytes long, is empty or ends with a newline. */
export function endsLine(path: string, size: number): boolean {
  if (size === 0) return true;
  const fd = openInput(path);
  // Unreadable: dtee cannot tell, and a line of its own would be a blank line.
  if (!fd.ok) return true;
  try {
    const last = new Uint8Array(1);
    const got = seek(fd.value, size - 1).ok ? read(fd.value, last) : undefined;
    return !got?.ok || got.value !== 1 || last[0] === 0x0a;
  } finally {
    close(fd.value);
  }
}
