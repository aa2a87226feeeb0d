/**
 * Diagnostics on dtee's own stderr, always `NAME: ...` (docs/behaviour.md A6), with the
 * C library's texts for errno values.
 */

import { encode, strerror, writeAll } from "./ffi.ts";

export class Diagnostics {
  constructor(readonly name: string) {}

  /** Prints `NAME: text`. A failure to print has nowhere to be reported. */
  say(text: string): void {
    writeAll(2, encode(`${this.name}: ${text}\n`));
  }

  /** Prints `NAME: what: <strerror(errno)>`. */
  error(what: string, errno: number): void {
    this.say(`${what}: ${strerror(errno)}`);
  }
}
