/**
 * The application: from the command line to an exit status. Its story is
 * `capture()`: prepare dtee's own descriptors and signals, open the outputs,
 * open the input, start the command, receive until it ends, report.
 * Never exits the process itself, except to die by a signal where
 * docs/behaviour.md A4/A5 require it.
 */

import { Command, execInPlace } from "./child.ts";
import { type Options, parse, programName } from "./cli.ts";
import { Cron } from "./cron.ts";
import { die, ensureStdFds, invocation, setBlocking, writeAll } from "./ffi.ts";
import {
  commandStatus,
  decodeWaitStatus,
  EXEC_FAILED,
  Reporter,
  type ResultHandler,
} from "./failures.ts";
import { closeCommandEnds, openInput, receiveUntilExit } from "./input.ts";
import { Dispatch, openFiles, streamOutputs } from "./outputs.ts";
import { SIGINT, Signals, SIGPIPE } from "./signals.ts";
import type { MessageSink } from "./sink.ts";
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
    const parsed = parse(args, name);
    if (parsed.action === "exit") {
      if (parsed.stdout) writeAll(1, encode(parsed.stdout));
      if (parsed.stderr) writeAll(2, encode(parsed.stderr));
      return parsed.status;
    }
    return parsed.action === "limits" ? showLimits(reporter) : capture(parsed.options, reporter);
  } catch (e) {
    return reporter.internal(e);
  }
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
  const cron = options.cron;
  // A cron job runs whatever went wrong in setting up (docs/behaviour.md A4).
  const setupFailed = () => reporter.failed && !cron;

  prepareStdFds(reporter);
  if (setupFailed()) return reporter.exitStatus();
  const signals = new Signals({ ...options, init: options.init || Deno.pid === 1 });
  signals.install();

  const sink = openSinks(options, reporter);
  if (setupFailed()) return reporter.exitStatus();

  const sockets = openInput(reporter);
  if (!sockets) {
    if (cron) execInPlace(options.command, reporter);
    return reporter.exitStatus();
  }
  const command = Command.start(
    options.command,
    sockets.stdout,
    sockets.stderr,
    signals.options.init,
    reporter,
  );
  if (!(command instanceof Command)) {
    // The C tool's child exits 66 after the message, and cron mode reports
    // that exit like any other: mail filters look for the line.
    if (command === "exec") sink.terminated(EXEC_FAILED);
    return reporter.exitStatus();
  }
  closeCommandEnds(sockets, reporter);
  sink.started();

  const end = receiveUntilExit({ sockets, command, sink, signals, reporter });
  switch (end.kind) {
    case "failed":
      return reporter.exitStatus();
    case "signal":
      return interrupted(sink, end.signal, end.brokenLabel);
    case "exited": {
      const result = decodeWaitStatus(end.status);
      const delivered = sink.terminated(result);
      // A signal that stopped the last writes (held output, report line) is taken now.
      const stop = signals.takeStop();
      if (stop) return interrupted(sink, stop);
      if (!delivered) return interrupted(sink, SIGPIPE, sink.brokenLabel());
      // Killed by SIGINT, so that a calling shell stops too (docs/behaviour.md A5).
      if (!reporter.failed && result.kind === "signaled" && result.signal === SIGINT) die(SIGINT);
      return reporter.exitStatus(commandStatus(result));
    }
  }
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
function openSinks(options: Options, reporter: Reporter): MessageSink & ResultHandler {
  const streams = streamOutputs(reporter);
  if (!options.cron) return new Dispatch([...streams, ...openFiles(options.outputs, reporter)]);
  const cron = new Cron(options.command[0], new Dispatch(streams), reporter);
  reporter.listen(cron);
  return new Dispatch(openFiles(options.outputs, reporter), cron);
}

/** dtee dies by `signal` after the sinks have had their say. */
function interrupted(sink: ResultHandler, signal: number, brokenLabel?: string): number {
  sink.interrupted(signal, brokenLabel);
  die(signal);
  return 128 + signal;
}
