/**
 * The application: from parsed options to an exit status. Sets up outputs,
 * signals and the input, spawns the command, drives the receive loop and
 * reports how the command ended. Never exits the process itself, except to
 * die by a signal where docs/behaviour.md A4/A5 require it.
 */

import { type Options, parse, programName } from "./cli.ts";
import { Cron } from "./cron.ts";
import { Diagnostics } from "./diagnostics.ts";
import {
  die,
  Disposition,
  encode,
  ensureStdFds,
  exec,
  raiseSignal,
  setBlocking,
  setSignal,
  spawn,
  writeAll,
} from "./ffi.ts";
import { closeOutputSockets, openInput, reapCommand, receiveUntilExit } from "./input.ts";
import { Init } from "./init.ts";
import { type Context, Fanout, type MessageSink, openFiles, Standard } from "./outputs.ts";
import {
  commandStatus,
  decodeWaitStatus,
  EX_CANTCREAT,
  EX_IOERR,
  EX_NOINPUT,
  EX_OSERR,
  EX_UNAVAILABLE,
  Failures,
  SIGHUP,
  SIGINT,
  SIGPIPE,
  SIGTERM,
} from "./status.ts";

const EMSGSIZE = 90;
const encoder = new TextEncoder();

/** Runs dtee (or cronty, per `entry`) with `args`; returns the exit status. */
export function main(args: string[], argv0: string, entry: "dtee" | "cronty"): number {
  const name = programName(argv0, entry);
  const parsed = parse(args, name);
  if (parsed.action === "exit") {
    if (parsed.stdout) writeAll(1, encode(parsed.stdout));
    if (parsed.stderr) writeAll(2, encode(parsed.stderr));
    return parsed.status;
  }
  const diagnostics = new Diagnostics(name);
  return parsed.action === "limits"
    ? showLimits(diagnostics)
    : capture(parsed.options, diagnostics);
}

/** The buffer sizes dtee gets here and the largest single write that gets through (docs/behaviour.md B1). */
function showLimits(diagnostics: Diagnostics): number {
  const sockets = openInput(diagnostics);
  if (!sockets) return EX_UNAVAILABLE;
  writeAll(
    1,
    encoder.encode(
      `send-buffer=${sockets.sendBuffer}\nreceive-buffer=${sockets.receiveBuffer}\n` +
        `max-write=${sockets.maxWrite}\n`,
    ),
  );
  return 0;
}

/**
 * Outside cron mode dtee keeps the default actions (docs/behaviour.md A5) and only
 * catches SIGPIPE, which the runtime ignores, so that one sent from outside
 * still ends it. In cron mode it catches all four to report first (A4).
 */
function setUpSignals(options: Options): void {
  if (options.cron) {
    for (const signal of [SIGHUP, SIGINT, SIGTERM]) setSignal(signal, Disposition.catch);
  }
  setSignal(SIGPIPE, Disposition.catch);
  if (options.ignoreInterrupts) setSignal(SIGINT, Disposition.ignore);
}

function capture(options: Options, diagnostics: Diagnostics): number {
  const failures = new Failures();
  const [command] = options.command;
  if (ensureStdFds() < 0) return EX_OSERR;
  for (const [fd, label] of [[1, "stdout"], [2, "stderr"]] as const) {
    const ret = setBlocking(fd);
    if (ret < 0) {
      diagnostics.error(`${label}: fcntl(F_SETFL)`, -ret);
      if (!options.cron) return EX_OSERR;
      failures.add(EX_OSERR);
    }
  }
  setUpSignals(options);
  // A broken pipe on dtee's own output goes the way of a SIGPIPE from
  // outside: the loop sees it as a caught signal once the batch is out.
  const context: Context = { diagnostics, failures, brokenPipe: () => raiseSignal(SIGPIPE) };
  const files = openFiles(options.outputs, context);
  if (failures.any && !options.cron) return EX_CANTCREAT;

  const sockets = openInput(diagnostics);
  if (!sockets) {
    if (!options.cron) return EX_UNAVAILABLE;
    // A cron job must run even when it cannot be captured (docs/behaviour.md A4).
    const errno = -exec(options.command);
    diagnostics.error(command, errno);
    return EX_NOINPUT;
  }
  // As process 1 (a container's entrypoint) nobody else would do these duties.
  const init = options.init || Deno.pid === 1 ? new Init(options.ignoreInterrupts) : undefined;
  const child = spawn(options.command, sockets.stdout, sockets.stderr);
  if ("errno" in child) {
    const forkFailed = child.stage === "fork";
    diagnostics.error(forkFailed ? "fork" : command, child.errno);
    if (forkFailed) return EX_OSERR;
    // The C tool's child exits 66 after the message, and cron mode reports
    // that exit like any other: mail filters look for the line.
    if (options.cron) diagnostics.say(`${command}: exited with status ${EX_NOINPUT}`);
    return EX_NOINPUT;
  }
  if (!closeOutputSockets(sockets, diagnostics)) failures.add(EX_IOERR);

  const standard = new Standard(context);
  const cron = options.cron ? new Cron(command, standard, diagnostics, failures) : undefined;
  const sink: MessageSink = new Fanout([cron ?? standard, ...files]);
  const reap = init ? init.reaper(child.pid) : reapCommand(child.pid);
  const end = receiveUntilExit(sockets, child.pidfd, reap, sink, (signal) => {
    if (init?.forward(child.pid, signal)) return false;
    if (!cron) die(signal);
    return true;
  }, () => {
    diagnostics.error("input socket: recv", EMSGSIZE);
    failures.add(EX_IOERR);
  });

  switch (end.kind) {
    case "error":
      diagnostics.error(end.op === "waitpid" ? "waitpid" : `input socket: ${end.op}`, end.errno);
      // Nothing received may be lost: write out what cron mode holds.
      cron?.release();
      return end.op === "waitpid" ? EX_OSERR : EX_IOERR;
    case "signal":
      cron?.interrupted(end.signal);
      die(end.signal);
      return 128 + end.signal;
    case "exited": {
      const result = decodeWaitStatus(end.status);
      cron?.finish(result);
      if (!failures.any && result.kind === "signaled" && result.signal === SIGINT) die(SIGINT);
      return failures.exitStatus(commandStatus(result));
    }
  }
}
