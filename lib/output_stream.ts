/** dtee's own stdout and stderr: the first outputs in delivery order (docs/behaviour.md A3). */

import { Mask } from "./abi.ts";
import type { Reporter } from "./failures.ts";
import { FdOutput } from "./output.ts";

export class StreamOutput extends FdOutput {
  override readonly own = true;

  constructor(readonly stream: "stdout" | "stderr", reporter: Reporter) {
    super(stream === "stdout" ? 1 : 2, Mask[stream], `${stream}: write`, reporter);
  }
}

/** dtee's stdout and stderr, in that order (cron mode has its own: lib/cron.ts). */
export function streamOutputs(reporter: Reporter): StreamOutput[] {
  return [new StreamOutput("stdout", reporter), new StreamOutput("stderr", reporter)];
}
