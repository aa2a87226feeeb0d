/**
 * The input side: the sockets the command writes to, and the synchronous
 * loop that receives its messages in order until it has exited and every
 * queued message is delivered.
 */

import type { Diagnostics } from "./diagnostics.ts";
import { Batch, close, Event, openSockets, type Sockets, takeSignal, wait } from "./ffi.ts";
import type { MessageSink } from "./outputs.ts";

/** Slots per batch: more than the kernel queues by default (11). */
const SLOTS = 32;
/**
 * The largest datagram Linux builds (one 4 MiB allocation plus page
 * fragments: 4 MiB + 68 KiB measured here, more with a raised
 * MAX_SKB_FRAGS): a command that raises its own send buffer still fits a
 * slot. Slots are only reserved address space until a message touches them.
 */
const LARGEST_DATAGRAM = (4 << 20) + (256 << 10);

/** `$TMPDIR/dtee<pid as 8 upper-case hex><kind><6 random>` (docs/behaviour.md A6). */
export function tempPattern(kind: "I" | "O"): string {
  const dir = Deno.env.get("TMPDIR") || "/tmp";
  const pid = Deno.pid.toString(16).toUpperCase().padStart(8, "0");
  return `${dir.replace(/\/+$/, "") || "/"}/dtee${pid}${kind}XXXXXX`;
}

/** Opens the sockets, or reports why not and returns undefined. */
export function openInput(diagnostics: Diagnostics): Sockets | undefined {
  const pattern = tempPattern("I");
  const opened = openSockets(pattern);
  if ("input" in opened) return opened;
  if (opened.who === "directory") {
    diagnostics.error(`unable to create temporary directory ${pattern}`, opened.errno);
  } else {
    diagnostics.error(`${opened.who} socket: ${opened.op}`, opened.errno);
  }
  return undefined;
}

/** Closes dtee's copies of the command's sockets; reports a failure. */
export function closeOutputSockets(sockets: Sockets, diagnostics: Diagnostics): boolean {
  let ok = true;
  for (const [who, fd] of [["stdout", sockets.stdout], ["stderr", sockets.stderr]] as const) {
    const ret = close(fd);
    if (ret < 0) {
      diagnostics.error(`${who} socket: close`, -ret);
      ok = false;
    }
  }
  return ok;
}

export type LoopEnd =
  | { kind: "exited"; status: number }
  | { kind: "signal"; signal: number }
  | { kind: "error"; op: string; errno: number };

/** What reaping found: the command's raw wait status, -errno, or undefined while it runs. */
export type Reaper = () => { status: number } | { errno: number } | undefined;

/** Reaps just the command (dtee's only child unless it is an init process). */
export function reapCommand(pid: number): Reaper {
  return () => {
    const [got, raw] = wait(pid, true);
    if (got < 0) return { errno: -got };
    return got === pid ? { status: raw } : undefined;
  };
}

/**
 * Receives and delivers until the child has exited and the queue is empty,
 * or `onSignal` says to stop, or the socket fails. `onLost` hears of a
 * message too large to receive.
 */
export function receiveUntilExit(
  sockets: Sockets,
  pidfd: number,
  reap: Reaper,
  sink: MessageSink,
  onSignal: (signal: number) => boolean,
  onLost: () => void,
): LoopEnd {
  const batch = new Batch(Math.max(sockets.sendBuffer, LARGEST_DATAGRAM), SLOTS);
  // Without a pidfd (old kernels) the loop wakes to ask waitpid instead.
  const timeout = pidfd >= 0 ? -1 : 50;
  let status: number | undefined;
  for (;;) {
    // Once the child has exited, only what is already queued is taken.
    const draining = status !== undefined;
    const n = batch.receive(sockets.input, draining ? -1 : pidfd, draining ? 0 : timeout);
    if (n < 0) return { kind: "error", op: "recv", errno: -n };
    if (n > 0) sink.deliver(batch, 0, n);
    const events = batch.events[0];
    if (events & Event.truncated) onLost();
    if (events & Event.signal) {
      for (let signal = takeSignal(); signal !== 0; signal = takeSignal()) {
        if (onSignal(signal)) return { kind: "signal", signal };
      }
    }
    if (status !== undefined) {
      if (n === 0) return { kind: "exited", status };
    } else if (events & (Event.child | Event.signal) || (pidfd < 0 && n === 0)) {
      // A signal may be SIGCHLD for an init process, or interrupt its wait.
      const reaped = reap();
      if (reaped && "errno" in reaped) return { kind: "error", op: "waitpid", errno: reaped.errno };
      if (reaped) status = reaped.status;
    }
  }
}
