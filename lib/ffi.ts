/**
 * The only module that knows the shim's C ABI (rust/src/lib.rs): one symbol
 * table and typed wrappers. Every call is synchronous on purpose: the main
 * loop blocks in `recv` (see README, "Architecture").
 *
 * Convention: a negative result is -errno; wrappers return it unchanged so
 * that callers decide what a failure means.
 */

import { loadShimBytes, SHIM_FILE, shimBytes } from "./shim_loader.ts";

/** Must equal ABI_VERSION in rust/src/abi.rs. */
export const ABI_VERSION = 4;

export const symbols = {
  dtee_abi_version: { parameters: [], result: "u32" },
  dtee_open_sockets: { parameters: ["buffer", "buffer", "buffer", "buffer"], result: "i32" },
  dtee_spawn: { parameters: ["buffer", "usize", "u32", "i32", "i32", "buffer"], result: "i32" },
  dtee_exec: { parameters: ["buffer", "usize", "u32"], result: "i32" },
  dtee_recv: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "u32",
      "u32",
      "buffer",
      "buffer",
      "buffer",
      "i32",
      "buffer",
    ],
    result: "i32",
  },
  dtee_write_batch: {
    parameters: ["i32", "buffer", "u32", "buffer", "buffer", "u32", "u32", "u32"],
    result: "i32",
  },
  dtee_write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  dtee_wait: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  dtee_signal_set: { parameters: ["i32", "i32"], result: "i32" },
  dtee_signal_take: { parameters: [], result: "i32" },
  dtee_signal_raise: { parameters: ["i32"], result: "i32" },
  dtee_kill: { parameters: ["i32", "i32"], result: "i32" },
  dtee_set_subreaper: { parameters: [], result: "i32" },
  dtee_die: { parameters: ["i32"], result: "i32" },
  dtee_open_output: { parameters: ["buffer", "i32"], result: "i32" },
  dtee_temp_file: { parameters: ["buffer"], result: "i32" },
  dtee_replay: { parameters: ["i32", "i32", "u64", "buffer"], result: "i32" },
  dtee_set_blocking: { parameters: ["i32"], result: "i32" },
  dtee_close: { parameters: ["i32"], result: "i32" },
  dtee_ensure_std_fds: { parameters: [], result: "i32" },
  dtee_same_destination: { parameters: ["i32", "i32"], result: "i32" },
  dtee_keeps_boundaries: { parameters: ["i32"], result: "i32" },
  dtee_cmdline: { parameters: ["buffer", "usize"], result: "i32" },
  dtee_strerror: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  dtee_strsignal: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  dtee_messages_locale: { parameters: ["buffer", "usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where the shim is: $DTEE_SHIM, else the release build beside the sources. */
export function shimPath(): string {
  const override = Deno.env.get("DTEE_SHIM");
  if (override) return override;
  return decodeURIComponent(
    new URL(`../rust/target/release/${SHIM_FILE}`, import.meta.url).pathname,
  );
}

/** Loads `candidate` and checks that it speaks this ABI. */
function checkAbi(candidate: string): void {
  const version = Deno.dlopen(candidate, { dtee_abi_version: symbols.dtee_abi_version })
    .symbols.dtee_abi_version();
  if (version !== ABI_VERSION) {
    throw new Error(`shim ABI version ${version}, expected ${ABI_VERSION}: rebuild rust/`);
  }
}

/**
 * Loads the shim once: $DTEE_SHIM when set, else the bytes that travel with
 * the modules (single binary, URL), else the build in the source tree.
 * Returns the path under which later dlopen calls find it.
 */
function openShim(): string {
  const bytes = Deno.env.get("DTEE_SHIM") ? undefined : shimBytes();
  if (bytes) return loadShimBytes(bytes, checkAbi);
  const candidate = shimPath();
  checkAbi(candidate);
  return candidate;
}

let path: string | undefined;

/**
 * Binds one symbol. Deno compiles a call trampoline for every symbol it
 * binds (~0.2 ms each), so symbols are bound on first use: a run pays only
 * for the calls it makes.
 */
function bind<K extends keyof Symbols>(name: K): Symbols[K] {
  path ??= openShim();
  const one = { [name]: symbols[name] } as Pick<typeof symbols, K>;
  return Deno.dlopen(path, one).symbols[name] as Symbols[K];
}

const bound = {} as Symbols;
for (const name of Object.keys(symbols) as (keyof Symbols)[]) {
  Object.defineProperty(bound, name, {
    get: () => {
      const fn = bind(name);
      Object.defineProperty(bound, name, { value: fn });
      return fn;
    },
    configurable: true,
  });
}

/** The shim's symbols, each loaded on first use; the ABI version is checked once. */
export function shim(): Symbols {
  return bound;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes as text without loss: valid UTF-8 decodes as usual, every other
 * byte B becomes the lone surrogate U+DC00+B (Python's "surrogateescape"),
 * which `encode` turns back into B.
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // Fall through to the byte-by-byte path.
  }
  let text = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        text += strict.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // Not a valid sequence: escape its first byte.
      }
    }
    text += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return text;
}

/** UTF-8 of `text`, with `decodeBytes`'s escapes turned back into their bytes. */
export function encode(text: string): Uint8Array<ArrayBuffer> {
  if (!/[\udc80-\udcff]/.test(text)) return encoder.encode(text);
  // Escapes only ever stand for single bytes, so the UTF-8 of the text is
  // an upper bound on the result's length.
  const out = new Uint8Array(text.length * 3);
  let length = 0;
  let start = 0;
  const flush = (end: number) => {
    length += encoder.encodeInto(text.slice(start, end), out.subarray(length)).written;
  };
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const paired = i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    if (unit >= 0xdc80 && unit <= 0xdcff && !paired) {
      flush(i);
      out[length++] = unit - 0xdc00;
      start = i + 1;
    }
  }
  flush(text.length);
  return out.slice(0, length);
}

/**
 * argv[0] and the arguments after the script, exactly as this process was
 * given them: Deno.args turns bytes that are not UTF-8 into U+FFFD and Deno
 * offers argv[0] only through its Node layer (~25 ms to load). Words are
 * `decodeBytes` text. Falls back to Deno.args where /proc is unreadable.
 */
export function invocation(): { argv0: string; args: string[] } {
  let buf = new Uint8Array(1 << 16);
  let n = shim().dtee_cmdline(buf, BigInt(buf.length));
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = shim().dtee_cmdline(buf, BigInt(buf.length));
  }
  const words: string[] = [];
  for (let start = 0, i = 0; i < Math.min(n, buf.length); i++) {
    if (buf[i] === 0) {
      words.push(decodeBytes(buf.subarray(start, i)));
      start = i + 1;
    }
  }
  const count = Deno.args.length;
  if (words.length <= count) return { argv0: "", args: Deno.args };
  return { argv0: words[0], args: words.slice(words.length - count) };
}

/** A NUL-terminated copy of `text`, for C strings and mkdtemp templates. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The text of a NUL-terminated buffer, up to its NUL. */
export function fromCString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return decoder.decode(end < 0 ? buf : buf.subarray(0, end));
}

const textBuf = new Uint8Array(512);

export function strerror(errno: number): string {
  const n = shim().dtee_strerror(errno, textBuf, BigInt(textBuf.length));
  return decoder.decode(textBuf.subarray(0, Math.max(n, 0)));
}

export function strsignal(signal: number): string {
  const n = shim().dtee_strsignal(signal, textBuf, BigInt(textBuf.length));
  return decoder.decode(textBuf.subarray(0, Math.max(n, 0)));
}

/** The LC_MESSAGES locale those texts follow (`en_US.UTF-8`, `C`...). */
export function messagesLocale(): string {
  const n = shim().dtee_messages_locale(textBuf, BigInt(textBuf.length));
  return decoder.decode(textBuf.subarray(0, Math.max(n, 0)));
}

/** Writes all of `bytes` to `fd`: 0, or -errno. */
export function writeAll(fd: number, bytes: Uint8Array): number {
  return shim().dtee_write(fd, bytes, BigInt(bytes.length));
}

/** Words as the shim takes them: each NUL-terminated, back to back. */
function words(argv: readonly string[]): Uint8Array<ArrayBuffer> {
  return cString(argv.join("\0"));
}

export interface Sockets {
  input: number;
  stdout: number;
  stderr: number;
  /** The directory actually created (the template with its X's filled in). */
  directory: string;
  sendBuffer: number;
  receiveBuffer: number;
  /** The largest single write(2) the command can make. */
  maxWrite: number;
}

export interface SocketFailure {
  errno: number;
  who: "directory" | "input" | "stdout" | "stderr";
  op: "open" | "bind" | "connect" | "shutdown";
}

const WHO = ["directory", "input", "stdout", "stderr"] as const;
const OP = ["open", "bind", "connect", "shutdown"] as const;

export function openSockets(template: string): Sockets | SocketFailure {
  const path = cString(template);
  const fds = new Int32Array(3);
  const limits = new BigInt64Array(3);
  const fail = new Int32Array(2);
  const ret = shim().dtee_open_sockets(path, fds, limits, fail);
  if (ret < 0) return { errno: -ret, who: WHO[fail[0]], op: OP[fail[1]] };
  return {
    input: fds[0],
    stdout: fds[1],
    stderr: fds[2],
    directory: fromCString(path),
    sendBuffer: Number(limits[0]),
    receiveBuffer: Number(limits[1]),
    maxWrite: Number(limits[2]),
  };
}

export interface Child {
  pid: number;
  /** -1 where the kernel has no pidfd_open(2). */
  pidfd: number;
}

export interface SpawnFailure {
  errno: number;
  /** `fork`: no process (or its fds 1/2); `exec`: the command could not be executed. */
  stage: "fork" | "exec";
}

/** `ids[2]` of dtee_spawn, as in rust/src/abi.rs `spawn_stage`. */
const SPAWN_STAGE = { 1: "fork", 2: "exec" } as const;

/** Starts the command with `stdout`/`stderr` as its fd 1/2, found as execvp(3) would. */
export function spawn(
  argv: readonly string[],
  stdout: number,
  stderr: number,
): Child | SpawnFailure {
  const ids = new Int32Array(3);
  const buf = words(argv);
  const ret = shim().dtee_spawn(buf, BigInt(buf.length), argv.length, stdout, stderr, ids);
  if (ret >= 0) return { pid: ids[0], pidfd: ids[1] };
  return { errno: -ret, stage: SPAWN_STAGE[ids[2] as 1 | 2] ?? "fork" };
}

/** Replaces this process with the command; returns -errno on failure. */
export function exec(argv: readonly string[]): number {
  const buf = words(argv);
  return shim().dtee_exec(buf, BigInt(buf.length), argv.length);
}

const statusBuf = new Int32Array(1);

/** waitpid(): [pid or 0 or -errno, raw wait status]. */
export function wait(pid: number, noHang: boolean): [number, number] {
  const ret = shim().dtee_wait(pid, noHang ? 1 : 0, statusBuf);
  return [ret, statusBuf[0]];
}

export const Disposition = { default: 0, ignore: 1, catch: 2 } as const;

export function setSignal(signal: number, disposition: number): number {
  return shim().dtee_signal_set(signal, disposition);
}

/** The lowest caught signal still pending (now taken), or 0. */
export function takeSignal(): number {
  return shim().dtee_signal_take();
}

/** Makes `signal` pending as if sent from outside (for a caught signal). */
export function raiseSignal(signal: number): void {
  shim().dtee_signal_raise(signal);
}

/** Sends `signal` to process `pid`: 0, or -errno. */
export function kill(pid: number, signal: number): number {
  return shim().dtee_kill(pid, signal);
}

/** Makes orphaned descendants children of dtee: 0, or -errno. */
export function setSubreaper(): number {
  return shim().dtee_set_subreaper();
}

/** Dies by `signal`; returns only if its default action does not kill. */
export function die(signal: number): void {
  shim().dtee_die(signal);
}

/** Opens an output file: a descriptor, or -errno. */
export function openOutput(path: string, append: boolean): number {
  return shim().dtee_open_output(cString(path), append ? 1 : 0);
}

/** Creates the (already unlinked) buffer file: [descriptor or -errno, name used]. */
export function tempFile(template: string): [number, string] {
  const path = cString(template);
  const fd = shim().dtee_temp_file(path);
  return [fd, fromCString(path)];
}

export const ReplayStage = ["seek", "read", "write"] as const;

/** Copies the first `limit` bytes of the buffer file to `dst`: [0 or -errno, failed stage]. */
export function replay(
  src: number,
  dst: number,
  limit: number,
): [number, (typeof ReplayStage)[number]] {
  const stage = new Int32Array(1);
  const ret = shim().dtee_replay(src, dst, BigInt(limit), stage);
  return [ret, ReplayStage[stage[0]]];
}

export function setBlocking(fd: number): number {
  return shim().dtee_set_blocking(fd);
}

export function close(fd: number): number {
  return shim().dtee_close(fd);
}

/** Opens /dev/null on closed fds 0-2: the mask of those opened, or -errno. */
export function ensureStdFds(): number {
  return shim().dtee_ensure_std_fds();
}

/** Whether writes to `b` can go to `a` instead without any reader seeing a difference. */
export function sameDestination(a: number, b: number): boolean {
  return shim().dtee_same_destination(a, b) === 1;
}

/** Whether `fd` is a socket that keeps write boundaries (each message must go in its own write). */
export function keepsBoundaries(fd: number): boolean {
  return shim().dtee_keeps_boundaries(fd) === 1;
}

/** recv() event bits, as in rust/src/recv.rs. */
export const Event = { child: 1, signal: 2, truncated: 4 } as const;
/** Stream numbers of received messages, as in rust/src/recv.rs. */
export const Stream = { foreign: 0, stdout: 1, stderr: 2 } as const;

/**
 * One receive buffer: `slots` slots of `slotSize` bytes, with each received
 * message's length and stream. Allocated once; the hot loop reuses it.
 */
export class Batch {
  readonly data: Uint8Array<ArrayBuffer>;
  readonly lens: Uint32Array<ArrayBuffer>;
  readonly streams: Uint8Array<ArrayBuffer>;
  /** When the kernel queued each message: ns since the Unix epoch, 0 if unknown. */
  readonly times: BigInt64Array<ArrayBuffer>;
  readonly events = new Uint32Array(1);
  count = 0;

  constructor(readonly slotSize: number, readonly slots: number) {
    this.data = new Uint8Array(slotSize * slots);
    this.lens = new Uint32Array(slots);
    this.streams = new Uint8Array(slots);
    this.times = new BigInt64Array(slots);
  }

  /** Receives into this batch; returns the count, or -errno. See dtee_recv. */
  receive(sock: number, pidfd: number, timeoutMs: number): number {
    const n = shim().dtee_recv(
      sock,
      pidfd,
      this.data,
      this.slotSize,
      this.slots,
      this.lens,
      this.streams,
      this.times,
      timeoutMs,
      this.events,
    );
    this.count = Math.max(n, 0);
    return n;
  }

  /** Writes messages from..to whose stream bit (1 << stream) is in `mask`: how many, or -errno. */
  write(fd: number, from: number, to: number, mask: number): number {
    return shim().dtee_write_batch(
      fd,
      this.data,
      this.slotSize,
      this.lens,
      this.streams,
      from,
      to,
      mask,
    );
  }
}
