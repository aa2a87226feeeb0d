/**
 * The command: starting it (as execvp(3) would find it, with the sockets
 * as its fd 1 and 2), replacing dtee with it when it cannot be captured,
 * reaping it, an init process's duties towards it and the orphans it
 * leaves (docs/behaviour.md B2), and its time limit (B7): a process group
 * of its own, signalled whole when the limit passes.
 */

import { Errno, Signal } from "./abi.ts";
import type { TimeLimit } from "./cli.ts";
import {
  type Child,
  exec,
  followStop,
  kill,
  restoreTerminal,
  type Result,
  setSubreaper,
  setTimer,
  signalGroup,
  spawn,
  wait,
} from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import { type CommandEnd, decodeWaitStatus, type RunEnd } from "./run_end.ts";

/** What reaping found: the command's raw wait status, or why waitpid failed. */
export type Reaped = { status: number } | { errno: number } | undefined;

export class Command {
  /** The command's raw wait status, once reaped. */
  #status: number | undefined;
  /** SIGTERM went to its group when the time limit passed. */
  #timedOut = false;

  private constructor(
    readonly child: Child,
    readonly init: boolean,
    readonly limit: TimeLimit | undefined,
  ) {}

  get pid(): number {
    return this.child.pid;
  }

  get pidfd(): number {
    return this.child.pidfd;
  }

  /**
   * Starts `argv` with `stdout`/`stderr` as its fd 1/2, or reports why not
   * and says which step failed.
   * An init process (`init`) first makes itself the parent of every orphan
   * the command leaves, which PID 1 is by nature. With a time limit the
   * command leads a process group of its own and the clock starts.
   */
  static start(
    argv: readonly string[],
    stdout: number,
    stderr: number,
    init: boolean,
    limit: TimeLimit | undefined,
    reporter: Reporter,
  ): Command | "fork" | "exec" {
    if (init) setSubreaper();
    const child = spawn(argv, stdout, stderr, limit !== undefined);
    if (child.ok) {
      if (limit) setTimer(limit.timeout.ns);
      return new Command(child.value, init, limit);
    }
    reporter.fail(
      child.stage === "fork"
        ? { kind: "fork", errno: child.errno }
        : { kind: "exec", command: argv[0], errno: child.errno },
    );
    return child.stage;
  }

  /** Forwards a signal meant for the container; once reaped its pid may be someone else's. */
  forward(signal: number): void {
    if (this.#status === undefined) kill(this.pid, signal);
  }

  /** Passes a signal sent to dtee on to the command's group of its own (docs/behaviour.md B7). */
  relay(signal: number): void {
    if (this.#status === undefined && this.limit) signalGroup(this.pid, signal);
  }

  /**
   * dtee is about to end (`end`) while the command may still run: a group of its own no
   * longer shares dtee's fate, so it gets the signal dtee dies by (SIGTERM for any other way),
   * as timeout(1) does, and nothing started under the limit outlives dtee (docs/behaviour.md B7).
   */
  abandon(end: RunEnd | undefined): void {
    if (this.#status !== undefined || !this.limit) return;
    const dies = end?.kind === "dtee-signaled" && end.signal !== Signal.SIGPIPE;
    signalGroup(this.pid, dies ? end.signal : Signal.SIGTERM);
  }

  /**
   * The time limit's deadline passed while the command runs: SIGTERM to its
   * group (the clock then runs for --kill-after), or after that SIGKILL.
   */
  timeUp(): void {
    if (this.#status !== undefined || !this.limit) return;
    if (this.#timedOut) {
      signalGroup(this.pid, Signal.SIGKILL);
      return;
    }
    this.#timedOut = true;
    signalGroup(this.pid, Signal.SIGTERM);
    if (this.limit.killAfter) setTimer(this.limit.killAfter.ns);
  }

  /** How the command ended, from its raw wait status: after its time limit passed, or not. */
  ended(status: number): CommandEnd {
    const process = decodeWaitStatus(status);
    return this.#timedOut
      ? { kind: "timed-out", after: this.limit!.timeout.text, process }
      : process;
  }

  /**
   * Reaps the command (and as an init process every exited orphan too).
   * Once it has ended, a terminal its group held goes back to dtee's.
   */
  reap(): Reaped {
    // A command stopped at the terminal (Ctrl-Z) is followed, not reaped.
    if (this.limit) followStop(this.pid);
    for (;;) {
      const got = wait(this.init ? -1 : this.pid, true);
      if (!got.ok) {
        if (this.init && got.errno === Errno.ECHILD) break;
        return { errno: got.errno };
      }
      if (got.value.pid === this.pid) this.#status = got.value.status;
      if (!this.init || got.value.pid === 0) break;
    }
    if (this.#status === undefined) return undefined;
    if (this.limit) {
      setTimer(0n);
      restoreTerminal();
    }
    return { status: this.#status };
  }
}

/** Replaces dtee with the command (cron mode, when it cannot be captured); returns only on failure. */
export function execInPlace(argv: readonly string[], reporter: Reporter): void {
  const failed: Result<never> = exec(argv);
  if (!failed.ok) reporter.fail({ kind: "exec", command: argv[0], errno: failed.errno });
}
