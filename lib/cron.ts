/**
 * Cron mode (docs/behaviour.md A4): dtee's own stdout is held in an unlinked temporary
 * file until the command writes to stderr or ends badly; then everything is
 * written out in order, followed by one line saying how the command ended.
 * Output files are not affected: they always get every message live.
 */

import type { Diagnostics } from "./diagnostics.ts";
import { type Batch, close, replay, Stream, strsignal, tempFile } from "./ffi.ts";
import { tempPattern } from "./input.ts";
import { Mask, type MessageSink, type Standard } from "./outputs.ts";
import { type CommandResult, EX_CANTCREAT, EX_IOERR, type Failures } from "./status.ts";

export class Cron implements MessageSink {
  /** The buffer file, or -1 once output passes straight through. */
  #buffer = -1;
  #bufferPath = "";
  /** Bytes known to be in the buffer file, in order. */
  #held = 0;
  /** Whether the final report is due whatever the exit status. */
  #reportDue = false;

  constructor(
    readonly command: string,
    readonly standard: Standard,
    readonly diagnostics: Diagnostics,
    readonly failures: Failures,
  ) {
    if (failures.any) {
      // An output file could not be opened: run unbuffered so that the
      // error and the output it explains arrive together (docs/behaviour.md A4).
      this.#reportDue = true;
      return;
    }
    const pattern = tempPattern("O");
    const [fd, path] = tempFile(pattern);
    if (fd < 0) {
      diagnostics.error(`unable to create temporary file ${pattern}`, -fd);
      failures.add(EX_CANTCREAT);
      this.#reportDue = true;
      return;
    }
    this.#buffer = fd;
    this.#bufferPath = path;
  }

  deliver(batch: Batch, from: number, to: number): void {
    if (this.#buffer >= 0) {
      const firstError = batch.streams.indexOf(Stream.stderr, from);
      const held = firstError < 0 || firstError >= to ? to : firstError;
      if (!this.#hold(batch, from, held)) {
        this.release();
      } else if (held === to) {
        return;
      } else {
        this.#reportDue = true;
        this.release();
        from = held;
      }
    }
    this.standard.deliver(batch, from, to);
  }

  /** Appends the stdout messages from..to to the buffer file; false if that failed. */
  #hold(batch: Batch, from: number, to: number): boolean {
    const ret = batch.write(this.#buffer, from, to, Mask.stdout);
    if (ret < 0) {
      // What part of the batch reached the file is unknown: the release
      // replays only what is known to be there and the batch goes out whole.
      this.diagnostics.error(`error writing to buffer file ${this.#bufferPath}`, -ret);
      this.failures.add(EX_IOERR);
      this.#reportDue = true;
      return false;
    }
    for (let i = from; i < to; i++) {
      if (batch.streams[i] === Stream.stdout) this.#held += batch.lens[i];
    }
    return true;
  }

  /** Writes out what is held and passes everything straight through from now on. */
  release(): void {
    if (this.#buffer < 0) return;
    const [ret, stage] = replay(this.#buffer, this.standard.stdout.fd, this.#held);
    if (ret < 0) {
      if (stage === "write") {
        this.standard.stdout.failed(-ret);
      } else {
        const what = stage === "seek" ? "error seeking to start of" : "error reading";
        this.diagnostics.error(`${what} buffer file ${this.#bufferPath}`, -ret);
        this.failures.add(EX_IOERR);
      }
    }
    close(this.#buffer);
    this.#buffer = -1;
  }

  /** The command has ended: stay silent, or write out everything and report. */
  finish(result: CommandResult): void {
    const clean = result.kind === "exited" && result.code === 0;
    if (clean && !this.#reportDue) {
      if (this.#buffer >= 0) close(this.#buffer);
      this.#buffer = -1;
      return;
    }
    this.release();
    if (result.kind === "exited") {
      this.diagnostics.say(`${this.command}: exited with status ${result.code}`);
    } else {
      const core = result.coreDumped ? " (core dumped)" : "";
      this.diagnostics.say(
        `${this.command}: process terminated by signal ${result.signal}: ${
          strsignal(result.signal)
        }${core}`,
      );
    }
  }

  /** dtee itself was interrupted: write out what is held and say so. */
  interrupted(signal: number): void {
    this.release();
    this.diagnostics.say(`received signal ${signal}: ${strsignal(signal)}`);
  }
}
