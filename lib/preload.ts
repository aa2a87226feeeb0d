/**
 * Where the files are that `-L` has the command's programs load
 * (lib/linebuf.ts says what is done with them): the preload library for C
 * stdio, the Perl module and the Ruby file.
 *
 * From a checkout, an installed or a containerised tree they are files of
 * the tree: rust/target/release/libdtee_linebuf.so (built with the shim)
 * and preload/. The single binary and a `deno run` from a URL carry them as
 * bytes instead (compiled_main.ts; raw-imported below), and write them
 * out for the run into a directory of their own in $TMPDIR (or /tmp),
 * removed when the command has ended; so does a tree whose path the
 * variables cannot name. The library too is a file there rather than a
 * memfd opened as /proc/DTEE_PID/fd/N: another user cannot open that (the
 * command may change user), and it needs /proc.
 */

import { IO, libc, PLATFORM, type Symbols, writeAll } from "./shim_loader.ts";
import { tempTemplate, tmpDir } from "./temp.ts";
import { cString, fromCString } from "./text.ts";

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
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  rmdir: { parameters: ["buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
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
 * otherwise make the dynamic loader complain in every program. A tree whose
 * path the variables cannot name (a space, a colon) has its files copied
 * out for the run instead (writtenOut).
 */
function inTree(): PreloadFiles {
  const { symbols: c, close } = libc(FILES);
  try {
    for (const file of NEEDED) {
      const path = pathOf(file);
      if (c.access(cString(path), 4 /* R_OK */) !== 0) throw new PreloadError(path, errno(c));
    }
    if (!NEEDED.every((file) => nameable(pathOf(file)))) {
      return writtenOut(Object.fromEntries(NEEDED.map((file) => [file, readAll(c, file)])));
    }
    const rubyFile = pathOf(RUBY_FILE);
    return {
      library: HAS_LIBRARY ? pathOf(PRELOAD_LIBRARY) : undefined,
      perlDir: pathOf(PERL_MODULE).replace(/\/[^/]*$/, ""),
      rubyFile,
      remove() {},
    };
  } finally {
    close();
  }
}

/** The bytes of the tree's `file`. */
function readAll(c: Symbols<typeof FILES>, file: FileName): Uint8Array {
  const path = pathOf(file);
  const fd = c.open(cString(path), 0o2000000, /* O_RDONLY | O_CLOEXEC */ 0);
  if (fd < 0) throw new PreloadError(path, errno(c));
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const chunk = new Uint8Array(1 << 16);
      const n = Number(c.read(fd, chunk, BigInt(chunk.length)));
      if (n < 0) throw new PreloadError(path, errno(c));
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
  } finally {
    c.close(fd);
  }
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  chunks.reduce((at, chunk) => (all.set(chunk, at), at + chunk.length), 0);
  return all;
}

function errno(c: { __errno_location(): Deno.PointerValue }): number {
  return new Deno.UnsafePointerView(c.__errno_location()!).getInt32();
}

/**
 * Where the files are written out: $TMPDIR when LD_PRELOAD, PERL5OPT and
 * RUBYOPT can name a directory in it (absolute, no space, no colon), else
 * /tmp.
 */
function writeDir(): string {
  const dir = tmpDir();
  return nameable(dir) ? dir : "/tmp";
}

/** A path the variables can carry: they split at spaces (LD_PRELOAD at colons too). */
const nameable = (path: string) => path.startsWith("/") && !/[\s:]/.test(path);

// O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, and O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC.
const OPEN_DIR = 0o200000 | 0o400000 | 0o2000000;
const CREATE = 0o1 | 0o100 | 0o200 | 0o400000 | 0o2000000;

/**
 * `files` written out for this run into a new directory (mkdtemp: dtee's
 * user owns it) made searchable by all, each file readable by all: the
 * command may become another user (runuser, setpriv, su) whose programs
 * must still load them, and nothing in them is secret. Opened without
 * following symlinks, written through the directory's descriptor.
 */
function writtenOut(files: NonNullable<typeof embedded>): PreloadFiles {
  for (const got of Object.values(files)) if (got instanceof PreloadError) throw got;
  const bytes = files as Partial<Record<FileName, Uint8Array>>;
  const lib = libc(FILES);
  const c = lib.symbols;
  const template = cString(tempTemplate("P", writeDir()));
  if (c.mkdtemp(template) === null) {
    const failed = errno(c);
    const pattern = fromCString(template);
    lib.close();
    throw new PreloadError(`unable to create temporary directory ${pattern}`, failed);
  }
  const dir = fromCString(template);
  const written: FileName[] = [];
  const dirFd = c.open(template, OPEN_DIR, 0);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const file of written) c.unlinkat(dirFd, cString(file), 0);
    if (dirFd >= 0) c.close(dirFd);
    c.rmdir(template);
    lib.close();
  };
  const write = (file: FileName, data: Uint8Array) => {
    const path = `${dir}/${file}`;
    const fd = c.openat(dirFd, cString(file), CREATE, 0o444);
    if (fd < 0) throw new PreloadError(path, errno(c));
    written.push(file);
    // fchmod: the umask would otherwise take the others' read bit.
    const ok = c.fchmod(fd, 0o444) === 0 && writeAll(c, fd, data);
    if (c.close(fd) !== 0 || !ok) throw new PreloadError(path, errno(c));
    return path;
  };
  try {
    if (dirFd < 0 || c.fchmod(dirFd, 0o755) !== 0) throw new PreloadError(dir, errno(c));
    const libraryBytes = bytes[PRELOAD_LIBRARY];
    const library = libraryBytes && write(PRELOAD_LIBRARY, libraryBytes);
    write(PERL_MODULE, bytes[PERL_MODULE]!);
    const rubyFile = write(RUBY_FILE, bytes[RUBY_FILE]!);
    return { library, perlDir: dir, rubyFile, remove };
  } catch (e) {
    remove();
    throw e;
  }
}
