/**
 * dtee's own variables (TMPDIR, DTEE_SHIM) read without failing on bytes
 * that are not UTF-8: `Deno.env.get` throws on them, where the C tool uses
 * the value byte for byte (docs/behaviour.md A6). Such a value is read
 * through the C library and comes back with text.ts's escapes, which
 * `encode` turns back into the same bytes.
 */

import { cString, decodeBytes } from "./text.ts";

/** The C library, for Deno.dlopen (lib/shim_loader.ts binds its calls the same way). */
export const LIBC = Deno.build.os === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6";

/** The value of `name` in dtee's environment, undefined when unset. */
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    // Only the value's bytes: a refused permission stays an error.
    if (!(error instanceof Deno.errors.InvalidData)) throw error;
    return viaLibc(name);
  }
}

/** Only when Deno refuses the value: binding getenv costs start-up time. */
function viaLibc(name: string): string | undefined {
  const lib = Deno.dlopen(LIBC, {
    getenv: { parameters: ["buffer"], result: "pointer" },
  });
  try {
    const at = lib.symbols.getenv(cString(name));
    if (at === null) return undefined;
    const view = new Deno.UnsafePointerView(at);
    let length = 0;
    while (view.getUint8(length) !== 0) length++;
    return decodeBytes(new Uint8Array(view.getArrayBuffer(length)).slice());
  } finally {
    lib.close();
  }
}
