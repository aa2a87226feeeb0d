/**
 * What the loops (lib/input.ts live, lib/replay_loop.ts replayed) deliver
 * to, and how a delivery cut short becomes the end of the run. A received
 * batch is delivered in order; the sink answers how far it got: `to` when
 * everything went out, or the index of the message at which a broken pipe
 * or a signal that stops dtee stopped it (docs/behaviour.md A3: a broken
 * pipe is SIGPIPE, and nothing after that message may be written anywhere).
 */

import type { Batch } from "./ffi.ts";
import type { CommandEnd, Interruption } from "./run_end.ts";
import type { Signals } from "./signals.ts";
import { Signal } from "./abi.ts";

/** A run as the outputs hear of it: the command's words as given, when and by whom it was started. */
export interface RunInfo {
  command: readonly string[];
  /** ns since the epoch. */
  timeNs: bigint;
  /** dtee's pid (the recorded one, in a replay). */
  pid: number;
  /** The run id its log records carry (docs/jsonlog.md; the recorded one, in a replay). */
  id: string;
}

/** Every output of a run, as the loops see them (lib/dispatch.ts). */
export interface Sink {
  deliver(batch: Batch, from: number, to: number): number;
  /** What the output whose broken pipe stopped the last delivery is called in messages. */
  brokenLabel(): string | undefined;
  /** The command is running, or a recorded run begins. */
  started(run: RunInfo): void;
  /**
   * The command ended (at `timeNs`). false: a broken pipe or a signal cut
   * the last writes short (dtee is then interrupted).
   */
  terminated(end: CommandEnd, timeNs: bigint): boolean;
  /** dtee is about to die by a signal (or a log recorded that it did). */
  interrupted(end: Interruption, timeNs: bigint): void;
}

/**
 * What stops dtee after writes of its stopped short, or may have: a pending
 * signal that stops dtee, else a broken pipe when `broken`.
 */
function stopped(sink: Sink, signals: Signals, broken: boolean): Interruption | undefined {
  const stop = signals.takeStop();
  if (stop) return { kind: "dtee-signaled", signal: stop };
  if (broken) {
    return { kind: "dtee-signaled", signal: Signal.SIGPIPE, brokenLabel: sink.brokenLabel() };
  }
  return undefined;
}

/** A delivery stopped short: a write interrupted by a signal that stops dtee, or a broken pipe. */
export function stoppedShort(sink: Sink, signals: Signals): Interruption {
  return stopped(sink, signals, true)!;
}

/**
 * A run ended (live or replayed): the outputs hear of it (cron mode reports);
 * what stops dtee if a signal or a broken pipe cut their last writes short.
 */
export function ended(
  sink: Sink,
  signals: Signals,
  end: CommandEnd,
  timeNs: bigint,
): Interruption | undefined {
  const delivered = sink.terminated(end, timeNs);
  // A signal that stopped the last writes (held output, report line) is taken now.
  return stopped(sink, signals, !delivered);
}
