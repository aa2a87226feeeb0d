/**
 * The input side: the sockets the command writes to, and the synchronous
 * loop that receives its messages in order until it has exited and every
 * queued message is delivered (docs/architecture.md, "How one message flows"). A log is
 * replayed by lib/replay_loop.ts instead.
 */

import { Errno, Event } from "./abi.ts";
import { Batch, close, openSockets, type Sockets, takeSignal } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import { nowNs } from "./clock.ts";
import type { Command } from "./child.ts";
import type { RunEnd } from "./run_end.ts";
import { ended, type Sink, stoppedShort } from "./sink.ts";
import type { Signals } from "./signals.ts";
import { tempTemplate } from "./temp.ts";

/** Slots per batch: more than the kernel queues by default (11). */
export const SLOTS = 32;
/**
 * The largest datagram Linux builds (one 4 MiB allocation plus page
 * fragments: 4 MiB + 68 KiB measured here, more with a raised
 * MAX_SKB_FRAGS): a command that raises its own send buffer still fits a
 * slot. Slots are only reserved address space until a message touches them.
 */
export const LARGEST_DATAGRAM = (4 << 20) + (256 << 10);

/** Opens the sockets, or reports why not. */
export function openInput(reporter: Reporter): Sockets | undefined {
  const pattern = tempTemplate("I");
  const opened = openSockets(pattern);
  if (opened.ok) return opened.value;
  const { who, op, errno } = opened;
  reporter.fail({ kind: "sockets", who, op, pattern, errno });
  return undefined;
}

/** Closes dtee's copies of the command's sockets, reporting a failure. */
export function closeCommandEnds(sockets: Sockets, reporter: Reporter): void {
  for (const [who, fd] of [["stdout", sockets.stdout], ["stderr", sockets.stderr]] as const) {
    const ret = close(fd);
    if (!ret.ok) reporter.fail({ kind: "close", who, errno: ret.errno });
  }
}

export interface Loop {
  sockets: Sockets;
  command: Command;
  sink: Sink;
  signals: Signals;
  reporter: Reporter;
}

/**
 * Receives and delivers until the command has exited and the queue is
 * empty, or a signal or a broken pipe stops dtee, or the socket or waitpid
 * fails (reported here).
 */
export function receiveUntilExit({ sockets, command, sink, signals, reporter }: Loop): RunEnd {
  const batch = new Batch(Math.max(sockets.sendBuffer, LARGEST_DATAGRAM), SLOTS);
  // Without a pidfd (old kernels) the loop wakes to ask waitpid instead.
  const timeout = command.pidfd >= 0 ? -1 : 50;
  let status: number | undefined;
  /** A signal relayed to the command's group, which dtee ends by once the command has ended. */
  let relayed = 0;
  for (;;) {
    // Once the command has exited, only what is already queued is taken.
    const draining = status !== undefined;
    const got = batch.receive(sockets.input, draining ? -1 : command.pidfd, draining ? 0 : timeout);
    if (!got.ok) {
      reporter.fail({ kind: "recv", errno: got.errno });
      return { kind: "failed" };
    }
    const n = batch.count;
    if (n > 0 && sink.deliver(batch, 0, n) < n) return stoppedShort(sink, signals);
    const events = got.value.events;
    if (events & Event.truncated) reporter.fail({ kind: "recv", errno: Errno.EMSGSIZE });
    let reap = status === undefined && (events & Event.child || (command.pidfd < 0 && n === 0));
    if (events & Event.signal) {
      for (let signal = takeSignal(); signal !== 0; signal = takeSignal()) {
        switch (signals.policy(signal)) {
          case "forward":
            command.forward(signal);
            break;
          case "pass":
            command.relay(signal);
            break;
          case "relay":
            command.relay(signal);
            relayed ||= signal;
            break;
          case "reap":
            reap ||= status === undefined;
            break;
          case "stop":
            return { kind: "dtee-signaled", signal };
        }
      }
    }
    if (events & Event.timer) command.timeUp();
    if (draining) {
      if (n === 0) {
        if (relayed) return { kind: "dtee-signaled", signal: relayed };
        const end = command.ended(status!);
        return ended(sink, signals, end, nowNs()) ?? end;
      }
    } else if (reap) {
      const reaped = command.reap();
      if (reaped && "errno" in reaped) {
        reporter.fail({ kind: "waitpid", errno: reaped.errno });
        return { kind: "failed" };
      }
      if (reaped) status = reaped.status;
    }
  }
}
