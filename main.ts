/** dtee: run a command with its stdout and stderr copied to files, in order. */
import { main } from "./lib/run.ts";

Deno.exit(main("dtee"));
