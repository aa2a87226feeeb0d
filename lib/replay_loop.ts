/**
 * Replaying a log (docs/behaviour.md B4): every recorded run delivered as a
 * live run would be (lib/input.ts), its messages through the outputs, then
 * how it ended. The records are read and checked by lib/replay.ts.
 */

import { Batch, close, openInput, pause, read } from "./ffi.ts";
import type { Reporter } from "./failures.ts";
import { LARGEST_DATAGRAM, SLOTS } from "./input.ts";
import { LogError, LogReader, LogReadError, Pacer } from "./replay.ts";
import type { RecordedEnd, RunEnd } from "./run_end.ts";
import { ended, type Sink, stoppedShort } from "./sink.ts";
import type { Signals } from "./signals.ts";

/** Opens the log to replay (through the shim: dtee has no read permission), or reports why not. */
export function openLog(path: string, reporter: Reporter): LogReader | undefined {
  const fd = openInput(path);
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
  sink: Sink;
  signals: Signals;
  reporter: Reporter;
  /** Reproduce the recorded gaps between messages (as scriptreplay does). */
  realtime: boolean;
}

/**
 * Delivers every run of a log as a live run would: its messages through the
 * outputs, then how it ended. A record that is not valid stops the replay
 * after everything before it was delivered (reported here).
 */
export function replayRuns(replay: Replay): RunEnd {
  const { log, reporter } = replay;
  try {
    return replayAll(replay);
  } catch (e) {
    if (e instanceof LogError) reporter.fail({ kind: "log-data", where: e.message });
    else if (e instanceof LogReadError) {
      reporter.fail({ kind: "log-read", path: log.file, errno: e.errno });
    } else throw e;
    return { kind: "failed" };
  } finally {
    log.close();
  }
}

function replayAll({ log, sink, signals, realtime }: Replay): RunEnd {
  const batch = new Batch(LARGEST_DATAGRAM, SLOTS);
  const pacer = new Pacer();
  let last: RecordedEnd = { kind: "exited", code: 0 };
  /** A caught signal that stops dtee, if one comes within `waitMs`. */
  const stopping = (waitMs: number): number => pause(waitMs) ? signals.takeStop() : 0;
  for (let run = log.nextRun(); run; run = log.nextRun()) {
    sink.started(run);
    pacer.startRun(run.timeNs, performance.now());
    for (let n = log.fill(batch); n > 0; n = log.fill(batch)) {
      // Paced, each message waits for its time; otherwise the batch goes at once.
      for (let from = 0; from < n;) {
        const to = realtime ? from + 1 : n;
        const wait = realtime ? pacer.delay(batch.times[from], performance.now()) : 0;
        const signal = stopping(wait);
        if (signal) return { kind: "dtee-signaled", signal };
        if (sink.deliver(batch, from, to) < to) return stoppedShort(sink, signals);
        from = to;
      }
    }
    const { end, timeNs } = log.finish!;
    if (end.kind === "dtee-signaled") sink.interrupted(end, timeNs);
    else {
      const cut = ended(sink, signals, end, timeNs);
      if (cut) return cut;
    }
    last = end;
  }
  return { kind: "replayed", last };
}
