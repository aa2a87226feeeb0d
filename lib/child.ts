/**
 * The command: starting it (as execvp(3) would find it, with the sockets
 * as its fd 1 and 2), replacing dtee with it when it cannot be captured,
 * reaping it, and an init process's duties towards it and the orphans it
 * leaves (docs/behaviour.md B2).
 */

import { Errno } from "./abi.ts";
import { type Child, exec, kill, type Result, setSubreaper, spawn, wait } from "./ffi.ts";
import type { Reporter } from "./failures.ts";

/** What reaping found: the command's raw wait status, or why waitpid failed. */
export type Reaped = { status: number } | { errno: number } | undefined;

export class Command {
  /** The command's raw wait status, once reaped. */
  #status: number | undefined;

  private constructor(readonly child: Child, readonly init: boolean) {}

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
   * the command leaves, which PID 1 is by nature.
   */
  static start(
    argv: readonly string[],
    stdout: number,
    stderr: number,
    init: boolean,
    reporter: Reporter,
  ): Command | "fork" | "exec" {
    if (init) setSubreaper();
    const child = spawn(argv, stdout, stderr, false);
    if (child.ok) return new Command(child.value, init);
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

  /** Reaps the command (and as an init process every exited orphan too). */
  reap(): Reaped {
    for (;;) {
      const got = wait(this.init ? -1 : this.pid, true);
      if (!got.ok) {
        if (this.init && got.errno === Errno.ECHILD) break;
        return { errno: got.errno };
      }
      if (got.value.pid === this.pid) this.#status = got.value.status;
      if (!this.init || got.value.pid === 0) break;
    }
    return this.#status === undefined ? undefined : { status: this.#status };
  }
}

/** Replaces dtee with the command (cron mode, when it cannot be captured); returns only on failure. */
export function execInPlace(argv: readonly string[], reporter: Reporter): void {
  const failed: Result<never> = exec(argv);
  if (!failed.ok) reporter.fail({ kind: "exec", command: argv[0], errno: failed.errno });
}
