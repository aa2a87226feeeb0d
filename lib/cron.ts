/**
 * Cron mode (docs/behaviour.md A4): dtee's own stdout is held in an
 * unlinked temporary file until the command writes to stderr or ends badly;
 * then everything is written out in order, followed by one line saying how
 * the command ended. With --failures-only (B8) both streams are held, in
 * order, and written out only when the command fails. Output files are not affected: they always get every
 * message live. Its outputs are dtee's own stdout and stderr behind a gate
 * (`cronOutputs`), so that they keep their place among the outputs and
 * destinations of the dispatch (lib/dispatch.ts); the gated stdout is also
 * where the run's start and end reach cron mode.
 */

import { Errno, Stream } from "./abi.ts";
import { type Batch, close, fdInfo, type Piece, replay, tempFile, writeAll } from "./ffi.ts";
import type { Annotator } from "./annotate.ts";
import {
  endedText,
  type Failure,
  type FailureListener,
  interruptedText,
  type Reporter,
} from "./failures.ts";
import type { Output } from "./output.ts";
import { paired, StreamOutput, writeLabel } from "./output_stream.ts";
import type { CommandEnd, Interruption } from "./run_end.ts";
import type { RunInfo } from "./sink.ts";
import { tempTemplate } from "./temp.ts";

/**
 * dtee's stdout and stderr in cron mode (annotated with `annotator`: the held
 * output is held annotated); cron mode hears of every failure from now on.
 * `failuresOnly`: report only when the command fails (docs/behaviour.md B8).
 */
export function cronOutputs(
  reporter: Reporter,
  failuresOnly: boolean,
  annotator?: Annotator,
): Output[] {
  const cron = new Cron(reporter, failuresOnly);
  // Before the files are opened: cron mode runs unbuffered when one cannot be.
  reporter.listen(cron);
  return paired(
    new CronStdout(cron, reporter, annotator),
    new GatedStream("stderr", cron, reporter, annotator),
  );
}

/**
 * dtee's stdout or stderr behind the gate that holds stdout back until the command writes to
 * stderr (with --failures-only: both, until the command has failed).
 */
class GatedStream extends StreamOutput {
  /** Writing out the held output met a broken pipe: the label of the stream it broke on. */
  #releaseBroke: string | undefined;

  constructor(
    stream: "stdout" | "stderr",
    readonly cron: Cron,
    reporter: Reporter,
    annotator?: Annotator,
  ) {
    super(stream, reporter, annotator);
  }

  /** While stdout is held back, each message must meet the gate on its own stream's way. */
  override get mergeable(): boolean {
    return !this.cron.holding && super.mergeable;
  }

  override brokenLabel(): string {
    return this.#releaseBroke ?? this.label;
  }

  override write(batch: Batch, from: number, to: number, mask = this.mask): number {
    this.#releaseBroke = undefined;
    const cron = this.cron;
    if (cron.holding) {
      if (this.held) {
        // Annotated lines are held as they are made (`emit`).
        if (!this.annotator && cron.hold(batch, from, to, this.mask)) return to;
      } else {
        const first = batch.streams.indexOf(Stream.stderr, from);
        if (first >= 0 && first < to && !cron.stderrArrived()) {
          this.#releaseBroke = cron.releaseBroke;
          return first;
        }
      }
    }
    return super.write(batch, from, to, mask);
  }

  protected override emit(bytes: Uint8Array, from: number, to: number): number {
    if (this.held && this.cron.holding && this.cron.holdBytes(bytes, this.fd)) return to;
    return super.emit(bytes, from, to);
  }

  /** Whether its messages are held while cron mode holds: stdout's, with --failures-only both. */
  get held(): boolean {
    return this.stream === "stdout" || this.cron.failuresOnly;
  }
}

/**
 * The gated stdout, through which the run's start and end reach cron mode;
 * an unfinished annotated line is ended before cron mode writes out and reports.
 */
class CronStdout extends GatedStream {
  constructor(cron: Cron, reporter: Reporter, annotator?: Annotator) {
    super("stdout", cron, reporter, annotator);
  }

  opened(): void {
    this.cron.open();
  }

  override started(run: RunInfo): void {
    this.cron.started(run);
    super.started(run);
  }

  override terminated(end: CommandEnd): boolean {
    return this.endLine() && this.cron.terminated(end);
  }

  override interrupted(end: Interruption): void {
    this.endLine();
    this.cron.interrupted(end);
  }
}

/**
 * Failures after which a live cron run went on unbuffered with its report due: those of
 * setting up (before the command ran) and of the buffer file.
 */
const UNBUFFERED = new Set(["open", "buffer", "std-fds", "fcntl", "signals", "fork", "exec"]);

class Cron implements FailureListener {
  /** The buffer file, or -1 once output passes straight through. */
  #buffer = -1;
  #bufferPath = "";
  /**
   * What is known to be in the buffer file, in order: runs of one stream's
   * messages, each to go back to its own descriptor; when dtee's stdout
   * keeps message boundaries (an outer dtee), one piece per message, each
   * then going back in a write of its own (docs/architecture.md, "Choices").
   */
  #pieces: Piece[] = [];
  #keepBoundaries = false;
  /** Whether the final report is due whatever the exit status. */
  #reportDue = false;
  /** A broken pipe while writing out the held output: the label of the stream it broke on. */
  #broken: string | undefined;

  /** The command word as given, for the report line. */
  #command = "";

  constructor(readonly reporter: Reporter, readonly failuresOnly: boolean) {}

  /** Whether the command has started (the buffer file then exists, if it can). */
  #started = false;
  /** Something went wrong before the first run started: every run is reported, unbuffered. */
  #setupFailed = false;

  /**
   * Creates the first run's buffer file while the outputs are opened, before
   * the input: as in the C tool, an unusable TMPDIR is then reported for both
   * (docs/behaviour.md A4), and the command runs in place.
   */
  open(): void {
    if (!this.#setupFailed) this.#openBuffer();
  }

  /**
   * The command has started: use the buffer file (a replay's later runs make
   * a new one), unless something went wrong before; then output runs
   * unbuffered, so that the error and the output it explains arrive together.
   */
  started(run: RunInfo): void {
    // A replayed log may hold several runs: each starts afresh.
    this.#command = run.command[0];
    this.#started = true;
    const stdout = fdInfo(1);
    this.#keepBoundaries = stdout.ok && stdout.value.keepsBoundaries;
    this.#pieces = [];
    this.#broken = undefined;
    this.#reportDue = this.#setupFailed;
    if (this.#reportDue) {
      // Made before the failure (the command could not be started): nothing is held yet.
      if (this.#buffer >= 0) close(this.#buffer);
      this.#buffer = -1;
      return;
    }
    if (this.#buffer < 0) this.#openBuffer();
  }

  #openBuffer(): void {
    const pattern = tempTemplate("O");
    const file = tempFile(pattern);
    if (!file.ok) {
      return this.reporter.fail({
        kind: "buffer",
        stage: "create",
        path: pattern,
        errno: file.errno,
      });
    }
    this.#buffer = file.value.fd;
    this.#bufferPath = file.value.path;
  }

  failed(failure: Failure): void {
    if (!this.#started) this.#setupFailed = true;
    if (!this.#started || failure.kind === "buffer") this.#reportDue = true;
    // Nothing received (or replayed) may be lost: write out what is held.
    if (["recv", "waitpid", "log-data", "log-read"].includes(failure.kind)) this.release();
    // A replayed run goes on as the live one did after that failure: unbuffered and reported.
    if (failure.kind === "recorded" && UNBUFFERED.has(failure.failure)) {
      this.#reportDue = true;
      this.release();
    }
  }

  /** Whether dtee's stdout (with --failures-only, and stderr) is held back in the buffer file. */
  get holding(): boolean {
    return this.#buffer >= 0;
  }

  /** Whether writing out what was held met a broken pipe: on which stream's label. */
  get releaseBroke(): string | undefined {
    return this.#broken;
  }

  /**
   * Holds the messages of from..to that `mask` wants (one stream's); false
   * when the buffer failed (then released, so that the caller writes them
   * out itself).
   */
  hold(batch: Batch, from: number, to: number, mask: number): boolean {
    if (this.#hold(batch, from, to, mask)) return true;
    // What part of the batch reached the file is unknown: the release
    // replays only what is known to be there and the batch goes out whole.
    this.release();
    return false;
  }

  /**
   * Holds bytes that stand for messages to `fd` (annotated lines, one piece);
   * false when the buffer failed (then released: the caller writes them out).
   */
  holdBytes(bytes: Uint8Array, fd: number): boolean {
    if (bytes.length === 0) return true;
    const ret = writeAll(this.#buffer, bytes);
    if (ret.ok) {
      this.#piece(bytes.length, fd);
      return true;
    }
    this.reporter.fail({
      kind: "buffer",
      stage: "write",
      path: this.#bufferPath,
      errno: ret.errno,
    });
    this.release();
    return false;
  }

  /** The command wrote to stderr: report whatever happens, and write out what is held first. */
  stderrArrived(): boolean {
    this.#reportDue = true;
    return this.release();
  }

  /** Appends the messages from..to that `mask` wants to the buffer file; false if that failed. */
  #hold(batch: Batch, from: number, to: number, mask: number): boolean {
    const ret = batch.write(this.#buffer, from, to, mask);
    if (!ret.ok) {
      this.reporter.fail({
        kind: "buffer",
        stage: "write",
        path: this.#bufferPath,
        errno: ret.errno,
      });
      return false;
    }
    for (let i = from; i < to; i++) {
      const stream = batch.streams[i];
      if ((mask & (1 << stream)) !== 0) {
        this.#piece(batch.lens[i], stream === Stream.stdout ? 1 : 2);
      }
    }
    return true;
  }

  /** `len` more bytes held for `fd`: the run of that descriptor's goes on, or a new one starts. */
  #piece(len: number, fd: number): void {
    const last = this.#pieces.at(-1);
    if (last && last.fd === fd && !this.#keepBoundaries) last.len += len;
    else this.#pieces.push({ len, fd });
  }

  /**
   * Writes out what is held and passes everything straight through from
   * now on; false on a broken pipe, or when a signal that stops dtee
   * interrupted it (the signal is still pending: the caller takes it).
   */
  release(): boolean {
    if (this.#buffer < 0) return true;
    const buffer = this.#buffer;
    this.#buffer = -1;
    const ret = replay(buffer, this.#pieces, this.#keepBoundaries);
    close(buffer);
    if (ret.ok) return true;
    if (ret.stage !== "write") {
      this.reporter.fail({
        kind: "buffer",
        stage: ret.stage,
        path: this.#bufferPath,
        errno: ret.errno,
      });
    } else if (ret.errno === Errno.EPIPE) {
      this.#broken = heldLabel(ret.fd);
      return false;
    } else if (ret.errno === Errno.EINTR) {
      // What is left of the held output is not written: dtee is to stop
      // promptly (docs/behaviour.md A7).
      return false;
    } else {
      this.reporter.fail({ kind: "write", label: heldLabel(ret.fd), errno: ret.errno });
    }
    return true;
  }

  /**
   * The command has ended: stay silent, or write out everything and report.
   * With --failures-only only a failure reports: the command's, or dtee's own.
   */
  terminated(end: CommandEnd): boolean {
    const clean = end.kind === "exited" && end.code === 0;
    const failed = !clean || (this.failuresOnly && this.reporter.failed);
    if (!failed && !this.#reportDue) {
      if (this.#buffer >= 0) close(this.#buffer);
      this.#buffer = -1;
      return true;
    }
    if (!this.release()) return false;
    for (const line of endedText(this.#command, end)) this.reporter.say(line);
    return true;
  }

  /**
   * dtee itself was interrupted: write out what is held and say so, giving
   * up on a reader that makes no room (docs/behaviour.md A7).
   */
  interrupted({ signal, brokenLabel }: Interruption): void {
    if (brokenLabel) this.reporter.fail({ kind: "write", label: brokenLabel, errno: Errno.EPIPE });
    this.release();
    this.reporter.say(interruptedText(signal));
  }
}

/** How a failed write of held output to dtee's own `fd` is labelled (--failures-only holds both). */
function heldLabel(fd: number): string {
  return writeLabel(fd === 2 ? "stderr" : "stdout");
}
