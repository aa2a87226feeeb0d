/**
 * How a run ended: the one type for it, live or replayed, and the one
 * function that turns it into dtee's exit status (docs/behaviour.md A5, B7).
 * Each way for a run to end is one kind here and one case in `exitStatus`.
 */

import { Signal } from "./abi.ts";

const { SIGKILL } = Signal;

export type RunEnd =
  /** The command exited with `code`. */
  | { kind: "exited"; code: number }
  /** The command was killed by `signal`; `signalName`: as a log recorded it. */
  | { kind: "signaled"; signal: number; coreDumped: boolean; signalName?: string }
  /**
   * The command's time limit passed (`after`: as given, with its unit, docs/behaviour.md B7);
   * `process`: how the command ended after its SIGTERM (or SIGKILL).
   */
  | { kind: "timed-out"; after: string; process: ProcessEnd }
  /**
   * dtee itself stops by `signal` (or a log recorded that it did): a caught
   * signal, or SIGPIPE when the broken pipe of the output `brokenLabel`
   * stopped it.
   */
  | { kind: "dtee-signaled"; signal: number; brokenLabel?: string; signalName?: string }
  /** A failure of dtee's stopped the run (already reported: its status is the failure's). */
  | { kind: "failed" }
  /** Every run of a log was replayed: `last` is how the last one ended, as recorded. */
  | { kind: "replayed"; last: RecordedEnd };

/** How the command's process ended, as waitpid(2) says. */
export type ProcessEnd = Extract<RunEnd, { kind: "exited" | "signaled" }>;
/** How the command ended: its process's end, after its time limit passed or not. */
export type CommandEnd = Extract<RunEnd, { kind: "exited" | "signaled" | "timed-out" }>;
/** dtee stops by a signal. */
export type Interruption = Extract<RunEnd, { kind: "dtee-signaled" }>;
/** What a run's final record can say (docs/jsonlog.md). */
export type RecordedEnd = CommandEnd | Interruption;

/** How the command's process (or dtee) ended, a time limit that passed first aside. */
export function withoutTimeOut(end: RecordedEnd): Exclude<RecordedEnd, { kind: "timed-out" }> {
  return end.kind === "timed-out" ? end.process : end;
}

/** Decodes a waitpid(2) status (the Linux and BSD encoding). */
export function decodeWaitStatus(status: number): ProcessEnd {
  const signal = status & 0x7f;
  if (signal === 0) return { kind: "exited", code: (status >> 8) & 0xff };
  return { kind: "signaled", signal, coreDumped: (status & 0x80) !== 0 };
}

/**
 * dtee's exit status after `end`. `failure`: the status of dtee's most
 * serious failure (0 if none), which wins over the command's. A signal N is
 * 128+N, as a shell reports it; when dtee itself dies by one, that is what
 * its caller sees.
 */
export function exitStatus(end: RunEnd, failure = 0): number {
  switch (end.kind) {
    case "failed":
      return failure;
    case "exited":
      return failure || end.code;
    case "signaled":
      return failure || 128 + end.signal;
    case "timed-out":
      // As timeout(1): 124, or 137 when SIGKILL ended the command.
      return failure ||
        (end.process.kind === "signaled" && end.process.signal === SIGKILL ? 137 : 124);
    case "dtee-signaled":
      return 128 + end.signal;
    case "replayed":
      return failure || exitStatus(end.last);
  }
}
