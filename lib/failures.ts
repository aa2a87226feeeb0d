/**
 * dtee's failures and results: every kind of failure, the message it prints
 * and the exit status it stands for (sysexits(3), docs/behaviour.md A5, A6),
 * decided in one switch, and the texts that say how a run ended. Nothing
 * else in dtee names an exit status (lib/run_end.ts turns how a run ended
 * into one, given the status of the failures reported here) or
 * prints a `NAME: ...` line of its own.
 */

import { strerror, strsignal, writeAll } from "./ffi.ts";
import type { CommandEnd, ProcessEnd } from "./run_end.ts";
import { encode, escapeControls } from "./text.ts";

const EX_USAGE = 64;
const EX_DATAERR = 65;
const EX_NOINPUT = 66;
const EX_UNAVAILABLE = 69;
const EX_SOFTWARE = 70;
const EX_OSERR = 71;
const EX_CANTCREAT = 73;
const EX_IOERR = 74;

/** The status of a command line without a command (lib/cli.ts), as of a usage error. */
export const USAGE_STATUS = EX_USAGE;

/** How a command that could not be executed ends: the C tool's forked child exits 66. */
export const EXEC_FAILED: CommandEnd = { kind: "exited", code: EX_NOINPUT };

export type BufferStage = "create" | "write" | "seek" | "read";

export type Failure =
  /** The command line is not valid (lib/cli.ts says what is wrong). */
  | { kind: "usage"; message: string }
  /** An output file could not be opened. */
  | { kind: "open"; path: string; errno: number }
  /** A write to an output failed; label: the file name, or `stdout: write`. */
  | { kind: "write"; label: string; errno: number }
  | { kind: "fcntl"; label: "stdout" | "stderr"; errno: number }
  | { kind: "std-fds"; errno: number }
  | { kind: "sockets"; who: string; op: string; pattern: string; errno: number }
  | { kind: "signals"; signal: number; errno: number }
  | { kind: "recv"; errno: number }
  | { kind: "close"; who: "stdout" | "stderr"; errno: number }
  | { kind: "fork"; errno: number }
  | { kind: "exec"; command: string; errno: number }
  | { kind: "waitpid"; errno: number }
  | { kind: "buffer"; stage: BufferStage; path: string; errno: number }
  /** The log to replay could not be opened or read. */
  | { kind: "log-read"; path: string; errno: number }
  /** A record of the log to replay is not valid: `FILE:LINE: what`. */
  | { kind: "log-data"; where: string }
  /** The log to replay is also `output`, one of the replay's outputs (a usage error). */
  | { kind: "log-is-output"; path: string; output: string }
  /** A file that -L needs could not be had (lib/preload.ts). */
  | { kind: "line-buffered"; what: string; errno?: number }
  | { kind: "internal"; what: string }
  /**
   * A failure read from a log being replayed: `failure` is the kind it was recorded as,
   * `text` what dtee printed then. Printed again, it changes no status.
   */
  | { kind: "recorded"; failure: string; text: string };

/** The message (after `NAME: `) and the exit status of a failure. */
function describe(f: Failure, name: string): [string, number] {
  switch (f.kind) {
    case "usage":
      return [`${f.message}\nTry '${name} -h' for more information.`, EX_USAGE];
    case "open":
      return [`${f.path}: ${strerror(f.errno)}`, EX_CANTCREAT];
    case "write":
      return [`${f.label}: ${strerror(f.errno)}`, EX_IOERR];
    case "fcntl":
      return [`${f.label}: fcntl(F_SETFL): ${strerror(f.errno)}`, EX_OSERR];
    case "std-fds":
      return [`/dev/null: ${strerror(f.errno)}`, EX_OSERR];
    case "sockets":
      return [
        f.who === "directory"
          ? `unable to create temporary directory ${f.pattern}: ${strerror(f.errno)}`
          : `${f.who} socket: ${f.op}: ${strerror(f.errno)}`,
        EX_UNAVAILABLE,
      ];
    case "signals":
      return [`signal ${f.signal}: sigaction: ${strerror(f.errno)}`, EX_UNAVAILABLE];
    case "recv":
      return [`input socket: recv: ${strerror(f.errno)}`, EX_IOERR];
    case "close":
      return [`${f.who} socket: close: ${strerror(f.errno)}`, EX_IOERR];
    case "fork":
      return [`fork: ${strerror(f.errno)}`, EX_OSERR];
    case "exec":
      return [`${f.command}: ${strerror(f.errno)}`, EX_NOINPUT];
    case "waitpid":
      return [`waitpid: ${strerror(f.errno)}`, EX_OSERR];
    case "buffer": {
      const text = strerror(f.errno);
      switch (f.stage) {
        case "create":
          return [`unable to create temporary file ${f.path}: ${text}`, EX_CANTCREAT];
        case "write":
          return [`error writing to buffer file ${f.path}: ${text}`, EX_IOERR];
        case "seek":
          return [`error seeking to start of buffer file ${f.path}: ${text}`, EX_IOERR];
        case "read":
          return [`error reading buffer file ${f.path}: ${text}`, EX_IOERR];
      }
      break;
    }
    case "log-read":
      return [`${f.path}: ${strerror(f.errno)}`, EX_NOINPUT];
    case "log-is-output":
      return [
        `${f.path}: input file is output file${f.output === f.path ? "" : ` (${f.output})`}`,
        EX_USAGE,
      ];
    case "log-data":
      return [escapeControls(f.where), EX_DATAERR];
    case "line-buffered": {
      const why = f.errno === undefined ? "" : `: ${strerror(f.errno)}`;
      return [`-L: ${f.what}${why}`, EX_UNAVAILABLE];
    }
    case "internal":
      return [`internal error: ${f.what}`, EX_SOFTWARE];
    case "recorded":
      return [escapeControls(f.text), 0];
  }
}

/** What dtee prints for `failure`, after `NAME: ` (a log's diagnostic record keeps it). */
export function failureText(failure: Failure, name: string): string {
  return failure.kind === "recorded" ? failure.text : describe(failure, name)[0];
}

/** The kind of `failure` as a log records it (docs/jsonlog.md "Diagnostic record"). */
export function failureKind(failure: Failure): string {
  return failure.kind === "recorded" ? failure.failure : failure.kind;
}

/** The line a cron report ends with (docs/behaviour.md A4). */
export function resultText(command: string, end: ProcessEnd): string {
  if (end.kind === "exited") return `${command}: exited with status ${end.code}`;
  const core = end.coreDumped ? " (core dumped)" : "";
  return `${command}: process terminated by signal ${end.signal}: ${strsignal(end.signal)}${core}`;
}

/**
 * The lines that say how the command ended: the report's last line, after
 * the one that says its time limit passed, if it did (docs/behaviour.md B7).
 */
export function endedText(command: string, end: CommandEnd): string[] {
  if (end.kind !== "timed-out") return [resultText(command, end)];
  return [timedOutText(command, end), resultText(command, end.process)];
}

/** The line that says the command's time limit passed (docs/behaviour.md B7). */
export function timedOutText(command: string, end: { after: string }): string {
  return `${command}: timed out after ${end.after}`;
}

/** The line dtee prints before it dies by a signal in cron mode. */
export function interruptedText(signal: number): string {
  return `received signal ${signal}: ${strsignal(signal)}`;
}

/** Hears of every failure of dtee's, once it is reported (cron mode: lib/cron.ts). */
export interface FailureListener {
  failed(failure: Failure): void;
}

/**
 * Prints dtee's messages and keeps the status its failures stand for: the
 * most serious one wins over the command's status (a lost write, 74, over
 * a file that could not be opened, 73).
 */
export class Reporter {
  #worst = 0;
  readonly #failures: Failure[] = [];
  readonly #listeners: FailureListener[] = [];

  constructor(readonly name: string) {}

  /** Has `listener` hear of every failure, those already reported first. */
  listen(listener: FailureListener): void {
    this.#listeners.push(listener);
    for (const failure of this.#failures) listener.failed(failure);
  }

  /** Prints `NAME: text`. A failure to print has nowhere to be reported. */
  say(text: string): void {
    const line = encode(`${this.name}: ${text}\n`);
    try {
      writeAll(2, line);
    } catch {
      // Without the shim (an internal error) the runtime's own write has to do.
      Deno.stderr.writeSync(line);
    }
  }

  /** Reports `failure` and records its status. */
  fail(failure: Failure): void {
    const [text, status] = describe(failure, this.name);
    this.say(text);
    this.#worst = Math.max(this.#worst, status);
    this.#failures.push(failure);
    for (const listener of this.#listeners) listener.failed(failure);
  }

  /** Reports something that should never happen (an exception): exit 70, one line, no stack. */
  internal(error: unknown): number {
    const what = error instanceof Error ? error.message : String(error);
    this.fail({ kind: "internal", what: what.split("\n")[0] });
    return this.exitStatus();
  }

  get failed(): boolean {
    return this.#worst !== 0;
  }

  /** The status of dtee's most serious failure, or 0. */
  exitStatus(): number {
    return this.#worst;
  }
}
