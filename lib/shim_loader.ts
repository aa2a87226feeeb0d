/**
 * All loading of libraries: the shim from the source tree, from $DTEE_SHIM,
 * or as bytes rather than as a file, for the two
 * ways dtee runs without a checkout (README, "Install"): the single
 * binary carries them in its module graph (compiled_main.ts), and a
 * `deno run` from a URL raw-imports them from beside the modules (the layout
 * of `deno task dist`). Both load them the same way: through a memfd, so
 * that no file is left behind, or failing that a private temporary file,
 * unlinked as soon as it is loaded.
 */

/** The directory under `shim/` that holds this platform's shim in a dist layout. */
export const PLATFORM = `${Deno.build.os}-${Deno.build.arch}`;
/** The shim's file name as cargo builds it on this platform. */
export const SHIM_FILE = `libdtee_shim.${Deno.build.os === "darwin" ? "dylib" : "so"}`;

import { envVar, LIBC } from "./env.ts";
import { cString, fromCString } from "./text.ts";
import { tempTemplate, tmpDir } from "./temp.ts";

/** The shim could not be loaded: which file, and why (an internal error, exit 70). */
export class ShimLoadError extends Error {}

let embedded: Uint8Array | undefined;
/** Why the shim that travels with the modules could not be had: reported on first use. */
let embeddedError: ShimLoadError | undefined;

/** Makes `bytes` the shim to load (the single binary's entry calls this before main.ts runs). */
export function embedShim(bytes: Uint8Array): void {
  embedded = bytes;
}

/**
 * Served over http(s) there is no file to dlopen: this platform's shim is
 * raw-imported from beside the modules, so that Deno downloads it once into
 * its module cache with everything else. Only this case awaits anything; a
 * local run goes straight on.
 */
if (import.meta.url.startsWith("http:") || import.meta.url.startsWith("https:")) {
  const url = new URL(`../shim/${PLATFORM}/${SHIM_FILE}`, import.meta.url).href;
  try {
    embedded = (await import(url, { with: { type: "bytes" } })).default;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    // Deno's own words for the missing flag do not name it.
    const hint = /"bytes"/.test(reason) ? " (run deno with --unstable-raw-imports)" : "";
    embeddedError = new ShimLoadError(
      `cannot load the shim for ${PLATFORM} from ${url}: ${reason}${hint}`,
    );
  }
}

/**
 * Makes `bytes` loadable and has `open` dlopen them: returns the path they
 * were opened under. Later dlopen calls with that path get the library
 * already loaded, although no file of that name remains.
 */
export function loadShimBytes(bytes: Uint8Array, open: (path: string) => void): string {
  return viaMemfd(bytes, open) ?? viaTempFile(bytes, open);
}

const MFD_CLOEXEC = 1;
/** Asks for an executable memfd where vm.memfd_noexec would otherwise seal it against mmap(PROT_EXEC). */
const MFD_EXEC = 0x10;

/** Both ways need only a few libc calls, made before the shim exists. */
export const IO = {
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;
const MEMFD = {
  ...IO,
  // glibc has it since 2.27; missing, the temporary file does.
  memfd_create: { parameters: ["buffer", "u32"], result: "i32", optional: true },
} as const;
const TEMP_FILE = {
  ...IO,
  mkstemp: { parameters: ["buffer"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
} as const;

export type Symbols<S extends Deno.ForeignLibraryInterface> = Deno.DynamicLibrary<S>["symbols"];
type Definition = Deno.ForeignFunction;

/**
 * The addresses of `table`'s functions in the library at `path` (null for
 * a missing optional one). Binding them as pointers compiles nothing: see
 * `lazySymbols` for why that matters.
 */
function addresses(
  path: string,
  table: Deno.ForeignLibraryInterface,
): { pointers: Record<string, Deno.PointerValue>; close(): void } {
  const statics: Record<string, Deno.ForeignStatic> = {};
  for (const [name, def] of Object.entries(table)) {
    statics[name] = { type: "pointer", optional: (def as Definition).optional };
  }
  const lib = Deno.dlopen(path, statics);
  return { pointers: lib.symbols as Record<string, Deno.PointerValue>, close: () => lib.close() };
}

/** A function called through its address: about 1 µs a call, nothing to set up. */
function viaAddress(pointer: Deno.PointerValue, def: Definition): (...args: unknown[]) => unknown {
  if (pointer === null) throw new ShimLoadError("a required symbol has no address");
  const fn = new Deno.UnsafeFnPointer(pointer as Deno.PointerObject<Definition>, def);
  return (...args) => fn.call(...(args as Parameters<typeof fn.call>));
}

/** `table`'s functions of the C library, called through their addresses. */
export function libc<S extends Deno.ForeignLibraryInterface>(
  table: S,
): { symbols: Symbols<S>; close(): void } {
  const lib = addresses(LIBC, table);
  const symbols: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(table)) {
    const pointer = lib.pointers[name];
    symbols[name] = pointer === null ? null : viaAddress(pointer, def as Definition);
  }
  return { symbols: symbols as Symbols<S>, close: lib.close };
}

type Io = Symbols<typeof IO>;

/** Writes all of `bytes` to `fd` with `c`'s write(2); false when it cannot. */
export function writeAll(c: Io, fd: number, bytes: Uint8Array): boolean {
  for (let done = 0; done < bytes.length;) {
    const n = Number(c.write(fd, bytes.subarray(done), BigInt(bytes.length - done)));
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

/**
 * An anonymous memory file opened as /proc/self/fd/N: nothing on disk at
 * any moment. Undefined where the kernel or /proc cannot do it, so that the
 * caller falls back to a file. The descriptor stays open (close-on-exec, so
 * the command never sees it) and keeps that path meaning this library for
 * the later per-symbol dlopen calls; it cannot take one of fds 0-2, which the
 * runtime (Rust std) opens on /dev/null at start when they are closed.
 */
export function viaMemfd(bytes: Uint8Array, open: (path: string) => void): string | undefined {
  const fd = memfd(bytes, "dtee-shim");
  if (fd === undefined) return undefined;
  const path = `/proc/self/fd/${fd}`;
  try {
    open(path);
    return path;
  } catch {
    libc(IO).symbols.close(fd);
    return undefined;
  }
}

/**
 * A close-on-exec memfd named `name` holding `bytes`, mappable as code;
 * undefined where the kernel cannot make one.
 */
function memfd(bytes: Uint8Array, name: string): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const lib = libc(MEMFD);
  try {
    const c = lib.symbols;
    if (!c.memfd_create) return undefined;
    // Kernels before 6.3 reject MFD_EXEC; without it they make executable memfds anyway.
    let fd = c.memfd_create(cString(name), MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0) fd = c.memfd_create(cString(name), MFD_CLOEXEC);
    if (fd < 0) return undefined;
    if (writeAll(c, fd, bytes)) return fd;
    c.close(fd);
    return undefined;
  } finally {
    lib.close();
  }
}

/**
 * A private file (mode 0700: this user alone may read or map it) in
 * $TMPDIR, removed right after dlopen: the loaded mapping outlives the
 * name. Named like dtee's other temporary files, with `L` (library) for
 * the kind.
 */
export function viaTempFile(
  bytes: Uint8Array,
  open: (path: string) => void,
  dir = tmpDir(),
): string {
  const template = cString(tempTemplate("L", dir));
  const lib = libc(TEMP_FILE);
  try {
    const c = lib.symbols;
    const fd = c.mkstemp(template);
    const path = fromCString(template);
    if (fd < 0) throw new ShimLoadError(`cannot create ${path} to load the shim from`);
    try {
      const written = c.fchmod(fd, 0o700) === 0 && writeAll(c, fd, bytes);
      if (c.close(fd) !== 0 || !written) {
        throw new ShimLoadError(`cannot write the shim to ${path}`);
      }
      open(path);
      return path;
    } finally {
      c.unlink(template);
    }
  } finally {
    lib.close();
  }
}

const MMAP = {
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
} as const;
let mmap: Symbols<typeof MMAP> | undefined;

/**
 * `bytes` of zero-filled memory, taken from the kernel page by page as it
 * is touched, for as long as the process runs. V8 never sees it unless it
 * is wrapped (`Deno.UnsafePointerView.getArrayBuffer`): an ArrayBuffer of
 * the receive batch's size (~136 MiB) counts as external memory and makes
 * V8 collect garbage at the next allocation, before the command has even
 * started (docs/architecture.md, "Performance").
 */
export function anonymousMemory(bytes: number): Deno.PointerObject {
  mmap ??= libc(MMAP).symbols;
  const PROT_READ_WRITE = 3;
  const MAP_PRIVATE_ANONYMOUS = Deno.build.os === "darwin" ? 0x1002 : 0x22;
  const at = mmap.mmap(null, BigInt(bytes), PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0n);
  // MAP_FAILED is (void *) -1.
  if (at === null || BigInt(Deno.UnsafePointer.value(at)) === (1n << 64n) - 1n) {
    throw new Error(`cannot map ${bytes} bytes of memory`);
  }
  return at;
}

/** Where the shim is: $DTEE_SHIM, else the release build beside the sources. */
export function shimPath(override = envVar("DTEE_SHIM")): string {
  if (override) return override;
  return decodeURIComponent(
    new URL(`../rust/target/release/${SHIM_FILE}`, import.meta.url).pathname,
  );
}

/**
 * Has `open` dlopen the shim and vet it: $DTEE_SHIM when set, else the
 * bytes that travel with the modules (single binary, URL), else the build
 * in the source tree. Returns the path under which later dlopen calls find
 * it.
 */
function openShim(open: (path: string) => void): string {
  const override = envVar("DTEE_SHIM");
  if (embeddedError && !override) throw embeddedError;
  const bytes = override ? undefined : embedded;
  if (bytes) return loadShimBytes(bytes, open);
  const path = shimPath(override);
  try {
    open(path);
  } catch (e) {
    if (e instanceof ShimLoadError) throw e;
    // Deno wraps dlerror(3)'s text, which already names the file, in words of its own.
    const reason = String(e instanceof Error ? e.message : e).replace(
      /^(Could not open library: )+/,
      "",
    );
    throw new ShimLoadError(`cannot load the shim ${path}: ${reason}`);
  }
  return path;
}

/**
 * Calls of a function that is still called through its address after this
 * many: it is bound then (see `lazySymbols`).
 */
const HOT_CALLS = 512;

/**
 * The shim's symbols. Deno's own binding (`Deno.dlopen` with a function
 * definition) compiles a call trampoline with Cranelift: ~0.6 ms and ~3 MiB
 * of Deno's code paged in for the first symbol, ~0.2 ms for each further
 * one (docs/architecture.md, "Performance"); a call then costs ~35 ns (a few ns from
 * TurboFan's code, which the launcher does not let V8 use). A call through
 * the function's address (`Deno.UnsafeFnPointer`) compiles nothing but
 * costs about 1 µs. So every symbol starts out called through its address,
 * and those in `hot` (the receive loop's) are bound once they have been
 * called HOT_CALLS times: a short run never pays for the compiler, a long
 * one pays once. The shim itself is opened on the first call of any
 * symbol, and `check` vets it (the ABI version) before any other symbol is
 * called.
 */
export function lazySymbols<S extends Deno.ForeignLibraryInterface>(
  table: S,
  check: (symbols: Symbols<S>, path: string) => void,
  hot: ReadonlySet<keyof S & string>,
): Symbols<S> {
  const bound: Record<string, (...args: unknown[]) => unknown> = {};
  let path: string | undefined;
  let pointers: Record<string, Deno.PointerValue> | undefined;
  const load = () => {
    path = openShim((p) => {
      pointers = addresses(p, table).pointers;
      try {
        check(bound as Symbols<S>, p);
      } catch (e) {
        pointers = undefined;
        throw e;
      }
    });
  };
  for (const [name, def] of Object.entries(table) as [keyof S & string, Definition][]) {
    let call: ((...args: unknown[]) => unknown) | undefined;
    let calls = 0;
    bound[name] = (...args) => {
      if (!call) {
        if (!pointers) load();
        call = viaAddress(pointers![name], def);
      }
      if (hot.has(name) && ++calls === HOT_CALLS) {
        const one = { [name]: def } as Deno.ForeignLibraryInterface;
        bound[name] = Deno.dlopen(path!, one).symbols[name] as (...args: unknown[]) => unknown;
      }
      return call(...args);
    };
  }
  return bound as Symbols<S>;
}
