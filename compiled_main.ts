/**
 * Entry of the single binary (`deno task compile`, scripts/compile): the
 * host's shim travels in the module graph as bytes and main.ts runs with
 * them; so do the files `-L` preloads. A module of its own so that plain `deno run main.ts` needs neither
 * the shim's bytes nor --unstable-raw-imports. Being dtee or cronty is left
 * to argv[0], as for the scripts/dtee launcher (dist/cronty is a symlink).
 */
import shim from "./rust/target/release/libdtee_shim.so" with { type: "bytes" };
import library from "./rust/target/release/libdtee_linebuf.so" with { type: "bytes" };
import perl from "./preload/DteeLineBuffered.pm" with { type: "bytes" };
import ruby from "./preload/dtee_line_buffered.rb" with { type: "bytes" };
import { embedShim } from "./lib/shim_loader.ts";
import { embedPreload, PERL_MODULE, PRELOAD_LIBRARY, RUBY_FILE } from "./lib/preload.ts";

embedShim(shim);
// What -L writes out for a run (lib/preload.ts).
embedPreload({ [PRELOAD_LIBRARY]: library, [PERL_MODULE]: perl, [RUBY_FILE]: ruby });
// Imported only now: its top level already runs dtee, which needs the shim.
await import("./main.ts");
