/**
 * Signals: one policy per signal (docs/behaviour.md A4, A5, B2), set up
 * once before the command starts and consulted by the receive loop for
 * every caught signal.
 *
 * - Outside cron mode dtee keeps the default actions of SIGHUP, SIGINT and
 *   SIGTERM (it dies by them without a word) and catches SIGPIPE, which the
 *   runtime ignores, so that one sent from outside still ends it.
 * - In cron mode it catches all four: it stops, reports, then dies by it,
 *   as the C tool does. Writing JSON logs it catches SIGHUP, SIGINT and
 *   SIGTERM so that the final record says which one ended it, but only
 *   those it would otherwise die by: one it inherited ignored (nohup, a
 *   script's background job) stays ignored (docs/behaviour.md B3).
 * - A signal that stops dtee also interrupts a write of dtee's that waits
 *   for a reader (Disposition.interrupt), so that a reader that is not
 *   reading cannot hold dtee (docs/behaviour.md A7).
 * - SIGHUP, SIGINT, SIGTERM and SIGPIPE are unblocked whatever their
 *   disposition, as the C tool does: started with them blocked, dtee would
 *   otherwise never die by them (an inherited SIG_IGN stays, e.g. nohup).
 * - -i ignores SIGINT (the command still gets it from the terminal).
 * - As an init process, what `docker stop`, a terminal or an orchestrator
 *   sends goes to the command, and SIGCHLD means an orphan may need reaping.
 * - With a time limit, SIGCHLD also says the command may have stopped at
 *   the terminal its group holds (Ctrl-Z), which dtee follows (lib/child.ts).
 *   The command's group no longer gets what is sent to dtee or dtee's group,
 *   so dtee relays it, as timeout(1) does: SIGHUP, SIGINT and SIGTERM go to
 *   the command's group, and dtee ends by them as it would have without the
 *   limit, but only once the command has ended and its output is drained
 *   (B7). SIGQUIT, and SIGINT with -i, are passed on only: dtee ends as the
 *   command does (dying by SIGQUIT would dump dtee's core).
 */

import { Disposition, Signal } from "./abi.ts";
import { ignoredAtStart, setSignal, takeSignal, unblockSignal } from "./ffi.ts";

export const { SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGCHLD } = Signal;

/**
 * What dtee does with a caught signal: stop; forward it to the command (init); pass it on to
 * the command's group of its own; relay it there and end by it once the command has ended; reap.
 */
export type Policy = "stop" | "forward" | "pass" | "relay" | "reap";

const FORWARDED: readonly number[] = [
  Signal.SIGHUP,
  Signal.SIGINT,
  Signal.SIGQUIT,
  Signal.SIGTERM,
  Signal.SIGUSR1,
  Signal.SIGUSR2,
  Signal.SIGWINCH,
];

export interface SignalOptions {
  cron: boolean;
  ignoreInterrupts: boolean;
  init: boolean;
  /** A time limit is set: the command runs in a process group of its own (lib/child.ts). */
  ownGroup: boolean;
  /** JSON logs are written: dtee stops by SIGHUP/SIGINT/SIGTERM to write their final record first. */
  logs: boolean;
}

export class Signals {
  readonly #policies = new Map<number, Policy>();

  constructor(readonly options: SignalOptions) {
    const { cron, ignoreInterrupts, init, logs, ownGroup } = options;
    this.#policies.set(SIGPIPE, "stop");
    for (const s of [SIGHUP, SIGINT, SIGTERM]) {
      if (cron || (logs && !ignoredAtStart(s))) this.#policies.set(s, "stop");
    }
    if (ownGroup) {
      for (const s of [SIGHUP, SIGINT, Signal.SIGQUIT, SIGTERM]) {
        if (!ignoredAtStart(s)) this.#policies.set(s, s === Signal.SIGQUIT ? "pass" : "relay");
      }
    }
    if (init) {
      for (const s of FORWARDED) this.#policies.set(s, "forward");
    }
    if (init || ownGroup) this.#policies.set(SIGCHLD, "reap");
    if (ignoreInterrupts) {
      // What is sent to dtee (or its group) reaches the command only through dtee.
      if (this.#policies.get(SIGINT) === "relay") this.#policies.set(SIGINT, "pass");
      else this.#policies.delete(SIGINT);
    }
  }

  /**
   * Sets every disposition: caught where there is a policy (interrupting
   * dtee's writes where that policy is to stop), SIGINT ignored with -i;
   * then unblocks the four that end dtee. Says which could not be set, if any.
   */
  install(): { signal: number; errno: number } | undefined {
    const results: [number, ReturnType<typeof setSignal>][] = [];
    for (const [signal, policy] of this.#policies) {
      const disposition = stops(policy) ? Disposition.interrupt : Disposition.catch;
      results.push([signal, setSignal(signal, disposition)]);
    }
    if (this.options.ignoreInterrupts && !this.#policies.has(SIGINT)) {
      results.push([SIGINT, setSignal(SIGINT, Disposition.ignore)]);
    }
    for (const signal of [SIGHUP, SIGINT, SIGTERM, SIGPIPE]) {
      results.push([signal, unblockSignal(signal)]);
    }
    for (const [signal, r] of results) if (!r.ok) return { signal, errno: r.errno };
    return undefined;
  }

  /**
   * After a write of dtee's was interrupted: the pending signal that stops
   * dtee, or 0. Others pending now are dropped, as dtee is about to stop.
   */
  takeStop(): number {
    for (let signal = takeSignal(); signal !== 0; signal = takeSignal()) {
      if (stops(this.policy(signal))) return signal;
    }
    return 0;
  }

  policy(signal: number): Policy {
    return this.#policies.get(signal) ?? "stop";
  }
}

/** Whether dtee ends by a signal of this policy (a relayed one once the command has ended). */
function stops(policy: Policy): boolean {
  return policy === "stop" || policy === "relay";
}
