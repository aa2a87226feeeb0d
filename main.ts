/** dtee: run a command with its stdout and stderr copied to files, in order. */
import process from "node:process";
import { main } from "./lib/run.ts";

Deno.exit(main(Deno.args, process.argv0, "dtee"));
