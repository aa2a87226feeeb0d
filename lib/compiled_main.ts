/**
 * Entry of the single binary (`deno task compile`, scripts/compile): the
 * host's shim travels in the module graph as bytes and main.ts runs with
 * them. A module of its own so that plain `deno run main.ts` needs neither
 * the shim's bytes nor --unstable-raw-imports. Being dtee or cronty is left
 * to argv[0], as for the scripts/dtee launcher (dist/cronty is a symlink).
 */
import shim from "../rust/target/release/libdtee_shim.so" with { type: "bytes" };
import { embedShim } from "./shim_loader.ts";

embedShim(shim);
// Imported only now: its top level already runs dtee, which needs the shim.
await import("../main.ts");
