/**
 * The only module that knows the shim's C ABI (rust/src/lib.rs): typed
 * wrappers of the symbol table that lib/symbols.ts generates from the
 * exports (scripts/gen-abi.ts). Every call is synchronous on purpose: the main loop blocks in `recv`
 * (docs/architecture.md). Constants of the ABI come from lib/abi.ts, generated
 * from the Rust side.
 *
 * One result shape for every call that can fail: `{ ok: true, value }` or
 * `{ ok: false, errno, ... }` with what the shim says about the failure;
 * callers decide what a failure means (lib/failures.ts). Calls that cannot
 * fail, or whose failure has a fallback here, give their value as it is.
 */

import {
  ABI_VERSION,
  Disposition,
  EnvJoin,
  FdKind,
  ReplayStage,
  SocketOp,
  SocketWho,
  SpawnFlag,
  SpawnStage,
} from "./abi.ts";
import { anonymousMemory, lazySymbols, ShimLoadError } from "./shim_loader.ts";
import { symbols } from "./symbols.ts";
import { cString, decodeBytes, decodeText, fromCString } from "./text.ts";
import type { LocalTime } from "./timeformat.ts";

/** Refuses a shim built for another ABI before any of its symbols is used. */
function checkAbi(shim: Deno.DynamicLibrary<typeof bound>["symbols"], path: string): void {
  const version = shim.dtee_abi_version();
  if (version !== ABI_VERSION) {
    throw new ShimLoadError(
      `cannot use the shim ${path}: ABI version ${version}, expected ${ABI_VERSION} (rebuild rust/)`,
    );
  }
}

/** What the receive loop calls for every batch: bound for speed once a run is long. */
const HOT = new Set(["dtee_recv", "dtee_write_batch", "dtee_write"] as const);

/** Parameter I of a parameter list as a pointer. */
type AddressAt<P extends readonly Deno.NativeType[], I extends number> = {
  [K in keyof P]: K extends `${I}` ? "pointer" : P[K];
};

/** `def` with parameter `at` (a buffer) passed as a pointer: the same C type. */
function byAddress<D extends Deno.ForeignFunction, I extends number>(def: D, at: I) {
  return {
    ...def,
    parameters: def.parameters.map((t, i) => i === at ? "pointer" : t),
  } as unknown as Omit<D, "parameters"> & { parameters: AddressAt<D["parameters"], I> };
}

/** The table as bound here: a Batch's slots go by address (see Batch). */
const bound = {
  ...symbols,
  dtee_recv: byAddress(symbols.dtee_recv, 2),
  dtee_write_batch: byAddress(symbols.dtee_write_batch, 1),
};

const shim = lazySymbols(bound, checkAbi, HOT);

export type Result<T, Detail = unknown> =
  | { ok: true; value: T }
  | ({ ok: false; errno: number } & Detail);

/** The name of `value` in one of lib/abi.ts's tables. */
function nameOf<T extends Record<string, number>>(table: T, value: number): keyof T & string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  throw new Error(`the shim returned ${value}, which lib/abi.ts does not know`);
}

function result(ret: number): Result<number> {
  return ret < 0 ? { ok: false, errno: -ret } : { ok: true, value: ret };
}

/** The shim's own view of the ABI, for the test that every symbol resolves. */
export function abiVersion(): number {
  return shim.dtee_abi_version();
}

/**
 * argv[0] and dtee's arguments, exactly as they were given: Deno.args turns
 * bytes that are not UTF-8 into U+FFFD, offers argv[0] only through its
 * Node layer (~25 ms to load), and under the native launcher holds none of
 * them (they come in a memfd, see rust/src/environ.rs). Words are
 * `decodeBytes` text. Falls back to Deno.args (argv[0] unknown) only where
 * dtee was not started by the launcher and /proc is unreadable.
 */
export function invocation(): { argv0: string; args: string[] } {
  const argc = Deno.args.length;
  let buf = new Uint8Array(1 << 16);
  let n = shim.dtee_invocation(buf, BigInt(buf.length), argc);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = shim.dtee_invocation(buf, BigInt(buf.length), argc);
  }
  if (n < 0) return { argv0: "", args: Deno.args };
  const words: string[] = [];
  for (let start = 0, i = 0; i < n; i++) {
    if (buf[i] === 0) {
      words.push(decodeBytes(buf.subarray(start, i)));
      start = i + 1;
    }
  }
  return { argv0: words[0] ?? "", args: words.slice(1) };
}

const textBuf = new Uint8Array(512);

export function strerror(errno: number): string {
  const n = shim.dtee_strerror(errno, textBuf, BigInt(textBuf.length));
  return decodeText(textBuf.subarray(0, Math.max(n, 0)));
}

export function strsignal(signal: number): string {
  const n = shim.dtee_strsignal(signal, textBuf, BigInt(textBuf.length));
  return decodeText(textBuf.subarray(0, Math.max(n, 0)));
}

/** The name of the messages locale in effect for those texts (`C`, `en_US.UTF-8`...). */
export function messagesLocale(): string {
  const n = shim.dtee_messages_locale(textBuf, BigInt(textBuf.length));
  return decodeText(textBuf.subarray(0, Math.max(n, 0)));
}

const timeFields = new BigInt64Array(10);

/**
 * The local time of `seconds` since the epoch as the C library's localtime_r
 * gives it under TZ (lib/timeformat.ts). A time the C library cannot convert
 * (a year beyond its `int`) is shown in UTC.
 */
export function localtime(seconds: number): LocalTime {
  const n = shim.dtee_localtime(BigInt(seconds), timeFields, textBuf, BigInt(textBuf.length));
  if (n < 0) {
    const utc = new Date(seconds * 1000);
    timeFields.set(
      [
        utc.getUTCFullYear(),
        utc.getUTCMonth() + 1,
        utc.getUTCDate(),
        utc.getUTCHours(),
        utc.getUTCMinutes(),
        utc.getUTCSeconds(),
        utc.getUTCDay(),
        0,
        0,
        0,
      ].map(BigInt),
    );
  }
  const [year, month, day, hour, minute, second, weekday, yearDay, , offset] = Array.from(
    timeFields,
    Number,
  );
  const zone = n < 0 ? "UTC" : decodeText(textBuf.subarray(0, n));
  return { year, month, day, hour, minute, second, weekday, yearDay, offset, zone };
}

/** Writes all of `bytes` to `fd`; EINTR: a signal that stops dtee is pending. */
export function writeAll(fd: number, bytes: Uint8Array): Result<number> {
  return result(shim.dtee_write(fd, bytes, BigInt(bytes.length)));
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
  who: keyof typeof SocketWho;
  op: keyof typeof SocketOp;
}

export function openSockets(template: string): Result<Sockets, SocketFailure> {
  const path = cString(template);
  const fds = new Int32Array(3);
  const limits = new BigInt64Array(3);
  const fail = new Int32Array(2);
  const ret = shim.dtee_open_sockets(path, fds, limits, fail);
  if (ret < 0) {
    return {
      ok: false,
      errno: -ret,
      who: nameOf(SocketWho, fail[0]),
      op: nameOf(SocketOp, fail[1]),
    };
  }
  return {
    ok: true,
    value: {
      input: fds[0],
      stdout: fds[1],
      stderr: fds[2],
      directory: fromCString(path),
      sendBuffer: Number(limits[0]),
      receiveBuffer: Number(limits[1]),
      maxWrite: Number(limits[2]),
    },
  };
}

export interface Child {
  pid: number;
  /** -1 where the kernel has no pidfd_open(2). */
  pidfd: number;
}

/**
 * Starts the command with `stdout`/`stderr` as its fd 1/2, with `ownGroup` in a process
 * group of its own; a failure says which step failed.
 */
export function spawn(
  argv: readonly string[],
  stdout: number,
  stderr: number,
  ownGroup: boolean,
): Result<Child, { stage: "fork" | "exec" }> {
  const ids = new Int32Array(3);
  const buf = words(argv);
  const flags = ownGroup ? SpawnFlag.ownGroup : 0;
  const ret = shim.dtee_spawn(buf, BigInt(buf.length), argv.length, stdout, stderr, flags, ids);
  if (ret >= 0) return { ok: true, value: { pid: ids[0], pidfd: ids[1] } };
  return { ok: false, errno: -ret, stage: ids[2] === SpawnStage.fork ? "fork" : "exec" };
}

/** Replaces this process with the command; returns only on failure. */
export function exec(argv: readonly string[]): Result<never> {
  const buf = words(argv);
  return { ok: false, errno: -shim.dtee_exec(buf, BigInt(buf.length), argv.length) };
}

/**
 * Gives the command `name=value`, combined with the value it would inherit
 * as `join` says (`keep`: an inherited non-empty value wins).
 */
export function addEnv(name: string, value: string, join: keyof typeof EnvJoin): Result<number> {
  return result(shim.dtee_env_add(cString(`${name}=${value}`), EnvJoin[join]));
}

const statusBuf = new Int32Array(1);

/** waitpid(): the pid reaped (0 with `noHang` while none has exited) and its raw wait status. */
export function wait(pid: number, noHang: boolean): Result<{ pid: number; status: number }> {
  const ret = shim.dtee_wait(pid, noHang ? 1 : 0, statusBuf);
  return ret < 0
    ? { ok: false, errno: -ret }
    : { ok: true, value: { pid: ret, status: statusBuf[0] } };
}

export function setSignal(
  signal: number,
  disposition: (typeof Disposition)[keyof typeof Disposition],
): Result<number> {
  return result(shim.dtee_signal_set(signal, disposition));
}

/** Whether `signal` was ignored (SIG_IGN) when dtee started (nohup, a background job). */
export function ignoredAtStart(signal: number): boolean {
  return shim.dtee_signal_ignored(signal) === 1;
}

/** The lowest caught signal still pending (now taken), or 0. */
export function takeSignal(): number {
  return shim.dtee_signal_take();
}

/** Unblocks `signal` for dtee, its disposition (an inherited SIG_IGN too) unchanged. */
export function unblockSignal(signal: number): Result<number> {
  return result(shim.dtee_signal_unblock(signal));
}

/**
 * dtee is going the interrupted way: its writes stop waiting for a reader
 * that makes no room (docs/behaviour.md A7).
 */
export function setStopping(): void {
  shim.dtee_signal_stopping();
}

/** Sends `signal` to process `pid`. */
export function kill(pid: number, signal: number): Result<number> {
  return result(shim.dtee_kill(pid, signal));
}

/** Sends `signal` to the process group of the command `pid` and to the command itself. */
export function signalGroup(pid: number, signal: number): Result<number> {
  return result(shim.dtee_signal_group(pid, signal));
}

/** Gives the terminal back to dtee's process group, if the command's group took it. */
export function restoreTerminal(): void {
  shim.dtee_terminal_restore();
}

/**
 * After a SIGCHLD: whether the command had stopped while its group held the terminal (Ctrl-Z);
 * dtee then stopped too and was continued (rust/src/job.rs).
 */
export function followStop(pid: number): boolean {
  return shim.dtee_job_follow_stop(pid) === 1;
}

/** `dtee_recv` reports `Event.timer` once `ns` nanoseconds from now have passed (0: never). */
export function setTimer(ns: bigint): void {
  shim.dtee_timer_set(ns);
}

/** Makes orphaned descendants children of dtee. */
export function setSubreaper(): Result<number> {
  return result(shim.dtee_set_subreaper());
}

/** Dies by `signal`; returns only if its default action does not kill. */
export function die(signal: number): void {
  shim.dtee_die(signal);
}

/** Opens an output file: its descriptor. */
export function openOutput(path: string, append: boolean): Result<number> {
  return result(shim.dtee_open_output(cString(path), append ? 1 : 0));
}

/** Opens a file to read (a log to replay): its descriptor. */
export function openInput(path: string): Result<number> {
  return result(shim.dtee_open_input(cString(path)));
}

/** Reads into `buf`: how many bytes (0 at the end). */
export function read(fd: number, buf: Uint8Array): Result<number> {
  return result(shim.dtee_read(fd, buf, BigInt(buf.length)));
}

/** Moves `fd`'s offset to `offset` bytes from the start (ESPIPE: a pipe). */
export function seek(fd: number, offset: number): Result<number> {
  return result(shim.dtee_seek(fd, BigInt(offset)));
}

/** Waits up to `timeoutMs` for a caught signal: whether one is pending. */
export function pause(timeoutMs: number): boolean {
  return shim.dtee_pause(Math.max(0, Math.min(Math.ceil(timeoutMs), 0x7fffffff))) === 1;
}

/** Creates the (already unlinked) buffer file: its descriptor and name, or the name tried. */
export function tempFile(template: string): Result<{ fd: number; path: string }, { path: string }> {
  const path = cString(template);
  const fd = shim.dtee_temp_file(path);
  const name = fromCString(path);
  return fd < 0 ? { ok: false, errno: -fd, path: name } : { ok: true, value: { fd, path: name } };
}

/** A piece of the buffer file: its length, and the descriptor it goes to. */
export interface Piece {
  len: number;
  fd: number;
}

/**
 * Copies the buffer file from its start: each piece to its descriptor, in large writes, or
 * with `whole` each piece in a write of its own; a failure says which step (and descriptor).
 */
export function replay(
  src: number,
  pieces: readonly Piece[],
  whole: boolean,
): Result<number, { stage: keyof typeof ReplayStage; fd: number }> {
  // The step that failed, and the descriptor a write failed on.
  const stage = new Int32Array(2);
  const some = pieces.length > 0 ? pieces : [{ len: 0, fd: 1 }];
  const lens = BigUint64Array.from(some, (p) => BigInt(p.len));
  const fds = Int32Array.from(some, (p) => p.fd);
  const ret = shim.dtee_replay(src, lens, fds, lens.length, whole ? 1 : 0, stage);
  if (ret >= 0) return { ok: true, value: ret };
  return { ok: false, errno: -ret, stage: nameOf(ReplayStage, stage[0]), fd: stage[1] };
}

export function setBlocking(fd: number): Result<number> {
  return result(shim.dtee_set_blocking(fd));
}

export function close(fd: number): Result<number> {
  return result(shim.dtee_close(fd));
}

/** Opens /dev/null on closed fds 0-2 (for dtee's own use): the mask of those opened. */
export function ensureStdFds(): Result<number> {
  return result(shim.dtee_ensure_std_fds());
}

/** Whether writes to `b` can go to `a` instead without any reader seeing a difference. */
export function sameDestination(a: number, b: number): boolean {
  return shim.dtee_same_destination(a, b) === 1;
}

export interface FdInfo {
  kind: Exclude<keyof typeof FdKind, "keepsBoundaries">;
  /** The file it leads to: equal for two descriptors of one file, pipe, socket or terminal. */
  identity: string;
  /** A datagram or seqpacket socket: each message must go in a write of its own. */
  keepsBoundaries: boolean;
  /** Its size in bytes, for a regular file. */
  size: number;
}

const infoBuf = new BigUint64Array(3);

export function fdInfo(fd: number): Result<FdInfo> {
  return toInfo(shim.dtee_fd_info(fd, infoBuf));
}

/** fdInfo's `size` alone, for a write's hot path (no kind or identity to build): undefined on failure. */
export function fdSize(fd: number): number | undefined {
  return shim.dtee_fd_info(fd, infoBuf) < 0 ? undefined : Number(infoBuf[2]);
}

/** What `path` names (symlinks followed), without opening it. */
export function pathInfo(path: string): Result<FdInfo> {
  return toInfo(shim.dtee_path_info(cString(path), infoBuf));
}

function toInfo(ret: number): Result<FdInfo> {
  if (ret < 0) return { ok: false, errno: -ret };
  const boundaries = (ret & FdKind.keepsBoundaries) !== 0;
  const kind = nameOf(FdKind, ret & ~FdKind.keepsBoundaries) as FdInfo["kind"];
  return {
    ok: true,
    value: {
      kind,
      identity: `${infoBuf[0]}:${infoBuf[1]}`,
      keepsBoundaries: boundaries,
      size: Number(infoBuf[2]),
    },
  };
}

/**
 * One receive buffer: `slots` slots of `slotSize` bytes, with each received
 * message's length and stream. Allocated once; the hot loop reuses it.
 */
export class Batch {
  /** The slots, outside V8's heap (see `anonymousMemory`). */
  readonly #slots: Deno.PointerObject;
  #data: Uint8Array<ArrayBuffer> | undefined;
  readonly lens: Uint32Array<ArrayBuffer>;
  readonly streams: Uint8Array<ArrayBuffer>;
  /** When the kernel queued each message: nanoseconds since the epoch (0 if unknown). */
  readonly times: BigInt64Array<ArrayBuffer>;
  readonly #events = new Uint32Array(1);
  readonly #done = new Uint32Array(1);
  /** Messages in the batch since the last receive. */
  count = 0;

  constructor(readonly slotSize: number, readonly slots: number) {
    this.#slots = anonymousMemory(slotSize * slots);
    this.lens = new Uint32Array(slots);
    this.streams = new Uint8Array(slots);
    this.times = new BigInt64Array(slots);
  }

  /** The slots' bytes: message i starts at i × slotSize. */
  get data(): Uint8Array<ArrayBuffer> {
    this.#data ??= new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(this.#slots, this.slotSize * this.slots),
    );
    return this.#data;
  }

  /** Receives into this batch (see dtee_recv): how many messages, and the event bits. */
  receive(sock: number, pidfd: number, timeoutMs: number): Result<{ events: number }> {
    const n = shim.dtee_recv(
      sock,
      pidfd,
      this.#slots,
      this.slotSize,
      this.slots,
      this.lens,
      this.streams,
      this.times,
      timeoutMs,
      this.#events,
    );
    this.count = Math.max(n, 0);
    return n < 0 ? { ok: false, errno: -n } : { ok: true, value: { events: this.#events[0] } };
  }

  /**
   * Writes messages from..to whose stream bit (1 << stream) is in `mask`:
   * how many that was. A failure says at which message it happened: every
   * wanted message before that one was written whole.
   */
  write(fd: number, from: number, to: number, mask: number): Result<number, { done: number }> {
    const ret = shim.dtee_write_batch(
      fd,
      this.#slots,
      this.slotSize,
      this.lens,
      this.streams,
      from,
      to,
      mask,
      this.#done,
    );
    return ret < 0 ? { ok: false, errno: -ret, done: this.#done[0] } : { ok: true, value: ret };
  }

  /** The end of the run of messages of one stream that starts at `start` (up to `to`). */
  runEnd(start: number, to: number): number {
    const stream = this.streams[start];
    let end = start + 1;
    while (end < to && this.streams[end] === stream) end++;
    return end;
  }
}
