/**
 * How a run ended: the one type for it, live or replayed, and the one
 * function that turns it into dtee's exit status (docs/behaviour.md A5).
 * A new way for a run to end (a time limit) is one more kind here and one
 * more case in `exitStatus`.
 */

export type RunEnd =
  /** The command exited with `code`. */
  | { kind: "exited"; code: number }
  /** The command was killed by `signal`; `signalName`: as a log recorded it. */
  | { kind: "signaled"; signal: number; coreDumped: boolean; signalName?: string }
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

/** How the command ended. */
export type CommandEnd = Extract<RunEnd, { kind: "exited" | "signaled" }>;
/** dtee stops by a signal. */
export type Interruption = Extract<RunEnd, { kind: "dtee-signaled" }>;
/** What a run's final record can say (docs/jsonlog.md). */
export type RecordedEnd = CommandEnd | Interruption;

/** Decodes a waitpid(2) status (the Linux and BSD encoding). */
export function decodeWaitStatus(status: number): CommandEnd {
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
    case "dtee-signaled":
      return 128 + end.signal;
    case "replayed":
      return failure || exitStatus(end.last);
  }
}
