/**
 * Small generic helpers for end-to-end tests: run a real process (dtee
 * through its launcher, or anything else), collect what it printed and how
 * it ended, with a bounded wait so that a hang fails instead of blocking.
 */

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
