/**
 * What receives the command's messages. A received batch is delivered in
 * order; a sink answers how far it got: `to` when everything went out, or
 * the index of the message at which a broken pipe stopped it
 * (docs/behaviour.md A3: a broken pipe is SIGPIPE, and nothing after that
 * message may be written anywhere).
 */

import type { Batch } from "./ffi.ts";

export interface MessageSink {
  deliver(batch: Batch, from: number, to: number): number;
  /** What the output whose broken pipe stopped the last delivery is called in messages. */
  brokenLabel(): string | undefined;
}
