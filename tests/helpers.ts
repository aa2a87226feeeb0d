/**
 * The one home of what the test files share: running a real process (dtee
 * through its launcher, or anything else) with a bounded wait so that a hang
 * fails instead of blocking, waiting for a condition, checking how a run
 * ended, and naming dtee's temporary files as lib/temp.ts does.
 */

import { deepStrictEqual, fail } from "node:assert/strict";
import { type TempKind, tempTemplate } from "../lib/temp.ts";

/** The project directory (no trailing slash). */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/+$/, "");
/** The launcher, as tests invoke it: NAME in dtee's messages is this path. */
export const DTEE = `${ROOT}/scripts/dtee`;
/** The cron-mode launcher (a symlink to scripts/dtee). */
export const CRONTY = `${ROOT}/scripts/cronty`;
/** The native launcher (rust/src/bin/dtee.rs), which scripts/dtee builds and execs. */
export const LAUNCHER = `${ROOT}/rust/target/release/dtee`;

export interface RunOptions {
  /** Bytes or text for the process's stdin; without it stdin is /dev/null. */
  stdin?: Uint8Array | string;
  /** Extra environment variables (added to the inherited environment). */
  env?: Record<string, string>;
  cwd?: string;
  /** Fails the run after this long (the process is killed). Default 30 s. */
  timeoutMs?: number;
}

export interface RunResult {
  /** The process id it ran as (dtee's own pid: the launcher execs Deno). */
  pid: number;
  /** Exit code; 128+N when killed by signal N (as Deno reports it). */
  code: number;
  /** The signal that killed the process, or null. */
  signal: Deno.Signal | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** stdout and stderr decoded as UTF-8. */
  out: string;
  err: string;
}

const decoder = new TextDecoder();

/** Runs `cmd` with `args`; rejects if it has not finished within the timeout. */
export async function run(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const data = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const writer = child.stdin.getWriter();
    // The process may exit without reading everything: that is its business.
    writer.write(data).then(() => writer.close()).catch(() => {});
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      reject(new Error(`${cmd} ${JSON.stringify(args)} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const output = await Promise.race([child.output(), timeout]);
    return {
      pid: child.pid,
      code: output.code,
      signal: output.signal,
      stdout: output.stdout,
      stderr: output.stderr,
      out: decoder.decode(output.stdout),
      err: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs scripts/dtee with `args`. */
export function dtee(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(DTEE, args, options);
}

/** Runs a `sh -c` script; `$1`, `$2`... are `params`. */
export function sh(
  script: string,
  params: string[] = [],
  options: RunOptions = {},
): Promise<RunResult> {
  return run("sh", ["-c", script, "sh", ...params], options);
}

/** Runs `cmd` with `args`, its stderr joined to its stdout (`2>&1`): the order across both shows. */
export function joined(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return sh('"$@" 2>&1', [cmd, ...args], options);
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "dtee-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether anything (even a dangling symlink) exists at `path`. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** mulberry32: a small seeded generator, so that a failing input can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Serves `root` on 127.0.0.1 as a plain static site would, TypeScript with its media type. */
export function serve(root: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(`${root}${path}`);
      const type = path.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `every` ms until it gives something other than false
 * or undefined, and resolves with that; fails after `ms`, naming `what`.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | false | undefined | Promise<T | false | undefined>,
  ms = 20_000,
  every = 20,
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/**
 * The fields of /proc/PID/stat after the command's name (the state first,
 * the process group third), or undefined once the process is gone.
 */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Checks that a run exited with `code`, not by a signal. */
export function exited(result: RunResult, code: number, what = "dtee"): void {
  deepStrictEqual(
    { code: result.code, signal: result.signal },
    { code, signal: null },
    `${what}: status (stderr: ${JSON.stringify(result.err)})`,
  );
}

/** Checks how a run ended: exit code (not a signal), stdout and stderr exactly. */
export function ended(result: RunResult, code: number, out: string, err: string, what = ""): void {
  exited(result, code, what || "dtee");
  deepStrictEqual(
    { out: result.out, err: result.err },
    { out, err },
    `${what ? `${what}: ` : ""}unexpected output`,
  );
}

/** The file's text, or "" while it does not exist. */
export function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** The names in `dir`, sorted. */
export function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** `text` as a RegExp source that matches exactly it. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const hexPid = (pid: number) => pid.toString(16).toUpperCase().padStart(8, "0");

/**
 * The template of a temporary name of process `pid` in `dir`, as dtee's
 * messages give it (`.../dtee<pid>IXXXXXX`): lib/temp.ts's own template,
 * which can only be made for this process, with `pid` in place of its pid.
 */
export function tempName(kind: TempKind, dir: string, pid: number): string {
  return tempTemplate(kind, dir, pid);
}

/**
 * A RegExp source for the names tempName() is the template of, the XXXXXX
 * filled in by mkdtemp/mkostemp (`random`: "XXXXXX" matches the template
 * itself); without `pid`, any pid, captured as group 1.
 */
export function tempPattern(
  kind: TempKind,
  dir: string,
  pid?: number,
  random = "[A-Za-z0-9]{6}",
): string {
  const [head, tail] = escapeRegExp(tempName(kind, dir, 0)).split(`dtee${hexPid(0)}${kind}`);
  const pidField = pid === undefined ? "([0-9A-F]{8})" : hexPid(pid);
  return `${head}dtee${pidField}${kind}${tail.replace("XXXXXX", random)}`;
}

/** Reads a stream to its end in the background; its content so far is always available. */
export class Collector {
  #chunks: Uint8Array[] = [];
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    const reader = stream.getReader();
    this.#reader = reader;
    this.done = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#chunks.push(value);
      }
    })().catch(() => {});
  }

  get text(): string {
    const length = this.#chunks.reduce((n, c) => n + c.length, 0);
    const all = new Uint8Array(length);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    return decoder.decode(all);
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.done;
  }
}

/** Runs `args` under python3 with O_NONBLOCK set on each of `fds` first. */
export function nonBlocking(
  fds: number[],
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run("python3", [
    "-c",
    "import os, sys\nfor fd in sys.argv[1].split(','): os.set_blocking(int(fd), False)\n" +
    "os.execv(sys.argv[2], sys.argv[2:])",
    fds.join(","),
    ...args,
  ], options);
}

/** glibc's strerror(3) texts of the errno values the tests use: [number, text]. */
export const ERRNO = {
  EPERM: [1, "Operation not permitted"],
  ENOENT: [2, "No such file or directory"],
  EIO: [5, "Input/output error"],
  EBADF: [9, "Bad file descriptor"],
  ECHILD: [10, "No child processes"],
  EAGAIN: [11, "Resource temporarily unavailable"],
  ENOMEM: [12, "Cannot allocate memory"],
  EACCES: [13, "Permission denied"],
  EINVAL: [22, "Invalid argument"],
  EMFILE: [24, "Too many open files"],
  ENOSPC: [28, "No space left on device"],
  EPIPE: [32, "Broken pipe"],
  ENAMETOOLONG: [36, "File name too long"],
  EMSGSIZE: [90, "Message too long"],
  EADDRINUSE: [98, "Address already in use"],
  ENOBUFS: [105, "No buffer space available"],
  ENOTCONN: [107, "Transport endpoint is not connected"],
  ECONNREFUSED: [111, "Connection refused"],
} as const;
/**
 * `git clone` of ROOT into `dir`, with the work tree's uncommitted changes (what is tested is this
 * work tree), and this checkout's Deno. With `built`, also its built shim, preload library,
 * launcher and bundle, newer than the clone's sources, so that the clone's bootstrap builds
 * nothing.
 */
export async function freshClone(dir: string, { built = false } = {}): Promise<void> {
  const git = (args: string[], cwd = ROOT) => run("git", args, { cwd });
  const cloned = await git(["clone", "-q", "--no-hardlinks", ROOT, dir]);
  if (cloned.code !== 0) fail(cloned.err);
  const changed = await git(["ls-files", "-z", "--modified", "--others", "--exclude-standard"]);
  for (const file of changed.out.split("\0").filter((f) => f !== "")) {
    const from = `${ROOT}/${file}`;
    try {
      await Deno.mkdir(`${dir}/${file}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.copyFile(from, `${dir}/${file}`);
    } catch (e) {
      // A file deleted in the work tree but still in the index.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.remove(`${dir}/${file}`).catch(() => {});
    }
  }
  await Deno.mkdir(`${dir}/.deno/bin`, { recursive: true });
  await Deno.symlink(await Deno.realPath(`${ROOT}/.deno/bin/deno`), `${dir}/.deno/bin/deno`);
  if (!built) return;
  // Copied after the sources, so newer than all of them, and all with one time, as the bootstrap
  // leaves the shim and the launcher: nothing is rebuilt.
  const artefacts = [
    ...["rust/target/release/libdtee_shim.so", "rust/target/release/libdtee_linebuf.so"],
    "build/dtee.js",
  ];
  const now = new Date();
  for (const file of [...artefacts, LAUNCHER.slice(ROOT.length + 1)]) {
    await Deno.mkdir(`${dir}/${file}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.copyFile(`${ROOT}/${file}`, `${dir}/${file}`);
    await Deno.utime(`${dir}/${file}`, now, now);
  }
}

/**
 * Starts `cmd` with `args`, waits for its first output on stdout, sends it
 * `signal`; the signal that ended it (null when it exited).
 */
export async function signalAfterOutput(
  cmd: string,
  args: string[],
  signal: Deno.Signal,
): Promise<Deno.Signal | null> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill(signal);
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  return status.signal;
}

/** A zone `offset` seconds east of UTC named `zone` (for lib/timeformat.ts without the C library). */
export function fixedZone(offset: number, zone: string) {
  return (seconds: number) => {
    const d = new Date((seconds + offset) * 1000);
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
      yearDay: Math.floor((d.getTime() - start) / 86400000),
      offset,
      zone,
    };
  };
}

/** Whether `command` is found on PATH (`command -v`), as a test's skip or branch needs it. */
export function installed(command: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${command}`], stdout: "null" })
    .outputSync().success;
}

/** The words that run a command as user and group 65534 (nobody), with no other groups. */
export const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

/**
 * How to run dtee as an unprivileged user (root bypasses directory
 * permissions): the words to put before it, or why that is impossible here.
 */
export async function unprivileged(): Promise<{ prefix: string[]; skip?: string }> {
  if (Deno.uid() !== 0) return { prefix: [] };
  try {
    const check = await run(AS_NOBODY[0], [
      ...AS_NOBODY.slice(1),
      "sh",
      "-c",
      'test -r "$1/main.ts" && test -x "$(command -v deno || echo "$1/.deno/bin/deno")"',
      "sh",
      ROOT,
    ]);
    if (check.code === 0) return { prefix: AS_NOBODY };
    return { prefix: [], skip: `user 65534 cannot run dtee from ${ROOT}` };
  } catch {
    return { prefix: [], skip: "running as root without setpriv" };
  }
}
