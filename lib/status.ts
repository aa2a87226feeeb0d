/**
 * Exit statuses (docs/behaviour.md A5, sysexits(3)) and what a raw wait status means.
 */

export const EX_OK = 0;
export const EX_USAGE = 64;
export const EX_NOINPUT = 66;
export const EX_UNAVAILABLE = 69;
export const EX_SOFTWARE = 70;
export const EX_OSERR = 71;
export const EX_CANTCREAT = 73;
export const EX_IOERR = 74;

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGUSR1 = 10;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGTERM = 15;
export const SIGCHLD = 17;
export const SIGWINCH = 28;

/** How the command ended. */
export type CommandResult =
  | { kind: "exited"; code: number }
  | { kind: "signaled"; signal: number; coreDumped: boolean };

/** Decodes a waitpid(2) status (the Linux and BSD encoding). */
export function decodeWaitStatus(status: number): CommandResult {
  const signal = status & 0x7f;
  if (signal === 0) return { kind: "exited", code: (status >> 8) & 0xff };
  return { kind: "signaled", signal, coreDumped: (status & 0x80) !== 0 };
}

/** The command's own status as a shell reports it. */
export function commandStatus(result: CommandResult): number {
  return result.kind === "exited" ? result.code : 128 + result.signal;
}

/**
 * Collects dtee's own failures. The most serious one wins over the
 * command's status: a lost write (74) matters more than a file that could
 * not be opened (73), which is reported before anything runs.
 */
export class Failures {
  #worst = 0;

  add(status: number): void {
    if (status > this.#worst) this.#worst = status;
  }

  get any(): boolean {
    return this.#worst !== 0;
  }

  /** dtee's failure status if it had one, else `commandStatus`. */
  exitStatus(commandStatus: number): number {
    return this.#worst || commandStatus;
  }
}
