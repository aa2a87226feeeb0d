/** cronty: dtee in cron mode, for `deno run` where argv[0] cannot say so. */
import { main } from "./lib/run.ts";

Deno.exit(main("cronty"));
