/**
 * Where the files are that `-L` has the command's programs load
 * (lib/linebuf.ts says what is done with them): the preload library for C
 * stdio, the Perl module and the Ruby file.
 *
 * From a checkout, an installed or a containerised tree they are files of
 * the tree: rust/target/release/libdtee_linebuf.so (built with the shim)
 * and preload/. The single binary and a `deno run` from a URL carry them as
 * bytes instead (compiled_main.ts; raw-imported below), and write them
 * out for the run: the library into a memfd, which every process of the
 * command opens as /proc/DTEE_PID/fd/N while dtee runs, and the two modules
 * into a private (0700) directory in $TMPDIR, removed when the command has
 * ended.
 */

import { cName, IO, libc, memfd, PLATFORM, writeAll } from "./shim_loader.ts";
import { tempTemplate } from "./temp.ts";

export const PRELOAD_LIBRARY = "libdtee_linebuf.so";
export const PERL_MODULE = "DteeLineBuffered.pm";
export const RUBY_FILE = "dtee_line_buffered.rb";
type FileName = typeof PRELOAD_LIBRARY | typeof PERL_MODULE | typeof RUBY_FILE;

/** Where each file is, relative to lib/ (or build/) in a tree and in a `deno task dist` layout. */
const TREE: Record<FileName, string> = {
  [PRELOAD_LIBRARY]: `../rust/target/release/${PRELOAD_LIBRARY}`,
  [PERL_MODULE]: `../preload/${PERL_MODULE}`,
  [RUBY_FILE]: `../preload/${RUBY_FILE}`,
};
export const DIST: Record<FileName, string> = {
  ...TREE,
  [PRELOAD_LIBRARY]: `../shim/${PLATFORM}/${PRELOAD_LIBRARY}`,
};

/** Only Linux targets get a preload library (rust/build.rs). */
const HAS_LIBRARY = Deno.build.os === "linux";
/** The files this platform has. */
const NEEDED = (Object.keys(TREE) as FileName[]).filter((f) =>
  HAS_LIBRARY || f !== PRELOAD_LIBRARY
);

/** Why a file could not be had: `what`, and the errno when there is one. */
export class PreloadError extends Error {
  constructor(readonly what: string, readonly errno?: number) {
    super(what);
  }
}

export interface PreloadFiles {
  /** For LD_PRELOAD; undefined where there is no preload library (not Linux). */
  library?: string;
  /** The directory of the Perl module, for perl's -I. */
  perlDir: string;
  /** The Ruby file, for ruby's -r. */
  rubyFile: string;
  /** Removes what was written out for this run, once the command has ended; again, nothing. */
  remove(): void;
  /** Keeps the library's memfd open across dtee's exec into the command (cron mode's fallback). */
  keepForExec(): void;
}

/** The files' bytes where they travel with the modules, or why one could not be had. */
let embedded: Partial<Record<FileName, Uint8Array | PreloadError>> | undefined;

/** Makes `files` the ones to write out (the single binary's entry calls this). */
export function embedPreload(files: Partial<Record<FileName, Uint8Array>>): void {
  embedded = files;
}

if (import.meta.url.startsWith("http:") || import.meta.url.startsWith("https:")) {
  const got = await Promise.all(NEEDED.map((file) => {
    const url = new URL(DIST[file], import.meta.url).href;
    return import(url, { with: { type: "bytes" } }).then(
      (module) => module.default as Uint8Array,
      (e) => new PreloadError(`cannot load ${url}: ${e instanceof Error ? e.message : e}`),
    );
  }));
  embedded = Object.fromEntries(NEEDED.map((file, i) => [file, got[i]]));
}

const FILES = {
  ...IO,
  access: { parameters: ["buffer", "i32"], result: "i32" },
  mkdtemp: { parameters: ["buffer"], result: "pointer" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  rmdir: { parameters: ["buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
} as const;

/** The files for this run; a PreloadError says which one could not be had. */
export function preloadFiles(): PreloadFiles {
  return embedded ? writtenOut(embedded) : inTree();
}

function pathOf(file: FileName): string {
  return decodeURIComponent(new URL(TREE[file], import.meta.url).pathname);
}

/**
 * The tree's own files, each checked readable now: a missing library would
 * otherwise make the dynamic loader complain in every program. LD_PRELOAD
 * and the two options variables split at spaces (and LD_PRELOAD at colons),
 * so a tree under such a path is refused rather than half used.
 */
function inTree(): PreloadFiles {
  const { symbols: c, close } = libc(FILES);
  try {
    for (const file of NEEDED) {
      const path = pathOf(file);
      if (c.access(cName(path), 4 /* R_OK */) !== 0) throw new PreloadError(path, errno(c));
      if (/[\s:]/.test(path)) {
        throw new PreloadError(`${path}: a path with a space or a colon cannot be preloaded`);
      }
    }
    const rubyFile = pathOf(RUBY_FILE);
    return {
      library: HAS_LIBRARY ? pathOf(PRELOAD_LIBRARY) : undefined,
      perlDir: pathOf(PERL_MODULE).replace(/\/[^/]*$/, ""),
      rubyFile,
      remove() {},
      keepForExec() {},
    };
  } finally {
    close();
  }
}

function errno(c: { __errno_location(): Deno.PointerValue }): number {
  return new Deno.UnsafePointerView(c.__errno_location()!).getInt32();
}

/** `files` written out for this run: see the module's comment. */
function writtenOut(files: NonNullable<typeof embedded>): PreloadFiles {
  for (const got of Object.values(files)) if (got instanceof PreloadError) throw got;
  const bytes = files as Partial<Record<FileName, Uint8Array>>;
  const lib = libc(FILES);
  const c = lib.symbols;
  const template = cName(tempTemplate("P"));
  if (c.mkdtemp(template) === null) {
    const failed = errno(c);
    const pattern = new TextDecoder().decode(template.subarray(0, -1));
    lib.close();
    throw new PreloadError(`unable to create temporary directory ${pattern}`, failed);
  }
  const dir = new TextDecoder().decode(template.subarray(0, -1));
  const written: string[] = [];
  let memory: number | undefined;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const path of written) c.unlink(cName(path));
    c.rmdir(cName(dir));
    if (memory !== undefined) c.close(memory);
    lib.close();
  };
  const write = (file: FileName, data: Uint8Array) => {
    const path = `${dir}/${file}`;
    // O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, readable by this user alone.
    const fd = c.open(cName(path), 0o1 | 0o100 | 0o200 | 0o2000000, 0o400);
    if (fd < 0) throw new PreloadError(path, errno(c));
    written.push(path);
    const ok = writeAll(c, fd, data);
    if (c.close(fd) !== 0 || !ok) throw new PreloadError(path, errno(c));
    return path;
  };
  try {
    let library: string | undefined;
    const libraryBytes = bytes[PRELOAD_LIBRARY];
    if (libraryBytes) {
      memory = memfd(libraryBytes, "dtee-linebuf");
      // The command's processes are not dtee: /proc/self would be theirs.
      library = memory === undefined
        ? write(PRELOAD_LIBRARY, libraryBytes)
        : `/proc/${Deno.pid}/fd/${memory}`;
    }
    write(PERL_MODULE, bytes[PERL_MODULE]!);
    const rubyFile = write(RUBY_FILE, bytes[RUBY_FILE]!);
    // F_SETFD without FD_CLOEXEC: the command, with dtee's pid, then finds /proc/PID/fd/N.
    const keepForExec = () => memory !== undefined && c.fcntl(memory, 2, 0);
    return { library, perlDir: dir, rubyFile, remove, keepForExec };
  } catch (e) {
    remove();
    throw e;
  }
}
