/**
 * Replaying a log (docs/behaviour.md B4): every recorded run delivered as a
 * live run would be (lib/input.ts), its messages through the outputs, then
 * how it ended. The records are read and checked by lib/replay.ts.
 */

import { Batch, close, fdInfo, openInput, pathInfo, pause, read, seek } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import type { Options } from "./cli.ts";
import { LARGEST_DATAGRAM, SLOTS } from "./input.ts";
import { newRunId } from "./jsonlog.ts";
import { LogReader, LogReadError, Pacer } from "./replay.ts";
import type { RecordedEnd, RunEnd } from "./run_end.ts";
import { ended, type Sink, stoppedShort } from "./sink.ts";
import type { Signals } from "./signals.ts";

/**
 * Opens the log to replay (through the shim: dtee has no read permission), or reports why
 * not; also when it is one of the replay's own outputs under any name (a symlink, a hard
 * link, /proc/self/fd/N, dtee's redirected stdout), as GNU cat refuses: a log that feeds on
 * itself grows until the disk is full, and -J would empty it before it is read.
 */
export function openLog(path: string, outputs: Options, reporter: Reporter): LogReader | undefined {
  const fd = openInput(path);
  if (!fd.ok) {
    reporter.fail({ kind: "log-read", path, errno: fd.errno });
    return undefined;
  }
  const output = sameFileAs(fd.value, outputs);
  if (output !== undefined) {
    reporter.fail({ kind: "log-is-output", path, output });
    close(fd.value);
    return undefined;
  }
  const readSome = (buf: Uint8Array) => {
    const n = read(fd.value, buf);
    return n.ok ? n.value : -n.errno;
  };
  // A log that can be read again from a run's start (not a pipe) need not keep overlapping
  // runs in memory (lib/replay.ts).
  const seekTo = seek(fd.value, 0).ok
    ? (offset: number) => {
      const ret = seek(fd.value, offset);
      if (!ret.ok) throw new LogReadError(ret.errno);
    }
    : undefined;
  return new LogReader(path, readSome, () => close(fd.value), seekTo);
}

/** The output of a replay that is the regular file `fd` reads, if one is: its name. */
function sameFileAs(fd: number, { outputs }: Options): string | undefined {
  const log = fdInfo(fd);
  // A terminal or a pipe may well be both the input and an output.
  if (!log.ok || log.value.kind !== "file") return undefined;
  const same = (info: ReturnType<typeof fdInfo>) =>
    info.ok && info.value.kind === "file" && info.value.identity === log.value.identity;
  for (const [name, std] of [["stdout", 1], ["stderr", 2]] as const) {
    if (same(fdInfo(std))) return name;
  }
  return outputs.find((o) => same(pathInfo(o.path)))?.path;
}

export interface Replay {
  log: LogReader;
  sink: Sink;
  signals: Signals;
  reporter: Reporter;
  /** Reproduce the recorded gaps between messages (as scriptreplay does). */
  realtime: boolean;
  /** The longest pause between two messages, in ms (--max-delay). */
  maxDelayMs: number;
}

/**
 * Delivers every run of a log as a live run would: its messages and dtee's
 * recorded messages through the outputs, then how it ended. A damaged record
 * is reported where the replay reaches it and passed over (exit 65 at the
 * end); a log that cannot be read stops the replay.
 */
export function replayRuns(replay: Replay): RunEnd {
  const { log, reporter } = replay;
  log.events = {
    damaged: (e) => reporter.fail({ kind: "log-data", where: e.message }),
    said: ({ failure, text }) => reporter.fail({ kind: "recorded", failure, text }),
  };
  try {
    return replayAll(replay);
  } catch (e) {
    if (!(e instanceof LogReadError)) throw e;
    reporter.fail({ kind: "log-read", path: log.file, errno: e.errno });
    return { kind: "failed" };
  } finally {
    log.close();
  }
}

function replayAll({ log, sink, signals, realtime, maxDelayMs }: Replay): RunEnd {
  const batch = new Batch(LARGEST_DATAGRAM, SLOTS);
  const pacer = new Pacer(maxDelayMs);
  let last: RecordedEnd = { kind: "exited", code: 0 };
  /** A caught signal that stops dtee, if one comes within `waitMs`. */
  const stopping = (waitMs: number): number => pause(waitMs) ? signals.takeStop() : 0;
  for (let run = log.nextRun(); run; run = log.nextRun()) {
    // A log of an older dtee has no run ids: the logs this replay writes get new ones.
    sink.started({ ...run, id: run.id || newRunId() });
    pacer.startRun(run.timeNs, performance.now());
    for (let n = log.fill(batch); n > 0; n = log.fill(batch)) {
      // Paced, each message waits for its time; otherwise the batch goes at once.
      for (let from = 0; from < n;) {
        const to = realtime ? from + 1 : n;
        // A wait may end early (another signal, the longest a poll takes): until it is due.
        const due = () => realtime ? pacer.delay(batch.times[from], performance.now()) : 0;
        for (let wait = due(); wait > 0; wait = due()) {
          const signal = stopping(wait);
          if (signal) return { kind: "dtee-signaled", signal };
        }
        if (sink.deliver(batch, from, to) < to) return stoppedShort(sink, signals);
        from = to;
      }
    }
    // A run without a final record was reported (exit 65 at the end); the next one follows.
    if (!log.finish) continue;
    const { end, timeNs } = log.finish;
    if (end.kind === "dtee-signaled") sink.interrupted(end, timeNs);
    else {
      const cut = ended(sink, signals, end, timeNs);
      if (cut) return cut;
    }
    last = end;
  }
  return { kind: "replayed", last };
}
