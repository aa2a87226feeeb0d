/** dtee: run a command with its stdout and stderr copied to files, in order. */
import { argv0 } from "./lib/ffi.ts";
import { main } from "./lib/run.ts";

Deno.exit(main(Deno.args, argv0(), "dtee"));
