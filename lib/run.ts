/**
 * The application: from the command line to an exit status. Its story is
 * `capture()`: prepare dtee's own descriptors and signals, open the outputs,
 * open the input, start the command, receive until it ends, report.
 * Never exits the process itself, except to die by a signal where
 * docs/behaviour.md A4/A5 require it.
 */

import { Command, execInPlace } from "./child.ts";
import { helpText, type Options, parse, type ParseResult, programName } from "./cli.ts";
import { nowNs } from "./clock.ts";
import { cronOutputs } from "./cron.ts";
import { Dispatch } from "./dispatch.ts";
import {
  die,
  ensureStdFds,
  invocation,
  messagesLocale,
  restoreTerminal,
  setBlocking,
  setStopping,
  writeAll,
} from "./ffi.ts";
import { EXEC_FAILED, Reporter, USAGE_STATUS } from "./failures.ts";
import { closeCommandEnds, openInput, receiveUntilExit } from "./input.ts";
import { openOutputs, recordsEnd } from "./output_kinds.ts";
import { streamOutputs } from "./output_stream.ts";
import { annotator } from "./output_annotate.ts";
import { newRunId } from "./jsonlog.ts";
import type { LogReader } from "./replay.ts";
import { openLog, replayRuns } from "./replay_loop.ts";
import { exitStatus, type Interruption, type RunEnd } from "./run_end.ts";
import { lineBuffered } from "./linebuf.ts";
import type { PreloadFiles } from "./preload.ts";
import { SIGINT, Signals } from "./signals.ts";
import type { Sink } from "./sink.ts";
import { encode } from "./text.ts";

/**
 * Runs dtee (or cronty, per `entry`, where argv[0] cannot say so) with this
 * process's arguments; returns the exit status. Anything unexpected is an
 * internal error (exit 70), never a stack trace.
 */
export function main(entry: "dtee" | "cronty"): number {
  let reporter = new Reporter(entry);
  try {
    const { argv0, args } = invocation();
    const name = programName(argv0, entry);
    reporter = new Reporter(name);
    const parsed = parse(args, name, () => messagesLocale().startsWith("en_US"));
    switch (parsed.action) {
      case "exit":
        writeAll(1, encode(parsed.stdout));
        return 0;
      case "usage":
        return usage(parsed.message, name, reporter);
      case "limits":
        return showLimits(reporter);
      case "replay":
        return replayLog(parsed, reporter);
      case "run":
        return capture(parsed.options, reporter);
    }
  } catch (e) {
    return reporter.internal(e);
  }
}

/** A usage error (reported), or no command: the help on stdout. */
function usage(message: string | undefined, name: string, reporter: Reporter): number {
  if (message !== undefined) reporter.fail({ kind: "usage", message });
  else writeAll(1, encode(helpText(name)));
  return reporter.exitStatus() || USAGE_STATUS;
}

/** The buffer sizes dtee gets here and the largest single write that gets through (docs/behaviour.md B1). */
function showLimits(reporter: Reporter): number {
  const sockets = openInput(reporter);
  if (!sockets) return reporter.exitStatus();
  const { sendBuffer, receiveBuffer, maxWrite } = sockets;
  writeAll(
    1,
    encode(`send-buffer=${sendBuffer}\nreceive-buffer=${receiveBuffer}\nmax-write=${maxWrite}\n`),
  );
  return 0;
}

function capture(options: Options, reporter: Reporter): number {
  const prepared = prepare(options, reporter, options.init || Deno.pid === 1);
  if (!prepared) return reporter.exitStatus();
  const preload = options.lineBuffered ? lineBuffered(reporter) : undefined;
  try {
    // A cron job runs all the same, without what -L could not have (docs/behaviour.md A4).
    if (reporter.failed && !options.cron) return reporter.exitStatus();
    return captureWith(options, prepared, reporter, preload);
  } finally {
    preload?.remove();
  }
}

function captureWith(
  options: Options,
  { signals, sink }: NonNullable<ReturnType<typeof prepare>>,
  reporter: Reporter,
  preload: PreloadFiles | undefined,
): number {
  const sockets = openInput(reporter);
  if (!sockets) {
    // A cron job must run even when it cannot be captured (docs/behaviour.md A4).
    if (options.cron) execInPlace(options.command, reporter);
    return reporter.exitStatus();
  }
  const run = { command: options.command, timeNs: nowNs(), pid: Deno.pid, id: newRunId() };
  const command = Command.start(
    options.command,
    sockets.stdout,
    sockets.stderr,
    signals.options.init,
    options.limit,
    reporter,
  );
  if (!(command instanceof Command)) {
    // The C tool's child exits 66 after the message, and cron mode reports
    // that exit like any other: mail filters look for the line.
    if (command === "exec") {
      sink.started(run);
      sink.terminated(EXEC_FAILED, nowNs());
    }
    return reporter.exitStatus();
  }
  closeCommandEnds(sockets, reporter);
  sink.started(run);

  let end: RunEnd | undefined;
  try {
    end = receiveUntilExit({ sockets, command, sink, signals, reporter });
  } finally {
    command.abandon(end);
  }
  // Before dtee reports, which may end in its death by a signal.
  preload?.remove();
  return finish(end, sink, reporter);
}

/**
 * dtee's own descriptors, signals and outputs, before anything runs; undefined
 * when setting up failed and the run cannot go on (a cron job goes on,
 * docs/behaviour.md A4).
 */
function prepare(
  options: Options,
  reporter: Reporter,
  init: boolean,
  /** What must be ready once fds 0-2 are, before the outputs are opened; falsy stops. */
  first: () => unknown = () => true,
): { signals: Signals; sink: Sink } | undefined {
  const setupFailed = () => reporter.failed && !options.cron;
  prepareStdFds(reporter);
  if (setupFailed() || !first()) return undefined;
  const signals = new Signals({
    ...options,
    init,
    ownGroup: options.limit !== undefined,
    logs: recordsEnd(options.outputs),
  });
  const refused = signals.install();
  if (refused) reporter.fail({ kind: "signals", ...refused });
  const sink = openSinks(options, reporter);
  return setupFailed() ? undefined : { signals, sink };
}

/** `dtee --replay FILE`: the recorded runs through the same sinks as a live run (docs/behaviour.md B4). */
function replayLog(
  { options, log: file, realtime, maxDelayMs }: Extract<ParseResult, { action: "replay" }>,
  reporter: Reporter,
): number {
  let log: LogReader | undefined;
  // Opened before any output, which must not be the log (docs/behaviour.md B4).
  const prepared = prepare(
    options,
    reporter,
    false,
    () => (log = openLog(file, options, reporter)),
  );
  if (!prepared || !log) {
    log?.close();
    return reporter.exitStatus();
  }
  const { signals, sink } = prepared;
  const replay = { log, sink, signals, reporter, realtime, maxDelayMs };
  return finish(replayRuns(replay), sink, reporter);
}

/** dtee's exit status after `end`, once the outputs have heard of it. */
function finish(end: RunEnd, sink: Sink, reporter: Reporter): number {
  if (end.kind === "dtee-signaled") interrupted(sink, end);
  // Killed by SIGINT, so that a calling shell stops too (docs/behaviour.md A5).
  if (!reporter.failed && end.kind === "signaled" && end.signal === SIGINT) die(SIGINT);
  return exitStatus(end, reporter.exitStatus());
}

/** fds 0-2 usable by dtee itself, and its stdout and stderr blocking (docs/behaviour.md A7). */
function prepareStdFds(reporter: Reporter): void {
  const opened = ensureStdFds();
  if (!opened.ok) return reporter.fail({ kind: "std-fds", errno: opened.errno });
  for (const [fd, label] of [[1, "stdout"], [2, "stderr"]] as const) {
    const ret = setBlocking(fd);
    if (!ret.ok) reporter.fail({ kind: "fcntl", label, errno: ret.errno });
  }
}

/**
 * Every output in delivery order: dtee's own streams (held by cron mode),
 * then the files, opened before anything runs.
 */
function openSinks(options: Options, reporter: Reporter): Sink {
  // Cron mode's before the files are opened: it runs unbuffered when one cannot be.
  const annotate = options.annotate ? annotator(options) : undefined;
  const streams = options.cron
    ? cronOutputs(reporter, options.failuresOnly, annotate)
    : streamOutputs(reporter, annotate);
  const dispatch = new Dispatch([...streams, ...openOutputs(options, reporter)]);
  dispatch.opened();
  // The logs record what dtee says, also what it said before they were opened.
  reporter.listen(dispatch);
  return dispatch;
}

/** dtee dies by a signal after the outputs have had their say. */
function interrupted(sink: Sink, end: Interruption): void {
  // From now on a reader that makes no room cannot hold dtee (docs/behaviour.md A7).
  setStopping();
  // The terminal goes back to dtee's group, whose parent takes it next (docs/behaviour.md B7).
  restoreTerminal();
  sink.interrupted(end, nowNs());
  die(end.signal);
}
