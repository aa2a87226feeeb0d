/**
 * Init-process duties (docs/behaviour.md B2), for dtee as a container's PID 1 or with
 * --init: signals meant for the container go to the command, and every
 * orphan that ends up as dtee's child is reaped, so none stays a zombie.
 */

import { Disposition, kill, setSignal, setSubreaper, wait } from "./ffi.ts";
import type { Reaper } from "./input.ts";
import { SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH } from "./status.ts";

/** What `docker stop`, a terminal or an orchestrator sends to the container. */
const FORWARDED = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH];
const ECHILD = 10;

export class Init {
  #status: number | undefined;

  /** Catches the forwarded signals and SIGCHLD; with -i, SIGINT stays ignored. */
  constructor(ignoreInterrupts: boolean) {
    for (const signal of FORWARDED) {
      if (!(ignoreInterrupts && signal === SIGINT)) setSignal(signal, Disposition.catch);
    }
    setSignal(SIGCHLD, Disposition.catch);
    // Not PID 1 (--init): orphans would go to the real init otherwise.
    setSubreaper();
  }

  /** Forwards a signal to the command; false for any signal it does not take. */
  forward(pid: number, signal: number): boolean {
    // Once the command is reaped its pid may belong to someone else.
    if (signal === SIGCHLD || this.#status !== undefined) return true;
    if (!FORWARDED.includes(signal)) return false;
    kill(pid, signal);
    return true;
  }

  /** Reaps every child that has exited, keeping the command's status. */
  reaper(pid: number): Reaper {
    return () => {
      for (;;) {
        const [got, raw] = wait(-1, true);
        if (got === pid) this.#status = raw;
        if (got > 0) continue;
        if (got < 0 && got !== -ECHILD) return { errno: -got };
        return this.#status === undefined ? undefined : { status: this.#status };
      }
    };
  }
}
