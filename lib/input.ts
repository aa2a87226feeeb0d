/**
 * The input side: the sockets the command writes to, and the synchronous
 * loop that receives its messages in order until it has exited and every
 * queued message is delivered (docs/architecture.md, "How one message flows").
 */

import { Errno, Event } from "./abi.ts";
import {
  Batch,
  close,
  openInput as openFile,
  openSockets,
  pause,
  read,
  type Sockets,
  takeSignal,
} from "./ffi.ts";
import { LogError, LogReader, LogReadError, Pacer, recordedStatus } from "./replay.ts";
import {
  type CommandResult,
  decodeWaitStatus,
  type Reporter,
  type ResultHandler,
} from "./failures.ts";
import { nowNs } from "./jsonlog.ts";
import type { Command } from "./child.ts";
import type { MessageSink } from "./sink.ts";
import type { Signals } from "./signals.ts";
import { SIGPIPE } from "./signals.ts";
import { tempTemplate } from "./temp.ts";

/** Slots per batch: more than the kernel queues by default (11). */
const SLOTS = 32;
/**
 * The largest datagram Linux builds (one 4 MiB allocation plus page
 * fragments: 4 MiB + 68 KiB measured here, more with a raised
 * MAX_SKB_FRAGS): a command that raises its own send buffer still fits a
 * slot. Slots are only reserved address space until a message touches them.
 */
const LARGEST_DATAGRAM = (4 << 20) + (256 << 10);

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

/**
 * What stops dtee after writes of its stopped short, or may have: a pending
 * signal that stops dtee, else a broken pipe when `broken`.
 */
function stopped(sink: MessageSink, signals: Signals, broken: boolean): LoopEnd | undefined {
  const stop = signals.takeStop();
  if (stop) return { kind: "signal", signal: stop };
  if (broken) return { kind: "signal", signal: SIGPIPE, brokenLabel: sink.brokenLabel() };
  return undefined;
}

/** A delivery stopped short: a write interrupted by a signal that stops dtee, or a broken pipe. */
function stoppedShort(sink: MessageSink, signals: Signals): LoopEnd {
  return stopped(sink, signals, true)!;
}

/**
 * A run ended (live or replayed): the sinks hear of it (cron mode reports);
 * what stops dtee if a signal or a broken pipe cut their last writes short.
 */
function ended(
  sink: MessageSink & ResultHandler,
  signals: Signals,
  result: CommandResult,
  timeNs: bigint,
): LoopEnd | undefined {
  const delivered = sink.terminated(result, timeNs);
  // A signal that stopped the last writes (held output, report line) is taken now.
  return stopped(sink, signals, !delivered);
}

export type LoopEnd =
  | { kind: "exited"; result: CommandResult }
  | { kind: "signal"; signal: number; brokenLabel?: string }
  | { kind: "failed" }
  /** Every run of a log replayed: the last one's recorded status. */
  | { kind: "replayed"; status: number };

export interface Loop {
  sockets: Sockets;
  command: Command;
  sink: MessageSink & ResultHandler;
  signals: Signals;
  reporter: Reporter;
}

/**
 * Receives and delivers until the command has exited and the queue is
 * empty, or a signal or a broken pipe stops dtee, or the socket or waitpid
 * fails (reported here).
 */
export function receiveUntilExit({ sockets, command, sink, signals, reporter }: Loop): LoopEnd {
  const batch = new Batch(Math.max(sockets.sendBuffer, LARGEST_DATAGRAM), SLOTS);
  // Without a pidfd (old kernels) the loop wakes to ask waitpid instead.
  const timeout = command.pidfd >= 0 ? -1 : 50;
  let status: number | undefined;
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
          case "reap":
            reap ||= status === undefined;
            break;
          case "stop":
            return { kind: "signal", signal };
        }
      }
    }
    if (draining) {
      if (n === 0) {
        const result = decodeWaitStatus(status!);
        return ended(sink, signals, result, nowNs()) ?? { kind: "exited", result };
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

/** Opens the log to replay (through the shim: dtee has no read permission), or reports why not. */
export function openLog(path: string, reporter: Reporter): LogReader | undefined {
  const fd = openFile(path);
  if (!fd.ok) {
    reporter.fail({ kind: "log-read", path, errno: fd.errno });
    return undefined;
  }
  const readSome = (buf: Uint8Array) => {
    const n = read(fd.value, buf);
    return n.ok ? n.value : -n.errno;
  };
  return new LogReader(path, readSome, () => close(fd.value));
}

export interface Replay {
  log: LogReader;
  sink: MessageSink & ResultHandler;
  signals: Signals;
  reporter: Reporter;
  /** Reproduce the recorded gaps between messages (as scriptreplay does). */
  realtime: boolean;
}

/**
 * Delivers every run of a log as a live run would: its messages through the
 * sinks, then how it ended. A record that is not valid stops the replay
 * after everything before it was delivered (reported here).
 */
export function replayRuns({ log, sink, signals, reporter, realtime }: Replay): LoopEnd {
  const batch = new Batch(LARGEST_DATAGRAM, SLOTS);
  const pacer = new Pacer();
  let status = 0;
  /** A caught signal that stops dtee, if one comes within `waitMs`. */
  const stopping = (waitMs: number): number => pause(waitMs) ? signals.takeStop() : 0;
  try {
    for (let run = log.nextRun(); run; run = log.nextRun()) {
      sink.started(run);
      pacer.startRun(run.timeNs, performance.now());
      for (let n = log.fill(batch); n > 0; n = log.fill(batch)) {
        // Paced, each message waits for its time; otherwise the batch goes at once.
        for (let from = 0; from < n;) {
          const to = realtime ? from + 1 : n;
          const wait = realtime ? pacer.delay(batch.times[from], performance.now()) : 0;
          const signal = stopping(wait);
          if (signal) return { kind: "signal", signal };
          if (sink.deliver(batch, from, to) < to) return stoppedShort(sink, signals);
          from = to;
        }
      }
      const { end, timeNs } = log.finish!;
      if (end.kind === "dtee-signaled") sink.interrupted(end.signal, timeNs);
      else {
        const cut = ended(sink, signals, end, timeNs);
        if (cut) return cut;
      }
      status = recordedStatus(end);
    }
  } catch (e) {
    if (e instanceof LogError) reporter.fail({ kind: "log-data", where: e.message });
    else if (e instanceof LogReadError) {
      reporter.fail({ kind: "log-read", path: log.file, errno: e.errno });
    } else throw e;
    return { kind: "failed" };
  } finally {
    log.close();
  }
  return { kind: "replayed", status };
}
