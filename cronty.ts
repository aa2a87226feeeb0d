/** cronty: dtee in cron mode, for `deno run` where argv[0] cannot say so. */
import { invocation } from "./lib/ffi.ts";
import { main } from "./lib/run.ts";

const { argv0, args } = invocation();
Deno.exit(main(args, argv0, "cronty"));
