/** cronty: dtee in cron mode, for `deno run` where argv[0] cannot say so. */
import { argv0 } from "./lib/ffi.ts";
import { main } from "./lib/run.ts";

Deno.exit(main(Deno.args, argv0(), "cronty"));
