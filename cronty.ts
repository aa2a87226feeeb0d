/** cronty: dtee in cron mode, for `deno run` where argv[0] cannot say so. */
import process from "node:process";
import { main } from "./lib/run.ts";

Deno.exit(main(Deno.args, process.argv0, "cronty"));
