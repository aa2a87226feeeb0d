/** dtee: run a command with its stdout and stderr copied to files, in order. */
import { invocation } from "./lib/ffi.ts";
import { main } from "./lib/run.ts";

const { argv0, args } = invocation();
Deno.exit(main(args, argv0, "dtee"));
